"""The file manifest's vocabulary (the documented reason codes, identity statuses) and the pseudonym key's guard.
The tables are kopru.schema's."""

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


# Held shared by every loader's transaction (kopru.ingest.loader), exclusively for an instant by
# landed_through_file_id.
LANDING_LOCK = "kopru.landing"


def landed_through_file_id(conn) -> int:
    """The newest manifest file such that every file before it has finished landing. File ids are drawn when a
    file's transaction starts and become visible when it commits, in another order when loaders run side by side:
    a plain max(file_id) read while file 10 is still landing and file 11 has committed says 11, and a build or
    gate that continues from 11 would never see file 10. Waiting for the loaders in flight (and holding new ones
    back for that instant) makes the max mean "everything up to here"."""
    conn.execute("select pg_advisory_lock(hashtext(%s))", (LANDING_LOCK,))
    try:
        return conn.execute("select coalesce(max(file_id), 0) from ingest.files").fetchone()[0]
    finally:
        conn.execute("select pg_advisory_unlock(hashtext(%s))", (LANDING_LOCK,))


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
