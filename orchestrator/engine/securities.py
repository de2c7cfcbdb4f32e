"""Securities: the last known prices of each security, its exchange and its trading settings.

Price updates follow LEAN's SecurityCache (reference/lean-engine.md §1): trade bars set the price and
OHLCV, quote bars set bid/ask, and fill-forward bars change nothing (they only reach ``slice`` and the
indicators). Prices are kept as exact decimals (``exact_price``) and shown to the algorithm as floats.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator.engine.data import QuoteBar, TradeBar
from orchestrator.engine.enums import DataNormalizationMode, Resolution, SecurityType
from orchestrator.engine.fees import InteractiveBrokersFeeModel, fee_model_of
from orchestrator.engine.market_hours import ExchangeHours
from orchestrator.engine.sources import DataGap, SecuritySource
from orchestrator.engine.symbols import Symbol
from orchestrator.errors import UnsupportedApiError

if TYPE_CHECKING:
    from orchestrator.engine.feed import Subscription
    from orchestrator.engine.portfolio import SecurityHolding

ZERO = Decimal(0)


class Clock(Protocol):
    @property
    def time(self) -> dt.datetime: ...


class SecurityExchange:
    """``security.exchange``: whether the exchange is open now, and its hours."""

    def __init__(self, hours: ExchangeHours, clock: Clock, extended_hours: bool) -> None:
        self.hours = hours
        self._clock = clock
        self._extended = extended_hours
        self.time_zone = "America/New_York"

    @property
    def exchange_open(self) -> bool:
        return self.hours.is_open(self._clock.time, self._extended)

    @property
    def local_time(self) -> dt.datetime:
        return self._clock.time

    def date_time_is_open(self, time: dt.datetime) -> bool:
        return self.hours.is_open(time, False)

    def is_open_during_bar(self, start: dt.datetime, end: dt.datetime, extended: bool = False) -> bool:
        return self.hours.is_open_during(start, end, extended)

    def date_is_open(self, date: dt.date | dt.datetime) -> bool:
        day = date.date() if isinstance(date, dt.datetime) else date
        return self.hours.is_trading_day(day)

    ExchangeOpen = property(lambda self: self.exchange_open)
    Hours = property(lambda self: self.hours)
    TimeZone = property(lambda self: self.time_zone)
    LocalTime = property(lambda self: self.local_time)
    DateTimeIsOpen = date_time_is_open
    DateIsOpen = date_is_open


class Security:
    """One US equity in the algorithm (``self.securities["SPY"]``)."""

    def __init__(self, source: SecuritySource, resolution: Resolution, clock: Clock, leverage: Decimal,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 fill_forward: bool, extended_hours: bool) -> None:
        self.source = source
        self.symbol: Symbol = source.symbol
        self.resolution = resolution
        self.leverage = leverage
        self.fill_forward = fill_forward
        self.extended_hours = extended_hours
        self.exchange = SecurityExchange(source.hours, clock, extended_hours)
        self.subscriptions: list[Subscription] = []
        self.fee_model: Any = InteractiveBrokersFeeModel()
        self.holdings: SecurityHolding  # set by the portfolio
        self._clock = clock
        # the latest bars (fill-forward bars excluded); prices are derived from them when read, so a
        # minute backtest does not build decimals for bars nobody prices
        self.last_trade_bar: TradeBar | None = None
        self.last_quote_bar: QuoteBar | None = None
        self._bid_quote: QuoteBar | None = None
        self._ask_quote: QuoteBar | None = None
        self.last_data: Any = None
        self._price_bar: TradeBar | None = None
        self._price = ZERO
        self.bid_size = 0.0
        self.ask_size = 0.0
        self.is_delisted = False
        self.is_tradable = True
        # set when the data folder has nothing for this security inside the backtest window
        self.data_gap: DataGap | None = None

    # -- data ----------------------------------------------------------------------------------------

    def update_trade(self, bar: TradeBar) -> None:
        self.last_data = self.last_trade_bar = bar

    def update_quote(self, bar: QuoteBar) -> None:
        self.last_data = self.last_quote_bar = bar
        if bar._bid_raw is not None or bar.has_bid():
            self._bid_quote = bar
            self.bid_size = bar.last_bid_size or self.bid_size
        if bar._ask_raw is not None or bar.has_ask():
            self._ask_quote = bar
            self.ask_size = bar.last_ask_size or self.ask_size

    def set_price_for_benchmark(self, bar: TradeBar) -> None:
        """The internal benchmark security only needs its price."""
        self.last_data = self.last_trade_bar = bar

    @property
    def exact_price(self) -> Decimal:
        """The last trade close as LEAN's exact decimal (0 before the first trade bar)."""
        bar = self.last_trade_bar
        if bar is not self._price_bar:
            self._price_bar = bar
            if bar is not None:
                price = bar.exact(3)
                if price != 0:
                    self._price = price
        return self._price

    @property
    def exact_bid(self) -> Decimal:
        quote = self._bid_quote
        value = quote.exact_bid_close() if quote is not None else None
        return value if value is not None else ZERO

    @property
    def exact_ask(self) -> Decimal:
        quote = self._ask_quote
        value = quote.exact_ask_close() if quote is not None else None
        return value if value is not None else ZERO

    # -- what the algorithm reads ---------------------------------------------------------------------

    @property
    def price(self) -> float:
        return float(self.exact_price)

    @property
    def open(self) -> float:
        return self.last_trade_bar.open if self.last_trade_bar is not None else 0.0

    @property
    def high(self) -> float:
        return self.last_trade_bar.high if self.last_trade_bar is not None else 0.0

    @property
    def low(self) -> float:
        return self.last_trade_bar.low if self.last_trade_bar is not None else 0.0

    @property
    def close(self) -> float:
        return self.price

    @property
    def volume(self) -> float:
        return self.last_trade_bar.volume if self.last_trade_bar is not None else 0.0

    @property
    def bid_price(self) -> float:
        bid = self.exact_bid
        return float(bid) if bid else self.price

    @property
    def ask_price(self) -> float:
        ask = self.exact_ask
        return float(ask) if ask else self.price

    @property
    def has_data(self) -> bool:
        return self.last_data is not None

    def no_data_reason(self) -> str:
        """Why the security has no price yet, for order errors: a data gap, or simply no bar so far."""
        if self.data_gap is not None:
            return (f"the data folder has no {self.symbol} {self.data_gap.resolution.name.lower()} data in this "
                    "backtest: see the warning at the start of the logs")
        return "no bar of it has arrived yet"

    @property
    def invested(self) -> bool:
        return self.holdings.invested

    @property
    def type(self) -> SecurityType:
        return SecurityType.EQUITY

    @property
    def local_time(self) -> dt.datetime:
        return self._clock.time

    @property
    def data_normalization_mode(self) -> DataNormalizationMode:
        return self.source.normalization

    @property
    def cache(self) -> Security:
        return self

    def get_last_data(self) -> Any:
        return self.last_data

    def get_data(self, kind: Any = None) -> Any:
        if kind is QuoteBar:
            return self.last_quote_bar
        return self.last_trade_bar if kind in (None, TradeBar) else None

    def set_leverage(self, leverage: float) -> None:
        if leverage <= 0:
            raise ValueError(f"leverage must be positive, got {leverage}")
        self.leverage = Decimal(repr(float(leverage)))

    def set_data_normalization_mode(self, mode: DataNormalizationMode) -> None:
        self.source.normalization = mode

    def set_fee_model(self, model: Any) -> None:
        self.fee_model = fee_model_of(model)

    def set_fill_model(self, model: Any) -> None:
        raise UnsupportedApiError(f"set_fill_model({type(model).__name__})")

    def set_slippage_model(self, model: Any) -> None:
        raise UnsupportedApiError(f"set_slippage_model({type(model).__name__})")

    def set_buying_power_model(self, model: Any) -> None:
        raise UnsupportedApiError(f"set_buying_power_model({type(model).__name__})")

    def set_margin_model(self, model: Any) -> None:
        raise UnsupportedApiError(f"set_margin_model({type(model).__name__})")

    def set_settlement_model(self, model: Any) -> None:
        raise UnsupportedApiError(f"set_settlement_model({type(model).__name__})")

    def __repr__(self) -> str:
        return f"Security({self.symbol}, price={self.price})"

    def __str__(self) -> str:
        return str(self.symbol)

    Symbol = property(lambda self: self.symbol)
    Price = property(lambda self: self.price)
    Open = property(lambda self: self.open)
    High = property(lambda self: self.high)
    Low = property(lambda self: self.low)
    Close = property(lambda self: self.close)
    Volume = property(lambda self: self.volume)
    BidPrice = property(lambda self: self.bid_price)
    AskPrice = property(lambda self: self.ask_price)
    BidSize = property(lambda self: self.bid_size)
    AskSize = property(lambda self: self.ask_size)
    HasData = property(lambda self: self.has_data)
    Invested = property(lambda self: self.invested)
    Holdings = property(lambda self: self.holdings)
    Exchange = property(lambda self: self.exchange)
    Leverage = property(lambda self: float(self.leverage))
    Type = property(lambda self: self.type)
    Resolution = property(lambda self: self.resolution)
    LocalTime = property(lambda self: self.local_time)
    IsTradable = property(lambda self: self.is_tradable)
    IsDelisted = property(lambda self: self.is_delisted)
    Cache = property(lambda self: self)
    DataNormalizationMode = property(lambda self: self.data_normalization_mode)
    FeeModel = property(lambda self: self.fee_model)
    GetLastData = get_last_data
    SetLeverage = set_leverage
    SetDataNormalizationMode = set_data_normalization_mode
    SetFeeModel = set_fee_model
    SetFillModel = set_fill_model
    SetSlippageModel = set_slippage_model
    SetBuyingPowerModel = set_buying_power_model
    SetMarginModel = set_margin_model
    SetSettlementModel = set_settlement_model


class Securities(dict):
    """``self.securities``: Symbol -> Security; tickers work as keys too."""

    def __missing__(self, key: Any) -> Security:
        raise KeyError(
            f"This asset symbol ({key}) was not found in your security list. Add it with "
            f"add_equity('{key}') or check with securities.contains_key('{key}') before using it."
        )

    def contains_key(self, key: Any) -> bool:
        return key in self

    @property
    def count(self) -> int:
        return len(self)

    ContainsKey = contains_key
    Count = count
    Keys = property(lambda self: list(self.keys()))
    Values = property(lambda self: list(self.values()))


class SecurityChanges:
    """``on_securities_changed(changes)``: ``changes.added_securities`` / ``changes.removed_securities``."""

    def __init__(self, added: list[Security], removed: list[Security]) -> None:
        self.added_securities = added
        self.removed_securities = removed

    def __repr__(self) -> str:
        return f"SecurityChanges(added={[str(s.symbol) for s in self.added_securities]}, removed=[])"

    AddedSecurities = property(lambda self: self.added_securities)
    RemovedSecurities = property(lambda self: self.removed_securities)
