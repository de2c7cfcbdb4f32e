"""Identities and invariants the statistics must satisfy for every valid input (some as property tests)."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from orchestrator import stats

# Moments that describe some distribution: raw kurtosis >= skew**2 + 1 (Pearson), plus a margin.
skews = st.floats(min_value=-2.0, max_value=2.0)
kurtosis_margins = st.floats(min_value=0.0, max_value=20.0)
per_period_srs = st.floats(min_value=-0.5, max_value=0.5)


# --- PSR and MinTRL ------------------------------------------------------------------------------------------


@given(sr=per_period_srs, n=st.integers(min_value=2, max_value=100_000), skew=skews, margin=kurtosis_margins)
def test_psr_is_one_half_when_the_sharpe_ratio_equals_the_benchmark(
    sr: float, n: int, skew: float, margin: float
) -> None:
    kurtosis = skew * skew + 1.0 + margin
    # SEF 2012: the numerator (SR - SR*) is zero, so PSR = Z(0) = 1/2 whatever the moments.
    assert stats.probabilistic_sharpe_ratio(sr, sr, n, skew, kurtosis) == 0.5


@settings(max_examples=200)
@given(
    sr=st.floats(min_value=0.01, max_value=0.5), gap=st.floats(min_value=0.005, max_value=0.5),
    skew=skews, margin=kurtosis_margins, alpha=st.floats(min_value=0.001, max_value=0.5),
)
def test_min_trl_is_the_n_at_which_psr_equals_one_minus_alpha(
    sr: float, gap: float, skew: float, margin: float, alpha: float
) -> None:
    kurtosis = skew * skew + 1.0 + margin
    benchmark = sr - gap
    n_star = stats.min_track_record_length(sr, benchmark, skew, kurtosis, alpha)
    assert n_star >= 1.0
    if n_star >= 2.0:
        assert stats.probabilistic_sharpe_ratio(sr, benchmark, n_star, skew, kurtosis) == pytest.approx(
            1.0 - alpha, abs=1e-9)


def test_min_trl_is_infinite_when_the_sharpe_ratio_does_not_beat_the_benchmark() -> None:
    assert stats.min_track_record_length(0.1, 0.1, 0.0, 3.0) == math.inf
    assert stats.min_track_record_length(0.05, 0.1, -1.0, 6.0) == math.inf
    assert not stats.min_track_record_length(0.0, 0.0, 0.0, 3.0) <= 10**9


def test_psr_for_normal_moments_is_los_iid_statistic() -> None:
    # With skew 0, kurtosis 3 the variance term is Lo's 1 + SR**2/2 (Mertens 2002 reduces to Lo 2002).
    sr, n = 0.1, 400
    z = sr * math.sqrt(n - 1) / math.sqrt(1 + sr**2 / 2)
    assert stats.probabilistic_sharpe_ratio(sr, 0.0, n, 0.0, 3.0) == pytest.approx(sps.norm.cdf(z), rel=1e-14)
    assert stats.sharpe_ratio_std_error(sr, n, 0.0, 3.0) == pytest.approx(math.sqrt((1 + sr**2 / 2) / (n - 1)))


def test_negative_skew_and_fat_tails_lower_the_psr_of_a_positive_sharpe_ratio() -> None:
    assert stats.probabilistic_sharpe_ratio(0.1, 0.0, 500, -1.5, 9.0) < stats.probabilistic_sharpe_ratio(
        0.1, 0.0, 500, 0.0, 3.0)


def test_psr_rises_with_the_track_record_and_falls_with_the_benchmark() -> None:
    lengths = [stats.probabilistic_sharpe_ratio(0.05, 0.0, n, 0.0, 3.0) for n in (50, 250, 1000, 5000)]
    assert lengths == sorted(lengths)
    bars = [stats.probabilistic_sharpe_ratio(0.05, b, 1000, 0.0, 3.0) for b in (-0.05, 0.0, 0.03, 0.1)]
    assert bars == sorted(bars, reverse=True)


# --- E[max], DSR, effective trials ---------------------------------------------------------------------------


def test_expected_max_sharpe_increases_with_the_number_of_trials() -> None:
    values = [stats.expected_max_sharpe(n, 0.04) for n in range(1, 2001)]
    assert values[0] == 0.0  # one trial: the expected maximum is the mean
    assert all(later > earlier for earlier, later in itertools.pairwise(values[1:]))


@given(n=st.floats(min_value=1.0, max_value=1e6), variance=st.floats(min_value=0.0, max_value=1.0),
       mean=st.floats(min_value=-1.0, max_value=1.0))
def test_expected_max_sharpe_is_never_below_the_mean_and_never_decreases(
    n: float, variance: float, mean: float
) -> None:
    value = stats.expected_max_sharpe(n, variance, mean)
    assert value >= mean
    assert stats.expected_max_sharpe(n * 1.5, variance, mean) >= value


def test_expected_max_sharpe_scales_with_the_standard_deviation_and_shifts_with_the_mean() -> None:
    base = stats.expected_max_sharpe(100, 1.0)
    assert stats.expected_max_sharpe(100, 4.0) == pytest.approx(2 * base)
    assert stats.expected_max_sharpe(100, 4.0, mean=0.3) == pytest.approx(2 * base + 0.3)


def test_expected_max_sharpe_approximates_the_exact_expected_maximum_of_normals() -> None:
    # The closed form is an approximation for N >> 1: at N = 100 it is within 1 % of the exact
    # E[max of 100 standard normals] = integral of x * d/dx Phi(x)**100, computed here by quadrature.
    grid = np.linspace(-10, 10, 200_001)
    density = 100 * sps.norm.pdf(grid) * sps.norm.cdf(grid) ** 99
    exact = float(np.trapezoid(grid * density, grid))
    assert stats.expected_max_sharpe(100, 1.0) == pytest.approx(exact, rel=0.01)


@given(sr=per_period_srs, n=st.integers(min_value=2, max_value=10_000), skew=skews, margin=kurtosis_margins,
       variance=st.floats(min_value=0.0, max_value=0.1))
def test_dsr_with_one_trial_is_the_psr_against_zero(
    sr: float, n: int, skew: float, margin: float, variance: float
) -> None:
    kurtosis = skew * skew + 1.0 + margin
    assert stats.deflated_sharpe_ratio(sr, n, skew, kurtosis, 1, variance) == stats.probabilistic_sharpe_ratio(
        sr, 0.0, n, skew, kurtosis)


def test_dsr_falls_as_trials_accumulate() -> None:
    sr = 2.5 / math.sqrt(250)
    dsrs = [stats.deflated_sharpe_ratio(sr, 1250, -3.0, 10.0, n, 0.002) for n in (1, 2, 10, 100, 1000)]
    assert dsrs == sorted(dsrs, reverse=True)
    assert dsrs[0] > dsrs[-1]


@given(m=st.integers(min_value=1, max_value=10_000), rho=st.floats(min_value=0.0, max_value=1.0))
def test_effective_trials_lie_between_one_and_m(m: int, rho: float) -> None:
    n = stats.effective_trials(m, rho)
    assert 1.0 - 1e-9 <= n <= m + 1e-9


def test_effective_trials_at_the_ends_of_the_correlation_range() -> None:
    # DSR 2014, Eq. 9: independent trials count fully, perfectly correlated ones count once.
    assert stats.effective_trials(50, 0.0) == 50.0
    assert stats.effective_trials(50, 1.0) == 1.0
    assert stats.effective_trials(50, 0.5) == 25.5


# --- Multiple-testing adjustments ----------------------------------------------------------------------------

p_value_lists = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=60)


@given(p=p_value_lists)
def test_benjamini_hochberg_below_holm_below_bonferroni(p: list[float]) -> None:
    bonferroni = stats.bonferroni_adjust(p)
    holm = stats.holm_adjust(p)
    bh = _benjamini_hochberg(np.asarray(p))
    assert np.all(holm <= bonferroni + 1e-15)
    assert np.all(bh <= holm + 1e-12)  # M/i <= M - i + 1 for 1 <= i <= M
    assert np.all(np.asarray(p) <= holm + 1e-15)


@given(p=p_value_lists)
def test_bhy_lies_between_bh_and_c_times_bh(p: list[float]) -> None:
    values = np.asarray(p)
    bhy = stats.bhy_adjust(values)
    bh = _benjamini_hochberg(values)
    c = sum(1.0 / j for j in range(1, values.size + 1))
    assert np.all(bh <= bhy + 1e-12)
    assert np.all(bhy <= c * bh + 1e-12)
    assert np.all(bhy <= 1.0)


def test_adjustments_by_hand() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # Bonferroni: 4 p. Holm on sorted (0.005, 0.01, 0.03, 0.04): 4*0.005, 3*0.01, 2*0.03, 1*0.04 with a
    # running max -> 0.02, 0.03, 0.06, 0.06.
    assert stats.bonferroni_adjust(p).tolist() == pytest.approx([0.04, 0.16, 0.12, 0.02])
    assert stats.holm_adjust(p).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BHY (Harvey & Liu): c(4) = 25/12; largest kept (0.04); then min(prev, 4 c / i * p_(i)):
    # i=3: 4*25/12/3*0.03 = 0.08333 -> 0.04; i=2: 4*25/12/2*0.01 = 0.041667 -> 0.04;
    # i=1: 8.3333*0.005 = 0.041667 -> 0.04.
    assert stats.bhy_adjust(p).tolist() == pytest.approx([0.04, 0.04, 0.04, 0.04])
    assert stats.bhy_adjust([0.2]).tolist() == [0.2]


def _benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Reference BH adjusted p-values (scipy's implementation), to compare against."""
    return np.asarray(sps.false_discovery_control(p, method="bh"))


