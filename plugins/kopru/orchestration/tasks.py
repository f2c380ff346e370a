"""The task bodies: what each DAG task does, called by the DAG files inside their tasks and by the CLI. Each returns
counts and names only (safe for XCom: nothing personal)."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

from kopru import config, periods

log = logging.getLogger(__name__)


def _inbox(inbox: str | None) -> Path:
    return config.confined_path(inbox, "inbox") if inbox else config.inbox_dir()


def ingest_family(family: str, inbox: str | None) -> dict:
    """Land every file of one source family from the inbox (drained: landed files leave it); counts only. Raises
    when a file could not be loaded (it stays, and the task's retry takes it)."""
    from kopru import warehouse

    warehouse.bootstrap()
    folder = _inbox(inbox)
    if not folder.exists():
        return {"family": family, "files": 0, "note": f"inbox {folder} does not exist"}
    summary = {"family": family, **land_inbox(folder, (family,), drain=True)}
    if summary.get("error"):
        raise RuntimeError(f"{summary['error']} file(s) could not be loaded; they will be retried")
    return summary


def land_inbox(folder: Path, families: tuple[str, ...] | None, drain: bool) -> dict:
    """Land the inbox's files of `families` (all when None): how many files ended in each status, the rows loaded,
    quarantined and duplicate, and whether any raw table changed."""
    from kopru.ingest.loader import ingest_inbox

    results = ingest_inbox(folder, families, drain=drain)
    summary: dict = {"files": len(results)}
    for result in results:
        summary[result.status] = summary.get(result.status, 0) + 1
    summary["rows_loaded"] = sum(r.rows_loaded for r in results)
    summary["rows_quarantined"] = sum(r.rows_quarantined for r in results)
    summary["rows_duplicate"] = sum(r.rows_duplicate for r in results)
    summary["changed"] = any(r.changed_raw for r in results)
    return summary


def pull_state_feeds(inbox: str | None, day) -> list[str]:
    """File names only (safe for XCom); nothing when the `devlet_api` connection is not configured."""
    from kopru.ingest import pull

    if not pull.connection_configured(pull.DEVLET_CONN_ID):
        return []
    return pull.pull_devlet(day or periods.local_day() - timedelta(days=1), _inbox(inbox))


def fetch_ngo_drop(inbox: str | None) -> list[dict]:
    from kopru.ingest import pull

    if not pull.connection_configured(pull.NGO_SFTP_CONN_ID):
        return []
    return pull.fetch_ngo_files(_inbox(inbox))


def mark_ngo_files_processed(fetched: list[dict]) -> list[str]:
    from kopru.ingest import pull

    if not fetched:
        return []
    return pull.mark_processed(fetched)


def build_warehouse() -> dict:
    """dbt build into the build schema; the quality gate publishes it (kopru.quality.gate). The unit tests run in
    `make test` and with `kopru build`, where the models' logic changes, not in every scheduled build (a second
    of the day's eight)."""
    from kopru import transform
    from kopru.quality.gate import BUILD_SCHEMA

    return transform.build(marts_schema=BUILD_SCHEMA, unit_tests=False)


def check_quality(override_reason: str | None = None, by: str = "airflow") -> dict:
    """The publication gate: raises (failing the task, visibly) when a critical expectation fails. With an
    override reason, publishes the latest blocked build instead (kopru.quality.gate.publish_override)."""
    from kopru.quality.gate import publish_override, run_gate

    if override_reason is not None:
        return publish_override(override_reason, by).as_xcom()
    return run_gate().as_xcom()


def write_due_reports(as_of: date, out: str | None = None, period: str | None = None) -> list[dict]:
    """What the scheduled run owes the directorate on `as_of` (an Istanbul day; kopru.periods.reports_due): the
    izleme report of the half-year that closed last and, once a year closes, the year's değerlendirme report and
    the public transparency report; a report of a period that ended before the published marts begin is listed as
    skipped, not written. An explicit period writes just that one."""
    if out:
        config.confined_path(out, "report folder")  # refused before anything is decided, even when nothing is written
    if period:
        return [write_report(period, out)]
    written = []
    first_reported = first_reported_period_start()
    for kind, due in periods.reports_due(as_of):
        if first_reported is None or due.end < first_reported:
            # A warehouse that went live after the period ended holds nothing of it (int_periods reports no period
            # before the first aid delivery): the scheduled run says so and writes the rest; `--period` still fails.
            history = f"the published marts begin on {first_reported}" if first_reported else \
                "the published marts hold no period yet"
            skipped = f"{kind} report of {due} not written: {history}, after the period ended"
            log.warning(skipped)
            written.append({"period": str(due), "kind": kind, "skipped": skipped})
            continue
        if kind == "kamuoyu":
            from kopru.reports.transparency import render as render_public

            folder = config.confined_path(out, "report folder") if out else \
                config.outputs_dir() / "reports" / f"kamuoyu_{due}"
            written.append({"period": str(due), "public": render_public(due.year, folder)})
        else:
            written.append(write_report(str(due), out))
    return written


def first_reported_period_start() -> date | None:
    """The first day of the earliest period the published marts report (None when they report none)."""
    from kopru import warehouse

    with warehouse.connect(role="reporter") as conn:
        if conn.execute("select to_regclass('marts.fct_indicator_period') is null").fetchone()[0]:
            return None  # nothing published yet
        return conn.execute("select min(period_start) from marts.fct_indicator_period").fetchone()[0]


def due_day(as_of: str | None, run_moment) -> date:
    """The Istanbul day a reports run decides what is due on: `as_of` when given (YYYY-MM-DD), else its run's."""
    return date.fromisoformat(as_of) if as_of else periods.local_day(run_moment)


def reporting_day_of(inbox: Path) -> date:
    """The day the scheduled reports run would write reports on the deliveries: the first reporting day on or after
    the latest one, in the inbox or, when it is empty (already drained), landed in the warehouse (`kopru run` and
    the demo report as of that day); today when there are none."""
    from kopru import warehouse
    from kopru.ingest.contract import parse_file_name
    from kopru.ingest.loader import inbox_files

    names = [parse_file_name(path.name) for path in inbox_files(inbox)]
    days = [name.delivered_on for name in names if name and name.delivered_on]
    if not days:
        with warehouse.connect(role="reporter") as conn:
            landed = conn.execute("select max(delivered_on) from ingest.files where status = 'loaded'").fetchone()[0]
        days = [landed] if landed else []
    return periods.reporting_day_on_or_after(max(days)) if days else periods.local_day()


def write_report(period: str | None, out: str | None) -> dict:
    """Render the period's report, archive it, and mail it when recipients and SMTP are configured."""
    from kopru.reports.deliver import deliver
    from kopru.reports.render import render

    if period is None:
        period = str(periods.last_closed_half_year(periods.local_day()))
    folder = config.confined_path(out, "report folder") if out else config.outputs_dir() / "reports" / period
    written = render(period, folder)
    manifest = written.pop("manifest")
    return {"period": period, **written, **deliver(written, manifest)}
