"""Overfitting guards for a research loop: the statistics the literature prescribes, implemented exactly.

This module's source is embedded verbatim into research notebooks that run in QuantConnect Research,
where qcloop is not installed, so it imports nothing but ``math``, ``numpy`` and ``scipy`` and defines
its own error class. Every function is pure (the one simulation takes an explicit seed).

Conventions every function below depends on (docs/statistics.md explains them at length):

1. **Per-period Sharpe ratios.** PSR, MinTRL, DSR and E[max] take the Sharpe ratio in the sampling
   frequency of the returns (daily returns -> daily Sharpe), never annualized. Convert with
   :func:`deannualize_sharpe` (divide by sqrt(k)) and :func:`deannualize_sharpe_variance` (a *variance*
   of Sharpe ratios divides by k), k = periods per year.
2. **Raw kurtosis**, normal = 3 (pandas ``.kurt()`` and ``scipy.stats.kurtosis`` return *excess*
   kurtosis by default: add 3). Raw kurtosis of any distribution is at least skew**2 + 1; a smaller
   value is rejected, which also catches excess kurtosis passed by mistake.
3. **n - 1** in the PSR/DSR numerator (sqrt(n - 1)); n counts return observations.
4. Z is the standard normal CDF; Z_alpha = Z^-1(1 - alpha) (1.6448536 for alpha = 0.05).
5. The denominator of the PSR uses the *observed* Sharpe ratio, not the benchmark.
6. Moments from returns (:func:`sample_moments`) are population moments (divide by n), as in
   Bailey & López de Prado's own code; :func:`sharpe_ratio` uses the sample standard deviation (n - 1).

Sources: Bailey & López de Prado, "The Sharpe Ratio Efficient Frontier", Journal of Risk 15(2), 2012
(PSR, MinTRL); Bailey & López de Prado, "The Deflated Sharpe Ratio", Journal of Portfolio Management
40(5), 2014 (E[max], DSR, effective trials); Bailey, Borwein, López de Prado & Zhu, "The Probability of
Backtest Overfitting", Journal of Computational Finance 20(4), 2017 (CSCV, PBO); Harvey & Liu,
"Backtesting", Journal of Portfolio Management 42(1), 2015 and their Haircut_SR program (haircut Sharpe
ratio); Pardo, "The Evaluation and Optimization of Trading Strategies", 2008 (walk-forward efficiency).
"""

import math

import numpy as np
import numpy.typing as npt
from scipy import stats as _sps

__all__ = [
    "EULER_GAMMA",
    "HLZ_PARAMETERS_PAPER",
    "HLZ_PARAMETERS_PROGRAM",
    "HaircutAdjustment",
    "HaircutResult",
    "PBOResult",
    "StatsInputError",
    "annualize_sharpe",
    "annualize_sharpe_variance",
    "bhy_adjust",
    "bonferroni_adjust",
    "deannualize_sharpe",
    "deannualize_sharpe_variance",
    "deflated_sharpe_ratio",
    "deflated_sharpe_threshold",
    "effective_trials",
    "expected_max_sharpe",
    "haircut_sharpe_ratio",
    "hlz_parameters",
    "holm_adjust",
    "min_track_record_length",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "sample_moments",
    "sharpe_ratio",
    "sharpe_ratio_std_error",
    "walk_forward_efficiency",
]

#: Euler–Mascheroni constant (Bailey & López de Prado's 2014 code uses 0.5772156649; the difference moves
#: SR0 by less than 1e-10).
EULER_GAMMA = 0.5772156649015329


class StatsInputError(ValueError):
    """An argument a statistic cannot be computed from; the message names it and what is allowed."""

    def __init__(self, argument: str, value: object, allowed: str) -> None:
        super().__init__(f"{argument}={value!r} is not allowed: {allowed}")
        self.argument = argument
        self.value = value
        self.allowed = allowed


# --------------------------------------------------------------------------------------------------
# Argument checks (each names the argument and what is allowed)
# --------------------------------------------------------------------------------------------------


