"""Is a delivery improbably small for what its feed usually carries?

A district of 400 families delivers a handful of aid records a day, and a day of 1 after days of 5 is chance, not a
collapse; a feed of a thousand records a day that brings a hundred has lost most of them. A ratio to recent days
cannot tell the two apart; counting statistics can. For each delivery no publication has passed yet:

- expected: the feed's usual volume for the days the delivery covers (since the feed's previous delivery), from its
  deliveries of the last `window_days` (at least the last three): records per day for an append feed, the
  average size for a full snapshot;
- implausible: both a real drop (fewer than `min_volume_ratio` of the expected records) and not chance (a Poisson
  count with the expected mean falls that low with probability below `alarm_probability`). The first spares a large
  feed's quiet weekend, which is significant but no collapse; the second spares a small feed's quiet day, which is
  a large drop but chance. `lowest_plausible_rows` is the smallest count that passes.

An implausible delivery fails the `feeds__delivery_volume` suite (critical), which blocks the publication, and the
gate says which feed, day and numbers. For an expected 5 a day nothing is implausible, not even 0; for 46 a month,
fewer than 12; for 1,054 a day, fewer than 264.
"""

from __future__ import annotations

import math
from datetime import timedelta


def write_delivery_volumes(conn, checked_feeds: list[tuple[str, str]], min_volume_ratio: float,
                           alarm_probability: float, window_days: int) -> None:
    """Judge every unpublished delivery of the checked feeds into quality.delivery_volumes (replacing the last)."""
    from scipy.stats import poisson

    from kopru.ingest.contract import FEEDS

    conn.execute("delete from quality.delivery_volumes")
    unpublished = {file_id for (file_id,) in conn.execute("select quality.unpublished_file_ids()")}
    rows = []
    for source, feed in checked_feeds:
        snapshot = FEEDS[(source, feed)].kind == "snapshot"
        deliveries = conn.execute(
            """select file_id, delivered_on, rows_in from ingest.files
               where status = 'loaded' and source = %s and feed = %s order by delivered_on, file_id""",
            (source, feed)).fetchall()
        for index, (file_id, day, count) in enumerate(deliveries):
            if file_id not in unpublished or index == 0:
                continue  # already judged, or the feed's first delivery, which has nothing to be judged against
            earlier = deliveries[:index]
            window = [d for d in earlier if d[1] > day - timedelta(days=window_days)]
            window = window if len(window) >= 3 else earlier[-3:]
            days_covered = max((day - earlier[-1][1]).days, 1)
            if snapshot:
                expected = sum(d[2] for d in window) / len(window)
            else:
                previous = {d[0]: earlier[i - 1][1] for i, d in enumerate(earlier) if i > 0}
                timed = [(d[2], max((d[1] - previous[d[0]]).days, 1)) for d in window if d[0] in previous]
                rate = sum(n for n, _ in timed) / sum(days for _, days in timed) if timed else float(count)
                expected = rate * (days_covered if timed else 1)
            lowest = min(int(poisson.ppf(alarm_probability, expected)), math.ceil(min_volume_ratio * expected)) \
                if expected > 0 else 0
            rows.append((source, feed, file_id, day, count, days_covered, expected, lowest, count >= lowest))
    with conn.cursor() as cursor:
        cursor.executemany(
            """insert into quality.delivery_volumes (source, feed, file_id, delivered_on, rows_in, days_covered,
                                                     expected_rows, lowest_plausible_rows, plausible)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s)""", rows)
