"""Great Expectations (GX Core) over the warehouse: suites and checkpoints as files under `expectations/`,
results kept as history in `quality.validation_results`.

GX is imported inside the functions (a heavy import): DAG files and the CLI stay fast to load. The datasource's
connection string in git is a placeholder, `${KOPRU_GX_CONNECTION_STRING}`, which GX resolves from the
environment that `run_checkpoint` sets from the one warehouse URL.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from kopru import config, warehouse
from kopru.quality.cadence import write_missing_deliveries
from kopru.quality.volumes import write_delivery_volumes

DATASOURCE = "warehouse"
CHECKPOINT = "warehouse_gate"
DATA_DOCS_SITE = "kopru_outputs"  # great_expectations.yml: written to KOPRU_DATA_DOCS_DIR


@functools.cache
def indicator_codes() -> list[str]:
    """The plan's indicators, from the plan seed the marts are built from."""
    with open(config.DBT_PROJECT_DIR / "seeds" / "plan_indicators.csv", encoding="utf-8") as seed:
        return [row["indicator_code"] for row in csv.DictReader(seed)]


@dataclass
class CheckResult:
    run_id: str
    success: bool
    critical_failures: int
    warnings: int
    evaluated: int
    data_docs: str | None

    def as_xcom(self) -> dict:
        return dict(self.__dict__)


