"""The ingest benchmark runs end to end (at a small scale here; `make bench-ingest` runs the district scale)."""

from __future__ import annotations

import re
import time
from datetime import date

from kopru.bench import aid_feed, bench_ingest


def test_bench_ingest_compares_the_same_rows(tmp_path, warehouse_url, db):
    feed = tmp_path / "belediye_aid_20240701.csv"
    rows = aid_feed(feed, "İstanbul/Sultangazi", 200, date(2024, 1, 1), date(2024, 6, 30), 3)
    result = bench_ingest(feed)
    assert result.rows == rows > 100
    assert result.psql_seconds > 0 and result.psql_typed_seconds > 0 and result.our_seconds > 0
    # the rows our load wrote, copied again by psql into the raw table's shape (bench_ingest counts them all)
    assert result.psql_written_seconds > 0 and "of the rows ours wrote" in "\n".join(result.lines())
    assert "ratio" in result.lines()[-1] and "typed shape" in result.lines()[-2]
    # The scratch database is gone and the warehouse the suite uses is untouched.
    assert db.execute("select count(*) from pg_database where datname = 'kopru_bench'").fetchone()[0] == 0


def test_the_pipeline_bench_samples_peaks_of_its_processes_the_server_and_the_disk(tmp_path, warehouse_url):
    """`kopru bench pipeline` reports peak memory and disk from its own sampler: a child holding 300 MB shows in the
    bench's tree, the running warehouse server in its own figure, a file in the data directory's size."""
    import subprocess
    import sys
    import time

    from kopru import warehouse
    from kopru.bench import PeakSampler

    data_dir = warehouse.embedded().pgdata
    child = subprocess.Popen([sys.executable, "-c", "import time; held = bytearray(300 * 2**20); time.sleep(30)"])
    try:
        with PeakSampler(data_dir, interval=0.2, disk_every=0.0) as sampler:
            time.sleep(2.5)
    finally:
        child.kill()
        child.wait()
    peaks = sampler.peaks
    assert peaks["largest bench process"] >= 300 * 2**20
    assert peaks["bench process tree"] >= peaks["largest bench process"]
    assert peaks["largest warehouse process"] > 10 * 2**20
    assert peaks["warehouse data directory"] > 10 * 2**20
    assert [line.split()[-1] for line in sampler.lines()] == ["GB"] * 4


def test_the_pipeline_bench_logs_a_slow_statements_plan_but_never_its_parameters(warehouse_url, monkeypatch):
    """At scale a plan can go wrong on one run's statistics only: the bench's database logs the plan of a slow
    statement (auto_explain), and not its parameters, which for the loader include the pseudonym key's HMAC pads."""
    import psycopg
    from kopru import bench, warehouse

    monkeypatch.setattr(bench, "SLOW_STATEMENT_PLAN_LOGGED_AFTER", "1s")
    log = warehouse.embedded().log_file
    with warehouse.scratch_database(bench.BENCH_DATABASE, warehouse_url) as url:
        bench._log_slow_plans(warehouse_url)
        logged_before = log.stat().st_size
        with psycopg.connect(url) as conn:
            conn.execute("select pg_sleep(1.2), %s::text as secret_pad", ("pad-7f3a9c",))
        time.sleep(0.5)  # the server writes its log line as the statement ends
        with log.open("rb") as handle:
            handle.seek(logged_before)
            written = handle.read().decode(errors="replace")
    assert "plan:" in written and "pg_sleep(1.2)" in written
    assert "pad-7f3a9c" not in written


