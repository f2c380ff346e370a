"""Incremental marts give what a full rebuild gives: a first build over most of a year, then the rest of the
deliveries (new days, late ISAS receipts, corrected re-sends that supersede earlier files), then an incremental
build, compared row for row with a full refresh of the same warehouse."""

from __future__ import annotations

import shutil
from datetime import date

import psycopg
import pytest
from kopru.ingest.contract import parse_file_name

INCREMENTAL_MODELS = {
    "marts_build.fct_aid": "aid_key",
    "marts_build.fct_card_transaction": "transaction_key",
    "staging.int_ngo_rows__linked": "ngo_row_id",
    "intermediate.int_aid_isas_status": "aid_id",
    "marts_build.fct_household_half_year": "household_key, half_year",
    "intermediate.int_household_state_half_year": "household_key, half_year",
    "intermediate.int_indicator_actuals": "indicator_code, period",
    "marts_build.fct_need_assessment": "assessment_key",
    "marts_build.fct_aid_mahalle_half_year": "half_year, mahalle_code, aid_type",
    "marts_build.rpt_aid_by_institution_period": "period, institution",
    "intermediate.int_municipal_spend_per_period": "period",
    "intermediate.int_plan_card_figures_per_period": "period, measure_code",
    "marts_build.fct_graduation_half_year": "half_year",
    "marts_build.rpt_targeting_mahalle_period": "period, mahalle_code",
    "intermediate.int_risk_counts_per_half_year": "half_year",
    "marts_build.fct_targeting_half_year": "half_year, mahalle_code",
}


LATER_PART_FROM = date(2024, 5, 1)


def _load_in_two_parts(url: str, folder) -> dict:
    """A year and a half of deliveries: up to May 2024, build; then the rest (a corrected re-send of May's aid among
    them), build again (incremental); keep those tables, and build everything from scratch into `marts_full`."""
    from kopru import transform
    from kopru.generate.sample import generate
    from kopru.ingest.loader import ingest_inbox

    delivered = folder / "inbox"
    generate("İstanbul/Sultangazi", 150, date(2023, 7, 1), date(2024, 12, 31), 11, delivered)
    first, later = folder / "first", folder / "later"
    cut = LATER_PART_FROM
    for path in delivered.rglob("*"):
        if path.is_file() and not path.name.startswith("."):  # the generator's marker stays behind: a real district
            # a corrected re-send (resent/) arrives the day after the file it corrects, in the same part
            early = parse_file_name(path.name).delivered_on < cut
            target = (first if early else later) / path.relative_to(delivered)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    ingest_inbox(first)
    transform.build(marts_schema="marts_build")
    with psycopg.connect(url) as conn:
        first_rows = conn.execute("select count(*) from marts_build.fct_aid").fetchone()[0]
    results = ingest_inbox(later)
    transform.build(marts_schema="marts_build")
    with psycopg.connect(url, autocommit=True) as conn:
        for table in INCREMENTAL_MODELS:
            conn.execute(f"create table public.{table.split('.')[1]} as select * from {table}")
    transform.build(marts_schema="marts_full", full_refresh=True)
    return {"url": url, "first_rows": first_rows, "later": results}


@pytest.fixture(scope="module")
def incremental_db(warehouse_url, tmp_path_factory):
    from kopru import warehouse

    with warehouse.scratch_database("kopru_incremental", warehouse_url) as url:
        yield _load_in_two_parts(url, tmp_path_factory.mktemp("incremental"))


def _rows(conn, table: str, key: str) -> list[tuple]:
    columns = [c for (c,) in conn.execute(
        """select column_name from information_schema.columns
           where table_schema || '.' || table_name = %s and column_name <> 'built_through_file_id'
           order by ordinal_position""", (table,)).fetchall()]
    return conn.execute(f"select {', '.join(columns)} from {table} order by {key}").fetchall()


def test_the_later_deliveries_change_existing_keys(incremental_db):
    """The case is not trivial: corrections superseded earlier files and late receipts changed earlier records."""
    statuses = {r.status for r in incremental_db["later"]}
    assert "loaded" in statuses
    with psycopg.connect(incremental_db["url"]) as conn:
        superseded_late = conn.execute(
            """select count(*) from ingest.files old join ingest.files new on new.file_id = old.superseded_by
               where old.status = 'superseded' and new.file_id > (
                   select min(file_id) from ingest.files where delivered_on >= %s)""", (LATER_PART_FROM,)
        ).fetchone()[0]
        watermarks = conn.execute(
            "select count(distinct built_through_file_id) from marts_build.fct_aid").fetchone()[0]
        total = conn.execute("select count(*) from marts_build.fct_aid").fetchone()[0]
        # the half-years before the earliest change were kept, the later ones redone
        kept, redone = conn.execute(
            """select count(distinct half_year) filter (where built_through_file_id < max_id),
                      count(distinct half_year) filter (where built_through_file_id = max_id)
               from marts_build.fct_household_half_year,
                    (select max(built_through_file_id) max_id from marts_build.fct_household_half_year) m"""
        ).fetchone()
    assert superseded_late >= 1
    assert watermarks == 2 and incremental_db["first_rows"] < total
    assert kept >= 1 and redone >= 1


@pytest.mark.parametrize("table, period", [
    ("fct_aid_mahalle_half_year", "half_year"), ("rpt_aid_by_institution_period", "period"),
    ("int_municipal_spend_per_period", "period"), ("int_plan_card_figures_per_period", "period"),
    ("rpt_targeting_mahalle_period", "period"), ("int_risk_counts_per_half_year", "half_year"),
    ("fct_targeting_half_year", "half_year")])
