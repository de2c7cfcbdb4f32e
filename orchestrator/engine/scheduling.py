"""Scheduled events: ``self.schedule.on(self.date_rules.X, self.time_rules.Y, callback)``.

Semantics (reference/lean-engine.md §1, LEAN's BacktestingRealTimeHandler): before a time slice is
applied, events strictly earlier than the slice time fire with the algorithm clock set to the event
time; after the securities are updated and pending orders scanned, events at or before the slice time
fire. So ``after_market_open("SPY", 0)`` runs at 09:30 with the previous close, before the 09:31
minute bar. Events are generated lazily, day by day, and they also fire during warm-up (algorithms
check ``self.is_warming_up`` as in LEAN).
"""

from __future__ import annotations

import datetime as dt
import heapq
import inspect
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from orchestrator.engine.enums import DayOfWeek
from orchestrator.engine.market_hours import ExchangeHours

DateGenerator = Callable[[dt.date, dt.date], Iterator[dt.date]]
TimeGenerator = Callable[[dt.date], list[dt.datetime]]


class DateRule:
    def __init__(self, name: str, generate: DateGenerator) -> None:
        self.name = name
        self.generate = generate

    def __repr__(self) -> str:
        return f"DateRule({self.name})"

    Name = property(lambda self: self.name)


class TimeRule:
    def __init__(self, name: str, generate: TimeGenerator) -> None:
        self.name = name
        self.generate = generate

    def __repr__(self) -> str:
        return f"TimeRule({self.name})"

    Name = property(lambda self: self.name)


def _days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


