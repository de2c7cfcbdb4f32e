"""LEAN's portfolio statistics and their exact summary strings (reference/lean-engine.md §6).

Where LEAN computes in C# ``decimal`` this module uses ``Decimal`` (28 significant digits), where it uses
``double`` it uses floats, and conversions copy C#'s: ``(decimal)double`` keeps 15 significant digits,
``Math.Round`` rounds half to even, ``decimal.ToString()`` keeps the scale (``2.200``), ``double``
prints in shortest form, and ``ToString("0.00")`` rounds half away from zero.

Series alignment: the first two performance points and the first benchmark return are dropped; with
fewer than two returns only Start Equity, End Equity and Portfolio Turnover are computed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from orchestrator.engine.lean_files import InterestRates

ZERO = Decimal(0)
TRADING_DAYS_PER_YEAR = 252
DECIMAL_MAX = Decimal("79228162514264337593543950335")

SUMMARY_KEYS = (
    "Total Orders", "Average Win", "Average Loss", "Compounding Annual Return", "Drawdown", "Expectancy",
    "Start Equity", "End Equity", "Net Profit", "Sharpe Ratio", "Sortino Ratio", "Probabilistic Sharpe Ratio",
    "Loss Rate", "Win Rate", "Profit-Loss Ratio", "Alpha", "Beta", "Annual Standard Deviation",
    "Annual Variance", "Information Ratio", "Tracking Error", "Treynor Ratio", "Total Fees",
    "Estimated Strategy Capacity", "Lowest Capacity Asset", "Portfolio Turnover", "Drawdown Recovery",
)


# -- C# number semantics --------------------------------------------------------------------------------

def decimal_from_double(value: float) -> Decimal:
    """C#'s ``(decimal)double``: 15 significant digits (0 for NaN would throw in C#; callers check)."""
    if value == 0 or not math.isfinite(value):
        return ZERO
    return Decimal(format(value, ".15g"))


def safe_decimal_cast(value: float) -> Decimal:
    """LEAN's SafeDecimalCast: clamp to the decimal range, then convert."""
    if math.isnan(value):
        return ZERO
    if value >= float(DECIMAL_MAX):
        return DECIMAL_MAX
    if value <= -float(DECIMAL_MAX):
        return -DECIMAL_MAX
    return decimal_from_double(value)


def round_decimal(value: Decimal, digits: int) -> Decimal:
    """C#'s ``Math.Round(decimal, digits)``: half to even, never adds decimals."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -digits:
        return value
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)


def round_double(value: float, digits: int) -> float:
    """C#'s ``Math.Round(double, digits)``: scale by 10^digits, round half to even, scale back."""
    if abs(value) >= 1e16 or not math.isfinite(value):
        return value
    power = 10.0 ** digits
    return round(value * power) / power


def format_decimal(value: Decimal) -> str:
    """C#'s ``decimal.ToString()``: plain digits, scale kept, no exponent, no negative zero."""
    text = format(value, "f")
    if text.startswith("-") and value == 0:
        text = text[1:]
    return text


def format_double(value: float) -> str:
    """C#'s ``double.ToString()``: the shortest round-trip form (``-0`` printed as ``0``)."""
    if value == 0:
        return "0"
    text = repr(value)
    if text.endswith(".0"):
        text = text[:-2]
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}E{sign}{exponent.lstrip('+-').zfill(2)}"
    return text


def format_money(value: Decimal) -> str:
    """C#'s ``ToString("0.00")``: two decimals, rounded half away from zero."""
    return format_decimal(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# -- MathNet-style sample statistics (doubles) ----------------------------------------------------------

def mean(values: Sequence[float]) -> float:
    total = 0.0
    for value in values:
        total += value
    return total / len(values) if values else math.nan


def variance(values: Sequence[float]) -> float:
    """Sample variance (n - 1), NaN below two values."""
    count = len(values)
    if count < 2:
        return math.nan
    mu = mean(values)
    return sum((v - mu) ** 2 for v in values) / (count - 1)


def covariance(a: Sequence[float], b: Sequence[float]) -> float:
    count = len(a)
    if count < 2 or count != len(b):
        return math.nan
    mean_a, mean_b = mean(a), mean(b)
    return sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True)) / (count - 1)


def skewness(values: Sequence[float]) -> float:
    """Unbiased sample skewness (G1)."""
    n = len(values)
    if n < 3:
        return math.nan
    mu = mean(values)
    m2 = sum((v - mu) ** 2 for v in values)
    m3 = sum((v - mu) ** 3 for v in values)
    if m2 == 0:
        return math.nan
    return n * math.sqrt(n - 1) / (n - 2) * m3 / m2 ** 1.5


