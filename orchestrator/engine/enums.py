"""QuantConnect's enumerations, with both spellings algorithms use (``Resolution.DAILY`` and ``Resolution.Daily``).

Integer values are LEAN's (they appear on the wire: order ``type``/``status``/``direction``,
``securityType``), so they must not be renumbered.
"""

from __future__ import annotations

import datetime as dt
import enum


class _QuantConnectEnum(enum.IntEnum):
    """Prints like QuantConnect's enums: ``Daily``, ``MarketOnOpen`` (the value is still the integer)."""

    def __str__(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))


class Resolution(_QuantConnectEnum):
    TICK = 0
    SECOND = 1
    MINUTE = 2
    HOUR = 3
    DAILY = 4
    Tick = 0
    Second = 1
    Minute = 2
    Hour = 3
    Daily = 4


# The length of one bar at each resolution (a daily bar is re-stamped to the session, see feed.py).
RESOLUTION_SPAN: dict[Resolution, dt.timedelta] = {
    Resolution.TICK: dt.timedelta(0),
    Resolution.SECOND: dt.timedelta(seconds=1),
    Resolution.MINUTE: dt.timedelta(minutes=1),
    Resolution.HOUR: dt.timedelta(hours=1),
    Resolution.DAILY: dt.timedelta(days=1),
}


class SecurityType(_QuantConnectEnum):
    BASE = 0
    EQUITY = 1
    OPTION = 2
    COMMODITY = 3
    FOREX = 4
    FUTURE = 5
    CFD = 6
    CRYPTO = 7
    Base = 0
    Equity = 1
    Option = 2
    Commodity = 3
    Forex = 4
    Future = 5
    Cfd = 6
    Crypto = 7


class OrderType(_QuantConnectEnum):
    MARKET = 0
    LIMIT = 1
    STOP_MARKET = 2
    STOP_LIMIT = 3
    MARKET_ON_OPEN = 4
    MARKET_ON_CLOSE = 5
    OPTION_EXERCISE = 6
    LIMIT_IF_TOUCHED = 7
    COMBO_MARKET = 8
    COMBO_LIMIT = 9
    COMBO_LEG_LIMIT = 10
    TRAILING_STOP = 11
    Market = 0
    Limit = 1
    StopMarket = 2
    StopLimit = 3
    MarketOnOpen = 4
    MarketOnClose = 5
    OptionExercise = 6
    LimitIfTouched = 7
    ComboMarket = 8
    ComboLimit = 9
    ComboLegLimit = 10
    TrailingStop = 11


class OrderStatus(_QuantConnectEnum):
    NEW = 0
    SUBMITTED = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 5
    NONE = 6
    INVALID = 7
    CANCEL_PENDING = 8
    UPDATE_SUBMITTED = 9
    New = 0
    Submitted = 1
    PartiallyFilled = 2
    Filled = 3
    Canceled = 5
    # ``OrderStatus.None`` is a Python syntax error; LEAN's Python API spells it NONE only.
    Invalid = 7
    CancelPending = 8
    UpdateSubmitted = 9

    @property
    def is_closed(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.INVALID)

    @property
    def is_open(self) -> bool:
        return not self.is_closed

    @property
    def is_fill(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED)


# OrderEvent.status on the wire is a lower-camel string (reference/qc-api.md §3.5).
ORDER_STATUS_WIRE: dict[OrderStatus, str] = {
    OrderStatus.NEW: "new",
    OrderStatus.SUBMITTED: "submitted",
    OrderStatus.PARTIALLY_FILLED: "partiallyFilled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELED: "canceled",
    OrderStatus.NONE: "none",
    OrderStatus.INVALID: "invalid",
    OrderStatus.CANCEL_PENDING: "cancelPending",
    OrderStatus.UPDATE_SUBMITTED: "updateSubmitted",
}


class OrderDirection(_QuantConnectEnum):
    BUY = 0
    SELL = 1
    HOLD = 2
    Buy = 0
    Sell = 1
    Hold = 2


class DataNormalizationMode(_QuantConnectEnum):
    RAW = 0
    ADJUSTED = 1
    SPLIT_ADJUSTED = 2
    TOTAL_RETURN = 3
    FORWARD_PANAMA_CANAL = 4
    BACKWARDS_PANAMA_CANAL = 5
    BACKWARDS_RATIO = 6
    SCALED_RAW = 7
    Raw = 0
    Adjusted = 1
    SplitAdjusted = 2
    TotalReturn = 3
    ForwardPanamaCanal = 4
    BackwardsPanamaCanal = 5
    BackwardsRatio = 6
    ScaledRaw = 7


class DayOfWeek(_QuantConnectEnum):
    """.NET's DayOfWeek numbering (Sunday = 0), used by ``date_rules.every(DayOfWeek.MONDAY)``."""

    SUNDAY = 0
    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    Sunday = 0
    Monday = 1
    Tuesday = 2
    Wednesday = 3
    Thursday = 4
    Friday = 5
    Saturday = 6

    @property
    def python_weekday(self) -> int:
        """The same day in Python's numbering (Monday = 0)."""
        return (int(self) - 1) % 7


class BrokerageName(_QuantConnectEnum):
    DEFAULT = 0
    INTERACTIVE_BROKERS_BROKERAGE = 1
    QUANTCONNECT_BROKERAGE = 0
    Default = 0
    InteractiveBrokersBrokerage = 1
    QuantConnectBrokerage = 0


class AccountType(_QuantConnectEnum):
    MARGIN = 0
    CASH = 1
    Margin = 0
    Cash = 1


class TimeInForce:
    """``TimeInForce.GOOD_TIL_CANCELED`` (the default) and ``TimeInForce.DAY``."""

    GOOD_TIL_CANCELED = "GoodTilCanceled"
    DAY = "Day"
    GoodTilCanceled = "GoodTilCanceled"
    Day = "Day"


class SettlementType(_QuantConnectEnum):
    PHYSICAL = 0
    CASH = 1


class Market:
    """Market names as LEAN spells them (lower case); only ``usa`` has data here."""

    USA = "usa"
    Usa = "usa"


class Field:
    """Selectors for indicator inputs: ``Field.CLOSE`` etc. (callables taking a bar)."""

    @staticmethod
    def _get(name: str):
        return lambda bar: getattr(bar, name)


for _name in ("open", "high", "low", "close", "volume"):
    setattr(Field, _name.upper(), staticmethod(Field._get(_name)))
    setattr(Field, _name.capitalize(), staticmethod(Field._get(_name)))
Field.AVERAGE = Field.Average = staticmethod(lambda bar: (bar.open + bar.high + bar.low + bar.close) / 4)  # type: ignore[attr-defined]
Field.MEDIAN = Field.Median = staticmethod(lambda bar: (bar.high + bar.low) / 2)  # type: ignore[attr-defined]
Field.TYPICAL = Field.Typical = staticmethod(lambda bar: (bar.high + bar.low + bar.close) / 3)  # type: ignore[attr-defined]
