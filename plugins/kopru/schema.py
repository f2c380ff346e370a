"""The warehouse schema Köprü's code owns (dbt owns staging to marts): who may log in, which role owns which schema,
the tables of ingest, raw, privacy and quality, and the grants between them.

Tables, functions and their changes are Alembic migrations (`kopru/migrations/versions/`), applied in order by
`upgrade()` and recorded in VERSION_TABLE; nothing else in the package creates or alters a table. Roles, schemas,
extensions, grants and the reason codes are made again on every bootstrap instead: they are idempotent, and a
changed password or a new reason code must take effect on the next start. A new column or table is a new revision
(`alembic revision` with `script_location = plugins/kopru/migrations`), never an edit of a shipped one.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from kopru import config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE_SCHEMA = "public"
VERSION_TABLE = "kopru_schema_version"
BI_ROLE = "bi_reader"

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


class UnversionedWarehouse(RuntimeError):
    """The warehouse holds Köprü's tables but no schema version: made by a build from before the migrations."""


def bootstrap(admin_url: str) -> None:
    """Bring the warehouse at `admin_url` (the administrator's login) to this code's schema. Idempotent; one
    bootstrap at a time (the ingest DAGs start side by side and each bootstraps: concurrent catalog updates
    collide with "tuple concurrently updated")."""
    import tenacity
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=NullPool)
    try:
        tenacity.Retrying(stop=tenacity.stop_after_attempt(BOOTSTRAP_ATTEMPTS),
                          wait=tenacity.wait_incrementing(start=0.2, increment=0.2),
                          retry=tenacity.retry_if_exception(_collided_with_a_catalog_update),
                          reraise=True)(_bootstrap_once, engine)
    finally:
        engine.dispose()


def _bootstrap_once(engine) -> None:
    from sqlalchemy.exc import DBAPIError

    try:
        _bootstrap(engine)
    except DBAPIError as error:
        raise error.orig from None  # psycopg's own error, as the rest of the package meets it


# The grants update catalogue rows (a table's privileges) that other sessions may update at the same moment — the
# loader of another ingest DAG analysing its raw table, a build granting on its marts: PostgreSQL then refuses the
# later update with "tuple concurrently updated" instead of waiting. Seen once with two Celery workers, where the
# failed task waited five minutes for its retry. The bootstrap is idempotent: it is run again, a few times.
BOOTSTRAP_ATTEMPTS = 5


def _collided_with_a_catalog_update(error) -> bool:
    return isinstance(error, psycopg.errors.InternalError_) and "tuple concurrently updated" in str(error)


def _bootstrap(engine) -> None:
    with engine.begin() as connection:
        conn = connection.connection.driver_connection
        conn.execute("select pg_advisory_xact_lock(hashtext('kopru.bootstrap'))")
        _refuse_unversioned(conn)
        _create_roles(conn)
        _create_schemas(conn)
        # Record linkage in SQL (trigram similarity, Levenshtein); both ship with PostgreSQL's contrib.
        conn.execute("create extension if not exists pg_trgm")
        conn.execute("create extension if not exists fuzzystrmatch")
        upgrade(connection)
        _seed_reason_codes(conn)
        logins = {role: sql.Identifier(config.role_login(role)) for role in config.WAREHOUSE_ROLES}
        for grant in GRANTS:
            conn.execute(sql.SQL(grant).format(**logins, bi_reader=sql.Identifier(BI_ROLE)))


def _alembic_config(connection=None):
    from alembic.config import Config

    alembic_config = Config()
    alembic_config.set_main_option("script_location", str(MIGRATIONS))
    alembic_config.attributes["connection"] = connection
    return alembic_config


def upgrade(connection) -> None:
    """Apply the migrations this warehouse has not had, in order, on `connection` (SQLAlchemy, in a transaction)."""
    from alembic import command

    command.upgrade(_alembic_config(connection), "head")


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(conn) -> str | None:
    """The revision the warehouse is at (a psycopg connection), None before the first bootstrap."""
    table = sql.Identifier(VERSION_TABLE_SCHEMA, VERSION_TABLE)
    if conn.execute("select to_regclass(%s) is null", (f"{VERSION_TABLE_SCHEMA}.{VERSION_TABLE}",)).fetchone()[0]:
        return None
    row = conn.execute(sql.SQL("select version_num from {}").format(table)).fetchone()
    return row[0] if row else None


