"""End to end through Airflow: the sample delivery → ingest DAGs → dbt → GX gate → report, on a database of its
own reached through KOPRU_WAREHOUSE_URL (so the setting is honoured by loaders, dbt, GX and Airflow alike)."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from kopru import config, warehouse

PERSONAL_COLUMNS = {"tckn", "head_tckn", "tc_kimlik_no", "first_name", "last_name", "phone", "address_line",
                    "birth_date", "disability_pct", "household_id", "person_id", "kart_no"}


@pytest.fixture(scope="module")
def external_url(warehouse_url):
    from kopru.warehouse import scratch_database

    with scratch_database("kopru_e2e", warehouse_url) as url:
        yield url


def deliver(sample_inbox, inbox):
    """The sample's files delivered (again) into `inbox`: the pipeline drains what it lands."""
    import shutil

    shutil.copytree(sample_inbox, inbox, dirs_exist_ok=True)
    return inbox


@pytest.fixture(scope="module")
def pipeline(external_url, sample_inbox, kopru_home):
    from kopru.orchestration.local_runs import run_pipeline

    out = kopru_home / "e2e_reports"
    inbox = deliver(sample_inbox, kopru_home / "e2e_inbox")
    states = run_pipeline(inbox, "2024-H2", out)
    return {"states": {dag_id: state for dag_id, state, _ in states}, "out": out, "inbox": inbox}


def test_the_inbox_is_drained_into_the_dated_archive(pipeline, sample_inbox, kopru_home):
    from kopru import periods

    # every delivery left; the generator's hidden marker stays (it is not a delivery)
    assert [p.name for p in pipeline["inbox"].rglob("*") if p.is_file()] == [".kopru_generated.json"]
    processed = kopru_home / "archive" / "processed" / periods.local_day().isoformat()
    delivered = {p.name for p in sample_inbox.rglob("*") if p.is_file() and not p.name.startswith(".")}
    archived = {re.sub(r"^[0-9a-f]{12}_", "", p.name) for p in processed.iterdir()}
    rejected = {re.sub(r"^[0-9a-f]{16}_", "", p.name) for p in (kopru_home / "archive").glob("rejected/*")}
    assert delivered <= archived | rejected


def test_every_dag_run_succeeds(pipeline):
    assert set(pipeline["states"].values()) == {"success"}


def test_the_setting_reached_every_component(pipeline, external_url):
    from kopru.orchestration.local_runs import airflow_environment
    from kopru.transform import dbt_environment

    assert warehouse.url() == external_url
    # every component reaches the same database, each with a login of its own
    assert airflow_environment()["AIRFLOW_CONN_KOPRU_WAREHOUSE"] == warehouse.url("reporter")
    assert warehouse.url("reporter").endswith("/kopru_e2e")
    assert dbt_environment()["KOPRU_WH_DBNAME"] == "kopru_e2e"
    assert dbt_environment()["KOPRU_WH_USER"] == "kopru_transformer"
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


def test_the_a4_link_counts_services_still_active_not_only_those_opened(pipeline, external_url):
    """A family in counselling since the last half-year is linked in this one too: the share is recounted here from
    the services and the families' aid, half-year by half-year."""
    with psycopg.connect(external_url) as conn:
        published = dict(conn.execute(
            "select half_year, aid_service_link_pct from marts.fct_risk_monitor_half_year").fetchall())
        recounted = dict(conn.execute(
            """select families.half_year,
                      round(100.0 * count(*) filter (where exists (
                          select 1 from marts.fct_social_service service
                          where service.household_key = families.household_key
                            and service.opened_on <= periods.period_end
                            and (service.closed_on is null or service.closed_on >= periods.period_start)))
                            / count(*), 2)
               from marts.fct_household_half_year families
               join marts.fct_indicator_period periods
                 on periods.period = families.half_year and periods.indicator_code = 'PG4.1.1'
               where families.aiding_institutions > 0
               group by 1""").fetchall())
        ongoing = conn.execute("select count(*) from marts.fct_household_half_year "
                               "where services_active > services_opened").fetchone()[0]
    assert published == recounted
    assert ongoing > 0


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
        # nor the next build's schema, which the gate has not passed (it holds the previous marts after a swap)
        assert not conn.execute(
            """select coalesce(bool_or(has_schema_privilege('bi_reader', nspname, 'usage')), false)
               from pg_namespace where nspname = 'marts_build'"""
        ).fetchone()[0]


SOURCE_RECORD_IDS = {  # raw table: the source's own record ID and the namespace the marts' pseudonym is made in
    "raw.belediye__aid": ("aid_id", "belediye"),
    "raw.belediye__services": ("service_id", "belediye"),
    "raw.belediye__employment_referrals": ("referral_id", "belediye"),
    "raw.belediye__assessments": ("assessment_id", "belediye"),
    "raw.devlet__iskur_teklif": ("teklif_no", "iskur"),
    "raw.devlet__sydv_yardim": ("kayit_no", "sydv"),
    "raw.sosyalkart__transactions": ("islem_no", "sosyalkart"),
}


