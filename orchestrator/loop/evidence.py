"""Turning what platforms and notebooks return into the figures decisions read (models.py).

One convention for every Sharpe ratio the loop compares or counts as a trial, whether it comes from a
backtest or a notebook: simple daily returns of the equity at each close (the first one relative to
the starting cash), zero risk-free rate, per-day mean / standard deviation, times sqrt(252) when
annualized. LEAN's own Sharpe statistic (which subtracts a risk-free rate) is kept for display only;
mixing the two would make parity checks and trial variances compare different things.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator import stats
from orchestrator.cloud.metrics import metrics_from_backtest
from orchestrator.errors import NotebookError
from orchestrator.models import (
    BacktestFigures,
    GridPoint,
    SweepFigures,
    WalkForwardFigures,
    WindowFigures,
)
from orchestrator.notebooks.baseline_data import BaselineData
from orchestrator.notebooks.records import ParameterSweepRecord, WalkForwardRecord
from orchestrator.platforms.base import OptimizationPoint

PERIODS_PER_YEAR = 252


def daily_returns(dates_equity: Sequence[float], starting_cash: float) -> list[float]:
    levels = [starting_cash, *dates_equity]
    return [b / a - 1.0 for a, b in itertools.pairwise(levels) if a > 0]


def figures_from_result(
    result: Mapping[str, Any], *, backtest_id: str | None, parameters: Mapping[str, str],
    window: tuple[dt.date, dt.date] | None = None,
) -> BacktestFigures:
    """The figures of a finished cloud-shaped backtest result (QuantConnect, the emulator or the engine).

    ``window`` (the backtest's start and end) drops LEAN's sample at the start date's midnight, which
    shows the starting cash rather than a close.
    """
    metrics = metrics_from_backtest(result)
    sharpe = metrics.sharpe_ratio if metrics.sharpe_ratio is not None else 0.0
    per_period = skewness = kurtosis = psr = None
    observations = None
    start = end = None
    try:
        data = BaselineData.from_cloud(result, starting_cash=metrics.start_equity,
                                       start=window[0] if window is not None else None)
    except NotebookError:
        data = None
    if data is not None:
        returns = daily_returns(data.equity, data.starting_cash)
        start, end = data.dates[0], data.dates[-1]
        try:
            per_period = stats.sharpe_ratio(returns)
            skewness, kurtosis = stats.sample_moments(returns)
            observations = len(returns)
            sharpe = per_period * math.sqrt(PERIODS_PER_YEAR)
            psr = stats.probabilistic_sharpe_ratio(per_period, 0.0, observations, skewness, kurtosis)
        except stats.StatsInputError:
            sharpe = 0.0  # a flat equity curve (no trade ever made) has no Sharpe ratio: treat it as none
    trades = metrics.closed_trades
    if trades is None:
        trades = (metrics.total_orders or 0) // 2
    round_trip_win_rate = None
    if metrics.closed_trades and metrics.winning_trades is not None:
        round_trip_win_rate = metrics.winning_trades / metrics.closed_trades
    return BacktestFigures(
        backtest_id=backtest_id, sharpe=sharpe, lean_sharpe=metrics.sharpe_ratio, psr=psr,
        cagr=metrics.compounding_annual_return or 0.0, drawdown=abs(metrics.drawdown or 0.0),
        net_profit=metrics.net_profit or 0.0, total_orders=metrics.total_orders or 0, trades=trades,
        trades_estimated=metrics.closed_trades is None,
        win_rate=metrics.win_rate, round_trip_win_rate=round_trip_win_rate,
        annual_std=metrics.annual_standard_deviation,
        sharpe_per_period=per_period, skewness=skewness, kurtosis=kurtosis, observations=observations,
        start=start, end=end, parameters=dict(parameters),
    )



def backtest_warnings(result: Mapping[str, Any]) -> list[str]:
    """The data warnings of a backtest result: the embedded engine's (the local platform records them);
    QuantConnect's own result has none (its logs are read in the web IDE)."""
    warnings = result.get("warnings")
    return [str(w) for w in warnings] if isinstance(warnings, list) else []

# ------------------------------------------------------------------------------------------------
# parameter search


def _key(parameters: Mapping[str, float], names: Sequence[str]) -> tuple[float, ...]:
    return tuple(float(parameters[n]) for n in names)


def neighbourhood_sharpe(points: Sequence[GridPoint], chosen: Mapping[str, float]) -> float | None:
    """Mean Sharpe of the chosen point's grid neighbours (one grid step away along any axes).

    A plateau keeps most of its Sharpe one step away; a spike does not. None when the chosen point has
    no evaluated neighbour (a one-point grid).
    """
    if not points:
        return None
    # The swept axes: parameters every point has, with more than one value (the rest are held fixed).
    names = sorted(n for n in chosen if all(n in p.parameters for p in points)
                   and len({float(p.parameters[n]) for p in points}) > 1)
    if not names:
        return None
    axes = [sorted({float(p.parameters[n]) for p in points}) for n in names]
    try:
        position = [axis.index(float(chosen[n])) for axis, n in zip(axes, names, strict=True)]
    except ValueError:
        return None
    by_key = {_key(p.parameters, names): p.sharpe for p in points if all(n in p.parameters for n in names)}
    values = []
    for point_key, sharpe in by_key.items():
        index = [axis.index(v) for axis, v in zip(axes, point_key, strict=True)]
        distance = max(abs(a - b) for a, b in zip(index, position, strict=True))
        if distance == 1:
            values.append(sharpe)
    return sum(values) / len(values) if values else None


def sweep_from_record(record: ParameterSweepRecord, record_path: str) -> SweepFigures:
    """The sweep notebook's result: every evaluated point, the robust (plateau) choice, parity figures."""
    points = [
        GridPoint(parameters={k: float(v) for k, v in p.parameters.items()}, sharpe=p.sharpe,
                  total_return=p.total_return, drawdown=p.max_drawdown)
        for p in record.points if not p.excluded and p.sharpe is not None and math.isfinite(p.sharpe)
    ]
    if not points or record.robust_parameters is None:
        raise NotebookError(
            f"the sweep record {record_path} has no evaluated grid point",
            hint="check the notebook's warnings: the grid may break the family's constraints everywhere",
        )
    chosen = {k: float(v) for k, v in record.robust_parameters.items()}
    chosen_sharpe = record.robust.sharpe if record.robust is not None and record.robust.sharpe is not None else 0.0
    return SweepFigures(
        source="notebook", points=points, chosen=chosen, chosen_sharpe=chosen_sharpe,
        best_sharpe=max(p.sharpe for p in points), plateau_sharpe=neighbourhood_sharpe(points, chosen),
        baseline_sharpe=record.baseline.sharpe, baseline_total_return=record.baseline.total_return,
        record_path=record_path,
    )


def sweep_from_optimization(points: Sequence[OptimizationPoint], swept: Sequence[str]) -> SweepFigures:
    """A cloud optimization's grid, with the plateau chosen here (the service picks the single best)."""
    grid = [GridPoint(parameters={k: float(v) for k, v in p.parameters.items() if k in swept}, sharpe=p.sharpe,
                      trades=p.trades, total_return=p.total_return, drawdown=p.drawdown) for p in points]
    if not grid:
        raise NotebookError("the optimization finished without a successful backtest",
                            hint="look at the optimization in QuantConnect, then `qcloop retry`")

    def plateau_score(point: GridPoint) -> float:
        around = neighbourhood_sharpe(grid, point.parameters)
        return point.sharpe if around is None else (point.sharpe + around) / 2

    chosen = max(grid, key=lambda p: (plateau_score(p), p.sharpe))
    return SweepFigures(
        source="optimization", points=grid, chosen=chosen.parameters, chosen_sharpe=chosen.sharpe,
        best_sharpe=max(p.sharpe for p in grid), plateau_sharpe=neighbourhood_sharpe(grid, chosen.parameters),
    )


def walk_forward_from_record(record: WalkForwardRecord, record_path: str) -> WalkForwardFigures:
    windows = []
    for w in record.windows:
        if w.in_sample_figures is None or w.out_of_sample_figures is None:
            continue
        windows.append(WindowFigures(
            in_sample_start=w.in_sample.start, in_sample_end=w.in_sample.end,
            out_of_sample_start=w.out_of_sample.start, out_of_sample_end=w.out_of_sample.end,
            chosen={k: float(v) for k, v in (w.chosen_parameters or {}).items()},
            in_sample_sharpe=w.in_sample_figures.sharpe or 0.0,
            out_of_sample_sharpe=w.out_of_sample_figures.sharpe or 0.0,
        ))
    if not windows:
        raise NotebookError(
            f"the walk-forward record {record_path} has no complete window",
            hint="the period may be too short for the window lengths; lengthen it or shorten the windows",
        )
    in_sample = sum(w.in_sample_sharpe for w in windows) / len(windows)
    oos = record.out_of_sample.sharpe
    return WalkForwardFigures(
        windows=windows, in_sample_sharpe=in_sample,
        out_of_sample_sharpe=oos if oos is not None else sum(w.out_of_sample_sharpe for w in windows) / len(windows),
        efficiency=record.walk_forward_efficiency, baseline_sharpe=record.baseline.sharpe,
        baseline_total_return=record.baseline.total_return, record_path=record_path,
    )
