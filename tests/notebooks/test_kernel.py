"""Every notebook kind in a real Jupyter kernel, on synthetic data and on LEAN's sample data, collected
through the project-file and Object Store channels; and parity between the sweep's figures at the
baseline parameters and an engine backtest of the same algorithm.

One kernel run per kind and data set (module-scoped), two years of daily data and small grids, so the
whole module stays within the notebooks' time budget.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from orchestrator.notebooks import (
    BaselineData,
    BaselineReviewRecord,
    BaselineReviewSpec,
    ChannelName,
    Figures,
    Guidance,
    ObjectStoreChannel,
    ParameterSweepRecord,
    ParityTolerance,
    ProjectFileChannel,
    RenderedNotebook,
    RunStatus,
    StrategySource,
    WalkForwardRecord,
    check_parity,
    classify_notebook,
    collect,
    render_notebook,
)
from orchestrator.notebooks.execute import execute_notebook
from orchestrator.notebooks.render import notebook_text
from orchestrator.notebooks.specs import AnySpec
from tests.notebooks.conftest import sweep_spec, walk_forward_spec

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

SWEEP_START, SWEEP_END = date(2011, 1, 3), date(2012, 12, 31)
BASELINE = {"fast": 20, "slow": 60}
CELL_TIMEOUT = 180


def _engine_missing() -> str | None:
    for module in ("orchestrator.engine.algorithm_imports",):
        if importlib.util.find_spec(module) is None:
            return f"{module} (the engine's QuantBook) is not available yet"
    from orchestrator import engine

    if not hasattr(engine, "run_backtest") or not hasattr(engine, "QuantBook"):
        return "orchestrator.engine has no run_backtest/QuantBook yet"
    return None


@pytest.fixture(scope="module", autouse=True)
def _needs_engine() -> None:
    reason = _engine_missing()
    if reason:
        pytest.skip(reason)


@dataclass
class Executed:
    rendered: RenderedNotebook
    notebook_json: str
    store: Path

    def read_object(self, key: str) -> str | None:
        path = self.store.joinpath(*key.split("/"))
        return path.read_text(encoding="utf-8") if path.is_file() else None


@dataclass
class DataCase:
    name: str
    folder: Path
    synthetic: bool
    backtest: dict[str, Any]
    runs: dict[str, Executed]


def _run(rendered: RenderedNotebook, folder: Path, store: Path) -> Executed:
    executed = execute_notebook(rendered.notebook, data_folder=folder, timeout=CELL_TIMEOUT,
                                extra_env={"QCLOOP_OBJECT_STORE_DIR": str(store)})
    return Executed(rendered, notebook_text(executed), store)


def _baseline_backtest(folder: Path, workdir: Path, ma_signal: StrategySource) -> dict[str, Any]:
    """The baseline backtest of the same hypothesis: the family's main.py rendered by qcloop and run
    by the engine (the algorithm side of the parity check)."""
    from orchestrator.engine import run_backtest
    from orchestrator.hypotheses import HypothesisSpec
    from orchestrator.strategies import load_registry, render_strategy

    hypothesis = HypothesisSpec(id="H-900", title="SPY 20/60 moving-average trend", rationale="parity test",
                                template="ma_crossover", universe=("SPY",), start=SWEEP_START, end=SWEEP_END,
                                cash=100_000, parameters=dict(BASELINE))
    strategy = render_strategy(hypothesis, load_registry())
    assert strategy.signal_source == ma_signal.signal_source  # one source of strategy logic
    strategy.write(workdir)
    result = run_backtest(workdir / "main.py", data_folder=folder)
    assert not result.error, result.stacktrace
    return result.to_cloud()


@pytest.fixture(scope="module", params=["synthetic", "lean"])
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         ma_signal: StrategySource) -> DataCase:
    folder: Path = request.getfixturevalue("synthetic_data" if request.param == "synthetic" else "lean_data")
    work = tmp_path_factory.mktemp(f"kernel-{request.param}")
    backtest = _baseline_backtest(folder, work / "project", ma_signal)
    review = BaselineReviewSpec(
        hypothesis_id="H-900", stage="baseline", tickers=["SPY"], start=SWEEP_START, end=SWEEP_END,
        strategy_code_hash=ma_signal.code_hash, baseline_parameters=BASELINE,
        backtest=BaselineData.from_cloud(backtest, start=SWEEP_START),
    )
    specs: dict[str, AnySpec] = {
        "baseline_review": review,
        "parameter_sweep": sweep_spec(ma_signal, start=SWEEP_START, end=SWEEP_END, baseline_parameters=BASELINE),
        "walk_forward": walk_forward_spec(ma_signal, baseline_parameters=BASELINE),
    }
    runs = {kind: _run(render_notebook(spec), folder, work / "object-store") for kind, spec in specs.items()}
    return DataCase(request.param, folder, request.param == "synthetic", backtest, runs)


RECORD_TYPES = {"baseline_review": BaselineReviewRecord, "parameter_sweep": ParameterSweepRecord,
                "walk_forward": WalkForwardRecord}


@pytest.mark.parametrize("kind", list(RECORD_TYPES))
def test_each_kind_runs_and_is_collected_through_files_and_the_object_store(case: DataCase, kind: str) -> None:
    run = case.runs[kind]
    expected = run.rendered.provenance
    guide = Guidance(notebook=run.rendered.filename)
    from_file = collect([ProjectFileChannel(lambda: run.notebook_json)], expected, guidance=guide)
    assert from_file.status is RunStatus.FRESH, from_file.message
    assert from_file.channel is ChannelName.PROJECT_FILE
    from_store = collect([ObjectStoreChannel(run.read_object)], expected, guidance=guide)
    assert from_store.status is RunStatus.FRESH, from_store.message
    assert from_store.channel is ChannelName.OBJECT_STORE
    record = from_file.record
    assert isinstance(record, RECORD_TYPES[kind])
    assert record == from_store.record  # the same record through both channels
    assert record.nonce == expected.nonce and record.provenance_hash == expected.provenance_hash
    assert record.data.synthetic is case.synthetic
    assert ("SYNTHETIC" in " ".join(record.warnings)) is case.synthetic
    assert record.baseline.days > 100


def test_the_sweep_reports_a_plateau_and_counts_its_trials(case: DataCase) -> None:
    record = collect([ObjectStoreChannel(case.runs["parameter_sweep"].read_object)],
                     case.runs["parameter_sweep"].rendered.provenance).record
    assert isinstance(record, ParameterSweepRecord)
    # grid fast {10, 20, 30} x slow {40, 60}, all satisfying fast < slow: six trials
    assert record.n_trials == 6 and len(record.points) == 6
    assert record.plateau is not None and record.robust_parameters is not None
    members = [dict(m) for m in record.plateau.members]
    assert {k: record.robust_parameters[k] for k in ("fast", "slow")} in members
    assert record.plateau.best_metric == max(p.metric for p in record.points if p.metric is not None)


def test_the_walk_forward_chooses_in_sample_and_evaluates_the_holdout_once(case: DataCase) -> None:
    record = collect([ObjectStoreChannel(case.runs["walk_forward"].read_object)],
                     case.runs["walk_forward"].rendered.provenance).record
    assert isinstance(record, WalkForwardRecord)
    assert len(record.windows) == 3  # 12-month in-sample, 6-month out-of-sample over 2010-06/2012, see test_simulate
    summary = record.out_of_sample
    assert summary.n_trials == 3 + 4  # prior trials + the 2 x 2 grid
    assert summary.observations == sum(w.out_of_sample_figures.days for w in record.windows
                                       if w.out_of_sample_figures)
    if summary.psr is not None and summary.dsr is not None:
        assert summary.dsr <= summary.psr  # deflating for trials never raises the probability
    assert record.holdout is not None and record.holdout.span.start == date(2012, 7, 2)
    assert record.grid_evaluations == 3 * 4 + 4


# Parity tolerance against qcloop's engine. The simulator and the engine implement the same rules
# (targets at the 16:00 close filled at the next open, IB fees valued at the fill day's close, the
# 0.25 % buffer with margin sizing and LEAN's 0.1 % filter, whole shares, set_warm_up replay, adjusted
# prices), so their daily equity should be the same; what differs is only how it is measured: LEAN
# rounds chart equity to 4 decimals ($0.0001 on ~$100,000, a 1e-9 relative error). Hence: identical
# order counts, total return and drawdown within 1e-6, annual Sharpe within 1e-4. (Measured on every
# family: agreement to about 1e-9.) The loop's default ParityTolerance is far looser on purpose: in the
# cloud the baseline is LEAN itself, on QuantConnect's feed, where paths the engine does not share
# (e.g. the dividend-only-slice quirk) may move an order.
ENGINE_PARITY = ParityTolerance(total_return_abs=1e-6, total_return_rel=0.0, sharpe_abs=1e-4,
                                max_drawdown_abs=1e-6, orders_rel=0.0, orders_min=0)


def test_the_sweep_agrees_with_the_engine_backtest(case: DataCase) -> None:
    """Parity: the notebook's figures at the baseline parameters vs the engine's backtest of main.py."""
    record = collect([ObjectStoreChannel(case.runs["parameter_sweep"].read_object)],
                     case.runs["parameter_sweep"].rendered.provenance).record
    assert record is not None
    check = check_parity(record.baseline, case.backtest, start=SWEEP_START, tolerance=ENGINE_PARITY)
    assert check.ok, check.message
    assert check.backtest.orders is not None and check.backtest.orders > 0
    assert check.backtest.days == record.baseline.days  # the same trading sessions


def test_parity_holds_for_a_multi_asset_rotation(synthetic_data: Path, tmp_path: Path) -> None:
    """dual_momentum rotates between four ETFs: several targets per bar, reductions ordered first."""
    from orchestrator.engine import run_backtest
    from orchestrator.hypotheses import HypothesisSpec
    from orchestrator.strategies import load_registry, render_signal_source, render_strategy

    registry = load_registry()
    tickers = ("SPY", "QQQ", "IWM", "EEM")
    hypothesis = HypothesisSpec(id="H-903", title="rotation", rationale="parity test", template="dual_momentum",
                                universe=tickers, start=SWEEP_START, end=SWEEP_END, cash=100_000)
    strategy = render_strategy(hypothesis, registry)
    strategy.write(tmp_path / "project")
    backtest = run_backtest(tmp_path / "project" / "main.py", data_folder=synthetic_data).to_cloud()
    defaults = registry.get("dual_momentum").schema.default_parameters()
    first = sorted(defaults)[0]
    source = StrategySource(family="dual_momentum", signal_source=render_signal_source("dual_momentum",
                                                                                        registry=registry),
                            code_hash=strategy.code_hash)
    spec = sweep_spec(source, hypothesis_id="H-903", tickers=list(tickers), start=SWEEP_START, end=SWEEP_END,
                      baseline_parameters=defaults, grid={first: [defaults[first]]}, constraints=[])
    rendered = render_notebook(spec)
    executed = execute_notebook(rendered.notebook, data_folder=synthetic_data, timeout=CELL_TIMEOUT)
    verdict = classify_notebook(executed, rendered.provenance)
    assert verdict.record is not None, verdict.message
    check = check_parity(verdict.record.baseline, backtest, start=SWEEP_START, tolerance=ENGINE_PARITY)
    assert check.ok, check.message
    assert check.backtest.orders is not None and check.backtest.orders >= 4


def test_the_baseline_review_reproduces_the_backtest_figures(case: DataCase) -> None:
    record = collect([ObjectStoreChannel(case.runs["baseline_review"].read_object)],
                     case.runs["baseline_review"].rendered.provenance).record
    assert isinstance(record, BaselineReviewRecord)
    check = check_parity(record.baseline, case.backtest, start=SWEEP_START,
                         tolerance=ParityTolerance(total_return_abs=1e-9, total_return_rel=0, sharpe_abs=1e-9,
                                                   max_drawdown_abs=1e-9, orders_rel=0, orders_min=0))
    assert check.ok, check.message  # the same equity curve, so the same figures exactly
    assert record.closed_trades.count == len(case.backtest["totalPerformance"]["closedTrades"])
    assert sum(m.year == 2011 for m in record.monthly_returns) == 12


def test_a_failing_cell_is_reported_with_its_exception(lean_data: Path, tmp_path: Path,
                                                       ma_signal: StrategySource) -> None:
    rendered = render_notebook(sweep_spec(ma_signal, tickers=["NOSUCH"]))
    executed = execute_notebook(rendered.notebook, data_folder=lean_data, timeout=CELL_TIMEOUT,
                                extra_env={"QCLOOP_OBJECT_STORE_DIR": str(tmp_path)})
    verdict = classify_notebook(executed, rendered.provenance)
    assert verdict.status is RunStatus.FAILED, verdict.message
    assert verdict.failure is not None and verdict.failure.cell_id == "data"
    assert verdict.failure.traceback_tail
    assert not (tmp_path / "qcloop").exists()  # no record was saved


def test_figures_model_accepts_what_the_notebook_computes(case: DataCase) -> None:
    record = collect([ObjectStoreChannel(case.runs["parameter_sweep"].read_object)],
                     case.runs["parameter_sweep"].rendered.provenance).record
    assert record is not None
    assert Figures.model_validate(record.baseline.model_dump()) == record.baseline
