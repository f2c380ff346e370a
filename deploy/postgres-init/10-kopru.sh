#!/usr/bin/env bash
# First start of the production warehouse: Airflow's metadata DB, Superset's own DB, and the read-only BI login.
# Passwords come from the container environment (docker-compose.yml → .env), never from this file.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
create role airflow login password '${AIRFLOW_DB_PASSWORD}';
create database airflow owner airflow;
create role superset login password '${SUPERSET_DB_PASSWORD}';
create database superset owner superset;
create role bi_reader nologin;
create role bi_reader_login login password '${BI_READER_PASSWORD}' in role bi_reader connection limit 20;
-- A dashboard's runaway query must not hold the warehouse; role settings are not inherited, so on the login.
alter role bi_reader_login set statement_timeout = '120s';
alter role bi_reader_login set idle_in_transaction_session_timeout = '60s';
SQL
