"""BI on a real tool: Superset installed into its own venv, the repository's dashboard imported, every chart's query
run through Superset's API over the read-only BI login, each returning rows of the published marts."""

from __future__ import annotations

import os
import signal
import socket
from datetime import date

import pytest


@pytest.fixture(scope="module")
def published(warehouse_url, tmp_path_factory):
    """A small district, landed, built and published in a database of its own."""
    from kopru import transform, warehouse
    from kopru.generate.sample import generate
    from kopru.ingest.loader import ingest_inbox
    from kopru.quality.gate import BUILD_SCHEMA, run_gate

    inbox = tmp_path_factory.mktemp("bi") / "inbox"
    generate("İstanbul/Sultangazi", 120, date(2023, 7, 1), date(2024, 12, 31), 9, inbox)
    with warehouse.scratch_database("kopru_bi", warehouse_url) as url:
        ingest_inbox(inbox, drain=True)
        transform.build(marts_schema=BUILD_SCHEMA, unit_tests=False)
        assert run_gate().status == "published"
        yield url


@pytest.mark.slow
def test_the_dashboard_is_provisioned_and_every_chart_reads_the_marts_as_the_bi_login(published, kopru_home):
    from kopru import bi, warehouse

    log = kopru_home / "bi_test.log"
    bi.set_up(warehouse.bi_url(), log)
    bi.set_up(warehouse.bi_url(), log)  # again: configured and imported over itself, nothing doubled
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = bi.serve(port, log)
    try:
        rows = bi.chart_rows(port)
        token = bi.login(port)
        databases = bi._api(port, "/api/v1/database/?q=(page_size:100)", token)["result"]
        connection = bi._api(port, f"/api/v1/database/{databases[0]['id']}/connection", token)["result"]
        dashboards = bi._api(port, "/api/v1/dashboard/?q=(page_size:100)", token)["result"]
        origin = bi._api(port, "/api/v1/chart/data", token, {
            "datasource": {"id": next(d["id"] for d in bi._api(port, "/api/v1/dataset/?q=(page_size:100)", token)[
                "result"] if d["table_name"] == "dim_data_origin"), "type": "table"},
            "queries": [{"columns": ["note_tr"], "row_limit": 1}], "result_format": "json", "result_type": "full"})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
    assert len(rows) == 7 and all(count > 0 for count in rows.values()), rows
    assert [d["dashboard_title"] for d in dashboards] == [bi.DASHBOARD_TITLE]
    # one connection: the read-only BI login, its password kept (masked) by Superset, not by the repository
    assert len(databases) == 1
    assert connection["sqlalchemy_uri"].startswith("postgresql+psycopg2://bi_reader_login:XXXXXXXXXX@")
    assert origin["result"][0]["data"][0]["note_tr"].startswith("ÖRNEK VERİ")