def _finite(name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise StatsInputError(name, value, "a finite number")
    return number


def _observations(name: str, n: float) -> float:
    count = _finite(name, n)
    if count < 2:
        raise StatsInputError(name, n, "at least 2 return observations (the formula uses sqrt(n - 1))")
    return count


def _alpha(alpha: float) -> float:
    level = _finite("alpha", alpha)
    if not 0.0 < level < 1.0:
        raise StatsInputError("alpha", alpha, "a significance level strictly between 0 and 1, e.g. 0.05")
    return level


def _periods_per_year(periods_per_year: float) -> float:
    k = _finite("periods_per_year", periods_per_year)
    if k <= 0:
        raise StatsInputError("periods_per_year", periods_per_year, "a positive number (252 daily, 12 monthly)")
    return k


def _variance_term(sr: float, skew: float, kurtosis: float) -> float:
    """1 - skew*SR + (kurtosis - 1)/4 * SR**2: (n - 1) times the variance of the SR estimator.

    Mertens (2002) as used by Bailey & López de Prado; it equals Lo's 1 + SR**2/2 for normal returns.
    """
    g3 = _finite("skew", skew)
    g4 = _finite("kurtosis", kurtosis)
    if g4 < 1.0:
        raise StatsInputError(
            "kurtosis", kurtosis, "raw (non-excess) kurtosis, normal = 3, which is never below 1; "
            "add 3 to an excess kurtosis")
    # Pearson's inequality holds for every distribution, including a sample's own empirical one.
    floor = g3 * g3 + 1.0
    if g4 < floor - 1e-9 * floor:
        raise StatsInputError(
            "kurtosis", kurtosis, f"at least skew**2 + 1 = {floor:.6g} for skew={g3!r} (no distribution has "
            "less); pass raw kurtosis (normal = 3), not excess kurtosis")
    term = 1.0 - g3 * sr + (g4 - 1.0) / 4.0 * sr * sr
    if term <= 0.0:
        raise StatsInputError(
            "skew", skew, f"a combination with sr={sr!r} and kurtosis={kurtosis!r} that leaves the Sharpe "
            f"ratio's variance positive (1 - skew*sr + (kurtosis - 1)/4*sr**2 = {term:.6g})")
    return term


def _returns_array(returns: npt.ArrayLike) -> npt.NDArray[np.float64]:
    values = np.asarray(returns, dtype=float)
    if values.ndim != 1:
        raise StatsInputError("returns", f"array of shape {values.shape}", "a one-dimensional series of returns")
    if values.size < 2:
        raise StatsInputError("returns", f"{values.size} observation(s)", "at least 2 returns")
    if not np.all(np.isfinite(values)):
        raise StatsInputError(
            "returns", "a series containing NaN or inf", "finite returns only; drop missing values first "
            "(e.g. series.dropna())")
    return values


# --------------------------------------------------------------------------------------------------
# Sharpe ratio, moments and unit conversions
# --------------------------------------------------------------------------------------------------


def sharpe_ratio(returns: npt.ArrayLike, periods_per_year: float | None = None) -> float:
    """Sharpe ratio of a return series: mean / standard deviation (zero risk-free rate).

    Formula: SR = mean(r) / std(r, ddof=1) per period; with ``periods_per_year`` = k given, the result is
    annualized as SR * sqrt(k). Pass excess returns if a risk-free rate applies.

    Conventions: sample standard deviation (n - 1); per-period unless ``periods_per_year`` is given.
    The statistics in this module (PSR, DSR, MinTRL) take the **per-period** value.

    Source: Sharpe (1966, 1994); the per-period convention is Bailey & López de Prado's (2012).

    Raises StatsInputError for fewer than 2 returns, non-finite returns, or zero volatility (a constant
    series has no Sharpe ratio).
    """
    values = _returns_array(returns)
    std = float(np.std(values, ddof=1))
    if std == 0.0:
        raise StatsInputError(
            "returns", "a constant series", "returns with non-zero volatility (a constant series, e.g. a "
            "strategy that never traded, has no Sharpe ratio)")
    sr = float(np.mean(values)) / std
    if periods_per_year is None:
        return sr
    return annualize_sharpe(sr, periods_per_year)


def sample_moments(returns: npt.ArrayLike) -> tuple[float, float]:
    """Skewness and **raw** kurtosis (normal = 3) of a return series: ``skew, kurtosis = ...``.

    Formula: with m_k = mean((r - mean(r))**k), skew = m3 / m2**1.5 and kurtosis = m4 / m2**2.

    Conventions: population moments (divide by n, no small-sample correction), as in Bailey & López de
    Prado's PSR code; identical to ``scipy.stats.skew(r, bias=True)`` and
    ``scipy.stats.kurtosis(r, fisher=False, bias=True)``. Kurtosis is raw, not excess.

    Source: Bailey & López de Prado (2012), appendix code.

    Raises StatsInputError for fewer than 2 returns, non-finite returns, or zero volatility.
    """
    values = _returns_array(returns)
    centred = values - np.mean(values)
    m2 = float(np.mean(centred**2))
    if m2 == 0.0:
        raise StatsInputError("returns", "a constant series", "returns with non-zero volatility")
    m3 = float(np.mean(centred**3))
    m4 = float(np.mean(centred**4))
    return m3 / m2**1.5, m4 / (m2 * m2)


def annualize_sharpe(sr: float, periods_per_year: float) -> float:
    """Per-period Sharpe ratio -> annual: SR * sqrt(k), k = periods per year (IID returns)."""
    return _finite("sr", sr) * math.sqrt(_periods_per_year(periods_per_year))


def deannualize_sharpe(sr_annual: float, periods_per_year: float) -> float:
    """Annual Sharpe ratio -> per period: SR / sqrt(k). E.g. 2.5 / sqrt(250) in the DSR paper's example."""
    return _finite("sr_annual", sr_annual) / math.sqrt(_periods_per_year(periods_per_year))


def annualize_sharpe_variance(variance: float, periods_per_year: float) -> float:
    """Variance of per-period Sharpe ratios -> variance of annual ones: V * k (not sqrt(k))."""
    return _non_negative_variance("variance", variance) * _periods_per_year(periods_per_year)


def deannualize_sharpe_variance(variance_annual: float, periods_per_year: float) -> float:
    """Variance of annual Sharpe ratios -> per period: V / k. E.g. 0.5 / 250 in the DSR paper's example."""
    return _non_negative_variance("variance_annual", variance_annual) / _periods_per_year(periods_per_year)


def _non_negative_variance(name: str, variance: float) -> float:
    value = _finite(name, variance)
    if value < 0:
        raise StatsInputError(name, variance, "a variance, which is never negative")
    return value


def sharpe_ratio_std_error(sr: float, n: float, skew: float, kurtosis: float) -> float:
    """Standard error of an estimated per-period Sharpe ratio under IID non-normal returns.

    Formula: sqrt[(1 - skew*SR + (kurtosis - 1)/4 * SR**2) / (n - 1)] (Mertens 2002, with n - 1 as in
    Bailey & López de Prado 2012); for normal returns this is Lo's (2002) sqrt[(1 + SR**2/2) / (n - 1)].

    Conventions: per-period SR, raw kurtosis, n observations.
    """
    sr_value = _finite("sr", sr)
    count = _observations("n", n)
    return math.sqrt(_variance_term(sr_value, skew, kurtosis) / (count - 1.0))


# --------------------------------------------------------------------------------------------------
# PSR and MinTRL (Sharpe Ratio Efficient Frontier)
# --------------------------------------------------------------------------------------------------


def probabilistic_sharpe_ratio(sr: float, sr_benchmark: float, n: float, skew: float, kurtosis: float) -> float:
    """Probability that the true Sharpe ratio exceeds ``sr_benchmark``, given the estimate ``sr``.

    Formula: PSR(SR*) = Z[ (SR - SR*) * sqrt(n - 1) / sqrt(1 - skew*SR + (kurtosis - 1)/4 * SR**2) ].

    Conventions: SR and SR* per period (not annualized); n = number of return observations (it may be
    fractional, e.g. a MinTRL: it enters only through sqrt(n - 1)); skew and raw kurtosis (normal = 3)
    of the same returns; the denominator uses the observed SR.

    Source: Bailey & López de Prado, "The Sharpe Ratio Efficient Frontier" (2012), Eq. for PSR; restated
    in "The Deflated Sharpe Ratio" (2014) and Advances in Financial Machine Learning §14.7.

    Raises StatsInputError for n < 2, kurtosis below 1 (or below skew**2 + 1), or moments that make the
    variance term non-positive.
    """
    sr_value = _finite("sr", sr)
    benchmark = _finite("sr_benchmark", sr_benchmark)
    count = _observations("n", n)
    term = _variance_term(sr_value, skew, kurtosis)
    z = (sr_value - benchmark) * math.sqrt(count - 1.0) / math.sqrt(term)
    return float(_sps.norm.cdf(z))


def min_track_record_length(
    sr: float, sr_benchmark: float, skew: float, kurtosis: float, alpha: float = 0.05
) -> float:
    """Minimum number of observations for PSR(SR*) to reach 1 - alpha: the Minimum Track Record Length.

    Formula: MinTRL = 1 + (1 - skew*SR + (kurtosis - 1)/4 * SR**2) * (Z_alpha / (SR - SR*))**2, with
    Z_alpha = Z^-1(1 - alpha). It is exactly the n at which :func:`probabilistic_sharpe_ratio` equals
    1 - alpha.

    Conventions: per-period SR and SR*, raw kurtosis; the result is a (fractional) number of
    observations in the returns' sampling frequency (divide by periods per year for years).
    **Returns math.inf when SR <= SR***: no track record, however long, lets an observed Sharpe ratio at
    or below the benchmark reject "true SR <= SR*"; inf keeps ``n >= min_track_record_length(...)`` a
    correct (always false) test.

    Source: Bailey & López de Prado, "The Sharpe Ratio Efficient Frontier" (2012), MinTRL equation.

    Raises StatsInputError for alpha outside (0, 1) and for invalid moments (see PSR).
    """
    sr_value = _finite("sr", sr)
    benchmark = _finite("sr_benchmark", sr_benchmark)
    level = _alpha(alpha)
    term = _variance_term(sr_value, skew, kurtosis)
    if sr_value <= benchmark:
        return math.inf
    z_alpha = float(_sps.norm.ppf(1.0 - level))
    return 1.0 + term * (z_alpha / (sr_value - benchmark)) ** 2


# --------------------------------------------------------------------------------------------------
# Expected maximum Sharpe ratio, Deflated Sharpe Ratio, effective number of trials
# --------------------------------------------------------------------------------------------------


def _trial_count(name: str, n_trials: float) -> float:
    count = _finite(name, n_trials)
    if count < 1:
        raise StatsInputError(name, n_trials, "at least 1 trial (an effective count may be fractional)")
    return count


def expected_max_sharpe(n_trials: float, variance: float, mean: float = 0.0) -> float:
    """Expected maximum of ``n_trials`` independent Sharpe ratio estimates (false strategy theorem).

    Formula: E[max] ~= mean + sqrt(variance) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e))),
    g = Euler–Mascheroni constant, e = Euler's number, N = ``n_trials``.

    Conventions: ``variance`` is the variance of the trials' Sharpe ratios and ``mean`` their mean, in
    the same units as the Sharpe ratios (per period for DSR). N may be fractional (an effective count).
    The approximation is derived for N >> 1; for 1 <= N < ~1.3 it falls below the mean, which the
    expected maximum of N >= 1 draws never does, so the bracket is floored at 0: N = 1 gives exactly
    ``mean`` and the result never decreases as N grows.

    Source: Bailey & López de Prado, "The Deflated Sharpe Ratio" (2014), Eq. 1 (after Bailey, Borwein,
    López de Prado & Zhu, "Pseudo-Mathematics and Financial Charlatanism", 2014).

    Raises StatsInputError for n_trials < 1 or a negative variance.
    """
    count = _trial_count("n_trials", n_trials)
    spread = _non_negative_variance("variance", variance)
    centre = _finite("mean", mean)
    if count == 1.0:
        return centre
    bracket = (1.0 - EULER_GAMMA) * float(_sps.norm.ppf(1.0 - 1.0 / count)) + EULER_GAMMA * float(
        _sps.norm.ppf(1.0 - 1.0 / (count * math.e))
    )
    return centre + math.sqrt(spread) * max(bracket, 0.0)


def deflated_sharpe_threshold(n_trials: float, trials_sr_variance: float) -> float:
    """The rejection threshold SR0 of the Deflated Sharpe Ratio: E[max] of N trials with zero mean skill.

    Formula: SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e))), i.e.
    ``expected_max_sharpe(n_trials, trials_sr_variance, mean=0)``.

    Conventions: V is the variance of the trials' **per-period** Sharpe ratios (annual variance / k);
    N the number of independent trials (see :func:`effective_trials`). SR0 is per period.

    Source: Bailey & López de Prado, "The Deflated Sharpe Ratio" (2014), Eq. 2. Their example (N = 100,
    V = 0.5/250) gives SR0 = 0.1132 per day.
    """
    return expected_max_sharpe(n_trials, trials_sr_variance, mean=0.0)


def deflated_sharpe_ratio(  # noqa: PLR0917 -- positional signature fixed by the issue and the papers' notation
    sr: float, n: float, skew: float, kurtosis: float, n_trials: float, trials_sr_variance: float
) -> float:
    """Probability that the selected strategy's true Sharpe ratio is positive, after N trials.

    Formula: DSR = PSR(SR0) = Z[ (SR - SR0) * sqrt(n - 1) / sqrt(1 - skew*SR + (kurtosis - 1)/4 * SR**2) ]
    with SR0 = :func:`deflated_sharpe_threshold` (n_trials, trials_sr_variance).

    Conventions: SR, skew, raw kurtosis and n describe the **selected** strategy's returns (per period);
    ``trials_sr_variance`` is the variance of all trials' per-period Sharpe ratios; ``n_trials`` the number
    of independent trials (fractional allowed). With one trial SR0 = 0 and DSR = PSR(0).

    Source: Bailey & López de Prado, "The Deflated Sharpe Ratio", Journal of Portfolio Management (2014),
    Eq. 2. Their example: annual SR 2.5 on 1250 daily observations, skew -3, kurtosis 10, N = 100,
    annual V = 0.5 -> DSR = 0.9004.

    Raises StatsInputError for n < 2, n_trials < 1, a negative variance, or invalid moments.
    """
    threshold = deflated_sharpe_threshold(n_trials, trials_sr_variance)
    return probabilistic_sharpe_ratio(sr, threshold, n, skew, kurtosis)


def effective_trials(m: int, avg_correlation: float) -> float:
    """Effective number of independent trials among ``m`` correlated ones.

    Formula: N = rho + (1 - rho) * M, rho = the average pairwise correlation of the trials' returns
    (rho = 0 -> N = M independent trials; rho = 1 -> N = 1, all the same trial).

    Conventions: rho in [0, 1]; the result is fractional and is meant to be passed as ``n_trials`` to
    :func:`deflated_sharpe_ratio`. A slightly negative estimate of rho should be clipped to 0 by the
    caller (the formula is an interpolation defined on [0, 1]).

    Source: Bailey & López de Prado, "The Deflated Sharpe Ratio" (2014), Appendix A.3, Eq. 9.
    """
    count = _finite("m", m)
    if count < 1 or count != math.floor(count):
        raise StatsInputError("m", m, "a whole number of trials, at least 1")
    rho = _finite("avg_correlation", avg_correlation)
    if not 0.0 <= rho <= 1.0:
        raise StatsInputError(
            "avg_correlation", avg_correlation, "an average correlation in [0, 1] (clip a slightly negative "
            "estimate to 0)")
    return rho + (1.0 - rho) * count


# --------------------------------------------------------------------------------------------------
# Probability of Backtest Overfitting (combinatorially symmetric cross-validation)
# --------------------------------------------------------------------------------------------------


class PBOResult:
    """What CSCV measured. Arrays have one entry per combination (C(S, S/2) of them), in the order the
    combinations were formed (lexicographic in the block indices of the in-sample half)."""

    __slots__ = (
        "degradation_intercept",
        "degradation_slope",
        "is_performance",
        "logits",
        "n_combinations",
        "n_strategies",
        "oos_performance",
        "oos_relative_rank",
        "pbo",
        "probability_of_loss",
        "standard_error",
    )

    pbo: float
    logits: npt.NDArray[np.float64]
    oos_relative_rank: npt.NDArray[np.float64]
    is_performance: npt.NDArray[np.float64]
    oos_performance: npt.NDArray[np.float64]
    degradation_slope: float
    degradation_intercept: float
    probability_of_loss: float
    standard_error: float
    n_combinations: int
    n_strategies: int

    def __init__(
        self, *, logits: npt.NDArray[np.float64], oos_relative_rank: npt.NDArray[np.float64],
        is_performance: npt.NDArray[np.float64], oos_performance: npt.NDArray[np.float64], n_strategies: int,
    ) -> None:
        self.logits = logits
        self.oos_relative_rank = oos_relative_rank
        self.is_performance = is_performance
        self.oos_performance = oos_performance
        self.n_combinations = int(logits.size)
        self.n_strategies = n_strategies
        # PBO: the share of combinations whose IS-best strategy ranks at or below the OOS median (lambda <= 0).
        self.pbo = float(np.mean(logits <= 0.0))
        self.standard_error = math.sqrt(self.pbo * (1.0 - self.pbo) / self.n_combinations)
        self.probability_of_loss = float(np.mean(oos_performance < 0.0))
        self.degradation_slope, self.degradation_intercept = _ols_line(is_performance, oos_performance)

    def as_dict(self) -> dict[str, object]:
        """Plain Python values (lists for arrays), for result records and state files."""
        return {
            "pbo": self.pbo,
            "standard_error": self.standard_error,
            "n_combinations": self.n_combinations,
            "n_strategies": self.n_strategies,
            "probability_of_loss": self.probability_of_loss,
            "degradation_slope": self.degradation_slope,
            "degradation_intercept": self.degradation_intercept,
            "logits": [float(x) for x in self.logits],
        }

    def __repr__(self) -> str:
        return (
            f"PBOResult(pbo={self.pbo:.4f}, n_combinations={self.n_combinations}, "
            f"n_strategies={self.n_strategies}, degradation_slope={self.degradation_slope:.4g}, "
            f"probability_of_loss={self.probability_of_loss:.4f})"
        )


def _ols_line(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Slope and intercept of y = a + b x by least squares; NaN when x has no spread or is not finite."""
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.nan, math.nan
    dx = x - x.mean()
    spread = float(np.dot(dx, dx))
    if spread == 0.0:
        return math.nan, math.nan
    slope = float(np.dot(dx, y - y.mean())) / spread
    return slope, float(y.mean()) - slope * float(x.mean())


def _half_subsets(n_blocks: int) -> list[tuple[int, ...]]:
    """All subsets of size n_blocks/2 of range(n_blocks), lexicographic (no itertools: see module doc)."""
    half = n_blocks // 2
    subsets: list[tuple[int, ...]] = []
    chosen: list[int] = []

    def extend(start: int) -> None:
        if len(chosen) == half:
            subsets.append(tuple(chosen))
            return
        for block in range(start, n_blocks - (half - len(chosen)) + 1):
            chosen.append(block)
            extend(block + 1)
            chosen.pop()

    extend(0)
    return subsets


def _block_bounds(n_rows: int, n_blocks: int) -> list[tuple[int, int]]:
    """Contiguous blocks; sizes differ by at most one row when n_blocks does not divide n_rows."""
    edges = [round(i * n_rows / n_blocks) for i in range(n_blocks + 1)]
    return [(edges[i], edges[i + 1]) for i in range(n_blocks)]


def _performance_matrix(performance_matrix: npt.ArrayLike) -> npt.NDArray[np.float64]:
    matrix = np.asarray(performance_matrix, dtype=float)
    if matrix.ndim != 2:
        raise StatsInputError(
            "performance_matrix", f"array of shape {matrix.shape}",
            "a 2-D array: one row per period, one column per strategy (trial)")
    if matrix.shape[1] < 2:
        raise StatsInputError(
            "performance_matrix", f"{matrix.shape[1]} strateg{'y' if matrix.shape[1] == 1 else 'ies'}",
            "at least 2 strategies (columns): overfitting is about choosing among several")
    if not np.all(np.isfinite(matrix)):
        raise StatsInputError("performance_matrix", "a matrix containing NaN or inf", "finite values only")
    return matrix


def _partition_count(n_partitions: int, n_rows: int) -> int:
    if isinstance(n_partitions, bool) or int(n_partitions) != n_partitions:
        raise StatsInputError("n_partitions", n_partitions, "an even whole number of blocks")
    count = int(n_partitions)
    if count < 2 or count % 2:
        raise StatsInputError("n_partitions", n_partitions, "an even number of blocks, at least 2 (e.g. 16)")
    if count > n_rows:
        raise StatsInputError(
            "n_partitions", n_partitions, f"at most the number of rows ({n_rows}); every block needs a row")
    return count


def _safe_ratio(mean: npt.NDArray[np.float64], std: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """mean/std with a defined value where std is 0: 0 for a flat 0 series, +-inf for a constant drift."""
    out = np.zeros_like(mean)
    moving = std > 0
    out[moving] = mean[moving] / std[moving]
    flat = ~moving
    out[flat] = np.where(mean[flat] > 0, np.inf, np.where(mean[flat] < 0, -np.inf, 0.0))
    return out


def _sharpe_by_half(
    matrix: npt.NDArray[np.float64], bounds: list[tuple[int, int]], halves: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Per-period Sharpe (sample std) of every column on every half, from per-block sufficient statistics.

    The Sharpe ratio does not depend on the order of rows, so sums of x and x**2 per block give each half's
    mean and variance without concatenating rows (C(16, 8) = 12,870 halves stay cheap). Columns are centred
    first so the variance is not a difference of large numbers.
    """
    centre = matrix.mean(axis=0)
    centred = matrix - centre
    counts = np.array([stop - start for start, stop in bounds], dtype=float)
    sums = np.stack([centred[start:stop].sum(axis=0) for start, stop in bounds])
    squares = np.stack([(centred[start:stop] ** 2).sum(axis=0) for start, stop in bounds])
    weights = halves.astype(float)
    n = weights @ counts
    if np.any(n < 2):
        raise StatsInputError(
            "n_partitions", len(bounds), "few enough blocks that each half has at least 2 rows for the Sharpe "
            "ratio's standard deviation")
    total = weights @ sums
    total_sq = weights @ squares
    mean_centred = total / n[:, None]
    variance = (total_sq - total * mean_centred) / (n[:, None] - 1.0)
    second_moment = total_sq / n[:, None]
    # Rounding leaves ~1e-16 relative noise where a half is constant: call that zero volatility.
    variance = np.where(variance <= 1e-12 * second_moment, 0.0, variance)
    return _safe_ratio(mean_centred + centre, np.sqrt(variance))


def _metric_by_half(
    matrix: npt.NDArray[np.float64], bounds: list[tuple[int, int]], halves: npt.NDArray[np.bool_],
    metric: object,
) -> npt.NDArray[np.float64]:
    if not callable(metric):
        raise StatsInputError("metric", metric, "None (per-period Sharpe ratio) or a function of a 2-D array")
    rows = []
    for mask in halves:
        part = np.concatenate([matrix[start:stop] for (start, stop), used in zip(bounds, mask, strict=True) if used])
        values = np.asarray(metric(part), dtype=float).reshape(-1)
        if values.shape != (matrix.shape[1],):
            raise StatsInputError(
                "metric", metric, f"a function returning one value per strategy ({matrix.shape[1]}), "
                f"got shape {values.shape}")
        rows.append(values)
    result = np.stack(rows)
    if np.any(np.isnan(result)):
        raise StatsInputError("metric", metric, "a function that returns no NaN on the halves of the matrix")
    return result


def _oos_rank_of_best(is_perf: npt.NDArray[np.float64], oos_perf: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Rank (1 = worst, N = best; ties share their average rank) out of sample of each row's IS-best column."""
    best = np.argmax(is_perf, axis=1)  # the first column among ties in sample
    chosen = oos_perf[np.arange(oos_perf.shape[0]), best]
    below = (oos_perf < chosen[:, None]).sum(axis=1)
    tied_others = (oos_perf == chosen[:, None]).sum(axis=1) - 1
    return below + 1.0 + tied_others / 2.0


def probability_of_backtest_overfitting(
    performance_matrix: npt.ArrayLike, n_partitions: int, metric: object = None
) -> PBOResult:
    """Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV).

    Algorithm: split the T rows (periods) of the T x N matrix (one column per trial) into S contiguous
    blocks; for each of the C(S, S/2) ways to pick S/2 blocks as the in-sample half J (the rest, in
    original order, is the out-of-sample half): evaluate every column on both halves, take the IS-best
    column n*, its OOS rank r (1 = worst .. N = best), relative rank w = r / (N + 1) and logit
    lambda = ln(w / (1 - w)). PBO = share of combinations with **lambda <= 0**, i.e. the IS-best
    strategy at or below the OOS median.

    Also measured, cheaply: the performance degradation line OOS(n*) = a + b * IS(n*) by least squares
    across combinations (b < 0 is typical of overfitting; NaN if IS(n*) has no spread or is infinite),
    the probability of loss Prob[OOS(n*) < 0], and PBO's sampling error sqrt(p(1 - p)/C).

    Conventions: rows are synchronous per-period returns (P&L) of the trials. ``metric`` None = the
    per-period Sharpe ratio with sample std (a flat zero column scores 0, a constant positive one +inf);
    otherwise a function mapping a (rows x N) array to N performances, higher = better. Ties: the first
    column among equal IS-best wins; OOS ties share their average rank. The boundary lambda <= 0 counts
    the exact median as overfit (Def. 2.2's strict "r < N/2" does not, when N is even and r = N/2, or when
    N is odd and r = (N + 1)/2), as pypbo does; the text's integral of f(lambda) up to 0 supports it.
    If S does not divide T, block sizes differ by one row. C(16, 8) = 12,870 combinations.

    Source: Bailey, Borwein, López de Prado & Zhu, "The Probability of Backtest Overfitting", Journal of
    Computational Finance 20(4), 2017: Algorithm 2.3 (CSCV), Definition 2.2 and Section 3.

    Raises StatsInputError for a matrix that is not 2-D, has fewer than 2 strategies or non-finite
    values, and for n_partitions odd, below 2 or above the number of rows.
    """
    matrix = _performance_matrix(performance_matrix)
    n_blocks = _partition_count(n_partitions, matrix.shape[0])
    bounds = _block_bounds(matrix.shape[0], n_blocks)
    subsets = _half_subsets(n_blocks)
    in_sample = np.zeros((len(subsets), n_blocks), dtype=bool)
    for row, subset in enumerate(subsets):
        in_sample[row, list(subset)] = True
    if metric is None:
        is_perf = _sharpe_by_half(matrix, bounds, in_sample)
        oos_perf = _sharpe_by_half(matrix, bounds, ~in_sample)
    else:
        is_perf = _metric_by_half(matrix, bounds, in_sample, metric)
        oos_perf = _metric_by_half(matrix, bounds, ~in_sample, metric)
    n_strategies = matrix.shape[1]
    rank = _oos_rank_of_best(is_perf, oos_perf)
    relative = rank / (n_strategies + 1.0)
    best = np.argmax(is_perf, axis=1)
    rows = np.arange(len(subsets))
    return PBOResult(
        logits=np.log(relative / (1.0 - relative)),
        oos_relative_rank=relative,
        is_performance=is_perf[rows, best],
        oos_performance=oos_perf[rows, best],
        n_strategies=n_strategies,
    )


# --------------------------------------------------------------------------------------------------
# Multiple-testing adjustments and the haircut Sharpe ratio (Harvey & Liu)
# --------------------------------------------------------------------------------------------------


def _p_values(p_values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    values = np.asarray(p_values, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise StatsInputError("p_values", f"array of shape {values.shape}", "a non-empty 1-D array of p-values")
    if not np.all((values >= 0.0) & (values <= 1.0)):
        raise StatsInputError("p_values", "values outside [0, 1]", "probabilities between 0 and 1")
    return values


def bonferroni_adjust(p_values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Bonferroni-adjusted p-values, in the input order: min(M * p_i, 1), M = number of tests.

    Source: Harvey & Liu, "Backtesting" (2015), Bonferroni adjustment.
    """
    values = _p_values(p_values)
    return np.minimum(values * values.size, 1.0)


def holm_adjust(p_values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Holm-adjusted p-values, in the input order.

    Formula: with p_(1) <= ... <= p_(M), p_(i)^Holm = min( max_{j<=i} (M - j + 1) * p_(j), 1 ).
    Never above Bonferroni's. Source: Holm (1979); Harvey & Liu, "Backtesting" (2015).
    """
    values = _p_values(p_values)
    order = np.argsort(values, kind="stable")
    count = values.size
    factors = count - np.arange(count)  # M - j + 1 for j = 1..M
    adjusted_sorted = np.minimum(np.maximum.accumulate(factors * values[order]), 1.0)
    adjusted = np.empty_like(values)
    adjusted[order] = adjusted_sorted
    return adjusted


def bhy_adjust(p_values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Benjamini–Hochberg–Yekutieli adjusted p-values as Harvey & Liu define them, in the input order.

    Formula: with p_(1) <= ... <= p_(M) and c(M) = sum_{j=1}^{M} 1/j:
    p_(M)^BHY = p_(M);  p_(i)^BHY = min( p_(i+1)^BHY, M * c(M) / i * p_(i) ) for i <= M - 1.

    Conventions: the largest p-value is left unadjusted, as in Harvey & Liu's paper and program
    (Benjamini & Yekutieli's original also multiplies it by c(M); results differ only when that bound
    binds). Always at least the Benjamini–Hochberg adjustment (c = 1).
    Source: Benjamini & Yekutieli (2001); Harvey & Liu, "Backtesting" (2015).
    """
    values = _p_values(p_values)
    order = np.argsort(values, kind="stable")
    count = values.size
    harmonic = float(np.sum(1.0 / np.arange(1, count + 1)))
    ranks = np.arange(1, count + 1)
    scaled = count * harmonic / ranks * values[order]
    scaled[-1] = values[order][-1]
    adjusted_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty_like(values)
    adjusted[order] = adjusted_sorted
    return adjusted


#: HLZ model parameters by average correlation rho: (rho, p0, lambda), lambda = the mean monthly return
#: of true strategies (a fraction, 0.00555 = 0.555 %). Exhibit 7 of Harvey & Liu's "Backtesting" (2015),
#: as printed.
HLZ_PARAMETERS_PAPER: tuple[tuple[float, float, float], ...] = (
    (0.0, 0.396, 0.00550),
    (0.2, 0.444, 0.00555),
    (0.4, 0.485, 0.00554),
    (0.6, 0.601, 0.00555),
    (0.8, 0.840, 0.00560),
)
#: The same parameters as coded in Harvey & Liu's Haircut_SR program (more digits; p0 differs from the
#: printed exhibit by up to 0.002).
HLZ_PARAMETERS_PROGRAM: tuple[tuple[float, float, float], ...] = (
    (0.0, 0.39660, 0.0054995),
    (0.2, 0.44589, 0.0055508),
    (0.4, 0.48604, 0.0055413),
    (0.6, 0.59902, 0.0055512),
    (0.8, 0.83901, 0.0055956),
)
_HLZ_TABLES = {"paper": HLZ_PARAMETERS_PAPER, "program": HLZ_PARAMETERS_PROGRAM}

# The HLZ simulation's fixed assumptions (Harvey, Liu & Zhu 2016, Section 5.2; Haircut_SR program).
_HLZ_MONTHLY_VOL = 0.15 / math.sqrt(12.0)  # 15 % annual return volatility
_HLZ_MONTHS = 240  # 20 years of monthly observations per simulated strategy


def hlz_parameters(avg_correlation: float, table: str = "paper") -> tuple[float, float]:
    """HLZ model parameters (p0, lambda) at an average correlation, linearly interpolated in rho.

    p0 = probability that a tested strategy has zero mean return; lambda = mean monthly return (a
    fraction) of the true strategies, drawn from an exponential distribution. ``table`` "paper" uses
    Exhibit 7 as printed (the paper's example: rho = 0.3 -> p0 = 0.465, lambda = 0.555 %), "program" the
    constants of Harvey & Liu's Haircut_SR program.

    Conventions: rho in [0, 0.8], the range HLZ estimated; the program extrapolates above 0.8 and
    substitutes rho = 0.2 outside [0, 1), which this function refuses instead.
    Source: Harvey & Liu, "Backtesting" (2015), Exhibit 7; Harvey, Liu & Zhu (2016).
    """
    rho = _finite("avg_correlation", avg_correlation)
    if not 0.0 <= rho <= 0.8:
        raise StatsInputError(
            "avg_correlation", avg_correlation, "an average correlation in [0, 0.8], the range in which Harvey, "
            "Liu & Zhu estimated their model (0.2 is their preferred value)")
    if table not in _HLZ_TABLES:
        raise StatsInputError("table", table, "'paper' (Exhibit 7 as printed) or 'program' (Haircut_SR constants)")
    rows = _HLZ_TABLES[table]
    rhos = [row[0] for row in rows]
    p0 = float(np.interp(rho, rhos, [row[1] for row in rows]))
    lam = float(np.interp(rho, rhos, [row[2] for row in rows]))
    return p0, lam


class HaircutAdjustment:
    """One multiple-testing method's verdict: adjusted p-value, haircut (annual) Sharpe ratio, haircut."""

    __slots__ = ("haircut", "method", "p_value", "sharpe")

    method: str
    p_value: float
    sharpe: float
    haircut: float

    def __init__(self, method: str, p_value: float, sharpe: float, haircut: float) -> None:
        self.method = method
        self.p_value = p_value
        self.sharpe = sharpe
        self.haircut = haircut

    def as_dict(self) -> dict[str, float]:
        return {"p_value": self.p_value, "sharpe": self.sharpe, "haircut": self.haircut}

    def __repr__(self) -> str:
        return (
            f"HaircutAdjustment({self.method}: p={self.p_value:.4f}, sharpe={self.sharpe:.4f}, "
            f"haircut={self.haircut:.1%})"
        )


class HaircutResult:
    """The haircut Sharpe ratio under each adjustment, with the inputs it was derived from."""

    __slots__ = (
        "average",
        "avg_correlation",
        "bhy",
        "bonferroni",
        "holm",
        "months",
        "n_simulations",
        "n_tests",
        "p_value",
        "seed",
        "sharpe_annual",
        "t_stat",
    )

    sharpe_annual: float
    months: int
    t_stat: float
    p_value: float
    bonferroni: HaircutAdjustment
    holm: HaircutAdjustment
    bhy: HaircutAdjustment
    average: HaircutAdjustment
    n_tests: int
    avg_correlation: float
    n_simulations: int
    seed: int

    def __init__(self, **fields: object) -> None:
        for name in self.__slots__:
            setattr(self, name, fields[name])

    def as_dict(self) -> dict[str, object]:
        """Plain Python values, for result records and state files."""
        out: dict[str, object] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = value.as_dict() if isinstance(value, HaircutAdjustment) else value
        return out

    def __repr__(self) -> str:
        return (
            f"HaircutResult(sharpe_annual={self.sharpe_annual:.4f}, months={self.months}, "
            f"p_value={self.p_value:.4g}, bonferroni={self.bonferroni.sharpe:.4f}, "
            f"holm={self.holm.sharpe:.4f}, bhy={self.bhy.sharpe:.4f})"
        )


def _autocorrelation_factor(rho: float, periods_per_year: float) -> float:
    """Lo (2002) scaling of an annualized Sharpe ratio for first-order autocorrelation rho, q periods/year."""
    if rho == 0.0:
        return 1.0
    q = periods_per_year
    inflation = 1.0 + 2.0 * rho / (1.0 - rho) * (1.0 - (1.0 - rho**q) / (q * (1.0 - rho)))
    return inflation**-0.5


def _simulated_t_stats(
    rng: np.random.Generator, n_worlds: int, n_tests: int, avg_correlation: float, hlz: tuple[float, float]
) -> npt.NDArray[np.float64]:
    """|t|-statistics of ``n_tests`` other strategies in each of ``n_worlds`` worlds of the HLZ model.

    A strategy has zero mean with probability p0, else an exponential mean with mean lambda; its 240
    monthly returns have 15 % annual volatility and correlation rho with every other strategy's. The
    program draws a larger panel and keeps the first M columns; the strategies are exchangeable, so drawing
    M directly has the same distribution.
    """
    p0, lam = hlz
    common = rng.standard_normal((n_worlds, 1))
    own = rng.standard_normal((n_worlds, n_tests))
    shocks = math.sqrt(avg_correlation) * common + math.sqrt(1.0 - avg_correlation) * own
    is_true = rng.uniform(size=(n_worlds, n_tests)) > p0
    means = np.where(is_true, rng.exponential(lam, size=(n_worlds, n_tests)), 0.0)
    standard_error = _HLZ_MONTHLY_VOL / math.sqrt(_HLZ_MONTHS)
    return np.abs(means / standard_error + shocks)


def _adjusted_p_in_worlds(p_value: float, simulated_p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The new strategy's Holm and BHY p-values among M + 1 tests, per simulated world: shape (worlds, 2)."""
    n_sim, m = simulated_p.shape
    total = m + 1
    panel = np.sort(np.concatenate([simulated_p, np.full((n_sim, 1), p_value)], axis=1), axis=1)
    # The strategy's position: after every simulated p-value strictly smaller (first among equals).
    position = (simulated_p < p_value).sum(axis=1)
    rows = np.arange(n_sim)
    holm = np.minimum(np.maximum.accumulate(panel * (total - np.arange(total)), axis=1), 1.0)
    harmonic = float(np.sum(1.0 / np.arange(1, total + 1)))
    scaled = panel * (total * harmonic / np.arange(1, total + 1))
    scaled[:, -1] = panel[:, -1]
    bhy = np.minimum.accumulate(scaled[:, ::-1], axis=1)[:, ::-1]
    return np.column_stack([holm[rows, position], bhy[rows, position]])


# Worlds are simulated in batches of at most this many p-values, so memory stays bounded for large M.
_SIMULATION_BATCH_VALUES = 2_000_000


def _median_holm_bhy(
    p_value: float, n_tests: int, *, avg_correlation: float, table: str, n_simulations: int, seed: int
) -> tuple[float, float]:
    """Median over ``n_simulations`` HLZ worlds of the strategy's Holm and BHY adjusted p-values."""
    hlz = hlz_parameters(avg_correlation, table)
    rng = np.random.default_rng(seed)
    batch = max(1, _SIMULATION_BATCH_VALUES // (n_tests + 1))
    per_world = []
    for start in range(0, n_simulations, batch):
        worlds = min(batch, n_simulations - start)
        t_stats = _simulated_t_stats(rng, worlds, n_tests, avg_correlation, hlz)
        per_world.append(_adjusted_p_in_worlds(p_value, 2.0 * _sps.norm.sf(t_stats)))
    medians = np.median(np.concatenate(per_world), axis=0)
    return float(medians[0]), float(medians[1])


def _haircut_inputs(
    sr: float, n_obs: int, n_tests: int, periods_per_year: float, *, autocorrelation: float, n_simulations: int
) -> tuple[float, int, int, float, int]:
    sr_value = _finite("sr", sr)
    if sr_value <= 0:
        raise StatsInputError("sr", sr, "a positive Sharpe ratio (there is nothing to haircut otherwise)")
    if int(n_tests) != n_tests or n_tests < 1:
        raise StatsInputError("n_tests", n_tests, "a whole number of tests, at least 1")
    k = _periods_per_year(periods_per_year)
    rho = _finite("autocorrelation", autocorrelation)
    if not -1.0 < rho < 1.0:
        raise StatsInputError("autocorrelation", autocorrelation, "a first-order autocorrelation in (-1, 1)")
    if int(n_obs) != n_obs or n_obs < 1:
        raise StatsInputError("n_obs", n_obs, "a whole number of return observations")
    months = math.floor(int(n_obs) * 12 / k)
    if months < 2:
        raise StatsInputError(
            "n_obs", n_obs, f"enough observations for at least 2 months at {k:g} per year (the t-test has "
            "months - 1 degrees of freedom)")
    if int(n_simulations) != n_simulations or n_simulations < 1:
        raise StatsInputError("n_simulations", n_simulations, "a whole number of simulations, at least 1")
    return sr_value, int(n_tests), months, rho, int(n_simulations)


def haircut_sharpe_ratio(
    sr: float,
    n_obs: int,
    n_tests: int,
    periods_per_year: float = 12,
    *,
    annualized: bool = True,
    autocorrelation: float = 0.0,
    avg_correlation: float = 0.2,
    n_simulations: int = 2000,
    seed: int = 20150701,
    table: str = "paper",
) -> HaircutResult:
    """Haircut Sharpe ratio: the Sharpe ratio a strategy deserves after ``n_tests`` tests were tried.

    Steps (Harvey & Liu 2015 and their Haircut_SR program):

    1. Annual SR: SR * sqrt(q) if ``annualized`` is False (q = ``periods_per_year``), times Lo's (2002)
       autocorrelation factor [1 + 2 rho/(1 - rho) * (1 - (1 - rho**q)/(q (1 - rho)))]**-0.5
       (factor 1 when ``autocorrelation`` = 0, i.e. already corrected or uncorrelated).
    2. Months N = floor(n_obs * 12 / q); monthly SR = SR_annual / sqrt(12); t = SR_monthly * sqrt(N);
       single-test p = 2 * (1 - T_{N-1}(t)) (Student t, two-sided).
    3. Bonferroni: p = min(M * p, 1). Holm and BHY: the strategy's adjusted p among M + 1 tests (M others
       simulated from the HLZ model at ``avg_correlation``, plus itself), median over ``n_simulations``
       simulated worlds; BHY uses c(M + 1). Average: the mean of the three adjusted p-values.
    4. Invert each adjusted p: z = T_{N-1}^-1(1 - p/2), haircut SR = z / sqrt(N) * sqrt(12);
       haircut = (SR_annual - haircut SR) / SR_annual.

    Conventions: the program's daily convention is q = 360 (it also uses 52, 12, 4, 1); qcloop passes the
    frequency it actually has (252 trading days). The simulation is deterministic: numpy's PCG64 seeded
    with ``seed``; the program uses 2,000 simulations (the paper's text mentions 5,000), so Holm/BHY carry
    Monte Carlo noise of roughly +-0.01 in p at the default size. ``table`` picks the HLZ parameters
    (see :func:`hlz_parameters`).

    Source: Harvey & Liu, "Backtesting", Journal of Portfolio Management 42(1), 2015, Eqs. 3-5 and the
    Bonferroni, Holm and BHY adjustments; Harvey, Liu & Zhu (2016) for the simulation model.

    Raises StatsInputError for a non-positive SR, n_tests < 1, fewer than 2 months of data, an
    autocorrelation outside (-1, 1) or an average correlation outside [0, 0.8].
    """
    sr_value, m, months, rho, n_sim = _haircut_inputs(
        sr, n_obs, n_tests, periods_per_year, autocorrelation=autocorrelation, n_simulations=n_simulations)
    q = float(periods_per_year)
    sr_annual = (sr_value if annualized else sr_value * math.sqrt(q)) * _autocorrelation_factor(rho, q)
    t_stat = sr_annual / math.sqrt(12.0) * math.sqrt(months)
    dof = months - 1
    p_single = float(2.0 * _sps.t.sf(t_stat, dof))
    p_bonferroni = min(m * p_single, 1.0)
    rho_trials = _finite("avg_correlation", avg_correlation)
    p_holm, p_bhy = _median_holm_bhy(
        p_single, m, avg_correlation=rho_trials, table=table, n_simulations=n_sim, seed=int(seed))
    p_average = (p_bonferroni + p_holm + p_bhy) / 3.0

    def adjust(method: str, p_adjusted: float) -> HaircutAdjustment:
        z = float(_sps.t.isf(p_adjusted / 2.0, dof))
        # An adjusted p is never below the single-test p, so the haircut SR never exceeds the original; the
        # cap also covers p-values that underflow to 0 for enormous t-statistics (z = inf).
        haircut_sr = min(z / math.sqrt(months) * math.sqrt(12.0), sr_annual)
        return HaircutAdjustment(method, p_adjusted, haircut_sr, (sr_annual - haircut_sr) / sr_annual)

    return HaircutResult(
        sharpe_annual=sr_annual, months=months, t_stat=t_stat, p_value=p_single,
        bonferroni=adjust("bonferroni", p_bonferroni), holm=adjust("holm", p_holm),
        bhy=adjust("bhy", p_bhy), average=adjust("average", p_average),
        n_tests=m, avg_correlation=float(avg_correlation), n_simulations=n_sim, seed=int(seed),
    )


# --------------------------------------------------------------------------------------------------
# Walk-forward efficiency (Pardo)
# --------------------------------------------------------------------------------------------------


def _annual_rate(name: str, total_return: float, years: float) -> float:
    total = _finite(name, total_return)
    if total < -1.0:
        raise StatsInputError(name, total_return, "a total return of at least -1 (-100 %)")
    return (1.0 + total) ** (1.0 / years) - 1.0


def _years(name: str, years: float) -> float:
    value = _finite(name, years)
    if value <= 0:
        raise StatsInputError(name, years, "a positive window length in years (e.g. 0.5 for six months)")
    return value


def walk_forward_efficiency(is_return: float, is_years: float, oos_return: float, oos_years: float) -> float:
    """Walk-forward efficiency: annualized out-of-sample return / annualized in-sample return.

    Formula: WFE = ((1 + R_oos)**(1/Y_oos) - 1) / ((1 + R_is)**(1/Y_is) - 1), with R the total (compound)
    return of a window as a fraction and Y its length in years.

    Conventions: **compound** annualization (the CAGR convention of LEAN's "Compounding Annual Return"),
    result as a ratio (0.73, not 73 %). Example (constructed): IS 2 years +30 %, OOS 0.5 years +5 % ->
    14.018 %/yr vs 10.25 %/yr -> WFE = 0.7312 (simple annualization would give 0.6667). For several OOS
    windows pass their chained return and total length. Readers of Pardo quote > 0.5-0.6 as robust; those
    thresholds are folklore, and qcloop treats WFE as a secondary diagnostic.

    Source: Pardo, "The Evaluation and Optimization of Trading Strategies" (2nd ed., 2008), walk-forward
    efficiency, as reported by its readers.

    Raises StatsInputError when the in-sample return is <= 0 (the ratio then has no meaning: its sign
    flips), for non-positive window lengths, or for returns below -100 %.
    """
    is_total = _finite("is_return", is_return)
    if is_total <= 0:
        raise StatsInputError(
            "is_return", is_return, "a positive in-sample return; with an in-sample loss there is nothing for "
            "the out-of-sample period to be efficient relative to")
    is_rate = _annual_rate("is_return", is_total, _years("is_years", is_years))
    oos_rate = _annual_rate("oos_return", oos_return, _years("oos_years", oos_years))
    return oos_rate / is_rate
