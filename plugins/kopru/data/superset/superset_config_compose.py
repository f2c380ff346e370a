"""Superset's settings in docker compose: secrets from the environment, metadata in its own database."""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = f"postgresql+psycopg2://superset:{os.environ['SUPERSET_DB_PASSWORD']}@warehouse:5432/superset"
FEATURE_FLAGS = {}
