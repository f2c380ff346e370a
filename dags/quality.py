"""The data-quality gate: Great Expectations checkpoints over the freshly built marts."""

from datetime import datetime

from airflow.sdk import Asset, dag, task
from kopru.orchestration import ASSET_MARTS, ASSET_QUALITY, DEFAULT_ARGS

MARTS = Asset(ASSET_MARTS)
QUALITY = Asset(ASSET_QUALITY)


@dag(
    dag_id="quality",
    schedule=[MARTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 0},
    tags=["kopru", "quality", "great-expectations"],
    doc_md="""
### quality
Runs the `warehouse_gate` checkpoint of `expectations/` (GX Core, imported inside the task). Every expectation's
result is kept in `quality.validation_results`; Data Docs are written to `$KOPRU_HOME/outputs/data_docs`.
A critical failure fails the task, so it is visible here and the reports do not publish over it.
""",
)
def quality():
    @task(outlets=[QUALITY])
    def run_checkpoint() -> dict:
        from kopru.orchestration import check_quality

        return check_quality()

    run_checkpoint()


quality()
