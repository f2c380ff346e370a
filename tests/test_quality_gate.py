"""The publication gate with defects planted in a small delivery: the right expectation fails, the gate blocks or
lets through as it should, the marts keep their last good content when blocked, and the ISAS missing-entries list
holds exactly the planted records. Runs on a database of its own, reached through KOPRU_WAREHOUSE_URL."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import psycopg
import pytest
from kopru.quality.gate import QualityGateBlocked, run_gate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gate_db(warehouse_url, tmp_path_factory):
    from kopru import transform, warehouse
    from kopru.generate.sample import generate
    from kopru.ingest.loader import ingest_inbox
    from kopru.ingest.origin import MARKER_FILE

    with warehouse.scratch_database("kopru_gate", warehouse_url) as url:
        inbox = tmp_path_factory.mktemp("gate") / "inbox"
        generate("İstanbul/Sultangazi", 120, date(2024, 1, 1), date(2024, 12, 31), 5, inbox)
        # the planted defects are handcrafted deliveries: the district stands in for a real one, without the marker
        (inbox / MARKER_FILE).unlink()
        ingest_inbox(inbox)
        transform.build(marts_schema="marts_build")
        first = run_gate()
        yield {"url": url, "first": first, "inbox": inbox}


def rebuild():
    """The defects below are planted in raw tables behind the loader's back, which no incremental build can see:
    a full refresh, as after any manual change of raw rows."""
    from kopru import transform

    transform.build(marts_schema="marts_build", full_refresh=True)


def published_indicators(url):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select indicator_code, period, actual_value from marts.fct_indicator_period order by 1, 2").fetchall()


def last_publication(url):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select status, failed_suites from quality.publications order by publication_id desc limit 1").fetchone()


def test_a_clean_build_is_published_and_warnings_do_not_block(gate_db):
    first = gate_db["first"]
    assert first.status == "published" and first.critical_failures == 0
    assert first.warnings >= 1  # the ISAS target (95%) is missed by the sample's ~89%: reported, not blocking
    # Data Docs: the site, with a page for every suite's result of the run
    docs = Path(first.data_docs)
    suites = {p.stem for p in (ROOT / "expectations/gx/expectations").glob("*.json")}
    rendered = {p.relative_to(docs.parent / "validations").parts[0] for p in (docs.parent / "validations").rglob("*.html")}
    assert docs.exists() and suites <= rendered
    with psycopg.connect(gate_db["url"]) as conn:
        schemas = {s for (s,) in conn.execute("select nspname from pg_namespace").fetchall()}
    assert "marts" in schemas and "marts_build" in schemas
    assert "marts_carry" not in schemas  # the copies made beside the checkpoint were moved into marts_build
    with psycopg.connect(gate_db["url"]) as conn:
        # the next build starts from the published incremental marts, not from nothing
        assert conn.execute(
            "select (select count(*) from marts.fct_aid) = (select count(*) from marts_build.fct_aid)").fetchone()[0]
        # with the published table's indexes (the watermark's, which each build's lookups use)
        copied_indexes = conn.execute(
            """select count(*) from pg_indexes where schemaname = 'marts_build' and tablename = 'fct_aid'
               and indexdef like '%(built_through_file_id)%'""").fetchone()[0]
        assert copied_indexes == 1
        # and its grants: a build that had to grant them again would do so inside the model's transaction, beside
        # autovacuum analysing the fresh copy (a deadlock, decisions.md 2026-12-04)
        ungranted = conn.execute(
            """select array_agg(tablename order by tablename) from pg_tables
               where schemaname = 'marts_build' and not has_table_privilege('bi_reader', schemaname || '.' || tablename,
                                                                           'select')""").fetchone()[0]
        assert ungranted is None


@pytest.mark.parametrize("defect, suite", [
    ("delete from marts_build.fct_indicator_period where indicator_code = 'PG4.1.3' and period = '2024-H1'",
     "marts__indicators_per_period"),
    ("update marts_build.fct_indicator_period set actual_value = 120 where indicator_code = 'PG4.1.2'",
     "marts__indicator_rates"),
])
def test_a_critical_defect_blocks_and_marts_keep_the_last_good_build(gate_db, defect, suite):
    before = published_indicators(gate_db["url"])
    rebuild()
    with psycopg.connect(gate_db["url"], autocommit=True) as conn:
        conn.execute(defect)
    with pytest.raises(QualityGateBlocked, match=suite):
        run_gate()
    assert published_indicators(gate_db["url"]) == before
    status, failed = last_publication(gate_db["url"])
    assert status == "blocked" and failed == suite
    with psycopg.connect(gate_db["url"]) as conn:
        # the copies made for a publication that did not happen are gone
        assert conn.execute("select count(*) from pg_namespace where nspname = 'marts_carry'").fetchone()[0] == 0


def test_missing_and_rejected_receipts_are_listed_exactly(gate_db):
    url = gate_db["url"]
    with psycopg.connect(url, autocommit=True) as conn:
        before = dict(conn.execute(
            "select aid_id, status from quality.isas_missing_entries").fetchall())
        entered = [a for (a,) in conn.execute(
            """select aid_id from intermediate.int_aid_isas_status where isas_status = 'entered'
               order by aid_id limit 8""").fetchall()]
        not_entered, rejected = entered[:5], entered[5:]
        conn.execute("delete from raw.devlet__isas_alindi where belediye_yardim_no = any(%s)", (not_entered,))
        conn.execute("""update raw.devlet__isas_alindi set durum = 'red', red_nedeni = 'Eksik adres bilgisi'
                        where belediye_yardim_no = any(%s)""", (rejected,))
    rebuild()
    decision = run_gate()
    assert decision.status == "published"
    with psycopg.connect(url) as conn:
        after = {aid: (status, reason) for aid, status, reason in conn.execute(
            "select aid_id, status, rejection_reason from quality.isas_missing_entries").fetchall()}
        ages = conn.execute("select min(days_since_delivery) >= 0 from quality.isas_missing_entries").fetchone()[0]
    planted = {a: ("not_entered", None) for a in not_entered} | {a: ("rejected", "Eksik adres bilgisi") for a in rejected}
    assert set(after) - set(before) == set(planted)
    assert {a: after[a] for a in planted} == planted
    assert ages


def test_too_many_missing_receipts_block_publication(gate_db):
    url = gate_db["url"]
    before = published_indicators(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table public.kept_receipts as select * from raw.devlet__isas_alindi")
        conn.execute("delete from raw.devlet__isas_alindi where right(belediye_yardim_no, 1) in ('0', '1', '2', '3', '4')")
    try:
        rebuild()
        with pytest.raises(QualityGateBlocked, match="isas__completeness"):
            run_gate()
        assert published_indicators(url) == before
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("truncate raw.devlet__isas_alindi")
            conn.execute("insert into raw.devlet__isas_alindi select * from public.kept_receipts")
            conn.execute("drop table public.kept_receipts")


def test_a_collapsed_feed_blocks_publication(gate_db, tmp_path):
    """Last on purpose: it leaves a collapsed latest delivery behind."""
    from kopru.ingest.loader import ingest_inbox

    header = "aid_id,household_id,person_id,aid_type,channel,amount_try,quantity,delivered_on,isas_ref,isas_entered_on"
    (tmp_path / "belediye_aid_20250201.csv").write_text(header + "\nYC1,H0000001,,gida,ayni,500.00,1,2025-01-15,,\n")
    ingest_inbox(tmp_path)
    before = published_indicators(gate_db["url"])
    rebuild()
    with pytest.raises(QualityGateBlocked) as blocked:
        run_gate()
    assert published_indicators(gate_db["url"]) == before
    # why, in a few lines: the feed, the delivery and the numbers
    assert re.search(r"belediye/aid 2025-02-01: 1 records where about [0-9,]+ were expected", str(blocked.value))
    assert len(str(blocked.value).splitlines()) <= 6


def test_an_operator_can_accept_a_blocked_build_and_the_reports_say_so(gate_db, tmp_path):
    """After the collapse above: `kopru publish --override --reason` publishes the blocked build, and
    quality.publications and the izleme report keep who, when, why and which failures were accepted."""
    import os
    import subprocess
    import sys

    def publish(*args):
        return subprocess.run([sys.executable, "-m", "kopru.cli", "publish", *args], capture_output=True,
                              text=True, env=os.environ, timeout=300)

    done = publish("--override")
    assert done.returncode == 2 and "needs its reason" in done.stderr
    done = publish("--override", "--reason", "Ocak teslimatı eksik geldi; müdürlük onayıyla yayımlandı",
                   "--by", "veri.ekibi")
    assert done.returncode == 0, done.stderr
    with psycopg.connect(gate_db["url"]) as conn:
        status, failed, by, reason = conn.execute(
            """select status, failed_suites, override_by, override_reason from quality.publications
               order by publication_id desc limit 1""").fetchone()
    assert (status, failed, by) == ("published", "feeds__delivery_volume", "veri.ekibi")
    assert reason.startswith("Ocak teslimatı eksik geldi")
    done = publish("--override", "--reason", "again")
    assert done.returncode == 2 and "not a blocked build" in done.stderr
    from kopru.orchestration.tasks import write_report

    written = write_report("2024-H2", str(tmp_path))
    html = Path(written["html"]).read_text(encoding="utf-8")
    assert "KALİTE DENETİMİNE RAĞMEN YAYIMLANDI" in html and "Ocak teslimatı eksik geldi" in html and "veri.ekibi" in html


def test_expected_files_that_never_came_are_listed_and_never_block(gate_db, monkeypatch):
    """Against the contract's cadence (daily snapshots) the sample's monthly files leave days missing: the build was
    published all the same. Against the sample's own cadence, exactly the NGO months without a file are listed."""
    from kopru.quality.cadence import write_missing_deliveries

    first = gate_db["first"]
    assert first.status == "published" and first.missing_deliveries > 0
    monkeypatch.setenv("KOPRU_DELIVERY_CADENCE", str(ROOT / "plugins/kopru/data/delivery_cadence_sample.yml"))
    with psycopg.connect(gate_db["url"]) as conn:
        listed = write_missing_deliveries(conn)
        rows = conn.execute("select source, feed, period_start, status from quality.missing_deliveries").fetchall()
        names = [n for (n,) in conn.execute("select file_name from ingest.files where status <> 'rejected'")]
        conn.rollback()
    months: dict[str, set[tuple[int, int]]] = {}
    for name in names:
        if match := re.fullmatch(r"stk_([a-z0-9_]+)_(\d{4})(\d{2})\.\w+", name):
            months.setdefault(match[1], set()).add((int(match[2]), int(match[3])))
    # the latest delivery is 2025-01-01: December ended less than the two days' grace before it
    expected = {("stk", ngo, date(y, m, 1), "missing")
                for ngo, seen in months.items()
                for y, m in ((2024, m) for m in range(1, 12)) if (y, m) >= min(seen) and (y, m) not in seen}
    assert listed == len(rows) and set(rows) == expected


def test_the_committed_suites_are_generated_from_the_current_contract_and_levels():
    """Suites are files in git, written by `kopru check --define`; a change to the contract, the levels or the
    queries must come with the regenerated files."""
    import yaml
    from kopru import config
    from kopru.ingest.contract import FEEDS
    from kopru.quality.gx import DELIVERY_VOLUME_QUERY, FEED_BATCHES_SCHEMA, MISSING_DELIVERIES_QUERY, feed_batch

    document = yaml.safe_load((config.EXPECTATIONS_DIR / "gx" / "great_expectations.yml").read_text())
    assets = {name: asset for name, asset in document["fluent_datasources"]["warehouse"]["assets"].items()}
    assert assets["delivery_volume"]["query"] == DELIVERY_VOLUME_QUERY
    assert assets["missing_deliveries"]["query"] == MISSING_DELIVERIES_QUERY
    for spec in FEEDS.values():
        # a feed suite reads its batch (gx.feed_batches, made from the contract before each checkpoint)
        asset = assets[feed_batch(spec)]
        assert (asset["type"], asset["table_name"], asset["schema_name"]) == ("table", feed_batch(spec), FEED_BATCHES_SCHEMA)
