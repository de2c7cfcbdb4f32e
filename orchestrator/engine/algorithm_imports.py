"""The ``AlgorithmImports`` namespace: what ``from AlgorithmImports import *`` gives an algorithm.

Mirrors the names QuantConnect algorithms and research notebooks use: the algorithm base class, enums,
data types, orders, indicators, ``RollingWindow``, ``QuantBook``, and the usual numpy/pandas/datetime
imports. Outside the engine, ``from orchestrator.engine.algorithm_imports import *`` gives the same.
"""

# ruff: noqa: F401
from __future__ import annotations

import json
import math
from datetime import date, datetime, time, timedelta  # as LEAN's AlgorithmImports (time is datetime.time)
from typing import (  # noqa: UP035 - LEAN's AlgorithmImports does `from typing import *`
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

import numpy as np
import pandas as pd

from orchestrator.engine.algorithm import QCAlgorithm
from orchestrator.engine.charts import Chart, ChartType, Series, SeriesType
from orchestrator.engine.data import (
    Bar,
    Dividend,
    Dividends,
    QuoteBar,
    QuoteBars,
    Slice,
    Split,
    Splits,
    SplitType,
    TradeBar,
    TradeBars,
)
from orchestrator.engine.enums import (
    AccountType,
    BrokerageName,
    DataNormalizationMode,
    DayOfWeek,
    Field,
    Market,
    OrderDirection,
    OrderStatus,
    OrderType,
    Resolution,
    SecurityType,
    TimeInForce,
)
from orchestrator.engine.fees import ConstantFeeModel, InteractiveBrokersFeeModel
from orchestrator.engine.indicators import (
    AverageTrueRange,
    BollingerBands,
    ExponentialMovingAverage,
    Identity,
    Indicator,
    IndicatorBase,
    IndicatorDataPoint,
    IndicatorEvent,
    Maximum,
    Minimum,
    Momentum,
    MomentumPercent,
    MovingAverageConvergenceDivergence,
    MovingAverageType,
    PythonIndicator,
    RateOfChange,
    RateOfChangePercent,
    RelativeStrengthIndex,
    SimpleMovingAverage,
    StandardDeviation,
    TrueRange,
    Variance,
    WilderMovingAverage,
)
from orchestrator.engine.orders import (
    Order,
    OrderEvent,
    OrderField,
    OrderProperties,
    OrderTicket,
    UpdateOrderFields,
)
from orchestrator.engine.quantbook import QuantBook
from orchestrator.engine.rolling import RollingWindow
from orchestrator.engine.securities import SecurityChanges
from orchestrator.engine.symbols import SecurityIdentifier, Symbol
from orchestrator.engine.trading import PortfolioTarget


def Action(callback: Any) -> Any:
    """``Action(self.rebalance)`` from older QuantConnect code: the callback itself."""
    return callback


# QuantConnect's Python API accepts these older names too
QCAlgorithmFramework = QCAlgorithm
QCAlgorithmFrameworkBridge = QCAlgorithm
DateTime = datetime
TimeSpan = timedelta

__all__ = [name for name in dir() if not name.startswith("_") and name not in ("annotations",)]
