"""The schema as first deployed: the manifest and quarantine, the checks' SQL functions, a raw table per feed of
the contract, the privacy record and the quality record.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from kopru.schema import as_owner, run

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

INGEST = r"""create table ingest.files (
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
    rows_erased       integer not null default 0,      -- rows an erasure on request took out of the raw tables
    keys_retired      integer not null default 0,      -- keys a full snapshot no longer carried, so no longer current
    is_generated      boolean not null default false,  -- bytes `kopru generate` wrote (kopru.ingest.origin)
    constraint files_reconcile check (
        rows_in is null or rows_in = rows_loaded + rows_quarantined + rows_duplicate)
);
create index files_sha256 on ingest.files (sha256);
create index files_feed_date on ingest.files (source, feed, delivered_on);

create table ingest.quarantine (
    file_id      bigint not null references ingest.files (file_id),
    row_number   integer not null,
    raw_record   text not null,
    reason_code  text not null,
    reason       text not null,
    primary key (file_id, row_number)
);

-- The fingerprint of the key the raw tables' pseudonyms were made with (kopru.identity.key_fingerprint): a load
-- with another key would add rows whose pseudonyms join nothing, so it is refused.
create table ingest.pseudonym_key (
    fingerprint  text not null,
    first_used   timestamptz not null default now(),
    only_one     boolean primary key default true check (only_one)
);

-- The pads of the source-record pseudonym key (kopru.ingest.checks.hmac_pads of identity.record_key): dbt's
-- record_pseudonym macro computes HMAC-SHA256 with them (ingest.pseudonym). They protect no more than the raw
-- tables beside them, which hold the clear IDs.
create table ingest.record_pseudonym_key (
    inner_pad    bytea not null,
    outer_pad    bytea not null,
    only_one     boolean primary key default true check (only_one)
);

create table ingest.reason_codes (
    reason_code  text primary key,
    level        text not null,
    description  text not null
);

create function ingest.identity_status(value text) returns text
language sql immutable parallel safe as $$
    select case
        when value is null then 'missing'
        when lower(value) like '%e%' and value ~ '[0-9]' then 'scientific_notation'
        when value !~ '^[0-9]{11}$' then 'bad_format'
        when left(value, 1) <> '0'
         and substr(value, 10, 1)::int = (((substr(value, 1, 1)::int + substr(value, 3, 1)::int
                + substr(value, 5, 1)::int + substr(value, 7, 1)::int + substr(value, 9, 1)::int) * 7
                - (substr(value, 2, 1)::int + substr(value, 4, 1)::int + substr(value, 6, 1)::int
                + substr(value, 8, 1)::int)) % 10 + 10) % 10
         and substr(value, 11, 1)::int = (substr(value, 1, 1)::int + substr(value, 2, 1)::int
                + substr(value, 3, 1)::int + substr(value, 4, 1)::int + substr(value, 5, 1)::int
                + substr(value, 6, 1)::int + substr(value, 7, 1)::int + substr(value, 8, 1)::int
                + substr(value, 9, 1)::int + substr(value, 10, 1)::int) % 10
        then 'valid'
        else 'invalid_checksum'
    end
$$;

-- HMAC-SHA256 from the built-in sha256(): the key's inner and outer pads come from the loader, never stored.
-- Stable, as convert_to() is: an immutable SQL function calling a stable one is not inlined, and each call then
-- costs three times as much.
create function ingest.pseudonym(value text, namespace text, inner_pad bytea, outer_pad bytea)
returns text language sql stable parallel safe as $$
    select left(encode(sha256(outer_pad || sha256(inner_pad || convert_to(namespace || ':' || value, 'UTF8'))),
                       'hex'), 32)
$$;


