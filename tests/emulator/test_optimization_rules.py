"""Grid, estimate and the 21-number positional statistics of the cloud optimizer."""

from __future__ import annotations

import pytest

from orchestrator.emulator import optimization_rules as rules


def test_grid_size_and_points() -> None:
    # fast 10..30 step 10 -> 3 values; slow 100..150 step 25 -> 3 values; 3 x 3 = 9 points
    ranges = [(10.0, 30.0, 10.0), (100.0, 150.0, 25.0)]
    assert rules.grid_size(ranges) == 9
    points = rules.grid_points(["fast", "slow"], ranges)
    assert len(points) == 9
    assert points[0] == {"fast": "10", "slow": "100"} and points[-1] == {"fast": "30", "slow": "150"}


def test_fractional_steps_do_not_accumulate_float_error() -> None:
    assert rules.grid_values(0.1, 0.3, 0.1) == [0.1, 0.2, 0.3]
    assert rules.grid_points(["x"], [(0.1, 0.3, 0.1)])[1] == {"x": "0.2"}


def test_estimate_cost_is_node_price_times_node_hours() -> None:
    # 9 backtests x 120 s = 1080 node-seconds = 0.3 node-hours; O4-12 costs $0.30/h -> $0.09;
    # with 4 parallel nodes: ceil(9 / 4) = 3 batches x 120 s = 360 s of wall time; 9 cents = 9 QCC
    estimate = rules.estimate(9, rules.NODE_TYPES["O4-12"], 4, 120.0)
    assert estimate.seconds == 360
    assert estimate.usd == pytest.approx(0.09)
    assert estimate.qcc == 9


def test_positional_statistics_follow_the_shared_order() -> None:
    statistics = {
        "Alpha": "0.05", "Annual Standard Deviation": "0.2", "Annual Variance": "0.04", "Average Loss": "-1.5%",
        "Average Win": "2.25%", "Beta": "0.9", "Compounding Annual Return": "12.345%", "Drawdown": "5.400%",
        "Estimated Strategy Capacity": "$160000000.00", "Expectancy": "0.3", "Information Ratio": "-0.12",
        "Loss Rate": "40%", "Net Profit": "30.084%", "Probabilistic Sharpe Ratio": "58.028%",
        "Profit-Loss Ratio": "1.5", "Sharpe Ratio": "1.543", "Total Fees": "$2.06", "Total Orders": "12",
        "Tracking Error": "0.1", "Treynor Ratio": "0.07", "Win Rate": "60%",
    }
    array = rules.positional_statistics(statistics)
    assert len(array) == 21
    # lean-cli reads 15 = Sharpe, 6 = CAR, 13 = PSR, 7 = Drawdown
    assert (array[15], array[6], array[13], array[7]) == (1.543, 12.345, 58.028, 5.4)
    assert array[3] == -1.5 and array[8] == 160000000.0 and array[16] == 2.06 and array[17] == 12.0


@pytest.mark.parametrize(("text", "value"), [("-$1,234.50", -1234.5), ("€0.00", 0.0), ("", 0.0), ("1e-3", 0.001)])
def test_statistic_numbers(text: str, value: float) -> None:
    assert rules.statistic_number(text) == value


@pytest.mark.parametrize(("given", "canonical"), [("greater", "Greater"), ("LessOrEqual", "LessOrEqual"),
                                                  ("not-equal", "NotEqual"), ("bogus", None)])
def test_constraint_operators_in_any_case(given: str, canonical: str | None) -> None:
    assert rules.normalize_operator(given) == canonical


def test_portfolio_keys_of_targets() -> None:
    assert rules.portfolio_key("TotalPerformance.PortfolioStatistics.ProbabilisticSharpeRatio") == \
        "probabilisticSharpeRatio"
    assert rules.portfolio_key("TotalPerformance.PortfolioStatistics.SortinoRatio") == "sortinoRatio"


def test_the_summary_reports_the_best_point_that_meets_the_constraints() -> None:
    import datetime as dt

    from orchestrator.emulator import wire
    from orchestrator.emulator.backend import OptimizationView
    from orchestrator.emulator.state import (
        OptimizationConstraint,
        OptimizationParameter,
        OptimizationPoint,
        OptimizationRecord,
        OptimizationStatus,
    )

    def point(name: str, sharpe: float, drawdown: float) -> OptimizationPoint:
        return OptimizationPoint(backtest_id=name, name=name, parameter_set={}, exit_code=0,
                                 statistics={"Total Orders": "3"},
                                 portfolio_statistics={"sharpeRatio": sharpe, "drawdown": drawdown,
                                                       "probabilisticSharpeRatio": 0.5})

    record = OptimizationRecord(
        optimization_id="O-1", project_id=1, organization_id="o", compile_id="c", name="n",
        created=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), target="TotalPerformance.PortfolioStatistics.SharpeRatio",
        target_to="max", strategy=rules.GRID_SEARCH, node_type="O2-8", parallel_nodes=1, estimated_cost=0.0,
        parameters=[OptimizationParameter(name="x", min=1, max=3, step=1)],
        constraints=[OptimizationConstraint(target="TotalPerformance.PortfolioStatistics.Drawdown",
                                            operator="LessOrEqual", target_value=0.2)],
        points=[point("a", 2.0, 0.35), point("b", 1.5, 0.2), point("c", 1.0, 0.1)],
        status=OptimizationStatus.COMPLETED,
    )
    summary = wire.optimization_summary(OptimizationView(record, True, record.status, record.points))
    # "a" has the highest Sharpe but a 35 % drawdown > 20 %: "b" (1.5, exactly 20 %) is the best allowed
    assert (summary["sharpeRatio"], summary["trades"]) == (1.5, 3)
