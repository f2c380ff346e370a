"""Airflow DAG `ingest_devlet`: land the `devlet` source family's files from the inbox into raw tables."""

from kopru.orchestration.dags import ingest_dag

ingest_dag(
    "devlet",
    schedule="@daily",
    description="""State agencies: SYDV/ISAS aid, ISAS receipts, İŞKUR job offers (JSON Lines).""",
    pull="http",
)
