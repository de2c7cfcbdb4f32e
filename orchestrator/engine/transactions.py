"""Order processing: pre-checks, submission, the backtesting broker's fills, cancels and updates.

* An order that fails the pre-checks (warming up, zero quantity, no data yet, a market-on-open order
  during market hours, a market-on-close order too close to the close ...) gets an invalid ticket and
  is **not** counted; every order that passes is counted in "Total Orders", even if it is later
  cancelled or rejected for lack of buying power (reference/lean-engine.md §3.1).
* Market orders fill at once when they can (in the call that submits them); other orders wait for
  the next time step. Before each fill the buying power is checked (initial margin 1/leverage plus
  the fee against the margin remaining); failing orders become Invalid.
* ``self.transactions`` is this object: get_open_orders, cancel_open_orders, get_order_by_id ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from orchestrator.engine import fills
from orchestrator.engine.enums import OrderStatus, OrderType, TimeInForce
from orchestrator.engine.orders import (
    Order,
    OrderEvent,
    OrderProperties,
    OrderResponse,
    OrderTicket,
    UpdateOrderFields,
)
from orchestrator.engine.portfolio import Portfolio
from orchestrator.engine.securities import Securities, Security
from orchestrator.engine.symbols import Symbol

ZERO = Decimal(0)
MARKET_ON_CLOSE_BUFFER = dt.timedelta(minutes=15, seconds=30)


def lean_decimal(value: float | int | Decimal) -> Decimal:
    """A Python number as C# ``(decimal)double`` makes it: at most 15 significant digits."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(format(float(value), ".15g"))


