"""Market data objects as algorithms see them: TradeBar, QuoteBar, Dividend, Split and Slice.

Prices the algorithm reads are floats (QuantConnect's Python API converts C# decimals to floats). For
exact accounting each engine-made bar also keeps the raw integer prices of the file and the decimal
scale (price factor x 0.0001), so fills and portfolio values use LEAN's exact decimal prices
(``TradeBar.exact(i)``).

**Bars the engine delivers are read-only.** The engine parses each data file once per process and
shares the bars between backtests (a research loop runs hundreds in one process), so a bar an
algorithm changed would change every later backtest. Delivered bars are therefore instances of
read-only subclasses (``ReadOnlyTradeBar``, ``ReadOnlyQuoteBar``, ``ReadOnlyBar``): ``isinstance(bar,
TradeBar)`` holds, reading costs the same, and assigning an attribute raises ``ReadOnlyBarError``
naming it. ``bar.clone()`` gives a mutable copy. Bars an algorithm builds itself stay mutable.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from orchestrator.engine.symbols import Symbol

ZERO = Decimal(0)
ONE_MINUTE = dt.timedelta(minutes=1)


def _to_decimal(value: Any) -> Decimal:
    """A float/int given by user code as the decimal LEAN would hold (via its shortest repr)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(float(value)))


class ReadOnlyBarError(AttributeError):
    """An algorithm assigned an attribute of a bar the engine delivered (shared between backtests)."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(
            f"{kind}.{name} cannot be set: bars delivered by qcloop's engine are read-only because they are "
            f"shared with every backtest run in this process; change a copy instead (bar.clone())")
        self.name = name


def _read_only(kind: str) -> Any:
    def refuse(self: Any, name: str, value: Any = None) -> None:
        raise ReadOnlyBarError(kind, name)
    return refuse


class TradeBar:
    """OHLCV over [time, end_time). ``TradeBar(time, symbol, open, high, low, close, volume, period)``.

    Bars delivered by the engine are ``ReadOnlyTradeBar`` instances: read them, or ``clone()`` them to
    change them. They are shared between the backtests of a process (see the module docstring).
    """

    __slots__ = ("_raw", "_scale", "close", "end_time", "high", "is_fill_forward", "low", "open",
                 "symbol", "time", "volume")

    def __init__(self, time: dt.datetime | None = None, symbol: Any = None, open: float = 0.0,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 high: float = 0.0, low: float = 0.0, close: float = 0.0, volume: float = 0.0,
                 period: dt.timedelta | None = None) -> None:
        self.time = time if time is not None else dt.datetime.min
        self.end_time = self.time + (period if period is not None else ONE_MINUTE)
        self.symbol = symbol
        self.open = float(open)
        self.high = float(high)
        self.low = float(low)
        self.close = float(close)
        self.volume = float(volume)
        self.is_fill_forward = False
        self._raw: tuple[int, int, int, int] | None = None
        self._scale = ZERO

    def exact(self, index: int) -> Decimal:
        """Open (0), high (1), low (2) or close (3) as LEAN's exact decimal."""
        if self._raw is not None:
            return self._raw[index] * self._scale
        return _to_decimal((self.open, self.high, self.low, self.close)[index])

    def fill_forward(self, end_time: dt.datetime) -> TradeBar:
        """A read-only copy marked as fill-forward, ending at ``end_time`` (the period is kept)."""
        bar = TradeBar.__new__(TradeBar)
        bar.symbol = self.symbol
        bar.time = end_time - (self.end_time - self.time)
        bar.end_time = end_time
        bar.open, bar.high, bar.low, bar.close = self.open, self.high, self.low, self.close
        bar.volume = 0.0
        bar.is_fill_forward = True
        bar._raw = self._raw
        bar._scale = self._scale
        bar.__class__ = ReadOnlyTradeBar
        return bar

    def clone(self) -> TradeBar:
        """A mutable copy (LEAN's ``Clone``)."""
        bar = TradeBar.__new__(TradeBar)
        for name in TradeBar.__slots__:
            setattr(bar, name, getattr(self, name))
        bar._raw = None  # the copy's own prices: exact() follows what the algorithm sets
        return bar

    @property
    def period(self) -> dt.timedelta:
        return self.end_time - self.time

    @property
    def value(self) -> float:
        return self.close

    @property
    def price(self) -> float:
        return self.close

    def update(self, last_trade: float, bid_price: float = 0.0, ask_price: float = 0.0,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
               volume: float = 0.0, bid_size: float = 0.0, ask_size: float = 0.0) -> None:
        """LEAN's ``TradeBar.Update``: extend the bar with a trade (used by consolidators)."""
        if last_trade == 0:
            return
        if self.open == 0:
            self.open = self.high = self.low = last_trade
        self.high = max(self.high, last_trade)
        self.low = min(self.low, last_trade)
        self.close = last_trade
        self.volume += volume
        self._raw = None

    def __repr__(self) -> str:
        return (f"TradeBar({self.symbol}, {self.end_time:%Y-%m-%d %H:%M}, O={self.open:.4f} H={self.high:.4f} "
                f"L={self.low:.4f} C={self.close:.4f} V={self.volume:.0f})")

    def __str__(self) -> str:
        return (f"{self.symbol}: O: {self.open:.2f} H: {self.high:.2f} L: {self.low:.2f} "
                f"C: {self.close:.2f} V: {self.volume:.0f}")

    Time = property(lambda self: self.time)
    EndTime = property(lambda self: self.end_time)
    Symbol = property(lambda self: self.symbol)
    Open = property(lambda self: self.open)
    High = property(lambda self: self.high)
    Low = property(lambda self: self.low)
    Close = property(lambda self: self.close)
    Volume = property(lambda self: self.volume)
    Value = property(lambda self: self.close)
    Price = property(lambda self: self.close)
    Period = property(lambda self: self.end_time - self.time)
    IsFillForward = property(lambda self: self.is_fill_forward)
    Clone = clone


