"""Late or missing deliveries: which of each feed's expected files never came.

A feed's cadence (config.delivery_cadence: daily, monthly, half-yearly) divides time into periods, and each period
expects a file named for a day in it. From the period of the feed's first file up to the last period that ended
`grace_days` before the latest delivery the warehouse holds, a period without a file that landed (loaded, or
superseded by a correction, or a byte-identical re-delivery) is listed in quality.missing_deliveries: `missing`
when nothing came, `rejected` when what came could not be loaded. A late file is missing until it arrives, and
leaves the list on the next gate run after. The list is rewritten by every gate run and judged as a warning: it
never blocks a publication (a month without an NGO's file is a phone call, not a reason to hold back the marts).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from kopru.periods import Period


def period_of(day: date, cadence: str) -> tuple[date, date]:
    """The first and last day of the cadence's period that holds `day`."""
    if cadence == "daily":
        return day, day
    if cadence == "monthly":
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return day.replace(day=1), following - timedelta(days=1)
    if cadence == "half_yearly":
        half = Period(day.year, 1 if day.month <= 6 else 2)
        return half.start, half.end
    raise ValueError(f"no periods for cadence {cadence!r}")


def periods_from(day: date, cadence: str) -> Iterator[tuple[date, date]]:
    start, end = period_of(day, cadence)
    while True:
        yield start, end
        start, end = period_of(end + timedelta(days=1), cadence)


def missing_deliveries(deliveries: dict[tuple[str, str], dict[date, bool]], cadence_of, grace_days: int,
                       as_of: date) -> list[tuple[str, str, str, date, date, str]]:
    """(source, feed, cadence, period start, period end, missing|rejected) for every expected period without a landed
    file. `deliveries`: per feed, each day a file was named for → whether one of that day's files landed."""
    found = []
    for (source, feed), days in sorted(deliveries.items()):
        cadence = cadence_of(source, feed)
        if cadence == "none" or not any(days.values()):
            continue
        landed = {period_of(day, cadence)[0] for day, ok in days.items() if ok}
        rejected = {period_of(day, cadence)[0] for day, ok in days.items() if not ok}
        for start, end in periods_from(min(day for day, ok in days.items() if ok), cadence):
            if end + timedelta(days=grace_days) > as_of:
                break
            if start not in landed:
                found.append((source, feed, cadence, start, end, "rejected" if start in rejected else "missing"))
    return found


def write_missing_deliveries(conn) -> int:
    """Judge every feed against its cadence into quality.missing_deliveries (replacing the last); how many listed."""
    from kopru import config

    cadence = config.delivery_cadence()
    conn.execute("delete from quality.missing_deliveries")
    deliveries: dict[tuple[str, str], dict[date, bool]] = {}
    for source, feed, day, landed in conn.execute(
            """select source, feed, delivered_on, bool_or(status <> 'rejected') from ingest.files
               where feed is not null and delivered_on is not null group by 1, 2, 3"""):
        deliveries.setdefault((source, feed), {})[day] = landed
    as_of = max((day for days in deliveries.values() for day, ok in days.items() if ok), default=None)
    if as_of is None:
        return 0
    rows = missing_deliveries(deliveries, cadence.of, cadence.grace_days, as_of)
    with conn.cursor() as cursor:
        cursor.executemany(
            """insert into quality.missing_deliveries
               (source, feed, cadence, period_start, period_end, status, judged_as_of)
               values (%s, %s, %s, %s, %s, %s, %s)""", [(*row, as_of) for row in rows])
    return len(rows)
