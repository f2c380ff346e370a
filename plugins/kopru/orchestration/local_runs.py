"""Running the DAGs on this machine through Airflow's `dag.test()` (a real DAG run, recorded in the metadata DB):
`kopru run`, the demo, the benchmarks and the tests. Runs side by side are forked processes, which needs care with
Airflow's in-process execution API (see _start_forked_run): a newcomer should not need to touch this module.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from kopru import config, warehouse
from kopru.orchestration.dags import INGEST_DAGS
from kopru.orchestration.tasks import reporting_day_of

# The steps in which `kopru run` drives the DAGs; under a scheduler the assets chain them the same way. The DAGs of a
# step share nothing and run side by side, as the scheduler runs the four daily ingest DAGs.
PIPELINE_STEPS = (INGEST_DAGS, ("warehouse",), ("quality",), ("reports",))
PIPELINE = tuple(dag_id for step in PIPELINE_STEPS for dag_id in step)

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


class DagRunFailed(RuntimeError):
    """A DAG run ended in a state other than success: its task already said why, in the run's log (and the alert
    mail). `dag_ids`: the DAGs whose runs failed."""

    def __init__(self, message: str, dag_ids: tuple[str, ...]):
        super().__init__(message)
        self.dag_ids = dag_ids

    def __reduce__(self):  # raised in a forked DAG run (run_dags), it comes back pickled
        return type(self), (str(self), self.dag_ids)


def run_dag(dag_id: str, conf: dict | None = None, bag=None) -> str:
    """Run one DAG through Airflow (`dag.test()`: a real DAG run, recorded in the metadata DB). Returns state."""
    os.environ.update(airflow_environment())
    dag = (bag or load_dagbag()).get_dag(dag_id)
    if dag is None:
        raise LookupError(f"no DAG {dag_id!r} in {config.DAGS_FOLDER}")
    run = dag.test(run_conf=conf or {})
    state = str(getattr(run, "state", "unknown"))
    if state != "success":
        raise DagRunFailed(f"DAG {dag_id} ended {state}", (dag_id,))
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
    failed = [(dag_id, outcome) for dag_id, outcome in outcomes if isinstance(outcome, BaseException)]
    if failed:
        raise DagRunFailed("; ".join(f"{dag_id}: {outcome}" for dag_id, outcome in failed),
                           tuple(dag_id for dag_id, _ in failed))
    return [outcome for _, outcome in outcomes]


def run_pipeline(inbox: Path, period: str | None = None, out: Path | None = None,
                 show_step=None) -> list[tuple[str, str, float]]:
    """The whole pipeline through Airflow, over an inbox: the ingest DAGs side by side, then warehouse, quality and
    reports. `show_step(dag_ids)`: a context manager around each step (kopru.console.step). Returns (dag_id, state,
    seconds) of each DAG run."""
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
