"""The win-rate tripwire reads the win rate of round trips (decide.win_rate_checks).

LEAN's "Win Rate" counts every position-reducing order; ``trades`` counts round trips. The loop records the
round-trip share from the trade statistics; where a record has only LEAN's figure, it is checked when each
trade was one entry and one exit, and otherwise recorded but not checked (docs/research-validity.md).
"""

from __future__ import annotations

import pytest

from orchestrator.decide import builtin_rule_set, decide, win_rate_counts_round_trips
from orchestrator.models import Action, BacktestFigures, Check, Decision, Evidence, Step

RULES = builtin_rule_set()


def figures(**changes: object) -> BacktestFigures:
    base = dict(sharpe=1.0, psr=0.97, drawdown=0.2, trades=40, win_rate=0.9, net_profit=0.8)
    return BacktestFigures(**{**base, **changes})


def win_rate_check(f: BacktestFigures) -> tuple[Decision, Check]:
    decision = decide(Step.BASELINE, Evidence(can_optimize=True, baseline=f), RULES)
    return decision, next(c for c in decision.checks if c.rule == "tripwire_win_rate")


@pytest.mark.parametrize(("orders", "trades", "round_trips"), [
    (80, 40, True),    # each trade one entry and one exit
    (81, 40, True),    # ... and one position still open at the end
    (82, 40, False),   # one order more than that: something was resized
    (174, 43, False),  # ts_momentum on six tickers, rebalanced to 1/6 whenever one flips
    (0, 40, True),     # no order count recorded: read as before
])
def test_which_lean_win_rates_describe_round_trips(orders: int, trades: int, round_trips: bool) -> None:
    assert win_rate_counts_round_trips(figures(total_orders=orders, trades=trades)) is round_trips


def test_the_round_trip_win_rate_is_checked_whatever_lean_reports() -> None:
    # a rebalancing portfolio: LEAN's per-order figure is high, its round trips are ordinary
    decision, check = win_rate_check(figures(total_orders=174, trades=43, win_rate=0.9, round_trip_win_rate=0.5))
    assert decision.action is Action.OPTIMIZE and check.passed
    assert check.observed == 0.5
    assert check.reason == "baseline: win rate 50.0% of 43 trades <= 85.0%"
    # and a round-trip share above the threshold is too good to be true even where LEAN's is low
    decision, check = win_rate_check(figures(total_orders=174, trades=43, win_rate=0.6, round_trip_win_rate=0.9))
    assert decision.action is Action.REJECT and not check.passed
    assert "win rate 90.0% of 43 trades > 85.0% is too good to be true" in check.reason


def test_without_trade_statistics_a_round_trip_lean_win_rate_is_still_checked() -> None:
    decision, check = win_rate_check(figures(total_orders=81))
    assert decision.action is Action.REJECT and not check.passed
    assert "win rate 90.0% > 85.0% is too good to be true" in check.reason


def test_without_trade_statistics_a_win_rate_that_counts_trims_is_recorded_but_not_checked() -> None:
    decision, check = win_rate_check(figures(total_orders=174, trades=43))
    assert decision.action is Action.OPTIMIZE and check.passed
    assert check.observed == 0.9
    assert check.reason == ("baseline: win rate 90.0% not checked: 174 orders for 43 trades, so it also counts "
                            "the trims of positions that were resized")


def test_too_few_trades_skip_the_win_rate_check() -> None:
    decision = decide(Step.BASELINE, Evidence(can_optimize=True, baseline=figures(trades=5, round_trip_win_rate=1.0)),
                      RULES)
    assert "tripwire_win_rate" not in [c.rule for c in decision.checks]


def test_the_loop_records_the_round_trip_win_rate_from_the_trade_statistics() -> None:
    from orchestrator.loop.evidence import figures_from_result

    # a cloud-shaped result: LEAN's per-order "Win Rate" 64 %, while 13 of the 42 round trips won (31 %)
    result = {
        "statistics": {"Total Orders": "174", "Win Rate": "64%", "Sharpe Ratio": "0.1"},
        "totalPerformance": {"tradeStatistics": {"totalNumberOfTrades": 42, "numberOfWinningTrades": 13},
                             "portfolioStatistics": {}},
    }
    f = figures_from_result(result, backtest_id="b", parameters={})
    assert (f.total_orders, f.trades, f.win_rate) == (174, 42, 0.64)
    assert f.round_trip_win_rate == pytest.approx(13 / 42)
    # no trade statistics: only LEAN's figure is known
    f = figures_from_result({"statistics": {"Total Orders": "80", "Win Rate": "64%"}}, backtest_id="b", parameters={})
    assert f.round_trip_win_rate is None and f.win_rate == 0.64


def test_without_any_trade_statistics_lean_s_win_rate_is_recorded_but_not_checked() -> None:
    # 40 orders and no trade statistics: trades is estimated as 20, so "40 <= 2 x 20 + 1" says nothing
    from orchestrator.loop.evidence import figures_from_result

    result = {"statistics": {"Total Orders": "40", "Win Rate": "90%", "Sharpe Ratio": "1.0"}}
    f = figures_from_result(result, backtest_id="b", parameters={})
    assert (f.trades, f.trades_estimated, f.round_trip_win_rate) == (20, True, None)
    decision = decide(Step.BASELINE, Evidence(can_optimize=True, baseline=f.model_copy(update={"sharpe": 1.0})),
                      RULES)
    check = next(c for c in decision.checks if c.rule == "tripwire_win_rate")
    assert check.passed and check.observed == 0.9
    assert "not checked: without trade statistics" in check.reason
