"""LEAN's equity fill model: when and at what price each order type fills.

Facts from reference/lean-engine.md §3.3 and LEAN's EquityFillModel:

* market orders fill only while the exchange is open (for a daily/hour bar, "open" means the bar is
  from today and overlaps the session); buys at the latest quote ask close, sells at the bid close,
  or the trade close without quotes. A price older than one hour before the order is stale: the order
  then rests, and a resting hour/daily order fills at the next bar's open;
* market-on-open fills at the open of the first regular-hours trade bar that starts at or after the
  order time (never a bar of the order's own date when placed during market hours);
* market-on-close fills at the close of the bar that ends at the session close;
* limit and stop orders use the latest trade bar that ended after the order time: a buy limit fills
  when the low is below the limit (at the limit, or the open on a favourable gap); a sell stop when
  the low reaches the stop (at the stop, or the open on an unfavourable gap); and the mirror cases;
* stop-limit orders use quote bars when the security has them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from orchestrator.engine.data import QuoteBar, TradeBar
from orchestrator.engine.enums import OrderDirection, OrderType, Resolution
from orchestrator.engine.orders import Order
from orchestrator.engine.securities import Security

STALE_PRICE_SPAN = dt.timedelta(hours=1)
ONE_HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Fill:
    price: Decimal
    message: str = ""


def exchange_open_for_fill(security: Security, now: dt.datetime, extended: bool) -> bool:
    """LEAN's IsExchangeOpen: open now, or the last bar is today's and overlaps the session."""
    hours = security.exchange.hours
    if hours.is_open(now, extended):
        return True
    bar = security.last_data
    if bar is None:
        return False
    return now.date() == bar.end_time.date() and hours.is_open_during(bar.time, bar.end_time, extended)


def _has_quotes(security: Security) -> bool:
    return any(sub.kind == "quote" for sub in security.subscriptions)


def _best_effort_price(security: Security, order: Order) -> tuple[Decimal, dt.datetime, str] | None:
    """(price, end time of the data it came from, fill message): quotes first, then a more recent trade bar.

    As LEAN's EquityFillModel (GetBestEffortAsk/BidPrice): a subscribed quote bar that is not stale gives
    the ask (buy) or bid (sell) close; otherwise a trade bar that ended later gives its close. Minute data
    without quote files (``qcloop data import`` writes trade bars only) therefore fills at the trade close,
    and the order event says so, as LEAN's does.
    """
    buy = order.direction == OrderDirection.BUY
    cutoff = order.time - STALE_PRICE_SPAN
    best: tuple[Decimal, dt.datetime, str] | None = None
    has_quotes = _has_quotes(security)
    quote = security.last_quote_bar if has_quotes else None
    if quote is not None:
        side = quote.ask if buy else quote.bid
        price = side.exact_close() if side is not None else _quote_mid_close(quote)
        if quote.end_time >= cutoff:
            return price, quote.end_time, ""
        best = (price, quote.end_time, "")
    trade = security.last_trade_bar
    if trade is not None and (best is None or trade.end_time > best[1]):
        note = (f"Warning: no quote data at {trade.end_time:%Y-%m-%d %H:%M:%S}: filled at the close of the "
                "trade bar") if has_quotes else ""
        return trade.exact(3), trade.end_time, note
    return best


def _quote_mid_close(quote: QuoteBar) -> Decimal:
    sides = [s.exact_close() for s in (quote.bid, quote.ask) if s is not None and s.close]
    return sum(sides, Decimal(0)) / len(sides) if sides else Decimal(0)


def market_fill(security: Security, order: Order, now: dt.datetime, resting: bool) -> Fill | None:
    if not exchange_open_for_fill(security, now, False):
        return None
    priced = _best_effort_price(security, order)
    if priced is None:
        return None
    price, end_time, note = priced
    if end_time < order.time - STALE_PRICE_SPAN:
        return None  # stale: wait for fresh data
    if resting and security.resolution in (Resolution.HOUR, Resolution.DAILY):
        bar = security.last_trade_bar
        if bar is None or bar.end_time <= order.time:
            return None
        return Fill(bar.exact(0), "filled at the open of the first bar after the order")
    return Fill(price, note)


def market_on_open_fill(security: Security, order: Order, now: dt.datetime) -> Fill | None:
    bar = security.last_trade_bar
    if bar is None:
        return None
    hours = security.exchange.hours
    if bar.time < order.time:
        return None  # the bar started before the order: its open is not available to the order
    if bar.end_time - bar.time < ONE_HOUR and not hours.is_open(bar.time, False):
        return None  # an extended-hours bar is not the opening auction
    if order.time >= bar.end_time:
        return None
    if hours.is_open(order.time, False) and order.time.date() == bar.end_time.date():
        return None  # placed during today's session: wait for the next day's open
    if not exchange_open_for_fill(security, now, False):
        return None
    return Fill(bar.exact(0))


def market_on_close_fill(security: Security, order: Order, now: dt.datetime) -> Fill | None:
    if now < security.exchange.hours.next_market_close(order.time, False):
        return None
    if not exchange_open_for_fill(security, now, False):
        return None
    bar = security.last_trade_bar
    if bar is None:
        return None
    return Fill(bar.exact(3))


def _trade_bar_after(security: Security, order: Order) -> TradeBar | None:
    bar = security.last_trade_bar
    if bar is None or bar.end_time <= order.time:
        return None
    return bar


def limit_fill(security: Security, order: Order, now: dt.datetime) -> Fill | None:
    if not exchange_open_for_fill(security, now, security.extended_hours):
        return None
    bar = _trade_bar_after(security, order)
    limit = order.limit_price
    if bar is None or limit is None:
        return None
    if order.direction == OrderDirection.BUY and bar.exact(2) < limit:
        opening = bar.exact(0)
        return Fill(opening, "favourable gap: filled at the open") if opening < limit else Fill(limit)
    if order.direction == OrderDirection.SELL and bar.exact(1) > limit:
        opening = bar.exact(0)
        return Fill(opening, "favourable gap: filled at the open") if opening > limit else Fill(limit)
    return None


def stop_market_fill(security: Security, order: Order, now: dt.datetime) -> Fill | None:
    if not exchange_open_for_fill(security, now, False):
        return None
    bar = _trade_bar_after(security, order)
    stop = order.stop_price
    if bar is None or stop is None:
        return None
    if order.direction == OrderDirection.SELL and bar.exact(2) <= stop:
        opening = bar.exact(0)
        return Fill(opening, "unfavourable gap: filled at the open") if opening <= stop else Fill(stop)
    if order.direction == OrderDirection.BUY and bar.exact(1) >= stop:
        opening = bar.exact(0)
        return Fill(opening, "unfavourable gap: filled at the open") if opening >= stop else Fill(stop)
    return None


def _prices(security: Security, order: Order) -> tuple[dt.datetime, Decimal, Decimal, Decimal] | None:
    """(end time, high, low, close) of the latest quote side (by direction) or trade bar."""
    quote = security.last_quote_bar if _has_quotes(security) else None
    if quote is not None:
        side = quote.bid if order.direction == OrderDirection.SELL else quote.ask
        if side is not None:
            return quote.end_time, side.exact(1), side.exact(2), side.exact(3)
    bar = security.last_trade_bar
    if bar is None:
        return None
    return bar.end_time, bar.exact(1), bar.exact(2), bar.exact(3)


def stop_limit_fill(security: Security, order: Order, now: dt.datetime) -> Fill | None:
    if not exchange_open_for_fill(security, now, security.extended_hours):
        return None
    prices = _prices(security, order)
    stop, limit = order.stop_price, order.limit_price
    if prices is None or stop is None or limit is None:
        return None
    end_time, high, low, current = prices
    if end_time <= order.time:
        return None
    if order.direction == OrderDirection.BUY:
        if high > stop or order.stop_triggered:
            order.stop_triggered = True
            if current < limit:
                return Fill(min(high, limit))
    elif order.direction == OrderDirection.SELL and (low < stop or order.stop_triggered):
        order.stop_triggered = True
        if current > limit:
            return Fill(max(low, limit))
    return None


def try_fill(security: Security, order: Order, now: dt.datetime, resting: bool) -> Fill | None:
    """The fill of ``order`` at ``now``, or None when it does not fill in this time step."""
    kind = order.type
    if kind == OrderType.MARKET:
        return market_fill(security, order, now, resting)
    if kind == OrderType.MARKET_ON_OPEN:
        return market_on_open_fill(security, order, now)
    if kind == OrderType.MARKET_ON_CLOSE:
        return market_on_close_fill(security, order, now)
    if kind == OrderType.LIMIT:
        return limit_fill(security, order, now)
    if kind == OrderType.STOP_MARKET:
        return stop_market_fill(security, order, now)
    if kind == OrderType.STOP_LIMIT:
        return stop_limit_fill(security, order, now)
    return None
