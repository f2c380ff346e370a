"""The publication gate: dbt builds the marts into `marts_build`; the quality checkpoint validates that schema;
only when no critical expectation fails is it swapped in as `marts`, in one transaction. BI tools and reports read
`marts`, so they see the last good build or the new one, never a half-built or failing state. Every decision is
kept in `quality.publications`; the aid records ISAS has not accepted go to `quality.isas_missing_entries`.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from psycopg import sql

from kopru.ingest import origin
from kopru.ingest.manifest import landed_through_file_id

log = logging.getLogger(__name__)

BUILD_SCHEMA = "marts_build"
PUBLISHED_SCHEMA = "marts"
PREVIOUS_SCHEMA = "marts_previous"
CARRY_SCHEMA = "marts_carry"  # the build's incremental marts, copied for the next build while the gate checks
# What aclexplode names a table's privileges (the words GRANT takes)
TABLE_PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"})



class QualityGateBlocked(RuntimeError):
    """A critical expectation failed: the build was not published and marts keep the last good version."""


@dataclass
class GateDecision:
    run_id: str
    status: str
    critical_failures: int
    warnings: int
    failed_suites: list[str]
    isas_missing_entries: int
    data_docs: str | None
    missing_deliveries: int = 0  # expected files that never came (quality.missing_deliveries): a warning

    def as_xcom(self) -> dict:
        return dict(self.__dict__)


# The marts know a record by its pseudonym only (dbt's record_pseudonym macro); the directorate's staff need the case
# system's own aid ID to enter the record in ISAS, so the list, which only the report job reads, looks it up in raw.
ISAS_MISSING_ENTRIES_VIEW = f"""
create or replace view quality.isas_missing_entries as
with pads as (
    select inner_pad, outer_pad from ingest.record_pseudonym_key
),
aid_ids as (
    select distinct on (aid_key) aid_id, aid_key
    from raw.belediye__aid
    cross join pads
    cross join lateral (
        select ingest.pseudonym(aid_id, 'belediye', pads.inner_pad, pads.outer_pad) as aid_key
    ) pseudonyms
    where _is_current
)
select aid_ids.aid_id, fct_aid.household_key, fct_aid.delivered_on,
       (select max(delivered_on) from {PUBLISHED_SCHEMA}.fct_aid where institution = 'belediye')
           - fct_aid.delivered_on as days_since_delivery,
       fct_aid.isas_status as status, fct_aid.isas_rejection_reason as rejection_reason
from {PUBLISHED_SCHEMA}.fct_aid
left join aid_ids using (aid_key)
where fct_aid.institution = 'belediye' and fct_aid.isas_status in ('not_entered', 'rejected')"""


# The reports' age table of the same records: how long each has waited since its delivery, in bands.
ISAS_MISSING_BY_AGE_VIEW = """
create or replace view quality.isas_missing_by_age as
select case when days_since_delivery <= 30 then '0–30 gün'
            when days_since_delivery <= 90 then '31–90 gün'
            when days_since_delivery <= 180 then '91–180 gün' else '180 günden eski' end as age_band,
       min(days_since_delivery) as band_order,
       count(*) filter (where status = 'not_entered') as not_entered,
       count(*) filter (where status = 'rejected') as rejected
from quality.isas_missing_entries
group by 1"""


def list_isas_missing_entries(conn) -> None:
    """The municipal aid records ISAS has not accepted (never entered, or rejected), with their age as of the latest
    municipal delivery, which the directorate works from: a view of the published fct_aid. A view follows its table,
    not the table's name, so it is made again after each swap."""
    conn.execute(ISAS_MISSING_ENTRIES_VIEW)
    conn.execute(ISAS_MISSING_BY_AGE_VIEW)