def _gx_environment(schema: str = "marts") -> None:
    """What great_expectations.yml reads from the environment (GX's config substitution): the datasource's URL
    from the one warehouse URL, whose `search_path` picks the marts schema being checked (`marts_build` at the
    publication gate, `marts` otherwise, so the suites name tables without a schema), and the stores' folders."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    url = warehouse.url("gate").replace("postgresql://", "postgresql+psycopg://", 1)
    separator = "&" if "?" in url else "?"
    os.environ["KOPRU_GX_CONNECTION_STRING"] = f"{url}{separator}options=-csearch_path%3D{schema},public"
    os.environ["KOPRU_DATA_DOCS_DIR"] = str(config.data_docs_dir())
    os.environ["KOPRU_GX_VALIDATIONS_DIR"] = str(config.gx_validations_dir())


def get_context(schema: str = "marts"):
    _gx_environment(schema)
    import great_expectations as gx

    return gx.get_context(mode="file", project_root_dir=str(config.EXPECTATIONS_DIR))


def quality_levels() -> dict:
    import yaml

    return yaml.safe_load((config.EXPECTATIONS_DIR / "quality_levels.yml").read_text(encoding="utf-8"))


def define(context=None, schema: str = "marts") -> None:
    """(Re)write the suites, validation definitions and checkpoint as files. Idempotent; run after editing the
    levels or the feed contract (`kopru check --define`). GX looks each table up once, in `schema`."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    from kopru.ingest.contract import FEEDS

    levels = quality_levels()
    context = context or get_context(schema)
    source = context.data_sources.add_or_update_postgres(
        name=DATASOURCE, connection_string="${KOPRU_GX_CONNECTION_STRING}"
    )
    # Everything below is written anew. The old checkpoint and validation definitions go first, as files: GX cannot
    # load (hence not delete by name) a definition whose asset this run replaces, yet refuses to add another under
    # its name; and a definition no longer generated must not linger.
    gx_dir = config.EXPECTATIONS_DIR / "gx"
    for stale in [gx_dir / "checkpoints" / f"{CHECKPOINT}.json", *(gx_dir / "validation_definitions").glob("*.json")]:
        stale.unlink(missing_ok=True)

    def replaced(asset_name: str) -> None:
        if asset_name in [asset.name for asset in source.assets]:
            source.delete_asset(asset_name)

    batches: dict[str, object] = {}  # an asset several suites read is defined once per run

    def table(asset_name: str, name: str, schema: str | None = None):
        if asset_name not in batches:
            replaced(asset_name)
            asset = source.add_table_asset(name=asset_name, table_name=name, schema_name=schema)
            batches[asset_name] = asset.add_batch_definition_whole_table("whole_table")
        return batches[asset_name]

    def query(asset_name: str, sql: str):
        replaced(asset_name)
        sql = " ".join(sql.split())  # GX wants the query to start with `select `
        asset = source.add_query_asset(name=asset_name, query=sql)
        batches[asset_name] = asset.add_batch_definition_whole_table("whole_table")
        return batches[asset_name]

    definitions = []

    def suite(name: str, batch, expectations: list, severity: str = "critical"):
        if name in [s.name for s in context.suites.all()]:
            context.suites.delete(name)
        built = context.suites.add(gx.ExpectationSuite(name=name, meta={"severity": severity}))
        for expectation in expectations:
            built.add_expectation(expectation)
        definitions.append(
            context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=built))
        )

    # ---- marts (critical: they are what BI and the reports read) ----
    suite("marts__fct_indicator_period", table("fct_indicator_period", "fct_indicator_period"), [
        gxe.ExpectColumnValuesToNotBeNull(column="indicator_code"),
        gxe.ExpectColumnValuesToBeInSet(column="indicator_code", value_set=indicator_codes()),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["indicator_code", "period"]),
    ])
    # Every period has all five indicators. Before the first municipal aid there is no period at all: no failure
    # (a new warehouse's first day may bring only the registry).
    suite("marts__indicators_per_period", query(
        "indicators_per_period",
        "select period, count(distinct indicator_code) as indicators from fct_indicator_period group by period",
    ), [gxe.ExpectColumnValuesToBeBetween(column="indicators", min_value=len(indicator_codes()),
                                           max_value=len(indicator_codes()))])
    suite("marts__indicator_rates", query(
        "indicator_rates", "select indicator_code, period, actual_value from fct_indicator_period where is_rate",
    ), [gxe.ExpectColumnValuesToBeBetween(column="actual_value", min_value=0, max_value=100)])
    suite("marts__fct_target_period", table("fct_target_period", "fct_target_period"), [
        gxe.ExpectColumnValuesToBeUnique(column="period"),
        gxe.ExpectColumnValuesToBeBetween(column="weight_total_pct", min_value=100, max_value=100),
    ])
    # The marts' keys (unique, not null) are dbt's generic tests, run by the same `dbt build`: a build that fails
    # them stops before the gate, so the gate does not scan a million keys a second time.

    # ---- ISAS completeness (the 2014 regulation; PG4.1.5) ----
    isas = levels["isas"]
    # The ISAS levels judge shares of the municipal aid, which run_checkpoint works out in one pass before GX runs
    # (quality.isas_entry_shares): as queries over fct_aid, GX read the million records again for every metric of
    # every suite. A critical floor and a warning target on the entered share, a warning on the entry lag. The
    # records themselves are listed in quality.isas_missing_entries.
    isas_shares = query("isas_shares", "select records, entered_share from quality.isas_entry_shares")
    suite("isas__completeness", isas_shares,
          [gxe.ExpectColumnValuesToBeBetween(column="entered_share", min_value=float(isas["min_entered_share"]),
                                             max_value=1)])
    suite("isas__completeness_target", isas_shares,
          [gxe.ExpectColumnValuesToBeBetween(column="entered_share", min_value=float(isas["target_entered_share"]),
                                             max_value=1)], severity="warning")
    suite("isas__entry_lag", query("isas_entry_lag", "select entered, within_lag_share from quality.isas_entry_shares"),
          [gxe.ExpectColumnValuesToBeBetween(column="within_lag_share", min_value=float(isas["lag_mostly"]),
                                             max_value=1)], severity="warning")

    # ---- registry completeness (warnings) ----
    registry = levels["registry"]
    suite("registry__need_assessments", table("dim_household", "dim_household"), [
        gxe.ExpectColumnValuesToBeInSet(column="never_assessed", value_set=[False],
                                        mostly=1 - float(registry["max_never_assessed_share"])),
        gxe.ExpectColumnValuesToBeInSet(column="assessment_overdue", value_set=[False],
                                        mostly=1 - float(registry["max_overdue_share"])),
    ], severity="warning")
    suite("registry__ngo_rows_unlinked", query("ngo_unlinked_share", """
        select institution, avg((link_method = 'unlinked')::int)::float as unlinked_share
        from fct_aid where institution like 'stk:%' group by institution"""),
        [gxe.ExpectColumnValuesToBeBetween(column="unlinked_share", min_value=0,
                                           max_value=float(registry["max_unlinked_share_per_ngo"]))],
        severity="warning")

    # ---- feeds: one suite per raw feed, from the contract (warnings), and delivery volume (critical) ----
    feeds = levels["feeds"]
    # Tables, not query assets: GX learns a query asset's columns by running the whole query (on a first load,
    # millions of raw rows fetched into Python for nothing), a table's from the catalog (empty between checkpoints).
    for spec in FEEDS.values():
        batch = feed_batch(spec)
        suite(f"feeds__{spec.source}__{spec.feed}", table(batch, batch, FEED_BATCHES_SCHEMA),
              _feed_expectations(spec, feeds, gxe), severity="warning")
    suite("feeds__stk__ids", table(NGO_IDS_BATCH, NGO_IDS_BATCH, FEED_BATCHES_SCHEMA),
          [gxe.ExpectColumnValuesToBeInSet(column="tckn_status", value_set=["valid"],
                                           mostly=float(feeds["ngo_min_valid_id_share"]))], severity="warning")
    # Each unpublished delivery judged against what its feed usually carries (kopru.quality.volumes), worked out
    # before GX runs, as the ISAS shares are.
    volume_checked_feeds(levels)
    suite("feeds__delivery_volume", query("delivery_volume", DELIVERY_VOLUME_QUERY),
          [gxe.ExpectColumnValuesToBeInSet(column="plausible", value_set=[True])])
    # Each feed's expected files against its cadence (kopru.quality.cadence): late or missing ones are a warning.
    suite("feeds__delivery_cadence", query("missing_deliveries", MISSING_DELIVERIES_QUERY),
          [gxe.ExpectTableRowCountToEqual(value=0)], severity="warning")

    for asset in [a.name for a in source.assets if a.name not in batches]:
        source.delete_asset(asset)  # an asset no suite reads any more
    defined = {definition.suite.name for definition in definitions}
    for stale_suite in [s.name for s in context.suites.all() if s.name not in defined]:
        context.suites.delete(stale_suite)  # a suite no longer generated
    context.checkpoints.add(
        gx.Checkpoint(name=CHECKPOINT, validation_definitions=definitions, result_format="SUMMARY")
    )


