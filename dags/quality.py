"""The data-quality gate: Great Expectations checkpoints over the freshly built marts."""

from datetime import datetime

from airflow.sdk import Asset, Param, dag, task
from kopru.orchestration.dags import ASSET_MARTS, ASSET_MARTS_BUILD, ASSET_QUALITY, DEFAULT_ARGS

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
    params={"override_reason": Param(None, type=["null", "string"],
                                     description="publish the latest blocked build as it is, for this reason")},
    doc_md="""
### quality
The publication gate. Runs the `warehouse_gate` checkpoint of `expectations/` (GX Core, imported inside the task)
over the freshly built `marts_build`: mart keys and indicators, ISAS completeness, registry completeness, every raw
feed's suite (from the feed contract) and delivery volumes. Every expectation's result is kept in
`quality.validation_results`, the aid records ISAS has not accepted in `quality.isas_missing_entries`, the decision
in `quality.publications`; Data Docs go to `$KOPRU_HOME/outputs/data_docs`.
No critical failure → `marts_build` is swapped in as `marts` (one transaction). A critical failure fails the task,
saying in a few lines which check, feed, delivery and numbers: the marts BI and the reports read keep the last good
version. Warnings never block. An operator who accepts the failures triggers the DAG with `override_reason`: the
blocked build is published as it is, and `quality.publications` and the reports keep who, when and why.
""",
)
def quality():
    @task(outlets=[QUALITY, MARTS])
    def run_checkpoint(params=None, dag_run=None) -> dict:
        from kopru.orchestration.tasks import check_quality

        reason = (params or {}).get("override_reason")
        by = getattr(dag_run, "triggering_user_name", None) or "airflow"
        return check_quality(override_reason=reason, by=by)

    run_checkpoint()


quality()