class DateRules:
    """``self.date_rules``: which days an event runs."""

    def __init__(self, hours_of: Callable[[Any], ExchangeHours], today: Callable[[], dt.date]) -> None:
        self._hours_of = hours_of
        self._today = today

    def _trading(self, symbol: Any) -> Callable[[dt.date], bool]:
        if symbol is None:
            return lambda day: True
        hours = self._hours_of(symbol)
        return hours.is_trading_day

    def every_day(self, symbol: Any = None) -> DateRule:
        trading = self._trading(symbol)
        return DateRule(f"EveryDay{'(' + str(symbol) + ')' if symbol else ''}",
                        lambda s, e: (d for d in _days(s, e) if trading(d)))

    def every(self, *days: Any) -> DateRule:
        flat: list[Any] = []
        for day in days:
            flat.extend(day if isinstance(day, list | tuple | set) else [day])
        weekdays = {DayOfWeek(int(d)).python_weekday for d in flat}
        return DateRule("Every(" + ",".join(str(d) for d in flat) + ")",
                        lambda s, e: (d for d in _days(s, e) if d.weekday() in weekdays))

    def on(self, *args: Any) -> DateRule:
        """``on(year, month, day)`` or ``on(date, date, ...)``."""
        if len(args) == 3 and all(isinstance(a, int) for a in args):
            dates = {dt.date(*args)}
        else:
            dates = {a.date() if isinstance(a, dt.datetime) else a for a in args}
        return DateRule("On(" + ",".join(str(d) for d in sorted(dates)) + ")",
                        lambda s, e: (d for d in sorted(dates) if s <= d <= e))

    def _period_start(self, symbol: Any, offset: int, key: Callable[[dt.date], Any], name: str) -> DateRule:
        trading = self._trading(symbol)

        def generate(start: dt.date, end: dt.date) -> Iterator[dt.date]:
            # scan from the start of the first period so that the offset counts from the real start
            first = start - dt.timedelta(days=400)
            by_period: dict[Any, list[dt.date]] = {}
            for day in _days(first, end + dt.timedelta(days=40)):
                if trading(day):
                    by_period.setdefault(key(day), []).append(day)
            for days in by_period.values():
                if offset < len(days) and start <= days[offset] <= end:
                    yield days[offset]
        return DateRule(name, generate)

    def _period_end(self, symbol: Any, offset: int, key: Callable[[dt.date], Any], name: str) -> DateRule:
        trading = self._trading(symbol)

        def generate(start: dt.date, end: dt.date) -> Iterator[dt.date]:
            by_period: dict[Any, list[dt.date]] = {}
            for day in _days(start - dt.timedelta(days=40), end + dt.timedelta(days=400)):
                if trading(day):
                    by_period.setdefault(key(day), []).append(day)
            for days in by_period.values():
                if offset < len(days) and start <= days[-1 - offset] <= end:
                    yield days[-1 - offset]
        return DateRule(name, generate)

    def week_start(self, symbol: Any = None, days_offset: int = 0) -> DateRule:
        if symbol is not None and not isinstance(symbol, str | int) and not hasattr(symbol, "value"):
            raise TypeError(f"week_start expects a symbol or ticker, got {symbol!r}")
        if isinstance(symbol, int):
            symbol, days_offset = None, symbol
        return self._period_start(symbol, days_offset, lambda d: d.isocalendar()[:2], "WeekStart")

    def week_end(self, symbol: Any = None, days_offset: int = 0) -> DateRule:
        if isinstance(symbol, int):
            symbol, days_offset = None, symbol
        return self._period_end(symbol, days_offset, lambda d: d.isocalendar()[:2], "WeekEnd")

    def month_start(self, symbol: Any = None, days_offset: int = 0) -> DateRule:
        if isinstance(symbol, int):
            symbol, days_offset = None, symbol
        return self._period_start(symbol, days_offset, lambda d: (d.year, d.month), "MonthStart")

    def month_end(self, symbol: Any = None, days_offset: int = 0) -> DateRule:
        if isinstance(symbol, int):
            symbol, days_offset = None, symbol
        return self._period_end(symbol, days_offset, lambda d: (d.year, d.month), "MonthEnd")

    def year_start(self, symbol: Any = None, days_offset: int = 0) -> DateRule:
        if isinstance(symbol, int):
            symbol, days_offset = None, symbol
        return self._period_start(symbol, days_offset, lambda d: d.year, "YearStart")

    def year_end(self, symbol: Any = None, days_offset: int = 0) -> DateRule:
        if isinstance(symbol, int):
            symbol, days_offset = None, symbol
        return self._period_end(symbol, days_offset, lambda d: d.year, "YearEnd")

    @property
    def today(self) -> DateRule:
        return self.on(self._today())

    @property
    def tomorrow(self) -> DateRule:
        return self.on(self._today() + dt.timedelta(days=1))

    EveryDay = every_day
    Every = every
    On = on
    WeekStart = week_start
    WeekEnd = week_end
    MonthStart = month_start
    MonthEnd = month_end
    YearStart = year_start
    YearEnd = year_end
    Today = today
    Tomorrow = tomorrow


