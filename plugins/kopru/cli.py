"""`kopru` — the command line of Köprü. Each subcommand calls the same function the Airflow tasks call."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

DISTRICTS_HELP = ("spread the households over the district and the N-1 others of its province nearest to it in "
                  "population (ten districts' worth is ten districts' mahalle, not one district ten times as full)")


def districts_asked(args) -> str:
    """`--district`, or with `--districts N` it and the N-1 districts like it, comma-separated."""
    if args.districts == 1:
        return args.district
    from kopru.generate.sample import districts_like

    return districts_like(args.district, args.districts)


def _print(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def cmd_warehouse(args) -> int:
    from kopru import warehouse

    if args.action == "start":
        url = warehouse.start()
        print(f"warehouse running: {warehouse.redacted_url(url)}")
    elif args.action == "stop":
        warehouse.stop()
        print("warehouse stopped")
    elif args.action == "status":
        info = warehouse.status()
        _print(info)
        return 0 if info.get("running") else 1
    elif args.action == "url":
        print(warehouse.administrator_url() if args.show_password else warehouse.redacted_url())
    elif args.action == "bi-url":
        warehouse.start()
        print(warehouse.bi_url())
    elif args.action == "backup":
        if not args.out:
            raise warehouse.BackupFailed("backup needs --out FILE")
        warehouse.start()
        _print(warehouse.backup(Path(args.out)))
    elif args.action == "restore":
        if not args.file:
            raise warehouse.BackupFailed("restore needs the backup FILE")
        _print(warehouse.restore(Path(args.file)))
    return 0


def cmd_generate(args) -> int:
    from kopru import config
    from kopru.generate.sample import Dirt, continue_story, default_truth_dir, generate

    out = config.confined_path(args.out, "inbox")
    truth_dir = config.confined_path(args.truth, "ground-truth folder") if args.truth else default_truth_dir(out)
    end = date.fromisoformat(args.end) if args.end else None
    if args.continue_story:
        written, story = continue_story(out, end, truth_dir)
        print(f"{story['district']}, {story['households']} households: {len(written)} files "
              f"({sum(written.values()):,} bytes) to {story['end']} written to {args.out}")
        return 0
    dirt = Dirt.clean() if args.clean else Dirt.parse(args.dirt or [])
    written = generate(districts_asked(args), args.households, date.fromisoformat(args.start),
                       end or date(2024, 12, 31), args.seed, out, dirt, truth_dir, args.cadence, args.referral_rate)
    print(f"{len(written)} files, {sum(written.values()):,} bytes written to {args.out}; "
          f"ground truth in {truth_dir} (`kopru generate --continue --out {args.out}` writes what follows)")
    return 0


def cmd_bi(args) -> int:
    """Superset with the Köprü dashboard, on 127.0.0.1 (kopru.bi)."""
    import os
    import signal

    from kopru import bi, config, console, warehouse

    warehouse.start()
    log = console.log_file("bi")
    print(f"Apache Superset with the {bi.DASHBOARD_TITLE} dashboard; its own output: {log}")
    started = time.monotonic()
    installed = bi.set_up(warehouse.bi_url(), log)
    print(f"  {'installed, ' if installed else ''}configured and imported in {time.monotonic() - started:.0f} s")
    server = bi.serve(args.port, log)
    try:
        for chart, rows in bi.chart_rows(args.port).items():
            print(f"    {chart:<48} {rows:5d} rows")
        print(f"  http://127.0.0.1:{args.port}/superset/dashboard/kopru-h41/  (user {bi.ADMIN}, password in "
              f"{config.kopru_home() / 'secrets' / 'superset_admin_password'}); Ctrl-C stops it")
        if args.check:
            return 0
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
    return 0


def cmd_docs(args) -> int:
    from kopru import transform, warehouse

    warehouse.start()
    page = transform.docs()
    print(f"dbt docs: {page} (one page, works offline: open it in a browser)")
    if args.serve:
        import functools
        import http.server

        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(page.parent))
        with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
            print(f"serving http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
    return 0


def cmd_replay(args) -> int:
    from kopru import config, console
    from kopru.replay import default_work_folder, replay_and_compare

    work = config.confined_path(args.work, "replay folder") if args.work else default_work_folder()
    started = time.monotonic()
    log = console.log_file("replay")
    print(f"A line per day; dbt's and GX's own output: {log}")
    with console.tools_logged_to(log) as terminal:
        days, differing = replay_and_compare(args.households, date.fromisoformat(args.start),
                                             date.fromisoformat(args.end), args.seed, work,
                                             progress=lambda line: print(line, file=terminal, flush=True))
    blocked = [d for d in days if d.gate == "blocked"]
    reports = [(d.day, r) for d in days for r in d.reports]
    print(f"\n{len(days)} days replayed in {time.monotonic() - started:,.0f} s "
          f"({sum(d.seconds for d in days) / max(len(days), 1):.1f} s a day); {len(blocked)} blocked; "
          f"reports: {', '.join(f'{day} {r}' for day, r in reports) or 'none'}")
    for table, (replayed, bulk) in differing.items():
        print(f"  marts.{table} differs from the bulk load: {replayed} vs {bulk}")
    print("the replayed marts equal one bulk load of the same files" if not differing else
          f"{len(differing)} mart tables differ from one bulk load of the same files")
    return 0 if not blocked and not differing else 1


def cmd_ingest(args) -> int:
    from kopru import config, warehouse
    from kopru.orchestration.tasks import land_inbox

    inbox = config.confined_path(args.inbox, "inbox")
    if not inbox.is_dir():
        raise config.PathNotAllowed(f"the inbox {args.inbox!r} does not exist or is not a folder")
    warehouse.start()
    summary = land_inbox(inbox, tuple(args.source) if args.source else None, drain=not args.keep_files)
    _print(summary)
    return 1 if summary.get("error") else 0


def cmd_build(args) -> int:
    from kopru import transform, warehouse
    from kopru.quality.gate import BUILD_SCHEMA

    warehouse.start()
    _print(transform.build(args.select, marts_schema=BUILD_SCHEMA, full_refresh=args.full_refresh))
    print(f"built into {BUILD_SCHEMA}; `kopru publish` runs the quality gate and publishes it as marts")
    return 0


def cmd_check(args) -> int:
    from kopru import warehouse
    from kopru.quality import gx

    warehouse.start()
    if args.define:
        gx.define(schema=args.schema)
    result = gx.run_checkpoint(args.checkpoint, schema=args.schema)
    _print(result.as_xcom())
    return 0 if result.success else 1


def cmd_publish(args) -> int:
    import getpass

    from kopru import warehouse
    from kopru.orchestration.tasks import check_quality
    from kopru.quality.gate import QualityGateBlocked

    warehouse.start()
    try:
        _print(check_quality((args.reason or "") if args.override else None, args.by or getpass.getuser()))
    except QualityGateBlocked as blocked:
        print(f"kopru: {blocked}", file=sys.stderr)
        return 1
    return 0


def cmd_report(args) -> int:
    from kopru import config, periods
    from kopru.orchestration.tasks import write_due_reports, write_report

    if args.due:
        as_of = date.fromisoformat(args.as_of) if args.as_of else periods.local_day()
        _print(write_due_reports(as_of, args.out))
        return 0
    if args.commentary_template:
        from kopru.reports import commentary

        if args.period is None:
            raise config.SettingError("--commentary-template needs --period (2024-H1, 2024-H2 or 2024)")
        out = config.confined_path(args.out, "commentary file") if args.out else None
        path = commentary.write_template(args.period, out)
        print(f"{path}: fill in the explanation columns and put it back as {commentary.file_for(args.period)}; "
              f"the period's report merges it")
        return 0
    if args.public:
        from kopru.periods import Period
        from kopru.reports.transparency import render

        if args.period is None or Period.parse(args.period).kind != "year":
            raise config.SettingError("--public needs --period YYYY: the public report covers a year")
        out = config.confined_path(args.out, "report folder") if args.out else \
            config.outputs_dir() / "reports" / f"kamuoyu_{args.period}"
        _print(render(int(args.period), out))
        return 0
    _print(write_report(args.period, args.out))
    return 0


def cmd_privacy(args) -> int:
    from kopru import periods, privacy, warehouse

    warehouse.start()
    if args.action == "retention":
        as_of = date.fromisoformat(args.as_of) if args.as_of else periods.local_day()
        _print(privacy.apply_retention(as_of))
        return 0
    if not args.tckn or args.reason is None:
        raise privacy.ErasureRefused("erase needs --tckn and --reason")
    erasure = privacy.erase(args.tckn, args.reason, args.by)
    _print(erasure.as_dict())
    if not erasure.published:
        print("kopru: the rebuilt marts were not published (a critical check failed): the published marts hold the "
              "erased rows until the next publication", file=sys.stderr)
        return 1
    return 0


def cmd_linkage(args) -> int:
    from kopru.linkage import evaluate

    score = evaluate(Path(args.truth))
    print(json.dumps({"rows": score.rows_evaluated, "should_link": score.should_link, "linked": score.linked,
                      "linked_by_id": score.linked_by_id, "linked_by_name": score.linked_by_name,
                      "precision": round(score.precision, 4), "recall": round(score.recall, 4)}, indent=2))
    return 0


def cmd_bench(args) -> int:
    from kopru.bench import run_ingest_bench, run_pipeline_bench

    if args.what == "pipeline":
        from kopru import console

        log = console.log_file("bench")
        print(f"Every stage at scale through Airflow, a line per stage; the tools' own output: {log}")
        with console.tools_logged_to(log) as terminal:
            run_pipeline_bench(districts_asked(args), args.households, date.fromisoformat(args.start),
                               date.fromisoformat(args.end), args.seed, terminal,
                               Path(args.story) if args.story else None, args.stop_after, args.from_ingested,
                               args.keep)
        return 0
    run_ingest_bench(districts_asked(args), args.households, date.fromisoformat(args.start),
                     date.fromisoformat(args.end), args.seed, Path(args.file) if args.file else None)
    return 0


def _latest_gate_decision() -> tuple[str, int, int] | None:
    """(status, critical failures, warnings) of the publication gate's latest decision; None before the first."""
    from kopru import warehouse

    with warehouse.connect(role="reporter") as conn:
        return conn.execute(
            "select status, critical_failures, warnings from quality.publications order by publication_id desc limit 1"
        ).fetchone()


