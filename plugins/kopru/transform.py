"""Build the dbt project (staging → intermediate → marts) against the one warehouse URL.

dbt runs in-process through its programmatic `dbtRunner`: one Python process per Airflow task, no shell, and
the result objects say which node failed. The profile reads KOPRU_WH_* variables that are set here from the
warehouse URL, so no secret is written to disk or committed.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kopru import config, warehouse


def dbt_environment(url: str | None = None) -> dict[str, str]:
    parts = urlsplit(url or warehouse.url("transformer"))
    return {
        "KOPRU_WH_HOST": parts.hostname or "localhost",
        "KOPRU_WH_PORT": str(parts.port or 5432),
        "KOPRU_WH_USER": unquote(parts.username or ""),
        "KOPRU_WH_PASSWORD": unquote(parts.password or ""),
        "KOPRU_WH_DBNAME": parts.path.lstrip("/") or config.WAREHOUSE_DATABASE,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }


class DbtFailed(RuntimeError):
    pass


def run_dbt(args: list[str]) -> dict:
    """Run one dbt command in-process; return a small summary (counts only, safe for XCom)."""
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment())
    target = config.kopru_home() / "dbt" / "target"
    full_args = [
        *args,
        "--project-dir", str(config.DBT_PROJECT_DIR),
        "--profiles-dir", str(config.DBT_PROJECT_DIR),
        "--target-path", str(target),
        "--log-path", str(config.kopru_home() / "dbt" / "logs"),
    ]
    result = dbtRunner().invoke(full_args)
    statuses: dict[str, int] = {}
    failures: list[str] = []
    if result.result is not None and hasattr(result.result, "results"):
        for node in result.result.results:
            status = str(node.status)
            statuses[status] = statuses.get(status, 0) + 1
            if status in ("error", "fail"):
                failures.append(node.node.unique_id)
    summary = {"command": args[0], "success": bool(result.success), "statuses": statuses, "failures": failures}
    if not result.success:
        detail = failures or [repr(result.exception)]
        raise DbtFailed(f"dbt {args[0]} failed: {', '.join(detail)}")
    return summary


def docs() -> Path:
    """The dbt docs site as one self-contained page (`dbt docs generate --static`: the manifest and the catalog
    of the published marts inside it, no request leaves the machine), copied to outputs/dbt_docs/index.html."""
    import shutil

    run_dbt(["docs", "generate", "--static"])
    site = config.outputs_dir() / "dbt_docs"
    site.mkdir(mode=0o700, exist_ok=True)
    page = site / "index.html"
    shutil.copyfile(config.kopru_home() / "dbt" / "target" / "static_index.html", page)
    page.chmod(0o600)
    return page


def build(select: str | None = None, marts_schema: str = "marts", full_refresh: bool = False,
          unit_tests: bool = True) -> dict:
    """`dbt seed` + models + snapshots + tests, in dependency order, with the marts built into `marts_schema`.
    Incremental models take only what changed since their last build; `full_refresh` rebuilds them from all
    current rows (after a change of their logic, or of raw rows made other than through the loader).
    `unit_tests=False` leaves dbt's unit tests out: they test the models' logic on fixed rows, which the scheduled
    build does not change (dbt's advice: run them in development and CI, not in production)."""
    import json

    from kopru.quality.gx import quality_levels

    # PG4.1.5's cut-off is the gate's ISAS grace: one number, in quality_levels.yml
    grace_days = int(quality_levels()["isas"]["grace_days"])
    from kopru.ingest.manifest import check_pseudonym_key, landed_through_file_id

    with warehouse.connect(autocommit=True, role="transformer") as conn:
        check_pseudonym_key(conn, config.pseudonym_key())
        # one watermark for the whole build, read when no file is half-landed (macros/incremental_current.sql)
        built_through = landed_through_file_id(conn)
    args = ["build", "--vars", json.dumps({"marts_schema": marts_schema, "isas_grace_days": grace_days,
                                           "built_through_file_id": built_through})]
    if select:
        args += ["--select", select]
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    if full_refresh:
        args.append("--full-refresh")
    with warehouse.marts_build_lock():
        summary = run_dbt(args)
        if full_refresh:
            _record_full_refresh(marts_schema)
        with warehouse.connect(autocommit=True, role="transformer") as conn:
            conn.execute("insert into quality.builds (marts_schema, full_refresh) values (%s, %s)",
                         (marts_schema, full_refresh))
    return summary


def _record_full_refresh(marts_schema: str) -> None:
    """The publication gate hands the published schema back to the next build; after a full refresh it must not
    hand back incremental marts the old logic made (kopru.quality.gate)."""
    with warehouse.connect(role="transformer") as conn:
        conn.execute("insert into quality.full_refreshes (marts_schema) values (%s)", (marts_schema,))
        conn.commit()
