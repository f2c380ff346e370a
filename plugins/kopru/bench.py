"""Benchmarks that print ratios, not timed tests: our load of a feed against `psql \\copy` of the same file.

`kopru bench ingest` builds the district-scale municipal aid feed (every aid delivery of the sample district over
the plan period, in one file), then, in a scratch database on the same server, times
  1. `psql \\copy` of the file into a table of text columns (the floor: bytes into rows, nothing checked),
  2. `psql \\copy` of the file into a table of the raw table's shape (typed columns, the lineage primary key and
     the business-key index, nothing checked): what any load into a typed, keyed table costs at least, and
  3. our ingest_file of the same file (strict typing and checks, quarantine, keyed pseudonyms, row versions and
     the manifest, in one transaction),
  4. `psql \\copy` of the rows our load wrote (every column filled: pseudonyms, row hash, lineage) into another table of
     the raw table's shape: what writing those rows costs at COPY's speed, whoever computes them — the part of our
     time no change to the checks can take away,
and prints rows/s of each and the ratios of ours to the first two.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

BENCH_DATABASE = "kopru_bench"

# What a whole pipeline bench wrote at most here, as a line through two runs (decisions.md, 2026-12-03): the server's
# data directory peaked at 9.83 GB for 50,000 households and 50.17 GB for 500,000, and the generated inbox, copied
# into the bench, is 8.4 GB at 500,000.
DISK_FIXED_BYTES = 5_400_000_000
DISK_PER_HOUSEHOLD_BYTES = 107_000


def _link_or_copy(source: str, target: str) -> None:
    """A story's file linked into the bench's inbox where the two share a file system: a ten-district story is
    8.2 GB, and the loader archives a file by moving it, never writing into it."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def disk_warning(households: int, folder: Path, already_written: int = 0) -> str | None:
    """A sentence when the disk under `folder` has less room than a run of `households` wrote at most here, less
    what is `already_written` (a kept ingest); None when it has enough. A bench that fills the disk fails an hour
    in, and takes everything else writing there down with it."""
    needed = DISK_FIXED_BYTES + DISK_PER_HOUSEHOLD_BYTES * households - already_written
    free = shutil.disk_usage(folder).free
    if free >= needed:
        return None
    return (f"warning: {free / 1e9:.1f} GB free on the disk of {folder}, and a run of {households:,} households "
            f"wrote up to {needed / 1e9:.1f} GB more here: stop the servers of earlier benches "
            "(`kopru warehouse stop` with their KOPRU_HOME) and delete their homes first")


