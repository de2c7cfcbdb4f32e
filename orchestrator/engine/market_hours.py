"""Exchange hours of US equities: sessions, holidays, early closes and late opens.

Read from LEAN's ``market-hours/market-hours-database.json`` (entry ``Equity-usa-[*]``) in the data
folder. A data folder without that file falls back to qcloop's own NYSE calendar
(``orchestrator.engine.calendar``). All times are naive exchange-local (America/New_York) datetimes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from orchestrator.errors import DataError

MARKET_HOURS_FILE = Path("market-hours") / "market-hours-database.json"
ENTRY_KEY = "Equity-usa-[*]"
TIME_ZONE = "America/New_York"

_DEFAULT_PRE = (dt.time(4, 0), dt.time(9, 30))
_DEFAULT_MARKET = (dt.time(9, 30), dt.time(16, 0))
_DEFAULT_POST = (dt.time(16, 0), dt.time(20, 0))


@dataclass(frozen=True)
class Session:
    """One trading day: regular open/close and the extended (pre/post-market) bounds."""

    date: dt.date
    open: dt.datetime
    close: dt.datetime
    extended_open: dt.datetime
    extended_close: dt.datetime


@dataclass
class ExchangeHours:
    """Weekly sessions (Monday = 0) plus the exceptions of specific dates."""

    weekly: dict[int, tuple[tuple[dt.time, dt.time], tuple[dt.time, dt.time], tuple[dt.time, dt.time]]]
    holidays: frozenset[dt.date]
    early_closes: dict[dt.date, dt.time]
    late_opens: dict[dt.date, dt.time]
    source: str
    _cache: dict[dt.date, Session | None] = field(default_factory=dict, repr=False)

    def session(self, date: dt.date) -> Session | None:
        """The session of ``date``, or None when the market is closed all day."""
        try:
            return self._cache[date]
        except KeyError:
            pass
        result = self._build_session(date)
        self._cache[date] = result
        return result

    def _build_session(self, date: dt.date) -> Session | None:
        hours = self.weekly.get(date.weekday())
        if hours is None or date in self.holidays:
            return None
        pre, market, post = hours
        market_open, market_close = market
        extended_close = post[1]
        if date in self.late_opens:
            market_open = self.late_opens[date]
        if date in self.early_closes:
            market_close = self.early_closes[date]
            # segments after an early close are cut (no regular post-market that day)
            extended_close = market_close
        combine = dt.datetime.combine
        return Session(date, combine(date, market_open), combine(date, market_close),
                       combine(date, pre[0]), combine(date, extended_close))

    def is_trading_day(self, date: dt.date) -> bool:
        return self.session(date) is not None

    def is_open(self, time: dt.datetime, extended: bool = False) -> bool:
        """Whether the market is open at the instant ``time`` (open <= time < close)."""
        session = self.session(time.date())
        if session is None:
            return False
        if extended:
            return session.extended_open <= time < session.extended_close
        return session.open <= time < session.close

    def is_open_during(self, start: dt.datetime, end: dt.datetime, extended: bool = False) -> bool:
        """Whether [start, end) overlaps an open session (LEAN's IsOpenDuringBar)."""
        day = start.date()
        while day <= end.date():
            session = self.session(day)
            if session is not None:
                lo, hi = ((session.extended_open, session.extended_close) if extended
                          else (session.open, session.close))
                if start < hi and end > lo:
                    return True
            day += dt.timedelta(days=1)
        return False

    def next_trading_day(self, date: dt.date) -> dt.date:
        day = date + dt.timedelta(days=1)
        for _ in range(30):
            if self.is_trading_day(day):
                return day
            day += dt.timedelta(days=1)
        raise DataError(f"no trading day within 30 days after {date} in the market-hours data ({self.source})")

    def previous_trading_day(self, date: dt.date) -> dt.date:
        day = date - dt.timedelta(days=1)
        for _ in range(30):
            if self.is_trading_day(day):
                return day
            day -= dt.timedelta(days=1)
        raise DataError(f"no trading day within 30 days before {date} in the market-hours data ({self.source})")

    def trading_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        days = []
        day = start
        while day <= end:
            if self.is_trading_day(day):
                days.append(day)
            day += dt.timedelta(days=1)
        return days

    def next_market_open(self, time: dt.datetime, extended: bool = False) -> dt.datetime:
        """The first session open strictly after ``time``."""
        return self._next_edge(time, "extended_open" if extended else "open", "market open")

    def next_market_close(self, time: dt.datetime, extended: bool = False) -> dt.datetime:
        """The first session close strictly after ``time``."""
        return self._next_edge(time, "extended_close" if extended else "close", "market close")

    def _next_edge(self, time: dt.datetime, edge: str, what: str) -> dt.datetime:
        """The first ``edge`` (a Session attribute) strictly after ``time``, looking 40 days ahead."""
        day = time.date()
        for _ in range(40):
            session = self.session(day)
            if session is not None and getattr(session, edge) > time:
                return getattr(session, edge)
            day += dt.timedelta(days=1)
        raise DataError(f"no {what} within 40 days after {time} ({self.source})")


def _parse_time(text: str) -> dt.time:
    parts = [int(p) for p in text.split(":")] + [0, 0]
    if parts[0] >= 24:  # LEAN writes 1.00:00:00 style spans only for 24h markets; clamp
        return dt.time(23, 59, 59)
    return dt.time(parts[0], parts[1], parts[2])


def _parse_date(text: str) -> dt.date:
    month, day, year = (int(p) for p in text.split("/"))
    return dt.date(year, month, day)


def _weekly_from_entry(entry: dict[str, Any]) -> dict[int, Any]:
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    weekly: dict[int, Any] = {}
    for index, name in enumerate(names):
        segments = [s for s in entry.get(name, []) if isinstance(s, dict)]
        by_state = {s.get("state"): (_parse_time(s["start"]), _parse_time(s["end"])) for s in segments}
        if "market" not in by_state:
            continue
        market = by_state["market"]
        weekly[index] = (by_state.get("premarket", (market[0], market[0])), market,
                         by_state.get("postmarket", (market[1], market[1])))
    return weekly


def _extract_entry(text: str, path: Path) -> dict[str, Any]:
    """Decode only the ``Equity-usa-[*]`` object: the whole database is 3 MB, the entry a few KB."""
    key = json.dumps(ENTRY_KEY)
    position = text.find(key)
    if position < 0:
        raise DataError(f"the market-hours database has no '{ENTRY_KEY}' entry", path=path)
    start = text.index("{", position + len(key))
    try:
        entry, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise DataError(f"the market-hours database is not valid JSON near '{ENTRY_KEY}': {exc}",
                        path=path) from exc
    if not isinstance(entry, dict):
        raise DataError(f"'{ENTRY_KEY}' in the market-hours database is not an object", path=path)
    return entry


def hours_from_entry(entry: dict[str, Any], source: str) -> ExchangeHours:
    return ExchangeHours(
        weekly=_weekly_from_entry(entry),
        holidays=frozenset(_parse_date(d) for d in entry.get("holidays", [])),
        early_closes={_parse_date(d): _parse_time(t) for d, t in entry.get("earlyCloses", {}).items()},
        late_opens={_parse_date(d): _parse_time(t) for d, t in entry.get("lateOpens", {}).items()},
        source=source,
    )


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> ExchangeHours:
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    return hours_from_entry(_extract_entry(text, file), str(file))


@lru_cache(maxsize=1)
def _fallback_hours() -> ExchangeHours:
    """qcloop's own NYSE calendar, for data folders without LEAN's market-hours database (one shared
    object, like the database's: its session cache and the caches keyed by it then serve every run)."""
    try:
        from orchestrator.engine import calendar as nyse
    except ImportError as exc:  # pragma: no cover - calendar.py ships with qcloop
        raise DataError("no market-hours database and qcloop's NYSE calendar is unavailable",
                        hint="copy LEAN's market-hours folder into the data folder") from exc
    holidays, early_closes = nyse.holidays_and_early_closes()
    weekly = {day: (_DEFAULT_PRE, _DEFAULT_MARKET, _DEFAULT_POST) for day in range(5)}
    return ExchangeHours(weekly, frozenset(holidays), dict(early_closes), {}, "qcloop NYSE calendar")


def load_exchange_hours(data_folder: Path) -> ExchangeHours:
    """The US-equity exchange hours for a data folder (cached per file and modification time)."""
    path = Path(data_folder) / MARKET_HOURS_FILE
    if path.is_file():
        # shared between runs: sessions are immutable, and the per-date cache is the hot path
        return _load_cached(str(path.resolve()), path.stat().st_mtime)
    return _fallback_hours()
