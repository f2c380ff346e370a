"""The embedded warehouse's lifecycle, in a KOPRU_HOME of its own."""

import os
import stat
import subprocess
import sys

import psycopg
import pytest


def test_embedded_warehouse_starts_stops_and_keeps_its_data(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    home = private / "home"
    env = {**os.environ, "KOPRU_HOME": str(home)}
    env.pop("KOPRU_WAREHOUSE_URL", None)
    kopru = [sys.executable, "-m", "kopru.cli"]

    def run(*args, check=True):
        return subprocess.run([*kopru, *args], env=env, capture_output=True, text=True, check=check)

    assert "warehouse running" in run("warehouse", "start").stdout
    # KOPRU_HOME is its owner's (the server's own account may pass through when we are root, never list it), and
    # the folders above it gain no read permission for others.
    assert stat.S_IMODE(home.stat().st_mode) == (0o711 if os.geteuid() == 0 else 0o700)
    assert stat.S_IMODE(private.stat().st_mode) & 0o077 in (0o000, 0o001)
    assert stat.S_IMODE((home / "secrets").stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in (home / "secrets").iterdir()} == {0o600}
    url = run("warehouse", "url", "--show-password").stdout.strip()
    assert url.startswith("postgresql://kopru:") and "127.0.0.1" in url
    assert "***" in run("warehouse", "url").stdout
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("show server_version").fetchone()[0].startswith("18")
        # text sorted by code point through PostgreSQL's own provider, and its letters still Unicode letters
        assert conn.execute("select datlocprovider, datlocale from pg_database where datname = current_database()"
                            ).fetchone() == ("b", "C.UTF-8")
        assert conn.execute("select lower('ÇĞÖŞÜ'), upper('çğöşü'), 'Z' < 'a', 'a' < 'ç'").fetchone() == (
            "çğöşü", "ÇĞÖŞÜ", True, True)
        schemas = {s for (s,) in conn.execute("select schema_name from information_schema.schemata")}
        assert {"ingest", "raw", "quality"} <= schemas
        conn.execute("create table public.keep_me (x int)")
    status = run("warehouse", "status")
    assert status.returncode == 0 and "builtin C.UTF-8" in status.stdout and "text_order_hint" not in status.stdout
    run("warehouse", "stop")
    assert run("warehouse", "status", check=False).returncode == 1
    run("warehouse", "start")
    url = run("warehouse", "url", "--show-password").stdout.strip()
    with psycopg.connect(url) as conn:
        assert conn.execute("select to_regclass('public.keep_me') is not null").fetchone()[0]
    run("warehouse", "stop")


def test_password_is_required(warehouse_url):
    from urllib.parse import urlsplit

    parts = urlsplit(warehouse_url)
    try:
        psycopg.connect(f"postgresql://kopru:wrong@127.0.0.1:{parts.port}/kopru").close()
    except psycopg.OperationalError as error:
        assert "password" in str(error)
    else:
        raise AssertionError("a wrong password was accepted")


def test_the_embedded_server_runs_with_the_warehouse_settings(warehouse_url):
    from kopru.warehouse import server_settings

    with psycopg.connect(warehouse_url) as conn:
        for name, value in server_settings().items():
            shown = conn.execute(f"show {name}").fetchone()[0]
            assert shown == value, (name, shown, value)


def test_bootstraps_side_by_side_on_a_new_database_all_succeed(warehouse_url, monkeypatch):
    """The four ingest DAGs start together on a new warehouse, and each bootstraps it first."""
    from concurrent.futures import ThreadPoolExecutor

    from kopru import warehouse

    admin = warehouse.with_database(warehouse_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("drop database if exists kopru_bootstrap with (force)")
        conn.execute("create database kopru_bootstrap")
    monkeypatch.setenv("KOPRU_WAREHOUSE_URL", warehouse.with_database(warehouse_url, "kopru_bootstrap"))
    try:
        with ThreadPoolExecutor(4) as pool:
            for outcome in [pool.submit(warehouse.bootstrap) for _ in range(4)]:
                outcome.result()  # raises what a bootstrap raised
        with warehouse.connect() as conn:
            assert conn.execute("select count(*) from ingest.reason_codes").fetchone()[0] > 0
            assert conn.execute("select to_regclass('raw.belediye__aid') is not null").fetchone()[0]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("drop database if exists kopru_bootstrap with (force)")


@pytest.mark.parametrize("attempts", [1, None])
def test_a_bootstrap_meeting_a_concurrent_catalog_update_runs_again(warehouse_url, monkeypatch, attempts):
    """Another session updates a raw table's catalogue row (its privileges) while a bootstrap grants on it: alone, the
    bootstrap fails with "tuple concurrently updated" (attempts=1 shows the collision is real); as deployed, it runs
    again and succeeds — as an ingest task on one of two Celery workers must, instead of waiting for its retry."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from kopru import schema, warehouse

    if attempts:
        monkeypatch.setattr(schema, "BOOTSTRAP_ATTEMPTS", attempts)
    with warehouse.scratch_database("kopru_collision", warehouse_url) as url, ThreadPoolExecutor(1) as pool:
        with psycopg.connect(url) as other:
            other.execute("grant select on raw.belediye__aid to public")  # holds the table's catalogue row
            bootstrapping = pool.submit(warehouse.bootstrap)
            time.sleep(1.5)  # the bootstrap is now waiting on that row
            other.commit()
        error = bootstrapping.exception(timeout=60)
        if attempts == 1:
            assert isinstance(error, psycopg.errors.InternalError_)
            assert "tuple concurrently updated" in str(error)
        else:
            assert error is None