def test_the_report_marts_keep_the_periods_before_the_change(incremental_db, table, period):
    """The later build redid the periods from 2024 on (its earliest change: May's corrected aid) and kept 2023's
    (read from the copy taken before the full refresh). fct_graduation_half_year, which judges an ending by the year
    after it, redid 2023 too here."""
    with psycopg.connect(incremental_db["url"]) as conn:
        watermarks = dict(conn.execute(
            f"""select {period}, max(built_through_file_id) from public.{table} group by {period}""").fetchall())
    latest = max(watermarks.values())
    kept = {p for p, built in watermarks.items() if built < latest}
    assert "2023-H2" in kept and kept == {p for p in watermarks if p.startswith("2023")}
    assert {p for p, built in watermarks.items() if built == latest} >= {"2024-H1", "2024-H2"}


@pytest.mark.parametrize("table, key", sorted(INCREMENTAL_MODELS.items()))
def test_an_incremental_build_equals_a_full_refresh(incremental_db, table, key):
    full = table.replace("marts_build.", "marts_full.")
    kept = "public." + table.split(".")[1]
    with psycopg.connect(incremental_db["url"]) as conn:
        incremental, rebuilt = _rows(conn, kept, key), _rows(conn, full, key)
    assert incremental and incremental == rebuilt


def test_row_tests_judge_what_the_build_wrote_and_keys_stay_unique_across_the_table(incremental_db):
    """dbt's row tests on an incremental fact read the rows the latest build wrote (`__written_by_this_build__`):
    a bad value there fails them. A duplicate key anywhere is refused by the table's unique index."""
    from kopru.transform import DbtFailed, run_dbt

    written = """select aid_key from marts_build.fct_aid
                 where built_through_file_id = (select max(built_through_file_id) from marts_build.fct_aid)
                 order by aid_key limit 1"""
    with psycopg.connect(incremental_db["url"], autocommit=True) as conn:
        (key, aid_type) = conn.execute(
            f"select aid_key, aid_type from marts_build.fct_aid where aid_key = ({written})").fetchone()
        conn.execute("update marts_build.fct_aid set aid_type = 'not_in_the_catalogue' where aid_key = %s", (key,))
        try:
            with pytest.raises(DbtFailed, match="relationships_fct_aid"):
                run_dbt(["test", "--select", "fct_aid", "--vars", '{"marts_schema": "marts_build"}'])
        finally:
            conn.execute("update marts_build.fct_aid set aid_type = %s where aid_key = %s", (aid_type, key))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into marts_build.fct_aid select * from marts_build.fct_aid where aid_key = %s", (key,))
        # the key's test (unique_by_index) asks the catalogue for that index, and fails the build without it
        (index, definition) = conn.execute(
            """select indexrelid::regclass::text, pg_get_indexdef(indexrelid) from pg_index
               where indrelid = 'marts_build.fct_aid'::regclass and indisunique""").fetchone()
        conn.execute(f"drop index {index}")
        try:
            with pytest.raises(DbtFailed, match="unique_by_index_fct_aid_aid_key"):
                run_dbt(["test", "--select", "fct_aid", "--vars", '{"marts_schema": "marts_build"}'])
        finally:
            conn.execute(definition)
    run_dbt(["test", "--select", "fct_aid", "--vars", '{"marts_schema": "marts_build"}'])


def test_a_build_that_wrote_nothing_into_a_fact_does_not_judge_its_earlier_rows_again(incremental_db):
    """The build passes its watermark: a row an earlier build wrote (and tested) is judged again only by a build that
    rewrote it, not by every build after a day that brought the fact nothing (which once re-tested the whole first
    load)."""
    import json

    from kopru.transform import DbtFailed, run_dbt

    with psycopg.connect(incremental_db["url"], autocommit=True) as conn:
        (key, aid_type, built) = conn.execute(
            """select aid_key, aid_type, built_through_file_id from marts_build.fct_aid
               order by built_through_file_id, aid_key limit 1""").fetchone()
        latest = conn.execute("select max(built_through_file_id) from marts_build.fct_aid").fetchone()[0]
        conn.execute("update marts_build.fct_aid set aid_type = 'not_in_the_catalogue' where aid_key = %s", (key,))
        try:
            def test_as_build(watermark: int) -> None:
                run_dbt(["test", "--select", "fct_aid",
                         "--vars", json.dumps({"marts_schema": "marts_build", "built_through_file_id": watermark})])

            test_as_build(latest + 1)  # a later build that wrote no aid
            with pytest.raises(DbtFailed, match="relationships_fct_aid"):
                test_as_build(built)  # the build that wrote the row
        finally:
            conn.execute("update marts_build.fct_aid set aid_type = %s where aid_key = %s", (aid_type, key))


def test_the_unit_tests_pass(incremental_db):
    """The scheduled build leaves dbt's unit tests out (kopru.orchestration.tasks.build_warehouse); they run here, every one of
    them: the indicators, the achievement formula, the three-refusal rule."""
    import yaml
    from kopru import config
    from kopru.transform import run_dbt

    defined = [test["name"] for path in (config.DBT_PROJECT_DIR / "models").rglob("*.yml")
               for test in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("unit_tests", [])]
    summary = run_dbt(["test", "--select", "test_type:unit", "--vars", '{"marts_schema": "marts_build"}'])
    assert len(defined) >= 5 and summary["statuses"]["pass"] == len(defined)
    assert not set(summary["statuses"]) & {"fail", "error", "skipped"}
