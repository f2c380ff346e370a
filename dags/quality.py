"""The data-quality gate: Great Expectations checkpoints over the freshly built marts."""

from datetime import datetime

from airflow.sdk import Asset, dag, task
from kopru.orchestration import ASSET_MARTS, ASSET_MARTS_BUILD, ASSET_QUALITY, DEFAULT_ARGS

MARTS_BUILD = Asset(ASSET_MARTS_BUILD)
MARTS = Asset(ASSET_MARTS)
QUALITY = Asset(ASSET_QUALITY)


@dag(
    dag_id="quality",
    schedule=[MARTS_BUILD],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 0},
    tags=["kopru", "quality", "great-expectations"],
    doc_md="""
### quality
The publication gate. Runs the `warehouse_gate` checkpoint of `expectations/` (GX Core, imported inside the task)
over the freshly built `marts_build`: mart keys and indicators, ISAS completeness, registry completeness, every raw
feed's suite (from the feed contract) and delivery volumes. Every expectation's result is kept in
`quality.validation_results`, the aid records ISAS has not accepted in `quality.isas_missing_entries`, the decision
in `quality.publications`; Data Docs go to `$KOPRU_HOME/outputs/data_docs`.
No critical failure → `marts_build` is swapped in as `marts` (one transaction). A critical failure fails the task:
the marts BI and the reports read keep the last good version. Warnings never block.
""",
)
def quality():
    @task(outlets=[QUALITY, MARTS])
    def run_checkpoint() -> dict:
        from kopru.orchestration import check_quality

        return check_quality()

    run_checkpoint()


quality()
