"""Momentum-type indicators: RSI, MACD, Momentum, RateOfChange, RateOfChangePercent, MomentumPercent.

LEAN semantics (``Indicators/*.cs``):

* ``RelativeStrengthIndex(n, type=Wilders)``: gains and losses of consecutive inputs averaged with
  the moving-average type; ``RSI = 100 − 100/(1 + avg_gain/avg_loss)``, 100 when the average loss
  rounds to 0 at 10 decimals (so the very first value is 100). Ready after n + 1 inputs.
* ``MovingAverageConvergenceDivergence(fast, slow, signal, type=Exponential)``: value = fast MA −
  slow MA from the first input; the signal MA is fed the MACD only once both averages are ready;
  the histogram (MACD − signal) is updated only once the signal is ready. Ready with the signal,
  i.e. after ``slow + signal − 1`` inputs.
* ``Momentum(n)``, ``RateOfChange(n)``, ``RateOfChangePercent(n)``/``MomentumPercent(n)`` compare
  the input with the one n inputs earlier, ``x_t − x_{t−n}``, ``x_t/x_{t−n} − 1`` and
  ``100·(x_t − x_{t−n})/x_{t−n}``; until n + 1 inputs exist they compare with the first input.
  They are ready after n inputs (LEAN's window semantics: at that moment the comparison spans
  n − 1 steps). A zero reference gives 0.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from orchestrator.engine.indicators.averages import _PeriodIndicator, moving_average
from orchestrator.engine.indicators.base import (
    IndicatorBase,
    MovingAverageType,
    _Component,
    check_period,
    split_name,
)


def _moving_average_type(rest: tuple[Any, ...], kwargs: dict[str, Any], index: int,
                         default: MovingAverageType) -> MovingAverageType:
    """The optional moving-average-type argument, positional or by any of its usual keyword names."""
    for key in ("moving_average_type", "movingAverageType", "type"):
        if key in kwargs:
            return _as_type(kwargs.pop(key))
    if kwargs:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
    return _as_type(rest[index]) if len(rest) > index else default


def _as_type(value: Any) -> MovingAverageType:
    return value if isinstance(value, MovingAverageType) else MovingAverageType(int(value))


class RelativeStrengthIndex(IndicatorBase):
    """``RelativeStrengthIndex([name,] period, moving_average_type=MovingAverageType.Wilders)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name, rest = split_name(args, "RelativeStrengthIndex", 1)
        period = check_period(rest[0])
        kind = _moving_average_type(rest, kwargs, 1, MovingAverageType.WILDERS)
        name = name or f"RSI({period})"
        super().__init__(name)
        self._period = period
        self.moving_average_type = kind
        self.average_gain = moving_average(kind, name + "Up", period)
        self.average_loss = moving_average(kind, name + "Down", period)
        self._previous: float | None = None

    def _compute(self, time: Any, payload: Any) -> float | None:
        previous = self._previous
        if previous is not None:
            if payload >= previous:
                self.average_gain._push(time, payload - previous)
                self.average_loss._push(time, 0.0)
            else:
                self.average_gain._push(time, 0.0)
                self.average_loss._push(time, previous - payload)
        self._previous = payload
        # LEAN floors negative averages at 0 (possible with some MA types) and treats a loss that
        # rounds to 0 at 10 decimals as "all up days".
        loss = max(self.average_loss._value, 0.0)
        gain = max(self.average_gain._value, 0.0)
        if round(loss, 10) == 0.0:
            return 100.0
        return 100.0 - 100.0 / (1.0 + gain / loss)

    def _reset_state(self) -> None:
        self._previous = None
        self.average_gain.reset()
        self.average_loss.reset()

    @property
    def is_ready(self) -> bool:
        return self.average_gain.is_ready and self.average_loss.is_ready

    @property
    def warm_up_period(self) -> int:
        return self._period + 1

    AverageGain = property(lambda self: self.average_gain)
    AverageLoss = property(lambda self: self.average_loss)
    MovingAverageType = property(lambda self: self.moving_average_type)


