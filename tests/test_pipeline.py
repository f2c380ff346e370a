"""End to end through Airflow: the sample delivery → ingest DAGs → dbt → GX gate → report, on a database of its
own reached through KOPRU_WAREHOUSE_URL (so the setting is honoured by loaders, dbt, GX and Airflow alike)."""

from __future__ import annotations

import csv
import os
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from kopru import config

PERSONAL_COLUMNS = {"tckn", "head_tckn", "tc_kimlik_no", "first_name", "last_name", "phone", "address_line",
                    "birth_date", "disability_pct", "household_id", "person_id", "kart_no"}


@pytest.fixture(scope="module")
def external_url(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute("drop database if exists kopru_e2e with (force)")
        conn.execute("create database kopru_e2e")
    url = urlunsplit(urlsplit(warehouse_url)._replace(path="/kopru_e2e"))
    os.environ["KOPRU_WAREHOUSE_URL"] = url
    yield url
    os.environ.pop("KOPRU_WAREHOUSE_URL")


@pytest.fixture(scope="module")
def pipeline(external_url, sample_inbox, kopru_home):
    from kopru.orchestration import run_pipeline

    out = kopru_home / "e2e_reports"
    states = run_pipeline(sample_inbox, "2024-H2", out)
    return {"states": dict(states), "out": out}


def test_every_dag_run_succeeds(pipeline):
    assert set(pipeline["states"].values()) == {"success"}


def test_the_setting_reached_every_component(pipeline, external_url):
    from kopru.orchestration import airflow_environment
    from kopru.transform import dbt_environment

    assert config.warehouse_url() == external_url
    assert airflow_environment()["AIRFLOW_CONN_KOPRU_WAREHOUSE"] == external_url
    assert dbt_environment()["KOPRU_WH_DBNAME"] == "kopru_e2e"
    with psycopg.connect(external_url) as conn:
        assert conn.execute("select count(*) from marts.fct_indicator_period").fetchone()[0] > 0
        assert conn.execute("select count(*) from quality.validation_results").fetchone()[0] > 0


def test_families_aided_equals_an_independent_count_from_the_files(pipeline, external_url, sample_inbox):
    households = set()
    for path in sample_inbox.glob("belediye_aid_*.csv"):
        with open(path, encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if "2024-07-01" <= row["delivered_on"] <= "2024-12-31":
                    households.add(row["household_id"])
    with psycopg.connect(external_url) as conn:
        actual = conn.execute(
            "select actual_value from marts.fct_indicator_period where indicator_code = 'PG4.1.1' and period = '2024-H2'"
        ).fetchone()[0]
    assert actual == len(households) > 0


def test_ngo_rows_link_to_families_with_measured_precision_and_recall(pipeline, external_url, kopru_home):
    from kopru.linkage import evaluate

    score = evaluate(kopru_home / "ground_truth" / "stk_rows.csv")
    assert score.linked_by_id > 0 and score.linked_by_name > 0
    assert score.precision >= 0.98 and score.recall >= 0.95, score
    with psycopg.connect(external_url) as conn:
        kept = conn.execute("select precision, recall from quality.linkage_evaluation "
                            "order by evaluated_at desc limit 1").fetchone()
    assert kept == (round(Decimal(score.precision), 4), round(Decimal(score.recall), 4))


def test_aid_from_every_institution_is_in_fct_aid(pipeline, external_url):
    from kopru.ingest.stk import all_mappings

    with psycopg.connect(external_url) as conn:
        institutions = {i for (i,) in conn.execute("select distinct institution from marts.fct_aid").fetchall()}
        methods = dict(conn.execute("select link_method, count(*) from marts.fct_aid group by 1").fetchall())
        unknown_program = conn.execute(
            "select count(*) from marts.fct_aid where institution = 'devlet:sydv' and aid_type = 'diger'").fetchone()[0]
    assert institutions == {"belediye", "devlet:sydv"} | {f"stk:{m.ngo_code}" for m in all_mappings()}
    assert {"municipal_id", "tckn", "name_match", "unlinked"} <= set(methods)
    assert unknown_program > 0  # an unknown SYDV program code becomes `diger`, never a rejection


def test_a_past_half_year_is_reported_with_the_state_it_had_then(pipeline, external_url):
    with psycopg.connect(external_url) as conn:
        reopened = conn.execute(
            """select count(*) from marts.fct_household_half_year earlier
               join marts.fct_household_half_year later using (household_key)
               join marts.dim_household now using (household_key)
               where earlier.half_year = '2023-H2' and earlier.household_status = 'active'
                 and later.half_year = '2024-H2' and later.household_status = 'closed'
                 and now.household_status = 'closed'"""
        ).fetchone()[0]
        targeting = conn.execute(
            "select sum(needy_families), sum(aided_families), max(bridge_rate_pct) from marts.fct_targeting_half_year"
        ).fetchone()
    assert reopened > 0
    assert targeting[0] > 0 and targeting[1] > 0 and 0 < targeting[2] <= 100


def test_every_indicator_in_every_period_and_weights_sum_to_100(pipeline, external_url):
    with psycopg.connect(external_url) as conn:
        per_period = conn.execute(
            "select period, count(*), sum(weight_pct) from marts.fct_indicator_period group by period"
        ).fetchall()
        assert per_period and all(count == 5 and weight == 100 for _, count, weight in per_period)
        assert {"2024-H1", "2024-H2", "2024"} <= {period for period, _, _ in per_period}


def test_marts_carry_no_personal_identifiers_and_bi_reader_sees_only_marts(pipeline, external_url):
    with psycopg.connect(external_url, autocommit=True) as conn:
        columns = {name for (name,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'marts'"
        ).fetchall()}
        assert columns and not (columns & PERSONAL_COLUMNS)
        conn.execute("set role bi_reader")
        assert conn.execute("select count(*) from marts.fct_aid").fetchone()[0] > 0
        for table in ("raw.belediye__persons", "staging.stg_belediye__households", "ingest.files"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table} limit 1")


def test_report_files_are_written(pipeline):
    out = pipeline["out"]
    for suffix in ("pdf", "xlsx", "html"):
        path = out / f"izleme_raporu_2024-H2.{suffix}"
        assert path.exists() and path.stat().st_size > 1000, path
    assert (out / "izleme_raporu_2024-H2.pdf").read_bytes().startswith(b"%PDF")


def test_xlsx_numbers_are_numbers(pipeline, external_url):
    from openpyxl import load_workbook

    sheet = load_workbook(pipeline["out"] / "izleme_raporu_2024-H2.xlsx")["Göstergeler"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    with psycopg.connect(external_url) as conn:
        expected = conn.execute(
            "select actual_value from marts.fct_indicator_period where indicator_code = 'PG4.1.5' and period = '2024-H2'"
        ).fetchone()[0]
    assert isinstance(rows["PG4.1.5"][6], float) and rows["PG4.1.5"][6] == float(expected)


def test_rerunning_the_pipeline_changes_nothing(pipeline, external_url, sample_inbox):
    from kopru.orchestration import run_pipeline

    def snapshot():
        with psycopg.connect(external_url) as conn:
            return (
                conn.execute("select count(*) from raw.belediye__aid").fetchone()[0],
                conn.execute("select indicator_code, period, actual_value from marts.fct_indicator_period "
                             "order by 1, 2").fetchall(),
            )

    before = snapshot()
    run_pipeline(sample_inbox, "2024-H2", pipeline["out"])
    assert snapshot() == before
