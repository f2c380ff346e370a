"""The ingest schema: the file manifest, the quarantine and the documented list of reason codes."""

from __future__ import annotations

# Reason codes are an interface: operators filter on them. level: file (the whole file) or row.
REASON_CODES: dict[str, tuple[str, str]] = {
    "bad_file_name": ("file", "the file name does not follow <source>_<feed>_<date>.<ext> of the contract"),
    "unknown_feed": ("file", "the name's source/feed pair is not in the contract"),
    "unknown_ngo": ("file", "an stk_ file from an NGO the project has no mapping for"),
    "wrong_sender": ("file", "an NGO file delivered into one NGO's SFTP folder whose name claims another NGO"),
    "bad_mapping": ("file", "the NGO's mapping file is invalid"),
    "unsupported_encoding": ("file", "the declared encoding is not one the contract allows"),
    "undecodable": ("file", "the bytes are not valid in the declared encoding"),
    "unreadable": ("file", "the file cannot be read as its format (a broken XLSX, a CSV field over 128 KiB, …)"),
    "too_large": ("file", "the file is larger than its feed may deliver (ingest_limits.yml: max_file_mb)"),
    "unsafe_archive": ("file", "a workbook that would inflate or expand beyond the reader's limits (zip bomb, "
                               "a sheet declaring millions of cells)"),
    "unknown_column": ("file", "a header (or JSON key) that the contract does not know"),
    "missing_column": ("file", "a column the contract requires is absent from the header"),
    "duplicate_column": ("file", "the same column appears twice in the header"),
    "malformed_row": ("row", "a record with the wrong number of fields, or a line that is not a JSON object"),
    "truncated_row": ("row", "the file's last line stops before its last column"),
    "missing_required": ("row", "a required value is empty"),
    "bad_number": ("row", "not a number in the declared style"),
    "ambiguous_number": ("row", "a number that could be read two ways (e.g. 1.25 in Turkish style)"),
    "bad_integer": ("row", "not a whole number"),
    "bad_date": ("row", "not a date in the declared format"),
    "bad_timestamp": ("row", "not a timestamp in the declared format"),
    "impossible_date": ("row", "the format is right but no such calendar day exists (31.02.2024)"),
    "bad_enum": ("row", "a value outside the contract's enumeration"),
    "bad_boolean": ("row", "not true/false"),
    "out_of_range": ("row", "a number outside its allowed range (percentages, scores, sizes)"),
    "duplicate_key_in_file": ("row", "the same business key twice in one file with different content"),
    "unknown_aid_type": ("row", "an NGO aid word the NGO's mapping does not map to the catalogue"),
    "erased": ("row", "a person or family whose data was erased on request (KVKK); the record is not kept"),
}

# Identity status of every ID column (stored beside it as <column>_status): only `valid` is used for matching.
IDENTITY_STATUSES = ("valid", "missing", "invalid_checksum", "bad_format", "scientific_notation")

