"""qcloop's NYSE calendar: the rules on known dates, and agreement with LEAN's market-hours database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from orchestrator.engine import calendar

D = dt.date


@pytest.mark.parametrize(("year", "easter"), [
    # published Easter Sundays
    (1998, D(1998, 4, 12)), (2000, D(2000, 4, 23)), (2011, D(2011, 4, 24)),
    (2019, D(2019, 4, 21)), (2024, D(2024, 3, 31)), (2025, D(2025, 4, 20)), (2038, D(2038, 4, 25)),
])
def test_easter(year: int, easter: dt.date) -> None:
    assert calendar.easter_sunday(year) == easter


def test_weekend_observance_rules() -> None:
    # New Year's Day on a Saturday (2022-01-01) is not observed on Friday 2021-12-31
    assert calendar.is_trading_day(D(2021, 12, 31))
    # on a Sunday (2017-01-01) it moves to Monday
    assert not calendar.is_trading_day(D(2017, 1, 2))
    # Independence Day on a Saturday (2020-07-04) -> Friday closed; on a Sunday (2021) -> Monday closed
    assert not calendar.is_trading_day(D(2020, 7, 3)) and not calendar.is_trading_day(D(2021, 7, 5))
    # Juneteenth from 2022: Sunday 2022-06-19 -> Monday; Saturday 2027-06-19 -> Friday; none in 2021
    assert not calendar.is_trading_day(D(2022, 6, 20)) and not calendar.is_trading_day(D(2027, 6, 18))
    assert calendar.is_trading_day(D(2021, 6, 18))
    # Christmas on a Saturday (2021) -> Friday 24th closed, hence no Christmas-Eve early close
    assert not calendar.is_trading_day(D(2021, 12, 24))
    assert calendar.close_time(D(2021, 12, 23)) == dt.time(16)


def test_named_holidays_of_2024() -> None:
    # NYSE's published 2024 holiday list
    assert sorted(calendar.holidays(2024)) == [
        D(2024, 1, 1), D(2024, 1, 15), D(2024, 2, 19), D(2024, 3, 29), D(2024, 5, 27), D(2024, 6, 19),
        D(2024, 7, 4), D(2024, 9, 2), D(2024, 11, 28), D(2024, 12, 25),
    ]
    assert calendar.holidays(2024)[D(2024, 3, 29)] == "Good Friday"


def test_special_closures_and_early_closes() -> None:
    for day in [D(2001, 9, 11), D(2001, 9, 14), D(2004, 6, 11), D(2007, 1, 2), D(2012, 10, 29),
                D(2012, 10, 30), D(2018, 12, 5), D(2025, 1, 9)]:
        assert not calendar.is_trading_day(day), day
    # 4 July on a Thursday: Friday after until 2012, Wednesday before from 2013
    assert calendar.close_time(D(2002, 7, 5)) == dt.time(13)
    assert calendar.close_time(D(2002, 7, 3)) == dt.time(16)
    assert calendar.close_time(D(2013, 7, 3)) == dt.time(13)
    # 4 July on a Monday (2022): no early close on Friday 1 July
    assert calendar.close_time(D(2022, 7, 1)) == dt.time(16)
    assert calendar.close_time(D(2023, 11, 24)) == dt.time(13)  # the day after Thanksgiving
    assert calendar.close_time(D(2003, 12, 26)) == dt.time(13)  # special
    assert calendar.close_time(D(2023, 12, 25)) is None


def test_trading_day_counts() -> None:
    # NYSE had 252 sessions in 2019 and 253 in 2020; 2001 lost four days to the September closures
    assert len(calendar.trading_days(D(2019, 1, 1), D(2019, 12, 31))) == 252
    assert len(calendar.trading_days(D(2020, 1, 1), D(2020, 12, 31))) == 253
    assert len(calendar.trading_days(D(2001, 1, 1), D(2001, 12, 31))) == 248
    assert calendar.next_trading_day(D(2024, 3, 28)) == D(2024, 4, 1)
    assert calendar.previous_trading_day(D(2024, 4, 1)) == D(2024, 3, 28)


def _lean_entry(lean_data: Path) -> dict:
    doc = json.loads((lean_data / "market-hours" / "market-hours-database.json").read_text())
    return doc["entries"]["Equity-usa-[*]"]


def _parse(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%m/%d/%Y").date()


@pytest.mark.lean_data
def test_agrees_with_leans_market_hours_database(lean_data: Path) -> None:
    """Every holiday and early close 1998-2028 agrees, apart from these explained differences.

    LEAN's ``Equity-usa-[*]`` entry lists dates up to 2028, so 2029-2030 are compared by the rules
    only (their absence from LEAN is not a disagreement):

    * 2011-01-01 and 2022-01-01 are in LEAN's holiday list: Saturday New Year's Days, which are
      weekends anyway. Both agree that Friday 31 December was a trading day.
    * 2017-12-24 is in LEAN's early-close list, but it was a Sunday: no session to shorten.
    * 1998-11-27 (day after Thanksgiving) and 1998-12-24 (Christmas Eve) were 13:00 closes at the
      NYSE; LEAN's early-close list starts in 1999.
    No difference falls on a weekday on which the two would trade different hours from 1999 on.
    """
    entry = _lean_entry(lean_data)
    lean_holidays = {_parse(d) for d in entry["holidays"] if 1998 <= _parse(d).year <= 2028}
    lean_early = {_parse(d): dt.time.fromisoformat(t) for d, t in entry["earlyCloses"].items()
                  if 1998 <= _parse(d).year <= 2028}
    ours_holidays, ours_early = calendar.holidays_and_early_closes(1998, 2028)

    assert lean_holidays - ours_holidays == {D(2011, 1, 1), D(2022, 1, 1)}
    assert ours_holidays - lean_holidays == set()
    assert set(lean_early) - set(ours_early) == {D(2017, 12, 24)}
    assert set(ours_early) - set(lean_early) == {D(1998, 11, 27), D(1998, 12, 24)}
    assert all(ours_early[day] == time for day, time in lean_early.items() if day in ours_early)
    # the differences are all on weekends, or before LEAN's early-close list begins
    assert all(day.weekday() >= 5 for day in (lean_holidays - ours_holidays) | {D(2017, 12, 24)})


@pytest.mark.lean_data
def test_sessions_match_leans_weekly_hours(lean_data: Path) -> None:
    entry = calendar.market_hours_entry([2020])
    lean = _lean_entry(lean_data)
    for day in ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"):
        assert entry[day] == lean[day]
    assert entry["dataTimeZone"] == lean["dataTimeZone"] == "America/New_York"
    assert "7/3/2020" in entry["holidays"] and "11/27/2020" in entry["earlyCloses"]  # M/D/YYYY
