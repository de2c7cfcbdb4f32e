"""The response models accept what the real service sends (qc-api.md §3, §9) and type what we branch on."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from orchestrator.cloud.schemas import (
    Backtest,
    BacktestStatus,
    Compile,
    CompileState,
    LiveAlgorithm,
    LiveStatus,
    ObjectListing,
    ObjectProperties,
    Optimization,
    OptimizationParameter,
    OptimizationStatistics,
    OptimizationStatus,
    Order,
    OrderDirection,
    OrderEventDirection,
    OrderEventStatus,
    OrderStatus,
    OrderType,
    Portfolio,
    Project,
    SecurityType,
    looks_like_id,
)

from . import payloads as p


def test_a_queued_backtest_has_no_results_yet() -> None:
    backtest = Backtest.model_validate(p.backtest_queued())
    assert backtest.state is BacktestStatus.IN_QUEUE
    assert backtest.statistics is None and backtest.runtimeStatistics is None  # [] means "not ready"
    assert backtest.parameterSet == {} and backtest.charts == {} and backtest.rollingWindow == {}
    assert not backtest.completed and not backtest.results_ready and not backtest.finished
    assert backtest.created == dt.datetime(2024, 1, 3, 15, 18, 27)


def test_a_running_backtest_parses_its_status_with_a_percentage() -> None:
    backtest = Backtest.model_validate(p.backtest_running(0.45))
    assert backtest.status == "Running: 45%"
    assert backtest.state is BacktestStatus.RUNNING
    assert backtest.progress == 0.45 and not backtest.finished


def test_completed_before_the_statistics_is_not_finished() -> None:
    backtest = Backtest.model_validate(p.backtest_completed_without_results())
    assert backtest.completed and backtest.state is BacktestStatus.COMPLETED
    assert not backtest.results_ready and not backtest.finished


def test_a_finished_backtest_has_statistics_strings_and_total_performance() -> None:
    backtest = Backtest.model_validate(p.backtest_finished())
    assert backtest.finished and not backtest.failed
    assert backtest.statistics is not None and backtest.statistics["Sharpe Ratio"] == "8.854"
    assert backtest.runtimeStatistics is not None and backtest.runtimeStatistics["Return"] == "1.69 %"
    assert backtest.totalPerformance is not None
    assert backtest.totalPerformance.portfolioStatistics is not None
    assert backtest.totalPerformance.portfolioStatistics.endEquity == 101691.92
    assert backtest.parameterSet == {"fast": "10", "slow": 0.5}          # values kept as sent
    assert backtest.backtestEnd == dt.datetime(2013, 10, 11, 23, 59, 59, tzinfo=dt.UTC)
    assert backtest.model_extra is not None and "researchGuide" in backtest.model_extra  # unknown fields kept


def test_completed_with_statistics_but_no_total_performance_is_results_ready_only() -> None:
    backtest = Backtest.model_validate(p.backtest_finished(totalPerformance=None))
    assert backtest.results_ready and not backtest.finished


def test_a_runtime_error_is_finished_and_failed() -> None:
    backtest = Backtest.model_validate(p.backtest_runtime_error())
    assert backtest.state is BacktestStatus.RUNTIME_ERROR
    assert backtest.failed and backtest.finished


def test_numeric_statistics_values_become_strings() -> None:
    backtest = Backtest.model_validate(p.backtest_finished(statistics={"Total Orders": 3, "Sharpe Ratio": 1.5}))
    assert backtest.statistics == {"Total Orders": "3", "Sharpe Ratio": "1.5"}


@pytest.mark.parametrize("text", ["Unknown status", "Paused", ""])
def test_unknown_backtest_statuses_do_not_break_parsing(text: str) -> None:
    backtest = Backtest.model_validate({**p.backtest_queued(), "status": text})
    assert backtest.state is BacktestStatus.UNKNOWN


@pytest.mark.parametrize("parameters", [
    [{"key": "fast", "value": "10"}, {"key": "slow", "value": "50"}],   # lean-cli's list shape
    {"fast": "10", "slow": 50},                                        # the spec's dict shape
    [{"name": "fast", "value": 10}, {"name": "slow", "value": "50"}],
])
def test_project_parameters_in_both_shapes(parameters: object) -> None:
    project = Project.model_validate(p.project(parameters=parameters))
    assert project.parameters == {"fast": "10", "slow": "50"}


def test_project_without_parameters_and_with_odd_dates() -> None:
    project = Project.model_validate({**p.project(parameters=[]), "modified": "", "created": "yesterday"})
    assert project.parameters == {}
    assert project.modified is None and project.created is None  # unparseable dates never fail a reply


@pytest.mark.parametrize(("state", "expected", "finished"), [
    ("InQueue", CompileState.IN_QUEUE, False),
    ("BuildSuccess", CompileState.BUILD_SUCCESS, True),
    ("BuildError", CompileState.BUILD_ERROR, True),
    ("Building", CompileState.UNKNOWN, False),
])
def test_compile_states(state: str, expected: CompileState, finished: bool) -> None:
    result = Compile.model_validate({"compileId": p.COMPILE_ID, "state": state, "logs": ["Build Request Successful"]})
    assert result.state is expected and result.finished is finished


def test_optimization_with_empty_collections_as_arrays() -> None:
    optimization = Optimization.model_validate(p.optimization(status="new"))
    assert optimization.backtests == {} and optimization.runtimeStatistics == {}
    assert optimization.status is OptimizationStatus.NEW and not optimization.status.finished
    assert optimization.criterion is not None and optimization.criterion.targetValue is None  # "" -> None
    assert optimization.progress is None


def test_optimization_backtests_statistics_arrays_become_named_fields() -> None:
    optimization = Optimization.model_validate(p.optimization(backtests=p.optimization_backtests()))
    a, b, c = (optimization.backtests[key] for key in ("bt-a", "bt-b", "bt-c"))
    assert a.statistics is not None and b.statistics is not None
    # positions from qc-api.md §3.6: 15 Sharpe, 6 CAR %, 7 drawdown %, 13 PSR %, 17 total orders
    assert (a.statistics.sharpe_ratio, a.statistics.compounding_annual_return, a.statistics.drawdown) == (
        1.543, 30.084, 5.4)
    assert (a.statistics.probabilistic_sharpe_ratio, a.statistics.total_orders) == (58.028, 85.0)
    assert a.statistics.as_array() == p.OPT_STATS_A
    # LEAN's object form {"0": ..., "20": ...} reads the same
    assert b.statistics.as_array() == p.OPT_STATS_B
    assert b.statistics.win_rate == 60.0 and b.statistics.alpha == 0.01
    assert c.statistics is None and not c.succeeded and a.succeeded
    assert a.parameterSet == {"fast": "10"}


@pytest.mark.parametrize(("status", "expected", "finished"), [
    ("new", OptimizationStatus.NEW, False),
    ("running", OptimizationStatus.RUNNING, False),
    ("active", OptimizationStatus.ACTIVE, False),
    ("Completed", OptimizationStatus.COMPLETED, True),
    ("aborted", OptimizationStatus.ABORTED, True),
    ("mystery", OptimizationStatus.UNKNOWN, True),   # like lean-cli: anything else is final
])
def test_optimization_statuses(status: str, expected: OptimizationStatus, finished: bool) -> None:
    optimization = Optimization.model_validate(p.optimization(status=status))
    assert optimization.status is expected and optimization.status.finished is finished


def test_optimization_progress_from_runtime_statistics() -> None:
    runtime = {"Completed": "3", "Failed": "1", "Running": "2", "In Queue": "2", "Total": "8",
               "Average Length": "00:01:10", "Total Runtime": "00:04:40", "Consumed": "0.01 QCC"}
    optimization = Optimization.model_validate(p.optimization(status="running", runtime=runtime))
    assert optimization.progress == pytest.approx((3 + 1) / 8)


def test_optimization_statistics_of_a_short_array_leave_the_rest_none() -> None:
    statistics = OptimizationStatistics.model_validate([0.1, 0.2])
    assert statistics.alpha == 0.1 and statistics.annual_standard_deviation == 0.2
    assert statistics.win_rate is None


def test_optimization_parameter_validation() -> None:
    assert OptimizationParameter(name="fast", min=10, max=30, step=10).grid_size == 3
    with pytest.raises(ValidationError):
        OptimizationParameter(name="fast", min=30, max=10, step=10)
    with pytest.raises(ValidationError):
        OptimizationParameter(name="fast", min=10, max=30, step=0)


def test_orders_use_integer_enums_and_events_lowercase_strings() -> None:
    parsed = Order.model_validate(p.order(order_id=7, status=3, type_=4, direction=1))
    assert parsed.type is OrderType.MARKET_ON_OPEN and parsed.status is OrderStatus.FILLED
    assert parsed.direction is OrderDirection.SELL and parsed.securityType is SecurityType.EQUITY
    assert parsed.symbol is not None and parsed.symbol.value == "SPY"
    submitted, filled = parsed.events
    assert submitted.status is OrderEventStatus.SUBMITTED and submitted.direction is OrderEventDirection.BUY
    assert submitted.symbol is not None and submitted.symbol.value == "SPY R735QTJ8XC9X"  # a string symbol
    assert filled.status is OrderEventStatus.FILLED and filled.orderFeeAmount == 3.44


def test_order_status_has_no_4_and_canceled_is_5() -> None:
    assert Order.model_validate(p.order(status=5)).status is OrderStatus.CANCELED
    assert Order.model_validate(p.order(status=4)).status is OrderStatus.UNKNOWN
    assert [member.value for member in OrderStatus if member is not OrderStatus.UNKNOWN] == [0, 1, 2, 3, 5, 6, 7, 8, 9]


def test_live_algorithm_and_portfolio() -> None:
    live = LiveAlgorithm.model_validate({
        "success": True, "deployId": p.DEPLOY_ID, "status": "Running", "launched": "2024-01-03 15:18:27",
        "stopped": None, "brokerage": "PaperBrokerage", "datacenter": "NY7", "runtimeStatistics": [],
        "charts": [], "files": [], "projectName": "qcloop/H-001"})
    assert live.status is LiveStatus.RUNNING and live.runtimeStatistics == {} and live.charts == {}
    assert LiveAlgorithm.model_validate({"status": "RuntimeError"}).status is LiveStatus.RUNTIME_ERROR
    assert LiveAlgorithm.model_validate({"status": "Paused"}).status is LiveStatus.UNKNOWN
    portfolio = Portfolio.model_validate({
        "holdings": {"SPY R735QTJ8XC9X": {"a": 144.78, "q": 688, "p": 145.0, "v": 99760, "u": 150.3, "up": 0.15}},
        "cash": {"USD": {"symbol": "USD", "amount": 394.1, "conversionRate": 1, "currencySymbol": "$",
                         "valueInAccountCurrency": 394.1}}})
    assert portfolio.holdings["SPY R735QTJ8XC9X"].q == 688 and portfolio.cash["USD"].amount == 394.1
    assert Portfolio.model_validate({"holdings": [], "cash": []}).holdings == {}


def test_object_store_replies() -> None:
    listing = ObjectListing.model_validate({
        "success": True, "path": "qcloop", "objectStorageUsed": 13, "objectStorageUsedHuman": "13 B",
        "objects": [{"key": "qcloop/results", "name": "results", "modified": "2024-01-03T15:18:27.693Z",
                     "mime": "directory", "folder": True, "size": 0},
                    {"key": "qcloop/a.json", "name": "a.json", "mime": "application/json", "folder": False,
                     "size": 13}]})
    assert [item.folder for item in listing.objects] == [True, False]
    properties = ObjectProperties.model_validate({
        "key": "qcloop/a.json", "size": 13, "md5": "6cd3556deb0da54bca060b4c39479839", "mime": "text/plain",
        "preview": "Hello, world!"})
    assert properties.size == 13 and properties.preview == "Hello, world!"


def test_id_formats() -> None:
    assert looks_like_id("compileId", p.COMPILE_ID) and looks_like_id("backtestId", p.BACKTEST_ID)
    assert looks_like_id("optimizationId", p.OPTIMIZATION_ID) and looks_like_id("deployId", p.DEPLOY_ID)
    assert looks_like_id("nodeId", p.NODE_ID) and looks_like_id("organizationId", p.ORG_ID)
    assert not looks_like_id("optimizationId", p.BACKTEST_ID)
