"""The warehouse schema has one owner (kopru.schema and its Alembic migrations), and the package no import cycle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "plugins" / "kopru"


def _module_imports() -> dict[str, set[str]]:
    """Each module of the package → the package's modules it imports, at top level or inside a function."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "data" in parts or "migrations" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                graph[name] |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                if base in modules:
                    graph[name].add(base)
                graph[name] |= {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules}
    return graph


def test_the_package_has_no_import_cycle():
    graph = _module_imports()
    assert {"kopru.config", "kopru.warehouse", "kopru.schema", "kopru.ingest.loader"} <= graph.keys()
    cycles = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                cycles.append(path[path.index(imported):] + [imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
    assert graph["kopru.config"] == set(), "config reads settings and imports nothing of the package"


RUNTIME_MIGRATION = re.compile(r"create table if not exists|add column|do \$\$|drop table (?!if exists \{)", re.I)


def test_no_table_is_made_or_altered_outside_the_migrations():
    """Tables change by migration only; what runtime code may still make are objects that follow runtime state (the
    gate's schema copies and views, a benchmark's scratch tables)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts or "data" in path.parts or path.name == "schema.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if RUNTIME_MIGRATION.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []


def _table_columns(db, table: str) -> list[tuple[str, str]]:
    """(name, type with its modifiers) of a table's columns, in order."""
    return db.execute(
        """select attname, format_type(atttypid, atttypmod) from pg_attribute
           where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum""", (table,)).fetchall()


def test_the_warehouse_is_at_the_latest_revision_and_its_raw_tables_follow_the_contract(db):
    """A contract change without a migration fails here: the raw tables a fresh warehouse gets are the migrations',
    and the loader writes the contract's columns."""
    from kopru import schema
    from kopru.ingest.contract import FEEDS
    from kopru.ingest.loader import raw_columns

    assert schema.current_revision(db) == schema.head_revision()
    load_columns = [("_loaded_at", "timestamp with time zone"), ("_is_current", "boolean"),
                    ("_delivered_text_hash", "text"), ("_is_absent", "boolean")]
    for spec in FEEDS.values():
        columns = _table_columns(db, spec.raw_table)
        expected = [(name, {"timestamp": "timestamp without time zone"}.get(pg_type, pg_type))
                    for name, pg_type in raw_columns(spec)] + load_columns
        assert columns == expected, f"{spec.raw_table} differs from the contract: add a migration"
        owner = db.execute("select tableowner from pg_tables where schemaname || '.' || tablename = %s",
                           (spec.raw_table,)).fetchone()[0]
        assert owner == "kopru_loader"
    owners = dict(db.execute("select tablename, tableowner from pg_tables where schemaname = 'quality'").fetchall())
    assert owners["publications"] == owners["validation_results"] == "kopru_gate"


def test_the_feed_suites_batches_have_the_columns_their_queries_fill(db):
    """The batches are the migrations' tables, filled by queries made from the contract (gx.feed_batches): a check
    added to the contract without a migration fails here, not at the gate."""
    from kopru.quality import gx

    with db.transaction():
        gx.list_unpublished_files(db)
        batches = {name: db.execute(f"select * from ({query}) batch limit 0").description
                   for name, query in gx.feed_batches().items()}
    for name, filled in batches.items():
        table = _table_columns(db, f"{gx.FEED_BATCHES_SCHEMA}.{name}")
        types = dict(db.execute("select oid, format_type(oid, null) from pg_type where oid = any(%s)",
                                ([column.type_code for column in filled],)).fetchall())
        assert [column_name for column_name, _ in table] == [column.name for column in filled], name
        assert [pg_type.split("(")[0] for _, pg_type in table] == [types[column.type_code] for column in filled], name
        persistence = db.execute("select relpersistence from pg_class where oid = %s::regclass",
                                 (f"{gx.FEED_BATCHES_SCHEMA}.{name}",)).fetchone()[0]
        assert persistence == "u", f"{name}: a batch is filled again by every gate run, so it is unlogged"


def test_bootstrap_again_changes_nothing_and_an_unversioned_warehouse_is_refused(warehouse_url, db):
    import psycopg
    from kopru import schema, warehouse

    def catalogue():
        return db.execute(
            """select n.nspname, c.relname, c.relkind, r.rolname from pg_class c
               join pg_namespace n on n.oid = c.relnamespace join pg_roles r on r.oid = c.relowner
               where n.nspname in ('ingest', 'raw', 'privacy', 'quality') order by 1, 2""").fetchall()

    before = catalogue()
    warehouse.bootstrap()
    assert catalogue() == before
    assert db.execute("select count(*) from ingest.reason_codes").fetchone()[0] > 20

    with warehouse.scratch_database("kopru_unversioned", warehouse_url) as scratch:
        with psycopg.connect(scratch, autocommit=True) as conn:
            conn.execute(f"drop table {schema.VERSION_TABLE_SCHEMA}.{schema.VERSION_TABLE}")
        with pytest.raises(schema.UnversionedWarehouse, match="from before versioned migrations"):
            warehouse.bootstrap()
        from kopru.cli import known_failure

        with pytest.raises(schema.UnversionedWarehouse) as refused:
            warehouse.bootstrap()
        assert known_failure(refused.value).startswith("this warehouse was made by a Köprü")


def test_every_mart_says_where_a_distributed_warehouse_puts_it():
    """docs/scale.md: on Citus, a family's rows live on one node (distributed by household_key) and the small
    tables are copied to every node (reference tables). Each mart says which, in its meta, and a distributed one
    has the column it is distributed by."""
    import yaml

    marts = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "marts"
    declared = {}
    for path in marts.glob("*/_*__models.yml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            citus = model.get("config", {}).get("meta", {}).get("citus", {})
            columns = {column["name"] for column in model.get("columns", [])}
            if "distribution_column" in citus:
                assert citus["distribution_column"] in columns, model["name"]
            else:
                assert citus == {"table_type": "reference"}, model["name"]
            declared[model["name"]] = citus
    assert set(declared) == {path.stem for path in marts.glob("*/*.sql")}
    assert declared["fct_aid"] == {"distribution_column": "household_key"}


def test_settings_are_read_in_config_only():
    """kopru.config is the one place a KOPRU_ setting is read (other modules may set one for a child process)."""
    readers = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "config.py" or "data" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            named = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args \
                    and node.func.attr in ("get", "getenv", "pop") and isinstance(node.args[0], ast.Constant):
                named = node.args[0].value if node.func.attr != "pop" else None
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) \
                    and isinstance(node.slice, ast.Constant) and "environ" in ast.unparse(node.value):
                named = node.slice.value
            if isinstance(named, str) and named.startswith("KOPRU_"):
                readers.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {named}")
    # scratch_database keeps the URL it replaces, to put it back
    assert [reader for reader in readers if not reader.startswith("warehouse.py")] == []
    assert all(reader.endswith("KOPRU_WAREHOUSE_URL") for reader in readers), readers


def test_an_earlier_warehouses_feed_batches_become_the_migrations_tables(warehouse_url):
    """Builds before revision 0002 made the batches at run time: as views, then as tables of the gate's."""
    import psycopg
    from kopru import schema, warehouse
    from kopru.quality import gx

    with warehouse.scratch_database("kopru_before_0002", warehouse_url) as scratch:
        with psycopg.connect(scratch, autocommit=True) as conn:
            conn.execute("set role kopru_gate")
            conn.execute("drop table quality.unpublished_rows__belediye__aid, quality.unpublished_rows__stk__ids")
            conn.execute("create view quality.unpublished_rows__belediye__aid as select 1::bigint as _file_id")
            conn.execute("create table quality.unpublished_rows__stk__ids as select 1::bigint as _file_id")
            conn.execute("reset role")
            conn.execute(psycopg.sql.SQL("update {} set version_num = '0001'").format(
                psycopg.sql.Identifier(schema.VERSION_TABLE_SCHEMA, schema.VERSION_TABLE)))
        warehouse.bootstrap()
        with psycopg.connect(scratch, autocommit=True) as conn:
            assert schema.current_revision(conn) == schema.head_revision()
            kinds = dict(conn.execute(
                """select c.relname, c.relkind::text || c.relpersistence::text from pg_class c
                   join pg_namespace n on n.oid = c.relnamespace
                   where n.nspname = 'quality' and c.relname like 'unpublished%'""").fetchall())
            assert kinds == {name: "ru" for name in gx.feed_batches()}
            assert conn.execute("select count(*) from quality.unpublished_rows__stk__ids").fetchone()[0] == 0
