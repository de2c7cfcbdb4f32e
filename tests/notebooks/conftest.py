"""Fixtures for the research-notebook tests: specs of every kind, the notebooks' shared code loaded the
way a notebook loads it (one namespace, cells in order), and hand-run notebooks for classification."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import nbformat
import pytest

from orchestrator.notebooks import (
    RESULT_LINE_PREFIX,
    RESULT_MIME_TYPE,
    BaselineReviewSpec,
    ParameterSweepSpec,
    StrategySource,
    WalkForwardSpec,
)
from orchestrator.notebooks.baseline_data import BaselineData
from orchestrator.notebooks.render import RenderedNotebook, render_notebook

REPO_ROOT = Path(__file__).resolve().parents[2]
LIB = REPO_ROOT / "templates" / "notebooks" / "_lib"
STATS = REPO_ROOT / "orchestrator" / "stats.py"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NONCE_A = "a" * 32
NONCE_B = "b" * 32


def notebook_namespace() -> dict[str, Any]:
    """stats.py, simulate.py, research.py and record.py executed into one namespace, in the order the
    notebooks run them, so that unit tests call exactly the code a notebook runs."""
    namespace: dict[str, Any] = {"__name__": "qcloop_notebook"}
    for path in (STATS, LIB / "simulate.py", LIB / "research.py", LIB / "record.py"):
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec", dont_inherit=True)
        exec(code, namespace)
    return namespace


@pytest.fixture(scope="session")
def lib() -> dict[str, Any]:
    return notebook_namespace()


@pytest.fixture(scope="session")
def ma_signal() -> StrategySource:
    """The real ma_crossover family's Signal source, as the algorithm embeds it."""
    from orchestrator.strategies import load_registry, render_signal_source

    registry = load_registry()
    return StrategySource(family="ma_crossover", signal_source=render_signal_source("ma_crossover",
                                                                                    registry=registry),
                          code_hash="c" * 64)


def sweep_spec(strategy: StrategySource, **overrides: Any) -> ParameterSweepSpec:
    fields: dict[str, Any] = {
        "hypothesis_id": "H-900", "stage": "optimize", "tickers": ["SPY"], "start": date(2011, 1, 3),
        "end": date(2012, 12, 31), "cash": 100_000.0, "strategy": strategy,
        "baseline_parameters": {"fast": 20, "slow": 60}, "grid": {"fast": [10, 20, 30], "slow": [40, 60]},
        "constraints": ["fast < slow"],
    }
    return ParameterSweepSpec(**{**fields, **overrides})


def walk_forward_spec(strategy: StrategySource, **overrides: Any) -> WalkForwardSpec:
    fields: dict[str, Any] = {
        "hypothesis_id": "H-901", "stage": "validate", "tickers": ["SPY"], "start": date(2010, 1, 4),
        "end": date(2012, 12, 31), "cash": 100_000.0, "strategy": strategy,
        "baseline_parameters": {"fast": 20, "slow": 60}, "grid": {"fast": [10, 20], "slow": [40, 60]},
        "constraints": ["fast < slow"], "in_sample_months": 12, "out_of_sample_months": 6,
        "holdout_months": 6, "prior_trials": 3,
    }
    return WalkForwardSpec(**{**fields, **overrides})


