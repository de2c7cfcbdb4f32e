"""What a paper deployment holds after its replay, in the shapes ``live/*`` return.

A paper deployment in the emulator replays the algorithm over the most recent data of the data folder
(see ``docs/emulator.md``). Its portfolio is derived from the replay's filled orders: per symbol the
signed quantity, and the average price of the position as LEAN keeps it (a weighted average while the
position grows, unchanged while it shrinks, reset when it flips side). Prices are the last daily close
in the data folder; cash is the replay's end equity minus the holdings' value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.emulator.state import LiveHolding

FILLED = 3  # OrderStatus.Filled


def _symbol_of(order: Mapping[str, Any]) -> tuple[str, str]:
    symbol = order.get("symbol")
    if isinstance(symbol, Mapping):
        value = str(symbol.get("value") or symbol.get("permtick") or "")
        return value, str(symbol.get("id") or value)
    return str(symbol or ""), str(symbol or "")


def _fill_price(order: Mapping[str, Any]) -> float:
    events = [e for e in order.get("events") or [] if isinstance(e, Mapping)]
    fills = [e for e in events if float(e.get("fillQuantity") or 0) != 0]
    if fills:
        last = fills[-1]
        return float(last.get("fillPrice") or order.get("price") or 0.0)
    return float(order.get("price") or 0.0)


def positions(orders: Iterable[Mapping[str, Any]]) -> dict[str, LiveHolding]:
    """Net positions after the filled orders (zero positions dropped); price is the last fill."""
    held: dict[str, LiveHolding] = {}
    for order in orders:
        if order.get("status") != FILLED:
            continue
        quantity = float(order.get("quantity") or 0.0)
        if quantity == 0:
            continue
        ticker, symbol_id = _symbol_of(order)
        price = _fill_price(order)
        current = held.get(symbol_id) or LiveHolding(symbol=ticker, symbol_id=symbol_id, quantity=0.0,
                                                     average_price=0.0, price=price)
        new_quantity = current.quantity + quantity
        if current.quantity == 0 or (current.quantity > 0) != (new_quantity > 0):
            average = price  # opened or flipped side
        elif abs(new_quantity) > abs(current.quantity):
            average = (current.average_price * current.quantity + price * quantity) / new_quantity
        else:
            average = current.average_price
        held[symbol_id] = LiveHolding(symbol=ticker, symbol_id=symbol_id, quantity=new_quantity,
                                      average_price=average, price=price)
    return {k: h for k, h in held.items() if abs(h.quantity) > 1e-9}


def portfolio(holdings: Iterable[LiveHolding], cash: float) -> dict[str, Any]:
    """``live/portfolio/read``'s ``portfolio``: holdings keyed by symbol id, and cash by currency."""
    shown: dict[str, Any] = {}
    for h in holdings:
        value = h.quantity * h.price
        unrealized = (h.price - h.average_price) * h.quantity
        cost = abs(h.average_price * h.quantity)
        shown[h.symbol_id] = {
            "symbol": {"value": h.symbol, "id": h.symbol_id, "permtick": h.symbol},
            "a": round(h.average_price, 4), "q": h.quantity, "p": round(h.price, 4), "v": round(value, 2),
            "u": round(unrealized, 2), "up": round(unrealized / cost * 100, 2) if cost else 0.0,
        }
    return {
        "holdings": shown or [],
        "cash": {"USD": {"symbol": "USD", "amount": round(cash, 2), "conversionRate": 1.0,
                         "currencySymbol": "$", "valueInAccountCurrency": round(cash, 2)}},
    }


def liquidation_orders(holdings: Iterable[LiveHolding], first_id: int, when: dt.datetime) -> list[dict[str, Any]]:
    """Market orders that close every position at its last price (paper fills, no fees)."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    orders = []
    for offset, h in enumerate(holdings):
        quantity = -h.quantity
        orders.append({
            "id": first_id + offset, "contingentId": 0, "brokerId": [f"paper-{first_id + offset}"],
            "symbol": {"value": h.symbol, "id": h.symbol_id, "permtick": h.symbol},
            "price": h.price, "priceCurrency": "USD", "time": stamp, "createdTime": stamp,
            "lastFillTime": stamp, "quantity": quantity, "type": 0, "status": FILLED,
            "tag": "Liquidated by live/update/liquidate", "securityType": 1,
            "direction": 0 if quantity > 0 else 1, "value": abs(quantity) * h.price, "events": [],
        })
    return orders