# The feed suites judge the deliveries that no publication has passed yet: each delivery once (a daily run reads
# one day's rows, not the whole history again), and again after a blocked publication. The files are listed in an
# analysed temporary table first (fill_feed_batches), so that the planner knows how many: a day's few are read by
# the raw tables' keys, a first load's thousands by one scan of each table (the function's fixed estimate of 10 rows
# had every file read by its index: 3.5 s instead of 1.2 s for a district's aid history).
UNPUBLISHED_FILES = "unpublished_files"
NOT_YET_PUBLISHED = f"raw_rows._file_id in (select file_id from {UNPUBLISHED_FILES})"


FEED_BATCHES_SCHEMA = "quality"
DELIVERY_VOLUME_QUERY = ("select source, feed, delivered_on, rows_in, expected_rows, lowest_plausible_rows, plausible "
                         "from quality.delivery_volumes")
NGO_IDS_BATCH = "unpublished_rows__stk__ids"
MISSING_DELIVERIES_QUERY = ("select source, feed, cadence, period_start, period_end, status "
                            "from quality.missing_deliveries")


def feed_batch(spec) -> str:
    """The table of a raw feed's rows that no publication has checked yet (the feed suite's batch)."""
    return f"unpublished_rows__{spec.source}__{spec.feed}"


def feed_batches() -> dict[str, str]:
    """Every feed suite's batch: table name → the query that fills it. NGO templates differ, so the ID share is
    judged over the NGOs whose template carries an ID at all."""
    from kopru.ingest.contract import FEEDS
    from kopru.ingest.stk import all_mappings

    batches = {feed_batch(spec): _feed_query(spec) for spec in FEEDS.values()}
    # NGO codes come from mapping file names: values, composed as literals (the loader also holds them to [a-z0-9_]).
    with_ids = [m.ngo_code for m in all_mappings() if "tckn" in m.columns.values()]
    batches[NGO_IDS_BATCH] = sql.SQL("""
        select raw_rows._file_id, raw_rows.ngo_code, raw_rows.tckn_status from raw.stk__aid_rows raw_rows
        join ingest.files files on files.file_id = raw_rows._file_id and files.status = 'loaded'
        where raw_rows.ngo_code = any({with_ids}) and {not_yet_published}""").format(
        with_ids=sql.Literal(with_ids), not_yet_published=sql.SQL(NOT_YET_PUBLISHED)).as_string()
    return batches


