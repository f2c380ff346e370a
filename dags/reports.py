"""The directorate's reports: a monitoring report after each half-year closes, an evaluation report yearly."""

from datetime import datetime

from airflow.sdk import Param, dag, task
from kopru.orchestration import DEFAULT_ARGS


@dag(
    dag_id="reports",
    # Early January and early July, once the half-year's deliveries are in.
    schedule="0 6 5 1,7 *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kopru", "reports"],
    params={
        "period": Param(None, type=["null", "string"], description="2024-H1 or 2024; default: the last half-year"),
        "out": Param(None, type=["null", "string"], description="output folder"),
    },
    doc_md="""
### reports
Writes the izleme (half-year) or değerlendirme (year) report of indicators PG4.1.1–PG4.1.5 from the marts,
as HTML, PDF and XLSX, under `$KOPRU_HOME/outputs/reports/<period>/` unless `params.out` says otherwise.
""",
)
def reports():
    @task
    def write_report(params=None) -> dict:
        from kopru.orchestration import write_report as write

        params = params or {}
        return write(params.get("period"), params.get("out"))

    write_report()


reports()