def swap_in(conn, carried: frozenset[str] = frozenset()) -> None:
    """Publish the build: `marts_build` and `marts` trade names, atomically. The schema that was published becomes
    the next build's starting point, so incremental marts carry on from it (their watermark, not the schema's
    name, says what they hold) rather than being rebuilt from nothing each day. BI tools can read `marts` only.
    `carried`: the incremental marts already copied into CARRY_SCHEMA (carry_incremental_marts)."""
    _as_marts_owner(conn)
    conn.execute(f"drop schema if exists {PREVIOUS_SCHEMA} cascade")
    published = conn.execute("select 1 from pg_namespace where nspname = %s", (PUBLISHED_SCHEMA,)).fetchone()
    if published:
        conn.execute(f"alter schema {PUBLISHED_SCHEMA} rename to {PREVIOUS_SCHEMA}")
    conn.execute(f"alter schema {BUILD_SCHEMA} rename to {PUBLISHED_SCHEMA}")
    if published:
        conn.execute(f"alter schema {PREVIOUS_SCHEMA} rename to {BUILD_SCHEMA}")
    else:
        conn.execute(f"create schema {BUILD_SCHEMA}")
    for table in carried:
        conn.execute(f"drop table if exists {BUILD_SCHEMA}.{table} cascade")
        conn.execute(f"alter table {CARRY_SCHEMA}.{table} set schema {BUILD_SCHEMA}")
    conn.execute(f"drop schema if exists {CARRY_SCHEMA} cascade")
    for table in _marts_to_carry(conn, PUBLISHED_SCHEMA, BUILD_SCHEMA):
        if table not in carried:
            _copy_mart(conn, PUBLISHED_SCHEMA, table, BUILD_SCHEMA)
    conn.execute(f"revoke all on schema {BUILD_SCHEMA} from bi_reader")
    conn.execute(f"grant usage on schema {PUBLISHED_SCHEMA} to bi_reader")
    conn.execute("reset role")
    list_isas_missing_entries(conn)


def _as_marts_owner(conn) -> None:
    """Act as the transformer (the gate is a member): the marts schemas and the copies the gate makes in them must
    be the transformer's, for the next dbt build to replace them."""
    from psycopg import sql

    from kopru import config

    conn.execute(sql.SQL("set role {}").format(sql.Identifier(config.role_login("transformer"))))


def _columns(conn, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        """select column_name, data_type from information_schema.columns
           where table_schema = %s and table_name = %s order by ordinal_position""", (schema, table)
    ).fetchall()


def _marts_to_carry(conn, build: str, handed_back: str) -> list[str]:
    """The incremental marts (tables that carry a build watermark) of `build` that the schema `handed_back` to the
    next build cannot continue from: it has none or one of another shape, or `build` was a full refresh (a model's
    logic changed: the rows handed back were made by the old logic, which an incremental build would carry on
    from). Each of these needs a copy of the build's table."""
    full_refresh = conn.execute(
        """select exists (select 1 from quality.full_refreshes where marts_schema = %s
                          and built_at > coalesce((select max(decided_at) from quality.publications
                                                   where status = 'published'), '-infinity'))""", (BUILD_SCHEMA,)
    ).fetchone()[0]
    tables = [name for (name,) in conn.execute(
        """select table_name from information_schema.columns
           where table_schema = %s and column_name = 'built_through_file_id' order by 1""", (build,)
    ).fetchall()]
    return [table for table in tables
            if full_refresh or _columns(conn, build, table) != _columns(conn, handed_back, table)]


def _copy_mart(conn, schema: str, table: str, target: str) -> None:
    """A copy of `schema`.`table` in `target`, with its indexes, statistics and privileges."""
    conn.execute(f"drop table if exists {target}.{table} cascade")
    conn.execute(f"create table {target}.{table} (like {schema}.{table} including all excluding indexes)")
    conn.execute(f"insert into {target}.{table} select * from {schema}.{table}")
    # Indexes after the rows: one sorted build each instead of an insert per row (a third of the copy's time).
    for (definition,) in conn.execute(
        "select pg_get_indexdef(indexrelid) from pg_index where indrelid = %s::regclass", (f"{schema}.{table}",),
    ).fetchall():
        conn.execute(definition.replace(f" ON {schema}.{table} ", f" ON {target}.{table} ", 1))
    _copy_privileges(conn, f"{schema}.{table}", sql.Identifier(target, table))
    conn.execute(f"analyze {target}.{table}")