MANIFEST_DDL = """
create table if not exists ingest.files (
    file_id           bigserial primary key,
    source            text not null,
    feed              text,
    file_name         text not null,
    sha256            text not null,
    size_bytes        bigint not null,
    delivered_on      date,
    received_at       timestamptz not null default now(),
    status            text not null check (status in ('loaded', 'duplicate_file', 'superseded', 'rejected')),
    rows_in           integer,
    rows_loaded       integer,
    rows_quarantined  integer,
    rows_duplicate    integer,
    superseded_by     bigint references ingest.files (file_id),
    duplicate_of      bigint references ingest.files (file_id),
    reason_code       text,
    reason            text,
    archived_path     text,
    constraint files_reconcile check (
        rows_in is null or rows_in = rows_loaded + rows_quarantined + rows_duplicate)
);
create index if not exists files_sha256 on ingest.files (sha256);
-- Columns added after the table first shipped, each only when missing: even with IF NOT EXISTS, ALTER TABLE takes
-- an exclusive lock, and loaders insert beside a bootstrap.
--   rows_erased: rows of the file's that an erasure on request took out of the raw tables (kopru.privacy)
--   keys_retired: keys a full snapshot no longer carried, so no longer current (the loader's _retire_absent_keys)
do $$
declare
    counter text;
begin
    foreach counter in array array['rows_erased', 'keys_retired'] loop
        if not exists (select from pg_attribute where attrelid = 'ingest.files'::regclass and attname = counter
                       and not attisdropped) then
            execute format('alter table ingest.files add column %I integer not null default 0', counter);
        end if;
    end loop;
end $$;
-- is_generated: the file's bytes are ones `kopru generate` wrote (kopru.ingest.origin)
do $$
begin
    if not exists (select from pg_attribute where attrelid = 'ingest.files'::regclass and attname = 'is_generated'
                   and not attisdropped) then
        alter table ingest.files add column is_generated boolean not null default false;
    end if;
end $$;
create index if not exists files_feed_date on ingest.files (source, feed, delivered_on);

create table if not exists ingest.quarantine (
    file_id      bigint not null references ingest.files (file_id),
    row_number   integer not null,
    raw_record   text not null,
    reason_code  text not null,
    reason       text not null,
    primary key (file_id, row_number)
);

-- The fingerprint of the key the raw tables' pseudonyms were made with (kopru.identity.key_fingerprint): a load
-- with another key would add rows whose pseudonyms join nothing, so it is refused.
create table if not exists ingest.pseudonym_key (
    fingerprint  text not null,
    first_used   timestamptz not null default now(),
    only_one     boolean primary key default true check (only_one)
);

-- The pads of the source-record pseudonym key (kopru.ingest.checks.hmac_pads of identity.record_key): dbt's
-- record_pseudonym macro computes HMAC-SHA256 with them (ingest.pseudonym). They protect no more than the raw
-- tables beside them, which hold the clear IDs.
create table if not exists ingest.record_pseudonym_key (
    inner_pad    bytea not null,
    outer_pad    bytea not null,
    only_one     boolean primary key default true check (only_one)
);

create table if not exists ingest.reason_codes (
    reason_code  text primary key,
    level        text not null,
    description  text not null
);
"""


def seed_reason_codes(conn) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """insert into ingest.reason_codes (reason_code, level, description) values (%s, %s, %s)
               on conflict (reason_code) do update set level = excluded.level, description = excluded.description""",
            [(code, level, text) for code, (level, text) in REASON_CODES.items()],
        )


class PseudonymKeyMismatch(Exception):
    """The pseudonym key is not the one this warehouse's rows were pseudonymised with."""


def check_pseudonym_key(conn, key: bytes) -> None:
    """Record the key's fingerprint on first use; refuse (PseudonymKeyMismatch) a key whose fingerprint differs.
    Also keeps the pads dbt computes source-record pseudonyms with."""
    from kopru.identity import key_fingerprint, record_key
    from kopru.ingest.checks import hmac_pads

    fingerprint = key_fingerprint(key)
    conn.execute("insert into ingest.pseudonym_key (fingerprint) values (%s) on conflict do nothing", (fingerprint,))
    (kept,) = conn.execute("select fingerprint from ingest.pseudonym_key").fetchone()
    if kept != fingerprint:
        raise PseudonymKeyMismatch(
            "the pseudonym key (KOPRU_PSEUDONYM_KEY) is not the one this warehouse was loaded with "
            f"(fingerprint {fingerprint[:8]}…, the warehouse's {kept[:8]}…): rows loaded with it would join nothing. "
            "Set the warehouse's key; nothing was loaded")
    inner_pad, outer_pad = hmac_pads(record_key(key))
    conn.execute("insert into ingest.record_pseudonym_key (inner_pad, outer_pad) values (%s, %s) "
                 "on conflict do nothing", (inner_pad, outer_pad))
