"""The publication gate: dbt builds the marts into `marts_build`; the quality checkpoint validates that schema;
only when no critical expectation fails is it swapped in as `marts`, in one transaction. BI tools and reports read
`marts`, so they see the last good build or the new one, never a half-built or failing state. Every decision is
kept in `quality.publications`; the aid records ISAS has not accepted go to `quality.isas_missing_entries`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

BUILD_SCHEMA = "marts_build"
PUBLISHED_SCHEMA = "marts"
PREVIOUS_SCHEMA = "marts_previous"

DDL = """
create table if not exists quality.publications (
    publication_id     bigserial primary key,
    decided_at         timestamptz not null default now(),
    run_id             text not null,
    status             text not null check (status in ('published', 'blocked')),
    critical_failures  integer not null,
    warnings           integer not null,
    failed_suites      text
);
create table if not exists quality.isas_missing_entries (
    run_id               text not null,
    aid_id               text not null,
    household_key        text,
    delivered_on         date not null,
    days_since_delivery  integer not null,
    status               text not null check (status in ('not_entered', 'rejected')),
    rejection_reason     text,
    primary key (run_id, aid_id)
);
"""


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

    def as_xcom(self) -> dict:
        return dict(self.__dict__)


def write_isas_missing_entries(conn, schema: str, run_id: str) -> int:
    """The municipal aid records ISAS has not accepted (never entered, or rejected), with their age as of the
    latest municipal delivery; replaces the previous list, which the directorate works from."""
    conn.execute("delete from quality.isas_missing_entries")
    return conn.execute(
        f"""insert into quality.isas_missing_entries
               (run_id, aid_id, household_key, delivered_on, days_since_delivery, status, rejection_reason)
            select %s, split_part(aid_key, ':', 2), household_key, delivered_on,
                   (select max(delivered_on) from {schema}.fct_aid where institution = 'belediye') - delivered_on,
                   isas_status, isas_rejection_reason
            from {schema}.fct_aid
            where institution = 'belediye' and isas_status in ('not_entered', 'rejected')""",
        (run_id,),
    ).rowcount


def swap_in(conn) -> None:
    """Publish the build: `marts_build` and `marts` trade names, atomically. The schema that was published becomes
    the next build's starting point, so incremental marts carry on from it (their watermark, not the schema's
    name, says what they hold) rather than being rebuilt from nothing each day. BI tools can read `marts` only."""
    conn.execute(f"drop schema if exists {PREVIOUS_SCHEMA} cascade")
    published = conn.execute("select 1 from pg_namespace where nspname = %s", (PUBLISHED_SCHEMA,)).fetchone()
    if published:
        conn.execute(f"alter schema {PUBLISHED_SCHEMA} rename to {PREVIOUS_SCHEMA}")
    conn.execute(f"alter schema {BUILD_SCHEMA} rename to {PUBLISHED_SCHEMA}")
    if published:
        conn.execute(f"alter schema {PREVIOUS_SCHEMA} rename to {BUILD_SCHEMA}")
        conn.execute(f"revoke all on schema {BUILD_SCHEMA} from bi_reader")
    conn.execute(f"grant usage on schema {PUBLISHED_SCHEMA} to bi_reader")


def run_gate() -> GateDecision:
    """Validate the build schema; publish it if nothing critical failed, else keep the published marts and raise."""
    from kopru import warehouse
    from kopru.quality.gx import run_checkpoint

    check = run_checkpoint(schema=BUILD_SCHEMA)
    with warehouse.connect() as conn:
        conn.execute(DDL)
        missing = write_isas_missing_entries(conn, BUILD_SCHEMA, check.run_id)
        failed = [row[0] for row in conn.execute(
            """select distinct suite from quality.validation_results
               where run_id = %s and not success and severity = 'critical' order by 1""", (check.run_id,)
        ).fetchall()]
        status = "published" if check.success else "blocked"
        if check.success:
            swap_in(conn)
        conn.execute(
            """insert into quality.publications (run_id, status, critical_failures, warnings, failed_suites)
               values (%s, %s, %s, %s, %s)""",
            (check.run_id, status, check.critical_failures, check.warnings, ", ".join(failed) or None),
        )
        conn.commit()
    decision = GateDecision(check.run_id, status, check.critical_failures, check.warnings, failed, missing,
                            check.data_docs)
    log.info("quality gate: %s (%d critical, %d warnings)", status, check.critical_failures, check.warnings)
    if not check.success:
        raise QualityGateBlocked(
            f"{check.critical_failures} critical expectation(s) failed in {', '.join(failed)}: the build was not "
            f"published; marts keep the last good version (run {check.run_id})"
        )
    return decision