class MovingAverageConvergenceDivergence(IndicatorBase):
    """``MovingAverageConvergenceDivergence([name,] fast, slow, signal, type=Exponential)``.

    ``.fast``, ``.slow``, ``.signal`` and ``.histogram`` are indicators of their own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name, rest = split_name(args, "MovingAverageConvergenceDivergence", 3)
        fast, slow, signal = (check_period(p, what) for p, what in zip(
            rest[:3], ("fast period", "slow period", "signal period"), strict=True))
        if fast >= slow:
            raise ValueError(
                f"MovingAverageConvergenceDivergence: the fast period ({fast}) must be less than the "
                f"slow period ({slow})"
            )
        kind = _moving_average_type(rest, kwargs, 3, MovingAverageType.EXPONENTIAL)
        name = name or f"MACD({fast},{slow},{signal})"
        super().__init__(name)
        self.moving_average_type = kind
        self.fast = moving_average(kind, name + "_Fast", fast)
        self.slow = moving_average(kind, name + "_Slow", slow)
        self.signal = moving_average(kind, name + "_Signal", signal)
        self.histogram: IndicatorBase = _Component(
            name + "_Histogram", lambda: self.histogram._samples > 0, slow + signal - 1)
        self._warm_up = slow + signal - 1

    def _compute(self, time: Any, payload: Any) -> float | None:
        fast, slow, signal = self.fast, self.slow, self.signal
        fast._push(time, payload)
        slow._push(time, payload)
        macd: float = fast._value - slow._value
        if fast.is_ready and slow.is_ready:
            signal._push(time, macd)
            if signal.is_ready:
                self.histogram._push(time, macd - signal._value)
        return macd

    def _reset_state(self) -> None:
        for part in (self.fast, self.slow, self.signal, self.histogram):
            part.reset()

    @property
    def is_ready(self) -> bool:
        return self.signal.is_ready

    @property
    def warm_up_period(self) -> int:
        return self._warm_up

    Fast = property(lambda self: self.fast)
    Slow = property(lambda self: self.slow)
    Signal = property(lambda self: self.signal)
    Histogram = property(lambda self: self.histogram)
    MovingAverageType = property(lambda self: self.moving_average_type)


class _LagIndicator(_PeriodIndicator):
    """Compares each input with the one ``period`` inputs earlier (the first input until then)."""

    _prefix = "LAG"

    def __init__(self, *args: Any) -> None:
        name, (period, *_) = split_name(args, type(self).__name__, 1)
        period = check_period(period)
        super().__init__(name or f"{self._prefix}({period})", period)
        # period + 1 values: the newest and the one `period` steps back; before that the oldest
        # kept value is the very first input, which is what LEAN compares with.
        self._history: deque[float] = deque(maxlen=period + 1)

    def _compute(self, time: Any, payload: Any) -> float | None:
        history = self._history
        history.append(payload)
        return self._compare(payload, history[0])

    def _compare(self, now: float, then: float) -> float:
        raise NotImplementedError

    def _reset_state(self) -> None:
        self._history.clear()


class Momentum(_LagIndicator):
    """``Momentum([name,] period)``: ``x_t − x_{t−n}``."""

    _prefix = "MOM"

    def _compare(self, now: float, then: float) -> float:
        return now - then


class RateOfChange(_LagIndicator):
    """``RateOfChange([name,] period)``: ``(x_t − x_{t−n}) / x_{t−n}`` (0 when the reference is 0)."""

    _prefix = "ROC"

    def _compare(self, now: float, then: float) -> float:
        return (now - then) / then if then != 0 else 0.0


class RateOfChangePercent(_LagIndicator):
    """``RateOfChangePercent([name,] period)``: ``100·(x_t − x_{t−n}) / x_{t−n}``."""

    _prefix = "ROCP"

    def _compare(self, now: float, then: float) -> float:
        return 100.0 * (now - then) / then if then != 0 else 0.0


class MomentumPercent(RateOfChangePercent):
    """``MomentumPercent([name,] period)``: the same as RateOfChangePercent, named ``MOMP(n)``."""

    _prefix = "MOMP"
