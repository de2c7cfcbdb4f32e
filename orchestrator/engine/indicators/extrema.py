"""Maximum and Minimum over a window, with how many periods ago the extreme occurred.

LEAN semantics (``Indicators/Maximum.cs``, ``Minimum.cs``): the extreme of the last
``min(samples, n)`` inputs; on ties the most recent occurrence counts (``periods_since_maximum`` is
its age, 0 for the current input). Ready after n inputs.

A monotonic deque gives O(1) amortised updates where LEAN rescans the window.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from orchestrator.engine.indicators.averages import _PeriodIndicator
from orchestrator.engine.indicators.base import check_period, split_name


class _Extreme(_PeriodIndicator):
    _prefix = "EXT"
    _sign = 1.0  # +1 tracks the maximum, −1 the minimum (by comparing sign·x)

    def __init__(self, *args: Any) -> None:
        name, (period, *_) = split_name(args, type(self).__name__, 1)
        period = check_period(period)
        super().__init__(name or f"{self._prefix}({period})", period)
        # (sample index, value), values strictly decreasing in sign·x from front to back, so the
        # front is the extreme and, among equal values, only the newest is kept
        self._candidates: deque[tuple[int, float]] = deque()
        self._periods_since = 0

    def _compute(self, time: Any, payload: Any) -> float | None:
        index = self._samples
        candidates = self._candidates
        key = self._sign * payload
        while candidates and self._sign * candidates[-1][1] <= key:
            candidates.pop()
        candidates.append((index, payload))
        if candidates[0][0] <= index - self._period:
            candidates.popleft()
        front_index, front_value = candidates[0]
        self._periods_since = index - front_index
        return front_value

    def _reset_state(self) -> None:
        self._candidates.clear()
        self._periods_since = 0


class Maximum(_Extreme):
    """``Maximum([name,] period)`` with ``periods_since_maximum``."""

    _prefix = "MAX"
    _sign = 1.0

    @property
    def periods_since_maximum(self) -> int:
        return self._periods_since

    PeriodsSinceMaximum = property(lambda self: self.periods_since_maximum)


class Minimum(_Extreme):
    """``Minimum([name,] period)`` with ``periods_since_minimum``."""

    _prefix = "MIN"
    _sign = -1.0

    @property
    def periods_since_minimum(self) -> int:
        return self._periods_since

    PeriodsSinceMinimum = property(lambda self: self.periods_since_minimum)
