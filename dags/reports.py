"""The directorate's reports: a monitoring report after each half-year closes, an evaluation report yearly."""

from datetime import datetime

from airflow.sdk import Param, dag, task
from kopru.orchestration.dags import DEFAULT_ARGS


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
        "as_of": Param(None, type=["null", "string"], format="date",
                       description="write what is due on this day (YYYY-MM-DD); default: the run's own day"),
    },
    doc_md="""
### reports
Writes what is due on the run's day (its data interval's end, as an Istanbul day; `params.as_of` to set it): the
izleme report of the half-year that closed last and, when that closes a year, the year's değerlendirme report and
the public transparency report (`params.period` writes just that period), from the published marts (a period that
ended before they begin, as when the warehouse went live after it, is listed as not written, with why),
as HTML, PDF and XLSX under `$KOPRU_HOME/outputs/reports/` unless `params.out` says otherwise. Each report is
archived with the warehouse state it came from, and mailed (PDF and XLSX) to KOPRU_REPORT_RECIPIENTS through the
`kopru_smtp` connection when both are configured.
""",
)
def reports():
    @task
    def write_reports(params=None, data_interval_end=None, dag_run=None) -> list[dict]:
        from kopru.orchestration.tasks import due_day, write_due_reports

        params = params or {}
        as_of = due_day(params.get("as_of"), data_interval_end or (dag_run.run_after if dag_run else None))
        return write_due_reports(as_of, params.get("out"), params.get("period"))

    write_reports()


reports()
