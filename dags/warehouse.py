"""Build the warehouse with dbt whenever any source family has landed new files."""

from datetime import datetime
from functools import reduce
from operator import or_

from airflow.sdk import Asset, dag, task
from kopru.orchestration.dags import ASSET_MARTS_BUILD, ASSET_RAW, DEFAULT_ARGS, SOURCE_FAMILIES

RAW_ASSETS = [Asset(ASSET_RAW.format(family=family)) for family in SOURCE_FAMILIES]
MARTS_BUILD = Asset(ASSET_MARTS_BUILD)


@dag(
    dag_id="warehouse",
    schedule=reduce(or_, RAW_ASSETS),  # any family's new files
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kopru", "dbt"],
    doc_md="""
### warehouse
`dbt build` of `dbt_project/` (seeds, staging → intermediate → marts, tests and unit tests) against the warehouse,
with the marts built into `marts_build`: the `quality` DAG publishes them to `marts` once its gate passes.
Runs when any `ingest_*` DAG updates its raw asset. A failing model or test fails the task.
""",
)
def warehouse():
    @task(outlets=[MARTS_BUILD])
    def dbt_build() -> dict:
        from kopru.orchestration.tasks import build_warehouse

        return build_warehouse()

    dbt_build()


warehouse()
