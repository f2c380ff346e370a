"""`make airflow`: Airflow 3 standalone (api-server, scheduler, dag-processor, triggerer) on 127.0.0.1, wired to
this checkout's DAGs and the local warehouse, so the data team can see, trigger and read the DAGs.

- Its metadata database is PostgreSQL: a database `airflow` on the warehouse's server (SQLite locks under the
  scheduler and LocalExecutor: four triggers at once gave "database is locked").
- It listens on 127.0.0.1 only, and every component's output goes to `$KOPRU_HOME/airflow/logs/` (the task logs
  under it too).
- Stopping it stops every process it started: they all carry an environment marker of this session, found even when
  a component detached into a process group of its own (standalone does), so Ctrl-C and `make airflow-stop` leave
  nothing answering.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from kopru import config, warehouse
from kopru.orchestration.local_runs import airflow_environment

SESSION_MARKER = "KOPRU_AIRFLOW_SESSION"
METADATA_DATABASE = "airflow"


def metadata_url() -> str:
    """Airflow's metadata DB: a database of its own on the warehouse's server, created when missing."""
    import psycopg
    from psycopg import sql


    url = warehouse.url()
    with psycopg.connect(warehouse.with_database(url, "postgres"), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (METADATA_DATABASE,)).fetchone():
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(METADATA_DATABASE)))
    return warehouse.with_database(url, METADATA_DATABASE).replace("postgresql://", "postgresql+psycopg2://", 1)


def log_folder() -> Path:
    folder = config.airflow_home() / "logs"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def standalone_environment(port: int = 8080, session: str | None = None) -> dict[str, str]:
    env = {**os.environ, **airflow_environment()}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = metadata_url()
    env["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
    env["AIRFLOW__API__HOST"] = "127.0.0.1"
    env["AIRFLOW__API__PORT"] = str(port)
    env["AIRFLOW__API__BASE_URL"] = f"http://127.0.0.1:{port}"
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
    env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(log_folder())
    env["AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY"] = str(log_folder() / "dag_processor")
    # Local development only: every user is an admin, no password to hunt for in the logs.
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"
    env[SESSION_MARKER] = session or uuid.uuid4().hex
    return env


def pid_file() -> Path:
    return config.airflow_home() / "standalone.session"


def start(port: int = 8080, log_path: Path | None = None) -> subprocess.Popen:
    """Migrate the metadata DB, then start standalone in the background; its output goes to `log_path` (default
    `$KOPRU_HOME/airflow/logs/standalone.log`). The session marker is kept in `standalone.session`."""
    env = standalone_environment(port)
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    log_path = log_path or log_folder() / "standalone.log"
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen([airflow, "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    # The session marker, and the session id (start_new_session: the standalone's pid) and port, which find the
    # components whose title-setting overwrote their environment.
    pid_file().write_text(f"{env[SESSION_MARKER]} {process.pid} {port}")
    process.kopru_session = f"{env[SESSION_MARKER]} {process.pid} {port}"
    return process


def celery_settings(broker_url: str, metadata_url: str) -> dict[str, str]:
    """What turns Airflow into a CeleryExecutor deployment, as docker-compose.yml's `celery` profile sets it: the
    executor, the broker (Redis), and task results kept in the metadata DB (`db+` is Celery's SQLAlchemy backend)."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url.replace("+psycopg2", "", 1),
    }


COMPONENTS = ("api-server", "scheduler", "dag-processor")


def start_celery(port: int, broker_url: str, workers: int = 2) -> subprocess.Popen:
    """Airflow as a CeleryExecutor deployment on 127.0.0.1: the api-server, scheduler and dag-processor, and
    `workers` Celery workers (one task slot each, named worker1@…), all in one process session that `stop` ends;
    each writes to `celery_<name>.log` in log_folder(). `airflow standalone` cannot do this: it forces a local
    executor."""
    env = standalone_environment(port)
    env.update(celery_settings(broker_url, env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    commands = {component: [airflow, component] for component in COMPONENTS} | {
        f"worker{number}": [airflow, "celery", "worker", "--concurrency", "1", "--celery-hostname",
                            f"worker{number}@%h"] for number in range(1, workers + 1)}
    script = "".join(f"{shlex.join(command)} > {shlex.quote(str(celery_log(name)))} 2>&1 &\n"
                     for name, command in commands.items()) + "wait\n"
    process = subprocess.Popen(["/bin/sh", "-c", script], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    pid_file().write_text(f"{env[SESSION_MARKER]} {process.pid} {port}")
    process.kopru_session = f"{env[SESSION_MARKER]} {process.pid} {port}"
    return process


def celery_log(component: str) -> Path:
    return log_folder() / f"celery_{component}.log"


def wait_healthy(port: int = 8080, timeout: float = 180) -> dict:
    import json

    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5) as response:
                health = json.load(response)
            if health.get("scheduler", {}).get("status") == "healthy":
                return health
        except Exception as error:  # noqa: BLE001 - not up yet
            last_error = error
        time.sleep(2)
    raise TimeoutError(f"Airflow did not become healthy on port {port}: {last_error}")


def _session_id(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return None


def session_processes(session: str) -> list:
    """Every running process of the session: those with its marker in their environment, those of its session id,
    the one listening on its port, and all their descendants."""
    import psutil

    marker, session_id, port = session.split()
    tagged = f"{SESSION_MARKER}={marker}".encode()
    found: dict[int, psutil.Process] = {}
    for process in psutil.process_iter():
        try:
            with open(f"/proc/{process.pid}/environ", "rb") as handle:
                carries = tagged in handle.read().split(b"\0")
        except OSError:
            carries = False
        if carries or _session_id(process.pid) == int(session_id):
            found[process.pid] = process
    for connection in psutil.net_connections("inet"):
        if connection.status == "LISTEN" and connection.laddr.port == int(port) and connection.pid:
            found.setdefault(connection.pid, psutil.Process(connection.pid))
    for process in list(found.values()):
        try:
            for child in process.children(recursive=True):
                found.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass
    return [p for p in found.values() if p.pid != os.getpid() and _alive(p)]


def _alive(process) -> bool:
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop(process: subprocess.Popen | None = None, session: str | None = None) -> int:
    """Stop every process of the session (that of `process`, or the one in `standalone.session`): SIGTERM, then
    SIGKILL for any still running after 30 s. Returns how many there were."""
    import psutil

    session = session or getattr(process, "kopru_session", None) or \
        (pid_file().read_text().strip() if pid_file().exists() else None)
    if not session:
        return 0
    processes = session_processes(session)
    for each in processes:
        try:
            each.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(processes, timeout=30)
    for each in alive:
        try:
            each.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)
    if process is not None:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    pid_file().unlink(missing_ok=True)
    return len(processes)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["stop"]:
        print(f"stopped {stop()} Airflow process(es)")
        return 0
    port = config.airflow_port()
    process = start(port)
    try:
        wait_healthy(port)
        print(f"Airflow is up: http://127.0.0.1:{port}  (metadata: PostgreSQL database `{METADATA_DATABASE}`; "
              f"logs: {log_folder()}). Ctrl-C or `make airflow-stop` stops it and all its processes.")
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop(process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