def kurtosis(values: Sequence[float]) -> float:
    """Unbiased sample excess kurtosis (G2)."""
    n = len(values)
    if n < 4:
        return math.nan
    mu = mean(values)
    m2 = sum((v - mu) ** 2 for v in values)
    m4 = sum((v - mu) ** 4 for v in values)
    if m2 == 0:
        return math.nan
    return (n * n - 1) / ((n - 2) * (n - 3)) * (n * m4 / (m2 * m2) - 3 + 6 / (n + 1))


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


# -- the statistics ----------------------------------------------------------------------------------------

@dataclass
class PortfolioStatistics:
    """LEAN's PortfolioStatistics (decimals), before formatting."""

    average_win_rate: Decimal = ZERO
    average_loss_rate: Decimal = ZERO
    profit_loss_ratio: Decimal = ZERO
    win_rate: Decimal = ZERO
    loss_rate: Decimal = ZERO
    expectancy: Decimal = ZERO
    start_equity: Decimal = ZERO
    end_equity: Decimal = ZERO
    compounding_annual_return: Decimal = ZERO
    drawdown: Decimal = ZERO
    total_net_profit: Decimal = ZERO
    sharpe_ratio: Decimal = ZERO
    probabilistic_sharpe_ratio: Decimal = ZERO
    sortino_ratio: Decimal = ZERO
    alpha: Decimal = ZERO
    beta: Decimal = ZERO
    annual_standard_deviation: Decimal = ZERO
    annual_variance: Decimal = ZERO
    information_ratio: Decimal = ZERO
    tracking_error: Decimal = ZERO
    treynor_ratio: Decimal = ZERO
    portfolio_turnover: Decimal = ZERO
    value_at_risk_99: Decimal = ZERO
    value_at_risk_95: Decimal = ZERO
    drawdown_recovery: int = 0

    def to_json(self) -> dict[str, float]:
        names = {
            "average_win_rate": "averageWinRate", "average_loss_rate": "averageLossRate",
            "profit_loss_ratio": "profitLossRatio", "win_rate": "winRate", "loss_rate": "lossRate",
            "expectancy": "expectancy", "start_equity": "startEquity", "end_equity": "endEquity",
            "compounding_annual_return": "compoundingAnnualReturn", "drawdown": "drawdown",
            "total_net_profit": "totalNetProfit", "sharpe_ratio": "sharpeRatio",
            "probabilistic_sharpe_ratio": "probabilisticSharpeRatio", "sortino_ratio": "sortinoRatio",
            "alpha": "alpha", "beta": "beta", "annual_standard_deviation": "annualStandardDeviation",
            "annual_variance": "annualVariance", "information_ratio": "informationRatio",
            "tracking_error": "trackingError", "treynor_ratio": "treynorRatio",
            "portfolio_turnover": "portfolioTurnover", "value_at_risk_99": "valueAtRisk99",
            "value_at_risk_95": "valueAtRisk95", "drawdown_recovery": "drawdownRecovery",
        }
        return {wire: float(getattr(self, attr)) for attr, wire in names.items()}


@dataclass
class StatisticsInput:
    equity: list[tuple[dt.datetime, Decimal]]  # (UTC time, value)
    performance: list[Decimal]  # percent points, in order
    benchmark: list[Decimal]  # benchmark values, in order
    turnover: list[Decimal]
    profit_loss: list[tuple[dt.datetime, Decimal]]  # in time order
    starting_capital: Decimal
    rates: InterestRates
    trading_days: int = TRADING_DAYS_PER_YEAR
    extra: dict[str, str] = field(default_factory=dict)


def _algorithm_returns(performance: list[Decimal]) -> list[float]:
    return [float(p / 100) for p in performance[2:]]


def _benchmark_returns(benchmark: list[Decimal]) -> list[float]:
    changes = []
    for previous, current in itertools.pairwise(benchmark):
        changes.append(float((current - previous) / previous) if previous != 0 else 0.0)
    return changes[1:]


def annual_performance(returns: list[float], trading_days: int) -> Decimal:
    return safe_decimal_cast((mean(returns) + 1) ** trading_days - 1)


def drawdown_percent(values: list[Decimal], digits: int = 3) -> Decimal:
    if not values:
        return ZERO
    high = values[0]
    worst = ZERO
    for value in values:
        high = max(high, value)
        if high > 0:
            worst = min(worst, value / high - 1)
    return round_decimal(abs(worst), digits)


