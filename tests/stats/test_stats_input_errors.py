"""Inputs that make no sense raise StatsInputError (a ValueError) naming the argument and what is allowed."""

import math
from collections.abc import Callable

import numpy as np
import pytest

from orchestrator import stats

CASES: list[tuple[str, Callable[[], object], str]] = [
    ("n", lambda: stats.probabilistic_sharpe_ratio(0.1, 0.0, 1, 0.0, 3.0), "at least 2"),
    ("n", lambda: stats.deflated_sharpe_ratio(0.1, 1.5, 0.0, 3.0, 10, 0.01), "at least 2"),
    ("kurtosis", lambda: stats.probabilistic_sharpe_ratio(0.1, 0.0, 100, 0.0, 0.0), "raw"),
    ("kurtosis", lambda: stats.probabilistic_sharpe_ratio(0.1, 0.0, 100, 0.0, 0.99), "never below 1"),
    # excess kurtosis 7 with skew -3 (the DSR example's raw 10): below skew**2 + 1 = 10, impossible
    ("kurtosis", lambda: stats.probabilistic_sharpe_ratio(0.1, 0.0, 100, -3.0, 7.0), "skew\\*\\*2 \\+ 1"),
    # skew 2, kurtosis 5 (Pearson's bound) and SR 1: 1 - 2 + 4/4 = 0 -> no variance left
    ("skew", lambda: stats.probabilistic_sharpe_ratio(1.0, 0.0, 100, 2.0, 5.0), "variance positive"),
    ("sr", lambda: stats.probabilistic_sharpe_ratio(math.nan, 0.0, 100, 0.0, 3.0), "finite"),
    ("alpha", lambda: stats.min_track_record_length(0.1, 0.0, 0.0, 3.0, 0.0), "between 0 and 1"),
    ("alpha", lambda: stats.min_track_record_length(0.1, 0.0, 0.0, 3.0, 1.0), "between 0 and 1"),
    ("alpha", lambda: stats.min_track_record_length(0.1, 0.0, 0.0, 3.0, 5), "between 0 and 1"),
    ("n_trials", lambda: stats.expected_max_sharpe(0, 0.01), "at least 1"),
    ("n_trials", lambda: stats.deflated_sharpe_ratio(0.1, 100, 0.0, 3.0, 0.5, 0.01), "at least 1"),
    ("variance", lambda: stats.expected_max_sharpe(10, -0.01), "never negative"),
    ("variance", lambda: stats.deflated_sharpe_ratio(0.1, 100, 0.0, 3.0, 10, -1e-6), "never negative"),
    ("m", lambda: stats.effective_trials(0, 0.5), "at least 1"),
    ("m", lambda: stats.effective_trials(2.5, 0.5), "whole number"),  # type: ignore[arg-type]
    ("avg_correlation", lambda: stats.effective_trials(10, -0.1), "\\[0, 1\\]"),
    ("avg_correlation", lambda: stats.effective_trials(10, 1.2), "\\[0, 1\\]"),
    ("performance_matrix", lambda: stats.probability_of_backtest_overfitting(np.ones((10, 1)), 2),
     "at least 2 strategies"),
    ("performance_matrix", lambda: stats.probability_of_backtest_overfitting(np.ones(10), 2), "2-D"),
    ("performance_matrix", lambda: stats.probability_of_backtest_overfitting(
        np.array([[1.0, np.nan], [0.0, 1.0]]), 2), "finite"),
    ("n_partitions", lambda: stats.probability_of_backtest_overfitting(np.eye(8), 3), "even"),
    ("n_partitions", lambda: stats.probability_of_backtest_overfitting(np.eye(8), 0), "even"),
    ("n_partitions", lambda: stats.probability_of_backtest_overfitting(np.eye(8), 10), "at most the number of rows"),
    ("n_partitions", lambda: stats.probability_of_backtest_overfitting(np.eye(8), 2.5), "even whole number"),  # type: ignore[arg-type]
    ("n_partitions", lambda: stats.probability_of_backtest_overfitting(np.eye(2), 2), "at least 2 rows"),
    ("metric", lambda: stats.probability_of_backtest_overfitting(np.eye(8), 2, metric="sharpe"), "function"),
    ("metric", lambda: stats.probability_of_backtest_overfitting(
        np.eye(8), 2, metric=lambda rows: rows.mean()), "one value per strategy"),
    ("sr", lambda: stats.haircut_sharpe_ratio(0.0, 120, 10), "positive"),
    ("n_tests", lambda: stats.haircut_sharpe_ratio(1.0, 120, 0), "at least 1"),
    ("n_obs", lambda: stats.haircut_sharpe_ratio(1.0, 1, 10), "at least 2 months"),
    ("n_obs", lambda: stats.haircut_sharpe_ratio(1.0, 20, 10, 252), "at least 2 months"),
    ("autocorrelation", lambda: stats.haircut_sharpe_ratio(1.0, 120, 10, autocorrelation=1.0), "\\(-1, 1\\)"),
    ("avg_correlation", lambda: stats.haircut_sharpe_ratio(1.0, 120, 10, avg_correlation=0.9), "0.8"),
    ("table", lambda: stats.hlz_parameters(0.2, table="book"), "'paper'"),
    ("p_values", lambda: stats.holm_adjust([0.5, 1.5]), "between 0 and 1"),
    ("p_values", lambda: stats.bhy_adjust([]), "non-empty"),
    ("returns", lambda: stats.sharpe_ratio([0.01]), "at least 2"),
    ("returns", lambda: stats.sharpe_ratio([0.01, 0.01, 0.01]), "non-zero volatility"),
    ("returns", lambda: stats.sample_moments([0.01, np.nan, 0.02]), "dropna"),
    ("periods_per_year", lambda: stats.sharpe_ratio([0.01, 0.02], 0), "positive"),
    ("variance_annual", lambda: stats.deannualize_sharpe_variance(-0.5, 250), "never negative"),
    ("is_return", lambda: stats.walk_forward_efficiency(0.0, 1.0, 0.1, 1.0), "positive in-sample return"),
    ("is_return", lambda: stats.walk_forward_efficiency(-0.2, 1.0, 0.1, 1.0), "positive in-sample return"),
    ("oos_years", lambda: stats.walk_forward_efficiency(0.2, 1.0, 0.1, 0.0), "positive window length"),
    ("oos_return", lambda: stats.walk_forward_efficiency(0.2, 1.0, -1.5, 1.0), "-1"),
]


@pytest.mark.parametrize(("argument", "call", "allowed"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_invalid_input_names_the_argument_and_what_is_allowed(
    argument: str, call: Callable[[], object], allowed: str
) -> None:
    with pytest.raises(stats.StatsInputError, match=allowed) as caught:
        call()
    assert caught.value.argument == argument
    assert str(caught.value).startswith(f"{argument}=")
    assert isinstance(caught.value, ValueError)  # callers without qcloop can catch ValueError