class ReadOnlyTradeBar(TradeBar):
    """A TradeBar delivered by the engine: shared between backtests, so assigning raises ReadOnlyBarError.

    The engine builds a plain TradeBar and then switches its class (``bar.__class__ = ReadOnlyTradeBar``):
    one store per bar, and reads cost exactly what they cost on a TradeBar.
    """

    __slots__ = ()
    __setattr__ = _read_only("TradeBar")
    __delattr__ = _read_only("TradeBar")

    def update(self, last_trade: float, bid_price: float = 0.0, ask_price: float = 0.0,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
               volume: float = 0.0, bid_size: float = 0.0, ask_size: float = 0.0) -> None:
        raise ReadOnlyBarError("TradeBar", "update()")


class Bar:
    """One side of a quote (bid or ask): open/high/low/close."""

    __slots__ = ("_raw", "_scale", "close", "high", "low", "open")

    def __init__(self, open: float = 0.0, high: float = 0.0, low: float = 0.0, close: float = 0.0) -> None:
        self.open = float(open)
        self.high = float(high)
        self.low = float(low)
        self.close = float(close)
        self._raw: tuple[int, int, int, int] | None = None
        self._scale = ZERO

    def exact(self, index: int) -> Decimal:
        """Open (0), high (1), low (2) or close (3) as LEAN's exact decimal."""
        if self._raw is not None:
            return self._raw[index] * self._scale
        return _to_decimal((self.open, self.high, self.low, self.close)[index])

    def exact_close(self) -> Decimal:
        return self.exact(3)

    def __repr__(self) -> str:
        return f"Bar(O={self.open} H={self.high} L={self.low} C={self.close})"

    Open = property(lambda self: self.open)
    High = property(lambda self: self.high)
    Low = property(lambda self: self.low)
    Close = property(lambda self: self.close)


class ReadOnlyBar(Bar):
    """The bid or ask side of a delivered quote bar (shared between backtests): read-only."""

    __slots__ = ()
    __setattr__ = _read_only("Bar")
    __delattr__ = _read_only("Bar")