def drawdown_recovery_days(equity: list[tuple[dt.datetime, Decimal]]) -> int:
    """The longest time, in whole days, from the last point at a peak to the first point back at it.

    A drawdown starts after the last point at the running maximum (equal values keep moving the peak
    time forward) and ends at the first later point at or above that maximum; a drawdown that never
    recovers does not count.
    """
    longest = 0
    peak_value: Decimal | None = None
    peak_time: dt.datetime | None = None
    in_drawdown = False
    for time, value in equity:
        if peak_value is None:
            peak_value, peak_time = value, time
        elif value < peak_value:
            in_drawdown = True
        else:
            if in_drawdown:
                assert peak_time is not None
                longest = max(longest, int((time - peak_time).total_seconds() // 86400))
                in_drawdown = False
            peak_value, peak_time = value, time
    return longest


def compute_statistics(data: StatisticsInput) -> PortfolioStatistics:
    stats = PortfolioStatistics()
    stats.start_equity = data.starting_capital
    stats.end_equity = data.equity[-1][1] if data.equity else ZERO
    if data.turnover:
        stats.portfolio_turnover = sum(data.turnover, ZERO) / len(data.turnover)
    stats.drawdown_recovery = drawdown_recovery_days(data.equity)
    r_alg = _algorithm_returns(data.performance)
    r_bm = _benchmark_returns(data.benchmark)
    # LEAN pads the shorter list with zeros (EnsureSameLength); with daily samples they are equal
    if len(r_bm) < len(r_alg):
        r_bm = r_bm + [0.0] * (len(r_alg) - len(r_bm))
    elif len(r_alg) < len(r_bm):
        r_alg = r_alg + [0.0] * (len(r_bm) - len(r_alg))
    if data.starting_capital == 0 or len(r_bm) < 2 or len(r_alg) < 2:
        return stats
    _trade_statistics(stats, data)
    last = data.equity[-1][1]
    stats.total_net_profit = last / data.starting_capital - 1
    days = (data.equity[-1][0] - data.equity[0][0]).total_seconds() / 86400
    years = decimal_from_double(days) / 365
    if years != 0:
        car = (float(last) / float(data.starting_capital)) ** (1 / float(years)) - 1
        stats.compounding_annual_return = ZERO if not math.isfinite(car) else safe_decimal_cast(car)
    stats.drawdown = drawdown_percent([value for _, value in data.equity], 3)
    n = data.trading_days
    annual_variance = variance(r_alg) * n
    stats.annual_variance = safe_decimal_cast(annual_variance) if math.isfinite(annual_variance) else ZERO
    stats.annual_standard_deviation = decimal_from_double(math.sqrt(float(stats.annual_variance)))
    benchmark_performance = annual_performance(r_bm, n)
    performance = annual_performance(r_alg, n)
    rates = [data.rates.rate_on(time.date()) for time, _ in data.equity]
    risk_free = sum(rates, ZERO) / len(rates) if rates else ZERO
    if stats.annual_standard_deviation != 0:
        stats.sharpe_ratio = (performance - risk_free) / stats.annual_standard_deviation
    downside = _annual_downside_deviation(r_alg, n)
    if downside != 0:
        stats.sortino_ratio = (performance - risk_free) / downside
    benchmark_variance = variance(r_bm)
    if math.isfinite(benchmark_variance) and benchmark_variance != 0:
        stats.beta = decimal_from_double(covariance(r_alg, r_bm) / benchmark_variance)
    if stats.beta != 0:
        stats.alpha = performance - (risk_free + stats.beta * (benchmark_performance - risk_free))
        stats.treynor_ratio = (performance - risk_free) / stats.beta
    differences = [a - b for a, b in zip(r_alg, r_bm, strict=True)]
    tracking = math.sqrt(variance(differences) * n)
    stats.tracking_error = decimal_from_double(tracking) if math.isfinite(tracking) else ZERO
    if stats.tracking_error != 0:
        stats.information_ratio = (performance - benchmark_performance) / stats.tracking_error
    stats.probabilistic_sharpe_ratio = safe_decimal_cast(
        _probabilistic_sharpe_ratio(r_alg, 1 / math.sqrt(n), float(risk_free) / n))
    stats.value_at_risk_99 = _value_at_risk(r_alg, n, 0.99)
    stats.value_at_risk_95 = _value_at_risk(r_alg, n, 0.95)
    return stats


def _trade_statistics(stats: PortfolioStatistics, data: StatisticsInput) -> None:
    running = data.starting_capital
    total_profit = total_loss = ZERO
    wins = losses = 0
    for _, pnl in data.profit_loss:
        if pnl > 0:
            total_profit += pnl / running
            wins += 1
        else:
            total_loss += pnl / running
            losses += 1
        running += pnl
    stats.average_win_rate = total_profit / wins if wins else ZERO
    stats.average_loss_rate = total_loss / losses if losses else ZERO
    stats.profit_loss_ratio = stats.average_win_rate / abs(stats.average_loss_rate) \
        if stats.average_loss_rate != 0 else ZERO
    trades = wins + losses
    stats.win_rate = Decimal(wins) / trades if trades else ZERO
    stats.loss_rate = Decimal(losses) / trades if trades else ZERO
    stats.expectancy = stats.win_rate * stats.profit_loss_ratio - stats.loss_rate


def _annual_downside_deviation(returns: list[float], trading_days: int) -> Decimal:
    negatives = [r for r in returns if r < 0]
    if len(negatives) < 2:
        return ZERO
    value = math.sqrt(variance(negatives) * trading_days)
    return safe_decimal_cast(value) if math.isfinite(value) else ZERO


def _probabilistic_sharpe_ratio(returns: list[float], benchmark_sharpe: float, daily_risk_free: float) -> float:
    deviation = math.sqrt(variance(returns)) if len(returns) > 1 else math.nan
    usable = math.isfinite(deviation) and deviation != 0
    observed = (mean(returns) - daily_risk_free) / deviation if usable else 0.0
    skew, kurt = skewness(returns), kurtosis(returns)
    inner = (1 - skew * observed + (kurt - 1) / 4 * observed ** 2) / (len(returns) - 1)
    if math.isnan(inner) or inner < 0:
        return 0.0
    estimate = math.sqrt(inner)
    if estimate == 0 or math.isnan(estimate):
        return 0.0
    return normal_cdf((observed - benchmark_sharpe) / estimate)


def _value_at_risk(returns: list[float], lookback: int, confidence: float) -> Decimal:
    period = returns[-lookback:]
    if len(period) < 2:
        return ZERO
    mu = mean(period)
    sigma = math.sqrt(variance(period))
    from statistics import NormalDist

    if sigma == 0 or not math.isfinite(sigma):
        return ZERO
    value = NormalDist(mu, sigma).inv_cdf(1 - confidence)
    return round_decimal(decimal_from_double(value), 3)


# -- the summary strings ------------------------------------------------------------------------------------

def _percent(value: Decimal, digits: int) -> str:
    return format_decimal(round_decimal(value * 100, digits)) + "%"


def _double(value: Decimal) -> str:
    return format_double(round_double(float(value), 3))


def summary(stats: PortfolioStatistics, total_orders: int, total_fees: Decimal, capacity: str,
            lowest_capacity_asset: str) -> dict[str, str]:
    """The ``statistics`` dict of a backtest, with LEAN's keys in the API's order."""
    try:
        values = {
            "Total Orders": str(total_orders),
            "Average Win": _percent(stats.average_win_rate, 2),
            "Average Loss": _percent(stats.average_loss_rate, 2),
            "Compounding Annual Return": _percent(stats.compounding_annual_return, 3),
            "Drawdown": _percent(stats.drawdown, 3),
            "Expectancy": format_decimal(round_decimal(stats.expectancy, 3)),
            "Start Equity": format_decimal(round_decimal(stats.start_equity, 2)),
            "End Equity": format_decimal(round_decimal(stats.end_equity, 2)),
            "Net Profit": _percent(stats.total_net_profit, 3),
            "Sharpe Ratio": _double(stats.sharpe_ratio),
            "Sortino Ratio": _double(stats.sortino_ratio),
            "Probabilistic Sharpe Ratio": _percent(stats.probabilistic_sharpe_ratio, 3),
            "Loss Rate": _percent(stats.loss_rate, 0),
            "Win Rate": _percent(stats.win_rate, 0),
            "Profit-Loss Ratio": format_decimal(round_decimal(stats.profit_loss_ratio, 2)),
            "Alpha": _double(stats.alpha),
            "Beta": _double(stats.beta),
            "Annual Standard Deviation": _double(stats.annual_standard_deviation),
            "Annual Variance": _double(stats.annual_variance),
            "Information Ratio": _double(stats.information_ratio),
            "Tracking Error": _double(stats.tracking_error),
            "Treynor Ratio": _double(stats.treynor_ratio),
            "Total Fees": "$" + format_money(total_fees),
            "Estimated Strategy Capacity": capacity,
            "Lowest Capacity Asset": lowest_capacity_asset,
            "Portfolio Turnover": _percent(stats.portfolio_turnover, 2),
            "Drawdown Recovery": str(stats.drawdown_recovery),
        }
    except InvalidOperation as exc:  # pragma: no cover - a decimal overflow would be a bug
        raise ArithmeticError(f"statistics could not be formatted: {exc}") from exc
    return {key: values[key] for key in SUMMARY_KEYS}