def cloud_result(days: list[date], equity: list[float], *, cash: float = 100_000.0,
                 benchmark: list[float] | None = None) -> dict[str, Any]:
    """A minimal cloud-shaped backtest result with LEAN's sampling: a point at 00:00 New York time
    after each session (the previous close), as unix seconds, candlestick [t, o, h, l, c]."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    new_york = ZoneInfo("America/New_York")

    def stamp(day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=new_york).timestamp())

    start_point = [stamp(days[0]), cash, cash, cash, cash]
    points = [start_point] + [[stamp(d + timedelta(days=1)), v, v, v, v] for d, v in zip(days, equity, strict=True)]
    bench = benchmark or [100.0 + i for i in range(len(days))]
    bench_points = [[stamp(d + timedelta(days=1)), b] for d, b in zip(days, bench, strict=True)]
    return {
        "backtestId": "bt-1", "name": "baseline", "status": "Completed.",
        "statistics": {"Start Equity": f"{cash:.0f}", "Total Orders": "4", "Total Fees": "$4.00",
                       "Net Profit": f"{100 * (equity[-1] / cash - 1):.3f}%", "Sharpe Ratio": "0.5"},
        "charts": {"Strategy Equity": {"series": {"Equity": {"values": points}}},
                   "Benchmark": {"series": {"Benchmark": {"values": bench_points}}}},
        "totalPerformance": {"closedTrades": [
            {"symbol": {"value": "SPY", "id": "SPY R735QTJ8XC9X"}, "entryTime": "2011-01-04T14:30:00Z",
             "exitTime": "2011-02-01T14:30:00Z", "entryPrice": 100.0, "exitPrice": 104.0, "quantity": 10,
             "profitLoss": 38.0, "totalFees": 2.0},
            {"symbol": "SPY", "entryTime": "2011-03-01T14:30:00Z", "exitTime": "2011-03-15T14:30:00Z",
             "entryPrice": 104.0, "exitPrice": 101.0, "quantity": 10, "profitLoss": -32.0, "totalFees": 2.0},
        ]},
    }


def weekdays(start: date, count: int) -> list[date]:
    from datetime import timedelta

    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def baseline_spec(**overrides: Any) -> BaselineReviewSpec:
    days = weekdays(date(2011, 1, 3), 60)
    equity = [100_000.0 * (1.0 + 0.001 * ((i * 7) % 5 - 2)) * (1.0 + 0.0005 * i) for i in range(len(days))]
    data = BaselineData.from_cloud(cloud_result(days, equity), start=days[0])
    fields: dict[str, Any] = {
        "hypothesis_id": "H-902", "stage": "baseline", "tickers": ["SPY"], "start": days[0], "end": days[-1],
        "strategy_code_hash": "d" * 64, "backtest": data, "baseline_parameters": {"fast": 20, "slow": 60},
    }
    return BaselineReviewSpec(**{**fields, **overrides})


# --- hand-run notebooks (no kernel): what a person's Run All would leave in the file -------------------


def figures_dict(**overrides: Any) -> dict[str, Any]:
    base = {"start": "2011-01-03", "end": "2012-12-31", "days": 502, "total_return": 0.1, "cagr": 0.05,
            "sharpe": 0.8, "sharpe_per_period": 0.05, "volatility": 0.12, "max_drawdown": 0.08,
            "orders": 6, "trades": 3, "win_rate": 0.66, "fees": 6.0, "final_equity": 110_000.0}
    return {**base, **overrides}


def sweep_record(rendered: RenderedNotebook, **overrides: Any) -> dict[str, Any]:
    """A valid parameter-sweep record for ``rendered`` (the figures are arbitrary but well-formed)."""
    p = rendered.provenance
    record = {
        "schema_version": 1, "kind": "parameter_sweep", "nonce": p.nonce, "provenance_hash": p.provenance_hash,
        "hypothesis_id": p.hypothesis_id, "stage": p.stage, "strategy_code_hash": p.strategy_code_hash,
        "qcloop_version": p.qcloop_version, "executed_at": "2024-01-01T00:00:00+00:00",
        "data": {"source": "lean", "label": "LEAN data", "synthetic": False, "tickers": ["SPY"],
                 "first_date": "2011-01-03", "last_date": "2012-12-31"},
        "baseline_parameters": {"fast": 20, "slow": 60}, "baseline": figures_dict(), "warnings": [],
        "settings": {"target_metric": "sharpe", "sweep_parameters": ["fast", "slow"],
                     "grid": {"fast": [10, 20], "slow": [40, 60]}, "relative_tolerance": 0.1,
                     "absolute_tolerance": 0.05},
        "points": [{"parameters": {"fast": 10, "slow": 40}, "excluded": False, "metric": 0.8, "sharpe": 0.8,
                    "total_return": 0.1, "max_drawdown": 0.08, "orders": 6}],
        "n_trials": 1, "trials_sharpe_variance": None,
        "plateau": {"best_parameters": {"fast": 10, "slow": 40}, "best_metric": 0.8, "tolerance": 0.08,
                    "threshold": 0.72, "members": [{"fast": 10, "slow": 40}], "size": 1, "fraction": 1.0},
        "robust_parameters": {"fast": 10, "slow": 40}, "robust": figures_dict(),
    }
    return {**record, **overrides}


def run_by_hand(rendered: RenderedNotebook, record: dict[str, Any] | None = None, *,
                rich: bool = True, line: bool = True) -> dict[str, Any]:
    """The rendered notebook as if Run All had succeeded: execution counts 1..n, a stream output in
    every code cell, and the record (MIME bundle and/or fallback line) in the result cell."""
    notebook = copy.deepcopy(rendered.notebook)
    count = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"cell {count} ran\n")]
        if "qcloop-result" in cell.metadata.get("tags", []):
            text = json.dumps(record if record is not None else sweep_record(rendered), sort_keys=True)
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Result record saved.\n")]
            if rich:
                cell.outputs.append(nbformat.v4.new_output(
                    "display_data", data={RESULT_MIME_TYPE: json.loads(text), "text/plain": RESULT_LINE_PREFIX + text}))
            if line:
                cell.outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                           text=RESULT_LINE_PREFIX + text + "\n"))
    return json.loads(nbformat.writes(notebook))


@pytest.fixture
def rendered_sweep(ma_signal: StrategySource) -> RenderedNotebook:
    return render_notebook(sweep_spec(ma_signal), nonce=NONCE_A)


@pytest.fixture
def hand_run(rendered_sweep: RenderedNotebook) -> Callable[..., dict[str, Any]]:
    def run(**kwargs: Any) -> dict[str, Any]:
        return run_by_hand(rendered_sweep, **kwargs)

    return run
