"""Exchange-local (America/New_York) naive times and their UTC equivalents.

The engine keeps every time naive in exchange time, like ``self.time`` in QuantConnect; results use
UTC (chart points are Unix seconds, order times ISO-8601 with ``Z``). Conversions are on the hot path
(result sampling checks a UTC deadline after every time slice), so the UTC offset is cached per day:
New York changes offset at 02:00 local, so a day has one offset before 02:00 and one after.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1)
_EDT = dt.timedelta(hours=4)
_EST = dt.timedelta(hours=5)
_ONE_HOUR = dt.timedelta(hours=1)
_DST_BOUNDS: dict[int, tuple[dt.datetime, dt.datetime]] = {}


def _dst_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The local instants daylight saving time starts and ends in ``year`` (both at 02:00 local)."""
    bounds = _DST_BOUNDS.get(year)
    if bounds is None:
        starts = ends = dt.datetime(year, 12, 31, 23, 59)
        day = dt.datetime(year, 1, 1, 12)
        previous = day.replace(tzinfo=NEW_YORK).utcoffset()
        while day.year == year:  # walk the year's days once; the offset changes twice
            offset = day.replace(tzinfo=NEW_YORK).utcoffset()
            if offset != previous:
                moment = dt.datetime(day.year, day.month, day.day, 2)
                if offset == -_EDT:
                    starts = moment
                else:
                    ends = moment
                previous = offset
            day += dt.timedelta(days=1)
        bounds = _DST_BOUNDS[year] = (starts, ends)
    return bounds


# the year looked up last: (year, daylight from (DST start + 1 h), daylight until); replaced as a whole,
# so that threads running backtests side by side never see a half-updated entry
_LAST_YEAR: list[tuple[int, dt.datetime, dt.datetime]] = [(0, EPOCH, EPOCH)]


def utc_naive(local: dt.datetime) -> dt.datetime:
    """The UTC time of a naive New York time, as a naive datetime (QuantConnect's ``utc_time``).

    An ambiguous time in the autumn hour that repeats is read as daylight time (``fold=0``); the
    non-existent spring hour as standard time, like zoneinfo.
    """
    year, daylight_from, daylight_until = _LAST_YEAR[0]
    if local.year != year:
        starts, daylight_until = _dst_bounds(local.year)
        daylight_from = starts + _ONE_HOUR
        _LAST_YEAR[0] = (local.year, daylight_from, daylight_until)
    if daylight_from <= local < daylight_until:
        return local + _EDT
    return local + _EST


def to_utc(local: dt.datetime) -> dt.datetime:
    """An aware UTC datetime for a naive New York time."""
    return utc_naive(local).replace(tzinfo=UTC)


def unix_seconds(local: dt.datetime) -> int:
    """Unix time in whole seconds (LEAN's chart points are second-resolution)."""
    return int((utc_naive(local) - EPOCH).total_seconds())


def utc_iso(local: dt.datetime) -> str:
    """``%Y-%m-%dT%H:%M:%SZ`` of the UTC time (isoformat: several times faster than strftime)."""
    return utc_naive(local).isoformat(timespec="seconds") + "Z"


def utc_timestamp(local: dt.datetime) -> float:
    """``to_utc(local).timestamp()`` without building an aware datetime (order events, one per fill)."""
    return (utc_naive(local) - EPOCH).total_seconds()


def unix_seconds_many(times: list[dt.datetime]) -> list[int]:
    """``unix_seconds`` of many New York times (chart series have thousands of points)."""
    out: list[int] = []
    year = -1
    daylight_from = daylight_until = EPOCH
    for moment in times:
        if moment.year != year:
            year = moment.year
            starts, daylight_until = _dst_bounds(year)
            daylight_from = starts + _ONE_HOUR
        delta = moment - EPOCH
        offset = 14400 if daylight_from <= moment < daylight_until else 18000
        out.append(delta.days * 86400 + delta.seconds + offset)
    return out
