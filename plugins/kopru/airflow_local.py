"""`make airflow`: Airflow 3 standalone (api-server, scheduler, dag-processor, triggerer) on localhost, wired to
this checkout's DAGs and the local warehouse, so the data team can see, trigger and read the DAGs' logs.

Standalone spawns many child processes; we start it in its own process group so stopping it stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from kopru.orchestration import airflow_environment, ensure_airflow_db


def standalone_environment(port: int = 8080) -> dict[str, str]:
    env = {**os.environ, **airflow_environment()}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["AIRFLOW__API__PORT"] = str(port)
    env["AIRFLOW__API__BASE_URL"] = f"http://localhost:{port}"
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://localhost:{port}/execution/"
    # Local development only: every user is an admin, no password to hunt for in the logs.
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"
    return env


def start(port: int = 8080, log_path: Path | None = None) -> subprocess.Popen:
    ensure_airflow_db()
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - owned by the process
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "airflow"), "standalone"],
        env=standalone_environment(port),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_healthy(port: int = 8080, timeout: float = 180) -> dict:
    import json

    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/api/v2/monitor/health", timeout=5) as response:
                health = json.load(response)
            if health.get("scheduler", {}).get("status") == "healthy":
                return health
        except Exception as error:  # noqa: BLE001 - not up yet
            last_error = error
        time.sleep(2)
    raise TimeoutError(f"Airflow did not become healthy on port {port}: {last_error}")


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def main() -> int:
    port = int(os.environ.get("KOPRU_AIRFLOW_PORT", "8080"))
    process = start(port)
    try:
        wait_healthy(port)
        print(f"Airflow is up: http://localhost:{port}  (Ctrl-C stops it and all its processes)")
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop(process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