def test_no_mart_holds_a_source_record_id_in_clear(pipeline, external_url):
    """BI sees a record's pseudonym, never the case system's, İŞKUR's, SYDV's or the card processor's own ID; the
    pseudonym is the one Python computes with the record key (kopru.identity.pseudonym of identity.record_key)."""
    from kopru.identity import pseudonym, record_key
    from psycopg import sql

    with psycopg.connect(external_url, autocommit=True) as conn:
        clear_ids, sampled = set(), {}
        for table, (column, namespace) in SOURCE_RECORD_IDS.items():
            schema, name = table.split(".")
            ids = [i for (i,) in conn.execute(sql.SQL("select distinct {}::text from {}.{}").format(
                sql.Identifier(column), sql.Identifier(schema), sql.Identifier(name))).fetchall()]
            assert ids, table
            clear_ids |= set(ids)
            sampled[table] = (namespace, ids[:3])
        cells = set()
        for table, column in conn.execute(
                """select table_name, column_name from information_schema.columns
                   where table_schema = 'marts' and data_type = 'text'""").fetchall():
            cells |= {v for (v,) in conn.execute(sql.SQL("select distinct {} from marts.{}").format(
                sql.Identifier(column), sql.Identifier(table))).fetchall()}
        assert not cells & clear_ids
        assert not {c for c in cells if c and ":" in c and c.split(":", 1)[1] in clear_ids}
        keys = {v for (v,) in conn.execute(
            """select aid_key from marts.fct_aid union all select service_key from marts.fct_social_service
               union all select referral_key from marts.fct_employment_referral
               union all select assessment_key from marts.fct_need_assessment
               union all select offer_key from marts.fct_job_offer
               union all select transaction_key from marts.fct_card_transaction""").fetchall()}
    key = config.pseudonym_key()
    for table, (namespace, ids) in sampled.items():
        assert {pseudonym(i, record_key(key), namespace) for i in ids} <= keys, table


def families_alike(rows: list[tuple], family_of: list[str]) -> list[int]:
    """For each row of quasi-identifiers, the number of families with a row it could be (k-anonymity with
    suppression: a NULL on either side matches any value)."""
    def compatible(a, b):
        return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))

    return [len({family for other, family in zip(rows, family_of, strict=True) if compatible(row, other)}) for row in rows]


def test_no_family_stands_out_in_the_dimensions(pipeline, external_url):
    """What a neighbour could know (mahalle, size, protection, registration year; a person's sex, age, relation,
    nationality) covers at least 5 families, in the sample's small district too; and no other mart repeats a
    family's exact quasi-identifiers beside its key."""
    with psycopg.connect(external_url) as conn:
        households = conn.execute(
            """select household_key, mahalle_code, household_size_band, protection_status, registered_year,
                      household_size_band is null or registered_year is null
               from marts.dim_household""").fetchall()
        persons = conn.execute(
            "select household_key, sex, age_band, relation, is_foreign_national from marts.dim_person").fetchall()
        stand_out_columns = conn.execute(
            """select table_name, column_name from information_schema.columns
               where table_schema = 'marts' and table_name not in ('dim_household', 'dim_person')
                 and column_name in ('household_size', 'registered_on', 'protection_status')
                 and table_name in (select table_name from information_schema.columns
                                    where table_schema = 'marts' and column_name = 'household_key')""").fetchall()
        mahalle_beside_family = conn.execute(
            """select table_name from information_schema.columns c
               where table_schema = 'marts' and column_name = 'mahalle_code' and table_name <> 'dim_household'
                 and exists (select 1 from information_schema.columns k where k.table_schema = 'marts'
                             and k.table_name = c.table_name and k.column_name = 'household_key')""").fetchall()
    assert len(households) > 100
    assert min(families_alike([h[1:5] for h in households], [h[0] for h in households])) >= 5
    assert min(families_alike([p[1:] for p in persons], [p[0] for p in persons])) >= 5
    # the sample's district is small: detail had to go, and not all of it (the mahalle stays for most families)
    assert any(h[5] for h in households)
    assert sum(1 for h in households if h[1] is not None) > len(households) / 2
    assert not stand_out_columns and not mahalle_beside_family