# --- Haircut Sharpe ratio ------------------------------------------------------------------------------------


def test_haircut_is_deterministic_for_a_seed() -> None:
    first = stats.haircut_sharpe_ratio(0.8, 240, 50, 12, avg_correlation=0.2, seed=7)
    again = stats.haircut_sharpe_ratio(0.8, 240, 50, 12, avg_correlation=0.2, seed=7)
    assert first.as_dict() == again.as_dict()


def test_haircut_bonferroni_by_hand() -> None:
    # Annual SR 0.75 on 240 months, no autocorrelation: t = 0.75/sqrt(12) * sqrt(240) = 3.3541 on 239 d.f.;
    # p = 2 * (1 - T(3.3541)); Bonferroni over 10 tests = 10 p; z = T^-1(1 - 5 p); HSR = z / sqrt(240) * sqrt(12).
    t = 0.75 / math.sqrt(12) * math.sqrt(240)
    p = 2 * sps.t.sf(t, 239)
    hsr = sps.t.isf(10 * p / 2, 239) / math.sqrt(240) * math.sqrt(12)
    result = stats.haircut_sharpe_ratio(0.75, 240, 10, 12)
    assert result.t_stat == pytest.approx(t)
    assert result.p_value == pytest.approx(p)
    assert result.bonferroni.p_value == pytest.approx(10 * p)
    assert result.bonferroni.sharpe == pytest.approx(hsr)
    assert result.bonferroni.haircut == pytest.approx((0.75 - hsr) / 0.75)


