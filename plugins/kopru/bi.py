"""A ready dashboard on a real BI tool: Apache Superset, in a venv of its own under $KOPRU_HOME/superset (its pins
clash with Airflow's), its metadata in SQLite beside it, connected to the warehouse through the read-only BI login
(`kopru warehouse bi-url`), with the "Köprü — H4.1" dashboard imported from the files of
plugins/kopru/data/superset/bundle (Superset's import format; the database URL is written in when the ZIP is made,
never kept in the repository). `make bi` runs `kopru bi`: install once, configure, import, serve on 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from kopru import config

SUPERSET_FILES = config.PACKAGE_DATA / "superset"
BUNDLE = SUPERSET_FILES / "bundle"
DASHBOARD_TITLE = "Köprü — H4.1"
ADMIN = "admin"


class BiToolFailed(RuntimeError):
    """A step of setting Superset up failed; the message says which and where its output is."""


def home() -> Path:
    return config.kopru_home() / "superset"


def _bin(name: str) -> Path:
    return home() / "venv" / "bin" / name


def _secret(name: str) -> str:
    """A secret of Superset's (its session key, the admin password), made once and kept 0600 under secrets/."""
    folder = config.kopru_home() / "secrets"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"superset_{name}"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def admin_password() -> str:
    return _secret("admin_password")


def environment() -> dict[str, str]:
    return {**os.environ, "SUPERSET_CONFIG_PATH": str(home() / "superset_config.py"),
            "SUPERSET_HOME": str(home()), "FLASK_APP": "superset", "PYTHONWARNINGS": "ignore"}


def _run(step: str, args: list[str], log: Path) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(args)}\n")
        out.flush()
        done = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, env=environment(), check=False)
    if done.returncode != 0:
        raise BiToolFailed(f"Superset's {step} failed (exit {done.returncode}); its output is in {log}")


def install(log: Path) -> bool:
    """The venv with the pinned Superset, unless it is already there; whether it was installed now."""
    if _bin("superset").exists():
        return False
    home().mkdir(parents=True, exist_ok=True, mode=0o700)
    _run("venv", [sys.executable, "-m", "venv", str(home() / "venv")], log)
    _run("pip", [str(_bin("pip")), "install", "--quiet", "--upgrade", "pip", "wheel"], log)
    _run("install", [str(_bin("pip")), "install", "--quiet", "-r", str(SUPERSET_FILES / "requirements.txt"),
                     "-c", str(SUPERSET_FILES / "constraints.txt")], log)
    return True


def configure(log: Path) -> None:
    """Superset's config, its metadata database brought up to date, the admin, the default roles."""
    settings = home() / "superset_config.py"
    settings.write_text(
        "# written by kopru bi\n"
        f"SECRET_KEY = {_secret('secret_key')!r}\n"
        f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{home() / 'superset.db'}'\n"
        "SUPERSET_WEBSERVER_ADDRESS = '127.0.0.1'\n"
        "# the API is used by scripts and tests with a bearer token, not a browser form\n"
        "WTF_CSRF_ENABLED = False\n"
        "FEATURE_FLAGS = {}\n", encoding="utf-8")
    settings.chmod(0o600)
    _run("db upgrade", [str(_bin("superset")), "db", "upgrade"], log)
    _run("admin", [str(_bin("superset")), "fab", "create-admin", "--username", ADMIN, "--firstname", "Köprü",
                   "--lastname", "BI", "--email", "bi@kopru.invalid", "--password", admin_password()], log)
    _run("init", [str(_bin("superset")), "init"], log)


def bundle(bi_url: str, out: Path) -> Path:
    """The dashboard's import ZIP: the repository's files, the database URL written in (psycopg2's dialect)."""
    url = bi_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(BUNDLE.rglob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            if path.parent.name == "databases":
                text = text.replace("{bi_url}", url)
            archive.writestr(f"kopru_bundle/{path.relative_to(BUNDLE)}", text)
    out.chmod(0o600)
    return out


def import_dashboard(bi_url: str, log: Path) -> None:
    archive = bundle(bi_url, home() / "kopru_dashboard.zip")
    try:
        _run("import", [str(_bin("superset")), "import-dashboards", "-p", str(archive), "-u", ADMIN], log)
    finally:
        archive.unlink(missing_ok=True)  # it holds the BI login's password


def serve(port: int, log: Path) -> subprocess.Popen:
    """Superset's web server on 127.0.0.1:`port` (gunicorn), in a session of its own; returns once it answers."""
    import urllib.request

    out = log.open("a", encoding="utf-8")
    process = subprocess.Popen(
        [str(_bin("gunicorn")), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "120",
         "superset.app:create_app()"], stdout=out, stderr=subprocess.STDOUT, env=environment(),
        start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BiToolFailed(f"Superset's web server stopped (exit {process.returncode}); its output is in {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(1)
    process.terminate()
    raise BiToolFailed(f"Superset did not answer on 127.0.0.1:{port} within 3 minutes; its output is in {log}")


def set_up(bi_url: str, log: Path) -> bool:
    """Install (once), configure and import; whether Superset was installed now."""
    installed = install(log)
    configure(log)
    import_dashboard(bi_url, log)
    return installed


def _api(port: int, path: str, token: str | None = None, body: dict | None = None) -> dict:
    import json
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def _query_of(params: dict) -> dict:
    """A chart's query as the chart data API takes it, from the chart's saved form data: its columns (raw mode) or
    its groups and metrics, its SQL filters, order and row limit."""
    where = " and ".join(f"({f['sqlExpression']})" for f in params.get("adhoc_filters", [])
                         if f.get("expressionType") == "SQL" and f.get("clause") == "WHERE")
    query: dict = {"filters": [], "extras": {"where": where} if where else {},
                   "row_limit": params.get("row_limit", 1000)}
    if params.get("query_mode") == "raw":
        query["columns"] = params["all_columns"]
    else:
        query["columns"] = [params["x_axis"]] if params.get("x_axis") else []
        query["columns"] += params.get("groupby", [])
        query["metrics"] = params.get("metrics", [])
    return query


def login(port: int) -> str:
    """An API token of Superset's admin."""
    return _api(port, "/api/v1/security/login",
                body={"username": ADMIN, "password": admin_password(), "provider": "db", "refresh": False})[
        "access_token"]


def chart_rows(port: int) -> dict[str, int]:
    """Every chart of the Köprü dashboard, its query run through Superset's chart data API (so through the
    database connection's BI login): the rows each returned."""
    import json

    token = login(port)
    dashboards = _api(port, "/api/v1/dashboard/?q=(page_size:100)", token)["result"]
    dashboard = next(d for d in dashboards if d["dashboard_title"] == DASHBOARD_TITLE)
    charts = _api(port, f"/api/v1/dashboard/{dashboard['id']}/charts", token)["result"]
    rows = {}
    for chart in charts:
        params = json.loads(chart["form_data"]) if isinstance(chart["form_data"], str) else chart["form_data"]
        detail = _api(port, f"/api/v1/chart/{chart['id']}", token)["result"]
        answer = _api(port, "/api/v1/chart/data", token, {
            "datasource": {"id": detail["datasource_id"], "type": "table"},
            "queries": [_query_of(params)], "result_format": "json", "result_type": "full"})
        rows[chart["slice_name"]] = answer["result"][0]["rowcount"]
    return rows
