"""Airflow DAG `ingest_sosyalkart`: land the `sosyalkart` source family's files from the inbox into raw tables."""

from kopru.orchestration.dags import ingest_dag

ingest_dag(
    "sosyalkart",
    schedule="@daily",
    description="""Single-card processor transactions (top-ups, spending, refunds).""",
)