def fill_feed_batches(conn) -> list[str]:
    """Fill the feed suites' batches (tables of the columns the suites judge, made by migration 0002) with the rows
    no publication has checked yet. GX asks a count, then each expectation's own questions, one query each: over
    views, every one of them read the raw feed again (at 150,000 households, 6 s a question for the municipal aid);
    filled once, they read a narrow table. Returns their names, for emptying them once judged."""
    batches = feed_batches()
    with conn.transaction():
        list_unpublished_files(conn)
        conn.execute(sql.SQL("truncate {}").format(sql.SQL(", ").join(
            sql.Identifier(FEED_BATCHES_SCHEMA, name) for name in batches)))
        for name, query in batches.items():
            conn.execute(sql.SQL("insert into {} ").format(sql.Identifier(FEED_BATCHES_SCHEMA, name)) + sql.SQL(query))
    return list(batches)


def list_unpublished_files(conn) -> None:
    """The temporary table the batches' queries read (NOT_YET_PUBLISHED), until the transaction ends."""
    conn.execute(f"""create temporary table {UNPUBLISHED_FILES} on commit drop as
                     select quality.unpublished_file_ids() as file_id""")
    conn.execute(f"analyze {UNPUBLISHED_FILES}")


def _feed_checks(spec) -> list[tuple[str, str, object]]:
    """(batch column, check, contract column) of what the loader accepts but a source should not send. What the
    loader enforces row by row (a required value missing, a value outside its enum or type: such rows are
    quarantined, never loaded) is not checked again here; re-checking it cost half the gate's time on a first load
    and could never fail."""
    checks = []
    for column in spec.columns:
        if column.kind == "identity" and spec.source != "stk":
            checks.append((f"{column.name}_status", "valid_id_share", column))
        if column.kind == "decimal" and column.minimum is not None:
            checks.append((column.name, "amount_range", column))
        # Event dates precede their file; birth and registration dates may be decades older, due dates are ahead.
        if column.kind in ("date", "timestamp") and column.name not in ("birth_date", "registered_on") \
                and not column.name.endswith("_due"):
            checks.append((f"{column.name}__days_before_delivery", "days_before_delivery", column))
    return checks


def _feed_query(spec) -> str:
    """The rows of a raw feed's loaded files not yet checked by a publication: their file and the columns the suite
    judges, each event date as its distance from its file's delivery day."""
    columns = ["raw_rows._file_id"]
    for name, check, column in _feed_checks(spec):
        if check == "days_before_delivery":
            columns.append(f"files.delivered_on - raw_rows.{column.name}::date as {name}")
        else:
            columns.append(f"raw_rows.{name}")
    return (f"select {', '.join(columns)} from {spec.raw_table} raw_rows "
            f"join ingest.files files on files.file_id = raw_rows._file_id and files.status = 'loaded' "
            f"where {NOT_YET_PUBLISHED} and not raw_rows._is_absent")


def _feed_expectations(spec, levels: dict, gxe) -> list:
    expectations = []
    for name, check, column in _feed_checks(spec):
        if check == "valid_id_share":
            expectations.append(gxe.ExpectColumnValuesToBeInSet(
                column=name, value_set=["valid"], mostly=float(levels["min_valid_id_share"])))
        elif check == "amount_range":
            expectations.append(gxe.ExpectColumnValuesToBeBetween(
                column=name, min_value=column.minimum, max_value=float(levels["max_amount_try"])))
        else:
            expectations.append(gxe.ExpectColumnValuesToBeBetween(
                column=name, min_value=-1, max_value=int(levels["max_years_before_delivery"]) * 366))
    return expectations


def volume_checked_feeds(levels: dict) -> list[tuple[str, str]]:
    """The feeds quality_levels.yml has delivery volumes judged for, each a feed of the contract."""
    from kopru.ingest.contract import FEEDS

    feeds = [tuple(name.split("/", 1)) for name in levels["feeds"]["volume_checked_feeds"]]
    unknown = ["/".join(feed) for feed in feeds if feed not in FEEDS]
    if unknown:
        raise ValueError(f"quality_levels.yml: volume_checked_feeds names feeds the contract does not have: "
                         f"{', '.join(unknown)}")
    return feeds


