"""Every statistic against the values its paper printed, to the printed precision.

Each assertion names its source and the printed value. "Printed precision" means: the value rounds to
what the paper shows (``_prints_as``), or for a half-way case lies within half a unit of the last digit.

Where a figure was read in a secondary source that quotes the paper (the stored corpora hold the papers'
first pages only), the comment says so; the reference sheet is ../shared/reference/overfitting.md.
"""

import math

import pytest

from orchestrator import stats


def _prints_as(value: float, printed: float, decimals: int) -> bool:
    """True when ``value`` shown with ``decimals`` decimals reads ``printed`` (half a unit of tolerance)."""
    return abs(value - printed) <= 0.5 * 10.0**-decimals + 1e-12


# --- The Sharpe Ratio Efficient Frontier (Bailey & López de Prado, Journal of Risk 15(2), 2012) -------------


def test_psr_of_the_sef_monthly_example_prints_0_982() -> None:
    # SEF 2012, PSR example: monthly SR 0.458 (annual 1.59) over 24 months, normal moments, SR* = 0 ->
    # printed 0.982. By hand: 0.458 * sqrt(23) / sqrt(1 + 0.458**2 / 2) = 2.1965 / 1.0511 = 2.0897 -> Z = 0.98167.
    psr = stats.probabilistic_sharpe_ratio(0.458, 0.0, 24, 0.0, 3.0)
    assert _prints_as(psr, 0.982, 3)
    assert psr == pytest.approx(0.98167, abs=5e-6)


def test_min_trl_of_the_sef_appendix_example_prints_59_895_months() -> None:
    # SEF 2012, appendix A.3 numerical example (quoted by a public test suite): SR = 2/sqrt(12),
    # SR* = 1/sqrt(12) per month, skew -0.72, kurtosis 5.78, 95 % -> MinTRL printed 59.895 months (~4.99 years).
    # By hand: 1 + (1 + 0.72*0.57735 + 4.78/4 * 0.33333) * (1.644854 / 0.288675)**2 = 1 + 1.814025 * 32.4665.
    months = stats.min_track_record_length(2 / math.sqrt(12), 1 / math.sqrt(12), -0.72, 5.78, 0.05)
    assert _prints_as(months, 59.895, 3)
    assert _prints_as(months / 12, 4.99, 2)


@pytest.mark.parametrize(
    ("periods_per_year", "printed_years"),
    [
        (252, 2.73),  # daily; listed in the reference sheet (250 a year gives the same 2.73)
        (250, 2.73),
        (52, 2.83),  # weekly  } SEF 2012 figures of MinTRL by sampling frequency, as quoted by a public
        (12, 3.24),  # monthly } test suite: IID normal, annual SR 2 against SR* 1, 95 %
    ],
)
def test_min_trl_of_sr_2_against_1_by_frequency_prints_the_sef_years(
    periods_per_year: int, printed_years: float
) -> None:
    k = periods_per_year
    observations = stats.min_track_record_length(2 / math.sqrt(k), 1 / math.sqrt(k), 0.0, 3.0, 0.05)
    assert _prints_as(observations / k, printed_years, 2)


# --- The Deflated Sharpe Ratio (Bailey & López de Prado, Journal of Portfolio Management 40(5), 2014) ------

# The paper's numerical example: annual SR 2.5 over 5 years of daily data (250 a year, T = 1250), skew -3,
# raw kurtosis 10, N = 100 trials whose annual Sharpe ratios have variance 0.5.
DSR_SR = 2.5 / math.sqrt(250)
DSR_VARIANCE = 0.5 / 250


def test_dsr_example_threshold_prints_0_1132_per_day() -> None:
    sr0 = stats.deflated_sharpe_threshold(100, DSR_VARIANCE)  # printed SR0 ~= 0.1132
    assert _prints_as(sr0, 0.1132, 4)


def test_dsr_example_prints_0_9004() -> None:
    dsr = stats.deflated_sharpe_ratio(DSR_SR, 1250, -3.0, 10.0, 100, DSR_VARIANCE)  # printed DSR ~= 0.9004
    assert _prints_as(dsr, 0.9004, 4)


def test_dsr_example_with_46_trials_prints_0_9505() -> None:
    # DSR 2014, same example: "had the strategist tried N = 46 ... DSR = 0.9505" (quoted by public test suites).
    assert _prints_as(stats.deflated_sharpe_ratio(DSR_SR, 1250, -3.0, 10.0, 46, DSR_VARIANCE), 0.9505, 4)


