"""Days that follow each other: a small district's daily deliveries replayed day by day through the daily chain
(kopru.replay), across the 5 July reporting day. The year-long replay is `make replay`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replayed(kopru_home, warehouse_url):
    from kopru.replay import replay_and_compare

    lines: list[str] = []
    days, differing = replay_and_compare(80, date(2024, 6, 24), date(2024, 7, 6), 5, kopru_home / "replay",
                                         progress=lines.append)
    return {"days": days, "differing": differing, "lines": lines}


def test_every_day_lands_and_publishes(replayed):
    days = replayed["days"]
    # from the first delivery (an NGO's month, or a state feed's earlier records) to the last day's
    assert days[0].day <= date(2024, 6, 25) and days[-1].day >= date(2024, 7, 7)
    assert all(d.files > 0 for d in days)
    assert {date(2024, 6, 25) + timedelta(days=i) for i in range(13)} <= {d.day for d in days}
    assert [d for d in days if d.gate != "published"] == [], "\n".join(replayed["lines"])


def test_the_reports_run_writes_what_is_due_on_5_july_only(replayed):
    assert [(d.day, d.reports) for d in replayed["days"] if d.reports] == [(date(2024, 7, 5), ["2024-H1"])]


def test_the_marts_equal_one_bulk_load_of_the_same_files(replayed):
    assert replayed["differing"] == {}
