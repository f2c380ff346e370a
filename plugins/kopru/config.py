"""Every setting Köprü reads from the environment, read here and nowhere else.

KOPRU_HOME           local state: embedded PostgreSQL, Airflow home, development secrets, outputs
                     (default: `.kopru/` in the checkout, git-ignored).
KOPRU_WAREHOUSE_URL  an external PostgreSQL; when unset, the embedded server under KOPRU_HOME is used.
KOPRU_NGO_MAPPINGS  folder of partner-NGO mapping files (default: the project's plugins/kopru/data/ngo_mappings).
KOPRU_PSEUDONYM_KEY  the secret of the keyed pseudonyms (HMAC-SHA256); when unset, a development key is
                     generated once into KOPRU_HOME/secrets and reused.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = PROJECT_ROOT / "dags"
PLUGINS_FOLDER = PROJECT_ROOT / "plugins"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
PACKAGE_DATA = Path(__file__).resolve().parent / "data"

WAREHOUSE_DATABASE = "kopru"


def kopru_home() -> Path:
    home = Path(os.environ.get("KOPRU_HOME") or PROJECT_ROOT / ".kopru").resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def ngo_mappings_dir() -> Path:
    return Path(os.environ.get("KOPRU_NGO_MAPPINGS") or PACKAGE_DATA / "ngo_mappings")


def external_warehouse_url() -> str | None:
    return os.environ.get("KOPRU_WAREHOUSE_URL") or None


def warehouse_url() -> str:
    """The one warehouse URL every component uses (loaders, dbt, GX, Airflow connection)."""
    external = external_warehouse_url()
    if external:
        return external
    from kopru.warehouse import EmbeddedWarehouse

    return EmbeddedWarehouse(kopru_home()).url()


def airflow_home() -> Path:
    path = kopru_home() / "airflow"
    path.mkdir(parents=True, exist_ok=True)
    return path


def outputs_dir() -> Path:
    path = kopru_home() / "outputs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def archive_dir() -> Path:
    path = kopru_home() / "archive"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_file(name: str) -> Path:
    folder = kopru_home() / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / name


def development_secret(name: str, nbytes: int = 32) -> str:
    """A secret generated once into KOPRU_HOME/secrets (never committed) and reused."""
    path = _secret_file(name)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


def pseudonym_key() -> bytes:
    key = os.environ.get("KOPRU_PSEUDONYM_KEY") or development_secret("pseudonym_key")
    return key.encode()


def ingest_workers() -> int:
    """Feeds the loader lands side by side (one connection each): KOPRU_INGEST_WORKERS, else the machine's cores."""
    return max(1, int(os.environ.get("KOPRU_INGEST_WORKERS") or os.cpu_count() or 1))
