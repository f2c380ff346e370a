"""DAG integrity: every DAG file imports, and every DAG has docs, tags, an owner and retries."""

import os

import pytest
from kopru import config
from kopru.orchestration.local_runs import PIPELINE


@pytest.fixture(scope="module")
def dagbag(warehouse_url):
    from kopru.orchestration.local_runs import airflow_environment, ensure_airflow_db

    os.environ.update(airflow_environment())
    ensure_airflow_db()
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(config.DAGS_FOLDER))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_the_pipeline_dags_are_all_there(dagbag):
    assert set(PIPELINE) <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", [*PIPELINE, "retention"])
def test_dag_conventions(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    assert dag.doc_md and dag.tags and "kopru" in dag.tags
    assert not dag.catchup
    for task in dag.tasks:
        assert task.owner == "kopru-data-team"
        assert task.retries is not None
    dag.validate()  # raises on cycles and bad arguments


def test_dag_files_import_nothing_heavy_at_top_level():
    heavy = ("great_expectations", "dbt", "weasyprint", "openpyxl", "matplotlib", "splink")
    for path in config.DAGS_FOLDER.glob("*.py"):
        top_level = [line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))]
        for line in top_level:
            assert not any(f" {name}" in line for name in heavy), f"{path.name}: {line}"
