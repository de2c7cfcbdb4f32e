"""qcloop's NYSE calendar, written from the exchange's rules (valid from 1998 on).

Regular sessions are 09:30-16:00 New York time, Monday to Friday, except:

Full-day holidays
  * New Year's Day, 1 January. Sunday -> observed Monday. Saturday -> **not observed** (NYSE Rule 7.2
    lets the exchange stay open on the preceding Friday because it ends an accounting year).
  * Martin Luther King Jr. Day, third Monday of January (an NYSE holiday from 1998).
  * Washington's Birthday, third Monday of February.
  * Good Friday, two days before Western (Gregorian) Easter Sunday.
  * Memorial Day, last Monday of May.
  * Juneteenth, 19 June (from 2022).
  * Independence Day, 4 July.
  * Labor Day, first Monday of September.
  * Thanksgiving Day, fourth Thursday of November.
  * Christmas Day, 25 December.
  Fixed-date holidays other than New Year's Day falling on a Saturday are observed on the Friday
  before, on a Sunday on the Monday after.
  * Special closures: 11-14 September 2001 (attacks of 11 September), 11 June 2004 (President
    Reagan's funeral), 2 January 2007 (President Ford), 29-30 October 2012 (Hurricane Sandy),
    5 December 2018 (President G. H. W. Bush), 9 January 2025 (President Carter).

13:00 early closes
  * The day before Independence Day when that day is a Monday, Tuesday or Thursday (4 July on a
    Tuesday, Wednesday or Friday). When 4 July is a Thursday the early close was the Friday after
    (5 July) until 2012 and has been the Wednesday before (3 July) since 2013.
  * The day after Thanksgiving (from 1993).
  * Christmas Eve, 24 December, when it is a Monday to Thursday.
  * Special: 26 December 2003.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from functools import lru_cache

MARKET_OPEN = dt.time(9, 30)
MARKET_CLOSE = dt.time(16, 0)
EARLY_CLOSE = dt.time(13, 0)
PREMARKET_OPEN = dt.time(4, 0)
POSTMARKET_CLOSE = dt.time(20, 0)

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)

SPECIAL_CLOSURES: dict[dt.date, str] = {
    dt.date(2001, 9, 11): "September 11 attacks",
    dt.date(2001, 9, 12): "September 11 attacks",
    dt.date(2001, 9, 13): "September 11 attacks",
    dt.date(2001, 9, 14): "September 11 attacks",
    dt.date(2004, 6, 11): "National Day of Mourning (President Reagan)",
    dt.date(2007, 1, 2): "National Day of Mourning (President Ford)",
    dt.date(2012, 10, 29): "Hurricane Sandy",
    dt.date(2012, 10, 30): "Hurricane Sandy",
    dt.date(2018, 12, 5): "National Day of Mourning (President G. H. W. Bush)",
    dt.date(2025, 1, 9): "National Day of Mourning (President Carter)",
}

SPECIAL_EARLY_CLOSES: dict[dt.date, str] = {
    dt.date(2003, 12, 26): "Day after Christmas",
}


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter Sunday (the anonymous Gregorian computus, as published by Meeus)."""
    golden = year % 19
    century, year_of_century = divmod(year, 100)
    leap_skips, leap_rest = divmod(century, 4)
    moon_correction = (century + 8) // 25
    moon_shift = (century - moon_correction + 1) // 3
    epact = (19 * golden + century - leap_skips - moon_shift + 15) % 30
    quarter, quarter_rest = divmod(year_of_century, 4)
    weekday_shift = (32 + 2 * leap_rest + 2 * quarter - epact - quarter_rest) % 7
    late = (golden + 11 * epact + 22 * weekday_shift) // 451
    month, day = divmod(epact + weekday_shift - 7 * late + 114, 31)
    return dt.date(year, month, day + 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th given weekday of a month (n = -1 for the last one)."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """Saturday -> the Friday before, Sunday -> the Monday after."""
    if day.weekday() == SATURDAY:
        return day - dt.timedelta(days=1)
    if day.weekday() == SUNDAY:
        return day + dt.timedelta(days=1)
    return day


@lru_cache(maxsize=256)
def _holidays_of_year(year: int) -> dict[dt.date, str]:
    days: dict[dt.date, str] = {}
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != SATURDAY:  # a Saturday New Year's Day is not observed (NYSE Rule 7.2)
        days[_observed(new_year)] = "New Year's Day"
    if year >= 1998:
        days[nth_weekday(year, 1, MONDAY, 3)] = "Martin Luther King Jr. Day"
    days[nth_weekday(year, 2, MONDAY, 3)] = "Washington's Birthday"
    days[easter_sunday(year) - dt.timedelta(days=2)] = "Good Friday"
    days[nth_weekday(year, 5, MONDAY, -1)] = "Memorial Day"
    if year >= 2022:
        days[_observed(dt.date(year, 6, 19))] = "Juneteenth"
    days[_observed(dt.date(year, 7, 4))] = "Independence Day"
    days[nth_weekday(year, 9, MONDAY, 1)] = "Labor Day"
    days[nth_weekday(year, 11, THURSDAY, 4)] = "Thanksgiving Day"
    days[_observed(dt.date(year, 12, 25))] = "Christmas Day"
    days.update({day: name for day, name in SPECIAL_CLOSURES.items() if day.year == year})
    return days


@lru_cache(maxsize=256)
def _early_closes_of_year(year: int) -> dict[dt.date, str]:
    days: dict[dt.date, str] = {}
    july4 = dt.date(year, 7, 4)
    if july4.weekday() in (TUESDAY, WEDNESDAY, FRIDAY):
        days[july4 - dt.timedelta(days=1)] = "Day before Independence Day"
    elif july4.weekday() == THURSDAY:
        if year >= 2013:
            days[july4 - dt.timedelta(days=1)] = "Day before Independence Day"
        else:
            days[july4 + dt.timedelta(days=1)] = "Day after Independence Day"
    if year >= 1993:
        days[nth_weekday(year, 11, THURSDAY, 4) + dt.timedelta(days=1)] = "Day after Thanksgiving"
    christmas_eve = dt.date(year, 12, 24)
    if christmas_eve.weekday() <= THURSDAY:
        days[christmas_eve] = "Christmas Eve"
    days.update({day: name for day, name in SPECIAL_EARLY_CLOSES.items() if day.year == year})
    holidays = _holidays_of_year(year)
    return {day: name for day, name in days.items() if day not in holidays}


def holidays(year: int) -> dict[dt.date, str]:
    """The NYSE's full-day closures (weekends aside) of a year, with their names."""
    return dict(_holidays_of_year(year))


def early_closes(year: int) -> dict[dt.date, str]:
    """The NYSE's 13:00 early closes of a year, with their reasons."""
    return dict(_early_closes_of_year(year))


def holidays_and_early_closes(
    start_year: int = 1998, end_year: int = 2050,
) -> tuple[set[dt.date], dict[dt.date, dt.time]]:
    """All holidays and early closes (date -> close time) of the years in ``[start_year, end_year]``."""
    closed: set[dt.date] = set()
    early: dict[dt.date, dt.time] = {}
    for year in range(start_year, end_year + 1):
        closed.update(_holidays_of_year(year))
        early.update(dict.fromkeys(_early_closes_of_year(year), EARLY_CLOSE))
    return closed, early


def is_holiday(day: dt.date) -> bool:
    return day in _holidays_of_year(day.year)


def is_trading_day(day: dt.date) -> bool:
    """A weekday that is not a holiday."""
    return day.weekday() < SATURDAY and day not in _holidays_of_year(day.year)


def close_time(day: dt.date) -> dt.time | None:
    """The regular-session close (16:00, or 13:00 on an early close); None when closed."""
    if not is_trading_day(day):
        return None
    return EARLY_CLOSE if day in _early_closes_of_year(day.year) else MARKET_CLOSE


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every trading day in ``[start, end]``."""
    return list(iter_trading_days(start, end))


def iter_trading_days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    one = dt.timedelta(days=1)
    day = start
    while day <= end:
        if is_trading_day(day):
            yield day
        day += one


def next_trading_day(day: dt.date) -> dt.date:
    """The first trading day strictly after ``day``."""
    day += dt.timedelta(days=1)
    while not is_trading_day(day):
        day += dt.timedelta(days=1)
    return day


def previous_trading_day(day: dt.date) -> dt.date:
    """The last trading day strictly before ``day``."""
    day -= dt.timedelta(days=1)
    while not is_trading_day(day):
        day -= dt.timedelta(days=1)
    return day


def lean_date(day: dt.date) -> str:
    """LEAN's market-hours database date format, ``M/D/YYYY`` without zero padding."""
    return f"{day.month}/{day.day}/{day.year}"


def market_hours_entry(years: Iterable[int]) -> dict[str, object]:
    """An ``Equity-usa-[*]`` entry of LEAN's market-hours database, built from this calendar."""
    session = [
        {"start": f"{PREMARKET_OPEN:%H:%M:%S}", "end": f"{MARKET_OPEN:%H:%M:%S}", "state": "premarket"},
        {"start": f"{MARKET_OPEN:%H:%M:%S}", "end": f"{MARKET_CLOSE:%H:%M:%S}", "state": "market"},
        {"start": f"{MARKET_CLOSE:%H:%M:%S}", "end": f"{POSTMARKET_CLOSE:%H:%M:%S}", "state": "postmarket"},
    ]
    closed: list[dt.date] = []
    early: list[dt.date] = []
    for year in sorted(set(years)):
        closed.extend(sorted(_holidays_of_year(year)))
        early.extend(sorted(_early_closes_of_year(year)))
    entry: dict[str, object] = {
        "dataTimeZone": "America/New_York",
        "exchangeTimeZone": "America/New_York",
        "sunday": [],
        "monday": session,
        "tuesday": session,
        "wednesday": session,
        "thursday": session,
        "friday": session,
        "saturday": [],
        "holidays": [lean_date(day) for day in closed],
        "earlyCloses": {lean_date(day): f"{EARLY_CLOSE:%H:%M:%S}" for day in early},
    }
    return entry
