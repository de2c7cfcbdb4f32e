"""One security's data on disk turned into bars: map files, factor files, normalization, sessions.

``SecuritySource`` knows which file holds a date (the map file), the price scale of a date (the factor
file and the normalization mode) and the exchange session, and builds the day's TradeBars/QuoteBars
with LEAN's time stamps (reference/lean-engine.md §1-2):

* daily rows are re-stamped to [session open, session close] (09:30-16:00, or the early close);
* hour and minute rows cover [time, time + span) and are kept only when they overlap the session
  (regular hours unless extended hours were requested);
* adjusted prices are ``raw x 0.0001 x factor`` with the factor of the bar's date.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from orchestrator.engine import lean_files as lf
from orchestrator.engine.data import Dividend, QuoteBar, ReadOnlyQuoteBar, ReadOnlyTradeBar, Split, TradeBar
from orchestrator.engine.enums import DataNormalizationMode, Resolution
from orchestrator.engine.market_hours import ExchangeHours
from orchestrator.engine.symbols import DEFAULT_FIRST_DATE, SecurityIdentifier, Symbol
from orchestrator.errors import DataError, UnsupportedApiError

RAW_UNIT = Decimal("0.0001")
_ONE_HOUR = dt.timedelta(hours=1)
_ONE_MINUTE = dt.timedelta(minutes=1)
_SUPPORTED_MODES = (DataNormalizationMode.RAW, DataNormalizationMode.ADJUSTED,
                    DataNormalizationMode.SPLIT_ADJUSTED)

_HOUR_OFFSETS: dict[tuple[int, int], dt.timedelta] = {}

# Daily and hour bars shared between runs, one dict per (files, factor file, normalization, exchange
# hours, kind of bar), bounded by the number of cached days. Bars delivered by the engine are read-only
# (data.py), so runs can share them; building them was the largest fixed cost of a daily backtest.
_DAY_BARS: dict[tuple[Any, ...], dict[Any, Any]] = {}
_DAY_BARS_LIMIT = 400_000
_day_bars_count = [0]


class _Same:
    """A dictionary key part that matches only the very same object (exchange hours, factor file)."""

    __slots__ = ("target",)

    def __init__(self, target: Any) -> None:
        self.target = target

    def __hash__(self) -> int:
        return id(self.target)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.target is self.target


def _shared_day_bars(key: tuple[Any, ...]) -> dict[Any, Any]:
    cache = _DAY_BARS.get(key)
    if cache is None:
        if _day_bars_count[0] > _DAY_BARS_LIMIT:
            _DAY_BARS.clear()  # runs holding a dict keep using it; later runs start afresh
            _day_bars_count[0] = 0
        cache = _DAY_BARS[key] = {}
    return cache

# Per-day minute time stamps, shared by every symbol and by trade and quote files of that day.
_MINUTE_TIMES: dict[dt.date, dict[int, dt.datetime]] = {}


# Daily/hour rows by date, shared between runs (a research loop backtests the same files many times).
_TABLES: dict[tuple[Any, ...], Any] = {}


def _remember(key: tuple[Any, ...], table: Any) -> None:
    if len(_TABLES) > 64:
        _TABLES.clear()
        _SORTED_DAYS.clear()
    _TABLES[key] = table


# The sorted dates of a shared table (by the table's identity; the entry keeps the table alive).
_SORTED_DAYS: dict[int, tuple[Any, list[dt.date]]] = {}


def _sorted_days(table: dict[dt.date, Any]) -> list[dt.date]:
    entry = _SORTED_DAYS.get(id(table))
    if entry is None or entry[0] is not table:
        if len(_SORTED_DAYS) > 128:
            _SORTED_DAYS.clear()
        entry = _SORTED_DAYS[id(table)] = (table, sorted(table))
    return entry[1]


# Intraday bars by (file, modification time, extended hours, scale, symbol); bounded by bar count.
_INTRADAY: dict[tuple[Any, ...], list[Any]] = {}
_INTRADAY_LIMIT = 600_000
_intraday_count = [0]


def _remember_intraday(key: tuple[Any, ...], bars: list[Any]) -> None:
    while _INTRADAY and _intraday_count[0] + len(bars) > _INTRADAY_LIMIT:
        oldest = next(iter(_INTRADAY), None)
        # another thread may have evicted it already (backtests run side by side in one process)
        evicted = _INTRADAY.pop(oldest, None) if oldest is not None else None
        if evicted is not None:
            _intraday_count[0] -= len(evicted)
    if len(bars) <= _INTRADAY_LIMIT:
        _INTRADAY[key] = bars
        _intraday_count[0] += len(bars)


def _minute_table(day: dt.date) -> dict[int, dt.datetime]:
    table = _MINUTE_TIMES.get(day)
    if table is None:
        if len(_MINUTE_TIMES) > 4096:
            _MINUTE_TIMES.clear()
        table = _MINUTE_TIMES[day] = {}
    return table


def minute_time(day: dt.date, ms: int) -> dt.datetime:
    """The datetime of ``ms`` milliseconds after midnight of ``day`` (shared objects per day)."""
    table = _minute_table(day)
    value = table.get(ms)
    if value is None:
        value = table[ms] = dt.datetime.combine(day, dt.time()) + dt.timedelta(milliseconds=ms)
    return value


@dataclass(frozen=True)
class DataGap:
    """A security whose data files exist but hold nothing inside the backtest window."""

    ticker: str
    resolution: Resolution
    kind: str
    start: dt.date
    end: dt.date
    path: Path  # the file the window needed
    before: dt.date | None  # the last date with data before the window
    after: dt.date | None  # the first date with data after it

    def describe(self) -> str:
        what = f"{self.resolution.name.lower()}" + (f" {self.kind}" if self.resolution in (
            Resolution.MINUTE, Resolution.SECOND) else "")
        found = "" if self.path.is_file() else ": not found"
        nearest = [f"{self.before} before" if self.before else "", f"{self.after} after" if self.after else ""]
        near = "; the nearest data: " + ", ".join(n for n in nearest if n) if any(nearest) else ""
        return (f"{self.ticker} has no {what} data between {self.start} and {self.end} "
                f"(looked for {self.path}{found}{near})")

    def warning(self) -> str:
        return (f"Warning: {self.describe()}. The backtest runs without {self.ticker}, as LEAN does: it "
                f"gets no bars, its price stays 0 and orders for it are rejected.")


def resolve_symbol(folder: Path, ticker: str) -> tuple[Symbol, lf.MapFile]:
    """The Symbol of a ticker: its identifier uses the map file's first date and first ticker."""
    map_file = lf.read_map_file(folder, ticker)
    first_date = map_file.first_date or DEFAULT_FIRST_DATE
    return Symbol(ticker, SecurityIdentifier(map_file.first_ticker, first_date)), map_file


