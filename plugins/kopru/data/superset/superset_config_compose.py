"""Superset's settings in docker compose: secrets from the environment, metadata in its own database."""

import os

# .get: Airflow imports every file of its plugins folder; Superset itself refuses to start without a secret key
SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY")
SQLALCHEMY_DATABASE_URI = f"postgresql+psycopg2://superset:{os.environ.get('SUPERSET_DB_PASSWORD')}@warehouse:5432/superset"
FEATURE_FLAGS = {}
