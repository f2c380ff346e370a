"""Airflow wiring: the environment that points Airflow at this checkout and the warehouse, the task bodies
the DAG files call, and running the whole pipeline through Airflow (`dag.test()`), as `kopru run` does.

DAG files stay thin: they declare schedules, assets and tasks, and call the functions here.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from kopru import alerts, config, periods, warehouse

DEFAULT_ARGS = {
    "owner": "kopru-data-team",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "on_failure_callback": alerts.task_failed,  # mails the data team once the retries are spent
}

SOURCE_FAMILIES = ("belediye", "sosyalkart", "devlet", "stk")
INGEST_DAGS = tuple(f"ingest_{family}" for family in SOURCE_FAMILIES)

# The steps in which `kopru run` drives the DAGs; under a scheduler the assets chain them the same way. The DAGs of a
# step share nothing and run side by side, as the scheduler runs the four daily ingest DAGs.
PIPELINE_STEPS = (INGEST_DAGS, ("warehouse",), ("quality",), ("reports",))
PIPELINE = tuple(dag_id for step in PIPELINE_STEPS for dag_id in step)

ASSET_RAW = "kopru://warehouse/raw/{family}"
ASSET_MARTS_BUILD = "kopru://warehouse/marts_build"  # built, not yet through the quality gate
ASSET_MARTS = "kopru://warehouse/marts"  # published: what BI and the reports read
ASSET_QUALITY = "kopru://warehouse/quality"


def ingest_dag(family: str, schedule: str, description: str, pull: str | None = None):
    """The DAG of one source family: (pull its deliveries into the inbox,) land its files, then update the
    family's raw asset. `pull` is "http" (state web service) or "sftp" (NGO drop); see kopru.ingest.pull.

    The four ingest DAGs differ only in family, schedule, description and pull, so their DAG files call this.
    """
    from datetime import datetime

    from airflow.sdk import Asset, Param, dag, get_current_context, task

    pulled_by = {
        "http": "First `pull_from_service` saves the day's responses of the state web service (HTTP connection "
                "`devlet_api`) into the inbox as JSON Lines.",
        "sftp": "First `fetch_from_sftp` copies new files of the NGO SFTP drop (connection `ngo_sftp`) into the "
                "inbox (one folder per NGO; a file claiming another NGO is rejected); after landing, "
                "`mark_processed` moves the ones recorded in `ingest.files`, matched by hash, to their folder's "
                "`processed/`.",
    }.get(pull or "", "")

    @dag(
        dag_id=f"ingest_{family}",
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["kopru", "ingest", family],
        params={"inbox": Param(None, type=["null", "string"], description="folder of delivered files")},
        doc_md=f"""
### ingest_{family}
{description}

