"""Build the warehouse with dbt whenever any source family has landed new files."""

from datetime import datetime

from airflow.sdk import Asset, dag, task
from kopru.orchestration import DEFAULT_ARGS

RAW_ASSETS = [Asset(f"kopru://warehouse/raw/{family}") for family in ("belediye", "sosyalkart", "devlet", "stk")]
MARTS = Asset("kopru://warehouse/marts")


@dag(
    dag_id="warehouse",
    schedule=RAW_ASSETS[0] | RAW_ASSETS[1] | RAW_ASSETS[2] | RAW_ASSETS[3],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kopru", "dbt"],
    doc_md="""
### warehouse
`dbt build` of `dbt_project/` (seeds, staging → intermediate → marts, tests and unit tests) against the warehouse.
Runs when any `ingest_*` DAG updates its raw asset. A failing model or test fails the task.
""",
)
def warehouse():
    @task(outlets=[MARTS])
    def dbt_build() -> dict:
        from kopru.orchestration import build_warehouse

        return build_warehouse()

    dbt_build()


warehouse()
