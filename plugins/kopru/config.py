"""Every setting Köprü reads from the environment, read here and nowhere else.

KOPRU_HOME           local state: embedded PostgreSQL, Airflow home, development secrets, outputs
                     (default: `.kopru/` in the checkout, git-ignored).
KOPRU_WAREHOUSE_URL  an external PostgreSQL; when unset, the embedded server under KOPRU_HOME is used. Its user and
                     password are the administrator's, needed only to bootstrap (roles, schemas), back up and
                     restore: every component logs in as a role of its own (WAREHOUSE_ROLES), none a superuser.
KOPRU_LOADER_PASSWORD, KOPRU_TRANSFORMER_PASSWORD, KOPRU_GATE_PASSWORD, KOPRU_REPORTER_PASSWORD
                     the passwords of those roles; when unset, development secrets under KOPRU_HOME/secrets.
KOPRU_NGO_MAPPINGS  folder of partner-NGO mapping files (default: the project's plugins/kopru/data/ngo_mappings).
KOPRU_PSEUDONYM_KEY  the secret of the keyed pseudonyms (HMAC-SHA256); when unset, a development key is
                     generated once into KOPRU_HOME/secrets and reused.
KOPRU_INBOX          where the ingest DAGs look for delivered files (default: KOPRU_HOME/inbox).
KOPRU_ALLOWED_PATHS  folders (separated by `:`) besides KOPRU_HOME and the inbox that inbox and report paths
                     given as options or DAG params may lie in; any other path is refused.
KOPRU_BI_PASSWORD    the password of `bi_reader_login`, the BI tools' login (`kopru warehouse bi-url`); when unset, a
                     development secret.
KOPRU_REPORT_RECIPIENTS  the directorate's addresses the reports are mailed to (comma-separated).
KOPRU_ALERT_RECIPIENTS   the data team's addresses a failed Airflow task is mailed to (comma-separated).
KOPRU_AIRFLOW_PORT   the port `make airflow` serves Airflow on, on 127.0.0.1 (default 8080).
KOPRU_RETENTION      how long delivered data is kept (default: plugins/kopru/data/retention.yml).
KOPRU_INGEST_LIMITS  the limits a delivered file is held to before it is read (default:
                     plugins/kopru/data/ingest_limits.yml): per-feed size caps, the XLSX reader's bounds.
KOPRU_DELIVERY_CADENCE  when each feed is expected, for the list of late or missing deliveries (default:
                     plugins/kopru/data/delivery_cadence.yml; the generated sample's: delivery_cadence_sample.yml).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = PROJECT_ROOT / "dags"
PLUGINS_FOLDER = PROJECT_ROOT / "plugins"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
PACKAGE_DATA = Path(__file__).resolve().parent / "data"

WAREHOUSE_DATABASE = "kopru"


def kopru_home() -> Path:
    """Local state, personal data included (the warehouse's files, archives, reports): its owner's only. When the
    embedded server runs under an account of its own (we are root), that account may pass through (0711), never
    list it."""
    home = Path(os.environ.get("KOPRU_HOME") or PROJECT_ROOT / ".kopru").resolve()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = 0o711 if os.geteuid() == 0 else 0o700
    if home.stat().st_uid == os.geteuid() and home.stat().st_mode & 0o777 != mode:
        home.chmod(mode)
    return home


def inbox_dir() -> Path:
    return Path(os.environ.get("KOPRU_INBOX") or kopru_home() / "inbox")


def allowed_roots() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("KOPRU_ALLOWED_PATHS", "").split(os.pathsep) if p.strip()]
    return [root.resolve() for root in (kopru_home(), inbox_dir(), *extra)]


class PathNotAllowed(Exception):
    """A path given as an option or a DAG param that lies outside the folders Köprü may read and write."""


def confined_path(path: str | Path, what: str) -> Path:
    """`path` resolved (symbolic links and `..` followed), if it lies inside an allowed root; PathNotAllowed
    otherwise: an option or a DAG param must not make Köprü read or write elsewhere (`../../etc`)."""
    resolved = Path(path).resolve()
    roots = allowed_roots()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise PathNotAllowed(f"the {what} {str(path)!r} is outside the folders Köprü may use "
                             f"({', '.join(map(str, roots))}); add its folder to KOPRU_ALLOWED_PATHS to allow it")
    return resolved


def _addresses(variable: str) -> list[str]:
    return [a.strip() for a in os.environ.get(variable, "").split(",") if a.strip()]


def report_recipients() -> list[str]:
    """KOPRU_REPORT_RECIPIENTS: the directorate's addresses the reports are mailed to (comma-separated)."""
    return _addresses("KOPRU_REPORT_RECIPIENTS")


def airflow_port() -> int:
    """KOPRU_AIRFLOW_PORT: where `make airflow` serves Airflow's UI and API, on 127.0.0.1 (default 8080)."""
    return int(os.environ.get("KOPRU_AIRFLOW_PORT") or 8080)


def alert_recipients() -> list[str]:
    """KOPRU_ALERT_RECIPIENTS: the data team's addresses a failed task is mailed to (comma-separated)."""
    return _addresses("KOPRU_ALERT_RECIPIENTS")


def ngo_mappings_dir() -> Path:
    return Path(os.environ.get("KOPRU_NGO_MAPPINGS") or PACKAGE_DATA / "ngo_mappings")


def external_warehouse_url() -> str | None:
    return os.environ.get("KOPRU_WAREHOUSE_URL") or None


# Least privilege: each part of the pipeline logs in as its own role (created by warehouse.bootstrap), none a
# superuser. loader: ingest, raw, privacy (it owns them); transformer: dbt (reads raw and the manifest, owns staging to
# marts); gate: the publication gate (owns quality; a member of transformer, since swapping the marts schemas is their
# owner's right); reporter: the reports (reads marts, seeds, quality).
WAREHOUSE_ROLES = ("loader", "transformer", "gate", "reporter")


def role_login(role: str) -> str:
    if role not in WAREHOUSE_ROLES:
        raise ValueError(f"no warehouse role {role!r}")
    return f"kopru_{role}"


def role_password(role: str) -> str:
    return os.environ.get(f"KOPRU_{role.upper()}_PASSWORD") or development_secret(f"warehouse_password_{role}")


def bi_password() -> str:
    return os.environ.get("KOPRU_BI_PASSWORD") or development_secret("bi_reader_password")


def airflow_home() -> Path:
    path = kopru_home() / "airflow"
    path.mkdir(parents=True, exist_ok=True)
    return path


def outputs_dir() -> Path:
    path = kopru_home() / "outputs"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def data_docs_dir() -> Path:
    """Great Expectations' Data Docs site (the quality gate's pages)."""
    return outputs_dir() / "data_docs"


def gx_validations_dir() -> Path:
    """Great Expectations' store of validation results, pruned to the runs the Data Docs list."""
    return kopru_home() / "gx_validations"


def archive_dir() -> Path:
    path = kopru_home() / "archive"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _secret_file(name: str) -> Path:
    folder = kopru_home() / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / name


def development_secret(name: str, nbytes: int = 32) -> str:
    """A secret generated once into KOPRU_HOME/secrets (never committed) and reused. Processes starting together
    agree on one: the secret is written whole to a file of its own and then linked into place, which fails for all
    but the first (a reader never sees a partly written or empty secret)."""
    path = _secret_file(name)
    if not path.exists():
        candidate = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(nbytes))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass  # another process was first: its secret is the one
        finally:
            candidate.unlink()
    secret = path.read_text().strip()
    if not secret:
        raise SettingError(f"the secret in {path} is empty: remove the file and run again, or set it")
    return secret