@pytest.mark.parametrize("role, statement", [
    # each role's work is possible, the rest refused
    ("loader", "select 1 from marts.fct_aid limit 1"),
    ("loader", "delete from quality.publications"),
    ("loader", "create schema intruder"),
    ("transformer", "update ingest.files set status = 'rejected'"),
    ("transformer", "delete from raw.belediye__aid"),
    ("transformer", "delete from privacy.tombstones"),
    ("transformer", "delete from quality.publications"),
    ("gate", "delete from raw.belediye__aid"),
    ("gate", "update ingest.files set status = 'rejected'"),
    ("gate", "select 1 from privacy.erasures"),
    ("reporter", "delete from marts.fct_aid"),
    ("reporter", "select 1 from raw.belediye__persons limit 1"),
    ("reporter", "select 1 from staging.stg_belediye__persons limit 1"),
    ("reporter", "delete from quality.publications"),
    ("reporter", "create table quality.intruder (x int)"),
])
def test_each_role_is_refused_what_is_not_its_work(pipeline, external_url, role, statement):
    with psycopg.connect(warehouse.url(role), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_no_role_the_pipeline_logs_in_as_is_a_superuser_and_each_owns_its_schemas(pipeline, external_url):
    """The pipeline ran (through Airflow) with these logins: the tables are theirs, not the administrator's."""
    with psycopg.connect(external_url) as conn:
        roles = dict(conn.execute(
            """select rolname, rolsuper or rolcreaterole or rolcreatedb or rolbypassrls from pg_roles
               where rolname = any(%s)""", ([config.role_login(r) for r in config.WAREHOUSE_ROLES],)).fetchall())
        owners = dict(conn.execute(
            """select nspname, pg_get_userbyid(nspowner) from pg_namespace
               where nspname in ('ingest', 'raw', 'privacy', 'quality', 'staging', 'intermediate', 'seeds', 'marts',
                                 'marts_build')""").fetchall())
        administrator_owns = conn.execute(
            """select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname in ('ingest', 'raw', 'privacy', 'quality', 'staging', 'intermediate', 'seeds',
                                   'marts', 'marts_build') and c.relowner = (select oid from pg_roles where rolsuper
                                   and rolname = current_user)""").fetchone()[0]
    assert roles == {config.role_login(r): False for r in config.WAREHOUSE_ROLES}
    assert owners == {"ingest": "kopru_loader", "raw": "kopru_loader", "privacy": "kopru_loader",
                      "quality": "kopru_gate", "staging": "kopru_transformer", "intermediate": "kopru_transformer",
                      "seeds": "kopru_transformer", "marts": "kopru_transformer", "marts_build": "kopru_transformer"}
    assert administrator_owns == 0


def test_only_the_warehouse_lifecycle_connects_as_the_administrator():
    """Every connection the pipeline's code opens names its role; the administrator's login is for bootstrap,
    backup, restore, status and the benchmarks' scratch databases."""
    import ast

    allowed = {"warehouse.py", "schema.py", "bench.py", "standalone.py"}
    offenders = []
    for path in (Path(__file__).resolve().parents[1] / "plugins" / "kopru").rglob("*.py"):
        if path.name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("connect", "url") \
                    and not any(k.arg == "role" for k in node.keywords) and not node.args \
                    and getattr(node.func.value, "id", "") == "warehouse":
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders


def test_the_bi_url_reads_the_described_marts_and_nothing_else(pipeline, external_url):
    """`kopru warehouse bi-url`: a login in bi_reader; the marts carry their docs as comments; indicators and
    periods have names a chart can use; the achievement has a chart-safe column."""
    from kopru import warehouse

    url = warehouse.bi_url()
    assert url.split("@")[0].startswith("postgresql://bi_reader_login:") and url.endswith("/kopru_e2e")
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("show statement_timeout").fetchone()[0] == "2min"
        names = dict(conn.execute("select indicator_code, name_tr from marts.dim_indicator").fetchall())
        assert names["PG4.1.1"] == "En az bir yardım türünden faydalanan aile sayısı"
        assert conn.execute("select count(*) from marts.dim_period where label_tr = '2024 2. yarıyıl'").fetchone()[0] == 1
        capped = conn.execute("select min(achievement_capped_pct), max(achievement_capped_pct), "
                              "count(*) filter (where achievement_flag = 'below_baseline') "
                              "from marts.fct_indicator_period").fetchone()
        assert 0 <= capped[0] and capped[1] <= 100 and capped[2] > 0
        undocumented = conn.execute(
            """select c.table_name || '.' || c.column_name from information_schema.columns c
               join pg_class t on t.relname = c.table_name
               join pg_namespace n on n.oid = t.relnamespace and n.nspname = c.table_schema
               where c.table_schema = 'marts' and c.table_name in ('fct_indicator_period', 'dim_indicator')
                 and col_description(t.oid, c.ordinal_position) is null""").fetchall()
        tables_without_comment = conn.execute(
            """select relname from pg_class join pg_namespace n on n.oid = relnamespace
               where nspname = 'marts' and relkind = 'r' and obj_description(pg_class.oid) is null""").fetchall()
        assert not tables_without_comment
        # the dbt docs' "how to ask" page: each of its questions answers, as the BI login
        import re as regex

        overview = (Path(__file__).resolve().parents[1] / "dbt_project/models/docs/overview.md").read_text()
        questions = regex.findall(r"```sql\n(.*?)```", overview, regex.S)
        assert len(questions) == 10
        for question in questions:
            assert conn.execute(question).fetchall(), question
        for table in ("raw.belediye__aid", "quality.publications", "staging.stg_belediye__persons"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table} limit 1")
    assert len(undocumented) < 5, undocumented


def test_the_dbt_docs_are_one_page_that_needs_no_network(pipeline):
    import re as regex

    from kopru import transform

    page = transform.docs().read_text(encoding="utf-8")
    assert "Ten questions and their SQL" in page and "rpt_indicator_plan_evaluation" in page
    assert not regex.findall(r'<(?:script|link|img)[^>]+(?:src|href)="https?://', page)


def test_report_files_are_written(pipeline):
    out = pipeline["out"]
    for suffix in ("pdf", "xlsx", "html"):
        path = out / f"izleme_raporu_2024-H2.{suffix}"
        assert path.exists() and path.stat().st_size > 1000, path
    assert (out / "izleme_raporu_2024-H2.pdf").read_bytes().startswith(b"%PDF")


def test_every_page_and_sheet_built_from_generated_data_says_so(pipeline, external_url):
    """The sample inbox was written by `kopru generate`: every PDF page, the HTML, every XLSX sheet, the Data Docs
    and the marts BI reads say it."""
    import subprocess

    from kopru.ingest.origin import SAMPLE_NOTE_TR
    from openpyxl import load_workbook

    text = subprocess.run(["pdftotext", str(pipeline["out"] / "izleme_raporu_2024-H2.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    pages = [page for page in text.split("\f") if page.strip()]  # pdftotext ends each page with a form feed
    assert len(pages) > 3 and all(SAMPLE_NOTE_TR in page for page in pages)
    assert SAMPLE_NOTE_TR in (pipeline["out"] / "izleme_raporu_2024-H2.html").read_text(encoding="utf-8")
    book = load_workbook(pipeline["out"] / "izleme_raporu_2024-H2.xlsx")
    assert all(SAMPLE_NOTE_TR in [cell.value for cell in sheet[1]] for sheet in book.worksheets)
    with psycopg.connect(external_url) as conn:
        assert conn.execute("select holds_generated_data, note_tr from marts.dim_data_origin").fetchone() == (
            True, SAMPLE_NOTE_TR)
    docs = config.outputs_dir() / "data_docs" / "index.html"
    assert SAMPLE_NOTE_TR in docs.read_text(encoding="utf-8")


def test_the_data_docs_load_nothing_from_the_network(pipeline):
    """Every page's CSS, JS, fonts and images come from the site itself (no CDN), and the index's tables are
    drawn without it (a headless Chromium, when the machine has one, renders the page from disk)."""
    import shutil
    import subprocess

    site = config.outputs_dir() / "data_docs"
    pages = list(site.rglob("*.html"))
    assert len(pages) > 10
    remote = re.compile(r"""(<script[^>]*src|<link[^>]*href|<img[^>]*src)=["']?(https?:)?//|url\(['"]?https?://""",
                        re.IGNORECASE)
    assert [page.name for page in pages if remote.search(page.read_text(encoding="utf-8"))] == []
    for asset in ("jquery.min.js", "bootstrap.bundle.min.js", "bootstrap.min.css", "bootstrap-table-lite.js",
                  "fontawesome/css/all.min.css", "fontawesome/webfonts/fa-solid-900.woff2"):
        assert (site / "static" / "vendor" / asset).stat().st_size > 1000, asset
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:
        dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                              "--dump-dom", (site / "index.html").as_uri()], capture_output=True, text=True,
                             timeout=120).stdout
        assert dom.count("<tr") > 10 and "marts__fct_indicator_period" in dom


def test_xlsx_numbers_are_numbers(pipeline, external_url):
    from openpyxl import load_workbook

    sheet = load_workbook(pipeline["out"] / "izleme_raporu_2024-H2.xlsx")["Göstergeler"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    with psycopg.connect(external_url) as conn:
        expected = conn.execute(
            "select actual_value from marts.fct_indicator_period where indicator_code = 'PG4.1.5' and period = '2024-H2'"
        ).fetchone()[0]
    assert isinstance(rows["PG4.1.5"][6], float) and rows["PG4.1.5"][6] == float(expected)


def test_the_xlsx_lists_every_isas_missing_record(pipeline, external_url):
    """The PDF shows the oldest few; the XLSX, which the PDF points to for the full list, has every one."""
    from openpyxl import load_workbook

    book = load_workbook(pipeline["out"] / "izleme_raporu_2024-H2.xlsx")
    listed = [row[0] for row in book["ISAS eksik kayıtlar"].iter_rows(min_row=2, values_only=True)]
    with psycopg.connect(external_url) as conn:
        expected = conn.execute("select count(*) from quality.isas_missing_entries").fetchone()[0]
    assert expected > 15 and len(listed) == expected == len(set(listed))


def test_the_plan_cards_activities_needs_and_findings_are_in_the_report_with_figures_from_the_marts(
        pipeline, external_url):
    """Every activity (1–6), need (1–4) and finding (1–4) of the card, each with its figure, in the XLSX as the
    marts model has it; a few figures recomputed from the facts they come from."""
    from openpyxl import load_workbook

    rows = list(load_workbook(pipeline["out"] / "izleme_raporu_2024-H2.xlsx")["Plan kartı"].iter_rows(
        min_row=2, values_only=True))
    assert {(kind, number) for kind, number, *_ in rows} == {
        *(("Faaliyet ve projeler", n) for n in range(1, 7)), *(("İhtiyaçlar", n) for n in range(1, 5)),
        *(("Tespitler", n) for n in range(1, 5))}
    shown = {measure: (value, status) for _kind, _n, _item, measure, _unit, value, _cost, status, *_note in rows}
    with psycopg.connect(external_url) as conn:
        model = dict(conn.execute(
            "select measure_tr, value from marts.rpt_plan_card_items_period where period = '2024-H2'").fetchall())
        recomputed = conn.execute(
            """select
                 (select count(distinct institution) from marts.fct_aid where half_year = '2024-H2'),
                 (select round(100.0 * sum(amount_try) filter (where channel = 'kart') / sum(amount_try), 1)
                  from marts.fct_aid where institution = 'belediye' and half_year = '2024-H2'),
                 (select actual_value from marts.fct_indicator_period
                  where indicator_code = 'PG4.1.4' and period = '2024-H2')""").fetchone()
        measure_names = dict(conn.execute(
            "select measure_code, measure_tr from seeds.plan_card_items where measure_code is not null").fetchall())
    assert {m: v for m, (v, _) in shown.items()} == {m: (None if v is None else float(v)) for m, v in model.items()}
    institutions, card_share, referred = recomputed
    assert shown[measure_names["institutions_aiding"]] == (float(institutions), "Yürütüldü") and institutions >= 3
    assert shown[measure_names["card_share_pct"]][0] == float(card_share) > 0
    assert shown[measure_names["persons_referred"]][0] == float(round(referred, 1))
    public = [row[7] for row in rows if row[1] == 5 and row[0] == "Faaliyet ve projeler"]
    assert public == ["Veriyle izlenmez"]


def test_a_years_families_are_counted_once_not_summed_over_its_half_years(pipeline, external_url):
    """The reporting models count a family once per period: the year's families per institution are the distinct
    families of the year in fct_aid, not H1 + H2."""
    with psycopg.connect(external_url) as conn:
        pairs = conn.execute(
            """select model.institution, model.families, facts.families, halves.families
               from marts.rpt_aid_by_institution_period model
               join (select institution, count(distinct household_key) as families from marts.fct_aid
                     where half_year like '2024-%' group by 1) facts using (institution)
               join (select institution, sum(families) as families from marts.rpt_aid_by_institution_period
                     where period in ('2024-H1', '2024-H2') group by 1) halves using (institution)
               where model.period = '2024'""").fetchall()
    assert pairs and all(year == facts for _, year, facts, _ in pairs)
    assert any(year < summed for _, year, _, summed in pairs)  # families aided in both halves


def test_rerunning_the_pipeline_changes_nothing(pipeline, external_url, sample_inbox):
    from kopru.orchestration.local_runs import run_pipeline

    def snapshot():
        with psycopg.connect(external_url) as conn:
            return (
                conn.execute("select count(*) from raw.belediye__aid").fetchone()[0],
                conn.execute("select indicator_code, period, actual_value from marts.fct_indicator_period "
                             "order by 1, 2").fetchall(),
            )

    with psycopg.connect(external_url) as conn:
        files_before = conn.execute("select count(*) from ingest.files").fetchone()[0]
    before = snapshot()
    run_pipeline(pipeline["inbox"], "2024-H2", pipeline["out"])  # an empty inbox: nothing to land
    with psycopg.connect(external_url) as conn:
        assert conn.execute("select count(*) from ingest.files").fetchone()[0] == files_before
    run_pipeline(deliver(sample_inbox, pipeline["inbox"]), "2024-H2", pipeline["out"])  # every file again
    assert snapshot() == before
    with psycopg.connect(external_url) as conn:
        statuses = dict(conn.execute("select status, count(*) from ingest.files where file_id > %s group by 1",
                                     (files_before,)).fetchall())
    assert set(statuses) <= {"duplicate_file", "rejected"} and statuses["duplicate_file"] > 0


@pytest.fixture
def smtp_server(monkeypatch):
    """A real SMTP server on loopback (aiosmtpd), and the Airflow connection and recipients pointing at it."""
    import json
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_KOPRU_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"from_email": "kopru@belediye.test", "disable_tls": True, "disable_ssl": True}}))
    monkeypatch.setenv("KOPRU_REPORT_RECIPIENTS", "mudur@belediye.test, analist@belediye.test")
    yield inbox
    controller.stop()


