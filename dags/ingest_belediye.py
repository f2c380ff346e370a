"""Airflow DAG `ingest_belediye`: land the `belediye` source family's files from the inbox into raw tables."""

from kopru.orchestration.dags import ingest_dag

ingest_dag(
    "belediye",
    schedule="@daily",
    description="""Municipal case-management feeds (households, persons, assessments, aid, services, employment
referrals, surveys).""",
)
