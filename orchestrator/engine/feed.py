"""The data feed: subscriptions merged into time slices, with LEAN's fill-forward.

A time slice is everything whose end time is the same instant (reference/lean-engine.md §1):

* bar end times decide the slice time (a minute bar stamped 09:30 arrives at 09:31; a daily bar at the
  session close, 16:00 or the early close);
* with fill-forward on, a subscription without a new bar at a step of the *fill-forward resolution*
  (the smallest resolution among the algorithm's own subscriptions) gets a copy of its last bar,
  but only while the exchange is open; fill-forward continues to the end of the backtest when a file
  ends early;
* dividends and splits form their own slice at 00:00 of the ex-date;
* internal subscriptions (the benchmark) make slices too, but those never call ``on_data``.

The feed walks calendar days, so a subscription added during the run starts with the next day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from orchestrator.engine.data import Dividend, QuoteBar, Split, TradeBar
from orchestrator.engine.enums import Resolution
from orchestrator.engine.market_hours import ExchangeHours
from orchestrator.engine.sources import SecuritySource

_ONE_DAY = dt.timedelta(days=1)


@dataclass(eq=False, slots=True)
class Subscription:
    """One data stream of one security: TradeBars or QuoteBars at one resolution.

    Slotted: the engine reads its attributes for every bar.
    """

    source: SecuritySource
    resolution: Resolution
    kind: str = "trade"  # "trade" or "quote"
    fill_forward: bool = True
    extended_hours: bool = False
    internal: bool = False
    previous: Any = field(default=None, repr=False)
    symbol: Any = field(init=False, repr=False)
    is_trade: bool = field(init=False, repr=False)
    security: Any = field(init=False, repr=False)  # the Security it feeds (set by the engine)
    first_day: dt.date | None = field(init=False, repr=False)  # the listing (map file)
    last_day: dt.date = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.symbol = self.source.symbol
        self.is_trade = self.kind == "trade"
        self.security = None
        self.first_day, self.last_day = self.source.listing_range()


@dataclass(slots=True)
class TimeSlice:
    """The data of one instant, as two parallel columns (subscriptions and their bars), plus
    corporate actions (at 00:00)."""

    time: dt.datetime
    subs: list[Subscription]
    bars: list[Any] | tuple[Any, ...]
    actions: list[Dividend | Split] = field(default_factory=list)
    internal_only: bool = False  # only the benchmark's data (one bar per time): no on_data

    @property
    def entries(self) -> list[tuple[Subscription, TradeBar | QuoteBar]]:
        return list(zip(self.subs, self.bars, strict=True))

    @property
    def has_user_data(self) -> bool:
        if self.actions:
            return True
        return any(not sub.internal for sub in self.subs)


class FillForwardGrid:
    """Bar end times inside the sessions of a day at a resolution (cached per day).

    ``FillForwardGrid.shared(hours)`` keeps one grid per exchange calendar for the whole process (the
    grids depend on nothing else), bounded by the number of times it holds.
    """

    LIMIT = 1_000_000  # cached times (a minute day has 390)

    def __init__(self, hours: ExchangeHours) -> None:
        self.hours = hours
        self._cache: dict[tuple[dt.date, Resolution, bool], list[dt.datetime]] = {}
        self._size = 0

    @classmethod
    def shared(cls, hours: ExchangeHours) -> FillForwardGrid:
        grid = _SHARED_GRIDS.get(id(hours))
        if grid is None or grid.hours is not hours:  # the grid keeps its hours alive: ids stay unique
            if len(_SHARED_GRIDS) > 16:
                _SHARED_GRIDS.clear()
            grid = _SHARED_GRIDS[id(hours)] = cls(hours)
        return grid

    def times(self, day: dt.date, resolution: Resolution, extended: bool) -> list[dt.datetime]:
        key = (day, resolution, extended)
        cached = self._cache.get(key)
        if cached is None:
            if self._size > self.LIMIT:
                self._cache.clear()
                self._size = 0
            cached = self._cache[key] = self._build(day, resolution, extended)
            self._size += len(cached) + 1
        return cached

    def _build(self, day: dt.date, resolution: Resolution, extended: bool) -> list[dt.datetime]:
        session = self.hours.session(day)
        if session is None:
            return []
        if resolution == Resolution.DAILY:
            return [session.close]
        lo, hi = (session.extended_open, session.extended_close) if extended else (session.open, session.close)
        if resolution == Resolution.HOUR:
            step = dt.timedelta(hours=1)
            # hour bars are aligned to the clock: the 09:00-10:00 bar overlaps a 09:30 open
            first = dt.datetime.combine(day, dt.time(lo.hour)) + step
        else:
            step = dt.timedelta(minutes=1) if resolution == Resolution.MINUTE else dt.timedelta(seconds=1)
            first = lo + step
        result = []
        current = first
        while current - step < hi:
            result.append(current)
            current += step
        return result


_SHARED_GRIDS: dict[int, FillForwardGrid] = {}


def fill_forward(real: list[Any], grid: list[dt.datetime], previous: Any) -> tuple[list[Any], Any]:
    """Real bars of a day plus fill-forward copies of the last bar at grid times without a bar."""
    if len(real) == len(grid) and real and real[0].end_time == grid[0] and real[-1].end_time == grid[-1]:
        return real, real[-1]  # a complete day (strictly increasing bars on the grid): nothing to fill
    out: list[Any] = []
    index, count = 0, len(real)
    for time in grid:
        while index < count and real[index].end_time < time:
            previous = real[index]
            out.append(previous)
            index += 1
        if index < count and real[index].end_time == time:
            previous = real[index]
            out.append(previous)
            index += 1
        elif previous is not None:
            out.append(previous.fill_forward(time))
    if index < count:
        out.extend(real[index:])
        previous = real[-1]
    return out, previous


class DataFeed:
    """Time slices from ``start`` (a date, 00:00) to ``end`` (inclusive instant)."""

    def __init__(self, hours: ExchangeHours, start: dt.date, end: dt.datetime) -> None:
        self.hours = hours
        self.start = start
        self.end = end
        self.subscriptions: list[Subscription] = []
        self.grid = FillForwardGrid.shared(hours)
        self._actions: dict[int, dict[dt.date, list[Dividend | Split]]] = {}

    def add(self, subscription: Subscription) -> None:
        self.subscriptions.append(subscription)

    def fill_forward_resolution(self) -> Resolution | None:
        user = [s.resolution for s in self.subscriptions if not s.internal]
        return min(user) if user else None

    def _day_bars(self, sub: Subscription, day: dt.date) -> list[Any]:
        source = sub.source
        if sub.resolution == Resolution.DAILY:
            bar = source.daily_bar(day)
            return [bar] if bar is not None else []
        if sub.resolution == Resolution.HOUR:
            return source.hour_bars(day, sub.extended_hours, light=sub.internal)
        if sub.kind == "quote":
            return source.intraday_quote_bars(sub.resolution, day, sub.extended_hours)
        return source.intraday_trade_bars(sub.resolution, day, sub.extended_hours)

    def _actions_by_day(self, subs: list[Subscription]) -> dict[dt.date, list[Dividend | Split]]:
        """Every user security's dividends and splits by ex-date (rebuilt when subscriptions change)."""
        merged: dict[dt.date, list[Dividend | Split]] = {}
        seen: set[int] = set()
        for sub in subs:
            if sub.internal or id(sub.source) in seen or sub.kind != "trade":
                continue
            seen.add(id(sub.source))
            table = self._actions.get(id(sub.source))
            if table is None:
                table = self._actions[id(sub.source)] = sub.source.corporate_actions(self.start, self.end.date())
            for day, events in table.items():
                merged.setdefault(day, []).extend(events)
        return merged

    def slices(self) -> Iterator[TimeSlice]:
        """Every time slice, in time order."""
        for day_slices in self.days():
            yield from day_slices

    def days(self) -> Iterator[list[TimeSlice]]:
        """The time slices day by day (the engine's loop iterates lists: cheaper than a generator)."""
        day = self.start
        last_day = self.end.date()
        known: list[Subscription] = []
        actions_by_day: dict[dt.date, list[Dividend | Split]] = {}
        ff_resolution: Resolution | None = None
        session = self.hours.session
        while day <= last_day:
            if len(self.subscriptions) != len(known):
                known = list(self.subscriptions)
                actions_by_day = self._actions_by_day(known)
                ff_resolution = self.fill_forward_resolution()
            actions = actions_by_day.get(day)
            day_slices = self._day_slices(known, day, ff_resolution) if session(day) is not None else []
            if actions:
                day_slices.insert(0, TimeSlice(dt.datetime.combine(day, dt.time()), [], [], list(actions)))
            if day_slices:
                yield day_slices
            day += _ONE_DAY

    def _day_slices(self, subs: list[Subscription], day: dt.date, ff_resolution: Resolution | None
                    ) -> list[TimeSlice]:
        per_sub: list[tuple[Subscription, list[Any]]] = []
        for sub in subs:
            first = sub.first_day
            if (first is not None and day < first) or day > sub.last_day:
                continue  # not listed that day
            bars = self._day_bars(sub, day)
            if sub.fill_forward and ff_resolution is not None and (bars or sub.previous is not None):
                grid = self.grid.times(day, ff_resolution, sub.extended_hours)
                bars, sub.previous = fill_forward(bars, grid, sub.previous)
            elif bars:
                sub.previous = bars[-1]
            if bars:
                per_sub.append((sub, bars))
        if not per_sub:
            return []
        end = self.end
        if len(per_sub) == 1:
            sub, bars = per_sub[0]
            column = [sub]
            internal = sub.internal
            return _group_internal([TimeSlice(bar.end_time, column, (bar,), [], internal)
                                    for bar in bars if bar.end_time <= end])
        if _aligned(per_sub):
            # the common case (trade and quote bars of fill-forwarded symbols on one grid): zip them
            subs = [sub for sub, _ in per_sub]
            internal = all(sub.internal for sub in subs)
            return _group_internal([TimeSlice(column[0].end_time, subs, column, [], internal)
                                    for column in zip(*(bars for _, bars in per_sub), strict=True)
                                    if column[0].end_time <= end])
        if len(per_sub) == 2:
            return _merge_two(per_sub[0], per_sub[1], end)  # joins benchmark runs itself
        user_entries = [entry for entry in per_sub if not entry[0].internal]
        internal_entries = [entry for entry in per_sub if entry[0].internal]
        if user_entries and internal_entries and _aligned(user_entries) and _aligned(internal_entries):
            # a minute symbol's trade and quote bars next to the hourly benchmark: two zipped groups
            return _group_internal(_merge_groups(user_entries, internal_entries, end))
        buckets: dict[dt.datetime, list[tuple[Subscription, Any]]] = {}
        user_times: set[dt.datetime] = set()
        for sub, bars in per_sub:
            internal = sub.internal
            for bar in bars:
                time = bar.end_time
                bucket = buckets.get(time)
                if bucket is None:
                    buckets[time] = [(sub, bar)]
                else:
                    bucket.append((sub, bar))
                if not internal:
                    user_times.add(time)
        return _group_internal([TimeSlice(time, [sub for sub, _ in buckets[time]], [bar for _, bar in buckets[time]],
                                          [], time not in user_times)
                                for time in sorted(buckets) if time <= end])


