"""Late or missing deliveries against each feed's cadence (kopru.quality.cadence): listed, never blocking."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from kopru import config
from kopru.quality.cadence import missing_deliveries, period_of

SAMPLE_CADENCE = config.PACKAGE_DATA / "delivery_cadence_sample.yml"


def days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]


def test_a_daily_feeds_missing_and_rejected_days_are_listed_once_their_grace_has_passed():
    delivered = {d: True for d in days(date(2025, 3, 1), 10) if d.day not in (4, 6)} | {date(2025, 3, 6): False}
    cadence = {"belediye/households": "daily"}.get
    found = missing_deliveries({("belediye", "households"): delivered}, lambda s, f: cadence(f"{s}/{f}"), 2,
                               as_of=date(2025, 3, 10))
    assert found == [("belediye", "households", "daily", date(2025, 3, 4), date(2025, 3, 4), "missing"),
                     ("belediye", "households", "daily", date(2025, 3, 6), date(2025, 3, 6), "rejected")]
    # days 9 and 10 are within the grace period; nothing is expected before the feed's first file
    assert all(row[3] < date(2025, 3, 9) for row in found)


def test_an_ngos_month_without_a_file_is_missing_and_a_feed_without_cadence_is_not_judged():
    ngo = {date(2024, m, 28): True for m in (1, 2, 4, 5)}
    surveys = {date(2024, 1, 5): True}
    cadence = config.DeliveryCadence({"default": "none", "stk": "monthly"}, 2)
    found = missing_deliveries({("stk", "kizilay_ilce"): ngo, ("belediye", "surveys"): surveys}, cadence.of, 2,
                               as_of=date(2024, 7, 2))
    assert [(r[1], r[3], r[5]) for r in found] == [
        ("kizilay_ilce", date(2024, 3, 1), "missing"), ("kizilay_ilce", date(2024, 6, 1), "missing")]


@pytest.mark.parametrize("day, cadence, period", [
    (date(2024, 12, 31), "monthly", (date(2024, 12, 1), date(2024, 12, 31))),
    (date(2024, 2, 10), "monthly", (date(2024, 2, 1), date(2024, 2, 29))),
    (date(2024, 7, 1), "half_yearly", (date(2024, 7, 1), date(2024, 12, 31))),
    (date(2024, 6, 30), "half_yearly", (date(2024, 1, 1), date(2024, 6, 30))),
])
def test_periods(day, cadence, period):
    assert period_of(day, cadence) == period


def test_a_cadence_file_with_an_unknown_cadence_is_one_sentence(tmp_path, monkeypatch):
    bad = tmp_path / "cadence.yml"
    bad.write_text("grace_days: 2\ncadence:\n  default: none\n  stk: weekly\n")
    monkeypatch.setenv("KOPRU_DELIVERY_CADENCE", str(bad))
    with pytest.raises(config.SettingError, match="weekly"):
        config.delivery_cadence()


def test_the_production_cadence_follows_the_contract():
    cadence = config.delivery_cadence()
    assert cadence.of("belediye", "households") == cadence.of("belediye", "persons") == "daily"
    assert cadence.of("stk", "kizilay_ilce") == "monthly"
    assert cadence.of("devlet", "isas_alindi") == "daily"
