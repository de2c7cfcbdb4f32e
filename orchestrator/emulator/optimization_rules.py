"""The cloud optimizer's rules and numbers (``reference/qc-api.md`` §3.6), free of state and HTTP.

- Only grid search: ``QuantConnect.Optimizer.Strategies.GridSearchOptimizationStrategy``.
- Node types and their limits, as the ``lean`` CLI copies them from the web UI: ``O2-8`` at most 24
  parallel nodes at $0.15 per node-hour, ``O4-12`` at most 12 at $0.30, ``O8-16`` at most 6 at $0.60.
- At most 2 optimized parameters ("You can optimize up to 2 parameters in the cloud").
- Grid size ``prod(round((max - min) / step) + 1)``.
- Targets: the four ``TotalPerformance.PortfolioStatistics.*`` the spec enumerates.
- Each grid backtest's ``statistics`` is a positional array of 21 numbers, the summary statistics with
  ``%`` and currency stripped, in the order below (shared by the spec, LEAN and the ``lean`` CLI).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

GRID_SEARCH = "QuantConnect.Optimizer.Strategies.GridSearchOptimizationStrategy"
MAX_PARAMETERS = 2


@dataclass(frozen=True)
class NodeType:
    name: str
    max_parallel: int
    usd_per_hour: float


NODE_TYPES: dict[str, NodeType] = {
    "O2-8": NodeType("O2-8", 24, 0.15),
    "O4-12": NodeType("O4-12", 12, 0.30),
    "O8-16": NodeType("O8-16", 6, 0.60),
}

# target -> the key in totalPerformance.portfolioStatistics
TARGETS: dict[str, str] = {
    "TotalPerformance.PortfolioStatistics.SharpeRatio": "sharpeRatio",
    "TotalPerformance.PortfolioStatistics.CompoundingAnnualReturn": "compoundingAnnualReturn",
    "TotalPerformance.PortfolioStatistics.ProbabilisticSharpeRatio": "probabilisticSharpeRatio",
    "TotalPerformance.PortfolioStatistics.Drawdown": "drawdown",
}

def portfolio_key(target: str) -> str:
    """``TotalPerformance.PortfolioStatistics.SharpeRatio`` -> ``sharpeRatio`` (the key in a result's
    ``totalPerformance.portfolioStatistics``); constraints may name any portfolio statistic."""
    last = target.rsplit(".", 1)[-1]
    return TARGETS.get(target) or (last[:1].lower() + last[1:])


CONSTRAINT_OPERATORS = ("Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Equals", "NotEqual")

# index in the positional array -> the summary statistic it is read from
POSITIONAL_STATISTICS: tuple[str, ...] = (
    "Alpha",                        # 0
    "Annual Standard Deviation",    # 1
    "Annual Variance",              # 2
    "Average Loss",                 # 3
    "Average Win",                  # 4
    "Beta",                         # 5
    "Compounding Annual Return",    # 6
    "Drawdown",                     # 7
    "Estimated Strategy Capacity",  # 8
    "Expectancy",                   # 9
    "Information Ratio",            # 10
    "Loss Rate",                    # 11
    "Net Profit",                   # 12
    "Probabilistic Sharpe Ratio",   # 13
    "Profit-Loss Ratio",            # 14
    "Sharpe Ratio",                 # 15
    "Total Fees",                   # 16
    "Total Orders",                 # 17
    "Tracking Error",               # 18
    "Treynor Ratio",                # 19
    "Win Rate",                     # 20
)

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def statistic_number(text: object) -> float:
    """'30.084%' -> 30.084, '$2.06' -> 2.06, '-$1,234.50' -> -1234.5, '' -> 0.0."""
    if isinstance(text, int | float):
        return float(text)
    raw = str(text or "").replace(",", "")
    negative = raw.strip().startswith("-")
    match = _NUMBER.search(raw.replace("-", "", 1) if negative else raw)
    if match is None:
        return 0.0
    value = float(match.group(0))
    return -value if negative else value


def positional_statistics(statistics: Mapping[str, Any]) -> list[float]:
    return [statistic_number(statistics.get(key, "")) for key in POSITIONAL_STATISTICS]


def grid_values(minimum: float, maximum: float, step: float) -> list[float]:
    """The values of one parameter: ``round((max - min) / step) + 1`` points from min by step.

    Decimal arithmetic keeps 0.1 + 0.2 from becoming 0.30000000000000004 in a parameter value.
    """
    count = round((maximum - minimum) / step) + 1
    low, width = Decimal(repr(minimum)), Decimal(repr(step))
    return [float(low + width * i) for i in range(max(count, 0))]


def grid_size(parameters: Sequence[tuple[float, float, float]]) -> int:
    return math.prod(round((hi - lo) / step) + 1 for lo, hi, step in parameters)


def grid_points(names: Sequence[str], ranges: Sequence[tuple[float, float, float]]) -> list[dict[str, str]]:
    """Every combination, as the string values ``get_parameter`` returns (integers without '.0')."""
    axes = [grid_values(*r) for r in ranges]
    points = []
    for combo in itertools.product(*axes):
        points.append({name: format_value(value) for name, value in zip(names, combo, strict=True)})
    return points


def format_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Estimate:
    backtests: int
    seconds: int
    usd: float

    @property
    def qcc(self) -> int:
        """QuantConnect Credit, at 100 QCC per US dollar (an assumption: the docs do not say)."""
        return math.ceil(self.usd * 100)


def estimate(points: int, node: NodeType, parallel: int, seconds_per_backtest: float) -> Estimate:
    """Wall time with ``parallel`` nodes, and cost = node price x node-hours actually used."""
    batches = math.ceil(points / max(parallel, 1))
    wall = math.ceil(batches * seconds_per_backtest)
    node_hours = points * seconds_per_backtest / 3600.0
    return Estimate(points, wall, round(node_hours * node.usd_per_hour, 4))


def constraint_holds(operator: str, value: float, target: float) -> bool:
    op = operator.lower()
    return {
        "less": value < target, "lessorequal": value <= target, "greater": value > target,
        "greaterorequal": value >= target, "equals": value == target, "notequal": value != target,
    }[op]


def normalize_operator(operator: str) -> str | None:
    """Any case of the enum names; lowercase 'greater' from the docs examples included."""
    lookup = {name.lower(): name for name in CONSTRAINT_OPERATORS}
    return lookup.get(operator.replace("-", "").replace("_", "").lower())