def _merge_two(first: tuple[Subscription, list[Any]], second: tuple[Subscription, list[Any]],
               end: dt.datetime) -> list[TimeSlice]:
    """Two subscriptions' bars merged by end time (e.g. a daily symbol and the hourly benchmark).

    Consecutive benchmark-only bars come out already joined into one slice, as ``_group_internal``
    would join them (a daily backtest has six such bars a day before the 16:00 slice).
    """
    sub_a, bars_a = first
    sub_b, bars_b = second
    only_a, only_b, both = [sub_a], [sub_b], [sub_a, sub_b]
    internal_a, internal_b = sub_a.internal, sub_b.internal
    out: list[TimeSlice] = []
    run_subs: list[Subscription] | None = None  # the open run of single internal bars
    run_bars: list[Any] = []
    i = j = 0
    count_a, count_b = len(bars_a), len(bars_b)
    while i < count_a or j < count_b:
        if j >= count_b or (i < count_a and bars_a[i].end_time < bars_b[j].end_time):
            sub, only, internal, bar = sub_a, only_a, internal_a, bars_a[i]
            i += 1
        elif i >= count_a or bars_b[j].end_time < bars_a[i].end_time:
            sub, only, internal, bar = sub_b, only_b, internal_b, bars_b[j]
            j += 1
        else:
            time = bars_a[i].end_time
            if time > end:
                break
            out.append(TimeSlice(time, both, (bars_a[i], bars_b[j]), [], internal_a and internal_b))
            run_subs = None
            i += 1
            j += 1
            continue
        time = bar.end_time
        if time > end:
            break
        if not internal:
            out.append(TimeSlice(time, only, (bar,), [], False))
            run_subs = None
        elif run_subs is None:
            run_subs, run_bars = [sub], [bar]
            out.append(TimeSlice(time, run_subs, run_bars, [], True))
        else:
            run_subs.append(sub)
            run_bars.append(bar)
    return out


