"""Estimated strategy capacity and the lowest-capacity asset (LEAN's CapacityEstimate/SymbolCapacity).

After each fill a symbol's tracker adds the market's dollar volume (``close x volume x discount``) of
the bars that follow, for a window that depends on the data: minute bars for up to 120 minutes
(``6,000,000 / average dollar volume per minute``), hour-long bars (and LEAN's 09:30-16:00 daily bars,
whose period is 6.5 hours) for the fill bar only. The discount ``2 x minutes since the previous fill /
390`` (within [0.2, 1]) penalises fast trading. Each snapshot (every ``max(1, min(days - 1, 7))`` days
and at the end) takes the asset with the smallest scaled market volume (x 0.20 minute, 0.05 hour,
0.02 daily, 0.50 second) and sets ``capacity = (its volume / its trades) / max(its share of the sale
volume, its holdings / portfolio value)``, smoothed ``0.33 new + 0.66 old``, rounded to $1,000.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from orchestrator.engine.timeutil import utc_naive

ZERO = Decimal(0)
ONE = Decimal(1)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
CAPACITY_EFFECT_PERIOD = dt.timedelta(days=30)
_SCALE = {"minute": Decimal("0.20"), "hour": Decimal("0.05"), "daily": Decimal("0.02"), "second": Decimal("0.50")}


def _resolution_of(period: dt.timedelta) -> str:
    """LEAN's ToHigherResolutionEquivalent (not exact): the largest resolution not above the period."""
    if period >= DAY:
        return "daily"
    if period >= HOUR:
        return "hour"
    if period >= MINUTE:
        return "minute"
    return "second"


