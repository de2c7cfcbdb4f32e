"""Moving averages: simple, exponential and Wilder's, with LEAN's start-up behaviour.

* ``SimpleMovingAverage(n)``: the mean of the last ``min(samples, n)`` inputs; ready after n inputs.
* ``ExponentialMovingAverage(n)``: the first value is the first input, then
  ``ema = x·k + ema_prev·(1 − k)`` with ``k = 2/(n+1)``; ready after n inputs.
  (Equal to pandas ``ewm(span=n, adjust=False)``.)
* ``WilderMovingAverage(n)``: the simple mean of the inputs so far until n inputs (so the n-th
  value is the SMA of the first n), then ``x/n + prev·(1 − 1/n)``; ready after n inputs.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from orchestrator.engine.indicators.base import (
    IndicatorBase,
    MovingAverageType,
    check_period,
    split_name,
)
from orchestrator.errors import UnsupportedApiError


class _PeriodIndicator(IndicatorBase):
    """An indicator with one period that is ready after ``period`` samples."""

    def __init__(self, name: str, period: int) -> None:
        super().__init__(name)
        self._period = period

    @property
    def period(self) -> int:
        return self._period

    @property
    def is_ready(self) -> bool:
        return self._samples >= self._period

    @property
    def warm_up_period(self) -> int:
        return self._period

    Period = property(lambda self: self.period)


class SimpleMovingAverage(_PeriodIndicator):
    """``SimpleMovingAverage(period)`` or ``SimpleMovingAverage(name, period)``.

    A running sum over the last ``period`` inputs: adding and subtracting floats drifts by a few ulps
    per step, so the window is re-summed exactly (``math.fsum``) once per ``period`` inputs, which keeps
    the error bounded at O(1) amortised cost. ``_compute`` is the hottest function of a minute
    backtest, hence written out in one piece.
    """

    def __init__(self, *args: Any) -> None:
        name, (period, *_) = split_name(args, "SimpleMovingAverage", 1)
        period = check_period(period)
        super().__init__(name or f"SMA({period})", period)
        self._values: deque[float] = deque()
        self._total = 0.0
        self._since_refresh = 0

    def _compute(self, time: Any, payload: Any) -> float | None:
        values = self._values
        values.append(payload)
        total = self._total + payload
        count = len(values)
        if count > self._period:
            total -= values.popleft()
            count -= 1
        since = self._since_refresh + 1
        if since >= self._period:
            total = math.fsum(values)
            since = 0
        self._total = total
        self._since_refresh = since
        return total / count

    def _reset_state(self) -> None:
        self._values.clear()
        self._total = 0.0
        self._since_refresh = 0


class ExponentialMovingAverage(_PeriodIndicator):
    """``ExponentialMovingAverage(period[, smoothing_factor])``, optionally with a leading name."""

    def __init__(self, *args: Any) -> None:
        name, rest = split_name(args, "ExponentialMovingAverage", 1)
        period = check_period(rest[0])
        if len(rest) > 1:
            self._k = float(rest[1])
            default_name = f"EMA({period},{rest[1]})"
        else:
            self._k = self.smoothing_factor_default(period)
            default_name = f"EMA({period})"
        super().__init__(name or default_name, period)

    @staticmethod
    def smoothing_factor_default(period: int) -> float:
        return 2.0 / (1 + period)

    def _compute(self, time: Any, payload: Any) -> float | None:
        if self._samples == 1:
            return payload
        k = self._k
        return payload * k + self._value * (1.0 - k)

    SmoothingFactorDefault = smoothing_factor_default


class WilderMovingAverage(_PeriodIndicator):
    """Wilder's smoothing: ``WilderMovingAverage(period)`` or ``(name, period)``."""

    def __init__(self, *args: Any) -> None:
        name, (period, *_) = split_name(args, "WilderMovingAverage", 1)
        period = check_period(period)
        super().__init__(name or f"WWMA{period}", period)
        self._k = 1.0 / period
        self._sum = 0.0

    def _compute(self, time: Any, payload: Any) -> float | None:
        if self._samples < self._period:
            self._sum += payload
            return self._sum / self._samples
        if self._samples == self._period:
            # LEAN's recursion from the (n−1)-sample mean equals the plain mean of the first n
            self._sum += payload
            return self._sum / self._period
        return payload * self._k + self._value * (1.0 - self._k)

    def _reset_state(self) -> None:
        self._sum = 0.0


def moving_average(kind: Any, name: str, period: int) -> IndicatorBase:
    """LEAN's ``MovingAverageType.AsIndicator(name, period)``."""
    kind = MovingAverageType(kind) if not isinstance(kind, MovingAverageType) else kind
    if kind is MovingAverageType.SIMPLE:
        return SimpleMovingAverage(name, period)
    if kind is MovingAverageType.EXPONENTIAL:
        return ExponentialMovingAverage(name, period)
    if kind is MovingAverageType.WILDERS:
        return WilderMovingAverage(name, period)
    raise UnsupportedApiError(f"MovingAverageType.{kind.name}")


def lean_type_name(kind: MovingAverageType) -> str:
    """The C# enum name LEAN prints (``Wilders``, ``Exponential``, ``LinearWeightedMovingAverage``)."""
    return "".join(part.capitalize() for part in kind.name.split("_")) if kind.name not in ("T3", "MGD") \
        else kind.name