create table privacy.erasures (
    erasure_id               bigserial primary key,
    erased_at                timestamptz not null default now(),
    requested_by             text not null,
    reason                   text not null,
    persons                  integer not null,   -- national IDs erased (the family's members when a head asks)
    households               integer not null,
    rows_erased              jsonb not null,     -- raw table → rows
    quarantine_rows_erased   integer not null,
    archived_files_scrubbed  integer not null,
    published                boolean not null    -- whether marts without them were published
);
create table privacy.retention_runs (
    run_at                   timestamptz not null default now(),
    as_of                    date not null,
    rows_purged              jsonb not null,     -- raw table → rows older than its feed's retention
    quarantine_rows_purged   integer not null,
    archived_files_purged    integer not null
);
create table privacy.tombstones (
    namespace   text not null,  -- person (a national ID's pseudonym), person_key, household_key
    pseudonym   text not null,
    erasure_id  bigint not null references privacy.erasures (erasure_id),
    primary key (namespace, pseudonym)
);
"""

# One per feed of the contract (kopru.ingest.contract): its columns as kopru.ingest.loader.raw_columns gives them,
# and its business key, which an index serves.
RAW_TABLES = {
    "raw.belediye__households": (
        "household_id text, head_tckn text, mahalle_code text, mahalle_name text, address_line text, "
        "phone text, household_size integer, registered_on date, status text, closed_reason text, "
        "protection_status text, updated_at timestamp, head_tckn_status text, head_tckn_pseudonym text, "
        "household_key text, _file_id bigint, _row_number integer, _row_hash text",
        "household_id",
    ),
    "raw.belediye__persons": (
        "person_id text, household_id text, tckn text, first_name text, last_name text, birth_date date, "
        "sex text, relation text, disability_pct integer, is_student boolean, school_level text, "
        "employable boolean, employment_status text, updated_at timestamp, tckn_status text, "
        "tckn_pseudonym text, person_key text, household_key text, _file_id bigint, _row_number integer, "
        "_row_hash text",
        "person_id",
    ),
    "raw.belediye__assessments": (
        "assessment_id text, household_id text, visit_date date, assessor_id text, "
        "monthly_income_try numeric(14,2), monthly_rent_try numeric(14,2), need_score integer, "
        "need_level integer, next_visit_due date, household_key text, _file_id bigint, _row_number integer, "
        "_row_hash text",
        "assessment_id",
    ),
    "raw.belediye__aid": (
        "aid_id text, household_id text, person_id text, aid_type text, channel text, "
        "amount_try numeric(14,2), quantity integer, delivered_on date, isas_ref text, isas_entered_on date, "
        "household_key text, person_key text, _file_id bigint, _row_number integer, _row_hash text",
        "aid_id",
    ),
    "raw.belediye__services": (
        "service_id text, household_id text, person_id text, service_type text, provider_unit text, "
        "opened_on date, closed_on date, outcome text, household_key text, person_key text, _file_id bigint, "
        "_row_number integer, _row_hash text",
        "service_id",
    ),
    "raw.belediye__employment_referrals": (
        "referral_id text, person_id text, tckn text, referred_on date, channel text, program text, "
        "referred_by text, tckn_status text, tckn_pseudonym text, person_key text, _file_id bigint, "
        "_row_number integer, _row_hash text",
        "referral_id",
    ),
    "raw.belediye__surveys": (
        "response_id text, survey_wave text, responded_on date, household_id text, channel text, "
        "q_satisfaction integer, q_fairness integer, comment text, household_key text, _file_id bigint, "
        "_row_number integer, _row_hash text",
        "response_id",
    ),
    "raw.sosyalkart__transactions": (
        "islem_no text, kart_no text, hane_no text, islem_zamani timestamp, isyeri_kategorisi text, "
        "tutar numeric(14,2), islem_tipi text, household_key text, _file_id bigint, _row_number integer, "
        "_row_hash text",
        "islem_no",
    ),
    "raw.devlet__sydv_yardim": (
        "kayit_no text, tc_kimlik_no text, program_kodu text, program_adi text, tutar numeric(14,2), "
        "odeme_tarihi date, donem text, tc_kimlik_no_status text, tc_kimlik_no_pseudonym text, "
        "_file_id bigint, _row_number integer, _row_hash text",
        "kayit_no",
    ),
    "raw.devlet__isas_alindi": (
        "isas_ref text, belediye_yardim_no text, tc_kimlik_no text, alinma_zamani timestamp, durum text, "
        "red_nedeni text, tc_kimlik_no_status text, tc_kimlik_no_pseudonym text, _file_id bigint, "
        "_row_number integer, _row_hash text",
        "isas_ref",
    ),
    "raw.devlet__iskur_teklif": (
        "teklif_no text, tc_kimlik_no text, teklif_tarihi date, isyeri text, pozisyon text, sonuc text, "
        "gecerli_mazeret boolean, sonuc_tarihi date, tc_kimlik_no_status text, tc_kimlik_no_pseudonym text, "
        "_file_id bigint, _row_number integer, _row_hash text",
        "teklif_no",
    ),
    "raw.stk__aid_rows": (
        "ngo_code text, delivery_month text, row_in_file integer, row_ref text, tckn text, first_name text, "
        "last_name text, full_name text, birth_date date, birth_year integer, mahalle_as_written text, "
        "phone text, aid_word text, aid_type text, quantity integer, amount_try numeric(14,2), "
        "delivered_on date, tckn_status text, tckn_pseudonym text, _file_id bigint, _row_number integer, "
        "_row_hash text",
        "ngo_code, delivery_month, row_in_file",
    ),
}


def raw_table_ddl(table: str, columns: str, key: str) -> str:
    """The feed's columns, then the load's own: when it landed, whether it is its key's current version, the
    delivered text's hash (a snapshot's unchanged records are recognised by it) and a full snapshot's absence
    marker. A row is its file's row."""
    return f"""create table {table} (
    {columns},
    _loaded_at timestamptz not null default now(),
    _is_current boolean not null default false,
    _delivered_text_hash text,
    _is_absent boolean not null default false,
    primary key (_file_id, _row_number)
);
create index {table.removeprefix("raw.")}_key on {table} ({key});
"""


QUALITY = """create table quality.publications (
    publication_id     bigserial primary key,
    decided_at         timestamptz not null default now(),
    run_id             text not null,
    status             text not null check (status in ('published', 'blocked')),
    critical_failures  integer not null,
    warnings           integer not null,
    failed_suites      text,
    -- the newest manifest file the checked deliveries reached: the feed suites read only files after it
    checked_through_file_id bigint,
    -- an operator's acceptance of a blocked build (kopru publish --override): who and why; failed_suites are
    -- the failures accepted
    override_by        text,
    override_reason    text
);
-- The loaded files no publication has passed yet. PL/pgSQL with a small row estimate, so that the planner reads
-- a day's rows by the raw tables' (_file_id, _row_number) keys instead of scanning their whole history.
create function quality.unpublished_file_ids() returns setof bigint
language plpgsql stable rows 10 as $$
begin
    return query
    select file_id from ingest.files
    where status = 'loaded' and file_id > (
        select coalesce(max(checked_through_file_id), 0) from quality.publications where status = 'published');
end $$;
-- every dbt build of the marts, so that an override publishes only the build the gate judged
create table quality.builds (
    built_at      timestamptz not null default now(),
    marts_schema  text not null,
    full_refresh  boolean not null
);
-- each delivery of a volume-checked feed that no publication has passed yet, against what the feed usually
-- carries (kopru.quality.volumes); the delivery_volume suite requires every one to be plausible
create table quality.delivery_volumes (
    source                 text not null,
    feed                   text not null,
    file_id                bigint not null,
    delivered_on           date not null,
    rows_in                integer not null,
    days_covered           integer not null,
    expected_rows          float8 not null,
    lowest_plausible_rows  integer not null,
    plausible              boolean not null
);
create table quality.full_refreshes (
    built_at      timestamptz not null default now(),
    marts_schema  text not null
);
-- the shares the ISAS suites judge, one row, worked out before each checkpoint (gx.write_isas_entry_shares)
create table quality.isas_entry_shares (
    marts_schema      text not null,
    computed_at       timestamptz not null default now(),
    records           bigint not null,   -- municipal aid records delivered before the grace period
    entered_share     float8,            -- of them, the share ISAS accepted
    entered           bigint not null,   -- records ISAS accepted
    within_lag_share  float8,            -- of them, the share accepted within the allowed lag
    missing           bigint not null    -- records not entered or rejected (quality.isas_missing_entries)
);

create table quality.missing_deliveries (
    source        text not null,
    feed          text not null,
    cadence       text not null,
    period_start  date not null,
    period_end    date not null,
    status        text not null check (status in ('missing', 'rejected')),
    judged_as_of  date not null,
    primary key (source, feed, period_start)
);

create table quality.report_runs (
    report_run_id      bigserial primary key,
    period             text not null,
    kind               text not null,
    generated_at       timestamptz not null,
    publication_run_id text,
    last_file_id       bigint,
    archive_path       text not null,
    emailed_to         text
);

create table quality.linkage_evaluation (
    evaluated_at      timestamptz not null default now(),
    rows_evaluated    integer not null,
    should_link       integer not null,
    linked            integer not null,
    linked_correctly  integer not null,
    linked_by_id      integer not null,
    linked_by_name    integer not null,
    name_links_correct integer not null,
    precision         numeric(6,4),
    recall            numeric(6,4),
    threshold         numeric(6,2)
);

create table quality.validation_results (
    run_id            text not null,
    run_at            timestamptz not null default now(),
    checkpoint        text not null,
    marts_schema      text,
    suite             text not null,
    expectation       text not null,
    column_name       text,
    success           boolean not null,
    severity          text not null,
    observed_value    text,
    unexpected_count  bigint,
    element_count     bigint
);
create index validation_results_run on quality.validation_results (run_at);
"""


def upgrade() -> None:
    as_owner("loader")
    run(INGEST)
    for table, (columns, key) in RAW_TABLES.items():
        run(raw_table_ddl(table, columns, key))
    as_owner("gate")
    run(QUALITY)
    as_owner(None)
