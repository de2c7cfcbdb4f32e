"""Probability of Backtest Overfitting: constructed matrices whose answer is known before the code runs."""

import math

import numpy as np
import pytest

from orchestrator import stats


def _column_means(rows: np.ndarray) -> np.ndarray:
    return rows.mean(axis=0)


def test_pbo_is_zero_when_the_in_sample_best_is_always_the_out_of_sample_best() -> None:
    # Every strategy is the same noise plus its own drift j * 0.001: every column has the same standard
    # deviation on every half, so the Sharpe ranking is the drift ranking on every half. IS-best = OOS-best
    # (rank N), w = N/(N+1), lambda = ln N > 0 for every combination.
    rng = np.random.default_rng(11)
    noise = rng.normal(0.0, 0.01, size=(400, 1))
    matrix = noise + 0.001 * np.arange(8)[None, :]
    result = stats.probability_of_backtest_overfitting(matrix, 8)
    assert result.pbo == 0.0
    assert result.n_combinations == math.comb(8, 4)
    assert np.allclose(result.logits, math.log(8))
    assert result.standard_error == 0.0


def test_pbo_is_one_when_the_in_sample_best_is_always_the_out_of_sample_worst() -> None:
    # Adversarial construction: every column sums to zero over the whole sample and the halves have equal
    # length, so a column's OOS mean is minus its IS mean. With the mean as metric the OOS ranking is the IS
    # ranking reversed: the IS-best is OOS-worst (rank 1), w = 1/(N+1), lambda = -ln N for every combination.
    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(160, 6))
    matrix -= matrix.mean(axis=0)
    result = stats.probability_of_backtest_overfitting(matrix, 16, metric=_column_means)
    assert result.pbo == 1.0
    assert np.allclose(result.logits, -math.log(6))
    # Degradation: OOS(n*) = -IS(n*) exactly, so the fitted line has slope -1 through the origin, and the
    # IS-best loses out of sample exactly when its IS mean is positive (all six IS means can be negative).
    assert result.degradation_slope == pytest.approx(-1.0)
    assert result.degradation_intercept == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(result.oos_performance, -result.is_performance, rtol=0, atol=1e-15)
    assert result.probability_of_loss == float(np.mean(result.is_performance > 0))
    assert result.probability_of_loss > 0.9


def test_pbo_is_one_for_two_strategies_that_swap_halves_under_the_sharpe_metric() -> None:
    # S = 2: strategy A earns in the first half and loses in the second, B the reverse (same volatility).
    # Each split's IS-best is the OOS loser: rank 1 of 2, w = 1/3, lambda = ln(1/2) < 0.
    wiggle = np.tile([0.01, -0.01], 50)
    a = np.concatenate([0.002 + wiggle, -0.002 + wiggle])
    b = np.concatenate([-0.002 + wiggle, 0.002 + wiggle])
    result = stats.probability_of_backtest_overfitting(np.column_stack([a, b]), 2)
    assert result.n_combinations == 2
    assert result.pbo == 1.0
    assert np.allclose(result.logits, math.log(0.5))


def test_pbo_of_independent_noise_strategies_is_near_one_half() -> None:
    # Not a paper value: with no skill anywhere the IS-best's OOS rank is uniform, so PBO is about 1/2
    # (lambda <= 0 also takes the median rank, so slightly above). A wide band keeps this about behaviour.
    rng = np.random.default_rng(2017)
    result = stats.probability_of_backtest_overfitting(rng.normal(0, 0.01, size=(1000, 40)), 10)
    assert 0.3 < result.pbo < 0.75


def test_order_of_rows_inside_a_half_does_not_change_the_sharpe_based_result() -> None:
    # The default metric uses per-block sums: it must equal the Sharpe ratio of the concatenated half.
    rng = np.random.default_rng(8)
    matrix = rng.normal(0.0005, 0.01, size=(240, 12))

    def sharpe(rows: np.ndarray) -> np.ndarray:
        return rows.mean(axis=0) / rows.std(axis=0, ddof=1)

    fast = stats.probability_of_backtest_overfitting(matrix, 8)
    slow = stats.probability_of_backtest_overfitting(matrix, 8, metric=sharpe)
    assert np.allclose(fast.is_performance, slow.is_performance, rtol=1e-10)
    assert np.allclose(fast.oos_performance, slow.oos_performance, rtol=1e-10)
    assert np.array_equal(fast.logits, slow.logits)


def test_flat_strategies_score_zero_and_constant_drifts_score_infinity() -> None:
    # A strategy that never trades (all zeros) has no volatility: it scores 0, not NaN, so the matrix of a
    # grid with idle configurations is still usable; a constant positive return scores +inf (best).
    rng = np.random.default_rng(1)
    matrix = np.column_stack([np.zeros(64), rng.normal(0, 0.01, 64), np.full(64, 0.001)])
    result = stats.probability_of_backtest_overfitting(matrix, 4)
    assert result.pbo == 0.0  # the constant-drift column is best in and out of sample
    assert np.all(np.isinf(result.is_performance))
    assert math.isnan(result.degradation_slope)


def test_blocks_of_unequal_size_when_partitions_do_not_divide_the_rows() -> None:
    rng = np.random.default_rng(4)
    result = stats.probability_of_backtest_overfitting(rng.normal(size=(101, 5)), 4)
    assert result.n_combinations == 6
    assert 0.0 <= result.pbo <= 1.0


def test_result_as_dict_is_plain_python() -> None:
    rng = np.random.default_rng(9)
    record = stats.probability_of_backtest_overfitting(rng.normal(size=(40, 3)), 4).as_dict()
    assert isinstance(record["pbo"], float)
    assert isinstance(record["logits"], list) and len(record["logits"]) == 6
    assert all(type(value) is float for value in record["logits"])
