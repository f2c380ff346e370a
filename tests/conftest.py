"""Shared fixtures: one real embedded PostgreSQL for the session, under a temporary KOPRU_HOME, and a small
sample delivery written by the project's own generator."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

SESSION_HOME = None


@pytest.fixture(scope="session")
def kopru_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("kopru_home")
    os.environ["KOPRU_HOME"] = str(home)
    # Tests write inboxes and reports into their own temporary folders, beside KOPRU_HOME.
    os.environ["KOPRU_ALLOWED_PATHS"] = str(tmp_path_factory.getbasetemp())
    os.environ.pop("KOPRU_WAREHOUSE_URL", None)
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    return home


@pytest.fixture(scope="session")
def warehouse_url(kopru_home) -> str:
    from kopru import warehouse

    url = warehouse.start()
    # Airflow reads its home and metadata DB once, at its first import: point it at this session's before any test
    # imports it.
    from kopru.orchestration.local_runs import airflow_environment

    os.environ.update(airflow_environment())
    yield url
    warehouse.stop()


@pytest.fixture
def db(warehouse_url):
    import psycopg

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def sample_inbox(kopru_home) -> Path:
    from kopru.generate.sample import generate

    inbox = kopru_home / "inbox"
    generate("İstanbul/Sultangazi", 150, date(2023, 7, 1), date(2024, 12, 31), 11, inbox)
    return inbox

