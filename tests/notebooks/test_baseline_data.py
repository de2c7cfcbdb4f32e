"""A cloud-shaped backtest result condensed for the baseline review, and the parity check against it."""

from __future__ import annotations

from datetime import date

import pytest

from orchestrator.errors import NotebookError
from orchestrator.notebooks import BaselineData, Figures, check_parity
from orchestrator.notebooks.baseline_data import daily_equity
from tests.notebooks.conftest import cloud_result, figures_dict

MON, TUE, WED, THU, FRI, SAT = (date(2021, 1, d) for d in range(4, 10))


def test_daily_equity_keeps_one_close_per_trading_session() -> None:
    # LEAN samples at 00:00 every calendar day (the previous close): Monday 18 January 2021 is Martin
    # Luther King Jr. Day, Saturday 23 a weekend; the first point (Friday 00:00) is the starting cash.
    fri, mlk, tue, wed, sat = (date(2021, 1, d) for d in (15, 18, 19, 20, 23))
    result = cloud_result([fri, mlk, tue, wed, sat], [100_100.0, 100_100.0, 100_300.0, 100_400.0, 100_400.0])
    assert daily_equity(result, start=fri) == [(fri, 100_100.0), (tue, 100_300.0), (wed, 100_400.0)]


def test_a_day_on_which_nothing_moved_is_still_a_session() -> None:
    # SPY closed at 129.16 on both 24 and 25 January 2011; a flat strategy's equity did not move either.
    # Both are sessions all the same (the notebooks' simulator trades on both).
    days = [date(2011, 1, 24), date(2011, 1, 25), date(2011, 1, 26)]
    result = cloud_result(days, [100_000.0, 100_000.0, 100_000.0], benchmark=[129.16, 129.16, 129.58])
    assert [d for d, _ in daily_equity(result, start=days[0])] == days


def test_from_cloud_reads_statistics_trades_and_cash() -> None:
    data = BaselineData.from_cloud(cloud_result([MON, TUE, THU], [100_500.0, 101_000.0, 100_800.0]), start=MON)
    assert data.starting_cash == 100_000.0  # "Start Equity"
    assert data.dates == [MON, TUE, THU] and data.equity == [100_500.0, 101_000.0, 100_800.0]
    assert [t.symbol for t in data.closed_trades] == ["SPY", "SPY"]
    assert [t.profit_loss for t in data.closed_trades] == [38.0, -32.0]
    assert data.backtest_id == "bt-1" and data.statistics["Total Orders"] == "4"


def test_a_result_without_equity_chart_is_explained() -> None:
    with pytest.raises(NotebookError, match="Strategy Equity") as caught:
        BaselineData.from_cloud({"statistics": {}, "charts": {"Strategy Equity": {"series": {}}}})
    assert "backtests/chart/read" in str(caught.value)


def test_parity_holds_for_the_same_curve_and_flags_a_different_one() -> None:
    days = [MON, TUE, WED, THU, FRI]
    equity = [100_500.0, 99_800.0, 101_000.0, 101_500.0, 102_000.0]
    result = cloud_result(days, equity)
    # The backtest's side by hand: total return 102,000 / 100,000 - 1 = 2 %; the largest drawdown is from
    # 100,500 to 99,800: 1 - 99,800 / 100,500 = 0.6965 %.
    same = Figures.model_validate(figures_dict(total_return=0.02, sharpe=None, max_drawdown=1 - 99_800 / 100_500,
                                               orders=4))
    check = check_parity(same, result, start=MON)
    assert check.backtest.total_return == pytest.approx(0.02)
    assert check.backtest.max_drawdown == pytest.approx(1 - 99_800 / 100_500)
    assert check.backtest.sharpe is not None
    assert not check.ok and check.problems == [f"Sharpe n/a vs {check.backtest.sharpe:.3f}"]
    close = same.model_copy(update={"sharpe": check.backtest.sharpe + 0.05, "orders": 5})
    assert check_parity(close, result, start=MON).ok
    drifted = close.model_copy(update={"total_return": 0.06, "orders": 12})
    verdict = check_parity(drifted, result, start=MON)
    assert not verdict.ok
    assert "total return 6.00% vs 2.00%" in verdict.message and "12 orders vs 4" in verdict.message


def test_unusable_chart_points_are_skipped_not_fatal() -> None:
    """QuantConnect's data is read tolerantly: a point without a time, with text, or with NaN is dropped
    (a NaN would otherwise reach the notebook and fail its rendering)."""
    result = cloud_result([MON, TUE, WED], [100_500.0, 101_000.0, 100_800.0])
    values = result["charts"]["Strategy Equity"]["series"]["Equity"]["values"]
    values += [[None, 1.0], ["soon", 1.0], {"x": "n/a", "y": 2.0}, [values[-1][0] + 86_400, float("nan")]]
    assert daily_equity(result, start=MON) == [(MON, 100_500.0), (TUE, 101_000.0), (WED, 100_800.0)]
