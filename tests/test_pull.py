"""Pulling deliveries through Airflow connections, against real servers on loopback: an HTTP service with paging,
a bearer token and a transient failure, and an SFTP drop whose files move to processed/ once landed."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncssh
import pytest
from kopru.ingest import pull
from kopru.orchestration.local_runs import run_dag

TOKEN = "test-token"
VALID_TCKN = "10000000146"


def receipts(page: int) -> list[dict]:
    return [{"isasRef": f"PULL{page}{i}", "belediyeYardimNo": f"Y-PULL-{page}-{i}", "tcKimlikNo": VALID_TCKN,
             "alinmaZamani": "2031-01-05T10:00:00", "durum": "kabul", "redNedeni": None} for i in range(3)]


class StateService(BaseHTTPRequestHandler):
    """`GET /api/<feed>?date=…&page=N`: two pages of ISAS receipts, the second failing once with 503."""

    requests: list[tuple[str, int, str | None]] = []
    failed_once: set[str] = set()

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        feed = url.path.rsplit("/", 1)[-1]
        page = int(parse_qs(url.query).get("page", ["1"])[0])
        type(self).requests.append((feed, page, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, {"error": "token"})
        if feed == "isas_alindi" and page == 2 and feed not in self.failed_once:
            self.failed_once.add(feed)
            return self._send(503, {"error": "busy"})
        if feed == "isas_alindi":
            return self._send(200, {"items": receipts(page), "next_page": 2 if page == 1 else None})
        return self._send(200, {"items": [], "next_page": None})

    def _send(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def state_service(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), StateService)
    StateService.requests, StateService.failed_once = [], set()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AIRFLOW_CONN_DEVLET_API", json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{server.server_address[1]}/api", "password": TOKEN}))
    yield StateService
    server.shutdown()


def test_pull_pages_retries_and_saves_one_contract_file_per_feed(state_service, tmp_path):
    written = pull.pull_devlet(date(2031, 1, 5), tmp_path, max_wait_seconds=0.1)
    assert written == [f"devlet_{feed}_20310105.jsonl" for feed in pull.DEVLET_FEEDS]
    lines = (tmp_path / "devlet_isas_alindi_20310105.jsonl").read_text().splitlines()
    assert [json.loads(line)["isasRef"] for line in lines] == [f"PULL{p}{i}" for p in (1, 2) for i in range(3)]
    assert ("isas_alindi", 2, f"Bearer {TOKEN}") in state_service.requests
    assert [r[:2] for r in state_service.requests].count(("isas_alindi", 2)) == 2  # the 503, then the retry
    assert not list(tmp_path.glob(".*"))  # no partial file left behind


@pytest.fixture(scope="module", autouse=True)
def airflow_db(warehouse_url):
    from kopru.orchestration.local_runs import ensure_airflow_db

    ensure_airflow_db()


def processed_today() -> Path:
    from kopru import config, periods

    return config.archive_dir() / "processed" / periods.local_day().isoformat()


def test_ingest_devlet_dag_pulls_then_lands(state_service, tmp_path, airflow_db, db):
    inbox = tmp_path / "inbox"
    run_dag("ingest_devlet", {"inbox": str(inbox)})
    assert not list(inbox.iterdir())  # landed, and moved to the archive's processed files
    name, status, rows_loaded = db.execute(
        """select file_name, status, rows_loaded from ingest.files where source = 'devlet' and feed = 'isas_alindi'
           order by file_id desc limit 1""").fetchone()
    assert (status, rows_loaded) == ("loaded", 6)
    assert (processed_today() / name).is_file()


def test_without_a_connection_nothing_is_pulled(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_DEVLET_API", raising=False)
    from kopru.orchestration.tasks import pull_state_feeds

    assert pull_state_feeds(str(tmp_path), date(2031, 1, 5)) == []
    assert not any(tmp_path.iterdir())


class DropServer(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        return (username, password) == ("ngo", "drop-password")


@pytest.fixture
def sftp_drop(tmp_path, monkeypatch):
    root = tmp_path / "sftp_root"
    (root / "drop").mkdir(parents=True)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    state = {}

    async def serve():
        key = asyncssh.generate_private_key("ssh-ed25519")
        state["server"] = await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[key], server_factory=DropServer,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()))
        state["port"] = state["server"].sockets[0].getsockname()[1]
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(serve()), loop.run_forever()), daemon=True)
    thread.start()
    assert started.wait(10)
    monkeypatch.setenv("AIRFLOW_CONN_NGO_SFTP", json.dumps({
        "conn_type": "sftp", "host": "127.0.0.1", "port": state["port"], "login": "ngo", "password": "drop-password",
        "extra": {"no_host_key_check": True, "remote_path": "/drop"}}))
    yield root / "drop"
    loop.call_soon_threadsafe(state["server"].close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_ingest_stk_dag_fetches_from_sftp_and_moves_landed_files_to_processed(sftp_drop, tmp_path, airflow_db, db):
    body = ("Sıra No;T.C. Kimlik No;Adı;Soyadı;Doğum Tarihi;Mahalle;Yardım Türü;Miktar;Tutar (TL);Teslim Tarihi\n"
            f"1;{VALID_TCKN};Ayşe;Şahin;01.02.1980;Gazi;Gıda Kolisi;1;1.250,50;05.01.2032\n")
    folder = sftp_drop / "kizilay_ilce"
    folder.mkdir()
    (folder / "stk_kizilay_ilce_203201.csv").write_bytes(body.encode("cp1254"))
    (folder / "notes.txt").write_text("not a delivery")
    (sftp_drop / "stk_kizilay_ilce_203202.csv").write_bytes(body.encode("cp1254"))  # no sender: not fetched
    inbox = tmp_path / "inbox"
    run_dag("ingest_stk", {"inbox": str(inbox)})
    assert (processed_today() / "stk_kizilay_ilce_203201.csv").read_bytes() == body.encode("cp1254")
    assert not list(inbox.iterdir())
    assert db.execute(
        "select status, rows_loaded from ingest.files where file_name = 'stk_kizilay_ilce_203201.csv'"
    ).fetchone() == ("loaded", 1)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "processed"]
    assert [p.name for p in (folder / "processed").iterdir()] == ["stk_kizilay_ilce_203201.csv"]


def test_a_file_claiming_another_ngo_is_rejected_and_never_reaches_the_inbox(sftp_drop, tmp_path, warehouse_url, db):
    (sftp_drop / "gidabankasi").mkdir()
    forged = b"ad,soyad\nAyse,Sahin\n"
    (sftp_drop / "gidabankasi" / "stk_kizilay_ilce_203203.csv").write_bytes(forged)
    inbox = tmp_path / "inbox"
    assert pull.fetch_ngo_files(inbox) == []
    assert not [p for p in inbox.iterdir()]
    status, reason_code, archived = db.execute(
        """select status, reason_code, archived_path from ingest.files
           where file_name = 'stk_kizilay_ilce_203203.csv' order by file_id desc limit 1""").fetchone()
    assert (status, reason_code) == ("rejected", "wrong_sender")
    assert Path(archived).read_bytes() == forged


def test_a_file_the_loader_has_not_recorded_or_that_changed_stays_on_the_server(sftp_drop, tmp_path, warehouse_url):
    folder = sftp_drop / "kizilay_ilce"
    folder.mkdir()
    (folder / "stk_kizilay_ilce_203204.csv").write_bytes(b"never landed")
    fetched = pull.fetch_ngo_files(tmp_path / "inbox")
    assert [f["name"] for f in fetched] == ["stk_kizilay_ilce_203204.csv"]
    assert pull.mark_processed(fetched) == []  # not recorded by the loader
    from kopru import warehouse
    from kopru.ingest.loader import ingest_file

    with warehouse.connect(autocommit=True) as conn:
        ingest_file(conn, tmp_path / "inbox" / "stk_kizilay_ilce_203204.csv", b"test-key")
    (folder / "stk_kizilay_ilce_203204.csv").write_bytes(b"replaced after the fetch")
    assert pull.mark_processed(fetched) == []  # recorded, but the server's copy is not the one fetched
    assert (folder / "stk_kizilay_ilce_203204.csv").read_bytes() == b"replaced after the fetch"