class QuoteBar:
    """Bid and ask bars over [time, end_time); OHLC are the mid prices (or the one side present).

    Engine-made quote bars keep the raw integer prices of each side and build the ``bid``/``ask``
    Bar objects only when read: most minute quote bars are never looked at.
    """

    __slots__ = ("_ask", "_ask_raw", "_bid", "_bid_raw", "_scale", "_unit", "end_time", "is_fill_forward",
                 "last_ask_size", "last_bid_size", "symbol", "time")

    def __init__(self, time: dt.datetime | None = None, symbol: Any = None, bid: Bar | None = None,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 last_bid_size: float = 0.0, ask: Bar | None = None, last_ask_size: float = 0.0,
                 period: dt.timedelta | None = None) -> None:
        self.time = time if time is not None else dt.datetime.min
        self.end_time = self.time + (period if period is not None else ONE_MINUTE)
        self.symbol = symbol
        self._bid = bid
        self._ask = ask
        self._bid_raw: tuple[int, int, int, int] | None = None
        self._ask_raw: tuple[int, int, int, int] | None = None
        self._scale = ZERO
        self._unit = 0.0
        self.last_bid_size = float(last_bid_size)
        self.last_ask_size = float(last_ask_size)
        self.is_fill_forward = False

    def _side(self, raw: tuple[int, int, int, int]) -> Bar:
        unit = self._unit
        side = Bar.__new__(Bar)
        side.open, side.high, side.low, side.close = raw[0] * unit, raw[1] * unit, raw[2] * unit, raw[3] * unit
        side._raw = raw
        side._scale = self._scale
        side.__class__ = ReadOnlyBar  # built from the file's prices, for a bar the engine delivered
        return side

    @property
    def bid(self) -> Bar | None:
        if self._bid is None and self._bid_raw is not None:
            # built on first read and kept (through the slot: delivered quote bars are read-only)
            _BID_SLOT.__set__(self, self._side(self._bid_raw))
        return self._bid

    @bid.setter
    def bid(self, value: Bar | None) -> None:
        self._bid, self._bid_raw = value, None

    @property
    def ask(self) -> Bar | None:
        if self._ask is None and self._ask_raw is not None:
            _ASK_SLOT.__set__(self, self._side(self._ask_raw))
        return self._ask

    @ask.setter
    def ask(self, value: Bar | None) -> None:
        self._ask, self._ask_raw = value, None

    def exact_bid_close(self) -> Decimal | None:
        if self._bid_raw is not None:
            return self._bid_raw[3] * self._scale
        return self._bid.exact_close() if self._bid is not None and self._bid.close else None

    def exact_ask_close(self) -> Decimal | None:
        if self._ask_raw is not None:
            return self._ask_raw[3] * self._scale
        return self._ask.exact_close() if self._ask is not None and self._ask.close else None

    def has_bid(self) -> bool:
        return self._bid_raw is not None or (self._bid is not None and self._bid.close != 0)

    def has_ask(self) -> bool:
        return self._ask_raw is not None or (self._ask is not None and self._ask.close != 0)

    def _mid(self, field: str) -> float:
        bid, ask = self.bid, self.ask
        if bid is not None and ask is not None and getattr(bid, field) != 0 and getattr(ask, field) != 0:
            return (getattr(bid, field) + getattr(ask, field)) / 2
        if bid is not None and getattr(bid, field) != 0:
            return float(getattr(bid, field))
        if ask is not None:
            return float(getattr(ask, field))
        return 0.0

    @property
    def open(self) -> float:
        return self._mid("open")

    @property
    def high(self) -> float:
        return self._mid("high")

    @property
    def low(self) -> float:
        return self._mid("low")

    @property
    def close(self) -> float:
        return self._mid("close")

    @property
    def value(self) -> float:
        return self._mid("close")

    @property
    def price(self) -> float:
        return self._mid("close")

    @property
    def period(self) -> dt.timedelta:
        return self.end_time - self.time

    @property
    def volume(self) -> float:
        return 0.0

    def fill_forward(self, end_time: dt.datetime) -> QuoteBar:
        bar = QuoteBar.__new__(QuoteBar)
        bar.symbol = self.symbol
        bar.time = end_time - (self.end_time - self.time)
        bar.end_time = end_time
        bar._bid, bar._ask = self._bid, self._ask
        bar._bid_raw, bar._ask_raw = self._bid_raw, self._ask_raw
        bar._scale, bar._unit = self._scale, self._unit
        bar.last_bid_size, bar.last_ask_size = self.last_bid_size, self.last_ask_size
        bar.is_fill_forward = True
        bar.__class__ = ReadOnlyQuoteBar
        return bar

    def clone(self) -> QuoteBar:
        """A mutable copy (LEAN's ``Clone``); its bid and ask are mutable copies too."""
        bar = QuoteBar.__new__(QuoteBar)
        for name in QuoteBar.__slots__:
            setattr(bar, name, getattr(self, name))
        bar._bid_raw = bar._ask_raw = None
        bar._bid = _mutable_side(self.bid)
        bar._ask = _mutable_side(self.ask)
        return bar

    def __repr__(self) -> str:
        return f"QuoteBar({self.symbol}, {self.end_time:%Y-%m-%d %H:%M}, bid={self.bid}, ask={self.ask})"

    Time = property(lambda self: self.time)
    EndTime = property(lambda self: self.end_time)
    Symbol = property(lambda self: self.symbol)
    Bid = property(lambda self: self.bid)
    Ask = property(lambda self: self.ask)
    Open = property(lambda self: self.open)
    High = property(lambda self: self.high)
    Low = property(lambda self: self.low)
    Close = property(lambda self: self.close)
    Value = property(lambda self: self.value)
    Price = property(lambda self: self.value)
    LastBidSize = property(lambda self: self.last_bid_size)
    LastAskSize = property(lambda self: self.last_ask_size)
    Period = property(lambda self: self.end_time - self.time)
    IsFillForward = property(lambda self: self.is_fill_forward)
    Clone = clone


