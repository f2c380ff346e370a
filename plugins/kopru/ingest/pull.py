"""Pulling deliveries into the inbox, as the design card says ("DAGs pull data"), through Airflow connections.

- State feeds (`devlet`) come from a web service: Airflow HTTP connection `devlet_api` (host = base URL, password =
  bearer token). The contract names the feeds and their keys but not the service, so we fix its shape here:
  `GET <base>/<feed>?date=YYYY-MM-DD&page=N` answers `{"items": [ {camelCase keys…} ], "next_page": N+1 | null}`.
  Every page of a day is saved as one JSON Lines file, `devlet_<feed>_<YYYYMMDD>.jsonl`, the name the contract gives.
  Transient failures (connection errors, 429 and 5xx) are retried with exponential back-off.
- NGO files (`stk`) are fetched from an SFTP drop: Airflow SFTP connection `ngo_sftp` (extra `remote_path`, default
  `/`). A fetched file is moved to `processed/` on the server only once the loader has recorded it in ingest.files.

With no connection configured a pull does nothing, and the DAGs read the local inbox only (what `make demo` does).
Files are written under a temporary dot-name and renamed, so a loader never sees half a file.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path

log = logging.getLogger(__name__)

DEVLET_CONN_ID = "devlet_api"
NGO_SFTP_CONN_ID = "ngo_sftp"
DEVLET_FEEDS = ("sydv_yardim", "isas_alindi", "iskur_teklif")
PROCESSED_FOLDER = "processed"


def connection_configured(conn_id: str) -> bool:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    os.replace(partial, path)


class TransientHttpError(Exception):
    """A response worth asking again for: the service is busy or briefly down."""


def pull_devlet(day: date, inbox: Path, feeds: tuple[str, ...] = DEVLET_FEEDS, conn_id: str = DEVLET_CONN_ID,
                attempts: int = 5, max_wait_seconds: float = 30) -> list[str]:
    """Fetch one day of each state feed into the inbox; returns the file names written (counts only in logs)."""
    import requests
    import tenacity
    from airflow.providers.http.hooks.http import HttpHook

    hook = HttpHook(method="GET", http_conn_id=conn_id)
    token = hook.get_connection(conn_id).password
    headers = {"Accept": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    retry = {
        "wait": tenacity.wait_exponential(multiplier=0.5, max=max_wait_seconds),
        "stop": tenacity.stop_after_attempt(attempts),
        "retry": tenacity.retry_if_exception_type((TransientHttpError, requests.ConnectionError, requests.Timeout)),
        "reraise": True,
    }

    def page(feed: str, number: int) -> dict:
        response = hook.run(f"{feed}", data={"date": day.isoformat(), "page": number}, headers=headers,
                            extra_options={"check_response": False, "timeout": 60})
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientHttpError(f"{feed} page {number}: HTTP {response.status_code}")
        response.raise_for_status()
        return response.json()

    written = []
    inbox.mkdir(parents=True, exist_ok=True)
    for feed in feeds:
        items: list[dict] = []
        number: int | None = 1
        while number is not None:
            body = tenacity.Retrying(**retry)(page, feed, number)
            items += body.get("items", [])
            number = body.get("next_page")
        name = f"devlet_{feed}_{day:%Y%m%d}.jsonl"
        lines = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
        _write_atomically(inbox / name, lines.encode())
        log.info("pulled %s: %d records", name, len(items))
        written.append(name)
    return written


def fetch_ngo_files(inbox: Path, conn_id: str = NGO_SFTP_CONN_ID) -> list[str]:
    """Copy every `stk_*` file of the SFTP drop into the inbox; returns their names. Nothing is moved yet."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    hook = SFTPHook(ssh_conn_id=conn_id)
    remote = hook.get_connection(conn_id).extra_dejson.get("remote_path", "/")
    inbox.mkdir(parents=True, exist_ok=True)
    fetched = []
    with hook.get_managed_conn() as sftp:
        for name in sorted(sftp.listdir(remote)):
            if not name.startswith("stk_"):
                continue
            partial = inbox / f".{name}.part"
            sftp.get(f"{remote.rstrip('/')}/{name}", str(partial))
            os.replace(partial, inbox / name)
            fetched.append(name)
    log.info("fetched %d NGO file(s) from the SFTP drop", len(fetched))
    return fetched


def mark_processed(names: list[str], conn_id: str = NGO_SFTP_CONN_ID) -> list[str]:
    """Move fetched files to `processed/` on the server, but only those the loader recorded in ingest.files."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from kopru import warehouse

    if not names:
        return []
    with warehouse.connect(autocommit=True) as conn:
        recorded = {name for (name,) in conn.execute(
            "select distinct file_name from ingest.files where file_name = any(%s)", (names,)).fetchall()}
    hook = SFTPHook(ssh_conn_id=conn_id)
    remote = hook.get_connection(conn_id).extra_dejson.get("remote_path", "/").rstrip("/")
    moved = []
    with hook.get_managed_conn() as sftp:
        if PROCESSED_FOLDER not in sftp.listdir(remote or "/"):
            sftp.mkdir(f"{remote}/{PROCESSED_FOLDER}")
        for name in names:
            if name in recorded:
                target = f"{remote}/{PROCESSED_FOLDER}/{name}"
                try:
                    sftp.remove(target)  # a re-sent file of the same name replaces the processed one
                except OSError:
                    pass
                sftp.rename(f"{remote}/{name}", target)
                moved.append(name)
    log.info("moved %d of %d fetched NGO file(s) to %s/", len(moved), len(names), PROCESSED_FOLDER)
    return moved
