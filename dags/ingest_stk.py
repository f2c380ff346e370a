"""Airflow DAG `ingest_stk`: land the `stk` source family's files from the inbox into raw tables."""

from kopru.orchestration.dags import ingest_dag

ingest_dag(
    "stk",
    schedule="@monthly",
    description="""Partner NGOs' monthly files, each read through its mapping file.""",
    pull="sftp",
)
