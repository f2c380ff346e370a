"""The pipeline as production runs it: the real Airflow scheduler, dag-processor and api-server (standalone,
LocalExecutor, PostgreSQL metadata, loopback), a day's files in the inbox, the four ingest DAGs triggered through the
REST API, and `warehouse → quality` started by asset events alone. Every run succeeds; delivering the same files
again changes nothing and triggers no build. The same day under the CeleryExecutor with two workers and a Redis
broker gives the same marts."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.request
from datetime import date, datetime

import pytest

ORCHESTRATED = ("ingest_belediye", "ingest_sosyalkart", "ingest_devlet", "ingest_stk", "warehouse", "quality")
TERMINAL = {"success", "failed"}


class Api:
    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{self.base}/auth/token", timeout=10) as response:
            self.token = json.load(response)["access_token"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def runs(self, dag_id: str) -> list[dict]:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=start_date")["dag_runs"]


def wait_until_quiet(api: Api, expected_runs: dict[str, int], timeout: float = 600) -> dict[str, list[dict]]:
    """Wait until each DAG has at least its expected number of runs, all of them finished, and nothing new has
    started for a while (an asset event may still be on its way)."""
    deadline, quiet_since, last = time.monotonic() + timeout, None, None
    while time.monotonic() < deadline:
        runs = {dag_id: api.runs(dag_id) for dag_id in ORCHESTRATED}
        counts = {dag_id: len(r) for dag_id, r in runs.items()}
        # Each build's asset event reaches the gate, which the scheduler may queue some seconds later: settled
        # only once the latest gate run was queued after the latest build started.
        gated = not runs["warehouse"] or (runs["quality"] and max(r["queued_at"] for r in runs["quality"])
                                          >= max(r["start_date"] or "" for r in runs["warehouse"]))
        settled = gated and all(counts[d] >= n for d, n in expected_runs.items()) and all(
            run["state"] in TERMINAL for r in runs.values() for run in r)
        if settled and counts == last:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 20:
                return runs
        else:
            quiet_since = None
        last = counts
        time.sleep(3)
    raise TimeoutError(f"the scheduler did not settle: {last}")


def seconds(run: dict) -> float:
    started, ended = (datetime.fromisoformat(run[k].replace("Z", "+00:00")) for k in ("start_date", "end_date"))
    return (ended - started).total_seconds()


def a_day_under_the_scheduler(name: str, start_airflow, warehouse_url, kopru_home, capsys, monkeypatch) -> dict:
    """The day's story under a running Airflow (`start_airflow(port)` starts it); the fingerprint of every mart."""
    import psycopg
    from kopru import warehouse
    from kopru.generate.sample import generate
    from kopru.ingest.origin import MARKER_FILE
    from kopru.orchestration import standalone as airflow_standalone
    from kopru.replay import marts_fingerprint

    kopru_home = kopru_home / name
    kopru_home.mkdir()
    with warehouse.scratch_database(f"kopru_{name}", warehouse_url) as url:
        inbox = kopru_home / "scheduler_inbox"
        # The DAGs' own schedules, once unpaused, read the default inbox: an empty one here.
        (kopru_home / "scheduler_default_inbox").mkdir(exist_ok=True)
        monkeypatch.setenv("KOPRU_INBOX", str(kopru_home / "scheduler_default_inbox"))
        # The warehouse already holds the quarter's history, published; the day brings the files of 1 July. (Landing
        # a whole history at once, side by side, would let a build of the aid run before its ISAS receipts land,
        # and the gate rightly block that build.)
        generate("İstanbul/Sultangazi", 60, date(2024, 4, 1), date(2024, 6, 30), 3, inbox)
        history = kopru_home / "scheduler_history"
        history.mkdir()
        for path in [p for p in inbox.rglob("*") if p.is_file() and "_202407" not in p.name
                     and not p.name.startswith(".")]:
            target = history / path.relative_to(inbox)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
        from kopru import transform
        from kopru.ingest.loader import ingest_inbox
        from kopru.quality.gate import BUILD_SCHEMA, run_gate

        (inbox / MARKER_FILE).unlink()  # a real district's history and day: no generator's marker on either
        ingest_inbox(history, drain=True)
        transform.build(marts_schema=BUILD_SCHEMA, unit_tests=False)
        assert run_gate().status == "published"
        day_files = sorted(p.relative_to(inbox) for p in inbox.rglob("*") if p.is_file())
        assert day_files and all("_202407" in path.name for path in day_files)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = start_airflow(port)
        try:
            airflow_standalone.wait_healthy(port, timeout=240)
            api = Api(port)
            for _ in range(60):  # the dag-processor parses the folder shortly after start
                known = {d["dag_id"] for d in api.call("GET", "/api/v2/dags?limit=100")["dags"]}
                if set(ORCHESTRATED) <= known:
                    break
                time.sleep(2)
            for dag_id in ORCHESTRATED:
                api.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
            before = {dag_id: len(api.runs(dag_id)) for dag_id in ORCHESTRATED}

            def deliver_and_trigger():
                """The state feeds first, as their pull runs early each morning: the ISAS receipts of last month's
                aid are in before that aid is judged. (Triggered together, the sample's monthly files let a build
                judge May's aid before its receipts landed, and the gate rightly blocked it.)"""
                def trigger(dag_id):
                    return api.call("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                                    {"logical_date": None, "conf": {"inbox": str(inbox)}})["dag_run_id"]

                first = trigger("ingest_devlet")
                deadline = time.monotonic() + 300
                while api.call("GET", f"/api/v2/dags/ingest_devlet/dagRuns/{first}")["state"] not in TERMINAL:
                    assert time.monotonic() < deadline, "ingest_devlet did not finish"
                    time.sleep(2)
                for dag_id in ("ingest_belediye", "ingest_sosyalkart", "ingest_stk"):
                    trigger(dag_id)

            deliver_and_trigger()
            runs = wait_until_quiet(api, {d: before[d] + 1 for d in ORCHESTRATED})
            failed = [(d, r["dag_run_id"]) for d, rs in runs.items() for r in rs if r["state"] != "success"]
            assert failed == []
            assert all(r["run_type"] == "asset_triggered" for d in ("warehouse", "quality") for r in runs[d])
            with psycopg.connect(url) as conn:
                published = conn.execute("select count(*) from marts.fct_indicator_period").fetchone()[0]
                files = conn.execute("select count(*) from ingest.files").fetchone()[0]
                marts = conn.execute("select md5(string_agg(t::text, '|' order by t::text)) "
                                     "from marts.fct_aid t").fetchone()[0]
            assert published > 0 and not any(inbox.rglob("*.csv"))
            with capsys.disabled():
                for dag_id in ORCHESTRATED:
                    print(f"\n  {dag_id:<18} {len(runs[dag_id]) - before[dag_id]} run(s): "
                          + ", ".join(f"{seconds(r):.1f} s" for r in runs[dag_id][before[dag_id]:]))

            # The same files delivered again: every ingest run lands nothing new, so no asset event and no build.
            generate("İstanbul/Sultangazi", 60, date(2024, 4, 1), date(2024, 6, 30), 3, kopru_home / "again")
            for path in day_files:
                (inbox / path).parent.mkdir(parents=True, exist_ok=True)
                (kopru_home / "again" / path).rename(inbox / path)
            deliver_and_trigger()
            again = wait_until_quiet(api, {d: len(runs[d]) + (1 if d.startswith("ingest_") else 0)
                                           for d in ORCHESTRATED})
            assert [r for rs in again.values() for r in rs if r["state"] != "success"] == []
            assert len(again["warehouse"]) == len(runs["warehouse"])
            assert len(again["quality"]) == len(runs["quality"])
            with psycopg.connect(url) as conn:
                assert conn.execute("select md5(string_agg(t::text, '|' order by t::text)) "
                                    "from marts.fct_aid t").fetchone()[0] == marts
                statuses = {s for (s,) in conn.execute(
                    "select distinct status from ingest.files where file_id > %s", (files,))}
            assert statuses <= {"duplicate_file"}
            return marts_fingerprint(url)
        finally:
            airflow_standalone.stop(process)


FINGERPRINTS: dict[str, dict] = {}  # executor → every mart's fingerprint after the day


@pytest.mark.slow
def test_a_day_under_the_real_scheduler(warehouse_url, kopru_home, capsys, monkeypatch):
    from kopru.orchestration import standalone as airflow_standalone

    FINGERPRINTS["LocalExecutor"] = a_day_under_the_scheduler(
        "scheduler", airflow_standalone.start, warehouse_url, kopru_home, capsys, monkeypatch)


@pytest.fixture
def redis_broker(tmp_path):
    """Debian's redis-server on a loopback port of its own, nothing kept on disk (`make test` installs it)."""
    import shutil
    import subprocess

    server = shutil.which("redis-server")
    assert server, "the Celery test needs Debian's redis-server: `make test` installs it (apt-get install redis-server)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly",
                                "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_two_celery_workers_give_the_marts_the_local_executor_gives(warehouse_url, kopru_home, capsys, monkeypatch,
                                                                   redis_broker):
    """Past one machine (docs/scale.md): the same day under the CeleryExecutor, two workers taking tasks from a Redis
    broker, ends in marts equal, table by table, to the LocalExecutor's."""
    from kopru.orchestration import standalone as airflow_standalone

    if "LocalExecutor" not in FINGERPRINTS:  # run alone: the local day first
        test_a_day_under_the_real_scheduler(warehouse_url, kopru_home, capsys, monkeypatch)
    workers = {name: airflow_standalone.celery_log(name) for name in ("worker1", "worker2")}

    def start_with_two_workers(port):
        for log in workers.values():
            log.unlink(missing_ok=True)
        process = airflow_standalone.start_celery(port, redis_broker, workers=2)
        deadline = time.monotonic() + 240
        while not all(log.exists() and re.search(r"@\S+ ready", log.read_text(errors="replace"))
                      for log in workers.values()):
            if time.monotonic() > deadline:
                airflow_standalone.stop(process)
                raise AssertionError("the Celery workers did not come up: " + " | ".join(
                    log.read_text(errors="replace")[-1500:] for log in workers.values() if log.exists()))
            time.sleep(2)
        return process

    celery = a_day_under_the_scheduler("celery", start_with_two_workers, warehouse_url, kopru_home, capsys,
                                       monkeypatch)
    local = FINGERPRINTS["LocalExecutor"]
    assert len(local) > 20 and celery == local
    # both workers ran tasks of the day, and none failed
    done = {name: len(re.findall(r"Task \S+\[[^]]+\] succeeded", log.read_text(errors="replace")))
            for name, log in workers.items()}
    assert all(count > 0 for count in done.values()), done
    with capsys.disabled():
        print(f"\n  tasks per Celery worker: {done}")
