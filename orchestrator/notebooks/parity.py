"""Parity: do a notebook's figures at the baseline parameters agree with the baseline backtest?

DESIGN.md §4: a sweep or walk-forward notebook evaluates the same ``class Signal`` as the algorithm, with
a simulator that copies what moves a LEAN daily backtest's numbers. If its figures at the baseline
parameters disagree with the baseline backtest, the two are not evaluating the same thing (drifted
code, other data, another period) and the hypothesis is flagged.

Both sides are measured with one convention (records.py): the backtest's equity at each trading day's
close (``baseline_data.daily_equity``), simple daily returns, Sharpe x sqrt(252) with rf = 0.

Default tolerances (``ParityTolerance``), and why they are not zero: the simulator and the engine share
the rules but not every path. (1) LEAN values the fee cap at the fill day's close and sizes orders with
``security.price``; the simulator does the same, but any difference in the data a bar sees (fill-forward
bars, a dividend-only slice that reaches ``on_data`` at 00:00, the bar count LEAN replays for
``set_warm_up``) can move one order by a share or a day. (2) One trade shifted by a day on daily data
changes the total return by up to about one day's move of the position (~1-3 % for an index ETF) and the
annual Sharpe by a few hundredths over years of data. So: total return within 2 percentage points plus
2 % of its size, annual Sharpe within 0.10, max drawdown within 2 percentage points, and order counts
within 10 % (at least 2). A mismatch beyond that is not noise; it is a different strategy or data.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from orchestrator import stats
from orchestrator.notebooks.baseline_data import BaselineData
from orchestrator.notebooks.records import Figures

PERIODS_PER_YEAR = 252


@dataclass(frozen=True)
class ParityTolerance:
    total_return_abs: float = 0.02
    total_return_rel: float = 0.02
    sharpe_abs: float = 0.10
    max_drawdown_abs: float = 0.02
    orders_rel: float = 0.10
    orders_min: int = 2


@dataclass(frozen=True)
class BacktestSide:
    total_return: float
    sharpe: float | None
    max_drawdown: float
    orders: int | None
    days: int


@dataclass(frozen=True)
class ParityCheck:
    ok: bool
    notebook: Figures
    backtest: BacktestSide
    problems: list[str]

    @property
    def message(self) -> str:
        if self.ok:
            return (f"parity holds: notebook total return {self.notebook.total_return:.2%} vs backtest "
                    f"{self.backtest.total_return:.2%}, Sharpe {_fmt(self.notebook.sharpe)} vs "
                    f"{_fmt(self.backtest.sharpe)}")
        return ("the notebook's figures at the baseline parameters disagree with the baseline backtest ("
                + "; ".join(self.problems) + "): the notebook and the algorithm may not evaluate the same "
                "strategy or data -- check that both were rendered from the same templates and data folder")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _orders(statistics: Mapping[str, str]) -> int | None:
    text = str(statistics.get("Total Orders", "")).replace(",", "").strip()
    return int(text) if text.isdigit() else None


def backtest_side(result: Mapping[str, Any], *, start: date) -> BacktestSide:
    """The backtest's figures in the notebook's convention (records.py)."""
    data = BaselineData.from_cloud(result, start=start)
    levels = [data.starting_cash, *data.equity]
    returns = [b / a - 1.0 for a, b in itertools.pairwise(levels)]
    try:
        sharpe: float | None = stats.sharpe_ratio(returns, PERIODS_PER_YEAR)
    except stats.StatsInputError:
        sharpe = None
    peak, drawdown = levels[0], 0.0
    for level in levels:
        peak = max(peak, level)
        drawdown = max(drawdown, 1.0 - level / peak)
    return BacktestSide(total_return=levels[-1] / levels[0] - 1.0, sharpe=sharpe, max_drawdown=drawdown,
                        orders=_orders(data.statistics), days=len(data.equity))


def check_parity(notebook: Figures, backtest_result: Mapping[str, Any], *, start: date,
                 tolerance: ParityTolerance | None = None) -> ParityCheck:
    """Compare a record's ``baseline`` figures with the baseline backtest's result (cloud shape)."""
    limits = tolerance or ParityTolerance()
    side = backtest_side(backtest_result, start=start)
    problems = []
    return_gap = abs(notebook.total_return - side.total_return)
    if return_gap > limits.total_return_abs + limits.total_return_rel * abs(side.total_return):
        problems.append(f"total return {notebook.total_return:.2%} vs {side.total_return:.2%}")
    if (notebook.sharpe is None) != (side.sharpe is None) or (
            notebook.sharpe is not None and side.sharpe is not None
            and abs(notebook.sharpe - side.sharpe) > limits.sharpe_abs):
        problems.append(f"Sharpe {_fmt(notebook.sharpe)} vs {_fmt(side.sharpe)}")
    if abs(notebook.max_drawdown - side.max_drawdown) > limits.max_drawdown_abs:
        problems.append(f"max drawdown {notebook.max_drawdown:.2%} vs {side.max_drawdown:.2%}")
    if side.orders is not None:
        allowed = max(limits.orders_min, math.ceil(limits.orders_rel * side.orders))
        if abs(notebook.orders - side.orders) > allowed:
            problems.append(f"{notebook.orders} orders vs {side.orders}")
    return ParityCheck(ok=not problems, notebook=notebook, backtest=side, problems=problems)