class PeakSampler:
    """Peaks of what a bench holds, sampled every `interval` seconds in a thread (Linux /proc; nothing elsewhere):
    the resident memory of the largest process of this process's tree (the generator, Airflow's task processes, dbt)
    and of the whole tree, of the largest warehouse server process (shared buffers it touched included), and the size
    of the server's data directory (write-ahead log included), read every `disk_every` seconds."""

    def __init__(self, data_dir: Path | None, interval: float = 3.0, disk_every: float = 30.0):
        import threading

        self.data_dir, self.interval, self.disk_every = data_dir, interval, disk_every
        self.peaks = {"largest bench process": 0, "bench process tree": 0, "largest warehouse process": 0,
                      "warehouse data directory": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-sampler", daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample(disk=True)

    def _run(self) -> None:
        last_disk = 0.0
        while not self._stop.wait(self.interval):
            disk = time.monotonic() - last_disk >= self.disk_every
            last_disk = time.monotonic() if disk else last_disk
            self.sample(disk)

    def sample(self, disk: bool = False) -> None:
        parents, resident = {}, {}
        for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                        parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
                    with open(f"/proc/{entry}/statm", encoding="ascii") as handle:
                        resident[int(entry)] = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
                except (OSError, ValueError, IndexError):
                    continue
        bench = self._tree(os.getpid(), parents)
        server = self._tree(self._postmaster(), parents) if self.data_dir else set()
        self._peak("largest bench process", max((resident.get(p, 0) for p in bench), default=0))
        self._peak("bench process tree", sum(resident.get(p, 0) for p in bench - server))
        self._peak("largest warehouse process", max((resident.get(p, 0) for p in server), default=0))
        if disk and self.data_dir and self.data_dir.exists():
            self._peak("warehouse data directory", _disk_usage(self.data_dir))

    def _peak(self, name: str, value: int) -> None:
        self.peaks[name] = max(self.peaks[name], value)

    def _postmaster(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text(encoding="ascii").split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def _tree(root: int | None, parents: dict[int, int]) -> set[int]:
        """`root` and its descendants."""
        if root is None:
            return set()
        tree, grown = {root}, True
        while grown:
            children = {pid for pid, parent in parents.items() if parent in tree} - tree
            grown = bool(children)
            tree |= children
        return tree

    def lines(self) -> list[str]:
        return [f"peak {name:<28} {value / 1e9:>9.2f} GB" for name, value in self.peaks.items()]


def _disk_usage(folder: Path) -> int:
    """Bytes the files under `folder` take on disk (du), files that vanish while it counts left out."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                continue
    return total


@dataclass
class IngestBench:
    rows: int
    psql_seconds: float
    our_seconds: float
    psql_typed_seconds: float
    psql_written_seconds: float

    @property
    def ratio(self) -> float:
        return self.psql_seconds / self.our_seconds

    @property
    def ratio_to_typed(self) -> float:
        return self.psql_typed_seconds / self.our_seconds

    def lines(self) -> list[str]:
        def line(label: str, seconds: float) -> str:
            return f"{label:<34}{seconds:>9.2f} s  {self.rows / seconds:>12,.0f} rows/s"

        return [
            f"{'rows':<34}{self.rows:>12,}",
            line("psql \\copy (text table)", self.psql_seconds),
            line("psql \\copy (raw table's shape)", self.psql_typed_seconds),
            line("kopru ingest_file", self.our_seconds),
            line("psql \\copy of the rows ours wrote", self.psql_written_seconds),
            f"{'ratio (ours / psql, typed shape)':<34}{self.ratio_to_typed:>12.3f}",
            f"{'ratio (ours / psql)':<34}{self.ratio:>12.3f}",
        ]


def aid_feed(path: Path, district: str, households: int, start: date, end: date, seed: int) -> int:
    """One `belediye_aid` file holding every aid delivery the generator simulates for the district."""
    from kopru.generate.sample import APPEND_COLUMNS, Generator

    generator = Generator(district, households, start, end, seed)
    generator.build_registry()
    events = generator.simulate()
    columns = APPEND_COLUMNS["aid"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for _day, row in events["aid"]:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return len(events["aid"])


def _psql() -> str:
    from kopru.warehouse import _pg_bin

    bundled = _pg_bin() / "psql"
    return str(bundled) if bundled.exists() else "psql"


def bench_ingest(feed: Path) -> IngestBench:
    import psycopg
    from psycopg import sql

    from kopru import config, warehouse
    from kopru.ingest.contract import FEEDS
    from kopru.ingest.loader import ingest_file, raw_columns

    spec = FEEDS[("belediye", "aid")]
    columns = ", ".join(c.name for c in spec.columns)
    with warehouse.scratch_database(BENCH_DATABASE, warehouse.start()) as url:

        def settled() -> None:
            """Each load starts from a clean slate: earlier loads' dirty pages written out, and no autovacuum of
            the copy tables (disabled on them) running beside the next one."""
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("checkpoint")

        def psql_copy(table: str, columns: str = columns, path: Path = feed) -> float:
            settled()
            started = time.perf_counter()
            subprocess.run(
                [_psql(), url, "-v", "ON_ERROR_STOP=1", "-qc",
                 f"\\copy {table} ({columns}) from '{path}' with (format csv, header true)"],
                check=True, capture_output=True,
            )
            return time.perf_counter() - started

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"create table copy_text ({', '.join(c.name + ' text' for c in spec.columns)})"
                         " with (autovacuum_enabled = false)")
            # The raw table's columns, lineage primary key and business-key index (the scratch warehouse's, made by
            # its bootstrap); every row from file 1.
            conn.execute(f"create table copy_typed (like {spec.raw_table} including all)")
            conn.execute("alter table copy_typed set (autovacuum_enabled = false)")
            conn.execute("alter table copy_typed alter _file_id set default 1")
            conn.execute("create sequence copy_typed_rows owned by copy_typed._row_number")
            conn.execute("alter table copy_typed alter _row_number set default nextval('copy_typed_rows')")
        psql_seconds = psql_copy("copy_text")
        psql_typed_seconds = psql_copy("copy_typed")

        settled()
        with psycopg.connect(url, autocommit=True) as conn:
            started = time.perf_counter()
            result = ingest_file(conn, feed, config.pseudonym_key())
            our_seconds = time.perf_counter() - started
            copied = conn.execute("select count(*) from copy_text").fetchone()[0]
        written_columns = [name for name, _ in raw_columns(spec)] + ["_is_current"]
        with tempfile.TemporaryDirectory(prefix="kopru-bench-") as folder, \
                psycopg.connect(url, autocommit=True) as conn:
            written = Path(folder) / "rows_written.csv"
            with written.open("wb") as out, conn.cursor().copy(
                sql.SQL("copy (select {} from {}) to stdout with (format csv, header true)").format(
                    sql.SQL(", ").join(map(sql.Identifier, written_columns)),
                    sql.Identifier(*spec.raw_table.split(".")))
            ) as rows:
                for block in rows:
                    out.write(block)
            conn.execute(f"create table copy_written (like {spec.raw_table} including all)"
                         " with (autovacuum_enabled = false)")
            psql_written_seconds = psql_copy("copy_written", ", ".join(written_columns), written)
            copied_again = conn.execute("select count(*) from copy_written").fetchone()[0]
    if result.rows_in != copied:
        raise RuntimeError(f"psql copied {copied} rows but the loader read {result.rows_in}")
    if copied_again != result.rows_loaded:
        raise RuntimeError(f"psql copied {copied_again} of the {result.rows_loaded} rows the loader wrote")
    return IngestBench(copied, psql_seconds, our_seconds, psql_typed_seconds, psql_written_seconds)


def run_ingest_bench(district: str, households: int, start: date, end: date, seed: int,
                     feed: Path | None = None) -> IngestBench:
    with tempfile.TemporaryDirectory(prefix="kopru-bench-") as folder:
        if feed is None:
            feed = Path(folder) / f"belediye_aid_{end:%Y%m%d}.csv"
            started = time.perf_counter()
            rows = aid_feed(feed, district, households, start, end, seed)
            print(f"district-scale aid feed: {rows:,} rows, {feed.stat().st_size / 1e6:.0f} MB "
                  f"({households:,} households, {start}..{end}), written in {time.perf_counter() - started:.0f} s")
        result = bench_ingest(feed)
    for line in result.lines():
        print(line)
    return result


def _one_day_delivery(inbox: Path, out: Path) -> Path:
    """A one-day municipal aid delivery after the sample's end: an average day's share of the latest monthly file,
    re-issued under new ids for the first day after it, as the next day's file (daily cadence from then on)."""
    from datetime import timedelta

    from kopru.generate.sample import mark_generated
    from kopru.ingest.contract import parse_file_name

    latest = max(inbox.glob("belediye_aid_*.csv"))
    with open(latest, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # an average day's worth of the month's deliveries
    day_rows = rows[: max(1, round(len(rows) / 30))]
    next_day = parse_file_name(latest.name).delivered_on + timedelta(days=1)
    shifted = next_day - timedelta(days=1)  # the file of day D holds the deliveries of D − 1
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"belediye_aid_{next_day:%Y%m%d}.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in day_rows:
            writer.writerow(row | {"aid_id": "N" + row["aid_id"][1:], "delivered_on": shifted.isoformat(),
                                   "isas_ref": "", "isas_entered_on": ""})
    mark_generated(out, [path.name])  # sample data like the rest: the gate refuses a mix of sample and real
    return path


# A statement that runs this long in the bench's database has its plan written to the server's log (auto_explain):
# a plan that goes wrong at one size only, on one run's statistics, is seen where it happened.
SLOW_STATEMENT_PLAN_LOGGED_AFTER = "60s"


def _log_slow_plans(server_url: str) -> None:
    """Sessions of the bench's database load auto_explain (shipped with PostgreSQL) and log the plan of any statement
    slower than SLOW_STATEMENT_PLAN_LOGGED_AFTER, without its parameters."""
    import psycopg
    from psycopg import sql

    from kopru import warehouse

    with psycopg.connect(warehouse.with_database(server_url, BENCH_DATABASE), autocommit=True) as conn:
        database = sql.Identifier(BENCH_DATABASE)
        conn.execute(sql.SQL("alter database {} set session_preload_libraries = 'auto_explain'").format(database))
        conn.execute(sql.SQL("alter database {} set auto_explain.log_min_duration = {}").format(
            database, sql.Literal(SLOW_STATEMENT_PLAN_LOGGED_AFTER)))
        # Never a statement's parameters: the loader passes the pseudonym key's HMAC pads as parameters.
        conn.execute(sql.SQL("alter database {} set auto_explain.log_parameter_max_length = 0").format(database))


@dataclass(frozen=True)
class WalCounters:
    """The server's WAL and checkpoints so far (pg_stat_wal, pg_stat_checkpointer): a stage's difference says how
    much it wrote and how much of that were full-page images, the copy of a whole page that the first change to it
    after each checkpoint writes — what grows faster than the rows when large random-key indexes take inserts
    between frequent checkpoints."""

    wal_bytes: int
    full_page_images: int
    checkpoints: int

    def __sub__(self, before: WalCounters) -> WalCounters:
        return WalCounters(self.wal_bytes - before.wal_bytes, self.full_page_images - before.full_page_images,
                           self.checkpoints - before.checkpoints)

    def line(self, stage: str) -> str:
        return (f"  WAL {self.wal_bytes / 1e6:,.0f} MB, {self.full_page_images:,} full-page images (at most "
                f"{self.full_page_images * 8192 / 1e6:,.0f} MB), {self.checkpoints} checkpoints: {stage}")


def wal_counters(server_url: str) -> WalCounters:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        wal_bytes, images = conn.execute("select wal_bytes, wal_fpi from pg_stat_wal").fetchone()
        (checkpoints,) = conn.execute("select num_timed + num_requested from pg_stat_checkpointer").fetchone()
    return WalCounters(int(wal_bytes), int(images), int(checkpoints))


# The schemas dbt builds into (dbt_project.yml); a run from a kept, ingested database drops what they hold, so that
# its build is a first build, as in the whole bench. The schemas stay: their grants are the migrations'.
DBT_BUILT_SCHEMAS = ("staging", "intermediate", "seeds", "marts_build", "marts")


class BenchRefused(RuntimeError):
    """A bench asked of a state it cannot start from (no kept database to resume)."""


def kept_bench_folder() -> Path:
    """Where a bench stopped early (`--stop-after`) keeps its deliveries: the drained inbox, the day's delivery and
    the reports folder, beside its kept database."""
    from kopru import config

    return config.kopru_home() / "bench-kept"


def _drop_what_dbt_built(url: str) -> int:
    import psycopg
    from psycopg import sql

    kinds = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}
    with psycopg.connect(url, autocommit=True) as conn:
        relations = conn.execute(
            """select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition""",
            (list(DBT_BUILT_SCHEMAS),),
        ).fetchall()
        for schema, name, kind in relations:
            conn.execute(sql.SQL("drop {} if exists {}.{} cascade").format(
                sql.SQL(kinds[kind]), sql.Identifier(schema), sql.Identifier(name)))
    return len(relations)


def _slowest_models(count: int = 10) -> list[tuple[str, float]]:
    """The models the last dbt invocation spent longest on (its run_results.json), slowest first: where a build's
    time went, to compare one scale with another model by model."""
    import json

    from kopru import config

    results = config.kopru_home() / "dbt" / "target" / "run_results.json"
    if not results.exists():
        return []
    nodes = json.loads(results.read_text(encoding="utf-8")).get("results", [])
    models = [(node["unique_id"].split(".")[-1], float(node.get("execution_time") or 0.0))
              for node in nodes if node.get("unique_id", "").startswith("model.")]
    return sorted(models, key=lambda model: -model[1])[:count]


def _print_slowest(slowest: list[tuple[str, float]], terminal) -> None:
    if slowest:
        print("slowest models of the full build (two dbt threads: each beside another)", file=terminal)
        for name, seconds in slowest:
            print(f"  {name:<38} {seconds:>7.1f} s", file=terminal)


def run_pipeline_bench(district: str, households: int, start: date, end: date, seed: int,
                       terminal=None, story: Path | None = None, stop_after: str | None = None,
                       from_ingested: bool = False, keep: bool = False) -> dict[str, float]:
    """Every stage of the pipeline at scale, through Airflow DAG runs, then a one-day delivery end to end. A line
    per stage, and the table, go to `terminal` (default stdout). `story`: an inbox `kopru generate` wrote earlier
    for the same arguments, linked (or copied) instead of generating it again (the run drains the inbox it reads).

    `stop_after` ("ingest" or "warehouse"): stop after that stage and keep the bench's database and deliveries
    (kept_bench_folder) instead of dropping them. `from_ingested`: start from such a kept database, after its
    ingest — what dbt built is dropped and the run goes on from the warehouse stage; a model's change is then
    measured at scale without landing the history again (at 500,000 households that is 40 minutes). `keep`: a whole
    run leaves its database on the server, to be looked into (not to start from: its day has landed)."""
    from kopru import config, console, periods, warehouse

    terminal = terminal or sys.stdout
    from kopru.generate.sample import generate
    from kopru.orchestration.dags import INGEST_DAGS
    from kopru.orchestration.local_runs import PIPELINE_STEPS, ensure_airflow_db, load_dagbag, run_dags

    step_names = {step: "ingest" if step == INGEST_DAGS else step[0] for step in PIPELINE_STEPS}
    if stop_after is not None and stop_after not in ("ingest", "warehouse"):
        raise BenchRefused(f"a bench stops after ingest or warehouse, not {stop_after!r}")
    kept = stop_after is not None
    timings: dict[str, float] = {}
    ingest_runs: dict[str, float] = {}  # each ingest DAG's own run, inside the ingest step
    slowest: list[tuple[str, float]] = []  # the full build's slowest models
    wal: dict[str, WalCounters] = {}  # what each stage of the full run wrote
    generate_seconds = 0.0
    # Under KOPRU_HOME: the DAGs take inbox and report paths only inside the allowed roots.
    server_url = warehouse.start()
    pgdata = warehouse.embedded().pgdata
    data_dir = pgdata if pgdata.exists() else None
    kept_folder = kept_bench_folder()
    if from_ingested and not (kept_folder / "daily").is_dir():
        raise BenchRefused(f"no bench was kept after its ingest here ({kept_folder} is missing): run "
                           "`kopru bench pipeline --stop-after ingest` first")
    if kept and not from_ingested:
        shutil.rmtree(kept_folder, ignore_errors=True)
        kept_folder.mkdir(parents=True)
    warning = disk_warning(households, config.kopru_home(),
                           already_written=_disk_usage(pgdata) + _disk_usage(kept_folder) if from_ingested else 0)
    if warning:
        print(warning, file=terminal)
    with contextlib.ExitStack() as stack:
        peaks = stack.enter_context(PeakSampler(data_dir))
        folder = kept_folder if kept or from_ingested else Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-", dir=config.kopru_home())))
        try:
            # kept from its ingest on, until a run from it has landed its day too (a failed build loses nothing)
            stack.enter_context(warehouse.scratch_database(BENCH_DATABASE, server_url, reuse=from_ingested,
                                                           keep=kept or from_ingested or keep))
        except warehouse.ScratchDatabaseMissing as missing:
            raise BenchRefused(f"{missing}: run `kopru bench pipeline --stop-after ingest` first") from None
        _log_slow_plans(server_url)
        inbox, daily = folder / "inbox", folder / "daily"
        if from_ingested:
            with console.step(terminal, "drop what dbt built in the kept database"):
                dropped = _drop_what_dbt_built(warehouse.with_database(server_url, BENCH_DATABASE))
            print(f"  {dropped:,} tables and views dropped: the build starts from the landed rows", file=terminal)
        else:
            started = time.perf_counter()
            if story is None:
                with console.step(terminal, f"generate {households:,} households"):
                    generate(district, households, start, end, seed, inbox)
            else:
                with console.step(terminal, f"link the story of {story}"):
                    shutil.copytree(story, inbox, copy_function=_link_or_copy)
            generate_seconds = time.perf_counter() - started
            _one_day_delivery(inbox, daily)  # before the run, which moves the inbox's files to the archive
        ensure_airflow_db()
        bag = load_dagbag()
        # the reports due on the first reporting day after the window, as `kopru run` decides them
        conf = {"inbox": str(inbox), "out": str(folder / "reports"),
                "as_of": periods.reporting_day_on_or_after(end).isoformat()}
        steps = [step for step in PIPELINE_STEPS if not (from_ingested and step == INGEST_DAGS)]
        if kept:
            steps = steps[: [step_names[step] for step in steps].index(stop_after) + 1]
        for step in steps:
            started, wal_before = time.perf_counter(), wal_counters(server_url)
            with console.step(terminal, ", ".join(step)):
                runs = run_dags(step, conf, bag)
            stage = "ingest, DAGs side by side" if step == INGEST_DAGS else step[0]
            timings[stage] = time.perf_counter() - started
            wal[stage] = wal_counters(server_url) - wal_before
            if step == INGEST_DAGS:
                ingest_runs = {dag_id: seconds for dag_id, _, seconds in runs}
            if step_names[step] == "warehouse":
                slowest = _slowest_models()
        day_steps: dict[str, float] = {}
        if not kept:
            full = "pipeline after the ingest" if from_ingested else "pipeline through Airflow"
            timings[full] = sum(timings.values())
            # A day runs what a day's delivery triggers: every ingest DAG (daily schedules) and, through their
            # assets, the warehouse and the quality gate, up to published marts. The reports DAG runs twice a year
            # (5 January, 5 July), not daily.
            for step in PIPELINE_STEPS:
                if step != ("reports",):
                    started = time.perf_counter()
                    with console.step(terminal, "one day: " + ", ".join(step)):
                        run_dags(step, {"inbox": str(daily)}, bag)
                    day_steps[step_names[step]] = time.perf_counter() - started
            timings["one-day delivery, end to end"] = sum(day_steps.values())
            if from_ingested:  # the day landed in it: a second run from it would not be a first build of that state
                shutil.rmtree(kept_folder, ignore_errors=True)
                if not keep:
                    stack.callback(warehouse.drop_database, BENCH_DATABASE, server_url)
    print(f"district: {district}, {households:,} households, {start}..{end}", file=terminal)
    if not from_ingested:
        print(f"{'generate' if story is None else 'link the story':<32} {generate_seconds:>9.1f} s", file=terminal)
    for stage, seconds in timings.items():
        print(f"{stage:<32} {seconds:>9.1f} s", file=terminal)
        if stage.startswith("ingest"):
            for dag_id, own in ingest_runs.items():
                print(f"  {dag_id:<30} {own:>9.1f} s", file=terminal)
        if stage.startswith("one-day"):
            for step, own in day_steps.items():
                print(f"  {step:<30} {own:>9.1f} s", file=terminal)
    ratio_entry: dict[str, float] = {}
    if not kept:
        ratio_entry["ratio"] = timings["one-day delivery, end to end"] / timings[full]
        print(f"{'ratio incremental / ' + ('after the ingest' if from_ingested else 'full'):<32} "
              f"{ratio_entry['ratio']:>11.3f}", file=terminal)
    _print_slowest(slowest, terminal)
    if wal:
        print("WAL written by each stage of the full run", file=terminal)
        for stage, written in wal.items():
            print(written.line(stage), file=terminal)
    for line in peaks.lines():
        print(line, file=terminal)
    if kept:
        print(f"kept: database {BENCH_DATABASE} on the warehouse server, deliveries in {kept_folder}; "
              "`kopru bench pipeline --from-ingested` goes on from the warehouse stage", file=terminal)
    return {"generate": generate_seconds, **timings, **ingest_runs, **{f"one-day {k}": v for k, v in day_steps.items()},
            **ratio_entry, **{f"peak {name} bytes": value for name, value in peaks.peaks.items()},
            **{f"WAL bytes: {stage}": written.wal_bytes for stage, written in wal.items()},
            **{f"full-page images: {stage}": written.full_page_images for stage, written in wal.items()}}