def test_haircut_orderings_that_always_hold() -> None:
    for sr, tests in ((0.5, 10), (1.0, 100), (1.5, 300)):
        result = stats.haircut_sharpe_ratio(sr, 120, tests, 12)
        for adjustment in (result.bonferroni, result.holm, result.bhy, result.average):
            # Adjusting for other tests never makes a strategy look better.
            assert result.p_value <= adjustment.p_value <= 1.0
            assert 0.0 <= adjustment.sharpe <= result.sharpe_annual + 1e-12
            assert 0.0 <= adjustment.haircut <= 1.0
        # The strategy's Holm p among M + 1 tests is at most (M + 1) p.
        assert result.holm.p_value <= (tests + 1) * result.p_value + 1e-12


def test_haircut_grows_with_the_number_of_tests_and_shrinks_with_the_sharpe_ratio() -> None:
    cuts = [stats.haircut_sharpe_ratio(1.0, 240, m, 12).bonferroni.haircut for m in (1, 10, 100, 1000)]
    assert cuts == sorted(cuts)
    assert cuts[0] == pytest.approx(0.0, abs=1e-12)  # one test: nothing to adjust for
    by_sr = [stats.haircut_sharpe_ratio(sr, 240, 100, 12).bhy.haircut for sr in (0.6, 1.0, 2.0)]
    assert by_sr == sorted(by_sr, reverse=True)  # HL: marginal Sharpe ratios are cut hardest