def _copy_privileges(conn, source: str, copy: sql.Identifier) -> None:
    """The grants of `source` (the BI role's SELECT, from dbt's `+grants`) on its copy. Without them, the next build's
    incremental run grants them itself, inside the model's transaction: that updates the table's pg_class row, which
    autovacuum, analysing the fresh copy, then waits to update, while the model's COMMENT (persist_docs) waits for
    autovacuum's lock — a deadlock, seen once in a 50,000-household one-day build (decisions.md, 2026-12-04)."""
    granted = conn.execute(
        """select grantee.rolname, acl.privilege_type
           from pg_class c cross join lateral aclexplode(c.relacl) acl
           join pg_roles grantee on grantee.oid = acl.grantee
           where c.oid = %s::regclass and acl.grantee <> c.relowner""", (source,)).fetchall()
    for role, privilege in granted:
        if privilege not in TABLE_PRIVILEGES:
            raise ValueError(f"unexpected privilege {privilege!r} on {source}")
        conn.execute(sql.SQL("grant {} on table {} to {}").format(sql.SQL(privilege), copy, sql.Identifier(role)))


def carry_incremental_marts() -> frozenset[str]:
    """Copy into CARRY_SCHEMA the incremental marts of the build that the next build will need if this one is
    published (after a first or a full-refresh build: seconds per million rows). The build is final once dbt is
    done, so the gate runs this beside the checkpoint, on the other core, and swap_in only moves the copies."""
    from kopru import warehouse

    with warehouse.connect(role="gate") as conn:
        _as_marts_owner(conn)
        conn.execute(f"drop schema if exists {CARRY_SCHEMA} cascade")
        conn.execute(f"create schema {CARRY_SCHEMA}")
        conn.execute(f"revoke all on schema {CARRY_SCHEMA} from public")
        tables = _marts_to_carry(conn, BUILD_SCHEMA, PUBLISHED_SCHEMA)
        for table in tables:
            _copy_mart(conn, BUILD_SCHEMA, table, CARRY_SCHEMA)
        conn.commit()
    return frozenset(tables)


def run_gate() -> GateDecision:
    """Validate the build schema; publish it if nothing critical failed, else keep the published marts and raise.
    Never beside a build (warehouse.marts_build_lock)."""
    from kopru import warehouse

    with warehouse.marts_build_lock():
        return _run_gate()


def _run_gate() -> GateDecision:
    from kopru import warehouse
    from kopru.quality.gx import run_checkpoint

    with warehouse.connect(role="gate") as conn:
        origin.refuse_mixed_origins(conn)
        checked_through = landed_through_file_id(conn)
        # Two builds in a row trigger two gate runs; the first may already have published the second build. Then
        # `marts_build` holds the previous marts, handed back for the next build: nothing new to check or publish.
        published_since = conn.execute(
            """select run_id, critical_failures, warnings from quality.publications p
               where status = 'published' and publication_id = (select max(publication_id) from quality.publications)
                 and not exists (select from quality.builds b where b.built_at > p.decided_at)""").fetchone()
        conn.commit()
    if published_since:
        log.info("quality gate: no build since the last publication (%s); nothing to check", published_since[0])
        return GateDecision(published_since[0], "nothing_new", published_since[1], published_since[2], [], 0, None)
    with ThreadPoolExecutor(max_workers=1) as pool:
        carrying = pool.submit(carry_incremental_marts)
        try:
            check = run_checkpoint(schema=BUILD_SCHEMA)
        except Exception:
            carrying.exception()  # waits for the copies, then drops them: no publication will move them
            with warehouse.connect(autocommit=True, role="gate") as conn:
                conn.execute(f"drop schema if exists {CARRY_SCHEMA} cascade")
            raise
        try:
            carried = carrying.result()
        except Exception as error:  # noqa: BLE001 - swap_in copies what is missing itself
            log.warning("copying the incremental marts beside the checkpoint failed (%s)", type(error).__name__)
            carried = frozenset()
    with warehouse.connect(role="gate") as conn:
        failed = [row[0] for row in conn.execute(
            """select distinct suite from quality.validation_results
               where run_id = %s and not success and severity = 'critical' order by 1""", (check.run_id,)
        ).fetchall()]
        status = "published" if check.success else "blocked"
        if check.success:
            swap_in(conn, carried)
        else:
            conn.execute(f"drop schema if exists {CARRY_SCHEMA} cascade")
        (missing,) = conn.execute("select missing from quality.isas_entry_shares").fetchone()
        conn.execute(
            """insert into quality.publications (run_id, status, critical_failures, warnings, failed_suites,
                                                 checked_through_file_id)
               values (%s, %s, %s, %s, %s, %s)""",
            (check.run_id, status, check.critical_failures, check.warnings, ", ".join(failed) or None,
             checked_through),
        )
        conn.commit()
        reasons = why_blocked(conn, check.run_id) if not check.success else []
        late = conn.execute("""select source || '/' || feed || ' ' || period_start || ' (' || status || ')'
                               from quality.missing_deliveries order by period_start desc, source, feed""").fetchall()
    decision = GateDecision(check.run_id, status, check.critical_failures, check.warnings, failed, missing,
                            check.data_docs, len(late))
    log.info("quality gate: %s (%d critical, %d warnings)", status, check.critical_failures, check.warnings)
    if late:
        log.warning("%d expected deliveries have not come, latest first: %s%s", len(late),
                    ", ".join(row[0] for row in late[:5]), ", …" if len(late) > 5 else "")
    if not check.success:
        raise QualityGateBlocked("\n".join([
            f"the build was not published: {check.critical_failures} critical check(s) failed; the marts keep the "
            f"last good version (run {check.run_id})", *(f"  - {reason}" for reason in reasons),
            "  To publish it all the same: kopru publish --override --reason \"…\" (or the quality DAG's "
            "override_reason param)"]))
    return decision