def run_checkpoint(name: str = CHECKPOINT, schema: str = "marts") -> CheckResult:
    """Run a checkpoint over the marts in `schema`, keep every expectation's result in quality.validation_results,
    write Data Docs."""
    with warehouse.connect(role="gate") as conn:
        batches = fill_feed_batches(conn)
        levels = quality_levels()
        write_isas_entry_shares(conn, schema, levels["isas"])
        feeds = levels["feeds"]
        write_delivery_volumes(conn, volume_checked_feeds(levels), float(feeds["min_volume_ratio"]),
                               float(feeds["volume_alarm_probability"]), int(feeds["volume_window_days"]))
        write_missing_deliveries(conn)
        conn.commit()
    context = get_context(schema)
    checkpoint = context.checkpoints.get(name)
    first_docs = not (config.data_docs_dir() / "index.html").exists()
    result = checkpoint.run()
    run_id = uuid.uuid4().hex
    rows = []
    critical = warnings = 0
    for validation in result.run_results.values():
        suite_name = validation.suite_name
        severity = (validation.meta or {}).get("severity") or _suite_severity(context, suite_name)
        for item in validation.results:
            cfg = item.expectation_config
            observed = item.result.get("observed_value") if item.result else None
            rows.append((
                run_id, name, schema, suite_name, cfg.type, cfg.kwargs.get("column"), bool(item.success), severity,
                None if observed is None else json.dumps(observed, default=str)[:500],
                item.result.get("unexpected_count") if item.result else None,
                item.result.get("element_count") if item.result else None,
            ))
            if not item.success:
                if severity == "critical":
                    critical += 1
                else:
                    warnings += 1
    with warehouse.connect(role="gate") as conn:
        # the batches have been judged: their rows are not kept beside the raw tables (on a first load, gigabytes)
        conn.execute(sql.SQL("truncate {}").format(sql.SQL(", ").join(
            sql.Identifier(FEED_BATCHES_SCHEMA, name) for name in batches)))
        with conn.cursor() as cur:
            cur.executemany(
                """insert into quality.validation_results (run_id, checkpoint, marts_schema, suite, expectation,
                   column_name, success, severity, observed_value, unexpected_count, element_count)
                   values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                rows,
            )
    _prune_validation_store()  # before the docs, so that their index lists only the runs kept
    # Data Docs: this run's pages and the index, built once (not every kept run again, nor the index once per suite
    # as GX's UpdateDataDocsAction does). A site that is not there yet is built whole.
    docs = _build_data_docs(context, None if first_docs else list(result.run_results))
    return CheckResult(run_id, critical == 0, critical, warnings, len(rows), docs)


def write_isas_entry_shares(conn, schema: str, isas: dict) -> None:
    """The shares the ISAS suites judge, in one pass over the municipal aid of `schema` (replacing the last)."""
    conn.execute("delete from quality.isas_entry_shares")
    conn.execute(sql.SQL("""
        insert into quality.isas_entry_shares (marts_schema, records, entered_share, entered, within_lag_share,
                                               missing)
        select %(schema)s,
               count(*) filter (where before_grace),
               count(*) filter (where before_grace and isas_status = 'entered')
                   / nullif(count(isas_status) filter (where before_grace), 0)::float8,
               count(*) filter (where isas_status = 'entered'),
               count(*) filter (where isas_status = 'entered'
                                  and days_to_isas_entry between 0 and %(max_entry_lag_days)s)
                   / nullif(count(days_to_isas_entry) filter (where isas_status = 'entered'), 0)::float8,
               count(*) filter (where isas_status in ('not_entered', 'rejected'))
        from (
            select isas_status, days_to_isas_entry,
                   delivered_on <= (select max(delivered_on) from {fct_aid} where institution = 'belediye')
                                   - %(grace_days)s as before_grace
            from {fct_aid} where institution = 'belediye'
        ) municipal""").format(fct_aid=sql.Identifier(schema, "fct_aid")),
        {"schema": schema, "max_entry_lag_days": int(isas["max_entry_lag_days"]),
         "grace_days": int(isas["grace_days"])})


# Data Docs show the latest runs; the full history of results is kept in quality.validation_results.
KEPT_RUNS_PER_SUITE = 10


def _prune_validation_store() -> None:
    """GX's file store keeps every run, and Data Docs list them all (seconds more each week): keep the latest
    KEPT_RUNS_PER_SUITE runs of each suite (run folders are named by their UTC time, so names sort by age)."""
    store = config.gx_validations_dir()
    for runs in store.glob("*/*"):  # <suite>/<run name>/<run time>/
        if runs.is_dir():
            for old in sorted(p for p in runs.iterdir() if p.is_dir())[:-KEPT_RUNS_PER_SUITE]:
                shutil.rmtree(old)


def _suite_severity(context, suite_name: str) -> str:
    return (context.suites.get(suite_name).meta or {}).get("severity", "critical")


def _build_data_docs(context, results: list | None = None) -> str | None:
    """Data Docs go to the output folder (site `kopru_outputs`, its path from KOPRU_DATA_DOCS_DIR), not into git:
    the pages of the given validation results and the index, or the whole site."""
    try:
        context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=results)
    except Exception:  # noqa: BLE001 - docs are a convenience; the results are already stored
        return None
    _finish_pages(config.data_docs_dir())
    return str(config.data_docs_dir() / "index.html")


# What Data Docs pages load from CDNs, by what replaces it under the site's static/vendor/: the files of XStatic
# packages from PyPI (jQuery, Bootstrap 4 with Popper bundled, Font Awesome), and our own small table renderer for
# bootstrap-table, which no package ships. What is not listed (date picker, vega, a dark theme, the filter control)
# the pages here do not need, and is dropped: a page never waits on the network.
OFFLINE_SCRIPTS = {"code.jquery.com/jquery": "jquery.min.js", "bootstrapcdn.com/bootstrap/": "bootstrap.bundle.min.js",
                   "unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table-lite.js"}
OFFLINE_STYLES = {"bootstrapcdn.com/bootstrap/": "bootstrap.min.css",
                  "font-awesome/": "fontawesome/css/all.min.css"}
_REMOTE_TAG = re.compile(r"""<script[^>]*\ssrc=["'](https?:)?//[^"']+["'][^>]*>\s*</script>|"""
                         r"""<link[^>]*\shref=["'](https?:)?//[^"']+["'][^>]*>""", re.IGNORECASE)
_REMOTE_CSS_IMAGE = re.compile(r"""url\(['"]?https?://[^'")]+['"]?\)""")
_REMOTE_IMAGE = re.compile(r"""src=["']https?://great-expectations-web-assets[^"']*/([a-z_-]+\.png)[^"']*["']""")


def _vendor(site: Path) -> None:
    import xstatic.pkg.bootstrap
    import xstatic.pkg.font_awesome
    import xstatic.pkg.jquery

    vendor = site / "static" / "vendor"
    (vendor / "fontawesome").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(xstatic.pkg.jquery.BASE_DIR) / "jquery.min.js", vendor / "jquery.min.js")
    shutil.copyfile(Path(xstatic.pkg.bootstrap.BASE_DIR) / "js" / "bootstrap.bundle.min.js",
                    vendor / "bootstrap.bundle.min.js")
    shutil.copyfile(Path(xstatic.pkg.bootstrap.BASE_DIR) / "css" / "bootstrap.min.css", vendor / "bootstrap.min.css")
    for folder in ("css", "webfonts"):
        shutil.copytree(Path(xstatic.pkg.font_awesome.BASE_DIR) / folder, vendor / "fontawesome" / folder,
                        dirs_exist_ok=True)
    shutil.copyfile(config.PACKAGE_DATA / "data_docs" / "bootstrap-table-lite.js", vendor / "bootstrap-table-lite.js")


