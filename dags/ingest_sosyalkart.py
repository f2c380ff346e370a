"""Ingest the `sosyalkart` source family from the inbox into raw tables (one transaction per file)."""

from datetime import datetime

from airflow.sdk import Asset, Param, dag, task
from kopru.orchestration import DEFAULT_ARGS

RAW_SOSYALKART = Asset("kopru://warehouse/raw/sosyalkart")


@dag(
    dag_id="ingest_sosyalkart",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kopru", "ingest", "sosyalkart"],
    params={"inbox": Param(None, type=["null", "string"], description="folder of delivered files")},
    doc_md="""
### ingest_sosyalkart
Single-card processor transactions (top-ups, spending, refunds).

Reads every `sosyalkart_*` file of the inbox (`params.inbox`, default `$KOPRU_HOME/inbox`), lands each in its
own transaction and records it in `ingest.files`; bad rows go to `ingest.quarantine` with a reason code.
Re-running is safe: identical bytes are recorded as `duplicate_file` and load nothing.
""",
)
def ingest_sosyalkart():
    @task(outlets=[RAW_SOSYALKART])
    def land_files(params=None) -> dict:
        from kopru.orchestration import ingest_family

        return ingest_family("sosyalkart", (params or {}).get("inbox"))

    land_files()


ingest_sosyalkart()
