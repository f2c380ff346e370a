"""What the DAG files declare: default arguments, the assets that chain the DAGs, and the one factory the four ingest
DAGs share. Task bodies are in kopru.orchestration.tasks, imported inside the tasks."""

from __future__ import annotations

from datetime import timedelta

from kopru import alerts, periods

DEFAULT_ARGS = {
    "owner": "kopru-data-team",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "on_failure_callback": alerts.task_failed,  # mails the data team once the retries are spent
}

SOURCE_FAMILIES = ("belediye", "sosyalkart", "devlet", "stk")
INGEST_DAGS = tuple(f"ingest_{family}" for family in SOURCE_FAMILIES)

ASSET_RAW = "kopru://warehouse/raw/{family}"
ASSET_MARTS_BUILD = "kopru://warehouse/marts_build"  # built, not yet through the quality gate
ASSET_MARTS = "kopru://warehouse/marts"  # published: what BI and the reports read
ASSET_QUALITY = "kopru://warehouse/quality"


def ingest_dag(family: str, schedule: str, description: str, pull: str | None = None):
    """The DAG of one source family: (pull its deliveries into the inbox,) land its files, then update the
    family's raw asset. `pull` is "http" (state web service) or "sftp" (NGO drop); see kopru.ingest.pull.

    The four ingest DAGs differ only in family, schedule, description and pull, so their DAG files call this.
    """
    from datetime import datetime

    from airflow.sdk import Asset, Param, dag, get_current_context, task

    pulled_by = {
        "http": "First `pull_from_service` saves the day's responses of the state web service (HTTP connection "
                "`devlet_api`) into the inbox as JSON Lines.",
        "sftp": "First `fetch_from_sftp` copies new files of the NGO SFTP drop (connection `ngo_sftp`) into the "
                "inbox (one folder per NGO; a file claiming another NGO is rejected); after landing, "
                "`mark_processed` moves the ones recorded in `ingest.files`, matched by hash, to their folder's "
                "`processed/`.",
    }.get(pull or "", "")

    @dag(
        dag_id=f"ingest_{family}",
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["kopru", "ingest", family],
        params={"inbox": Param(None, type=["null", "string"], description="folder of delivered files")},
        doc_md=f"""
### ingest_{family}
{description}

{pulled_by} With no connection configured, the DAG reads the local inbox only.
Reads every `{family}_*` file of the inbox (`params.inbox`, default `$KOPRU_HOME/inbox`), lands each in its
own transaction and records it in `ingest.files`; bad rows go to `ingest.quarantine` with a reason code.
Re-running is safe: identical bytes are recorded as `duplicate_file` and load nothing.
""",
    )
    def ingest():
        @task(outlets=[Asset(ASSET_RAW.format(family=family))])
        def land_files(params=None) -> dict:
            from airflow.sdk.exceptions import AirflowSkipException

            from kopru.orchestration.tasks import ingest_family

            summary = ingest_family(family, (params or {}).get("inbox"))
            if not summary["changed"]:
                # A skipped task emits no asset event: nothing is rebuilt for nothing.
                raise AirflowSkipException(f"nothing new landed ({summary['files']} file(s) seen)")
            return summary

        if pull == "http":
            @task
            def pull_from_service(params=None) -> list[str]:
                interval_start = get_current_context().get("data_interval_start")
                # The run at the start of a day pulls the day that ended (in Istanbul), complete.
                day = periods.local_day(interval_start) - timedelta(days=1) if interval_start else None
                from kopru.orchestration.tasks import pull_state_feeds

                return pull_state_feeds((params or {}).get("inbox"), day)

            pull_from_service() >> land_files()
        elif pull == "sftp":
            @task
            def fetch_from_sftp(params=None) -> list[dict]:
                from kopru.orchestration.tasks import fetch_ngo_drop

                return fetch_ngo_drop((params or {}).get("inbox"))

            @task(trigger_rule="none_failed")  # also after a run that landed nothing new (skipped)
            def mark_processed(fetched: list[dict]) -> list[str]:
                from kopru.orchestration.tasks import mark_ngo_files_processed

                return mark_ngo_files_processed(fetched)

            fetched = fetch_from_sftp()
            fetched >> land_files() >> mark_processed(fetched)
        else:
            land_files()

    return ingest()
