"""The algorithm's order helpers with LEAN's routing (reference/lean-engine.md §3.1).

* ``market_order`` with the exchange closed becomes MarketOnOpen; for a security subscribed only at
  daily resolution during market hours it becomes MarketOnClose (MarketOnOpen within 15.5 minutes of
  the close).
* ``set_holdings`` orders ``target delta - open market/MOO quantity``: a market order while the
  exchange is open, MarketOnOpen otherwise. A list of targets computes every delta first and orders
  position-reducing targets first, then by |delta x price|.
* ``liquidate`` cancels open non-market orders and closes each position (all securities sorted by
  ticker when no symbol is given).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from orchestrator.engine.enums import OrderType, Resolution
from orchestrator.engine.orders import OrderProperties, OrderTicket
from orchestrator.engine.securities import Security
from orchestrator.engine.sizing import target_percent_delta
from orchestrator.engine.transactions import lean_decimal

if TYPE_CHECKING:
    from orchestrator.engine.manager import BacktestEngine

MARKET_ON_CLOSE_BUFFER = dt.timedelta(minutes=15, seconds=30)
MOO_WARNING = ("Warning: all market orders sent using daily data, or market orders sent after hours are "
               "automatically converted into MarketOnOpen orders.")


class PortfolioTarget:
    """``PortfolioTarget(symbol, quantity)``; ``set_holdings`` reads ``quantity`` as a weight."""

    def __init__(self, symbol: Any, quantity: float, tag: str = "") -> None:
        self.symbol = symbol
        self.quantity = quantity
        self.tag = tag

    @staticmethod
    def percent(algorithm: Any, symbol: Any, percent: float) -> PortfolioTarget:
        engine = algorithm._engine
        delta = engine.calculate_order_quantity(symbol, percent)
        return PortfolioTarget(symbol, engine.security(symbol).holdings.quantity + delta)

    def __repr__(self) -> str:
        return f"PortfolioTarget({self.symbol}, {self.quantity})"

    Symbol = property(lambda self: self.symbol)
    Quantity = property(lambda self: self.quantity)
    Tag = property(lambda self: self.tag)
    Percent = percent


def daily_only(security: Security) -> bool:
    return all(sub.resolution == Resolution.DAILY for sub in security.subscriptions)


def market_order(engine: BacktestEngine, symbol: Any, quantity: float, tag: str,
                 properties: OrderProperties | None) -> OrderTicket:
    security = engine.security(symbol)
    now = engine.time
    if not security.exchange.exchange_open:
        ticket = engine.submit(symbol, quantity, OrderType.MARKET_ON_OPEN, tag, properties=properties)
        if ticket.submit_response.is_success and daily_only(security) and not engine.moo_warning_sent:
            engine.moo_warning_sent = True
            engine.log(MOO_WARNING)
        return ticket
    if daily_only(security):
        close = security.exchange.hours.next_market_close(now, False)
        kind = OrderType.MARKET_ON_OPEN if now > close - MARKET_ON_CLOSE_BUFFER else OrderType.MARKET_ON_CLOSE
        return engine.submit(symbol, quantity, kind, tag, properties=properties)
    return engine.submit(symbol, quantity, OrderType.MARKET, tag, properties=properties)


def calculate_order_quantity(engine: BacktestEngine, symbol: Any, target: float) -> int:
    security = engine.security(symbol)
    if security.exact_price == 0:
        # LEAN logs an error and orders nothing (PortfolioTarget.Percent returns no target)
        engine.log(f"The price of the {security.symbol} security is zero because it does not have any market "
                   f"data yet ({security.no_data_reason()}). When the security price is set this security "
                   "will be ready for trading.")
        return 0
    settings = getattr(engine.algorithm, "_settings", None)
    free = lean_decimal(getattr(settings, "free_portfolio_value_percentage", 0.0025))
    minimum = lean_decimal(getattr(settings, "minimum_order_margin_portfolio_percentage", 0.001))
    return target_percent_delta(engine.portfolio.exact_total_portfolio_value, security.exact_price,
                                security.leverage, security.holdings.quantity, lean_decimal(target),
                                free_percentage=free, minimum_margin_percentage=minimum)


def _open_market_quantity(engine: BacktestEngine, symbol: Any) -> int:
    return sum(engine.transactions.tickets[o.id].quantity_remaining
               for o in engine.transactions.open_orders(symbol)
               if o.type in (OrderType.MARKET, OrderType.MARKET_ON_OPEN))


def _order_delta(engine: BacktestEngine, security: Security, delta: int, tag: str,
                 properties: OrderProperties | None) -> list[OrderTicket]:
    quantity = delta - _open_market_quantity(engine, security.symbol)
    if quantity == 0:
        return []
    if security.exchange.exchange_open:
        return [market_order(engine, security.symbol, quantity, tag, properties)]
    return [engine.submit(security.symbol, quantity, OrderType.MARKET_ON_OPEN, tag, properties=properties)]


def liquidate_existing_holdings(engine: BacktestEngine, keep: set[Any], tag: str,
                                properties: OrderProperties | None) -> list[OrderTicket]:
    tickets = []
    holdings = sorted(engine.portfolio.values(), key=lambda h: h.exact_holdings_value)
    for holding in holdings:
        if holding.symbol in keep or holding.quantity == 0:
            continue
        quantity = calculate_order_quantity(engine, holding.symbol, 0)
        if quantity != 0:
            tickets.append(market_order(engine, holding.symbol, quantity, tag, properties))
    return tickets


def set_holdings(engine: BacktestEngine, symbol: Any, percentage: float, liquidate_existing: bool, tag: str,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 properties: OrderProperties | None) -> list[OrderTicket]:
    security = engine.security(symbol)
    tickets = []
    if liquidate_existing:
        tickets.extend(liquidate_existing_holdings(engine, {security.symbol}, tag, properties))
    delta = calculate_order_quantity(engine, security.symbol, percentage)
    tickets.extend(_order_delta(engine, security, delta, tag, properties))
    return tickets


def set_holdings_targets(engine: BacktestEngine, targets: list[Any], liquidate_existing: bool, tag: str,
                         properties: OrderProperties | None) -> list[OrderTicket]:
    securities = []
    for target in targets:
        symbol = getattr(target, "symbol", None)
        if symbol is None:
            raise TypeError(f"set_holdings expects PortfolioTarget objects in the list, got {target!r}")
        securities.append((engine.security(symbol), float(target.quantity)))
    tickets = []
    if liquidate_existing:
        tickets.extend(liquidate_existing_holdings(engine, {s.symbol for s, _ in securities}, tag, properties))
    planned = []
    for security, weight in securities:
        if not security.has_data or not security.is_tradable:
            continue
        delta = calculate_order_quantity(engine, security.symbol, weight)
        if delta == 0:
            continue
        existing = security.holdings.quantity + engine.transactions.get_open_orders_remaining_quantity(security.symbol)
        reducing = existing != 0 and abs(delta + existing) < abs(existing)
        planned.append((reducing, abs(delta * security.exact_price), security, delta))
    planned.sort(key=lambda item: (not item[0], -item[1]))
    for _, _, security, delta in planned:
        tickets.extend(_order_delta(engine, security, delta, tag, properties))
    return tickets


def liquidate(engine: BacktestEngine, symbol: Any, tag: str, properties: OrderProperties | None
              ) -> list[OrderTicket]:
    if not engine.algorithm_settings_liquidate_enabled():
        engine.log("Liquidate() is currently disabled by settings. To re-enable please set "
                   "'settings.liquidate_enabled' to True")
        return []
    if symbol is None:
        symbols = sorted(engine.securities.keys(), key=lambda s: s.value)
    elif isinstance(symbol, list | tuple | set):
        symbols = [engine.security(s).symbol for s in symbol]
    else:
        symbols = [engine.security(symbol).symbol] if symbol in engine.securities else []
    tickets = []
    transactions = engine.transactions
    for target in symbols:
        orders = transactions.open_orders(target)
        quantity = engine.portfolio[target].quantity
        if len(orders) == 1 and quantity != 0 and orders[0].quantity == -quantity \
                and orders[0].type == OrderType.MARKET:
            continue
        pending_market = 0
        for order in orders:
            if order.type == OrderType.MARKET:
                pending_market += transactions.tickets[order.id].quantity_remaining
            else:
                transactions.cancel_order(order.id, tag)
        if quantity != 0:
            tickets.append(market_order(engine, target, -quantity - pending_market, tag, properties))
    return tickets


def decimal_weight(value: float) -> Decimal:
    return lean_decimal(value)