_BID_SLOT: Any = QuoteBar.__dict__["_bid"]
_ASK_SLOT: Any = QuoteBar.__dict__["_ask"]


def _mutable_side(side: Bar | None) -> Bar | None:
    if side is None:
        return None
    return Bar(side.open, side.high, side.low, side.close)


class ReadOnlyQuoteBar(QuoteBar):
    """A QuoteBar delivered by the engine: shared between backtests, so assigning raises ReadOnlyBarError."""

    __slots__ = ()
    __setattr__ = _read_only("QuoteBar")
    __delattr__ = _read_only("QuoteBar")


class _CorporateEvent:
    """What a dividend and a split share: a symbol, an instant (ex-date 00:00), a reference price."""

    __slots__ = ("reference_price", "symbol", "time")

    def __init__(self, symbol: Any, time: dt.datetime, reference_price: Decimal) -> None:
        self.symbol = symbol
        self.time = time
        self.reference_price = reference_price

    @property
    def end_time(self) -> dt.datetime:
        return self.time

    @property
    def is_fill_forward(self) -> bool:
        return False

    Symbol = property(lambda self: self.symbol)
    Time = property(lambda self: self.time)
    EndTime = property(lambda self: self.time)
    ReferencePrice = property(lambda self: float(self.reference_price))


class Dividend(_CorporateEvent):
    """A cash distribution per share, effective at 00:00 of the ex-date."""

    __slots__ = ("distribution",)

    def __init__(self, symbol: Any, time: dt.datetime, distribution: Decimal, reference_price: Decimal) -> None:
        super().__init__(symbol, time, reference_price)
        self.distribution = distribution

    @property
    def value(self) -> float:
        return float(self.distribution)

    def __repr__(self) -> str:
        return f"Dividend({self.symbol}, {self.time:%Y-%m-%d}, {self.distribution})"

    Distribution = property(lambda self: float(self.distribution))
    Value = property(lambda self: float(self.distribution))


class SplitType:
    WARNING = 0
    SPLIT_OCCURRED = 1
    Warning = 0
    SplitOccurred = 1


class Split(_CorporateEvent):
    """A share split: ``split_factor`` < 1 multiplies the share count by 1/split_factor."""

    __slots__ = ("split_factor", "type")

    def __init__(self, symbol: Any, time: dt.datetime, reference_price: Decimal, split_factor: Decimal,
                 type: int = SplitType.SPLIT_OCCURRED) -> None:
        super().__init__(symbol, time, reference_price)
        self.split_factor = split_factor
        self.type = type

    @property
    def value(self) -> float:
        return float(self.split_factor)

    def __repr__(self) -> str:
        return f"Split({self.symbol}, {self.time:%Y-%m-%d}, {self.split_factor})"

    SplitFactor = property(lambda self: float(self.split_factor))
    Type = property(lambda self: self.type)


class DataDictionary(dict):
    """A symbol-keyed dict that also accepts tickers (``bars["SPY"]``) and C#-style members."""

    kind = "data"

    def __missing__(self, key: Any) -> Any:
        raise KeyError(
            f"'{key}' wasn't found in the {type(self).__name__} object, likely because there was no data "
            f"for it at this moment in time; check with .contains_key('{key}') or 'in' first"
        )

    def contains_key(self, key: Any) -> bool:
        return key in self

    def try_get_value(self, key: Any) -> tuple[bool, Any]:
        value = self.get(key)
        return value is not None, value

    @property
    def count(self) -> int:
        return len(self)

    ContainsKey = contains_key
    TryGetValue = try_get_value
    Count = count
    Keys = property(lambda self: list(self.keys()))
    Values = property(lambda self: list(self.values()))


class TradeBars(DataDictionary):
    pass


class QuoteBars(DataDictionary):
    pass


class Dividends(DataDictionary):
    pass


class Splits(DataDictionary):
    pass


class Delistings(DataDictionary):
    pass


class SymbolChangedEvents(DataDictionary):
    pass


class Ticks(DataDictionary):
    pass


_NO_DIVIDENDS = Dividends()
_NO_SPLITS = Splits()
_NO_DELISTINGS = Delistings()
_NO_SYMBOL_CHANGES = SymbolChangedEvents()
_NO_TICKS = Ticks()


