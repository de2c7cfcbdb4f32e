"""LEAN's reference regressions, string for string (reference/lean-regressions.md).

The algorithms in ``algorithms/`` were written from the descriptions; the expected dictionaries are
copied from the C# twins quoted in lean-regressions.md. 'Estimated Strategy Capacity', 'Lowest Capacity
Asset' and 'OrderListHash' are compared separately (capacity) or not at all (the hash).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from orchestrator.engine import run_backtest

ALGORITHMS = Path(__file__).parent / "algorithms"
NOT_COMPARED = {"Estimated Strategy Capacity", "Lowest Capacity Asset", "OrderListHash"}

BASIC_TEMPLATE_MINUTE = {
    "Total Orders": "1", "Average Win": "0%", "Average Loss": "0%", "Compounding Annual Return": "271.453%",
    "Drawdown": "2.200%", "Expectancy": "0", "Start Equity": "100000", "End Equity": "101691.92",
    "Net Profit": "1.692%", "Sharpe Ratio": "8.854", "Sortino Ratio": "0", "Probabilistic Sharpe Ratio": "67.459%",
    "Loss Rate": "0%", "Win Rate": "0%", "Profit-Loss Ratio": "0", "Alpha": "-0.005", "Beta": "0.996",
    "Annual Standard Deviation": "0.222", "Annual Variance": "0.049", "Information Ratio": "-14.565",
    "Tracking Error": "0.001", "Treynor Ratio": "1.97", "Total Fees": "$3.44",
    "Estimated Strategy Capacity": "$56000000.00", "Lowest Capacity Asset": "SPY R735QTJ8XC9X",
    "Portfolio Turnover": "19.93%", "Drawdown Recovery": "3", "OrderListHash": "3da9fa60bf95b9ed148b95e02e0cfc9e",
}

BASIC_TEMPLATE_DAILY = {
    "Total Orders": "1", "Average Win": "0%", "Average Loss": "0%", "Compounding Annual Return": "424.375%",
    "Drawdown": "0.800%", "Expectancy": "0", "Start Equity": "100000", "End Equity": "104486.22",
    "Net Profit": "4.486%", "Sharpe Ratio": "17.304", "Sortino Ratio": "35.217",
    "Probabilistic Sharpe Ratio": "96.710%", "Loss Rate": "0%", "Win Rate": "0%", "Profit-Loss Ratio": "0",
    "Alpha": "-0.249", "Beta": "1.015", "Annual Standard Deviation": "0.141", "Annual Variance": "0.02",
    "Information Ratio": "-19", "Tracking Error": "0.011", "Treynor Ratio": "2.403", "Total Fees": "$3.49",
    "Estimated Strategy Capacity": "$1200000000.00", "Lowest Capacity Asset": "SPY R735QTJ8XC9X",
    "Portfolio Turnover": "10.01%", "Drawdown Recovery": "1", "OrderListHash": "70f21e930175a2ec9d465b21edc1b6d9",
}

MACD_TREND = {
    "Total Orders": "85", "Average Win": "4.78%", "Average Loss": "-4.16%", "Compounding Annual Return": "2.952%",
    "Drawdown": "34.900%", "Expectancy": "0.228", "Start Equity": "100000", "End Equity": "137751.04",
    "Net Profit": "37.751%", "Sharpe Ratio": "0.029", "Sortino Ratio": "0.022",
    "Probabilistic Sharpe Ratio": "0.005%", "Loss Rate": "43%", "Win Rate": "57%", "Profit-Loss Ratio": "1.15",
    "Alpha": "-0.015", "Beta": "0.411", "Annual Standard Deviation": "0.103", "Annual Variance": "0.011",
    "Information Ratio": "-0.34", "Tracking Error": "0.123", "Treynor Ratio": "0.007", "Total Fees": "$468.54",
    "Estimated Strategy Capacity": "$950000000.00", "Lowest Capacity Asset": "SPY R735QTJ8XC9X",
    "Portfolio Turnover": "2.09%", "Drawdown Recovery": "1931", "OrderListHash": "0257edfddd889d6fe3779883138aebc5",
}


def _normalise(value: str) -> str:
    # LEAN's regression harness treats "-0" and "0" as equal
    return "0" if value == "-0" else value


def _assert_statistics(actual: dict[str, str], expected: dict[str, str]) -> None:
    compared = {k: v for k, v in expected.items() if k not in NOT_COMPARED}
    got = {k: _normalise(actual.get(k, "<missing>")) for k in compared}
    assert got == {k: _normalise(v) for k, v in compared.items()}


@pytest.fixture(scope="module")
def minute_result(lean_data: Path):
    return run_backtest(ALGORITHMS / "basic_template_minute.py", lean_data)


@pytest.fixture(scope="module")
def daily_result(lean_data: Path):
    return run_backtest(ALGORITHMS / "basic_template_daily.py", lean_data)


@pytest.fixture(scope="module")
def macd_result(lean_data: Path):
    return run_backtest(ALGORITHMS / "macd_trend.py", lean_data)


def test_basic_template_minute_matches_lean(minute_result) -> None:
    assert minute_result.error is None
    _assert_statistics(minute_result.statistics, BASIC_TEMPLATE_MINUTE)


def test_basic_template_minute_fill(minute_result) -> None:
    # 09:31 on 2013-10-07: a market buy fills at the 09:30 quote bar's ask close, 1674500 raw = 167.45,
    # times the 2013-10 price factor 0.8646266 -> 144.78172417; 688 shares (lean-engine.md §3.2);
    # fee 688 x $0.005 = $3.44.
    (order,) = minute_result.orders
    assert order["quantity"] == 688
    assert order["type"] == 0 and order["status"] == 3
    assert Decimal(str(order["price"])) == Decimal("167.45") * Decimal("0.8646266")
    assert order["time"] == "2013-10-07T13:31:00Z"  # 09:31 New York (EDT)
    filled = order["events"][-1]
    assert filled["status"] == "filled" and filled["orderFeeAmount"] == pytest.approx(3.44)


def test_basic_template_daily_matches_lean(daily_result) -> None:
    assert daily_result.error is None
    _assert_statistics(daily_result.statistics, BASIC_TEMPLATE_DAILY)


def test_basic_template_daily_market_on_open(daily_result) -> None:
    # on_data runs at 16:00 on 10-08 (exchange closed) -> MarketOnOpen (type 4), filled at the 10-09 daily
    # open 1658200 raw x 0.8646266 = 143.37238... ; 697 shares; fee 697 x 0.005 = 3.485 -> "$3.49".
    (order,) = daily_result.orders
    assert order["type"] == 4
    assert order["quantity"] == 697
    assert Decimal(str(order["price"])) == Decimal("165.82") * Decimal("0.8646266")
    assert order["time"] == "2013-10-08T20:00:00Z"
    assert order["lastFillTime"] == "2013-10-09T20:00:00Z"


def test_macd_trend_matches_lean(macd_result) -> None:
    assert macd_result.error is None
    _assert_statistics(macd_result.statistics, MACD_TREND)


def test_macd_trend_reissues_market_on_open_on_ex_dividend_dates(macd_result) -> None:
    # LEAN's ex-date quirk (lean-engine.md §4.4): a liquidation MOO placed at 16:00 is cancelled and
    # re-submitted by the dividend-only slice at 00:00 of the ex-date, so some MOOs are cancelled at 00:00.
    canceled = [o for o in macd_result.orders if o["status"] == 5]
    assert canceled, "expected re-submitted market-on-open orders on ex-dividend dates"
    for order in canceled:
        assert order["type"] == 4
        canceled_at = dt.datetime.fromisoformat(order["canceledTime"].replace("Z", "+00:00"))
        assert canceled_at.hour in (4, 5)  # 00:00 New York in UTC (EDT/EST)


def test_reference_backtests_have_cloud_shape(daily_result) -> None:
    cloud = daily_result.to_cloud()
    assert cloud["status"] == "Completed." and cloud["completed"] is True
    assert {"Strategy Equity", "Drawdown", "Benchmark"} <= set(cloud["charts"])
    assert cloud["charts"]["Strategy Equity"]["series"]["Equity"]["seriesType"] == 2
    assert set(cloud["totalPerformance"]) == {"tradeStatistics", "portfolioStatistics", "closedTrades"}
    assert cloud["parameterSet"] == []
    assert cloud["runtimeStatistics"]["Equity"] == "$104,486.22"
    assert cloud["runtimeStatistics"]["Fees"] == "-$3.49"


def test_capacity_of_the_basic_templates_matches_lean(minute_result, daily_result) -> None:
    # capacity is outside the string-for-string requirement; qcloop reproduces these two exactly
    for result, expected in ((minute_result, BASIC_TEMPLATE_MINUTE), (daily_result, BASIC_TEMPLATE_DAILY)):
        assert result.statistics["Estimated Strategy Capacity"] == expected["Estimated Strategy Capacity"]
        assert result.statistics["Lowest Capacity Asset"] == expected["Lowest Capacity Asset"]


def test_macd_trend_capacity_is_close_to_lean(macd_result) -> None:
    # known difference (docs/engine.md): qcloop estimates $960M where LEAN reports $950M (about 1 %)
    assert macd_result.statistics["Lowest Capacity Asset"] == MACD_TREND["Lowest Capacity Asset"]
    value = float(macd_result.statistics["Estimated Strategy Capacity"].lstrip("$"))
    assert value == pytest.approx(950_000_000, rel=0.02)


def test_cloud_result_is_plain_json(macd_result) -> None:
    import json

    cloud = json.loads(json.dumps(macd_result.to_cloud()))
    assert cloud["statistics"]["Total Orders"] == "85"
    assert {"MACD", "SPY"} <= set(cloud["charts"])  # plot_indicator charts
    assert cloud["totalPerformance"]["tradeStatistics"]["totalNumberOfTrades"] == len(
        cloud["totalPerformance"]["closedTrades"])
