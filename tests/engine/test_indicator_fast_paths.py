"""The engine's short paths for indicators behave exactly like the public update protocol."""

from __future__ import annotations

import datetime as dt
from typing import Any

from orchestrator.engine.calendar import market_hours_entry
from orchestrator.engine.data import TradeBar
from orchestrator.engine.indicator_registry import IndicatorRegistry
from orchestrator.engine.indicators import (
    ExponentialMovingAverage,
    IndicatorDataPoint,
    PythonIndicator,
    SimpleMovingAverage,
)
from orchestrator.engine.market_hours import hours_from_entry

START = dt.datetime(2021, 3, 1, 9, 30)
CLOSES = [10.0, 11.0, 13.0, 12.0, 15.0, 14.0, 16.0, 18.0, 17.0, 19.0]


def _bars() -> list[TradeBar]:
    return [TradeBar(START + dt.timedelta(minutes=i), "SPY", c, c, c, c, 100) for i, c in enumerate(CLOSES)]


def _registry() -> IndicatorRegistry:
    return IndicatorRegistry(hours_from_entry(market_hours_entry(range(2020, 2023)), "test"))


class LastTwoMean(PythonIndicator):
    """A custom indicator: the mean of the last two inputs (its own update must be called)."""

    def __init__(self) -> None:
        super().__init__("LastTwoMean")
        self.previous_value: float | None = None
        self.calls = 0

    def update(self, input: Any) -> bool:
        self.calls += 1
        value = float(input.value)
        self.value = value if self.previous_value is None else (value + self.previous_value) / 2
        self.previous_value = value
        return self.calls >= 2


def test_registered_indicators_match_hand_fed_ones_and_custom_updates_run() -> None:
    registry = _registry()
    sma, ema, custom = SimpleMovingAverage(3), ExponentialMovingAverage(4), LastTwoMean()
    for indicator in (sma, ema, custom):
        registry.register("SPY", 0, indicator, None, None)  # 0: Resolution.TICK is unused here
    by_hand_sma, by_hand_ema = SimpleMovingAverage(3), ExponentialMovingAverage(4)
    for bar in _bars():
        registry.update({"SPY": bar})
        by_hand_sma.update(bar.end_time, bar.close)
        by_hand_ema.update(bar)
    assert (sma.current.value, sma.samples) == (by_hand_sma.current.value, by_hand_sma.samples)
    assert ema.current.value == by_hand_ema.current.value
    # (19 + 17) / 2: the custom update ran for every bar
    assert (custom.calls, custom.current.value, custom.is_ready) == (10, 18.0, True)
    # the SMA of the last 3 closes: (18 + 17 + 19) / 3
    assert sma.current.value == 18.0 and sma.current.time == START + dt.timedelta(minutes=10)


def test_handlers_see_indicators_updated_in_registration_order() -> None:
    registry = _registry()
    first, second = SimpleMovingAverage(2), SimpleMovingAverage("selected", 2)
    seen: list[tuple[float, float]] = []
    second.updated += lambda sender, point: seen.append((first.current.value, point.value))
    registry.register("SPY", 0, first, None, None)  # the short path
    registry.register("SPY", 0, second, None, lambda bar: bar.close * 2)  # a selector: the full path
    for bar in _bars()[:3]:
        registry.update({"SPY": bar})
    # when `second` announces, `first` already has the same bar: (10+11)/2 = 10.5, then (11+13)/2 = 12
    assert seen == [(10.0, 20.0), (10.5, 21.0), (12.0, 24.0)]


def test_current_is_one_point_until_the_next_update() -> None:
    sma = SimpleMovingAverage(2)
    assert sma.current == IndicatorDataPoint(dt.datetime.min, 0.0)
    announced: list[IndicatorDataPoint] = []
    sma.updated += lambda sender, point: announced.append(point)
    sma.update(START, 1.0)
    point = sma.current
    assert point is sma.current is announced[-1] is sma.window[0]
    sma.update(START + dt.timedelta(minutes=1), 3.0)
    assert sma.current is not point and (point.value, sma.current.value) == (1.0, 2.0)
    assert sma.previous.value == 1.0
    sma.reset()
    assert (sma.current.time, sma.current.value, sma.samples) == (dt.datetime.min, 0.0, 0)


def test_update_time_value_keeps_the_forward_only_rule() -> None:
    sma = SimpleMovingAverage(2)
    sma.update(START + dt.timedelta(minutes=5), 4.0)
    assert sma.update(START, 100.0) is False  # earlier than the last input: ignored
    assert (sma.samples, sma.current.value) == (1, 4.0)
    sma.update_value(START, 100.0)  # the engine's path ignores it too
    assert (sma.samples, sma.current.value) == (1, 4.0)
