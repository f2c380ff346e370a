"""The ingest benchmark runs end to end (at a small scale here; `make bench-ingest` runs the district scale)."""

from __future__ import annotations

from datetime import date

from kopru.bench import aid_feed, bench_ingest


def test_bench_ingest_compares_the_same_rows(tmp_path, warehouse_url, db):
    feed = tmp_path / "belediye_aid_20240701.csv"
    rows = aid_feed(feed, "İstanbul/Sultangazi", 200, date(2024, 1, 1), date(2024, 6, 30), 3)
    result = bench_ingest(feed)
    assert result.rows == rows > 100
    assert result.psql_seconds > 0 and result.psql_typed_seconds > 0 and result.our_seconds > 0
    assert "ratio" in result.lines()[-1] and "typed shape" in result.lines()[-2]
    # The scratch database is gone and the warehouse the suite uses is untouched.
    assert db.execute("select count(*) from pg_database where datname = 'kopru_bench'").fetchone()[0] == 0