def test_the_report_is_mailed_with_its_pdf_and_xlsx_and_archived(pipeline, external_url, smtp_server, tmp_path):
    import email
    from email.header import decode_header, make_header

    from kopru.orchestration.tasks import write_report

    result = write_report("2024-H2", str(tmp_path))
    assert result["emailed_to"] == 2
    again = write_report("2024-H2", str(tmp_path / "retried"))  # a retried task: archived again, not mailed again
    assert again["emailed_to"] == 0 and again["already_mailed"]
    (envelope,) = smtp_server.messages
    assert sorted(envelope.rcpt_tos) == ["analist@belediye.test", "mudur@belediye.test"]
    message = email.message_from_bytes(envelope.content)
    assert str(make_header(decode_header(message["Subject"]))) == "Sosyal Destek Hizmetleri — 2024-H2 İzleme Raporu"
    attachments = {part.get_filename(): part.get_payload(decode=True) for part in message.walk() if part.get_filename()}
    assert set(attachments) == {"izleme_raporu_2024-H2.pdf", "izleme_raporu_2024-H2.xlsx"}
    assert attachments["izleme_raporu_2024-H2.pdf"].startswith(b"%PDF")
    with psycopg.connect(external_url) as conn:
        period, publication, archive_path, emailed = conn.execute(
            """select period, publication_run_id, archive_path, emailed_to from quality.report_runs
               where archive_path = %s""", (result["archive"],)).fetchone()
        published = conn.execute("select run_id from quality.publications where status = 'published' "
                                 "order by publication_id desc limit 1").fetchone()[0]
    assert (period, publication) == ("2024-H2", published)
    assert emailed == "mudur@belediye.test, analist@belediye.test"
    from pathlib import Path

    assert {p.name for p in Path(archive_path).iterdir()} >= {"izleme_raporu_2024-H2.pdf", "manifest.json"}