def test_dsr_example_with_normal_returns_tolerates_88_trials_for_the_same_0_9505() -> None:
    # DSR 2014: with normal returns (skew 0, kurtosis 3) it would take N = 88 trials to fall to the same 0.9505.
    # This pins the raw-kurtosis convention: kurtosis 0 (excess) is rejected, and would not give 0.9505.
    assert _prints_as(stats.deflated_sharpe_ratio(DSR_SR, 1250, 0.0, 3.0, 88, DSR_VARIANCE), 0.9505, 4)
    with pytest.raises(stats.StatsInputError, match="kurtosis"):
        stats.deflated_sharpe_ratio(DSR_SR, 1250, 0.0, 0.0, 88, DSR_VARIANCE)


def test_dsr_example_units_come_from_the_conversion_helpers() -> None:
    # The example's annual figures through the helpers: SR / sqrt(250), variance / 250 (not / sqrt(250)).
    sr = stats.deannualize_sharpe(2.5, 250)
    variance = stats.deannualize_sharpe_variance(0.5, 250)
    assert _prints_as(stats.deflated_sharpe_ratio(sr, 1250, -3.0, 10.0, 100, variance), 0.9004, 4)


# --- Pseudo-Mathematics and Financial Charlatanism (Bailey, Borwein, López de Prado & Zhu, Notices AMS 2014) --


def test_expected_maximum_of_10_standard_normal_trials_prints_1_57() -> None:
    # Pseudo-Mathematics 2014, Eq. for E[max_N]: N = 10 independent unit-variance trials -> printed ~1.57
    # (quoted by a public replication). By hand: 0.42278 * 1.28155 + 0.57722 * 1.78942 = 1.5746.
    assert _prints_as(stats.expected_max_sharpe(10, 1.0), 1.57, 2)


def test_min_backtest_length_allows_45_configurations_in_5_years() -> None:
    # Pseudo-Mathematics 2014, MinBTL = (E[max_N] / target annual SR)**2 years: with 5 years of data no more than
    # 45 independent configurations should be tried for a target annual SR of 1. E[max_45]**2 = 4.998 <= 5 and
    # E[max_46]**2 = 5.036 > 5 (unit variance of annual Sharpe ratios over one year, SR 1).
    assert stats.expected_max_sharpe(45, 1.0) ** 2 <= 5.0 < stats.expected_max_sharpe(46, 1.0) ** 2


# --- The Probability of Backtest Overfitting (Bailey, Borwein, López de Prado & Zhu, J. Comp. Finance 2017) --


def test_pbo_ranking_example_of_section_2() -> None:
    # PBO 2017, Section 2: IS performances (0.5, 1.1, 0.7) rank (1, 3, 2); OOS (0.6, 0.7, 1.3) rank (1, 2, 3).
    # With one row per block, metric = the row's value and S = 2: the IS-best (1.1, strategy 2) ranks 2 of 3
    # OOS, so w = 2/4 and lambda = 0; the reverse split picks strategy 3 (1.3), whose other-half value 0.7
    # also ranks 2. lambda = 0 is the documented boundary: counted as overfit (lambda <= 0).
    matrix = [[0.5, 1.1, 0.7], [0.6, 0.7, 1.3]]
    result = stats.probability_of_backtest_overfitting(matrix, 2, metric=lambda rows: rows.mean(axis=0))
    assert result.oos_relative_rank.tolist() == [0.5, 0.5]
    assert result.logits.tolist() == [0.0, 0.0]
    assert result.pbo == 1.0


def test_pbo_with_16_partitions_forms_12870_combinations() -> None:
    # PBO 2017, Section 2: S = 16 gives C(16, 8) = 12,870 combinations.
    matrix = [[(row * 7 + col * 3) % 11 - 5.0 + 0.1 * col for col in range(3)] for row in range(64)]
    assert stats.probability_of_backtest_overfitting(matrix, 16).n_combinations == 12870 == math.comb(16, 8)


# --- Backtesting (Harvey & Liu, Journal of Portfolio Management 42(1), 2015) --------------------------------