def _refuse_unversioned(conn) -> None:
    if current_revision(conn) is None and conn.execute("select to_regclass('ingest.files') is not null").fetchone()[0]:
        raise UnversionedWarehouse(
            "this warehouse was made by a Köprü from before versioned migrations and cannot be upgraded in place: "
            "start from a new KOPRU_HOME (or an empty database) and load the deliveries again")


# Used by the migrations: DDL as PostgreSQL text (multi-statement, `%` and `:` as they are) on the migration's
# connection, made by the role that owns its schema, so that the owner is right from the start.
def run(statements: str) -> None:
    from alembic import op

    op.get_bind().connection.driver_connection.execute(statements)


def as_owner(role: str | None) -> None:
    """Make the migration's next objects as `role` (config.WAREHOUSE_ROLES), or as the administrator (None)."""
    from alembic import op

    conn = op.get_bind().connection.driver_connection
    if role is None:
        conn.execute("reset role")
    else:
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(config.role_login(role))))


def _create_schemas(conn) -> None:
    for role, schemas in SCHEMA_OWNERS.items():
        for schema in schemas:
            conn.execute(sql.SQL("create schema if not exists {} authorization {}").format(
                sql.Identifier(schema), sql.Identifier(config.role_login(role))))
    # BI sees marts only: nothing in the other schemas is granted, and PUBLIC loses its default rights.
    conn.execute("revoke create on schema public from public")
    for schemas in SCHEMA_OWNERS.values():
        for schema in schemas:
            conn.execute(sql.SQL("revoke all on schema {} from public").format(sql.Identifier(schema)))


def _seed_reason_codes(conn) -> None:
    from kopru.ingest.manifest import REASON_CODES

    with conn.cursor() as cur:
        cur.executemany(
            """insert into ingest.reason_codes (reason_code, level, description) values (%s, %s, %s)
               on conflict (reason_code) do update set level = excluded.level, description = excluded.description""",
            [(code, level, text) for code, (level, text) in REASON_CODES.items()],
        )


def _create_roles(conn) -> None:
    """The BI role (no login: a BI tool's own login is a member), and a login per config.WAREHOUSE_ROLES, none a
    superuser, with its password (set again each time, so a changed secret takes effect)."""
    ensure_role(conn, BI_ROLE)  # created without login: NOLOGIN is CREATE ROLE's default
    database = conn.execute("select current_database()").fetchone()[0]
    for role in config.WAREHOUSE_ROLES:
        login = config.role_login(role)
        ensure_role(conn, login)
        make_login(conn, login, config.role_password(role))
        conn.execute(sql.SQL("grant connect, temporary on database {} to {}").format(
            sql.Identifier(database), sql.Identifier(login)))
    # dbt creates the schema it builds the marts into; the gate makes the copies it hands back beside it
    conn.execute(sql.SQL("grant create on database {} to {}").format(
        sql.Identifier(database), sql.Identifier(config.role_login("transformer"))))


def ensure_role(conn, name: str) -> None:
    """Create role `name` unless it exists (CREATE ROLE has no IF NOT EXISTS)."""
    conn.execute(sql.SQL("""
        do $$ begin
          if not exists (select from pg_roles where rolname = {name}) then
            create role {role};
          end if;
        end $$""").format(name=sql.Literal(name), role=sql.Identifier(name)))


def make_login(conn, name: str, password: str, connection_limit: int = -1) -> None:
    """Role `name` logs in with `password` and may do nothing beyond its grants: no superuser, no new databases
    or roles, no replication, no bypassing row security."""
    conn.execute(sql.SQL("alter role {} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls"
                         " connection limit {} password {}").format(sql.Identifier(name), sql.Literal(connection_limit),
                                                                     sql.Literal(password)))