def _why_a_step_failed(failed_dag_ids: tuple[str, ...]) -> str:
    """What the warehouse says of a failed quality step (the gate's latest decision), as the start of a sentence."""
    if "quality" not in failed_dag_ids:
        return ""
    decision = _latest_gate_decision()
    if not decision or decision[0] != "blocked":
        return ""
    return (f"the quality gate blocked the build ({decision[1]} critical check(s) failed, quality.validation_results) "
            "and the marts keep the last good version; ")


def cmd_run(args) -> int:
    from kopru import config, console, warehouse
    from kopru.orchestration.dags import INGEST_DAGS
    from kopru.orchestration.local_runs import DagRunFailed, run_pipeline

    if not Path(args.inbox).is_dir():
        raise config.PathNotAllowed(f"the inbox {args.inbox!r} does not exist or is not a folder")
    log = console.log_file("run")
    print(f"The pipeline through Airflow, a line per step; Airflow's, dbt's and GX's own output: {log}")
    try:
        with console.tools_logged_to(log) as terminal:
            states = run_pipeline(Path(args.inbox), args.period, Path(args.out) if args.out else None,
                                  show_step=lambda dag_ids: console.step(terminal, ", ".join(dag_ids)))
    except DagRunFailed as failed:
        print(f"kopru: {failed}; {_why_a_step_failed(failed.dag_ids)}the tasks' own words are in {log}",
              file=sys.stderr)
        return 1
    except Exception:
        print(f"A step failed: its DAG run's log is in {log}", file=sys.stderr)
        raise
    print("  the ingest DAGs' own times: " + ", ".join(
        f"{dag_id} {seconds:.1f} s" for dag_id, _state, seconds in states if dag_id in INGEST_DAGS))
    outputs = config.outputs_dir()
    print("\nKöprü outputs")
    print(f"  warehouse       {warehouse.redacted_url()}")
    with warehouse.connect(role="reporter") as conn:
        marts = [name for (name,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
    decision = _latest_gate_decision()
    print(f"  marts           schema `marts` ({', '.join(marts)})")
    if decision:
        print(f"  publication     {decision[0]} ({decision[1]} critical, {decision[2]} warnings; quality.publications)")
    print("  quality         quality.validation_results, quality.isas_missing_entries; Data Docs: "
          + str(outputs / "data_docs/index.html"))
    reports = Path(args.out) if args.out else outputs / "reports"
    print(f"  reports         {reports} (archived in {config.archive_dir()})")
    print(f"  airflow home    {config.airflow_home()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from kopru.orchestration.dags import SOURCE_FAMILIES

    parser = argparse.ArgumentParser(
        prog="kopru",
        description="Köprü: social-support data warehouse. Each command is what the matching Airflow task runs.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("warehouse", help="start, stop, inspect the warehouse (embedded PostgreSQL unless "
                                         "KOPRU_WAREHOUSE_URL is set)")
    p.add_argument("action", choices=["start", "stop", "status", "url", "bi-url", "backup", "restore"],
                   help="bi-url: the read-only URL a BI tool connects with (the published marts only)")
    p.add_argument("file", nargs="?", help="restore: the backup file (written by `kopru warehouse backup`)")
    p.add_argument("--show-password", action="store_true", help="url: print the password too")
    p.add_argument("--out", help="backup: the file to write (pg_dump custom format)")
    p.set_defaults(func=cmd_warehouse)

    p = sub.add_parser("generate", help="write realistic sample deliveries of every feed into a folder")
    p.add_argument("--district", default="İstanbul/Sultangazi",
                   help="İl/İlçe from the reference data; several separated by commas")
    p.add_argument("--districts", type=int, default=1, metavar="N", help=DISTRICTS_HELP)
    p.add_argument("--households", type=int, default=400)
    p.add_argument("--start", type=day_argument, default="2023-01-01")
    p.add_argument("--end", type=day_argument,
                   help="the last day (default 2024-12-31; with --continue: one more day, or month if monthly)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", required=True, help="inbox folder to write to")
    p.add_argument("--truth", help="folder for the ground-truth files (default: ground_truth/ beside --out)")
    p.add_argument("--dirt", action="append", metavar="KIND=RATE",
                   help="change one dirt rate, e.g. ngo_id_missing=0.2 (repeatable; see kopru.generate.sample.Dirt)")
    p.add_argument("--clean", action="store_true", help="no dirt at all")
    p.add_argument("--cadence", choices=("monthly", "daily"), default="monthly",
                   help="monthly files and half-yearly snapshots (default), or every feed every day as in "
                        "production (NGOs monthly either way)")
    p.add_argument("--referral-rate", type=float, default=0.012,
                   help="monthly chance that an unemployed, employable person is referred to employment (the demo's "
                        "plan-size district uses 0.002, which lands near PG4.1.4's targets)")
    p.add_argument("--continue", dest="continue_story", action="store_true",
                   help="go on where the deliveries of --out stopped (same district, households and IDs; their "
                        "story is in the ground-truth folder) up to --end")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("bi", help="Apache Superset on 127.0.0.1 with the Köprü — H4.1 dashboard, through the BI login "
                                  "(installed once into $KOPRU_HOME/superset)")
    p.add_argument("--port", type=int, default=8088)
    p.add_argument("--check", action="store_true", help="set up, run every chart's query once, and stop")
    p.set_defaults(func=cmd_bi)

    p = sub.add_parser("docs", help="the dbt docs site (models, columns, lineage, the 'how to ask' page) as one "
                                    "offline page under $KOPRU_HOME/outputs/dbt_docs; --serve: on 127.0.0.1")
    p.add_argument("--serve", action="store_true")
    p.add_argument("--port", type=int, default=8081)
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("replay", help="a district's daily deliveries replayed day by day through the daily chain, "
                                      "then compared with one bulk load of the same files")
    p.add_argument("--households", type=int, default=120)
    p.add_argument("--start", type=day_argument, default="2024-01-01")
    # through the next 5 January: the closed year's reports are written from the replayed days
    p.add_argument("--end", type=day_argument, default="2025-01-05")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--work", help="folder for the deliveries, inboxes and reports (default: $KOPRU_HOME/replay)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("ingest", help="land every file of an inbox folder (manifest, quarantine, raw tables)")
    p.add_argument("--inbox", required=True)
    p.add_argument("--source", action="append", choices=SOURCE_FAMILIES,
                   help="only these source families (repeatable)")
    p.add_argument("--keep-files", action="store_true",
                   help="leave the files in the inbox (by default each recorded file moves to "
                        "$KOPRU_HOME/archive/processed/<day>/, as the ingest DAGs do)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("build", help="dbt build: seeds, staging, intermediate, marts and their tests")
    p.add_argument("--select", help="dbt selector, e.g. marts.indicators+")
    p.add_argument("--full-refresh", action="store_true",
                   help="rebuild incremental models from all current rows (after changing their logic)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("check", help="run a Great Expectations checkpoint; exit 1 on a critical failure")
    p.add_argument("--checkpoint", default="warehouse_gate")
    p.add_argument("--schema", default="marts", help="the marts to check: marts (published) or marts_build")
    p.add_argument("--define", action="store_true",
                   help="first rewrite the suites from the feed contract and expectations/quality_levels.yml")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("publish", help="the publication gate: check marts_build and, if nothing critical fails, "
                                       "swap it in as marts")
    p.add_argument("--override", action="store_true",
                   help="publish the latest blocked build as it is, accepting its failed checks (needs --reason)")
    p.add_argument("--reason", help="with --override: why the failures are accepted (kept, and shown in reports)")
    p.add_argument("--by", help="with --override: who accepts them (default: this account's user name)")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("report", help="write the izleme (2024-H1) or değerlendirme (2024) report: PDF, XLSX, HTML")
    p.add_argument("--period", type=period_argument,
                   help="2024-H1, 2024-H2 or 2024; default: the half-year that closed last (Istanbul's today)")
    p.add_argument("--due", action="store_true",
                   help="write exactly what the scheduled reports run writes on --as-of: the izleme report of the "
                        "half-year closed last and, when a year closed, its değerlendirme and public reports")
    p.add_argument("--as-of", type=day_argument, help="with --due: the day, YYYY-MM-DD (default: Istanbul's today)")
    p.add_argument("--public", action="store_true",
                   help="the public transparency report of the period's year (disclosure-controlled aggregates)")
    p.add_argument("--commentary-template", action="store_true",
                   help="write the period's workbook for the unit's explanations (sapma nedenleri, alınan önlemler, "
                        "öneriler) into $KOPRU_HOME/commentary; the period's report merges it once returned there")
    p.add_argument("--out", help="output folder; default $KOPRU_HOME/outputs/reports/<period>")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("privacy", help="KVKK: erase a person (and the family they head) on request; retention")
    p.add_argument("action", choices=["erase", "retention"],
                   help="erase: a person on request; retention: purge what is older than its retention period")
    p.add_argument("--tckn", help="erase: the national ID (TCKN or YKN) of the person who asked")
    p.add_argument("--reason", help="erase: why (the request's reference), kept in privacy.erasures")
    p.add_argument("--as-of", type=day_argument, help="retention: the day, YYYY-MM-DD (default: Istanbul's today)")
    p.add_argument("--by", help="who carries it out (default: this account's user name)")
    p.set_defaults(func=cmd_privacy)

    p = sub.add_parser("linkage", help="measure NGO-row linkage against a ground-truth file (precision, recall)")
    p.add_argument("what", choices=["evaluate"])
    p.add_argument("--truth", required=True, help="stk_rows.csv written by `kopru generate` beside the inbox")
    p.set_defaults(func=cmd_linkage)

    p = sub.add_parser("bench", help="benchmarks that print ratios: `bench ingest` = our load vs psql \\copy, "
                                     "`bench pipeline` = every stage at district scale, then a one-day delivery")
    p.add_argument("what", choices=["ingest", "pipeline"])
    p.add_argument("--district", default="İstanbul/Sultangazi")
    p.add_argument("--districts", type=int, default=1, metavar="N", help=DISTRICTS_HELP)
    p.add_argument("--households", type=int, default=50000, help="district scale by default")
    p.add_argument("--start", default="2019-07-01")
    p.add_argument("--end", default="2026-06-30")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--file", help="an existing belediye_aid_<date>.csv instead of generating one")
    p.add_argument("--story", help="pipeline: an inbox `kopru generate` wrote for the same arguments, linked (or "
                                   "copied) instead of generating one")
    p.add_argument("--stop-after", choices=["ingest", "warehouse"],
                   help="pipeline: stop after this stage and keep the bench's database and deliveries")
    p.add_argument("--from-ingested", action="store_true",
                   help="pipeline: start from the database a `--stop-after` run kept, at the warehouse stage (what "
                        "dbt built is dropped first); kept until a run from it has landed its one-day delivery")
    p.add_argument("--keep", action="store_true",
                   help="pipeline: leave the bench's database on the server at the end, to look into")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("run", help="the whole pipeline through Airflow DAG runs over an inbox")
    p.add_argument("--inbox", required=True)
    p.add_argument("--period", type=period_argument,
                   help="write just this period's report; default: what is due on the first reporting day after the "
                        "inbox's latest delivery")
    p.add_argument("--out", help="report output folder")
    p.set_defaults(func=cmd_run)
    return parser


def known_failure(error: BaseException) -> str | None:
    """The one sentence that explains a failure an operator can meet and mend; None for anything else (a bug,
    which keeps its traceback)."""
    import psycopg

    from kopru import config
    from kopru.bench import BenchRefused
    from kopru.bi import BiToolFailed
    from kopru.generate.sample import GenerationRefused
    from kopru.ingest.manifest import PseudonymKeyMismatch
    from kopru.ingest.origin import GeneratedDataMixed
    from kopru.privacy import ErasureRefused
    from kopru.quality.gate import OverrideRefused
    from kopru.schema import UnversionedWarehouse
    from kopru.warehouse import BackupFailed, WarehouseNotRunning

    if isinstance(error, config.SettingError | config.PathNotAllowed | PseudonymKeyMismatch | WarehouseNotRunning
                  | ErasureRefused | OverrideRefused | BackupFailed | GenerationRefused
                  | GeneratedDataMixed | BiToolFailed | UnversionedWarehouse | BenchRefused):
        return str(error)
    if isinstance(error, LookupError) and str(error).startswith("no indicator values"):
        return f"{error}: the marts hold no data for that period yet"
    if isinstance(error, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName):
        return ("the warehouse has no published marts to read yet: run the pipeline first (`kopru run --inbox "
                "DIR`, or `kopru ingest`, `kopru build` and `kopru publish`)")
    if isinstance(error, psycopg.OperationalError):
        from kopru import warehouse

        return (f"the warehouse at {warehouse.redacted_url()} cannot be reached: start it with "
                "`kopru warehouse start` (or check KOPRU_WAREHOUSE_URL)")
    return None


def period_argument(text: str) -> str:
    from kopru.periods import Period

    try:
        return str(Period.parse(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def day_argument(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: write YYYY-MM-DD") from None
    return text


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as error:
        message = known_failure(error)
        if message is None:
            raise
        print(f"kopru: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