def test_a_bench_kept_after_its_ingest_goes_on_from_the_warehouse_stage(warehouse_url, db):
    """At 500,000 households landing the history takes 40 minutes: `--stop-after ingest` keeps the bench's database
    and deliveries, and `--from-ingested` builds on them again from scratch, so a model's change is measured at scale
    without landing everything again."""
    import io

    import psycopg
    import pytest
    from kopru import bench, warehouse

    def run(**options) -> str:
        terminal = io.StringIO()
        bench.run_pipeline_bench("İstanbul/Sultangazi", 40, date(2025, 1, 1), date(2025, 2, 28), 5, terminal,
                                 **options)
        return terminal.getvalue()

    bench_url = warehouse.with_database(warehouse_url, bench.BENCH_DATABASE)
    try:
        with pytest.raises(bench.BenchRefused, match="--stop-after ingest"):
            run(from_ingested=True)
        printed = run(stop_after="ingest")
        assert "ingest, DAGs side by side" in printed and "kept: database kopru_bench" in printed
        # what the stage wrote: WAL, of it full-page images, and the checkpoints that caused them
        written = re.search(r"WAL ([\d,]+) MB, ([\d,]+) full-page images \(at most [\d,]+ MB\), (\d+) checkpoints: "
                            r"ingest, DAGs side by side", printed)
        assert written and float(written[1].replace(",", "")) > 0, printed
        assert (bench.kept_bench_folder() / "daily").is_dir()
        with psycopg.connect(bench_url, autocommit=True) as conn:
            landed = conn.execute("select count(*) from raw.belediye__aid").fetchone()[0]
            conn.execute("create table staging.left_by_an_earlier_build (n integer)")
        assert landed > 0

        printed = run(from_ingested=True, stop_after="warehouse")
        assert "drop what dbt built" in printed and "ingest, DAGs side by side" not in printed
        assert re.search(r"  [1-9][\d,]* tables and views dropped", printed)  # the earlier build's table at least
        assert "slowest models of the full build" in printed
        with psycopg.connect(bench_url, autocommit=True) as conn:
            assert conn.execute("select count(*) from raw.belediye__aid").fetchone()[0] == landed
            assert conn.execute("select to_regclass('staging.left_by_an_earlier_build')").fetchone()[0] is None
            assert conn.execute("select count(*) from marts_build.fct_aid").fetchone()[0] > 0
    finally:
        warehouse.drop_database(bench.BENCH_DATABASE, warehouse_url)
    assert db.execute("select count(*) from pg_database where datname = %s",
                      (bench.BENCH_DATABASE,)).fetchone()[0] == 0


def test_a_bench_warns_before_it_starts_when_the_disk_has_less_room_than_such_a_run_wrote(tmp_path):
    """Earlier benches' servers and homes filled this disk once mid-run; the next says so before it starts."""
    import shutil

    from kopru.bench import DISK_FIXED_BYTES, DISK_PER_HOUSEHOLD_BYTES, disk_warning

    free = shutil.disk_usage(tmp_path).free
    too_many = max(0, free - DISK_FIXED_BYTES) // DISK_PER_HOUSEHOLD_BYTES + 1_000_000
    warning = disk_warning(too_many, tmp_path)
    assert warning.startswith("warning: ") and f"{too_many:,} households" in warning
    assert "kopru warehouse stop" in warning
    # what a kept ingest already wrote is not asked for again
    assert disk_warning(too_many, tmp_path,
                        already_written=DISK_FIXED_BYTES + DISK_PER_HOUSEHOLD_BYTES * too_many) is None


def test_a_story_is_linked_into_the_bench_and_survives_the_run_draining_it(tmp_path):
    """A ten-district story is 8.2 GB: linked, not copied, and the run's moves and modes leave its files readable."""
    import shutil

    from kopru.bench import _link_or_copy

    story, inbox, archive = tmp_path / "story", tmp_path / "bench" / "inbox", tmp_path / "archive"
    story.mkdir()
    (story / "belediye_aid_2026-06-30.csv").write_text("aid_id;tckn\n1;x\n", encoding="utf-8")
    shutil.copytree(story, inbox, copy_function=_link_or_copy)
    delivered = inbox / "belediye_aid_2026-06-30.csv"
    assert delivered.stat().st_ino == (story / delivered.name).stat().st_ino
    archive.mkdir()
    shutil.move(delivered, archive / delivered.name)  # what drain_inbox does with a loaded file
    (archive / delivered.name).chmod(0o600)
    assert (story / delivered.name).read_text(encoding="utf-8") == "aid_id;tckn\n1;x\n"