class TimeRules:
    """``self.time_rules``: at what times of the chosen days an event runs."""

    def __init__(self, hours_of: Callable[[Any], ExchangeHours], now: Callable[[], dt.datetime]) -> None:
        self._hours_of = hours_of
        self._now = now

    def at(self, *args: Any) -> TimeRule:
        """``at(hour, minute[, second])`` or ``at(timedelta)`` in algorithm (New York) time."""
        if len(args) == 1 and isinstance(args[0], dt.timedelta):
            offset = args[0]
        else:
            hour, minute, second = [*args, 0, 0][:3]
            offset = dt.timedelta(hours=hour, minutes=minute, seconds=second)
        return TimeRule(f"At({offset})", lambda day: [dt.datetime.combine(day, dt.time()) + offset])

    def every(self, interval: dt.timedelta) -> TimeRule:
        if interval <= dt.timedelta(0):
            raise ValueError(f"time_rules.every needs a positive interval, got {interval}")

        def generate(day: dt.date) -> list[dt.datetime]:
            start = dt.datetime.combine(day, dt.time())
            times, current = [], start
            while current < start + dt.timedelta(days=1):
                times.append(current)
                current += interval
            return times
        return TimeRule(f"Every({interval})", generate)

    def after_market_open(self, symbol: Any, minutes_after_open: float = 0,
                          extended_market_open: bool = False) -> TimeRule:
        return self._session_edge("AfterMarketOpen", symbol, minutes_after_open,
                                  "extended_open" if extended_market_open else "open")

    def before_market_close(self, symbol: Any, minutes_before_close: float = 0,
                            extended_market_close: bool = False) -> TimeRule:
        return self._session_edge("BeforeMarketClose", symbol, minutes_before_close,
                                  "extended_close" if extended_market_close else "close", before=True)

    def before_market_open(self, symbol: Any, minutes_before_open: float = 0,
                           extended_market_open: bool = False) -> TimeRule:
        return self._session_edge("BeforeMarketOpen", symbol, minutes_before_open,
                                  "extended_open" if extended_market_open else "open", before=True)

    def after_market_close(self, symbol: Any, minutes_after_close: float = 0,
                           extended_market_close: bool = False) -> TimeRule:
        return self._session_edge("AfterMarketClose", symbol, minutes_after_close,
                                  "extended_close" if extended_market_close else "close")

    def _session_edge(self, name: str, symbol: Any, minutes: float, edge: str, *, before: bool = False) -> TimeRule:
        """A rule ``minutes`` after (or ``before``) the session's ``edge`` (a Session attribute: open,
        close, extended_open, extended_close) on each trading day; none on closed days."""
        hours = self._hours_of(symbol)
        delta = dt.timedelta(minutes=-minutes if before else minutes)

        def generate(day: dt.date) -> list[dt.datetime]:
            session = hours.session(day)
            if session is None:
                return []
            return [getattr(session, edge) + delta]
        return TimeRule(f"{name}({symbol}, {minutes})", generate)

    @property
    def midnight(self) -> TimeRule:
        return self.at(0, 0)

    @property
    def noon(self) -> TimeRule:
        return self.at(12, 0)

    @property
    def now(self) -> TimeRule:
        moment = self._now()
        return TimeRule("Now", lambda day: [moment] if day == moment.date() else [])

    At = at
    Every = every
    AfterMarketOpen = after_market_open
    BeforeMarketClose = before_market_close
    BeforeMarketOpen = before_market_open
    AfterMarketClose = after_market_close
    Midnight = midnight
    Noon = noon
    Now = now


class ScheduledEvent:
    """One registered event; ``enabled`` can be switched off."""

    def __init__(self, name: str, date_rule: DateRule, time_rule: TimeRule, callback: Callable[..., Any],  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 start: dt.date | None = None, end: dt.datetime | None = None) -> None:
        self.name = name
        self.date_rule = date_rule
        self.time_rule = time_rule
        self.callback = callback
        self.enabled = True
        self._wants_arguments = _accepts_two_arguments(callback)
        self._times: Iterator[dt.datetime] = iter(())
        if start is not None and end is not None:
            self.begin(start, end)

    def begin(self, start: dt.date, end: dt.datetime) -> None:
        """Generate the event's times from ``start`` to ``end``."""
        self._times = self._generate(self.date_rule, self.time_rule, start, end)

    @staticmethod
    def _generate(date_rule: DateRule, time_rule: TimeRule, start: dt.date, end: dt.datetime
                  ) -> Iterator[dt.datetime]:
        start_time = dt.datetime.combine(start, dt.time())
        for day in date_rule.generate(start, end.date()):
            for moment in sorted(time_rule.generate(day)):
                if start_time <= moment <= end:
                    yield moment

    def next_time(self) -> dt.datetime | None:
        return next(self._times, None)

    def fire(self, time: dt.datetime) -> None:
        if not self.enabled:
            return
        if self._wants_arguments:
            self.callback(self.name, time)
        else:
            self.callback()

    Name = property(lambda self: self.name)
    Enabled = property(lambda self: self.enabled)


class DailyEvent(ScheduledEvent):
    """An event at one time of every calendar day (LEAN's "Daily Sampling"): cheap to re-queue."""

    def __init__(self, name: str, at: dt.time, callback: Callable[..., Any], start: dt.date,
                 end: dt.datetime) -> None:
        self.name = name
        self.callback = callback
        self.enabled = True
        self._wants_arguments = False
        self._next: dt.datetime | None = dt.datetime.combine(start, at)
        self._end = end

    def begin(self, start: dt.date, end: dt.datetime) -> None:
        self._end = end

    def next_time(self) -> dt.datetime | None:
        moment = self._next
        if moment is None or moment > self._end:
            return None
        self._next = moment + _ONE_DAY
        return moment