def test_per_period_sharpe_is_annualized_with_the_given_frequency() -> None:
    annual = stats.haircut_sharpe_ratio(1.0, 120, 10, 12)
    monthly = stats.haircut_sharpe_ratio(1.0 / math.sqrt(12), 120, 10, 12, annualized=False)
    assert monthly.sharpe_annual == pytest.approx(annual.sharpe_annual)
    # 252 trading days a year: 1260 days are 60 months (the program's daily convention, 360, says 42).
    assert stats.haircut_sharpe_ratio(1.0, 1260, 10, 252).months == 60
    assert stats.haircut_sharpe_ratio(1.0, 1260, 10, 360).months == 42


# --- Conversions, Sharpe ratio and moments -------------------------------------------------------------------


@given(sr=st.floats(min_value=-5, max_value=5), variance=st.floats(min_value=0, max_value=10),
       k=st.sampled_from([1, 4, 12, 52, 250, 252, 360]))
def test_annualization_round_trips(sr: float, variance: float, k: int) -> None:
    assert stats.deannualize_sharpe(stats.annualize_sharpe(sr, k), k) == pytest.approx(sr, abs=1e-12)
    assert stats.deannualize_sharpe_variance(stats.annualize_sharpe_variance(variance, k), k) == pytest.approx(
        variance, abs=1e-12)


def test_sharpe_ratio_uses_the_sample_standard_deviation() -> None:
    returns = [0.01, -0.02, 0.03, 0.0, 0.015]
    # mean 0.007; deviations 0.003, -0.027, 0.023, -0.007, 0.008; squares sum to 0.00138;
    # sample std sqrt(0.00138 / 4) = 0.018574 -> SR = 0.37687 (the population std would give 0.42135).
    assert stats.sharpe_ratio(returns) == pytest.approx(0.007 / math.sqrt(0.00138 / 4))
    assert stats.sharpe_ratio(returns, 252) == pytest.approx(0.007 / math.sqrt(0.00138 / 4) * math.sqrt(252))


def test_sample_moments_are_population_skew_and_raw_kurtosis() -> None:
    rng = np.random.default_rng(42)
    returns = rng.standard_t(5, 2000) * 0.01
    skew, kurtosis = stats.sample_moments(returns)
    assert skew == pytest.approx(float(sps.skew(returns, bias=True)), rel=1e-12)
    assert kurtosis == pytest.approx(float(sps.kurtosis(returns, fisher=False, bias=True)), rel=1e-12)
    # A two-point distribution by hand: +-1 equally often -> skew 0, raw kurtosis 1 (the minimum).
    assert stats.sample_moments([1.0, -1.0, 1.0, -1.0]) == (0.0, 1.0)


def test_normal_returns_have_kurtosis_near_three() -> None:
    skew, kurtosis = stats.sample_moments(np.random.default_rng(3).normal(0, 0.01, 200_000))
    assert abs(skew) < 0.02
    assert kurtosis == pytest.approx(3.0, abs=0.05)


# --- Walk-forward efficiency ---------------------------------------------------------------------------------


def test_walk_forward_efficiency_is_one_when_oos_matches_is_per_year() -> None:
    # 21 % over two years is 10 % a year; 10 % over one year is 10 % a year.
    assert stats.walk_forward_efficiency(0.21, 2.0, 0.10, 1.0) == pytest.approx(1.0)
    assert stats.walk_forward_efficiency(0.21, 2.0, -0.10, 1.0) == pytest.approx(-1.0)
    assert stats.walk_forward_efficiency(0.21, 2.0, -1.0, 0.5) == pytest.approx(-10.0)


def test_haircut_of_an_enormous_sharpe_ratio_stays_finite() -> None:
    # t = 200/sqrt(12) * sqrt(240) ~ 894: every p-value underflows to 0 and would invert to an infinite SR;
    # the haircut SR is capped at the original instead (adjusting never makes a strategy look better).
    result = stats.haircut_sharpe_ratio(200.0, 240, 10)
    assert result.bonferroni.sharpe == result.sharpe_annual == 200.0
    assert result.bonferroni.haircut == 0.0