class Slice:
    """Everything that arrived at one moment: ``slice.bars``, ``slice.quote_bars``, ``slice[symbol]``.

    Engine-made slices keep the time slice's columns and build the ``bars``/``quote_bars``
    dictionaries only when the algorithm reads them.
    """

    __slots__ = ("_bar_column", "_quotes", "_sub_column", "_trades", "dividends", "splits", "time")

    # always empty in qcloop (no delistings, ticker changes or ticks reach slices): shared class constants,
    # so that the engine builds one slice per time step with fewer stores
    delistings = _NO_DELISTINGS
    symbol_changed_events = _NO_SYMBOL_CHANGES
    ticks = _NO_TICKS

    def __init__(self, time: dt.datetime, bars: TradeBars | None = None, quote_bars: QuoteBars | None = None,
                 dividends: Dividends | None = None, splits: Splits | None = None) -> None:
        self.time = time
        self._trades: TradeBars | None = bars if bars is not None else TradeBars()
        self._quotes: QuoteBars | None = quote_bars if quote_bars is not None else QuoteBars()
        self._sub_column: Any = None
        self._bar_column: Any = None
        # empty collections are shared (a Slice per minute would otherwise build five dicts)
        self.dividends = dividends if dividends is not None else _NO_DIVIDENDS
        self.splits = splits if splits is not None else _NO_SPLITS

    @classmethod
    def from_columns(cls, time: dt.datetime, subscriptions: Any, bars: Any, dividends: Dividends | None,
                     splits: Splits | None) -> Slice:
        """A slice over a time slice's (subscription, bar) columns; internal subscriptions are skipped."""
        result = cls.__new__(cls)
        result.time = time
        result._trades = result._quotes = None
        result._sub_column, result._bar_column = subscriptions, bars
        result.dividends = dividends if dividends is not None else _NO_DIVIDENDS
        result.splits = splits if splits is not None else _NO_SPLITS
        return result

    def _split_columns(self) -> None:
        trades, quotes = TradeBars(), QuoteBars()
        for sub, bar in zip(self._sub_column, self._bar_column, strict=True):
            if sub.internal:
                continue
            if sub.is_trade:
                trades[sub.symbol] = bar
            else:
                quotes[sub.symbol] = bar
        self._trades, self._quotes = trades, quotes

    @property
    def bars(self) -> TradeBars:
        if self._trades is None:
            self._split_columns()
        assert self._trades is not None
        return self._trades

    @property
    def quote_bars(self) -> QuoteBars:
        if self._quotes is None:
            self._split_columns()
        assert self._quotes is not None
        return self._quotes

    def __getitem__(self, key: Any) -> Any:
        if key in self.bars:
            return self.bars[key]
        if key in self.quote_bars:
            return self.quote_bars[key]
        if key in self.dividends:
            return self.dividends[key]
        if key in self.splits:
            return self.splits[key]
        raise KeyError(
            f"'{key}' wasn't found in the Slice object, likely because there was no data for it at "
            f"{self.time}; check with slice.contains_key('{key}') first"
        )

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: Any) -> bool:
        return key in self.bars or key in self.quote_bars or key in self.dividends or key in self.splits

    def contains_key(self, key: Any) -> bool:
        return key in self

    def keys(self) -> list[Symbol]:
        seen = dict.fromkeys(self.bars)
        seen.update(dict.fromkeys(self.quote_bars))
        seen.update(dict.fromkeys(self.dividends))
        seen.update(dict.fromkeys(self.splits))
        return list(seen)

    def values(self) -> list[Any]:
        return [self[key] for key in self.keys()]

    def items(self) -> list[tuple[Symbol, Any]]:
        return [(key, self[key]) for key in self.keys()]

    def __iter__(self) -> Any:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    @property
    def has_data(self) -> bool:
        return bool(self.bars or self.quote_bars or self.dividends or self.splits)

    @property
    def count(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"Slice({self.time}, {', '.join(str(k) for k in self.keys())})"

    ContainsKey = contains_key
    Keys = property(lambda self: self.keys())
    Values = property(lambda self: self.values())
    Time = property(lambda self: self.time)
    Bars = property(lambda self: self.bars)
    QuoteBars = property(lambda self: self.quote_bars)
    Dividends = property(lambda self: self.dividends)
    Splits = property(lambda self: self.splits)
    Delistings = property(lambda self: self.delistings)
    SymbolChangedEvents = property(lambda self: self.symbol_changed_events)
    Ticks = property(lambda self: self.ticks)
    HasData = property(lambda self: self.has_data)
    Count = property(lambda self: self.count)
