"""BacktestMetrics: numbers from LEAN's statistics strings (the exact strings of lean-regressions.md),
from totalPerformance, and from optimization arrays. Expected numbers are the strings read by hand."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.cloud.metrics import (
    OPTIMIZATION_STATISTICS_ORDER,
    BacktestMetrics,
    metrics_from_backtest,
    metrics_from_optimization,
    metrics_from_statistics,
    parse_statistic,
)
from orchestrator.cloud.schemas import Backtest, OptimizationStatistics

from . import payloads as p

# reference/lean-regressions.md §3, MACDTrendAlgorithm (copied verbatim; OrderListHash left out)
MACD_TREND_STATISTICS = {
    "Total Orders": "85", "Average Win": "4.78%", "Average Loss": "-4.16%",
    "Compounding Annual Return": "2.952%", "Drawdown": "34.900%", "Expectancy": "0.228",
    "Start Equity": "100000", "End Equity": "137751.04", "Net Profit": "37.751%", "Sharpe Ratio": "0.029",
    "Sortino Ratio": "0.022", "Probabilistic Sharpe Ratio": "0.005%", "Loss Rate": "43%", "Win Rate": "57%",
    "Profit-Loss Ratio": "1.15", "Alpha": "-0.015", "Beta": "0.411", "Annual Standard Deviation": "0.103",
    "Annual Variance": "0.011", "Information Ratio": "-0.34", "Tracking Error": "0.123", "Treynor Ratio": "0.007",
    "Total Fees": "$468.54", "Estimated Strategy Capacity": "$950000000.00",
    "Lowest Capacity Asset": "SPY R735QTJ8XC9X", "Portfolio Turnover": "2.09%", "Drawdown Recovery": "1931",
}
# reference/lean-regressions.md §2, BasicTemplateDailyAlgorithm (the keys this test reads)
DAILY_STATISTICS = {
    "Total Orders": "1", "Compounding Annual Return": "424.375%", "Drawdown": "0.800%", "Sharpe Ratio": "17.304",
    "Sortino Ratio": "35.217", "Probabilistic Sharpe Ratio": "96.710%", "Information Ratio": "-19",
    "Annual Variance": "0.02", "Total Fees": "$3.49", "Estimated Strategy Capacity": "$1200000000.00",
    "Portfolio Turnover": "10.01%", "End Equity": "104486.22",
}


@pytest.mark.parametrize(("text", "expected"), [
    ("15.3%", 0.153),
    ("$3.44", 3.44),
    ("-19", -19.0),
    ("1,234.5", 1234.5),
    ("$104,393.19", 104393.19),
    ("-$100.00", -100.0),
    ("$-100.00", -100.0),
    ("4.39 %", 0.0439),        # .NET "P" format with a space
    ("€0.00", 0.0),
    ("CHF12.50", 12.5),
    ("5.400%", 0.054),
    ("0.000%", 0.0),
    ("1.5E-05", 1.5e-05),
    (" 42 ", 42.0),
    (7, 7.0),
    (0.25, 0.25),
])
def test_parse_statistic(text: Any, expected: float) -> None:
    assert parse_statistic(text) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("text", ["", "   ", "N/A", "$", "%", None, True, "SPY R735QTJ8XC9X", "0.01 QCC",
                                  "12abc"])
def test_parse_statistic_gives_none_for_non_numbers(text: Any) -> None:
    assert parse_statistic(text) is None


def test_basic_template_statistics_strings() -> None:
    metrics = metrics_from_statistics(p.BASIC_TEMPLATE_STATISTICS)
    # each expected value is the string of lean-regressions.md §1 read by hand (percent / 100)
    assert metrics.total_orders == 1
    assert metrics.compounding_annual_return == pytest.approx(2.71453)       # "271.453%"
    assert metrics.drawdown == pytest.approx(0.022)                          # "2.200%"
    assert metrics.net_profit == pytest.approx(0.01692)                      # "1.692%"
    assert metrics.sharpe_ratio == pytest.approx(8.854)
    assert metrics.sortino_ratio == 0.0                                      # "0" is a number, not absent
    assert metrics.probabilistic_sharpe_ratio == pytest.approx(0.67459)     # "67.459%"
    assert metrics.alpha == pytest.approx(-0.005) and metrics.beta == pytest.approx(0.996)
    assert metrics.information_ratio == pytest.approx(-14.565)
    assert metrics.treynor_ratio == pytest.approx(1.97)
    assert metrics.total_fees == pytest.approx(3.44)                         # "$3.44"
    assert metrics.start_equity == 100000.0 and metrics.end_equity == pytest.approx(101691.92)
    assert metrics.portfolio_turnover == pytest.approx(0.1993)               # "19.93%"
    assert metrics.estimated_strategy_capacity == 56_000_000.0               # "$56000000.00"
    assert metrics.lowest_capacity_asset == "SPY R735QTJ8XC9X"
    assert metrics.drawdown_recovery == 3.0
    # not in the strings and no totalPerformance given
    assert metrics.profit_factor is None and metrics.closed_trades is None


def test_macd_trend_statistics_strings() -> None:
    metrics = metrics_from_statistics(MACD_TREND_STATISTICS)
    assert metrics.total_orders == 85
    assert metrics.average_win == pytest.approx(0.0478) and metrics.average_loss == pytest.approx(-0.0416)
    assert metrics.win_rate == pytest.approx(0.57) and metrics.loss_rate == pytest.approx(0.43)
    assert metrics.profit_loss_ratio == pytest.approx(1.15) and metrics.expectancy == pytest.approx(0.228)
    assert metrics.drawdown == pytest.approx(0.349)                          # "34.900%"
    assert metrics.probabilistic_sharpe_ratio == pytest.approx(0.00005)     # "0.005%"
    assert metrics.annual_standard_deviation == pytest.approx(0.103)
    assert metrics.annual_variance == pytest.approx(0.011)
    assert metrics.tracking_error == pytest.approx(0.123)
    assert metrics.total_fees == pytest.approx(468.54)
    assert metrics.end_equity == pytest.approx(137751.04)
    assert metrics.portfolio_turnover == pytest.approx(0.0209)
    assert metrics.drawdown_recovery == 1931.0


def test_basic_template_daily_statistics_strings() -> None:
    metrics = metrics_from_statistics(DAILY_STATISTICS)
    assert metrics.compounding_annual_return == pytest.approx(4.24375)
    assert metrics.information_ratio == -19.0                               # "-19"
    assert metrics.annual_variance == pytest.approx(0.02)                   # "0.02"
    assert metrics.sortino_ratio == pytest.approx(35.217)
    assert metrics.total_fees == pytest.approx(3.49)
    assert metrics.estimated_strategy_capacity == 1_200_000_000.0
    # keys absent from this dict stay None, never 0
    assert metrics.alpha is None and metrics.win_rate is None and metrics.start_equity is None


def test_total_performance_fills_what_the_strings_lack() -> None:
    backtest = Backtest.model_validate(p.backtest_finished())
    metrics = backtest.metrics()
    assert metrics.sharpe_ratio == pytest.approx(8.854)                  # from the string, not 8.8541
    assert metrics.profit_factor == 0.0                                  # tradeStatistics.profitFactor
    assert metrics.closed_trades == 0 and metrics.winning_trades == 0
    assert metrics_from_backtest(p.backtest_finished()) == metrics      # a plain dict gives the same


def test_portfolio_statistics_are_the_fallback_for_missing_strings() -> None:
    performance = {
        "portfolioStatistics": {"sharpeRatio": 1.25, "drawdown": 0.12, "compoundingAnnualReturn": 0.08,
                                "startEquity": 100000, "endEquity": 150000.5, "probabilisticSharpeRatio": 0.9},
        "tradeStatistics": {"profitFactor": 1.8, "totalFees": 12.5, "totalNumberOfTrades": 14,
                            "numberOfWinningTrades": 9, "numberOfLosingTrades": 5},
        "closedTrades": [{}] * 14,
    }
    metrics = metrics_from_statistics({"Sharpe Ratio": ""}, performance)
    assert metrics.sharpe_ratio == 1.25 and metrics.drawdown == 0.12
    assert metrics.compounding_annual_return == 0.08 and metrics.probabilistic_sharpe_ratio == 0.9
    assert metrics.end_equity == 150000.5 and metrics.total_fees == 12.5 and metrics.profit_factor == 1.8
    assert (metrics.closed_trades, metrics.winning_trades, metrics.losing_trades) == (14, 9, 5)


def test_closed_trades_are_counted_when_trade_statistics_are_absent() -> None:
    metrics = metrics_from_statistics({}, {"closedTrades": [{"profitLoss": 1}, {"profitLoss": -2}]})
    assert metrics.closed_trades == 2


def test_older_lean_total_trades_key_and_empty_capacity_asset() -> None:
    metrics = metrics_from_statistics({"Total Trades": "12", "Lowest Capacity Asset": ""})
    assert metrics.total_orders == 12 and metrics.lowest_capacity_asset is None


def test_a_running_backtest_has_empty_metrics() -> None:
    assert metrics_from_backtest(p.backtest_running()) == BacktestMetrics()


def test_optimization_array_maps_onto_the_same_model_with_fractions() -> None:
    metrics = metrics_from_optimization(p.OPT_STATS_A)
    # positions (qc-api.md §3.6): 6 CAR % 30.084 -> 0.30084; 7 drawdown % 5.4 -> 0.054; 13 PSR % 58.028 -> 0.58028
    assert metrics.compounding_annual_return == pytest.approx(0.30084)
    assert metrics.drawdown == pytest.approx(0.054)
    assert metrics.probabilistic_sharpe_ratio == pytest.approx(0.58028)
    assert metrics.sharpe_ratio == 1.543 and metrics.total_orders == 85       # 15, 17
    assert metrics.win_rate == pytest.approx(0.57) and metrics.loss_rate == pytest.approx(0.43)  # 20, 11
    assert metrics.average_loss == pytest.approx(-0.0416) and metrics.net_profit == pytest.approx(0.37751)
    assert metrics.total_fees == 468.54 and metrics.estimated_strategy_capacity == 56_000_000.0  # 16, 8
    assert metrics.sortino_ratio is None and metrics.end_equity is None and metrics.profit_factor is None


def test_optimization_object_form_and_model_give_the_same_metrics() -> None:
    as_object = {str(i): value for i, value in enumerate(p.OPT_STATS_B)}
    from_array = metrics_from_optimization(p.OPT_STATS_B)
    assert metrics_from_optimization(as_object) == from_array
    assert OptimizationStatistics.model_validate(p.OPT_STATS_B).to_metrics() == from_array
    assert len(OPTIMIZATION_STATISTICS_ORDER) == 21
