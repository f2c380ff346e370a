"""KVKK erasure on request, played as the data-protection officer would: a family head asks to be forgotten; after
`kopru privacy erase` nothing Köprü holds names them (raw history, quarantine, archived files, published marts),
the audit row holds no ID, and a later delivery of the same people is quarantined as `erased`, not loaded."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date

import pytest


@pytest.fixture(scope="module")
def erased_family(warehouse_url, tmp_path_factory):
    """A small district landed, built and published in a database and KOPRU_HOME of its own; then the head of an
    aided family with an ISAS receipt and an employment referral asks for erasure through the CLI."""
    from kopru import transform, warehouse
    from kopru.generate.sample import generate
    from kopru.ingest.loader import ingest_inbox
    from kopru.quality.gate import BUILD_SCHEMA, run_gate

    home = tmp_path_factory.mktemp("privacy_home")
    saved_home = os.environ["KOPRU_HOME"]
    os.environ["KOPRU_HOME"] = str(home)
    delivered = home / "delivered"
    generate("İstanbul/Sultangazi", 120, date(2024, 1, 1), date(2024, 6, 30), 5, delivered)
    try:
        with warehouse.scratch_database("kopru_privacy", warehouse_url) as url:
            shutil.copytree(delivered, home / "inbox")
            ingest_inbox(home / "inbox", drain=True)
            transform.build(marts_schema=BUILD_SCHEMA, unit_tests=False)
            run_gate()
            with warehouse.connect() as conn:
                tckn, household_id = conn.execute(
                    """select h.head_tckn, h.household_id from raw.belediye__households h
                       where h.head_tckn_status = 'valid' and h._is_current
                         and exists (select from raw.belediye__aid a where a.household_id = h.household_id)
                         and exists (select from raw.belediye__persons p
                                     join raw.belediye__employment_referrals r using (person_id)
                                     where p.household_id = h.household_id)
                       order by h.household_id limit 1""").fetchone()
                household_key = conn.execute(
                    "select household_key from raw.belediye__households where household_id = %s limit 1",
                    (household_id,)).fetchone()[0]
            done = subprocess.run(
                [sys.executable, "-m", "kopru.cli", "privacy", "erase", "--tckn", tckn,
                 "--reason", "KVKK başvurusu 2026/117", "--by", "kvkk.irtibat"],
                capture_output=True, text=True, env=os.environ, timeout=900)
            yield {"url": url, "home": home, "tckn": tckn, "household_id": household_id,
                   "household_key": household_key, "delivered": delivered, "done": done}
    finally:
        os.environ["KOPRU_HOME"] = saved_home


def _mentions(conn, pattern: str) -> list[str]:
    """Tables of raw, ingest, quality, privacy, marts and staging whose rows mention `pattern` anywhere."""
    tables = conn.execute(
        """select table_schema, table_name from information_schema.tables
           where table_schema in ('raw', 'ingest', 'quality', 'privacy', 'marts', 'marts_build', 'staging',
                                  'intermediate', 'snapshots')
             and table_type = 'BASE TABLE'""").fetchall()
    from psycopg import sql

    return [f"{schema}.{table}" for schema, table in tables if conn.execute(
        sql.SQL("select exists (select from {} t where t::text ~ %s)").format(sql.Identifier(schema, table)),
        (pattern,)).fetchone()[0]]


def test_the_erasure_succeeds_and_publishes(erased_family):
    done = erased_family["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"published": true' in done.stdout


def test_nothing_in_the_warehouse_names_them_any_more(erased_family):
    import psycopg

    with psycopg.connect(erased_family["url"]) as conn:
        assert _mentions(conn, erased_family["tckn"]) == []
        assert _mentions(conn, rf"(^|[^0-9A-Za-z]){erased_family['household_id']}([^0-9A-Za-z]|$)") == []
        assert _mentions(conn, erased_family["household_key"]) == ["privacy.tombstones"]
        raw_rows = sum(conn.execute(f"select count(*) from {table}").fetchone()[0] for (table,) in conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall())
        loaded, erased = conn.execute("select sum(rows_loaded), sum(rows_erased) from ingest.files").fetchone()
        assert erased > 0 and raw_rows == loaded - erased


def test_no_archived_file_names_them(erased_family):
    pattern = re.compile(rf"(^|[^0-9A-Za-z])({erased_family['tckn']}|{erased_family['household_id']})"
                         rf"([^0-9A-Za-z]|$)".encode())
    archived = [p for p in (erased_family["home"] / "archive").rglob("*") if p.is_file()]
    assert archived
    from kopru.ingest.stk import read_xlsx_rows

    for path in archived:
        if path.suffix == ".xlsx":
            text = repr(read_xlsx_rows(path.read_bytes())).encode()
        else:
            text = path.read_bytes()
        assert not pattern.search(text), path


def test_the_audit_row_says_who_when_and_why_without_the_id(erased_family):
    import psycopg

    with psycopg.connect(erased_family["url"]) as conn:
        row = conn.execute("select requested_by, reason, persons, households, published, erasures::text "
                           "from privacy.erasures erasures").fetchone()
    assert row[:5] == ("kvkk.irtibat", "KVKK başvurusu 2026/117", row[2], 1, True) and row[2] >= 1
    assert erased_family["tckn"] not in row[5]


def test_a_later_delivery_of_them_is_quarantined_as_erased(erased_family):
    """The municipality's files delivered again on a later day (the case-management system still holds the
    family): every row of the family is quarantined `erased`, without its content; every other row is a duplicate
    of what is held."""
    import psycopg
    from kopru.ingest.loader import ingest_inbox

    redelivery = erased_family["home"] / "redelivery"
    redelivery.mkdir()
    latest = {re.sub(r"_[0-9]{8}\.csv$", "", p.name): p for p in sorted(erased_family["delivered"].glob("belediye_*"))}
    for feed, path in latest.items():
        # A trailing blank line makes new bytes (the same bytes would be a duplicate file, whatever their name).
        (redelivery / f"{feed}_20240815.csv").write_bytes(path.read_bytes() + b"\n")
    os.environ["KOPRU_HOME"], saved = str(erased_family["home"]), os.environ["KOPRU_HOME"]
    os.environ["KOPRU_WAREHOUSE_URL"] = erased_family["url"]
    try:
        results = ingest_inbox(redelivery)
    finally:
        os.environ["KOPRU_HOME"] = saved
        del os.environ["KOPRU_WAREHOUSE_URL"]
    assert {r.status for r in results} == {"loaded"}
    with psycopg.connect(erased_family["url"]) as conn:
        erased = conn.execute(
            """select count(*), count(*) filter (where raw_record = '(erased on request)') from ingest.quarantine
               where reason_code = 'erased' and file_id = any(%s)""", ([r.file_id for r in results],)).fetchone()
        assert erased[0] > 0 and erased[0] == erased[1]
        assert _mentions(conn, erased_family["tckn"]) == []


def test_an_erasure_request_without_an_id_or_a_reason_is_refused(erased_family):
    for args, sentence in ((["--tckn", "123", "--reason", "x"], "11 digits"),
                           (["--tckn", "12345678901", "--reason", " "], "needs its reason")):
        done = subprocess.run([sys.executable, "-m", "kopru.cli", "privacy", "erase", *args],
                              capture_output=True, text=True, env={**os.environ, "KOPRU_WAREHOUSE_URL":
                                                                   erased_family["url"]}, timeout=120)
        assert done.returncode == 2 and sentence in done.stderr and "Traceback" not in done.stderr


def test_retention_purges_what_is_older_than_its_feed_allows(warehouse_url, tmp_path, monkeypatch):
    """Half a year of deliveries; retention as of a day ten years and two months later: the files of the first two
    months leave raw history and quarantine (ten years), the card transactions all go (five years), archived files
    all go (two years), the rest stays, and the run is recorded."""
    import psycopg
    from kopru import warehouse
    from kopru.generate.sample import generate
    from kopru.ingest.loader import ingest_inbox
    from kopru.privacy import apply_retention

    monkeypatch.setenv("KOPRU_HOME", str(tmp_path / "home"))
    inbox = tmp_path / "home" / "inbox"
    generate("İstanbul/Sultangazi", 40, date(2024, 1, 1), date(2024, 6, 30), 9, inbox)
    with warehouse.scratch_database("kopru_retention", warehouse_url) as url:
        ingest_inbox(inbox, drain=True)
        assert any((tmp_path / "home" / "archive" / "processed").rglob("*.csv"))
        result = apply_retention(date(2034, 3, 1), rebuild=False)
        with psycopg.connect(url) as conn:
            old = conn.execute("""select count(*) from raw.belediye__aid r join ingest.files f on f.file_id = r._file_id
                                  where f.delivered_on < date '2024-03-01'""").fetchone()[0]
            kept = conn.execute("select count(*) from raw.belediye__aid").fetchone()[0]
            cards = conn.execute("select count(*) from raw.sosyalkart__transactions").fetchone()[0]
            quarantined_old = conn.execute(
                """select count(*) from ingest.quarantine q join ingest.files f using (file_id)
                   where f.delivered_on < date '2024-03-01'""").fetchone()[0]
            raw_rows = sum(conn.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in conn.execute(
                "select table_schema || '.' || table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall())
            loaded, erased = conn.execute("select sum(rows_loaded), sum(rows_erased) from ingest.files").fetchone()
            runs = conn.execute("select as_of, rows_purged from privacy.retention_runs").fetchall()
    assert old == 0 and kept > 0 and cards == 0 and quarantined_old == 0
    assert raw_rows == loaded - erased and erased > 0
    assert result["rows_purged"]["raw.sosyalkart__transactions"] > 0 and result["archived_files_purged"] > 0
    assert not any(p.is_file() for p in (tmp_path / "home" / "archive").rglob("*"))
    assert runs == [(date(2034, 3, 1), result["rows_purged"])]