class _DayFrame(NamedTuple):
    """A day's bounds and price scale for reading an intraday file (see ``SecuritySource._day_frame``)."""

    lo: int                      # bars must start strictly after lo and before hi (ms after midnight)
    hi: int
    scale: Decimal               # exact scale of a raw integer price
    factor: float                # the same as a float
    unit: float                  # dollars per raw price unit: factor / 10,000
    span: dt.timedelta           # a bar's length
    table: dict[int, dt.datetime]  # ms after midnight -> bar start, for the day's minutes


class SecuritySource:
    """Bars of one US equity from a LEAN data folder."""

    def __init__(self, folder: Path, ticker: str, hours: ExchangeHours,
                 normalization: DataNormalizationMode = DataNormalizationMode.ADJUSTED) -> None:
        self.folder = Path(folder)
        self.ticker = ticker.upper()
        self.hours = hours
        self.symbol, self.map_file = resolve_symbol(self.folder, self.ticker)
        self._listing = (self.map_file.first_date, self.map_file.last_date)
        self.factor_file = lf.read_factor_file(self.folder, self.ticker)
        self._normalization = DataNormalizationMode.ADJUSTED
        self.normalization = normalization
        self._scales: dict[dt.date, tuple[Decimal, float]] = {}
        self._daily: dict[dt.date, list[int]] | None = None
        self._hour_key: tuple[Any, ...] | None = None
        self._day_key: tuple[Any, ...] | None = None
        self._hourly: dict[dt.date, list[list[int]]] | None = None
        self._bar_caches: dict[str, dict[Any, Any]] = {}  # shared bars by kind (see _shared_day_bars)

    # -- prices -----------------------------------------------------------------------------------

    @property
    def normalization(self) -> DataNormalizationMode:
        return self._normalization

    @normalization.setter
    def normalization(self, mode: DataNormalizationMode) -> None:
        mode = DataNormalizationMode(int(mode))
        if mode not in _SUPPORTED_MODES:
            raise UnsupportedApiError(f"DataNormalizationMode.{mode.name}")
        self._normalization = mode
        self._scales = {}
        self._bar_caches = {}

    def scale(self, date: dt.date) -> tuple[Decimal, float]:
        """(exact decimal scale of a raw integer price, the same factor as a float) for ``date``."""
        cached = self._scales.get(date)
        if cached is not None:
            return cached
        if self._normalization == DataNormalizationMode.ADJUSTED:
            factor = self.factor_file.price_scale(date)
        elif self._normalization == DataNormalizationMode.SPLIT_ADJUSTED:
            factor = self.factor_file.split_scale(date)
        else:
            factor = Decimal(1)
        result = (RAW_UNIT * factor, float(factor))
        self._scales[date] = result
        return result

    # -- which file, which rows ----------------------------------------------------------------------

    def listing_range(self) -> tuple[dt.date | None, dt.date]:
        return self._listing

    def _load_file_rows(self, path_of) -> list[list[int]]:
        """Rows of a daily/hour file across the map file's ticker segments (the whole listing)."""
        first, last = self.listing_range()
        rows: list[list[int]] = []
        missing: list[Path] = []
        for seg_start, seg_end, file_ticker in self.map_file.segments(first or dt.date(1900, 1, 1), last):
            path = path_of(self.folder, file_ticker)
            if not path.is_file():
                missing.append(path)
                continue
            lo = seg_start.year * 10000 + seg_start.month * 100 + seg_start.day
            hi = seg_end.year * 10000 + seg_end.month * 100 + seg_end.day
            rows.extend(row for row in lf.read_daily_or_hour(path) if lo <= row[0] <= hi)
        if not rows and missing:
            raise DataError(f"no {self.ticker} data", path=missing[0],
                            hint="point --data-folder at a LEAN data folder that has it, or run "
                                 "`qcloop data synth` / `qcloop data import`")
        return rows

    def _cache_key(self, path_of) -> tuple[Any, ...]:
        """The files a table is built from, with their modification times (for the shared cache)."""
        first, last = self.listing_range()
        key: list[Any] = [str(self.folder), self.ticker]
        for _, _, file_ticker in self.map_file.segments(first or dt.date(1900, 1, 1), last):
            path = path_of(self.folder, file_ticker)
            key.append((str(path), path.stat().st_mtime if path.is_file() else None))
        return tuple(key)

    def _daily_key(self) -> tuple[Any, ...]:
        key = self._day_key
        if key is None:
            key = self._day_key = ("daily", *self._cache_key(lf.daily_path))
        return key

    def _bars_cache(self, kind: str, files: tuple[Any, ...]) -> dict[Any, Any]:
        """This source's shared bar dict of one kind ("daily", "hour", "light")."""
        cache = self._bar_caches.get(kind)
        if cache is None:
            key = (kind, files, self._normalization, _Same(self.factor_file), _Same(self.hours))
            cache = self._bar_caches[kind] = _shared_day_bars(key)
        return cache

    def load_daily(self) -> dict[dt.date, list[int]]:
        if self._daily is None:
            key = self._daily_key()
            table = _TABLES.get(key)
            if table is None:
                rows = self._load_file_rows(lf.daily_path)
                table = {dt.date(r[0] // 10000, r[0] // 100 % 100, r[0] % 100): r for r in rows}
                _remember(key, table)
            self._daily = table
        return self._daily

    def load_hourly(self) -> dict[dt.date, list[list[int]]]:
        if self._hourly is None:
            key = self._hourly_key()
            table = _TABLES.get(key)
            if table is None:
                grouped: dict[dt.date, list[list[int]]] = defaultdict(list)
                for r in self._load_file_rows(lf.hour_path):
                    grouped[dt.date(r[0] // 10000, r[0] // 100 % 100, r[0] % 100)].append(r)
                table = dict(grouped)
                _remember(key, table)
            self._hourly = table
        return self._hourly

    def find_gap(self, resolution: Resolution, kind: str, start: dt.date, end: dt.date) -> DataGap | None:
        """Whether the security has ``kind`` data of ``resolution`` within [start, end].

        None when it has some. A ``DataGap`` when its files exist but hold nothing in the window (a
        ticker change without a file, a listing that starts later or ended earlier): LEAN runs such a
        backtest without data for the security, and so does the engine. A ``DataError`` naming the
        file when the security has no file of this resolution at all: that is a wrong ticker or a
        missing download, not a gap.
        """
        if resolution in (Resolution.DAILY, Resolution.HOUR):
            # both loaders raise DataError when none of the map file's files exists
            table = self.load_daily() if resolution == Resolution.DAILY else self.load_hourly()
            days = _sorted_days(table)
            first_in = bisect.bisect_left(days, start)
            if first_in < len(days) and days[first_in] <= end:
                return None
            path_of = lf.daily_path if resolution == Resolution.DAILY else lf.hour_path
            path = path_of(self.folder, self.map_file.ticker_on(start))
            return DataGap(self.ticker, resolution, kind, start, end, path,
                           days[first_in - 1] if first_in else None,
                           days[first_in] if first_in < len(days) else None)
        days = self.hours.trading_days(start, end)
        if not days or any(self.intraday_path(resolution, day, kind).is_file() for day in days):
            return None
        dates = self._intraday_file_dates(resolution, kind)
        if not dates:
            raise DataError(
                f"no {self.ticker} {resolution.name.lower()} {kind} data",
                path=self.intraday_path(resolution, days[0], kind),
                hint="point --data-folder at a LEAN data folder that has it, choose another resolution, "
                     "or run `qcloop data synth` / `qcloop data import`",
            )
        return DataGap(self.ticker, resolution, kind, start, end, self.intraday_path(resolution, days[0], kind),
                       max((d for d in dates if d < start), default=None),
                       min((d for d in dates if d > end), default=None))

    def check_available(self, resolution: Resolution, kind: str, start: dt.date, end: dt.date) -> None:
        """A DataError naming the file looked for when [start, end] has no data (a gap included)."""
        gap = self.find_gap(resolution, kind, start, end)
        if gap is not None:
            raise DataError(gap.describe(), path=gap.path,
                            hint="choose dates inside the data, or add data with `qcloop data synth`/`import`")

    def missing_files(self, resolution: Resolution, start: dt.date, end: dt.date
                      ) -> list[tuple[dt.date, dt.date, str, Path]]:
        """Daily/hour: the map file's ticker ranges within [start, end] whose file does not exist.

        QQQ traded as QQQQ from 2004-12-01 to 2011-03-22; without ``qqqq.zip`` a backtest across those
        dates carries QQQ's last price forward, which the engine warns about.
        """
        path_of = lf.daily_path if resolution == Resolution.DAILY else lf.hour_path
        first, last = self.listing_range()
        lo, hi = max(start, first or start), min(end, last)
        return [(seg_start, seg_end, ticker, path_of(self.folder, ticker))
                for seg_start, seg_end, ticker in self.map_file.segments(lo, hi)
                if not path_of(self.folder, ticker).is_file()]

    def _intraday_file_dates(self, resolution: Resolution, kind: str) -> list[dt.date]:
        """Dates of the existing intraday ``kind`` files, across the map file's tickers."""
        folder_name = "minute" if resolution == Resolution.MINUTE else "second"
        first, last = self.listing_range()
        dates: set[dt.date] = set()
        for seg_start, seg_end, ticker in self.map_file.segments(first or dt.date(1900, 1, 1), last):
            folder = self.folder / lf.EQUITY_DIR / folder_name / ticker.lower()
            for path in folder.glob(f"*_{kind}.zip"):
                stamp = path.name.split("_", 1)[0]
                if len(stamp) == 8 and stamp.isdigit():
                    day = dt.date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
                    if seg_start <= day <= seg_end:
                        dates.add(day)
        return sorted(dates)

    def intraday_path(self, resolution: Resolution, date: dt.date, kind: str) -> Path:
        folder_name = "minute" if resolution == Resolution.MINUTE else "second"
        return lf.intraday_path(self.folder, folder_name, self.map_file.ticker_on(date), date, kind)

    # -- bars of one day -----------------------------------------------------------------------------

    def daily_bar(self, day: dt.date) -> TradeBar | None:
        """The day's bar (shared between runs, read-only), or None without a row or a session."""
        cache = self._bar_caches.get("daily") or self._bars_cache("daily", self._daily_key())
        try:
            return cache[day]
        except KeyError:
            pass
        row = self.load_daily().get(day)
        session = self.hours.session(day)
        bar = None
        if row is not None and session is not None:
            bar = self._trade_bar(row[3], row[4], row[5], row[6], row[7], session.open, session.close, day)
        cache[day] = bar
        _day_bars_count[0] += 1
        return bar

    def hour_bars(self, day: dt.date, extended: bool, light: bool = False) -> list[TradeBar]:
        """The day's hour bars (shared between runs, read-only); ``light`` bars carry only times and
        the close (what the benchmark needs)."""
        kind = "light" if light else "hour"
        cache = self._bar_caches.get(kind) or self._bars_cache(kind, self._hourly_key())
        key = (day, extended)
        bars = cache.get(key)
        if bars is None:
            bars = cache[key] = self._hour_bars(day, extended, light)
            _day_bars_count[0] += 1
        return bars

    def _hourly_key(self) -> tuple[Any, ...]:
        key = self._hour_key
        if key is None:
            key = self._hour_key = ("hour", *self._cache_key(lf.hour_path))
        return key

    def _hour_bars(self, day: dt.date, extended: bool, light: bool) -> list[TradeBar]:
        rows = self.load_hourly().get(day)
        session = self.hours.session(day)
        if not rows or session is None:
            return []
        lo, hi = (session.extended_open, session.extended_close) if extended else (session.open, session.close)
        midnight = dt.datetime.combine(day, dt.time())
        scale, factor = self.scale(day)
        bars = []
        for r in rows:
            offset = _HOUR_OFFSETS.get((r[1], r[2]))
            if offset is None:
                offset = _HOUR_OFFSETS[(r[1], r[2])] = dt.timedelta(hours=r[1], minutes=r[2])
            begin = midnight + offset
            finish = begin + _ONE_HOUR
            if begin < hi and finish > lo:
                if light:
                    bar = TradeBar.__new__(TradeBar)
                    bar.time, bar.end_time, bar.symbol = begin, finish, self.symbol
                    bar.close = r[6] * factor / 10000.0
                    bar._raw, bar._scale, bar.is_fill_forward = (r[3], r[4], r[5], r[6]), scale, False
                    bar.__class__ = ReadOnlyTradeBar
                    bars.append(bar)
                else:
                    bars.append(self._trade_bar(r[3], r[4], r[5], r[6], r[7], begin, finish, day))
        return bars

    def _session_ms(self, day: dt.date, extended: bool, span_ms: int) -> tuple[int, int] | None:
        session = self.hours.session(day)
        if session is None:
            return None
        lo, hi = (session.extended_open, session.extended_close) if extended else (session.open, session.close)
        midnight = dt.datetime.combine(day, dt.time())
        # a bar [t, t+span) overlaps [lo, hi) when lo - span < t < hi
        return (int((lo - midnight).total_seconds() * 1000) - span_ms,
                int((hi - midnight).total_seconds() * 1000))

    def _day_frame(self, resolution: Resolution, day: dt.date, extended: bool) -> _DayFrame | None:
        """What reading a day's intraday file needs; None when the market is closed that day."""
        span_ms = 60_000 if resolution == Resolution.MINUTE else 1000
        bounds = self._session_ms(day, extended, span_ms)
        if bounds is None:
            return None
        scale, factor = self.scale(day)
        return _DayFrame(bounds[0], bounds[1], scale, factor, factor / 10000.0, dt.timedelta(milliseconds=span_ms),
                         _minute_table(day))

    def intraday_trade_bars(self, resolution: Resolution, day: dt.date, extended: bool) -> list[TradeBar]:
        return self._cached_intraday(resolution, day, extended, "trade")

    def intraday_quote_bars(self, resolution: Resolution, day: dt.date, extended: bool) -> list[QuoteBar]:
        return self._cached_intraday(resolution, day, extended, "quote")

    def _cached_intraday(self, resolution: Resolution, day: dt.date, extended: bool, kind: str) -> list[Any]:
        """A day's intraday bars, shared between runs while they fit the cache.

        A research loop backtests the same minute files again and again; parsing them is the largest
        cost of a minute backtest. The engine never mutates bars, so runs can share them.
        """
        path = self.intraday_path(resolution, day, kind)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return []
        key = (str(path), mtime, extended, self.scale(day)[0], self.symbol)
        cached = _INTRADAY.get(key)
        if cached is None:
            cached = (self._read_trade_bars if kind == "trade" else self._read_quote_bars)(
                resolution, day, extended, path)
            _remember_intraday(key, cached)
        return cached

    def _read_trade_bars(self, resolution: Resolution, day: dt.date, extended: bool, path: Path) -> list[TradeBar]:
        frame = self._day_frame(resolution, day, extended)
        if frame is None:
            return []
        lo, hi, scale, factor, unit, span, table = frame
        symbol = self.symbol
        bars = []
        new = TradeBar.__new__
        for ms, o, h, low, c, v in lf.read_minute_trades(path):
            if not lo < ms < hi:
                continue
            bar = new(TradeBar)
            bar.symbol = symbol
            begin = table.get(ms)
            if begin is None:
                begin = minute_time(day, ms)
            bar.time = begin
            bar.end_time = begin + span
            bar.open = o * unit
            bar.high = h * unit
            bar.low = low * unit
            bar.close = c * unit
            bar.volume = v / factor
            bar.is_fill_forward = False
            bar._raw = (o, h, low, c)
            bar._scale = scale
            bar.__class__ = ReadOnlyTradeBar  # shared between runs (see data.py)
            bars.append(bar)
        return bars

    def _read_quote_bars(self, resolution: Resolution, day: dt.date, extended: bool, path: Path) -> list[QuoteBar]:
        frame = self._day_frame(resolution, day, extended)
        if frame is None:
            return []
        lo, hi, scale, _, unit, span, table = frame
        symbol = self.symbol
        bars = []
        new = QuoteBar.__new__
        for r in lf.read_minute_quotes(path):
            ms = r[0]
            if not lo < ms < hi:
                continue
            quote = new(QuoteBar)
            quote.symbol = symbol
            begin = table.get(ms)
            if begin is None:
                begin = minute_time(day, ms)
            quote.time = begin
            quote.end_time = begin + span
            quote._bid = quote._ask = None
            quote._bid_raw = (r[1], r[2], r[3], r[4]) if r[4] else None
            quote._ask_raw = (r[6], r[7], r[8], r[9]) if r[9] else None
            quote._scale = scale
            quote._unit = unit
            quote.last_bid_size = float(r[5])
            quote.last_ask_size = float(r[10])
            quote.is_fill_forward = False
            quote.__class__ = ReadOnlyQuoteBar  # shared between runs (see data.py)
            bars.append(quote)
        return bars

    def _trade_bar(self, o: int, h: int, low: int, c: int, v: int, begin: dt.datetime, finish: dt.datetime,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                   day: dt.date) -> TradeBar:
        scale, factor = self.scale(day)
        unit = factor / 10000.0
        bar = TradeBar.__new__(TradeBar)
        bar.symbol = self.symbol
        bar.time = begin
        bar.end_time = finish
        bar.open = o * unit
        bar.high = h * unit
        bar.low = low * unit
        bar.close = c * unit
        bar.volume = v / factor
        bar.is_fill_forward = False
        bar._raw = (o, h, low, c)
        bar._scale = scale
        bar.__class__ = ReadOnlyTradeBar
        return bar

    # -- corporate actions ---------------------------------------------------------------------------

    def corporate_actions(self, start: dt.date, end: dt.date) -> dict[dt.date, list[Dividend | Split]]:
        """Dividends and splits at 00:00 of their ex-dates within [start, end] (from the factor file).

        A price-factor change between row R and the next row is a dividend whose ex-date is the next
        trading day after R: distribution = round(reference_price x (1 - pf_R / pf_next), 2). A split-factor
        change is a split with factor split_R / split_next.
        """
        events: dict[dt.date, list[Dividend | Split]] = defaultdict(list)
        rows = self.factor_file.rows
        for row, following in itertools.pairwise(rows):
            ex_date = self.hours.next_trading_day(row.date)
            if not start <= ex_date <= end:
                continue
            time = dt.datetime.combine(ex_date, dt.time())
            if following.price_factor not in (row.price_factor, 0):
                reference = row.reference_price
                amount = (reference * (1 - row.price_factor / following.price_factor)).quantize(Decimal("0.01"))
                events[ex_date].append(Dividend(self.symbol, time, amount, reference))
            if following.split_factor not in (row.split_factor, 0):
                events[ex_date].append(Split(self.symbol, time, row.reference_price,
                                             row.split_factor / following.split_factor))
        return dict(events)

