"""Reporting periods and the days they are decided on.

A day is always a day in Istanbul (Europe/Istanbul): a report due "on 5 January" is due on Istanbul's 5 January,
whatever the server's clock zone. The plan is monitored by half-year (izleme, `2024-H1`) and evaluated by year
(değerlendirme, `2024`); the directorate's reports fall due early in the month after a half-year closes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TIME_ZONE = ZoneInfo("Europe/Istanbul")
# The reports DAG's day: the 5th of January and of July, once the closed half-year's deliveries are in.
REPORTING_DAY_OF_MONTH = 5

_PERIOD = re.compile(r"(?P<year>[0-9]{4})(?:-H(?P<half>[12]))?")


def local_day(moment: datetime | None = None) -> date:
    """The Istanbul day of `moment` (an aware datetime; now when None)."""
    return (moment or datetime.now(UTC)).astimezone(LOCAL_TIME_ZONE).date()


def local_now() -> datetime:
    return datetime.now(LOCAL_TIME_ZONE)


@dataclass(frozen=True, order=True)
class Period:
    year: int
    half: int | None  # 1 or 2 for a half-year; None for the year

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.fullmatch(text)
        if not match:
            raise ValueError(f"{text!r} is not a period: write 2024-H1, 2024-H2 or 2024")
        return cls(int(match["year"]), int(match["half"]) if match["half"] else None)

    @property
    def kind(self) -> str:
        return "half_year" if self.half else "year"

    @property
    def start(self) -> date:
        return date(self.year, 7 if self.half == 2 else 1, 1)

    @property
    def end(self) -> date:
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    @property
    def whole_year(self) -> Period:
        return Period(self.year, None)

    @property
    def half_years(self) -> list[Period]:
        """The half-years the period is made of: itself, or a year's two."""
        return [self] if self.half else [Period(self.year, 1), Period(self.year, 2)]

    @property
    def year_to_date(self) -> Period:
        """What a report of this period shows as the year so far: the whole year once its second half closes."""
        return self.whole_year if self.half == 2 else self

    def __str__(self) -> str:
        return f"{self.year}-H{self.half}" if self.half else str(self.year)


def last_closed_half_year(day: date) -> Period:
    """The latest half-year that ended before `day`."""
    return Period(day.year - 1, 2) if day.month <= 6 else Period(day.year, 1)


def reports_due(day: date) -> list[tuple[str, Period]]:
    """What the scheduled reports run owes the directorate on `day`: the izleme report of the half-year that closed
    last and, when that half-year closes a year, the year's değerlendirme report and the public report."""
    half = last_closed_half_year(day)
    due = [("izleme", half)]
    if half.half == 2:
        due += [("degerlendirme", Period(half.year, None)), ("kamuoyu", Period(half.year, None))]
    return due


def reporting_day_on_or_after(day: date) -> date:
    """The first reporting day (5 January or 5 July) on or after `day`: for a delivery of 1 January, which carries
    December, the 5 January that reports the half-year it closed."""
    for candidate in (date(day.year, 1, REPORTING_DAY_OF_MONTH), date(day.year, 7, REPORTING_DAY_OF_MONTH)):
        if candidate >= day:
            return candidate
    return date(day.year + 1, 1, REPORTING_DAY_OF_MONTH)
