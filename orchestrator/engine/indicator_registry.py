"""Automatic indicator updates: ``self.sma(...)`` and ``register_indicator`` wire indicators to bars.

LEAN updates registered indicators after the securities and before ``on_data``, with the TradeBar of
each time slice (fill-forward bars included). An indicator at a coarser resolution than the data
(``self.sma("SPY", 20, Resolution.DAILY)`` on minute data) is fed by a consolidator: minute bars are
merged into hour bars (clock hours) or daily bars (one per session) that are emitted when the bar
ending at the period's end arrives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.engine.data import TradeBar
from orchestrator.engine.enums import RESOLUTION_SPAN, Resolution
from orchestrator.engine.indicators.base import IndicatorBase
from orchestrator.engine.market_hours import ExchangeHours
from orchestrator.errors import AlgorithmError


class TradeBarConsolidator:
    """Merges bars into bars of a longer period (an hour, a session, or a fixed timedelta)."""

    def __init__(self, period: Resolution | dt.timedelta, hours: ExchangeHours) -> None:
        self.period = period
        self.hours = hours
        self._working: TradeBar | None = None
        self._period_end: dt.datetime | None = None

    def _bounds(self, bar: TradeBar) -> tuple[dt.datetime, dt.datetime]:
        if self.period == Resolution.DAILY:
            session = self.hours.session(bar.time.date())
            if session is not None:
                return session.open, session.close
            midnight = dt.datetime.combine(bar.time.date(), dt.time())
            return midnight, midnight + dt.timedelta(days=1)
        span = RESOLUTION_SPAN[self.period] if isinstance(self.period, Resolution) else self.period
        midnight = dt.datetime.combine(bar.time.date(), dt.time())
        offset = (bar.time - midnight) // span * span
        return midnight + offset, midnight + offset + span

    def update(self, bar: TradeBar) -> TradeBar | None:
        """Add a bar; returns the consolidated bar when its period is complete."""
        emitted: TradeBar | None = None
        if self._working is not None and self._period_end is not None and bar.end_time > self._period_end:
            emitted = self._working  # the period ended without a bar at its very end
            self._working = None
        if self._working is None:
            start, end = self._bounds(bar)
            working = TradeBar(start, bar.symbol, bar.open, bar.high, bar.low, bar.close, bar.volume, end - start)
            self._working, self._period_end = working, end
        else:
            working = self._working
            working.high = max(working.high, bar.high)
            working.low = min(working.low, bar.low)
            working.close = bar.close
            working.volume += bar.volume
        if self._period_end is not None and bar.end_time >= self._period_end:
            completed = self._working
            self._working = None
            return completed if emitted is None else emitted
        return emitted


@dataclass
class Registration:
    indicator: Any
    selector: Callable[[Any], float] | None
    consolidator: TradeBarConsolidator | None

    def __post_init__(self) -> None:
        self.takes_bars = bool(getattr(self.indicator, "takes_bars", False))

    @property
    def feeder(self) -> tuple[bool, Callable[..., Any]]:
        """How the registry feeds it: ``(True, f)`` for ``f(end_time, close)``, else ``(False, feed)``.

        A built-in indicator fed the bar close at the data's resolution (the common case, e.g.
        ``self.sma("SPY", 20)``) takes the short path ``update_value``; everything else (selectors,
        consolidators, bar indicators, Python indicators with their own ``update``) goes through
        ``feed`` and the indicator's public ``update``.
        """
        indicator = self.indicator
        plain = (self.consolidator is None and self.selector is None and not self.takes_bars
                 and isinstance(indicator, IndicatorBase) and type(indicator).update is IndicatorBase.update)
        return (True, indicator.update_value) if plain else (False, self.feed)

    def feed(self, bar: TradeBar) -> None:
        if self.consolidator is not None:
            consolidated = self.consolidator.update(bar)
            if consolidated is None:
                return
            bar = consolidated
        if self.takes_bars:
            self.indicator.update(bar)
        elif self.selector is not None:
            self.indicator.update(bar.end_time, self.selector(bar))
        else:
            # the TradeBar close by default (LEAN's ResolveConsolidator prefers trade bars)
            self.indicator.update(bar.end_time, bar.close)


class IndicatorRegistry:
    """The indicators to update with each symbol's bars.

    ``by_symbol`` maps a symbol to its feeders in registration order (the order LEAN updates them in,
    which ``updated`` handlers that read other indicators can observe).
    """

    def __init__(self, hours: ExchangeHours) -> None:
        self.hours = hours
        self.by_symbol: dict[Any, list[tuple[bool, Callable[..., Any]]]] = {}
        self.registrations: list[Registration] = []
        # feeders by subscription (identity-hashed, unlike symbols): what update_columns looks up per bar
        self._by_subscription: dict[Any, list[tuple[bool, Callable[..., Any]]] | tuple[()]] = {}

    def register(self, symbol: Any, data_resolution: Resolution, indicator: Any,
                 resolution: Resolution | dt.timedelta | None, selector: Callable[[Any], float] | None) -> None:
        consolidator = None
        if resolution is not None and not isinstance(resolution, dt.timedelta):
            resolution = Resolution(int(resolution))
        if isinstance(resolution, dt.timedelta):
            if resolution < RESOLUTION_SPAN[data_resolution]:
                raise AlgorithmError(f"cannot build {resolution} bars of {symbol} from "
                                     f"{data_resolution.name.lower()} data")
            consolidator = TradeBarConsolidator(resolution, self.hours)
        elif resolution is not None and resolution != data_resolution:
            if resolution < data_resolution:
                raise AlgorithmError(
                    f"cannot update a {resolution.name.lower()} indicator of {symbol} from "
                    f"{data_resolution.name.lower()} data: add the security at {resolution.name.lower()} "
                    "resolution or use a coarser indicator resolution"
                )
            consolidator = TradeBarConsolidator(resolution, self.hours)
        registration = Registration(indicator, selector, consolidator)
        self.registrations.append(registration)
        self.by_symbol.setdefault(symbol, []).append(registration.feeder)
        self._by_subscription.clear()

    def update(self, bars: dict[Any, TradeBar]) -> None:
        by_symbol = self.by_symbol
        for symbol, bar in bars.items():
            feeders = by_symbol.get(symbol)
            if feeders:
                _feed(feeders, bar)

    def update_columns(self, subscriptions: Any, bars: Any) -> None:
        """Feed each user trade bar of a time slice to its symbol's indicators."""
        by_subscription = self._by_subscription
        for sub, bar in zip(subscriptions, bars):  # noqa: B905 - equal lengths by construction
            feeders = by_subscription.get(sub)
            if feeders is None:
                feeders = by_subscription[sub] = (self.by_symbol.get(sub.symbol) or ()) \
                    if sub.is_trade and not sub.internal else ()
            if feeders:  # _feed, written out: this runs for every bar of a backtest
                end, close = bar.end_time, bar.close
                for plain, feeder in feeders:
                    if plain:
                        feeder(end, close)
                    else:
                        feeder(bar)


def _feed(feeders: list[tuple[bool, Callable[..., Any]]], bar: TradeBar) -> None:
    end, close = bar.end_time, bar.close
    for plain, feeder in feeders:
        if plain:
            feeder(end, close)
        else:
            feeder(bar)