def _round_up(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    ticks = (moment - dt.datetime.min) / step
    whole = int(ticks)
    return dt.datetime.min + step * (whole if whole == ticks else whole + 1)


class SymbolCapacity:
    """One traded symbol's share of the market's dollar volume."""

    def __init__(self, security: Any) -> None:
        self.security = security
        self.sale_volume = ZERO
        self.trades = 0
        self._market_volume = ZERO
        self._scale = ZERO
        self._reset_pending = False
        self._discount = ONE
        self._previous_fill_utc: dt.datetime | None = None
        self._previous_bar_utc: dt.datetime | None = None
        self._previous_volume = ZERO
        self._average_dollar_volume = ZERO

    @property
    def market_capacity_dollar_volume(self) -> Decimal:
        return self._market_volume * self._scale

    def on_fill(self, utc: dt.datetime, quantity: int, price: Decimal) -> None:
        self.sale_volume += price * abs(quantity)
        previous = self._previous_fill_utc or (utc - DAY)
        discount = 2 * Decimal(repr((utc - previous).total_seconds() / 60)) / 390
        self._discount = ONE if discount > 1 else max(Decimal("0.20"), discount)
        if self._reset_pending:
            self._market_volume = ZERO
            self.trades = 0
            self._reset_pending = False
        self.trades += 1
        self._previous_fill_utc = utc

    def _include(self, resolution: str, utc: dt.datetime) -> bool:
        previous = self._previous_fill_utc
        if previous is None:
            return False
        if resolution == "hour":
            return utc == _round_up(previous, HOUR)
        if resolution == "daily":
            return utc == previous or dt.datetime.combine(utc.date(), dt.time()) == _round_up(previous, DAY)
        base = 6_000_000 if resolution == "minute" else 100_000
        k = Decimal(base) / self._average_dollar_volume if self._average_dollar_volume else Decimal(10)
        floor = 1 if resolution == "minute" else 5
        minutes = 120 if k > 120 else int(max(floor, float(k)))
        return utc <= previous + dt.timedelta(minutes=minutes)

    def update(self, bar: Any, utc: dt.datetime) -> bool:
        """Add the market volume of this time step's bar; True once the window after the fill closed."""
        if bar is None or not bar.volume:
            return False
        close = bar.exact(3) if hasattr(bar, "exact") else Decimal(repr(bar.close))
        volume = Decimal(repr(bar.volume))
        minutes = ZERO if self._previous_bar_utc is None else \
            Decimal(repr((utc - self._previous_bar_utc).total_seconds() / 60))
        if minutes == 0:
            self._average_dollar_volume = close * volume
        else:
            self._average_dollar_volume = close * (volume + self._previous_volume) / minutes
        self._previous_bar_utc = utc
        self._previous_volume = volume
        resolution = _resolution_of(bar.end_time - bar.time)
        include = self._include(resolution, utc)
        if include:
            self._scale = _SCALE[resolution]
            self._market_volume += close * self._discount * volume
        return not include

    def reset(self) -> None:
        self._reset_pending = True
        self.sale_volume = ZERO

    def should_remove(self, utc: dt.datetime) -> bool:
        if self.security.holdings.quantity != 0:
            return False
        return self._previous_fill_utc is None or utc >= self._previous_fill_utc + CAPACITY_EFFECT_PERIOD


class CapacityEstimate:
    """The strategy's capacity, updated each time step and snapshotted periodically."""

    def __init__(self, start: dt.datetime, end: dt.datetime) -> None:
        days = (end - start).total_seconds() / 86400
        self.period = dt.timedelta(days=max(min(days - 1, 7), 1))
        self._next_snapshot = start + self.period
        self._by_symbol: dict[Any, SymbolCapacity] = {}
        self._monitored: list[SymbolCapacity] = []
        self._capacity = ZERO
        self.lowest: Any = None

    @property
    def active(self) -> bool:
        return bool(self._by_symbol)

    def on_fill(self, security: Any, time: dt.datetime, quantity: int, price: Decimal) -> None:
        tracker = self._by_symbol.get(security.symbol)
        if tracker is None:
            tracker = self._by_symbol[security.symbol] = SymbolCapacity(security)
        tracker.on_fill(utc_naive(time), quantity, price)
        if tracker not in self._monitored:
            self._monitored.append(tracker)

    @property
    def monitoring(self) -> bool:
        """Whether some symbol is still collecting market volume after a fill."""
        return bool(self._monitored)

    def update(self, time: dt.datetime, bars: dict[Any, Any], portfolio_value: Any, force: bool = False) -> None:
        """LEAN's UpdateMarketCapacity after a time step (``bars``: the step's bars by symbol)."""
        if self._monitored:
            utc = utc_naive(time)
            for index in range(len(self._monitored) - 1, -1, -1):
                tracker = self._monitored[index]
                if tracker.update(bars.get(tracker.security.symbol), utc):
                    del self._monitored[index]
        if not self._by_symbol or (not force and time < self.local_guard):
            return  # the next snapshot's UTC date cannot have begun yet
        utc = utc_naive(time)
        day = dt.datetime.combine(utc.date(), dt.time())
        if force or day >= self._next_snapshot:
            self._snapshot(utc, day, portfolio_value())

    @property
    def _next_snapshot(self) -> dt.datetime:
        return self._next_snapshot_date

    @_next_snapshot.setter
    def _next_snapshot(self, value: dt.datetime) -> None:
        self._next_snapshot_date = value
        # New York time before which that UTC date cannot have started (UTC = New York + 4 or 5 hours)
        self.local_guard = value - dt.timedelta(hours=5)

    def _snapshot(self, utc: dt.datetime, day: dt.datetime, portfolio_value: Decimal) -> None:
        total_sale_volume = sum((t.sale_volume for t in self._by_symbol.values()), ZERO)
        if portfolio_value == 0:
            return
        smallest = min(self._by_symbol.values(), key=lambda t: t.market_capacity_dollar_volume)
        self.lowest = smallest.security.symbol
        share_of_sales = smallest.sale_volume / total_sale_volume if total_sale_volume else ZERO
        holdings = abs(smallest.security.holdings.quantity * smallest.security.exact_price)
        share_of_holdings = holdings / portfolio_value
        scaling = max(share_of_sales, share_of_holdings)
        daily_volume = smallest.market_capacity_dollar_volume / smallest.trades if smallest.trades else ZERO
        new = self._capacity if scaling == 0 else daily_volume / scaling
        if self._capacity != 0:
            new = Decimal("0.33") * new + self._capacity * Decimal("0.66")
        self._capacity = new
        for symbol, tracker in list(self._by_symbol.items()):
            if not tracker.should_remove(utc):
                tracker.reset()
                continue
            del self._by_symbol[symbol]
            if tracker in self._monitored:
                self._monitored.remove(tracker)
        self._next_snapshot = day + self.period

    @property
    def capacity(self) -> Decimal:
        """Rounded to $1,000 (LEAN's DiscretelyRoundBy)."""
        return (self._capacity / 1000).quantize(ONE, rounding=ROUND_HALF_UP) * 1000


def round_significant(value: Decimal, digits: int) -> Decimal:
    """LEAN's RoundToSignificantDigits: ``scale x Math.Round(value / scale, digits)``."""
    if value == 0:
        return ZERO
    exponent = value.adjusted() + 1
    scale = Decimal(10) ** exponent
    scaled = value / scale
    as_tuple = scaled.as_tuple()
    if isinstance(as_tuple.exponent, int) and as_tuple.exponent < -digits:
        scaled = scaled.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    return scaled * scale


def capacity_strings(engine: Any) -> tuple[str, str]:
    """('Estimated Strategy Capacity', 'Lowest Capacity Asset') summary strings."""
    from orchestrator.engine.statistics import format_decimal

    estimate: CapacityEstimate | None = getattr(engine, "capacity", None)
    if estimate is None:
        return "$0", ""
    value = round_significant(estimate.capacity, 2)
    lowest = str(estimate.lowest.id) if estimate.lowest is not None else ""
    return "$" + format_decimal(value), lowest