def test_hlz_parameters_interpolated_at_rho_0_3_print_the_papers_example() -> None:
    # HL 2015, below Exhibit 7: at rho = 0.3 interpolation gives p0 = 0.465 and lambda = 0.555 %.
    # By hand from the exhibit: (0.444 + 0.485) / 2 = 0.4645 and (0.555 + 0.554) / 2 = 0.5545 %.
    p0, lam = stats.hlz_parameters(0.3)
    assert _prints_as(p0, 0.465, 3)
    assert _prints_as(lam * 100, 0.555, 3)


@pytest.mark.parametrize("rho", [0.0, 0.2, 0.4, 0.6, 0.8])
def test_hlz_parameters_at_the_exhibit_rows_are_the_printed_rows(rho: float) -> None:
    # HL 2015, Exhibit 7 (p0 and lambda in % per month) and the Haircut_SR program's constants.
    printed = {0.0: (0.396, 0.550), 0.2: (0.444, 0.555), 0.4: (0.485, 0.554), 0.6: (0.601, 0.555),
               0.8: (0.840, 0.560)}
    program = {0.0: (0.39660, 0.0054995), 0.2: (0.44589, 0.0055508), 0.4: (0.48604, 0.0055413),
               0.6: (0.59902, 0.0055512), 0.8: (0.83901, 0.0055956)}
    p0, lam = stats.hlz_parameters(rho)
    assert (p0, round(lam * 100, 3)) == pytest.approx(printed[rho], abs=1e-12)
    assert stats.hlz_parameters(rho, table="program") == pytest.approx(program[rho], abs=1e-12)


def test_haircut_of_annual_sr_1_over_120_months_with_100_tests_matches_the_program_port() -> None:
    # Not a printed figure of the paper: the values a port of Harvey & Liu's Haircut_SR program (mlfinlab's
    # test suite) asserts for SR 1 (annual), 120 monthly observations, autocorrelation 0.1, 100 tests,
    # rho = 0.4: adjusted p Bonferroni 0.465, Holm 0.409, BHY 0.174, average 0.348.
    # Bonferroni by hand: Lo's factor at rho = 0.1, q = 12 is 0.9122 -> monthly SR 0.26334, t = 2.8848 on
    # 119 d.f. -> p = 0.0046512 -> 100 p = 0.4651. Holm/BHY are simulation medians; they land on the
    # strategy's median rank (14 of 101): Holm = 88 p = 0.4093, BHY = 101 c(101) / 14 p = 0.1744.
    result = stats.haircut_sharpe_ratio(1.0, 120, 100, 12, autocorrelation=0.1, avg_correlation=0.4,
                                        table="program")
    assert _prints_as(result.sharpe_annual, 0.912, 3)
    assert _prints_as(result.bonferroni.p_value, 0.465, 3)
    assert _prints_as(result.holm.p_value, 0.409, 3)
    assert _prints_as(result.bhy.p_value, 0.174, 3)
    assert _prints_as(result.average.p_value, 0.348, 2)  # the port's 0.348 from its own 400-run medians


@pytest.mark.parametrize(
    ("periods_per_year", "printed"), [(360, 0.905), (52, 0.906), (12, 0.912), (4, 0.928), (1, 1.0)]
)
def test_autocorrelation_correction_of_an_annual_sr_of_1_at_rho_0_1(periods_per_year: int, printed: float) -> None:
    # Lo (2002) correction as coded in Haircut_SR (q = 360 daily, 52, 12, 4, 1); the port's test values for
    # SR 1 and rho = 0.1. Monthly by hand: [1 + 0.2/0.9 * (1 - (1 - 0.1**12)/(12*0.9))]**-0.5 = 0.9122.
    result = stats.haircut_sharpe_ratio(1.0, 240 * periods_per_year, 1, periods_per_year, autocorrelation=0.1)
    assert _prints_as(result.sharpe_annual, printed, 3)


# --- Walk-forward efficiency (Pardo 2008; constructed example of the reference sheet) ------------------------


def test_walk_forward_efficiency_of_the_constructed_example_is_73_12_percent() -> None:
    # IS 24 months +30 %, OOS 6 months +5 %: 1.3**0.5 - 1 = 14.018 %/yr, 1.05**2 - 1 = 10.25 %/yr -> 73.12 %
    # with compound annualization (simple annualization would give 10 % / 15 % = 66.67 %).
    assert _prints_as(stats.walk_forward_efficiency(0.30, 2.0, 0.05, 0.5) * 100, 73.12, 2)
