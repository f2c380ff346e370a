"""No Docker engine runs here, so the production compose file is checked by parsing it."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_of_the_production_shape(compose):
    services = compose["services"]
    for name in ("warehouse", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                 "airflow-init", "smtp", "superset", "superset-init"):
        assert name in services, name
    assert services["airflow-worker"]["profiles"] == ["celery"]
    assert services["warehouse"]["image"].startswith("postgres:")
    assert "3.3.2" in services["airflow-scheduler"]["image"]


def test_long_running_services_have_health_checks(compose):
    for name, service in compose["services"].items():
        if name not in ("airflow-init", "superset-init"):  # one-shot services
            assert "healthcheck" in service, name
    assert "/api/v2/monitor/health" in " ".join(compose["services"]["airflow-apiserver"]["healthcheck"]["test"])


def test_airflow_mounts_the_project(compose):
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        targets = {volume.split(":")[1] for volume in compose["services"][name]["volumes"]}
        for folder in ("/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/dbt_project",
                       "/opt/airflow/expectations"):
            assert folder in targets, (name, folder)


def test_one_warehouse_setting_and_a_read_only_bi_user(compose):
    env = compose["services"]["airflow-scheduler"]["environment"]
    assert env["KOPRU_WAREHOUSE_URL"].startswith("postgresql://")
    provisioning = (ROOT / "plugins/kopru/data/superset/compose_init.sh").read_text()
    assert "bi_reader_login:{password}@warehouse:5432/kopru" in provisioning
    init = (ROOT / "deploy/postgres-init/10-kopru.sh").read_text()
    assert "in role bi_reader" in init


def test_no_secret_is_hard_coded(compose):
    text = (ROOT / "docker-compose.yml").read_text()
    secret_keys = re.compile(r"(PASSWORD|PASS|SECRET|FERNET_KEY|PSEUDONYM_KEY)$")

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and secret_keys.search(key) and isinstance(value, str):
                    assert value.startswith("${"), f"{key} is hard-coded"
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(compose)
    for url in re.findall(r"postgres(?:ql)?(?:\+\w+)?://[^\s\"']+", text):
        assert re.search(r"://\w+:\$\{", url) or "@" not in url, url


def test_the_warehouse_runs_with_the_embedded_servers_settings(compose):
    from kopru.warehouse import server_settings

    command = compose["services"]["warehouse"]["command"]
    assert command[0] == "postgres"
    flags = command[1:]
    assert flags[::2] == ["-c"] * (len(flags) // 2)
    assert dict(flag.split("=", 1) for flag in flags[1::2]) == server_settings()
    assert server_settings()["shared_buffers"] == "2GB"


def test_the_warehouse_is_initialised_with_the_embedded_servers_locale(compose):
    from kopru.warehouse import INITDB_LOCALE_ARGUMENTS

    arguments = compose["services"]["warehouse"]["environment"]["POSTGRES_INITDB_ARGS"].split()
    assert arguments == list(INITDB_LOCALE_ARGUMENTS)
    assert "--locale-provider=builtin" in arguments


def test_nothing_is_published_on_all_interfaces(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_superset_has_its_own_database_user_and_bi_queries_are_bounded(compose):
    settings = (ROOT / "plugins/kopru/data/superset/superset_config_compose.py").read_text()
    assert "postgresql+psycopg2://superset:" in settings and "SUPERSET_DB_PASSWORD" in settings
    init = (ROOT / "deploy/postgres-init/10-kopru.sh").read_text()
    assert "create database superset owner superset" in init
    assert "alter role bi_reader_login set statement_timeout" in init


def test_mail_leaves_the_relay_only_over_tls(compose):
    assert compose["services"]["smtp"]["environment"]["POSTFIX_smtp_tls_security_level"] == "encrypt"


def test_only_the_init_service_holds_the_administrators_login(compose):
    """Tasks log in as their own roles (kopru.config.WAREHOUSE_ROLES); the superuser's password reaches the
    warehouse's own container and airflow-init, which bootstraps, and nothing else."""
    from kopru import config

    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        holds_admin = "KOPRU_DB_PASSWORD" in str(env) or "KOPRU_DB_PASSWORD" in str(service.get("command", ""))
        assert holds_admin == (name in ("warehouse", "airflow-init")), name
        if name.startswith("airflow-") and name != "airflow-init":
            assert "@" not in env["KOPRU_WAREHOUSE_URL"]
            for role in config.WAREHOUSE_ROLES:
                assert env[f"KOPRU_{role.upper()}_PASSWORD"].startswith("${"), (name, role)
            assert env["AIRFLOW_CONN_KOPRU_WAREHOUSE"].startswith("postgresql://kopru_reporter:")
    assert "kopru.cli warehouse start" in "".join(compose["services"]["airflow-init"]["command"])



def test_compose_provisions_the_dashboard_kopru_bi_imports(compose):
    """One dashboard definition: compose's superset-init mounts the folder `kopru bi` reads and imports its bundle."""
    from kopru import bi

    for name in ("superset", "superset-init"):
        service = compose["services"][name]
        assert service["image"] == "apache/superset:6.1.0"
        assert "./plugins/kopru/data/superset:/app/kopru:ro" in service["volumes"]
    assert bi.SUPERSET_FILES == ROOT / "plugins/kopru/data/superset"
    provisioning = (ROOT / "plugins/kopru/data/superset/compose_init.sh").read_text()
    assert "cp -r /app/kopru/bundle" in provisioning and "superset import-dashboards" in provisioning
    assert compose["services"]["superset"]["depends_on"]["superset-init"]["condition"] == \
        "service_completed_successfully"


def test_the_celery_profile_is_the_configuration_the_celery_test_runs(compose):
    """tests/test_scheduler.py runs the day under kopru.orchestration.standalone.start_celery; production's `celery`
    profile must set the same things: the executor, a Redis broker and results in the metadata DB."""
    from kopru.orchestration.standalone import celery_settings

    tested = celery_settings("redis://127.0.0.1:6379/0", "postgresql+psycopg2://airflow:secret@127.0.0.1/airflow")
    worker = compose["services"]["airflow-worker"]["environment"]
    assert set(tested) <= set(worker), set(tested) - set(worker)
    assert worker["AIRFLOW__CORE__EXECUTOR"] == tested["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert worker["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert tested["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert worker["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert compose["services"]["redis"]["profiles"] == ["celery"]
    # the scheduler must hand tasks to Celery too: AIRFLOW_EXECUTOR=CeleryExecutor with the profile (README)
    assert compose["x-airflow-common"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