def why_blocked(conn, run_id: str) -> list[str]:
    """A line per failed critical check of the run, with its numbers; a delivery improbably small says which feed,
    which day, how many records and about how many were expected."""
    lines = [
        f"{source}/{feed} {delivered_on:%Y-%m-%d}: {rows_in:,} records where about {expected:,.0f} were expected "
        f"(fewer than {lowest:,} is improbable for this feed)"
        for source, feed, delivered_on, rows_in, expected, lowest in conn.execute(
            """select source, feed, delivered_on, rows_in, expected_rows, lowest_plausible_rows
               from quality.delivery_volumes where not plausible order by source, feed, delivered_on""")]
    for suite, expectation, column, observed, unexpected, elements in conn.execute(
            """select suite, expectation, column_name, observed_value, unexpected_count, element_count
               from quality.validation_results
               where run_id = %s and not success and severity = 'critical' and suite <> 'feeds__delivery_volume'
               order by suite, expectation""", (run_id,)):
        detail = f"{unexpected:,} of {elements:,} rows" if unexpected is not None and elements else \
            f"observed {observed}" if observed is not None else "failed"
        lines.append(f"{suite}: {expectation}{f' on {column}' if column else ''}: {detail}")
    return lines


class OverrideRefused(Exception):
    """There is no blocked build that an override could publish; the message says why."""


def publish_override(reason: str, by: str) -> GateDecision:
    """Publish the latest blocked build as it is, because an operator accepts its failures: who, when, why and which
    failures were accepted are kept in quality.publications, and the reports say so."""
    from kopru import warehouse

    if not reason.strip():
        raise OverrideRefused("an override needs its reason (--reason), for the record and the reports")
    with warehouse.marts_build_lock(), warehouse.connect(role="gate") as conn:
        latest = conn.execute(
            """select run_id, status, decided_at, critical_failures, warnings, failed_suites, checked_through_file_id
               from quality.publications order by publication_id desc limit 1""").fetchone()
        if latest is None or latest[1] != "blocked":
            raise OverrideRefused("the latest gate decision is not a blocked build: there is nothing to override")
        run_id, _, decided_at, critical, warnings, failed_suites, checked_through = latest
        (rebuilt,) = conn.execute("select exists (select from quality.builds where built_at > %s)",
                                  (decided_at,)).fetchone()
        if rebuilt:
            raise OverrideRefused("marts_build was rebuilt after the blocked check: run the gate on it first "
                                  "(kopru publish)")
        origin.refuse_mixed_origins(conn)  # no operator can accept sample rows counted as families
        swap_in(conn)
        (missing,) = conn.execute("select missing from quality.isas_entry_shares").fetchone()
        conn.execute(
            """insert into quality.publications (run_id, status, critical_failures, warnings, failed_suites,
                                                 checked_through_file_id, override_by, override_reason)
               values (%s, 'published', %s, %s, %s, %s, %s, %s)""",
            (run_id, critical, warnings, failed_suites, checked_through, by, reason.strip()))
        conn.commit()
    log.info("quality gate: blocked build %s published by override", run_id)
    return GateDecision(run_id, "published", critical, warnings, (failed_suites or "").split(", "), missing, None)
