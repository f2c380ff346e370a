"""Delivery volumes judged statistically: a small district's daily deliveries for a year never block, however
small a day; a real collapse of a large feed (a tenth of its usual volume) does, and so does a snapshot that lost
most of its records."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest


@pytest.fixture
def volumes_db(warehouse_url):
    from kopru import warehouse

    with warehouse.scratch_database("kopru_volumes", warehouse_url):
        with warehouse.connect(autocommit=True) as conn:
            yield conn


def deliver(conn, source: str, feed: str, counts: list[int], first_day: date = date(2025, 1, 1)) -> None:
    """A delivery a day, of the given record counts, recorded as loaded files (the manifest is all the judge reads)."""
    with conn.cursor() as cursor:
        cursor.executemany(
            """insert into ingest.files (source, feed, file_name, sha256, size_bytes, delivered_on, status, rows_in,
                                         rows_loaded, rows_quarantined, rows_duplicate)
               values (%s, %s, %s, md5(%s), 1, %s, 'loaded', %s, %s, 0, 0)""",
            [(source, feed, f"{source}_{feed}_{day:%Y%m%d}.csv", f"{feed}{day}", day, n, n)
             for day, n in ((first_day + timedelta(days=i), n) for i, n in enumerate(counts))])


def judged(conn) -> list[tuple]:
    from kopru.quality import gx
    from kopru.quality.volumes import write_delivery_volumes

    levels = gx.quality_levels()["feeds"]
    write_delivery_volumes(conn, gx.volume_checked_feeds(gx.quality_levels()), float(levels["min_volume_ratio"]),
                           float(levels["volume_alarm_probability"]), int(levels["volume_window_days"]))
    return conn.execute("""select source || '/' || feed, delivered_on, rows_in, expected_rows, plausible
                           from quality.delivery_volumes order by 1, 2""").fetchall()


def poisson_days(rng: random.Random, mean: float, days: int) -> list[int]:
    import numpy as np

    return [int(n) for n in np.random.default_rng(rng.randrange(1 << 30)).poisson(mean, days)]


def test_a_small_districts_daily_deliveries_for_a_year_never_block(volumes_db):
    rng = random.Random(400)
    deliver(volumes_db, "belediye", "aid", poisson_days(rng, 5, 365))  # ~5 aid records a day, 1s and 0s included
    deliver(volumes_db, "devlet", "isas_alindi", poisson_days(rng, 4, 365))
    deliver(volumes_db, "sosyalkart", "transactions", poisson_days(rng, 12, 365))
    households = [400]
    for _ in range(364):  # a full snapshot a day: a few families come and go
        households.append(max(1, households[-1] + rng.choice([-2, -1, 0, 0, 0, 1, 2])))
    deliver(volumes_db, "belediye", "households", households)
    days = judged(volumes_db)
    assert len(days) == 4 * 364  # every day judged but each feed's first
    assert [d for d in days if not d[4]] == []
    assert any(d[2] <= 1 for d in days if d[0] == "belediye/aid")  # the quiet days were there, and passed


def test_a_collapse_of_a_large_feed_blocks_and_a_quiet_weekend_does_not(volumes_db):
    rng = random.Random(1)
    usual = poisson_days(rng, 1230, 60)
    weekend_half = [n // 2 if i % 7 in (5, 6) else n for i, n in enumerate(usual)]
    deliver(volumes_db, "belediye", "aid", [*weekend_half, 123])
    deliver(volumes_db, "belediye", "households", [50_000] * 30 + [5_000])
    days = {(feed, day): (n, expected, plausible) for feed, day, n, expected, plausible in judged(volumes_db)}
    assert all(plausible for (feed, day), (n, _, plausible) in days.items() if n not in (123, 5_000))
    collapse = days[("belediye/aid", date(2025, 1, 1) + timedelta(days=60))]
    assert collapse[0] == 123 and not collapse[2] and 1000 < collapse[1] < 1300
    assert not days[("belediye/households", date(2025, 1, 31))][2]
