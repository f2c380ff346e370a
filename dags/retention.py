"""KVKK retention: once a month, what is older than its retention period is purged and the marts rebuilt."""

from datetime import datetime

from airflow.sdk import dag, task
from kopru.orchestration.dags import DEFAULT_ARGS


@dag(
    dag_id="retention",
    schedule="0 3 1 * *",  # the 1st of each month, at night
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kopru", "privacy", "kvkk"],
    doc_md="""
### retention
Purges the raw rows and quarantined records of files delivered longer ago than their feed's retention, and the
archived copies of files older than the archive's (`plugins/kopru/data/retention.yml`, or `KOPRU_RETENTION`), as
of the run's day in Istanbul; then rebuilds the marts in full and publishes them through the quality gate, so that
nothing purged lives on. Each run is recorded in `privacy.retention_runs`. The same as `kopru privacy retention`.
""",
)
def retention():
    @task
    def purge_expired(data_interval_end=None, dag_run=None) -> dict:
        from kopru.orchestration.tasks import due_day
        from kopru.privacy import apply_retention

        return apply_retention(due_day(None, data_interval_end or (dag_run.run_after if dag_run else None)))

    purge_expired()


retention()
