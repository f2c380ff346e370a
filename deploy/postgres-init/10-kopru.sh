#!/usr/bin/env bash
# First start of the production warehouse: Airflow's metadata DB, Metabase's own DB, and the read-only BI login.
# Passwords come from the container environment (docker-compose.yml → .env), never from this file.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
create role airflow login password '${AIRFLOW_DB_PASSWORD}';
create database airflow owner airflow;
create database metabase owner ${POSTGRES_USER};
create role bi_reader nologin;
create role bi_reader_login login password '${BI_READER_PASSWORD}' in role bi_reader;
SQL
