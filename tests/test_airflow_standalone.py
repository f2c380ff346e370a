"""`make airflow`: the data team's Airflow starts, is healthy, and lists every DAG without import errors."""

import json
import socket
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, token: str | None = None) -> dict:
    request = urllib.request.Request(f"http://localhost:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def token(port: int) -> str:
    request = urllib.request.Request(f"http://localhost:{port}/auth/token", method="GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


@pytest.mark.slow
def test_standalone_lists_every_dag(warehouse_url, kopru_home):
    """Its metadata in PostgreSQL, listening on 127.0.0.1 only, and stopped whole: after stop, no process of the
    session is left and nothing answers on its port."""
    import psutil
    import psycopg
    from kopru.orchestration import standalone as airflow_standalone
    from kopru.orchestration.local_runs import PIPELINE
    from kopru.warehouse import with_database

    port = free_port()
    process = airflow_standalone.start(port)
    try:
        health = airflow_standalone.wait_healthy(port, timeout=240)
        assert health["metadatabase"]["status"] == "healthy"
        listening = {c.laddr.ip for c in psutil.net_connections("inet") if c.status == "LISTEN" and c.laddr.port == port}
        assert listening == {"127.0.0.1"}
        assert (kopru_home / "airflow" / "logs" / "standalone.log").stat().st_size > 0
        bearer = token(port)
        dag_ids = set()
        for _ in range(60):  # the dag-processor parses the folder shortly after start
            dag_ids = {d["dag_id"] for d in get(port, "/api/v2/dags?limit=100", bearer)["dags"]}
            if set(PIPELINE) <= dag_ids:
                break
            __import__("time").sleep(2)
        assert set(PIPELINE) <= dag_ids
        assert get(port, "/api/v2/importErrors", bearer)["total_entries"] == 0
        with psycopg.connect(with_database(warehouse_url, "airflow")) as conn:
            assert set(PIPELINE) <= {d for (d,) in conn.execute("select dag_id from dag")}
    finally:
        stopped = airflow_standalone.stop(process)
    assert process.poll() is not None and stopped >= 4  # standalone and its components
    assert airflow_standalone.session_processes(process.kopru_session) == []
    with pytest.raises(OSError):
        get(port, "/api/v2/monitor/health")
