"""Every family's generated algorithm runs on the embedded engine, on LEAN's sample data and on
synthetic data, and trades (no template may never place an order)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from orchestrator.hypotheses import HypothesisSpec
from orchestrator.strategies import FamilyRegistry, render_strategy

FAMILIES = ["bollinger_reversion", "dual_momentum", "ma_crossover", "macd_trend", "momentum_breakout",
            "rsi_reversion", "ts_momentum", "vol_target_trend"]
# LEAN's sample data has no TLT or GLD: ts_momentum runs there on the four ETFs the sample has.
LEAN_SAMPLE_UNIVERSE = {"ts_momentum": ["SPY", "QQQ", "IWM", "EEM"]}
# Statistics every result must carry (LEAN's key names).
KEYS = ("Total Orders", "Sharpe Ratio", "Compounding Annual Return", "Drawdown", "Net Profit")


def backtest(family: str, registry: FamilyRegistry, data: Path, folder: Path, *, start: dt.date,
             end: dt.date, universe: list[str] | None = None) -> dict[str, Any]:
    from orchestrator.engine import run_backtest

    schema = registry.get(family).schema
    spec = HypothesisSpec(id="H-900", title=f"{family} on the engine", rationale="A test.", template=family,
                          universe=universe or schema.default_universe, start=start, end=end, resolution="daily")
    rendered_files = render_strategy(spec, registry).write(folder)
    result = run_backtest(rendered_files[0], data_folder=data)
    cloud: dict[str, Any] = result.to_cloud()
    assert result.error is None, f"{family}: {result.error}\n{result.stacktrace}"
    assert cloud["status"] == "Completed."
    assert all(key in cloud["statistics"] for key in KEYS)
    return cloud


def orders(cloud: dict[str, Any]) -> int:
    return int(cloud["statistics"]["Total Orders"])


@pytest.mark.lean_data
@pytest.mark.parametrize("family", FAMILIES)
def test_runs_and_trades_on_lean_sample_data(family: str, registry: FamilyRegistry, lean_data: Path,
                                             tmp_path: Path) -> None:
    # 2011-06..2013: a sharp fall (August 2011) and a recovery, so entry and exit rules fire. (The sample
    # data has no QQQ bars from 2004-12 to 2011-03, when the ticker was QQQQ, so earlier windows would
    # leave dual_momentum without one of its ETFs.)
    cloud = backtest(family, registry, lean_data, tmp_path, start=dt.date(2011, 6, 1), end=dt.date(2013, 12, 31),
                     universe=LEAN_SAMPLE_UNIVERSE.get(family))
    assert orders(cloud) >= 1
    assert cloud["charts"]["Signal"]["series"], "the signal's values are plotted"


@pytest.mark.parametrize("family", FAMILIES)
def test_runs_and_trades_on_synthetic_data(family: str, registry: FamilyRegistry, synthetic_data: Path,
                                           tmp_path: Path) -> None:
    cloud = backtest(family, registry, synthetic_data, tmp_path, start=dt.date(2012, 1, 1), end=dt.date(2014, 12, 31))
    assert orders(cloud) >= 1


@pytest.mark.slow
@pytest.mark.lean_data
@pytest.mark.parametrize("family", FAMILIES)
def test_full_period_on_lean_sample_data(family: str, registry: FamilyRegistry, lean_data: Path,
                                         tmp_path: Path) -> None:
    """The done-when run: 2004-2020 on SPY (or the ETF set), daily."""
    cloud = backtest(family, registry, lean_data, tmp_path, start=dt.date(2004, 1, 1), end=dt.date(2020, 12, 31),
                     universe=LEAN_SAMPLE_UNIVERSE.get(family))
    assert orders(cloud) >= 4


@pytest.mark.lean_data
@pytest.mark.parametrize("family", ["ma_crossover", "rsi_reversion"])
def test_the_algorithm_trades_exactly_when_the_signal_says(family: str, registry: FamilyRegistry, lean_data: Path,
                                                           tmp_path: Path) -> None:
    """One source of strategy logic: the Signal run by hand over QuantBook history (as a notebook runs it)
    changes its target on exactly the days the algorithm places its orders."""
    from orchestrator.engine.enums import Resolution
    from orchestrator.engine.quantbook import QuantBook

    from .test_signals import order_days, signal_class, signal_order_days

    start, end = dt.date(2006, 1, 1), dt.date(2012, 12, 31)
    cloud = backtest(family, registry, lean_data, tmp_path, start=start, end=end)
    qb = QuantBook(lean_data)
    spy = qb.add_equity("SPY", Resolution.DAILY).symbol
    history = qb.history(spy, dt.datetime(2004, 1, 1), dt.datetime(2012, 12, 31, 23), Resolution.DAILY)
    signal = signal_class(family, registry)(["SPY"], registry.get(family).schema.default_parameters())
    expected = signal_order_days(signal, history, start)
    assert len(expected) >= 4
    assert order_days(cloud) == expected