def _merge_groups(user: list[tuple[Subscription, list[Any]]], internal: list[tuple[Subscription, list[Any]]],
                  end: dt.datetime) -> list[TimeSlice]:
    """Aligned user subscriptions merged by end time with aligned internal ones (the benchmark).

    Each group is zipped into columns (one bar per subscription at each of its times); a time both
    groups have gets one slice holding both columns, as the general merge by time would build.
    """
    user_subs = [sub for sub, _ in user]
    internal_subs = [sub for sub, _ in internal]
    both = user_subs + internal_subs
    user_columns = list(zip(*(bars for _, bars in user), strict=True))
    internal_columns = list(zip(*(bars for _, bars in internal), strict=True))
    internal_at = {column[0].end_time: column for column in internal_columns}
    if len(internal_at) == len(internal_columns) and \
            len(internal_at.keys() & {column[0].end_time for column in user_columns}) == len(internal_at):
        # every benchmark bar ends with a user bar (hour bars at 10:00 .. 16:00 of a minute day): one pass
        return [TimeSlice(time, both, column + extra, [], False) if extra is not None
                else TimeSlice(time, user_subs, column, [], False)
                for column in user_columns
                for time, extra in ((column[0].end_time, internal_at.get(column[0].end_time)),)
                if time <= end]
    out: list[TimeSlice] = []
    i = j = 0
    count_u, count_i = len(user_columns), len(internal_columns)
    while i < count_u or j < count_i:
        if j >= count_i or (i < count_u and user_columns[i][0].end_time < internal_columns[j][0].end_time):
            column = user_columns[i]
            slice_ = TimeSlice(column[0].end_time, user_subs, column, [], False)
            i += 1
        elif i >= count_u or internal_columns[j][0].end_time < user_columns[i][0].end_time:
            column = internal_columns[j]
            slice_ = TimeSlice(column[0].end_time, internal_subs, column, [], True)
            j += 1
        else:
            slice_ = TimeSlice(user_columns[i][0].end_time, both, user_columns[i] + internal_columns[j], [], False)
            i += 1
            j += 1
        if slice_.time > end:
            break
        out.append(slice_)
    return out


