"""Symbols and LEAN's SecurityIdentifier string (``SPY R735QTJ8XC9X``).

The identifier encodes the security's first trading date (from its map file), market and type
(reference/lean-engine.md §2): ``base36(days_since_1899-12-30 * 10**14 + market * 100 + type)``.
A Symbol compares and hashes like its ticker, so ``slice["SPY"]`` and ``portfolio["SPY"]`` work with
plain dict look-ups, as they do in QuantConnect's Python API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from orchestrator.engine.enums import Market, SecurityType

_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_EPOCH = dt.date(1899, 12, 30)
# LEAN's default first date for a ticker without a map file (SecurityIdentifier.DefaultDate).
DEFAULT_FIRST_DATE = dt.date(1998, 1, 2)
_MARKET_CODES = {Market.USA: 1}


def _base36(number: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
    return digits or "0"


class SecurityIdentifier:
    """The permanent identity of a security: first ticker, first date, market, type."""

    __slots__ = ("_text", "date", "market", "security_type", "symbol")

    def __init__(self, symbol: str, date: dt.date, market: str = Market.USA,
                 security_type: SecurityType = SecurityType.EQUITY) -> None:
        self.symbol = symbol.upper()
        self.date = date
        self.market = market
        self.security_type = security_type
        self._text = f"{self.symbol} {self.code}"

    @property
    def code(self) -> str:
        days = (self.date - _EPOCH).days
        return _base36(days * 10**14 + _MARKET_CODES.get(self.market, 0) * 100 + int(self.security_type))

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"SecurityIdentifier({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecurityIdentifier) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    Symbol = property(lambda self: self.symbol)
    Date = property(lambda self: self.date)
    Market = property(lambda self: self.market)
    SecurityType = property(lambda self: self.security_type)


class Symbol:
    """A ticker plus its SecurityIdentifier; ``str(symbol)`` is the ticker."""

    __slots__ = ("_hash", "_json", "id", "value")

    def __init__(self, value: str, sid: SecurityIdentifier) -> None:
        self.value = value.upper()
        self.id = sid
        self._hash = hash(self.value)
        self._json = {"value": self.value, "id": str(sid), "permtick": self.value}

    @staticmethod
    def create(ticker: str, security_type: SecurityType = SecurityType.EQUITY,
               market: str = Market.USA) -> Symbol:
        """``Symbol.create("SPY", SecurityType.EQUITY, Market.USA)`` (first date unknown: LEAN's default)."""
        return Symbol(ticker, SecurityIdentifier(ticker, DEFAULT_FIRST_DATE, market, security_type))

    @property
    def security_type(self) -> SecurityType:
        return self.id.security_type

    @property
    def is_canonical(self) -> bool:
        return False

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Symbol({self.value!r})"

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Symbol):
            return self.value == other.value
        if isinstance(other, str):
            return self.value == other.upper()
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __lt__(self, other: Any) -> bool:
        return self.value < str(other)

    def to_json(self) -> dict[str, str]:
        """The wire shape used in orders and trades: ``{value, id, permtick}``."""
        return dict(self._json)

    Value = property(lambda self: self.value)
    ID = property(lambda self: self.id)
    SecurityType = property(lambda self: self.id.security_type)
    Create = staticmethod(create)