def test_a_task_that_fails_for_good_mails_the_data_team(pipeline, smtp_server, monkeypatch):
    """Every Köprü task carries the alert (DEFAULT_ARGS). A real run of the quality DAG (no retries) asked to
    override a build that was not blocked fails; the data team gets one mail with the error's own sentence, and the
    directorate's recipients nothing."""
    import email

    from kopru.orchestration.local_runs import run_dag

    monkeypatch.setenv("KOPRU_ALERT_RECIPIENTS", "veri.ekibi@belediye.test")
    with pytest.raises(RuntimeError, match="DAG quality ended failed"):
        run_dag("quality", {"override_reason": "nothing was blocked"})
    (envelope,) = smtp_server.messages
    assert envelope.rcpt_tos == ["veri.ekibi@belediye.test"]
    message = email.message_from_bytes(envelope.content)
    text = "".join(part.get_payload(decode=True).decode("utf-8") for part in message.walk()
                   if part.get_content_type() == "text/html")
    assert "quality.run_checkpoint" in text and "OverrideRefused: the latest gate decision is not a blocked" in text


def test_kopru_run_says_which_step_failed_in_one_sentence_and_exits_non_zero(pipeline, tmp_path, monkeypatch,
                                                                          capsys):
    """A DAG run that fails (here the quality DAG, as run_dag raises when a run does not succeed) is a failure an
    operator meets: `kopru run` says which step and where its log is, and exits 1, without a traceback."""
    from kopru import cli
    from kopru.orchestration import local_runs

    def quality_fails(*args, **kwargs):
        raise local_runs.DagRunFailed("DAG quality ended failed", ("quality",))

    monkeypatch.setattr(local_runs, "run_pipeline", quality_fails)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    assert cli.main(["run", "--inbox", str(inbox)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("kopru: DAG quality ended failed;") and "Traceback" not in error
    assert error.count("\n") == 1 and "run_" in error
    # a DAG run fails in a forked process when several run side by side (run_dags): the failure comes back pickled
    import pickle

    assert pickle.loads(pickle.dumps(local_runs.DagRunFailed("x", ("quality",)))).dag_ids == ("quality",)


def test_rerunning_a_closed_period_report_gives_the_same_numbers(pipeline, tmp_path):
    from kopru.orchestration.tasks import write_report
    from openpyxl import load_workbook

    def numbers(folder):
        write_report("2024-H2", str(folder))
        book = load_workbook(folder / "izleme_raporu_2024-H2.xlsx")
        return {name: [row for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames}

    assert numbers(tmp_path / "first") == numbers(tmp_path / "second")


def test_a_closed_periods_report_says_when_later_deliveries_revised_it(pipeline, tmp_path):
    """Re-running a closed period's report compares it with the period's first archived report: the same values
    give no mark; where a value differs (here the first report is made to have said 117 families more), the
    report is marked revised and says what changed."""
    import json

    from kopru import warehouse
    from kopru.orchestration.tasks import write_report

    write_report("2024-H2", str(tmp_path / "first"))
    again = write_report("2024-H2", str(tmp_path / "again"))
    assert "REVİZE" not in Path(again["html"]).read_text(encoding="utf-8")
    with warehouse.connect() as conn:
        folder = conn.execute("""select archive_path from quality.report_runs where period = '2024-H2'
                                 and kind = 'izleme' order by report_run_id limit 1""").fetchone()[0]
    manifest = Path(folder) / "manifest.json"
    document = json.loads(manifest.read_text(encoding="utf-8"))
    actual = document["indicators"]["PG4.1.1"]
    document["indicators"]["PG4.1.1"] = str(int(float(actual)) + 117)
    manifest.write_text(json.dumps(document), encoding="utf-8")
    revised = write_report("2024-H2", str(tmp_path / "revised"))
    html = Path(revised["html"]).read_text(encoding="utf-8")
    assert "REVİZE EDİLMİŞ RAPOR" in html and "PG4.1.1" in html
    written = json.loads((tmp_path / "revised" / "izleme_raporu_2024-H2.json").read_text(encoding="utf-8"))
    assert written["revision_of"] == document["generated_at"]


def test_the_units_explanations_come_back_through_the_template_and_reach_the_report(pipeline, tmp_path):
    """`kopru report --commentary-template` → the unit fills it → the period's report merges it; a file of another
    period is refused whole, and says why; an indicator below target without an explanation says so."""
    from kopru.reports import commentary
    from kopru.reports.render import render
    from openpyxl import load_workbook

    template = commentary.write_template("2024-H2")
    book = load_workbook(template)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Gösterge kodu", "Gösterge", "Dönem"] and sheet.max_row == 6
    codes = [sheet.cell(row, 1).value for row in range(2, 7)]
    first = codes.index("PG4.1.1") + 2
    sheet.cell(first, header.index("Sapma nedenleri") + 1, "Örnek ilçe küçük: hedef ilçenin bütününe göre.")
    sheet.cell(first, header.index("Alınan önlemler") + 1, "Saha ziyaretleri artırıldı.")
    book.save(template)
    html = Path(render("2024-H2", tmp_path / "merged")["html"]).read_text(encoding="utf-8")
    assert "Saha ziyaretleri artırıldı." in html and "açıklama girilmedi" in html
    merged = load_workbook(tmp_path / "merged" / "izleme_raporu_2024-H2.xlsx")["Açıklamalar"]
    assert any(row[3] == "Saha ziyaretleri artırıldı." for row in merged.iter_rows(values_only=True))
    # the same file claimed for another period: refused whole
    sheet.cell(first, header.index("Dönem") + 1, "2024-H1")
    book.save(template)
    html = Path(render("2024-H2", tmp_path / "refused")["html"]).read_text(encoding="utf-8")
    assert "açıklama dosyası alınmadı" in html and "dönemine ait değil" in html
    assert "Saha ziyaretleri artırıldı." not in html
    template.unlink()


def test_public_report_hides_small_cells_and_no_total_gives_one_back(pipeline, external_url, tmp_path):
    """The attacker's move: any published total with exactly one hidden part gives that part back (and then the
    next one, by elimination). It must not apply to a single total."""
    from disclosure_audit import hidden_cell_ranges
    from kopru.ingest.origin import SAMPLE_NOTE_TR
    from kopru.reports.transparency import PROTECTION_WIDTH, SUPPRESSED, render
    from openpyxl import load_workbook

    paths = render(2024, tmp_path)
    book = load_workbook(paths["xlsx"])
    hidden_cells = 0
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        width = sum(1 for value in rows[0] if value not in (SAMPLE_NOTE_TR, None))  # the table, not the sample note
        grid = [list(row)[:width] for row in rows]
        body = [row[1:] for row in grid[1:]]  # cells and the total column; the last row is the totals row
        shown = [v for row in body for v in row if v != SUPPRESSED]
        assert all(v == 0 or v >= 11 for v in shown)
        hidden_cells += sum(v == SUPPRESSED for row in body for v in row)
        known = {(r, c): v for r, row in enumerate(body) for c, v in enumerate(row) if v != SUPPRESSED}
        rows, columns = len(body), len(body[0])
        equations = [[(r, c) for c in range(columns)] for r in range(rows)]  # parts…, total last
        equations += [[(r, c) for r in range(rows)] for c in range(columns)]
        for equation in equations:
            unknown = [p for p in equation if p not in known]
            assert len(unknown) != 1, f"{sheet.title}: cell {unknown} is recoverable from its total"
        # The stronger attack: all the published equations at once (linear programming over the grid).
        narrow = {cell: bounds for cell, bounds in hidden_cell_ranges(body, SUPPRESSED).items()
                  if bounds[1] - bounds[0] < PROTECTION_WIDTH}
        assert narrow == {}, sheet.title
    assert hidden_cells > 0  # the sample has small cells: the protection was exercised


def test_the_scheduled_run_writes_what_is_due_when_a_year_closes(pipeline, sample_inbox, tmp_path):
    from datetime import date

    from kopru.orchestration.tasks import reporting_day_of, write_due_reports

    written = write_due_reports(date(2025, 1, 5), str(tmp_path))
    assert [w["period"] for w in written] == ["2024-H2", "2024", "2024"]
    for name in ("izleme_raporu_2024-H2.pdf", "degerlendirme_raporu_2024.pdf", "kamuoyu_raporu_2024.pdf"):
        assert (tmp_path / name).read_bytes().startswith(b"%PDF"), name
    assert reporting_day_of(sample_inbox) == date(2025, 1, 5)  # what `kopru run` and the demo report as of
    # the year report evaluates the plan (rpt_indicator_plan_evaluation); both tell the families' development
    year_report = (tmp_path / "degerlendirme_raporu_2024.html").read_text(encoding="utf-8")
    half_year_report = (tmp_path / "izleme_raporu_2024-H2.html").read_text(encoding="utf-8")
    assert "Plan dönemi değerlendirmesi" in year_report and "Plan dönemi değerlendirmesi" not in half_year_report
    assert all("Aile gelişimi: yardımdan çıkış" in html for html in (year_report, half_year_report))
    assert "Maliyet tahmininin yıllık ortalaması" in year_report


def test_mid_year_only_the_closed_half_years_izleme_report_is_due(pipeline, external_url, tmp_path):
    """`kopru report --due --as-of` writes what the scheduled run writes that day: on 5 July the izleme report of
    the half-year that just closed, and no year or public report of a year that has not."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "kopru.cli", "report", "--due", "--as-of", "2024-07-05",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "KOPRU_WAREHOUSE_URL": external_url})
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == ["izleme_raporu_2024-H1.pdf"]


def test_a_report_due_for_a_period_before_the_warehouses_history_is_listed_not_written(pipeline, external_url,
                                                                                        tmp_path):
    """A warehouse that went live after a period ended holds nothing of it: on 5 January the scheduled run lists
    the year's reports as not written, with why, and succeeds; asked for by name, the period still fails clearly.
    (The sample begins in July 2023; `make replay`, which begins on 1 January, met this on its first reporting day.)"""
    import json
    import os
    import subprocess
    import sys

    def report(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kopru.cli", "report", *arguments, "--out", str(tmp_path)],
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, "KOPRU_WAREHOUSE_URL": external_url})

    due = report("--due", "--as-of", "2023-01-05")
    assert due.returncode == 0, due.stderr[-2000:]
    listed = json.loads(due.stdout)
    assert [(item["kind"], item["period"]) for item in listed] == [
        ("izleme", "2022-H2"), ("degerlendirme", "2022"), ("kamuoyu", "2022")]
    assert all("not written: the published marts begin on 2023-" in item["skipped"] for item in listed)
    assert list(tmp_path.iterdir()) == []
    by_name = report("--period", "2022-H2")
    assert by_name.returncode != 0 and "Traceback" not in by_name.stderr
    assert "no indicator values for period 2022-H2" in by_name.stderr


def test_a_backup_restored_into_a_fresh_home_has_identical_marts_and_manifest(pipeline, external_url, tmp_path):
    """`kopru warehouse backup` of the pipeline's warehouse, `kopru warehouse restore` into a new KOPRU_HOME with a
    server of its own: every published table and the file manifest hash the same."""
    import os
    import subprocess
    import sys

    def kopru(*args, env):
        done = subprocess.run([sys.executable, "-m", "kopru.cli", *args], capture_output=True, text=True, env=env,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    def fingerprint(url):
        with psycopg.connect(url) as conn:
            tables = [t for (t,) in conn.execute(
                """select table_schema || '.' || table_name from information_schema.tables
                   where table_schema = 'marts' or (table_schema, table_name) = ('ingest', 'files')
                   order by 1""")]
            return {t: conn.execute(f"select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) "
                                    f"from {t} t").fetchone() for t in tables}

    backup = tmp_path / "kopru.dump"
    kopru("warehouse", "backup", "--out", str(backup), env=os.environ)
    assert backup.stat().st_mode & 0o777 == 0o600
    fresh = {k: v for k, v in os.environ.items() if k != "KOPRU_WAREHOUSE_URL"} | {
        "KOPRU_HOME": str(tmp_path / "restored_home")}
    try:
        kopru("warehouse", "restore", str(backup), env=fresh)
        restored_url = kopru("warehouse", "url", "--show-password", env=fresh).stdout.strip()
        assert restored_url != external_url
        original, restored = fingerprint(external_url), fingerprint(restored_url)
        assert len(original) > 10 and restored == original
    finally:
        subprocess.run([sys.executable, "-m", "kopru.cli", "warehouse", "stop"], env=fresh, capture_output=True)