def _group_internal(day_slices: list[TimeSlice]) -> list[TimeSlice]:
    """Runs of benchmark-only slices become one slice whose columns hold every bar of the run.

    The engine walks such a run bar by bar (prices, scheduled events, equity sampling) without the
    cost of a time slice per bar: a daily backtest has seven hourly benchmark bars per day.
    """
    if len(day_slices) < 2:
        return day_slices
    grouped: list[TimeSlice] = []
    run: list[TimeSlice] = []
    for time_slice in day_slices:
        if time_slice.internal_only and len(time_slice.bars) == 1:
            run.append(time_slice)
            continue
        if run:
            grouped.append(_join(run))
            run = []
        grouped.append(time_slice)
    if run:
        grouped.append(_join(run))
    return grouped


def _join(run: list[TimeSlice]) -> TimeSlice:
    if len(run) == 1:
        return run[0]
    return TimeSlice(run[0].time, [ts.subs[0] for ts in run], [ts.bars[0] for ts in run], [], True)


def _aligned(per_sub: list[tuple[Subscription, list[Any]]]) -> bool:
    """Whether every subscription has a bar at exactly the same end times."""
    first = per_sub[0][1]
    count = len(first)
    if any(len(bars) != count for _, bars in per_sub):
        return False
    times = [bar.end_time for bar in first]
    return all([bar.end_time for bar in bars] == times for _, bars in per_sub[1:])
