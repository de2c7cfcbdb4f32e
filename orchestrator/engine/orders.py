"""Orders, order events and tickets, with the wire shape of QuantConnect's backtest results.

Quantities are ints (US equities trade in whole shares); prices are exact decimals internally and
floats where the algorithm reads them, as in QuantConnect's Python API.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from orchestrator.engine.enums import (
    ORDER_STATUS_WIRE,
    OrderDirection,
    OrderStatus,
    OrderType,
    SecurityType,
    TimeInForce,
)
from orchestrator.engine.timeutil import utc_iso, utc_naive, utc_timestamp

if TYPE_CHECKING:
    from orchestrator.engine.symbols import Symbol
    from orchestrator.engine.transactions import TransactionManager

ZERO = Decimal(0)


class OrderProperties:
    """``time_in_force`` (GOOD_TIL_CANCELED by default, or DAY)."""

    def __init__(self, time_in_force: str = TimeInForce.GOOD_TIL_CANCELED) -> None:
        self.time_in_force = time_in_force

    TimeInForce = property(lambda self: self.time_in_force)


def direction_of(quantity: int) -> OrderDirection:
    if quantity > 0:
        return OrderDirection.BUY
    if quantity < 0:
        return OrderDirection.SELL
    return OrderDirection.HOLD


class Order:
    """One order as LEAN records it (the Order object of ``backtests/orders/read``)."""

    def __init__(self, order_id: int, symbol: Symbol, quantity: int, order_type: OrderType, time: dt.datetime,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 tag: str = "", limit_price: Decimal | None = None, stop_price: Decimal | None = None,
                 properties: OrderProperties | None = None) -> None:
        self.id = order_id
        self.symbol = symbol
        self.quantity = quantity
        self.type = order_type
        self.time = time  # exchange-local submission time
        self.created_time = time
        self.tag = tag
        self.limit_price = limit_price
        self.stop_price = stop_price
        self.stop_triggered = False
        self.properties = properties or OrderProperties()
        self.status = OrderStatus.NEW
        self.price: Decimal = ZERO  # fill price (average)
        self.last_fill_time: dt.datetime | None = None
        self.last_update_time: dt.datetime | None = None
        self.canceled_time: dt.datetime | None = None
        self.submission_bid = ZERO
        self.submission_ask = ZERO
        self.submission_last = ZERO
        self.events: list[OrderEvent] = []

    @property
    def direction(self) -> OrderDirection:
        return direction_of(self.quantity)

    @property
    def absolute_quantity(self) -> int:
        return abs(self.quantity)

    @property
    def value(self) -> float:
        return float(self.quantity * self.price)

    def to_json(self) -> dict[str, Any]:
        """The order in the cloud wire shape (integer codes per reference/qc-api.md §3.5)."""
        return {
            "id": self.id,
            "contingentId": 0,
            "brokerId": [],
            "symbol": self.symbol.to_json(),
            "limitPrice": float(self.limit_price) if self.limit_price is not None else None,
            "stopPrice": float(self.stop_price) if self.stop_price is not None else None,
            "stopTriggered": self.stop_triggered,
            "price": float(self.price),
            "priceCurrency": "USD",
            "time": utc_iso(self.time),
            "createdTime": utc_iso(self.created_time),
            "lastFillTime": utc_iso(self.last_fill_time) if self.last_fill_time else None,
            "lastUpdateTime": utc_iso(self.last_update_time) if self.last_update_time else None,
            "canceledTime": utc_iso(self.canceled_time) if self.canceled_time else None,
            "quantity": float(self.quantity),
            "type": int(self.type),
            "status": int(self.status),
            "tag": self.tag,
            "securityType": int(SecurityType.EQUITY),
            "direction": int(self.direction),
            "value": float(self.quantity * self.price),
            "orderSubmissionData": {
                "bidPrice": float(self.submission_bid),
                "askPrice": float(self.submission_ask),
                "lastPrice": float(self.submission_last),
            },
            "isMarketable": self.type in (OrderType.MARKET, OrderType.MARKET_ON_OPEN, OrderType.MARKET_ON_CLOSE),
            "properties": {"timeInForce": self.properties.time_in_force},
            "events": [event.to_json() for event in self.events],
            "trailingAmount": None,
            "trailingPercentage": None,
            "groupOrderManager": None,
            "triggerPrice": None,
            "triggerTouched": False,
        }

    # QuantConnect's names
    Id = property(lambda self: self.id)
    Symbol = property(lambda self: self.symbol)
    Quantity = property(lambda self: self.quantity)
    Type = property(lambda self: self.type)
    Status = property(lambda self: self.status)
    Time = property(lambda self: self.time)
    Tag = property(lambda self: self.tag)
    Price = property(lambda self: float(self.price))
    Direction = property(lambda self: self.direction)
    LimitPrice = property(lambda self: float(self.limit_price) if self.limit_price is not None else 0.0)
    StopPrice = property(lambda self: float(self.stop_price) if self.stop_price is not None else 0.0)
    AbsoluteQuantity = property(lambda self: abs(self.quantity))
    Value = property(lambda self: self.value)

    @property
    def order_type(self) -> OrderType:
        return self.type


class OrderFee:
    """``order_event.order_fee.value.amount`` like QuantConnect."""

    class _CashAmount:
        def __init__(self, amount: Decimal) -> None:
            self._amount = amount
            self.currency = "USD"

        @property
        def amount(self) -> float:
            return float(self._amount)

        Amount = property(lambda self: float(self._amount))
        Currency = property(lambda self: "USD")

        def __repr__(self) -> str:
            return f"{float(self._amount):.2f} USD"

    def __init__(self, amount: Decimal) -> None:
        self.value = OrderFee._CashAmount(amount)

    Value = property(lambda self: self.value)

    def __repr__(self) -> str:
        return repr(self.value)


class OrderEvent:
    """A change of an order's state (submitted, filled, canceled, invalid ...)."""

    def __init__(self, order: Order, time: dt.datetime, status: OrderStatus, fill_price: Decimal = ZERO,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 fill_quantity: int = 0, fee: Decimal = ZERO, message: str = "") -> None:
        self.order_id = order.id
        self.id = len(order.events)
        self.symbol = order.symbol
        self.time = time
        self.status = status
        self.fill_price_exact = fill_price
        self.fill_quantity = fill_quantity
        self.fee = fee
        self.message = message
        self.direction = order.direction
        self.quantity = order.quantity
        self.is_assignment = False
        self.is_in_the_money = False

    @property
    def fill_price(self) -> float:
        return float(self.fill_price_exact)

    @property
    def absolute_fill_quantity(self) -> int:
        return abs(self.fill_quantity)

    @property
    def utc_time(self) -> dt.datetime:
        return utc_naive(self.time)

    @property
    def order_fee(self) -> OrderFee:
        return OrderFee(self.fee)

    @property
    def ticket(self) -> Any:
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithmId": "",
            "symbol": self.symbol.to_json(),
            "orderId": self.order_id,
            "orderEventId": self.id,
            "time": utc_timestamp(self.time),
            "status": ORDER_STATUS_WIRE[self.status],
            "orderFeeAmount": float(self.fee) if self.fee else None,
            "orderFeeCurrency": "USD" if self.fee else None,
            "fillPrice": float(self.fill_price_exact),
            "fillPriceCurrency": "USD",
            "fillQuantity": float(self.fill_quantity),
            "direction": {0: "buy", 1: "sell", 2: "hold"}[int(self.direction)],
            "message": self.message or None,
            "isAssignment": False,
            "quantity": float(self.quantity),
            "isInTheMoney": False,
        }

    def __repr__(self) -> str:
        text = (f"Time: {self.time} OrderID: {self.order_id} EventID: {self.id} Symbol: {self.symbol} "
                f"Status: {self.status.name.title()} Quantity: {self.quantity}")
        if self.fill_quantity:
            text += f" FillQuantity: {self.fill_quantity} FillPrice: {float(self.fill_price_exact)} USD"
        if self.fee:
            text += f" OrderFee: {float(self.fee)} USD"
        if self.message:
            text += f" Message: {self.message}"
        return text

    __str__ = __repr__

    OrderId = property(lambda self: self.order_id)
    Id = property(lambda self: self.id)
    Symbol = property(lambda self: self.symbol)
    Status = property(lambda self: self.status)
    FillPrice = property(lambda self: self.fill_price)
    FillQuantity = property(lambda self: self.fill_quantity)
    AbsoluteFillQuantity = property(lambda self: abs(self.fill_quantity))
    Direction = property(lambda self: self.direction)
    UtcTime = property(lambda self: self.utc_time)
    OrderFee = property(lambda self: self.order_fee)
    Message = property(lambda self: self.message)
    Quantity = property(lambda self: self.quantity)
    IsAssignment = property(lambda self: False)