class SettingError(Exception):
    """A setting that cannot be used as it is; the message says which and what to do."""


def pseudonym_key() -> bytes:
    key = os.environ.get("KOPRU_PSEUDONYM_KEY")
    if key is not None and not key.strip():
        raise SettingError("KOPRU_PSEUDONYM_KEY is set but empty: set the warehouse's key, or unset it for a "
                           "development key")
    return (key or development_secret("pseudonym_key")).encode()


def ingest_workers() -> int:
    """Feeds the loader lands side by side (one connection each): KOPRU_INGEST_WORKERS, else the machine's cores."""
    return max(1, int(os.environ.get("KOPRU_INGEST_WORKERS") or os.cpu_count() or 1))


MB = 1 << 20


def _for_feed(values: dict, source: str, feed: str | None, what: str):
    """The value of the most specific key naming the feed: `source/feed`, then `source`, then `default`."""
    for key in (f"{source}/{feed}", source, "default"):
        if key in values:
            return values[key]
    raise KeyError(f"{what} names no `default`")


@dataclass(frozen=True)
class WorkbookLimits:
    max_entries: int
    max_uncompressed_bytes: int
    max_compression_ratio: float
    max_cells: int
    reader_memory_bytes: int
    reader_seconds: float


@dataclass(frozen=True)
class IngestLimits:
    max_file_mb: dict[str, float]  # `default`, `<source>` or `<source>/<feed>` → MB
    workbook: WorkbookLimits

    def max_file_bytes(self, source: str, feed: str | None) -> int:
        """The cap of the most specific key that names the feed."""
        return int(_for_feed(self.max_file_mb, source, feed, "ingest limits' max_file_mb") * MB)


