"""The portfolio: cash, holdings, fills, realized profit records, dividends and splits.

Accounting follows LEAN's SecurityPortfolioModel (reference/lean-engine.md §4) in exact decimals:

* a fill moves ``q x fill_price + fee`` out of cash; the average price is the weighted average when
  adding, unchanged when reducing, the fill price when the position crosses zero, 0 when flat;
* every fill that reduces a position adds a P&L record ``q_closed x (fill - average) - 2 x fee``
  (LEAN counts the closing fee twice to approximate the entry fee) keyed by the UTC fill time;
* total portfolio value = cash + sum of quantity x price.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from orchestrator.engine.data import Dividend, Split
from orchestrator.engine.enums import DataNormalizationMode
from orchestrator.engine.fees import interactive_brokers_fee
from orchestrator.engine.securities import Securities, Security
from orchestrator.engine.symbols import Symbol
from orchestrator.engine.timeutil import utc_naive

ZERO = Decimal(0)
ONE_MS = dt.timedelta(milliseconds=1)


class SecurityHolding:
    """``self.portfolio["SPY"]``: quantity, average price, values and profit of one security."""

    def __init__(self, security: Security) -> None:
        self.security = security
        self.quantity = 0
        self.exact_average_price = ZERO
        self.exact_total_fees = ZERO
        self.exact_profit = ZERO  # realized, before fees
        self.exact_last_trade_profit = ZERO
        self.exact_total_sale_volume = ZERO
        self.exact_total_dividends = ZERO

    @property
    def symbol(self) -> Symbol:
        return self.security.symbol

    @property
    def exact_holdings_value(self) -> Decimal:
        return self.quantity * self.security.exact_price

    @property
    def exact_unrealized_profit(self) -> Decimal:
        """Profit if closed now, net of the closing fee (LEAN's TotalCloseProfit)."""
        if self.quantity == 0:
            return ZERO
        price = self.security.exact_price
        gross = (price - self.exact_average_price) * self.quantity
        return gross - interactive_brokers_fee(self.quantity, price)

    # -- what the algorithm reads ---------------------------------------------------------------------

    @property
    def average_price(self) -> float:
        return float(self.exact_average_price)

    @property
    def price(self) -> float:
        return self.security.price

    @property
    def invested(self) -> bool:
        return self.quantity != 0

    @property
    def is_long(self) -> bool:
        return self.quantity > 0

    @property
    def is_short(self) -> bool:
        return self.quantity < 0

    @property
    def absolute_quantity(self) -> int:
        return abs(self.quantity)

    @property
    def holdings_value(self) -> float:
        return float(self.exact_holdings_value)

    @property
    def absolute_holdings_value(self) -> float:
        return abs(float(self.exact_holdings_value))

    @property
    def holdings_cost(self) -> float:
        return float(self.quantity * self.exact_average_price)

    @property
    def absolute_holdings_cost(self) -> float:
        return abs(self.holdings_cost)

    @property
    def unrealized_profit(self) -> float:
        return float(self.exact_unrealized_profit)

    @property
    def unrealized_profit_percent(self) -> float:
        cost = self.quantity * self.exact_average_price
        return float(self.exact_unrealized_profit / abs(cost)) if cost else 0.0

    @property
    def total_fees(self) -> float:
        return float(self.exact_total_fees)

    @property
    def profit(self) -> float:
        return float(self.exact_profit)

    @property
    def net_profit(self) -> float:
        return float(self.exact_profit - self.exact_total_fees)

    @property
    def last_trade_profit(self) -> float:
        return float(self.exact_last_trade_profit)

    @property
    def total_sale_volume(self) -> float:
        return float(self.exact_total_sale_volume)

    @property
    def total_dividends(self) -> float:
        return float(self.exact_total_dividends)

    def __repr__(self) -> str:
        return f"{self.symbol}: {self.quantity} @ {self.average_price:.4f}"

    Symbol = property(lambda self: self.symbol)
    Quantity = property(lambda self: self.quantity)
    AveragePrice = property(lambda self: self.average_price)
    Price = property(lambda self: self.price)
    Invested = property(lambda self: self.invested)
    IsLong = property(lambda self: self.is_long)
    IsShort = property(lambda self: self.is_short)
    AbsoluteQuantity = property(lambda self: self.absolute_quantity)
    HoldingsValue = property(lambda self: self.holdings_value)
    AbsoluteHoldingsValue = property(lambda self: self.absolute_holdings_value)
    HoldingsCost = property(lambda self: self.holdings_cost)
    AbsoluteHoldingsCost = property(lambda self: self.absolute_holdings_cost)
    UnrealizedProfit = property(lambda self: self.unrealized_profit)
    UnrealizedProfitPercent = property(lambda self: self.unrealized_profit_percent)
    TotalFees = property(lambda self: self.total_fees)
    Profit = property(lambda self: self.profit)
    NetProfit = property(lambda self: self.net_profit)
    LastTradeProfit = property(lambda self: self.last_trade_profit)
    TotalSaleVolume = property(lambda self: self.total_sale_volume)


class Portfolio:
    """``self.portfolio``: cash and holdings (a Symbol -> SecurityHolding mapping)."""

    def __init__(self, securities: Securities, cash: Decimal) -> None:
        self.securities = securities
        self.exact_cash = cash
        self._holdings: dict[Symbol, SecurityHolding] = {}
        self.transaction_records: dict[dt.datetime, Decimal] = {}
        self.exact_total_sale_volume = ZERO
        self.exact_total_fees = ZERO

    def add_security(self, security: Security) -> SecurityHolding:
        holding = self._holdings.get(security.symbol)
        if holding is None:
            holding = SecurityHolding(security)
            self._holdings[security.symbol] = holding
            security.holdings = holding
        return holding

    # -- mapping protocol -----------------------------------------------------------------------------

    def __getitem__(self, key: Any) -> SecurityHolding:
        try:
            return self._holdings[key]
        except KeyError:
            raise KeyError(
                f"This asset symbol ({key}) was not found in your portfolio; add it with add_equity('{key}')"
            ) from None

    def __contains__(self, key: Any) -> bool:
        return key in self._holdings

    def __iter__(self) -> Iterator[Symbol]:
        return iter(self._holdings)

    def __len__(self) -> int:
        return len(self._holdings)

    def keys(self) -> list[Symbol]:
        return list(self._holdings)

    def values(self) -> list[SecurityHolding]:
        return list(self._holdings.values())

    def items(self) -> list[tuple[Symbol, SecurityHolding]]:
        return list(self._holdings.items())

    def get(self, key: Any, default: Any = None) -> Any:
        return self._holdings.get(key, default)

    def contains_key(self, key: Any) -> bool:
        return key in self._holdings

    # -- values -----------------------------------------------------------------------------------------

    @property
    def exact_holdings_value(self) -> Decimal:
        total = ZERO
        for holding in self._holdings.values():
            if holding.quantity:
                total += holding.quantity * holding.security.exact_price
        return total

    @property
    def exact_total_portfolio_value(self) -> Decimal:
        return self.exact_cash + self.exact_holdings_value

    @property
    def exact_total_unrealized_profit(self) -> Decimal:
        return sum((h.exact_unrealized_profit for h in self._holdings.values()), ZERO)

    @property
    def exact_total_profit(self) -> Decimal:
        return sum((h.exact_profit for h in self._holdings.values()), ZERO)

    @property
    def exact_margin_used(self) -> Decimal:
        total = ZERO
        for holding in self._holdings.values():
            if holding.quantity:
                total += abs(holding.quantity * holding.security.exact_price) / holding.security.leverage
        return total

    @property
    def cash(self) -> float:
        return float(self.exact_cash)

    @property
    def total_portfolio_value(self) -> float:
        return float(self.exact_total_portfolio_value)

    @property
    def total_holdings_value(self) -> float:
        return float(sum((abs(h.exact_holdings_value) for h in self._holdings.values()), ZERO))

    @property
    def total_absolute_holdings_cost(self) -> float:
        return float(sum((abs(h.quantity * h.exact_average_price) for h in self._holdings.values()), ZERO))

    @property
    def total_unrealized_profit(self) -> float:
        return float(self.exact_total_unrealized_profit)

    @property
    def total_profit(self) -> float:
        return float(self.exact_total_profit)

    @property
    def total_net_profit(self) -> float:
        return float(self.exact_total_profit - self.exact_total_fees)

    @property
    def total_fees(self) -> float:
        return float(self.exact_total_fees)

    @property
    def total_sale_volume(self) -> float:
        return float(self.exact_total_sale_volume)

    @property
    def invested(self) -> bool:
        # a loop, not any(generator): strategies read this on every bar
        for holding in self._holdings.values():  # noqa: SIM110 - measurably faster than any(...)
            if holding.quantity:
                return True
        return False

    @property
    def margin_remaining(self) -> float:
        return float(self.exact_total_portfolio_value - self.exact_margin_used)

    @property
    def total_margin_used(self) -> float:
        return float(self.exact_margin_used)

    def set_cash(self, cash: Decimal) -> None:
        self.exact_cash = cash

    # -- fills and corporate actions ------------------------------------------------------------------

    def process_fill(self, security: Security, quantity: int, price: Decimal, fee: Decimal,
                     time: dt.datetime) -> None:
        """Apply one fill: cash, fees, average price, sale volume and the P&L record."""
        holding = security.holdings
        held = holding.quantity
        self.exact_cash -= quantity * price + fee
        holding.exact_total_fees += fee
        self.exact_total_fees += fee
        volume = abs(quantity) * price
        holding.exact_total_sale_volume += volume
        self.exact_total_sale_volume += volume
        if held != 0 and (held > 0) != (quantity > 0):
            closed = min(abs(quantity), abs(held)) * (1 if held > 0 else -1)
            profit = closed * (price - holding.exact_average_price)
            holding.exact_profit += profit
            holding.exact_last_trade_profit = profit
            self._record(time, profit - 2 * fee)
        new_quantity = held + quantity
        if new_quantity == 0:
            holding.exact_average_price = ZERO
        elif held == 0 or (held > 0) != (new_quantity > 0):
            holding.exact_average_price = price
        elif abs(new_quantity) > abs(held):
            holding.exact_average_price = (holding.exact_average_price * abs(held) + price * abs(quantity)) \
                / abs(new_quantity)
        holding.quantity = new_quantity

    def _record(self, time: dt.datetime, pnl: Decimal) -> None:
        key = utc_naive(time)
        while key in self.transaction_records:
            key += ONE_MS
        self.transaction_records[key] = pnl

    def apply_dividend(self, dividend: Dividend, mode: DataNormalizationMode) -> None:
        """Cash dividends are paid only in Raw and SplitAdjusted modes (LEAN's ApplyDividend)."""
        if mode not in (DataNormalizationMode.RAW, DataNormalizationMode.SPLIT_ADJUSTED):
            return
        holding = self._holdings.get(dividend.symbol)
        if holding is None or holding.quantity == 0:
            return
        amount = holding.quantity * dividend.distribution
        self.exact_cash += amount
        holding.exact_total_dividends += amount

    def apply_split(self, split: Split, mode: DataNormalizationMode) -> None:
        """In Raw mode a split changes the share count and the average price (LEAN's ApplySplit)."""
        if mode != DataNormalizationMode.RAW:
            return
        holding = self._holdings.get(split.symbol)
        if holding is None or holding.quantity == 0 or split.split_factor == 0:
            return
        exact_quantity = Decimal(holding.quantity) / split.split_factor
        whole = int(exact_quantity)
        leftover = exact_quantity - whole
        # the fractional share is paid out in cash at the pre-split reference price, adjusted
        self.exact_cash += leftover * split.reference_price * split.split_factor
        holding.exact_average_price *= split.split_factor
        holding.quantity = whole

    def __repr__(self) -> str:
        return f"Portfolio(cash={self.cash:.2f}, value={self.total_portfolio_value:.2f})"

    Cash = property(lambda self: self.cash)
    TotalPortfolioValue = property(lambda self: self.total_portfolio_value)
    TotalHoldingsValue = property(lambda self: self.total_holdings_value)
    TotalUnrealizedProfit = property(lambda self: self.total_unrealized_profit)
    TotalUnrealisedProfit = property(lambda self: self.total_unrealized_profit)
    TotalProfit = property(lambda self: self.total_profit)
    TotalNetProfit = property(lambda self: self.total_net_profit)
    TotalFees = property(lambda self: self.total_fees)
    TotalSaleVolume = property(lambda self: self.total_sale_volume)
    Invested = property(lambda self: self.invested)
    MarginRemaining = property(lambda self: self.margin_remaining)
    TotalMarginUsed = property(lambda self: self.total_margin_used)
    TotalAbsoluteHoldingsCost = property(lambda self: self.total_absolute_holdings_cost)
    Keys = property(lambda self: self.keys())
    Values = property(lambda self: self.values())
    ContainsKey = contains_key
    SetCash = set_cash
    total_unrealised_profit = total_unrealized_profit
