"""QuantConnect/LEAN indicators, written for qcloop's embedded engine (no pandas, O(1) updates).

Every indicator has LEAN's constructors (``SimpleMovingAverage(period)`` and
``SimpleMovingAverage(name, period)``), ``update(time, value)`` / ``update(bar_or_point)`` returning
``is_ready``, ``current.value``, ``samples``, ``warm_up_period``, ``reset()``, the ``updated`` event and
PascalCase aliases. The module docstrings state each indicator's exact start-up behaviour.
"""

from orchestrator.engine.indicators.averages import (
    ExponentialMovingAverage,
    SimpleMovingAverage,
    WilderMovingAverage,
    moving_average,
)
from orchestrator.engine.indicators.base import (
    Identity,
    Indicator,
    IndicatorBase,
    IndicatorDataPoint,
    IndicatorEvent,
    MovingAverageType,
    PythonIndicator,
)
from orchestrator.engine.indicators.extrema import Maximum, Minimum
from orchestrator.engine.indicators.oscillators import (
    Momentum,
    MomentumPercent,
    MovingAverageConvergenceDivergence,
    RateOfChange,
    RateOfChangePercent,
    RelativeStrengthIndex,
)
from orchestrator.engine.indicators.volatility import (
    AverageTrueRange,
    BollingerBands,
    StandardDeviation,
    TrueRange,
    Variance,
)

__all__ = [
    "AverageTrueRange",
    "BollingerBands",
    "ExponentialMovingAverage",
    "Identity",
    "Indicator",
    "IndicatorBase",
    "IndicatorDataPoint",
    "IndicatorEvent",
    "Maximum",
    "Minimum",
    "Momentum",
    "MomentumPercent",
    "MovingAverageConvergenceDivergence",
    "MovingAverageType",
    "PythonIndicator",
    "RateOfChange",
    "RateOfChangePercent",
    "RelativeStrengthIndex",
    "SimpleMovingAverage",
    "StandardDeviation",
    "TrueRange",
    "Variance",
    "WilderMovingAverage",
    "moving_average",
]
