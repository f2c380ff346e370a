"""Great Expectations (GX Core) over the warehouse: suites and checkpoints as files under `expectations/`,
results kept as history in `quality.validation_results`.

GX is imported inside the functions (it takes ~8 s): DAG files and the CLI stay fast to load. The datasource's
connection string in git is a placeholder, `${KOPRU_GX_CONNECTION_STRING}`, which GX resolves from the
environment that `run_checkpoint` sets from the one warehouse URL.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass

from kopru import config

DATASOURCE = "warehouse"
CHECKPOINT = "warehouse_gate"
INDICATOR_CODES = ["PG4.1.1", "PG4.1.2", "PG4.1.3", "PG4.1.4", "PG4.1.5"]

RESULTS_DDL = """
create table if not exists quality.validation_results (
    run_id            text not null,
    run_at            timestamptz not null default now(),
    checkpoint        text not null,
    suite             text not null,
    expectation       text not null,
    column_name       text,
    success           boolean not null,
    severity          text not null,
    observed_value    text,
    unexpected_count  bigint,
    element_count     bigint
);
create index if not exists validation_results_run on quality.validation_results (run_at);
"""


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


def _gx_environment() -> None:
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    url = config.warehouse_url()
    os.environ["KOPRU_GX_CONNECTION_STRING"] = url.replace("postgresql://", "postgresql+psycopg://", 1)
    os.environ["KOPRU_DATA_DOCS_DIR"] = str(config.outputs_dir() / "data_docs")


def get_context():
    _gx_environment()
    import great_expectations as gx

    return gx.get_context(mode="file", project_root_dir=str(config.EXPECTATIONS_DIR))


def define(context=None) -> None:
    """(Re)write the suites, validation definitions and checkpoint as files. Idempotent; run after editing."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context = context or get_context()
    source = context.data_sources.add_or_update_postgres(
        name=DATASOURCE, connection_string="${KOPRU_GX_CONNECTION_STRING}"
    )

    def replaced(asset_name: str) -> None:
        if asset_name in [asset.name for asset in source.assets]:
            source.delete_asset(asset_name)

    def whole_table(asset_name: str, schema: str, table: str):
        replaced(asset_name)
        asset = source.add_table_asset(name=asset_name, table_name=table, schema_name=schema)
        return asset.add_batch_definition_whole_table("whole_table")

    def query(asset_name: str, sql: str):
        replaced(asset_name)
        return source.add_query_asset(name=asset_name, query=sql).add_batch_definition_whole_table("whole_table")

    definitions = []

    def suite(name: str, batch, expectations: list, severity: str = "critical"):
        existing = [s.name for s in context.suites.all()]
        if name in existing:
            context.suites.delete(name)
        built = context.suites.add(gx.ExpectationSuite(name=name, meta={"severity": severity}))
        for expectation in expectations:
            built.add_expectation(expectation)
        if name in [v.name for v in context.validation_definitions.all()]:
            context.validation_definitions.delete(name)
        definitions.append(
            context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=built))
        )

    suite(
        "marts__fct_indicator_period",
        whole_table("fct_indicator_period", "marts", "fct_indicator_period"),
        [
            gxe.ExpectColumnValuesToNotBeNull(column="indicator_code"),
            gxe.ExpectColumnValuesToBeInSet(column="indicator_code", value_set=INDICATOR_CODES),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["indicator_code", "period"]),
            gxe.ExpectColumnDistinctValuesToEqualSet(column="indicator_code", value_set=INDICATOR_CODES),
        ],
    )
    suite(
        "marts__indicator_rates",
        query("indicator_rates",
              "select indicator_code, period, actual_value from marts.fct_indicator_period where is_rate"),
        [gxe.ExpectColumnValuesToBeBetween(column="actual_value", min_value=0, max_value=100)],
    )
    suite(
        "marts__fct_target_period",
        whole_table("fct_target_period", "marts", "fct_target_period"),
        [
            gxe.ExpectColumnValuesToBeUnique(column="period"),
            gxe.ExpectColumnValuesToBeBetween(column="weight_total_pct", min_value=100, max_value=100),
        ],
    )

    if CHECKPOINT in [c.name for c in context.checkpoints.all()]:
        context.checkpoints.delete(CHECKPOINT)
    context.checkpoints.add(
        gx.Checkpoint(name=CHECKPOINT, validation_definitions=definitions, result_format="SUMMARY")
    )


def run_checkpoint(name: str = CHECKPOINT) -> CheckResult:
    """Run a checkpoint, keep every expectation's result in quality.validation_results, write Data Docs."""
    from kopru import warehouse

    context = get_context()
    checkpoint = context.checkpoints.get(name)
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
                run_id, name, suite_name, cfg.type, cfg.kwargs.get("column"), bool(item.success), severity,
                None if observed is None else json.dumps(observed, default=str)[:500],
                item.result.get("unexpected_count") if item.result else None,
                item.result.get("element_count") if item.result else None,
            ))
            if not item.success:
                if severity == "critical":
                    critical += 1
                else:
                    warnings += 1
    with warehouse.connect() as conn:
        conn.execute(RESULTS_DDL)
        with conn.cursor() as cur:
            cur.executemany(
                """insert into quality.validation_results (run_id, checkpoint, suite, expectation, column_name,
                   success, severity, observed_value, unexpected_count, element_count)
                   values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                rows,
            )
    docs = _build_data_docs(context)
    return CheckResult(run_id, critical == 0, critical, warnings, len(rows), docs)


def _suite_severity(context, suite_name: str) -> str:
    return (context.suites.get(suite_name).meta or {}).get("severity", "critical")


def _build_data_docs(context) -> str | None:
    """Data Docs go to the output folder (site `kopru_outputs`, its path from KOPRU_DATA_DOCS_DIR), not into git."""
    try:
        context.build_data_docs(site_names=["kopru_outputs"])
    except Exception:  # noqa: BLE001 - docs are a convenience; the results are already stored
        return None
    return os.path.join(os.environ["KOPRU_DATA_DOCS_DIR"], "index.html")