class UpdateOrderFields:
    """Fields to change with ``ticket.update(fields)``; None leaves a field as it is."""

    def __init__(self, quantity: float | None = None, limit_price: float | None = None,
                 stop_price: float | None = None, tag: str | None = None) -> None:
        self.quantity = quantity
        self.limit_price = limit_price
        self.stop_price = stop_price
        self.tag = tag


class OrderField:
    LIMIT_PRICE = "limit_price"
    STOP_PRICE = "stop_price"
    LimitPrice = "limit_price"
    StopPrice = "stop_price"


class OrderResponse:
    """The answer of a submit/update/cancel request."""

    def __init__(self, is_success: bool, error_message: str = "") -> None:
        self.is_success = is_success
        self.is_error = not is_success
        self.error_message = error_message

    IsSuccess = property(lambda self: self.is_success)
    IsError = property(lambda self: self.is_error)
    ErrorMessage = property(lambda self: self.error_message)


class OrderTicket:
    """The algorithm's handle on an order: state, fills, cancel and update."""

    def __init__(self, transactions: TransactionManager | None, order: Order | None, symbol: Symbol,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 quantity: int, order_type: OrderType, time: dt.datetime, tag: str = "",
                 error: str = "") -> None:
        self._transactions = transactions
        self._order = order
        self.symbol = symbol
        self.quantity = quantity
        self.order_type = order_type
        self.time = time
        self.tag = tag
        self.submit_response = OrderResponse(not error, error)
        self.quantity_filled = 0
        self._fill_value = ZERO
        self.order_events: list[OrderEvent] = []

    @property
    def order_id(self) -> int:
        return self._order.id if self._order is not None else -1

    @property
    def status(self) -> OrderStatus:
        return self._order.status if self._order is not None else OrderStatus.INVALID

    @property
    def average_fill_price(self) -> float:
        if not self.quantity_filled:
            return 0.0
        return float(self._fill_value / self.quantity_filled)

    @property
    def quantity_remaining(self) -> int:
        return self.quantity - self.quantity_filled

    @property
    def limit_price(self) -> float:
        return float(self._order.limit_price) if self._order and self._order.limit_price is not None else 0.0

    @property
    def stop_price(self) -> float:
        return float(self._order.stop_price) if self._order and self._order.stop_price is not None else 0.0

    def record_fill(self, quantity: int, price: Decimal) -> None:
        self.quantity_filled += quantity
        self._fill_value += quantity * price

    def cancel(self, tag: str = "") -> OrderResponse:
        if self._transactions is None or self._order is None:
            return OrderResponse(False, "the order was never submitted")
        return self._transactions.cancel_order(self.order_id, tag)

    def update(self, fields: UpdateOrderFields) -> OrderResponse:
        if self._transactions is None or self._order is None:
            return OrderResponse(False, "the order was never submitted")
        return self._transactions.update_order(self.order_id, fields)

    def update_quantity(self, quantity: float, tag: str | None = None) -> OrderResponse:
        return self.update(UpdateOrderFields(quantity=quantity, tag=tag))

    def update_limit_price(self, price: float, tag: str | None = None) -> OrderResponse:
        return self.update(UpdateOrderFields(limit_price=price, tag=tag))

    def update_stop_price(self, price: float, tag: str | None = None) -> OrderResponse:
        return self.update(UpdateOrderFields(stop_price=price, tag=tag))

    def update_tag(self, tag: str) -> OrderResponse:
        return self.update(UpdateOrderFields(tag=tag))

    def get(self, field: str) -> float:
        if field == OrderField.LIMIT_PRICE:
            return self.limit_price
        if field == OrderField.STOP_PRICE:
            return self.stop_price
        raise ValueError(f"unknown OrderField {field!r}")

    def __repr__(self) -> str:
        return (f"OrderTicket(id={self.order_id}, {self.symbol}, {self.order_type.name}, qty={self.quantity}, "
                f"status={self.status.name})")

    OrderId = property(lambda self: self.order_id)
    Status = property(lambda self: self.status)
    Symbol = property(lambda self: self.symbol)
    Quantity = property(lambda self: self.quantity)
    QuantityFilled = property(lambda self: self.quantity_filled)
    QuantityRemaining = property(lambda self: self.quantity_remaining)
    AverageFillPrice = property(lambda self: self.average_fill_price)
    OrderType = property(lambda self: self.order_type)
    Time = property(lambda self: self.time)
    Tag = property(lambda self: self.tag)
    SubmitRequest = property(lambda self: self)
    Response = property(lambda self: self.submit_response)
    OrderEvents = property(lambda self: self.order_events)
    Cancel = cancel
    Update = update
    UpdateQuantity = update_quantity
    UpdateLimitPrice = update_limit_price
    UpdateStopPrice = update_stop_price
    UpdateTag = update_tag
    Get = get