class TransactionManager:
    """Orders of one backtest and the simulated broker that fills them."""

    def __init__(self, securities: Securities, portfolio: Portfolio, clock: Callable[[], dt.datetime],  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 trading_blocked: Callable[[], str | None], on_event: Callable[[OrderEvent], None],
                 log_error: Callable[[str], None]) -> None:
        self._securities = securities
        self._portfolio = portfolio
        self._now = clock
        self._trading_blocked = trading_blocked
        self._on_event = on_event
        self._log_error = log_error
        self.orders: dict[int, Order] = {}
        self.tickets: dict[int, OrderTicket] = {}
        self._open: dict[int, Order] = {}
        self.total_order_count = 0
        self.order_events: list[OrderEvent] = []
        # (symbol, time, quantity, price, fee) of every fill: the trade builder and capacity listen
        self.fill_listeners: list[Callable[[Any, dt.datetime, int, Decimal, Decimal], None]] = []

    # -- submission ---------------------------------------------------------------------------------------

    def submit(self, symbol: Any, quantity: float, order_type: OrderType, tag: str = "",  # noqa: PLR0917 - mirrors QuantConnect's positional signature
               limit_price: float | None = None, stop_price: float | None = None,
               properties: OrderProperties | None = None) -> OrderTicket:
        now = self._now()
        security = self._securities.get(symbol)
        whole = int(quantity) if quantity is not None else 0
        sym = security.symbol if security is not None else symbol
        error = self._pre_check(security, symbol, quantity, whole, order_type, now)
        if error:
            self._log_error(f"Order Error: {error}")
            return OrderTicket(self, None, sym, whole, order_type, now, tag, error)
        assert security is not None
        self.total_order_count += 1
        order = Order(self.total_order_count, security.symbol, whole, order_type, now, tag,
                      lean_decimal(limit_price) if limit_price is not None else None,
                      lean_decimal(stop_price) if stop_price is not None else None, properties)
        order.submission_bid = security.exact_bid or security.exact_price
        order.submission_ask = security.exact_ask or security.exact_price
        order.submission_last = security.exact_price
        ticket = OrderTicket(self, order, security.symbol, whole, order_type, now, tag)
        self.orders[order.id] = order
        self.tickets[order.id] = ticket
        self._open[order.id] = order
        order.status = OrderStatus.SUBMITTED
        self._emit(order, OrderEvent(order, now, OrderStatus.SUBMITTED))
        if order_type == OrderType.MARKET and order.status == OrderStatus.SUBMITTED:
            self._try_fill(order, security, now, resting=False)
        return ticket

    def _pre_check(self, security: Security | None, symbol: Any, quantity: float, whole: int,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                   order_type: OrderType, now: dt.datetime) -> str:
        blocked = self._trading_blocked()
        if blocked:
            return blocked
        if security is None:
            return (f"the symbol {symbol} was not found in your securities; add it with add_equity('{symbol}') "
                    "before ordering it")
        if quantity is None or whole != quantity or whole == 0:
            if whole == 0:
                return f"Unable to submit an order of zero quantity for {security.symbol} (requested {quantity})"
            return f"order quantity for {security.symbol} must be a whole number of shares, got {quantity}"
        if not security.has_data or security.exact_price == 0:
            return (f"There is no data for {security.symbol} yet ({security.no_data_reason()}); check "
                    "security.has_data before ordering")
        if not security.is_tradable:
            return f"{security.symbol} is not tradable"
        hours = security.exchange.hours
        if order_type == OrderType.MARKET_ON_OPEN and hours.is_open(now, False) and not self._daily_only(security):
            return "MarketOnOpen orders must be placed while the market is closed"
        if order_type == OrderType.MARKET_ON_CLOSE and hours.is_open(now, False):
            latest = hours.next_market_close(now, False) - MARKET_ON_CLOSE_BUFFER
            if now > latest:
                return ("MarketOnClose orders must be placed at least 15.5 minutes before the market close "
                        f"({latest:%H:%M:%S})")
        return ""

    @staticmethod
    def _daily_only(security: Security) -> bool:
        return all(sub.resolution.name == "DAILY" for sub in security.subscriptions)

    # -- the broker -------------------------------------------------------------------------------------------

    def process_open_orders(self) -> None:
        """Try to fill every open order with the data of the current time step (in id order)."""
        if not self._open:
            return
        now = self._now()
        for order in list(self._open.values()):
            if order.status.is_closed:
                continue
            if self._expired(order, now):
                self._close_canceled(order, now, "expired: TimeInForce.DAY order not filled by the close")
                continue
            if order.time >= now:
                continue  # never filled in the time step in which it was submitted
            self._try_fill(order, self._securities[order.symbol], now, resting=True)

    def _expired(self, order: Order, now: dt.datetime) -> bool:
        if order.properties.time_in_force != TimeInForce.DAY:
            return False
        if order.type in (OrderType.MARKET_ON_OPEN, OrderType.MARKET_ON_CLOSE):
            return False
        security = self._securities[order.symbol]
        close = security.exchange.hours.next_market_close(order.time, security.extended_hours)
        return now > close

    def _try_fill(self, order: Order, security: Security, now: dt.datetime, resting: bool) -> None:
        fill = fills.try_fill(security, order, now, resting)
        if fill is None:
            return
        problem = self._insufficient_buying_power(order, security)
        if problem:
            order.status = OrderStatus.INVALID
            self._open.pop(order.id, None)
            message = f"Order Error: id: {order.id}, Insufficient buying power to complete order ({problem})"
            self._log_error(message)
            self._emit(order, OrderEvent(order, now, OrderStatus.INVALID, message=message))
            return
        fee = security.fee_model.fee(order.quantity, security.exact_price)
        self._portfolio.process_fill(security, order.quantity, fill.price, fee, now)
        for listener in self.fill_listeners:
            listener(security.symbol, now, order.quantity, fill.price, fee)
        order.status = OrderStatus.FILLED
        order.price = fill.price
        order.last_fill_time = now
        self._open.pop(order.id, None)
        self.tickets[order.id].record_fill(order.quantity, fill.price)
        self._emit(order, OrderEvent(order, now, OrderStatus.FILLED, fill.price, order.quantity, fee, fill.message))

    def _insufficient_buying_power(self, order: Order, security: Security) -> str:
        """LEAN's HasSufficientBuyingPowerForOrder for the margin model (empty when sufficient)."""
        held = security.holdings.quantity
        if held * order.quantity < 0 and abs(held) >= abs(order.quantity):
            return ""  # only reduces or closes the position
        price = security.exact_price
        rate = Decimal(1) / security.leverage
        portfolio = self._portfolio
        tpv = portfolio.exact_total_portfolio_value
        free = tpv - portfolio.exact_margin_used
        if held * order.quantity < 0:
            # reversing: the margin of the current position is released
            free += abs(held * price) * rate * 2
        fee = security.fee_model.fee(order.quantity, price)
        required = abs(order.quantity * price) * rate + fee
        if required > free:
            return (f"Value:{order.quantity * price:.2f}, Initial Margin: {required:.2f}, "
                    f"Free Margin: {free:.2f}")
        return ""

    def _emit(self, order: Order, event: OrderEvent) -> None:
        order.events.append(event)
        order.last_update_time = event.time
        self.order_events.append(event)
        ticket = self.tickets.get(order.id)
        if ticket is not None:
            ticket.order_events.append(event)
        self._on_event(event)

    def _close_canceled(self, order: Order, now: dt.datetime, message: str = "") -> None:
        order.status = OrderStatus.CANCELED
        order.canceled_time = now
        self._open.pop(order.id, None)
        self._emit(order, OrderEvent(order, now, OrderStatus.CANCELED, message=message))

    # -- what the algorithm calls -----------------------------------------------------------------------------

    def cancel_order(self, order_id: int, tag: str = "") -> OrderResponse:
        order = self.orders.get(order_id)
        if order is None:
            return OrderResponse(False, f"no order with id {order_id}")
        if order.status.is_closed:
            return OrderResponse(False, f"order {order_id} is already {order.status.name.lower()}")
        if tag:
            order.tag = tag
        self._close_canceled(order, self._now())
        return OrderResponse(True)

    def update_order(self, order_id: int, fields: UpdateOrderFields) -> OrderResponse:
        order = self.orders.get(order_id)
        if order is None:
            return OrderResponse(False, f"no order with id {order_id}")
        if order.status.is_closed:
            return OrderResponse(False, f"order {order_id} is already {order.status.name.lower()}")
        if fields.quantity is not None:
            order.quantity = int(fields.quantity)
            self.tickets[order_id].quantity = order.quantity
        if fields.limit_price is not None:
            order.limit_price = lean_decimal(fields.limit_price)
        if fields.stop_price is not None:
            order.stop_price = lean_decimal(fields.stop_price)
        if fields.tag is not None:
            order.tag = fields.tag
        self._emit(order, OrderEvent(order, self._now(), OrderStatus.UPDATE_SUBMITTED))
        return OrderResponse(True)

    def open_orders(self, symbol: Any = None) -> list[Order]:
        return [o for o in self._open.values() if symbol is None or o.symbol == symbol]

    def get_open_orders(self, symbol: Any = None) -> list[Order]:
        return self.open_orders(symbol)

    def get_open_order_tickets(self, symbol: Any = None) -> list[OrderTicket]:
        return [self.tickets[o.id] for o in self.open_orders(symbol)]

    def get_open_orders_remaining_quantity(self, symbol: Any = None) -> int:
        return sum(self.tickets[o.id].quantity_remaining for o in self.open_orders(symbol))

    def cancel_open_orders(self, symbol: Any = None, tag: str = "") -> list[OrderTicket]:
        tickets = []
        for order in self.open_orders(symbol):
            self.cancel_order(order.id, tag)
            tickets.append(self.tickets[order.id])
        return tickets

    def get_order_by_id(self, order_id: int) -> Order | None:
        return self.orders.get(order_id)

    def get_order_ticket(self, order_id: int) -> OrderTicket | None:
        return self.tickets.get(order_id)

    def get_orders(self, predicate: Callable[[Order], bool] | None = None) -> list[Order]:
        return [o for o in self.orders.values() if predicate is None or predicate(o)]

    def get_order_tickets(self, predicate: Callable[[OrderTicket], bool] | None = None) -> list[OrderTicket]:
        return [t for t in self.tickets.values() if predicate is None or predicate(t)]

    def symbols_with_open_orders(self) -> Iterable[Symbol]:
        return {o.symbol for o in self._open.values()}

    @property
    def orders_count(self) -> int:
        return self.total_order_count

    GetOpenOrders = get_open_orders
    GetOpenOrderTickets = get_open_order_tickets
    GetOpenOrdersRemainingQuantity = get_open_orders_remaining_quantity
    CancelOpenOrders = cancel_open_orders
    CancelOrder = cancel_order
    GetOrderById = get_order_by_id
    GetOrderTicket = get_order_ticket
    GetOrders = get_orders
    GetOrderTickets = get_order_tickets
    OrdersCount = property(lambda self: self.total_order_count)
