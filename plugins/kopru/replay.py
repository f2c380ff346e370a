"""Deliveries replayed day by day through the daily chain, as the scheduler runs it in production.

For each day D, in order: the files named for D arrive in the inbox (a correction, in the generator's `resent/`
folder, the day after the file it corrects), and the day's chain runs what the DAGs run, with D as the run's day:
the four ingest families (which drain the inbox), the warehouse build, the publication gate, and on a reporting day
(5 January, 5 July: kopru.periods) the reports DAG's body. Each day's outcome is kept: what landed, the gate's
decision with its reasons, the reports written. The chain calls the task bodies the DAGs call
(kopru.orchestration.tasks), not Airflow itself: the scheduler is exercised by tests/test_scheduler.py, and a year of
days through `dag.test()` would cost hours of Airflow's own start-up.

At the end, the published marts are compared with one bulk load of the same files into a database of its own: a
warehouse fed day by day must hold what one fed at once holds (every table of the marts, hashed row by row,
without the incremental build's watermark, which counts builds rather than data).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from psycopg import sql

from kopru import config, periods
from kopru.generate.sample import RESENT_FOLDER


@dataclass
class ReplayDay:
    day: date
    files: int
    rows_loaded: int
    gate: str  # published, nothing_new, blocked
    reasons: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    seconds: float = 0.0


def deliveries_by_day(deliveries: Path) -> dict[date, list[Path]]:
    """The delivery files of a folder by the day they arrive: the day in their name, a correction the day after."""
    from kopru.ingest.contract import parse_file_name
    from kopru.ingest.loader import inbox_files

    by_day: dict[date, list[Path]] = {}
    for path in inbox_files(deliveries):
        name = parse_file_name(path.name)
        day = name.delivered_on if name else None
        if day is None:
            continue
        if path.parent.name == RESENT_FOLDER:
            day += timedelta(days=1)
        by_day.setdefault(day, []).append(path)
    return by_day


def replay(deliveries: Path, inbox: Path, out: Path, start: date | None = None, end: date | None = None,
           progress=print) -> list[ReplayDay]:
    """Replay the deliveries of `deliveries` day by day (from `start` to `end`, all by default) into the one
    warehouse; the reports due go to `out`."""
    from kopru.ingest.origin import MARKER_FILE
    from kopru.orchestration import tasks
    from kopru.orchestration.dags import SOURCE_FAMILIES
    from kopru.quality.gate import QualityGateBlocked

    by_day = deliveries_by_day(deliveries)
    days = [d for d in sorted(by_day) if (start is None or d >= start) and (end is None or d <= end)]
    if (deliveries / MARKER_FILE).exists():  # the generator's deliveries stay known as generated, as in a bulk load
        inbox.mkdir(parents=True, exist_ok=True)
        shutil.copy2(deliveries / MARKER_FILE, inbox / MARKER_FILE)
    results = []
    for day in days:
        began = time.monotonic()
        for path in by_day[day]:
            target = inbox / (RESENT_FOLDER if path.parent.name == RESENT_FOLDER else "") / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        landed = [tasks.ingest_family(family, str(inbox)) for family in SOURCE_FAMILIES]
        tasks.build_warehouse()
        try:
            decision = tasks.check_quality()
            gate, reasons = decision["status"], []
        except QualityGateBlocked as blocked:
            gate, reasons = "blocked", str(blocked).splitlines()[1:-1]
        reports = []
        if periods.reporting_day_on_or_after(day) == day:
            for written in tasks.write_due_reports(day, str(out / day.isoformat())):
                reports.append(f"{written['period']} ({written['kind']}) not written" if "skipped" in written
                               else written.get("period", "?") + (" (kamuoyu)" if "public" in written else ""))
        result = ReplayDay(day, sum(f["files"] for f in landed), sum(f.get("rows_loaded", 0) for f in landed),
                           gate, reasons, reports, time.monotonic() - began)
        results.append(result)
        progress(f"{day}  {result.files:3d} files  {result.rows_loaded:6,d} rows  {gate:<11}"
                 f"{'  reports: ' + ', '.join(reports) if reports else ''}  {result.seconds:5.1f} s"
                 + "".join(f"\n      {reason.strip()}" for reason in reasons))
    return results


def bulk_load(deliveries: Path, inbox: Path) -> str:
    """Every delivery of `deliveries` landed at once into the one warehouse (corrections after the rest, as they
    arrived later), built and published; the gate's decision."""
    from kopru.orchestration import tasks
    from kopru.orchestration.dags import SOURCE_FAMILIES

    shutil.copytree(deliveries, inbox, dirs_exist_ok=True)
    for family in SOURCE_FAMILIES:
        tasks.ingest_family(family, str(inbox))
    tasks.build_warehouse()
    return tasks.check_quality()["status"]


def marts_fingerprint(url: str) -> dict[str, str]:
    """Every published mart table: a hash of its rows (in no particular order), without the incremental build's
    watermark."""
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [t for (t,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1")]
        return {table: conn.execute(sql.SQL(
            """select count(*) || ':' || coalesce(md5(string_agg(row_hash, '' order by row_hash)), '')
               from (select md5((to_jsonb(t) - 'built_through_file_id')::text) as row_hash from marts.{} t) rows""")
            .format(sql.Identifier(table))).fetchone()[0] for table in tables}


def replay_and_compare(households: int, start: date, end: date, seed: int, work: Path,
                       progress=print) -> tuple[list[ReplayDay], dict[str, tuple[str, str]]]:
    """Generate a district's daily deliveries from `start` to `end`, replay them day by day into a scratch
    warehouse, load them at once into another, and compare the two warehouses' marts. Returns the days and the
    tables that differ (replayed hash, bulk hash)."""
    from kopru import warehouse
    from kopru.generate.sample import generate

    deliveries = work / "deliveries"
    if work.exists():
        shutil.rmtree(work)
    generate("İstanbul/Sultangazi", households, start, end, seed, deliveries, cadence="daily")
    server = warehouse.start()
    with warehouse.scratch_database("kopru_replay", server) as url:
        days = replay(deliveries, work / "inbox", work / "reports", progress=progress)
        replayed = marts_fingerprint(url)
    with warehouse.scratch_database("kopru_replay_bulk", server) as url:
        bulk_status = bulk_load(deliveries, work / "bulk_inbox")
        progress(f"bulk load of the same files: {bulk_status}")
        bulk = marts_fingerprint(url)
    differing = {t: (replayed.get(t, "—"), bulk.get(t, "—")) for t in sorted(set(replayed) | set(bulk))
                 if replayed.get(t) != bulk.get(t)}
    return days, differing


def default_work_folder() -> Path:
    return config.kopru_home() / "replay"