{pulled_by} With no connection configured, the DAG reads the local inbox only.
Reads every `{family}_*` file of the inbox (`params.inbox`, default `$KOPRU_HOME/inbox`), lands each in its
own transaction and records it in `ingest.files`; bad rows go to `ingest.quarantine` with a reason code.
Re-running is safe: identical bytes are recorded as `duplicate_file` and load nothing.
""",
    )
    def ingest():
        @task(outlets=[Asset(ASSET_RAW.format(family=family))])
        def land_files(params=None) -> dict:
            from airflow.sdk.exceptions import AirflowSkipException

            summary = ingest_family(family, (params or {}).get("inbox"))
            if not summary["changed"]:
                # A skipped task emits no asset event: nothing is rebuilt for nothing.
                raise AirflowSkipException(f"nothing new landed ({summary['files']} file(s) seen)")
            return summary

        if pull == "http":
            @task
            def pull_from_service(params=None) -> list[str]:
                interval_start = get_current_context().get("data_interval_start")
                # The run at the start of a day pulls the day that ended (in Istanbul), complete.
                day = periods.local_day(interval_start) - timedelta(days=1) if interval_start else None
                return pull_state_feeds((params or {}).get("inbox"), day)

            pull_from_service() >> land_files()
        elif pull == "sftp":
            @task
            def fetch_from_sftp(params=None) -> list[dict]:
                return fetch_ngo_drop((params or {}).get("inbox"))

            @task(trigger_rule="none_failed")  # also after a run that landed nothing new (skipped)
            def mark_processed(fetched: list[dict]) -> list[str]:
                return mark_ngo_files_processed(fetched)

            fetched = fetch_from_sftp()
            fetched >> land_files() >> mark_processed(fetched)
        else:
            land_files()

    return ingest()


def default_inbox() -> Path:
    return config.inbox_dir()


def _inbox(inbox: str | None) -> Path:
    return config.confined_path(inbox, "inbox") if inbox else default_inbox()


def airflow_environment() -> dict[str, str]:
    """Variables that make Airflow use this checkout's DAGs and plugins, a local SQLite metadata DB and the
    warehouse as the `kopru_warehouse` connection (the reporter's login: read-only, never the administrator's)."""
    home = config.airflow_home()
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.DAGS_FOLDER),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(config.PLUGINS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW_CONN_KOPRU_WAREHOUSE": warehouse.url("reporter"),
        "KOPRU_HOME": str(config.kopru_home()),
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(config.PLUGINS_FOLDER), os.environ.get("PYTHONPATH")])),
    }
    return env


def _migration_marker() -> Path:
    import importlib.metadata

    return config.airflow_home() / f".migrated-{importlib.metadata.version('apache-airflow')}"


def ensure_airflow_db() -> None:
    """Create or upgrade the local Airflow metadata DB (once per Airflow version)."""
    marker = _migration_marker()
    if marker.exists():
        return
    env = {**os.environ, **airflow_environment()}
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    marker.touch()


def load_dagbag():
    """Parse the project's DAG folder under the project's Airflow environment; fail on any import error."""
    os.environ.update(airflow_environment())
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.DAGS_FOLDER))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {sorted(bag.import_errors)}")
    return bag


def run_dag(dag_id: str, conf: dict | None = None, bag=None) -> str:
    """Run one DAG through Airflow (`dag.test()`: a real DAG run, recorded in the metadata DB). Returns state."""
    os.environ.update(airflow_environment())
    dag = (bag or load_dagbag()).get_dag(dag_id)
    if dag is None:
        raise LookupError(f"no DAG {dag_id!r} in {config.DAGS_FOLDER}")
    run = dag.test(run_conf=conf or {})
    state = str(getattr(run, "state", "unknown"))
    if state != "success":
        raise RuntimeError(f"DAG {dag_id} ended {state}")
    return state


def _sync_dags_to_db() -> None:
    """Write the DAG folder's DAGs to the metadata DB, as `dag.test()` does before its run. Done once before DAG runs
    start side by side: their own syncs then find nothing new, where two first syncs would insert the same assets."""
    from airflow import settings
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    session = settings.Session()
    manager.sync_bundles_to_db(session=session)
    session.commit()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)


# ---- DAG runs side by side: each dag.test() in a forked process ----------------------------------------------
_bag_for_forked_runs = None  # what a forked run reads its DAG from (a DagBag does not pickle)
_transports_inherited = []  # kept referenced, never collected: see _start_forked_run


def _prepare_forked_runs() -> None:
    """The in-process execution API a test run talks to costs seconds to make and to answer its first request
    (imports, the FastAPI app, lazily built validators). Done here, before forking, the forked runs share it."""
    import httpx
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    with httpx.Client(transport=in_process_api_server().transport, base_url="http://in-process") as client:
        client.get("/health").raise_for_status()


def _start_forked_run() -> None:
    """A forked process has none of its parent's threads, so the transport to the in-process API (an event loop in a
    thread of its own) is made anew, on the same app. The inherited transport stays referenced: collecting it would
    wait for the parent's loop thread to stop it."""
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    api = in_process_api_server()
    _transports_inherited.append(api.transport)
    del api.transport  # a cached property: made again on next use


def _timed_run(dag_id: str, conf: dict | None, bag=None) -> tuple[str, str, float]:
    import time

    started = time.perf_counter()
    state = run_dag(dag_id, conf, bag or _bag_for_forked_runs)
    return dag_id, state, time.perf_counter() - started


def run_dags(dag_ids: tuple[str, ...], conf: dict | None = None, bag=None) -> list[tuple[str, str, float]]:
    """Run DAGs side by side, each `dag.test()` in a process forked from this one (a test run executes its tasks in
    its caller's process), every one to its end; then raise if any did not succeed. A single DAG runs here.
    Returns (dag_id, state, seconds) of each."""
    global _bag_for_forked_runs
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if len(dag_ids) == 1:
        return [_timed_run(dag_ids[0], conf, bag)]
    os.environ.update(airflow_environment())
    _bag_for_forked_runs = bag or load_dagbag()
    _sync_dags_to_db()
    _prepare_forked_runs()
    with ProcessPoolExecutor(len(dag_ids), mp_context=multiprocessing.get_context("fork"),
                             initializer=_start_forked_run) as pool:
        futures = [(dag_id, pool.submit(_timed_run, dag_id, conf)) for dag_id in dag_ids]
        outcomes = [(dag_id, future.exception() or future.result()) for dag_id, future in futures]
    failed = [f"{dag_id}: {outcome}" for dag_id, outcome in outcomes if isinstance(outcome, BaseException)]
    if failed:
        raise RuntimeError("; ".join(failed))
    return [outcome for _, outcome in outcomes]


