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
    from kopru import airflow_local
    from kopru.orchestration import PIPELINE

    port = free_port()
    process = airflow_local.start(port, kopru_home / "standalone.log")
    try:
        health = airflow_local.wait_healthy(port, timeout=240)
        assert health["metadatabase"]["status"] == "healthy"
        bearer = token(port)
        dag_ids = set()
        for _ in range(60):  # the dag-processor parses the folder shortly after start
            dag_ids = {d["dag_id"] for d in get(port, "/api/v2/dags?limit=100", bearer)["dags"]}
            if set(PIPELINE) <= dag_ids:
                break
            __import__("time").sleep(2)
        assert set(PIPELINE) <= dag_ids
        assert get(port, "/api/v2/importErrors", bearer)["total_entries"] == 0
    finally:
        airflow_local.stop(process)
    assert process.poll() is not None