_ONE_DAY = dt.timedelta(days=1)


def _accepts_two_arguments(callback: Callable[..., Any]) -> bool:
    try:
        parameters = [p for p in inspect.signature(callback).parameters.values()
                      if p.default is inspect.Parameter.empty
                      and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(parameters) == 2


class ScheduleManager:
    """``self.schedule``: registers events and fires them in time order.

    Events registered before the run starts (in ``initialize``) are generated from the first day of the
    run, warm-up included; events registered during the run start from the current time.
    """

    def __init__(self, date_rules: DateRules, time_rules: TimeRules, start: Callable[[], dt.date],
                 end: Callable[[], dt.datetime], now: Callable[[], dt.datetime] | None = None) -> None:
        self._date_rules = date_rules
        self._time_rules = time_rules
        self._start = start
        self._end = end
        self._now = now
        self._queue: list[tuple[dt.datetime, int, ScheduledEvent]] = []
        self._sequence = itertools.count()
        self._pending: list[ScheduledEvent] = []
        self._started = False
        self.events: list[ScheduledEvent] = []

    def on(self, *args: Any) -> ScheduledEvent:
        """``on(date_rule, time_rule, callback)`` or ``on(name, date_rule, time_rule, callback)``."""
        if len(args) == 4:
            name, date_rule, time_rule, callback = args
        elif len(args) == 3:
            date_rule, time_rule, callback = args
            name = f"{getattr(date_rule, 'name', date_rule)}: {getattr(time_rule, 'name', time_rule)}"
        else:
            raise TypeError("schedule.on takes (date_rule, time_rule, callback) or (name, date_rule, time_rule, "
                            "callback)")
        if not isinstance(date_rule, DateRule) or not isinstance(time_rule, TimeRule):
            raise TypeError("schedule.on needs a rule from self.date_rules and one from self.time_rules")
        if not callable(callback):
            raise TypeError(f"the scheduled event callback must be callable, got {callback!r}")
        if not self._started:
            event = ScheduledEvent(str(name), date_rule, time_rule, callback)
            self._pending.append(event)
            return event
        now = self._now() if self._now is not None else None
        start = now.date() if now is not None else self._start()
        event = ScheduledEvent(str(name), date_rule, time_rule, callback, start, self._end())
        self.add(event, after=now)
        return event

    def start(self, first_day: dt.date) -> None:
        """Generate the events registered so far from ``first_day`` on."""
        self._started = True
        for event in self._pending:
            event.begin(first_day, self._end())
            self.add(event)
        self._pending.clear()

    def add(self, event: ScheduledEvent, after: dt.datetime | None = None) -> None:
        self.events.append(event)
        self._push(event, after)

    def _push(self, event: ScheduledEvent, after: dt.datetime | None) -> None:
        moment = event.next_time()
        while moment is not None and after is not None and moment < after:
            moment = event.next_time()
        if moment is not None:
            heapq.heappush(self._queue, (moment, next(self._sequence), event))

    def remove(self, event: ScheduledEvent) -> None:
        event.enabled = False

    @property
    def next_time(self) -> dt.datetime | None:
        return self._queue[0][0] if self._queue else None

    def pop_due(self, time: dt.datetime, inclusive: bool) -> tuple[dt.datetime, ScheduledEvent] | None:
        """The next event due before (or at, when inclusive) ``time``; it is re-queued for its next time."""
        if not self._queue:
            return None
        moment = self._queue[0][0]
        if moment > time or (moment == time and not inclusive):
            return None
        moment, _, event = heapq.heappop(self._queue)
        self._push(event, None)
        return moment, event

    def training(self, *args: Any) -> Any:
        from orchestrator.errors import UnsupportedApiError

        raise UnsupportedApiError("schedule.training")

    On = on
    Add = add
    Remove = remove
    Training = training
    train = training
    Train = training
