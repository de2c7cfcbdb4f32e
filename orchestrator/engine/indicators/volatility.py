"""Dispersion indicators: StandardDeviation, BollingerBands, TrueRange, AverageTrueRange.

LEAN semantics (``Indicators/*.cs``):

* ``StandardDeviation(n)``: the **population** standard deviation (divide by the count, not count − 1)
  of the last ``min(samples, n)`` inputs; 0 for the first input; ready after n inputs.
* ``BollingerBands(n, k, type=Simple)``: middle = MA(n), upper/lower = middle ± k·StandardDeviation(n)
  (population), ``band_width = (upper − lower)/middle·100``, ``percent_b = (x − lower)/(upper − lower)``;
  the value of the indicator itself is the input. A zero denominator leaves band width or %B at
  their previous value (LEAN's MathError). Ready after n inputs.
* ``TrueRange``: ``max(high − low, |high − prev_close|, |low − prev_close|)``, ``high − low`` for the
  first bar.
* ``AverageTrueRange(n, type=Wilders)``: the true range smoothed by the moving average; ready after
  n bars.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from orchestrator.engine.indicators.averages import _PeriodIndicator, lean_type_name, moving_average
from orchestrator.engine.indicators.base import (
    Identity,
    IndicatorBase,
    MovingAverageType,
    _Component,
    check_period,
    format_lean_number,
    split_name,
)
from orchestrator.engine.indicators.oscillators import _moving_average_type


class _RollingMoments:
    """Mean and population variance of the last ``size`` values in O(1) per value.

    Sums are kept of ``x − shift`` (shift = a recent mean) so that the variance formula
    E[y²] − E[y]² does not cancel catastrophically for prices far from 0; the sums are recomputed
    exactly once per ``size`` additions, with a fresh shift, to stop drift.
    """

    __slots__ = ("_shift", "_since_refresh", "_size", "_sum", "_sum_sq", "_values")

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: deque[float] = deque()
        self._shift: float | None = None
        self._sum = 0.0
        self._sum_sq = 0.0
        self._since_refresh = 0

    def add(self, value: float) -> None:
        values = self._values
        if self._shift is None:
            self._shift = value
        shift = self._shift
        values.append(value)
        y = value - shift
        self._sum += y
        self._sum_sq += y * y
        if len(values) > self._size:
            old = values.popleft() - shift
            self._sum -= old
            self._sum_sq -= old * old
        self._since_refresh += 1
        if self._since_refresh >= self._size:
            self._refresh()

    def _refresh(self) -> None:
        values = self._values
        shift = math.fsum(values) / len(values)
        self._shift = shift
        self._sum = math.fsum(v - shift for v in values)
        self._sum_sq = math.fsum((v - shift) * (v - shift) for v in values)
        self._since_refresh = 0

    def variance(self) -> float:
        n = len(self._values)
        if n < 2:
            return 0.0
        mean = self._sum / n
        return max(0.0, self._sum_sq / n - mean * mean)

    def clear(self) -> None:
        self._values.clear()
        self._shift = None
        self._sum = self._sum_sq = 0.0
        self._since_refresh = 0


class Variance(_PeriodIndicator):
    """``Variance([name,] period)``: population variance of the last ``period`` inputs."""

    _prefix = "VAR"

    def __init__(self, *args: Any) -> None:
        name, (period, *_) = split_name(args, type(self).__name__, 1)
        period = check_period(period)
        super().__init__(name or f"{self._prefix}({period})", period)
        self._moments = _RollingMoments(period)

    def _compute(self, time: Any, payload: Any) -> float | None:
        self._moments.add(payload)
        return self._moments.variance()

    def _reset_state(self) -> None:
        self._moments.clear()


class StandardDeviation(Variance):
    """``StandardDeviation([name,] period)``: population standard deviation (LEAN divides by n)."""

    _prefix = "STD"

    def _compute(self, time: Any, payload: Any) -> float | None:
        self._moments.add(payload)
        return math.sqrt(self._moments.variance())


class BollingerBands(IndicatorBase):
    """``BollingerBands([name,] period, k, moving_average_type=MovingAverageType.Simple)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name, rest = split_name(args, "BollingerBands", 2)
        period = check_period(rest[0])
        k = float(rest[1])
        kind = _moving_average_type(rest, kwargs, 2, MovingAverageType.SIMPLE)
        name = name or f"BB({period},{format_lean_number(k)})"
        super().__init__(name)
        self._period = period
        self._k = k
        self.moving_average_type = kind
        self.standard_deviation = StandardDeviation(name + "_StandardDeviation", period)
        self.middle_band = moving_average(kind, name + "_MiddleBand", period)
        self.price = Identity(name + "_Close")
        ready = self._bands_ready
        self.upper_band: IndicatorBase = _Component(name + "_UpperBand", ready, period)
        self.lower_band: IndicatorBase = _Component(name + "_LowerBand", ready, period)
        self.band_width: IndicatorBase = _Component(name + "_BandWidth", ready, period)
        self.percent_b: IndicatorBase = _Component(name + "_%B", ready, period)

    def _bands_ready(self) -> bool:
        return self.middle_band.is_ready and self.standard_deviation.is_ready

    def _compute(self, time: Any, payload: Any) -> float | None:
        self.standard_deviation._push(time, payload)
        self.middle_band._push(time, payload)
        middle = self.middle_band._value
        offset = self._k * self.standard_deviation._value
        upper, lower = middle + offset, middle - offset
        self.upper_band._push(time, upper)
        self.lower_band._push(time, lower)
        width = upper - lower
        if middle != 0:
            self.band_width._push(time, width / middle * 100.0)
        self.price._push(time, payload)
        if width != 0:
            self.percent_b._push(time, (payload - lower) / width)
        return payload

    def _reset_state(self) -> None:
        for part in (self.standard_deviation, self.middle_band, self.price, self.upper_band,
                     self.lower_band, self.band_width, self.percent_b):
            part.reset()

    @property
    def is_ready(self) -> bool:
        return self._bands_ready()

    @property
    def warm_up_period(self) -> int:
        return self._period

    UpperBand = property(lambda self: self.upper_band)
    MiddleBand = property(lambda self: self.middle_band)
    LowerBand = property(lambda self: self.lower_band)
    BandWidth = property(lambda self: self.band_width)
    PercentB = property(lambda self: self.percent_b)
    StandardDeviation = property(lambda self: self.standard_deviation)
    Price = property(lambda self: self.price)
    MovingAverageType = property(lambda self: self.moving_average_type)