def _local_tag(match: re.Match, up: str) -> str:
    """A CDN <script> or <link> tag pointed at the site's own copy (`up`: the way from the page to the site's root),
    or nothing."""
    tag = match.group(0)
    script = tag.lower().startswith("<script")
    for known, file in (OFFLINE_SCRIPTS if script else OFFLINE_STYLES).items():
        if known in tag:
            attribute = "src" if script else "href"
            return re.sub(attribute + r"""=["'][^"']+["']""", f'{attribute}="{up}static/vendor/{file}"', tag)
    return ""


def _finish_pages(site: Path) -> None:
    """One pass over the Data Docs pages: each reads its CSS, JS, fonts and images from the site itself, and carries
    a banner atop when the warehouse holds generated deliveries (kopru.ingest.origin)."""
    from kopru.ingest import origin

    _vendor(site)
    with warehouse.connect(role="gate") as conn:
        generated = origin.holds_generated(conn)
    banner = (f'<body><div style="background:#b3261e;color:#fff;font-weight:bold;padding:6px 12px">'
              f"{origin.SAMPLE_NOTE_TR}</div>")
    for page in site.rglob("*.html"):
        up = "../" * (len(page.relative_to(site).parts) - 1)
        text = page.read_text(encoding="utf-8")
        finished = _REMOTE_TAG.sub(functools.partial(_local_tag, up=up), text)
        finished = _REMOTE_IMAGE.sub(lambda found, up=up: f'src="{up}static/images/{found.group(1)}"', finished)
        finished = _REMOTE_CSS_IMAGE.sub("none", finished)
        if generated and origin.SAMPLE_NOTE_TR not in finished:
            finished = finished.replace("<body>", banner, 1)
        if finished != text:
            page.write_text(finished, encoding="utf-8")
