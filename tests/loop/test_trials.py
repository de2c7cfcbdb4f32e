"""Trial accounting: the family's count and the variance of its trials' Sharpe ratios (orchestrator/loop/trials.py)."""

from __future__ import annotations

import statistics

import pytest

from orchestrator.loop.trials import on_search_data, trial_stats
from orchestrator.models import HypothesisState, Trial


def state(hypothesis_id: str, family: str, trials: list[tuple[str, str, float]]) -> HypothesisState:
    return HypothesisState(
        id=hypothesis_id, family=family, spec_path=f"hypotheses/{hypothesis_id}.yaml", spec_sha256="0" * 64,
        trials=[Trial(kind=kind, label=label, sharpe=sharpe) for kind, label, sharpe in trials],
    )


VALIDATED = [("backtest", "baseline", 0.6), ("grid_point", "sweep fast=10", 0.4), ("grid_point", "sweep fast=20", 0.8),
             ("backtest", "confirmation", 0.8), ("backtest", "holdout", -0.9)]


def test_every_trial_counts_but_the_holdout_is_not_a_candidate_in_the_variance() -> None:
    stats = trial_stats(state("H-001", "ma_crossover", VALIDATED), [])
    assert stats.hypothesis_trials == 5 and stats.family_trials == 5
    # Variance (n - 1) of 0.6, 0.4, 0.8, 0.8: mean 0.65, squared deviations 0.0025 + 0.0625 + 0.0225 +
    # 0.0225 = 0.11, / 3 = 0.036667. With the holdout's -0.9 it would be 14 times as large: mean 0.34,
    # squared deviations 0.0676 + 0.0036 + 2 x 0.2116 + 1.5376 = 2.032, / 4 = 0.508.
    assert stats.sharpe_variance == pytest.approx(0.11 / 3)
    assert statistics.variance([s for _, _, s in VALIDATED]) == pytest.approx(0.508)


def test_the_family_pools_its_hypotheses_and_ignores_other_families() -> None:
    own = state("H-002", "ma_crossover", [("backtest", "baseline", 0.2)])
    peer = state("H-001", "ma_crossover", VALIDATED)
    stranger = state("H-003", "rsi_reversion", [("backtest", "baseline", 3.0)])
    stats = trial_stats(own, [peer, stranger, own.model_copy(update={"trials": []})])
    # H-002's own (newer) copy is used, not the stale one in `others`; 6 trials, 5 on search data:
    # 0.2, 0.6, 0.4, 0.8, 0.8 -> mean 0.56, squared deviations 0.1296 + 0.0016 + 0.0256 + 0.0576 + 0.0576
    # = 0.272, / 4 = 0.068.
    assert stats.hypothesis_trials == 1 and stats.family_trials == 6
    assert stats.sharpe_variance == pytest.approx(0.068)


def test_one_search_trial_has_no_variance() -> None:
    stats = trial_stats(state("H-001", "ma_crossover", [("backtest", "baseline", 0.5),
                                                         ("backtest", "holdout", 0.1)]), [])
    assert stats.family_trials == 2 and stats.sharpe_variance == 0.0


def test_only_the_holdout_backtest_is_off_the_search_data() -> None:
    assert not on_search_data(Trial(kind="backtest", label="holdout", sharpe=0.0))
    assert on_search_data(Trial(kind="grid_point", label="holdout", sharpe=0.0))  # a grid point is never the holdout
    assert on_search_data(Trial(kind="optimization_point", label="sweep fast=10", sharpe=0.0))
    assert on_search_data(Trial(kind="backtest", label="confirmation", sharpe=0.0))