def run_pipeline(inbox: Path, period: str | None = None, out: Path | None = None,
                 show_step=None) -> list[tuple[str, str, float]]:
    """The whole pipeline through Airflow, over an inbox: the ingest DAGs side by side, then warehouse, quality and
    reports. `show_step(dag_ids)`: a context manager around each step (kopru.console.step). Returns (dag_id, state,
    seconds) of each DAG run."""
    from kopru import warehouse

    warehouse.start()
    ensure_airflow_db()
    conf = {"inbox": str(config.confined_path(inbox, "inbox")), "as_of": reporting_day_of(inbox).isoformat()}
    if period:
        conf["period"] = period
    if out:
        conf["out"] = str(config.confined_path(out, "report folder"))
    bag = load_dagbag()
    outcomes = []
    for step in PIPELINE_STEPS:
        with show_step(step) if show_step else contextlib.nullcontext():
            outcomes += run_dags(step, conf, bag)
    return outcomes


# ---- task bodies: what the DAG tasks call (and the CLI calls too) ---------------------------------------------

def ingest_family(family: str, inbox: str | None) -> dict:
    """Land every file of one source family from the inbox; counts only (safe for XCom)."""
    from kopru import warehouse
    from kopru.ingest.loader import ingest_inbox

    warehouse.bootstrap()
    folder = _inbox(inbox)
    if not folder.exists():
        return {"family": family, "files": 0, "note": f"inbox {folder} does not exist"}
    results = ingest_inbox(folder, (family,), drain=True)
    summary: dict = {"family": family, "files": len(results)}
    for result in results:
        summary[result.status] = summary.get(result.status, 0) + 1
    summary["rows_loaded"] = sum(r.rows_loaded for r in results)
    summary["rows_quarantined"] = sum(r.rows_quarantined for r in results)
    summary["rows_duplicate"] = sum(r.rows_duplicate for r in results)
    summary["changed"] = any(r.changed_raw for r in results)
    if any(r.status == "error" for r in results):
        raise RuntimeError(f"{summary.get('error')} file(s) could not be loaded; they will be retried")
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

    if override_reason:
        return publish_override(override_reason, by).as_xcom()
    return run_gate().as_xcom()


def write_due_reports(as_of: date, out: str | None = None, period: str | None = None) -> list[dict]:
    """What the scheduled run owes the directorate on `as_of` (an Istanbul day; kopru.periods.reports_due): the
    izleme report of the half-year that closed last and, once a year closes, the year's değerlendirme report and
    the public transparency report. An explicit period writes just that one."""
    if period:
        return [write_report(period, out)]
    written = []
    for kind, due in periods.reports_due(as_of):
        if kind == "kamuoyu":
            from kopru.reports.transparency import render as render_public

            folder = config.confined_path(out, "report folder") if out else \
                config.outputs_dir() / "reports" / f"kamuoyu_{due}"
            written.append({"period": str(due), "public": render_public(due.year, folder)})
        else:
            written.append(write_report(str(due), out))
    return written


def due_day(as_of: str | None, run_moment) -> date:
    """The Istanbul day a reports run decides what is due on: `as_of` when given (YYYY-MM-DD), else its run's."""
    return date.fromisoformat(as_of) if as_of else periods.local_day(run_moment)


def reporting_day_of(inbox: Path) -> date:
    """The day the scheduled reports run would write reports on the deliveries: the first reporting day on or after
    the latest one, in the inbox or, when it is empty (already drained), landed in the warehouse (`kopru run` and
    the demo report as of that day); today when there are none."""
    from kopru import warehouse
    from kopru.ingest.contract import parse_file_name
    from kopru.ingest.loader import delivered_on, inbox_files

    days = [delivered_on(name) for name in map(parse_file_name, (p.name for p in inbox_files(inbox))) if name]
    days = [day for day in days if day]
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