class TrueRange(IndicatorBase):
    """``TrueRange([name])``: the bar's range including the gap from the previous close."""

    takes_bars = True

    def __init__(self, name: str = "TR") -> None:
        super().__init__(name)
        self._previous_close: float | None = None

    def _compute(self, time: Any, payload: Any) -> float | None:
        high, low = float(payload.high), float(payload.low)
        previous = self._previous_close
        self._previous_close = float(payload.close)
        if previous is None:
            return high - low
        return max(high - low, abs(previous - high), abs(previous - low))

    def _reset_state(self) -> None:
        self._previous_close = None

    @property
    def is_ready(self) -> bool:
        return self._samples >= 1

    @property
    def warm_up_period(self) -> int:
        return 1


class AverageTrueRange(IndicatorBase):
    """``AverageTrueRange([name,] period, moving_average_type=MovingAverageType.Wilders)``; bars only."""

    takes_bars = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name, rest = split_name(args, "AverageTrueRange", 1)
        period = check_period(rest[0])
        kind = _moving_average_type(rest, kwargs, 1, MovingAverageType.WILDERS)
        name = name or f"ATR({period})"
        super().__init__(name)
        self._period = period
        self.moving_average_type = kind
        self.true_range = TrueRange(name)
        self._smoother = moving_average(kind, f"{name}_{lean_type_name(kind)}", period)

    def _compute(self, time: Any, payload: Any) -> float | None:
        self.true_range._push(time, payload)
        self._smoother._push(time, self.true_range._value)
        return self._smoother._value

    def _reset_state(self) -> None:
        self.true_range.reset()
        self._smoother.reset()

    @property
    def is_ready(self) -> bool:
        return self._smoother.is_ready

    @property
    def warm_up_period(self) -> int:
        return self._period

    TrueRange = property(lambda self: self.true_range)
    MovingAverageType = property(lambda self: self.moving_average_type)
