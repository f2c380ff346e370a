"""Pulling deliveries into the inbox, as the design card says ("DAGs pull data"), through Airflow connections.

- State feeds (`devlet`) come from a web service: Airflow HTTP connection `devlet_api` (host = base URL, password =
  bearer token). The contract names the feeds and their keys but not the service, so we fix its shape here:
  `GET <base>/<feed>?date=YYYY-MM-DD&page=N` answers `{"items": [ {camelCase keys…} ], "next_page": N+1 | null}`.
  Every page of a day is saved as one JSON Lines file, `devlet_<feed>_<YYYYMMDD>.jsonl`, the name the contract gives.
  Transient failures (connection errors, 429 and 5xx) are retried with exponential back-off.
- NGO files (`stk`) are fetched from an SFTP drop: Airflow SFTP connection `ngo_sftp` (extra `remote_path`, default
  `/`), one folder per NGO named by its code, each writable by that NGO's account only. A fetched file is moved to
  its folder's `processed/` only once the loader has recorded it in ingest.files, matched by its SHA-256.

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


def fetch_ngo_files(inbox: Path, conn_id: str = NGO_SFTP_CONN_ID) -> list[dict]:
    """Copy the NGOs' new files from the SFTP drop into the inbox. Each NGO delivers into a folder of its own
    (`<remote_path>/<ngo_code>/`, the only folder its account can write), so the folder says who sent a file: a file
    whose name claims another NGO is not fetched into the inbox but recorded as `rejected` (`wrong_sender`) with
    its bytes archived. Returns, for each fetched file, its folder, name and SHA-256 (names and hashes only: safe
    for XCom), which `mark_processed` holds the server's copy to."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from kopru import warehouse
    from kopru.ingest import contract, loader
    from kopru.ingest.stk import all_mappings

    hook = SFTPHook(ssh_conn_id=conn_id)
    remote = hook.get_connection(conn_id).extra_dejson.get("remote_path", "/").rstrip("/")
    ngo_codes = {mapping.ngo_code for mapping in all_mappings()}
    inbox.mkdir(parents=True, exist_ok=True)
    fetched: list[dict] = []
    with hook.get_managed_conn() as sftp, warehouse.connect(autocommit=True, role="loader") as conn:
        folders = sorted(name for name in sftp.listdir(remote or "/") if name in ngo_codes)
        for folder in folders:
            for name in sorted(sftp.listdir(f"{remote}/{folder}")):
                if not name.startswith("stk_"):
                    continue  # `processed/`, and anything that is no delivery
                partial = inbox / f".{name}.part"
                sftp.get(f"{remote}/{folder}/{name}", str(partial))
                claimed = contract.parse_file_name(name)
                if claimed is None or claimed.ngo != folder:
                    loader.reject_delivery(conn, partial, name, "wrong_sender",
                                           f"delivered into {folder}'s folder, but the name claims another sender")
                    partial.unlink()
                    continue
                sha256, _ = loader.file_sha256(partial)
                os.replace(partial, inbox / name)
                fetched.append({"folder": folder, "name": name, "sha256": sha256})
    log.info("fetched %d NGO file(s) from the SFTP drop", len(fetched))
    return fetched


def mark_processed(fetched: list[dict], conn_id: str = NGO_SFTP_CONN_ID) -> list[str]:
    """Move fetched files to their folder's `processed/` on the server, but only those the loader recorded in
    ingest.files, and only while the server's copy is still the one fetched (the same SHA-256): a file replaced on
    the server after it was fetched stays, and is fetched again next run."""
    import hashlib

    from airflow.providers.sftp.hooks.sftp import SFTPHook

    from kopru import warehouse

    if not fetched:
        return []
    with warehouse.connect(autocommit=True, role="loader") as conn:
        recorded = {sha for (sha,) in conn.execute(
            "select distinct sha256 from ingest.files where sha256 = any(%s)",
            ([f["sha256"] for f in fetched],)).fetchall()}
    hook = SFTPHook(ssh_conn_id=conn_id)
    remote = hook.get_connection(conn_id).extra_dejson.get("remote_path", "/").rstrip("/")
    moved = []
    with hook.get_managed_conn() as sftp:
        for delivery in fetched:
            if delivery["sha256"] not in recorded:
                continue
            folder, name = f"{remote}/{delivery['folder']}", delivery["name"]
            with sftp.open(f"{folder}/{name}", "rb") as handle:
                if hashlib.sha256(handle.read()).hexdigest() != delivery["sha256"]:
                    log.warning("%s changed on the server after it was fetched; left for the next run", name)
                    continue
            if PROCESSED_FOLDER not in sftp.listdir(folder):
                sftp.mkdir(f"{folder}/{PROCESSED_FOLDER}")
            target = f"{folder}/{PROCESSED_FOLDER}/{name}"
            try:
                sftp.remove(target)  # a re-sent file of the same name replaces the processed one
            except OSError:
                pass
            sftp.rename(f"{folder}/{name}", target)
            moved.append(name)
    log.info("moved %d of %d fetched NGO file(s) to %s/", len(moved), len(fetched), PROCESSED_FOLDER)
    return moved