def ingest_limits() -> IngestLimits:
    return _ingest_limits(os.environ.get("KOPRU_INGEST_LIMITS") or str(PACKAGE_DATA / "ingest_limits.yml"))


@cache
def _ingest_limits(path: str) -> IngestLimits:
    import yaml

    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    workbook = document["workbook"]
    return IngestLimits(
        max_file_mb={str(k): float(v) for k, v in document["max_file_mb"].items()},
        workbook=WorkbookLimits(
            max_entries=int(workbook["max_entries"]),
            max_uncompressed_bytes=int(float(workbook["max_uncompressed_mb"]) * MB),
            max_compression_ratio=float(workbook["max_compression_ratio"]),
            max_cells=int(workbook["max_cells"]),
            reader_memory_bytes=int(float(workbook["reader_memory_mb"]) * MB),
            reader_seconds=float(workbook["reader_seconds"]),
        ),
    )


@dataclass(frozen=True)
class Retention:
    raw_years: dict[str, float]  # `default`, `<source>` or `<source>/<feed>` → years
    archive_years: float

    def raw_years_of(self, source: str, feed: str) -> float:
        return _for_feed(self.raw_years, source, feed, "retention's raw_years")


CADENCES = ("daily", "monthly", "half_yearly", "none")


@dataclass(frozen=True)
class DeliveryCadence:
    cadence: dict[str, str]  # `default`, `<source>` or `<source>/<feed>` (an NGO: `stk/<ngo_code>`) → a CADENCES value
    grace_days: int

    def of(self, source: str, feed: str) -> str:
        return _for_feed(self.cadence, source, feed, "delivery cadence")


def delivery_cadence() -> DeliveryCadence:
    """When each feed is expected (data/delivery_cadence.yml, or the file KOPRU_DELIVERY_CADENCE names)."""
    import yaml

    path = Path(os.environ.get("KOPRU_DELIVERY_CADENCE") or PACKAGE_DATA / "delivery_cadence.yml")
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    cadence = {str(k): str(v) for k, v in document["cadence"].items()}
    unknown = sorted({v for v in cadence.values() if v not in CADENCES})
    if unknown or "default" not in cadence:
        raise SettingError(f"{path}: every cadence is one of {', '.join(CADENCES)} and `default` is set "
                           f"(found {', '.join(unknown) or 'no default'})")
    return DeliveryCadence(cadence, int(document["grace_days"]))


def retention() -> Retention:
    import yaml

    path = Path(os.environ.get("KOPRU_RETENTION") or PACKAGE_DATA / "retention.yml")
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Retention({str(k): float(v) for k, v in document["raw_years"].items()}, float(document["archive_years"]))
