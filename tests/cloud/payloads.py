"""Realistic reply bodies, shaped after reference/qc-api.md §3 (field names and formats as documented).

The statistics dict is LEAN's expected result for BasicTemplateAlgorithm, copied from
reference/lean-regressions.md §1 (the keys and strings the real service reports).
"""

from __future__ import annotations

from typing import Any

BACKTEST_ID = "26c7bb06b8487cff1c7b3c44652b30f1"
COMPILE_ID = "5d1f2cba3a0ec7407c566614300502b5-173e0419674daf4144ce7c9931155ca8"
OPTIMIZATION_ID = "O-401d3d40b5a0e9f8c46c954a303f3ddd"
DEPLOY_ID = "L-141106d80de1da9a9f85ea07c06bf7b6"
NODE_ID = "LN-c54129e1b4f667613d3f34542b787771"
ORG_ID = "5cad178b20a1d52567b534553413b691"
PROJECT_ID = 23456789

BASIC_TEMPLATE_STATISTICS = {
    "Total Orders": "1",
    "Average Win": "0%",
    "Average Loss": "0%",
    "Compounding Annual Return": "271.453%",
    "Drawdown": "2.200%",
    "Expectancy": "0",
    "Start Equity": "100000",
    "End Equity": "101691.92",
    "Net Profit": "1.692%",
    "Sharpe Ratio": "8.854",
    "Sortino Ratio": "0",
    "Probabilistic Sharpe Ratio": "67.459%",
    "Loss Rate": "0%",
    "Win Rate": "0%",
    "Profit-Loss Ratio": "0",
    "Alpha": "-0.005",
    "Beta": "0.996",
    "Annual Standard Deviation": "0.222",
    "Annual Variance": "0.049",
    "Information Ratio": "-14.565",
    "Tracking Error": "0.001",
    "Treynor Ratio": "1.97",
    "Total Fees": "$3.44",
    "Estimated Strategy Capacity": "$56000000.00",
    "Lowest Capacity Asset": "SPY R735QTJ8XC9X",
    "Portfolio Turnover": "19.93%",
    "Drawdown Recovery": "3",
}

RUNTIME_STATISTICS = {
    "Equity": "$101,691.92", "Fees": "-$3.44", "Holdings": "$101,670.46", "Net Profit": "$1,691.92",
    "Probabilistic Sharpe Ratio": "67.459%", "Return": "1.69 %", "Unrealized": "$1,695.36", "Volume": "$99,610.17",
}

TOTAL_PERFORMANCE: dict[str, Any] = {
    "tradeStatistics": {
        "startDateTime": "2013-10-07T13:31:00Z", "endDateTime": "2013-10-11T20:00:00Z",
        "totalNumberOfTrades": 0, "numberOfWinningTrades": 0, "numberOfLosingTrades": 0,
        "totalProfitLoss": 0.0, "profitFactor": 0.0, "totalFees": 3.44, "winRate": 0.0, "lossRate": 0.0,
        "averageTradeDuration": "00:00:00",
    },
    "portfolioStatistics": {
        "averageWinRate": 0.0, "averageLossRate": 0.0, "profitLossRatio": 0.0, "winRate": 0.0, "lossRate": 0.0,
        "expectancy": 0.0, "startEquity": 100000.0, "endEquity": 101691.92,
        "compoundingAnnualReturn": 2.7145325, "drawdown": 0.022, "totalNetProfit": 0.0169192,
        "sharpeRatio": 8.8541, "probabilisticSharpeRatio": 0.67459, "sortinoRatio": 0.0, "alpha": -0.0051,
        "beta": 0.9957, "annualStandardDeviation": 0.2218, "annualVariance": 0.0492,
        "informationRatio": -14.5651, "trackingError": 0.00087, "treynorRatio": 1.9722,
        "portfolioTurnover": 0.1993, "valueAtRisk99": -0.029, "valueAtRisk95": -0.021,
    },
    "closedTrades": [],
}


def backtest_queued(name: str = "qcloop/H-001/baseline/1") -> dict[str, Any]:
    """The ``backtest`` of a ``backtests/create`` reply: queued, empty collections as arrays."""
    return {
        "backtestId": BACKTEST_ID, "projectId": PROJECT_ID, "organizationId": ORG_ID, "name": name,
        "note": None, "status": "In Queue...", "completed": False, "progress": 0, "created": "2024-01-03 15:18:27",
        "error": None, "stacktrace": None, "parameterSet": [], "statistics": [], "runtimeStatistics": [],
        "totalPerformance": None, "charts": [], "rollingWindow": [],
    }


def backtest_running(progress: float = 0.45) -> dict[str, Any]:
    return {**backtest_queued(), "status": f"Running: {round(progress * 100)}%", "progress": progress,
            "runtimeStatistics": {"Equity": "$100,512.00", "Return": "0.51 %"}}


def backtest_completed_without_results() -> dict[str, Any]:
    """``completed`` already true but the results not in yet (DESIGN.md §8)."""
    return {**backtest_queued(), "status": "Completed.", "completed": True, "progress": 1}


def backtest_finished(**overrides: Any) -> dict[str, Any]:
    return {
        **backtest_queued(), "status": "Completed.", "completed": True, "progress": 1,
        "backtestStart": "2013-10-07T00:00:00Z", "backtestEnd": "2013-10-11T23:59:59Z", "tradeableDates": 5,
        "parameterSet": {"fast": "10", "slow": 0.5}, "statistics": dict(BASIC_TEMPLATE_STATISTICS),
        "runtimeStatistics": dict(RUNTIME_STATISTICS), "totalPerformance": TOTAL_PERFORMANCE,
        "charts": {"Strategy Equity": {"name": "Strategy Equity"}},
        "rollingWindow": {"M1_20131031": {"tradeStatistics": {}, "portfolioStatistics": {}}},
        "researchGuide": {"minutes": 4, "backtestCount": 1, "parameters": 0},
        **overrides,
    }


def backtest_runtime_error() -> dict[str, Any]:
    return {
        **backtest_queued(), "status": "Runtime Error", "completed": True, "progress": 0.2,
        "error": "During the algorithm initialization, the following exception has occurred: boom",
        "stacktrace": "  at initialize\n    self.add_equity(None)\n", "hasInitializeError": True,
    }


def project(project_id: int = PROJECT_ID, name: str = "qcloop/H-001", parameters: Any = None) -> dict[str, Any]:
    """A project with every field lean-cli's QCProject requires (qc-api.md §3.2)."""
    return {
        "projectId": project_id, "organizationId": ORG_ID, "name": name, "description": "",
        "modified": "2024-01-03 15:18:27", "created": "2024-01-03T15:18:27.693Z", "ownerId": 123456,
        "language": "Py", "collaborators": [{"liveControl": True, "permission": "write", "profileImage": "",
                                               "name": "Ada", "uid": 123456, "owner": True}],
        "leanVersionId": 16000, "leanPinnedToMaster": True, "leanEnvironment": 1, "owner": True,
        "parameters": [] if parameters is None else parameters, "libraries": [], "encrypted": False,
    }


# an optimization backtest's positional statistics (qc-api.md §3.6 table): the strings with % and $ stripped.
# positions: 0 alpha, 1 annual std, 2 annual var, 3 avg loss %, 4 avg win %, 5 beta, 6 CAR %, 7 drawdown %,
# 8 capacity, 9 expectancy, 10 IR, 11 loss rate %, 12 net profit %, 13 PSR %, 14 P/L ratio, 15 Sharpe,
# 16 fees, 17 orders, 18 tracking error, 19 treynor, 20 win rate %
OPT_STATS_A = [-0.005, 0.222, 0.049, -4.16, 4.78, 0.411, 30.084, 5.4, 56000000.0, 0.228, -0.34, 43.0, 37.751, 58.028,
               1.15, 1.543, 468.54, 85.0, 0.123, 0.007, 57.0]
OPT_STATS_B = [0.01, 0.1, 0.01, -1.0, 2.0, 0.5, 10.0, 12.5, 1000000.0, 0.1, 0.2, 40.0, 20.0, 30.0, 1.5, 0.8, 12.0,
               10.0, 0.05, 0.02, 60.0]


def optimization(status: str = "completed", backtests: Any = None, runtime: Any = None) -> dict[str, Any]:
    return {
        "optimizationId": OPTIMIZATION_ID, "snapshotId": 1, "projectId": PROJECT_ID, "name": "qcloop/H-001/opt/1",
        "status": status, "nodeType": "O2-8", "parallelNodes": 4,
        "criterion": {"target": "TotalPerformance.PortfolioStatistics.SharpeRatio", "extremum": "max",
                      "targetValue": ""},
        "runtimeStatistics": [] if runtime is None else runtime,
        "constraints": [], "parameters": [{"name": "fast", "min": 10, "max": 30, "step": 10}],
        "backtests": [] if backtests is None else backtests,
        "strategy": "QuantConnect.Optimizer.Strategies.GridSearchOptimizationStrategy",
        "requested": "2024-01-03T15:18:27Z", "outOfSampleDays": 0,
    }


def optimization_backtests() -> dict[str, Any]:
    return {
        "bt-a": {"name": "fast=10", "id": "bt-a", "progress": 1, "exitCode": 0, "statistics": OPT_STATS_A,
                 "parameterSet": {"fast": "10"}, "equity": [[1381147200, 100000, 100100, 99900, 100050]]},
        # LEAN's own writer emits the statistics as an object keyed "0".."20"
        "bt-b": {"name": "fast=20", "id": "bt-b", "progress": 1, "exitCode": 0,
                 "statistics": {str(i): value for i, value in enumerate(OPT_STATS_B)},
                 "parameterSet": {"fast": "20"}, "equity": []},
        "bt-c": {"name": "fast=30", "id": "bt-c", "progress": 1, "exitCode": 1, "statistics": [],
                 "parameterSet": {"fast": "30"}},
    }


def order(order_id: int = 1, status: int = 3, type_: int = 0, direction: int = 0) -> dict[str, Any]:
    return {
        "id": order_id, "contingentId": 0, "brokerId": ["1"],
        "symbol": {"value": "SPY", "id": "SPY R735QTJ8XC9X", "permtick": "SPY"},
        "price": 144.7817, "priceCurrency": "USD", "time": "2013-10-07T13:31:00Z",
        "createdTime": "2013-10-07T13:31:00Z", "lastFillTime": "2013-10-07T13:31:00Z",
        "quantity": 688.0, "type": type_, "status": status, "tag": "", "securityType": 1, "direction": direction,
        "value": 99609.81, "orderSubmissionData": {"bidPrice": 144.75, "askPrice": 144.78, "lastPrice": 144.77},
        "isMarketable": True, "properties": {"timeInForce": {}},
        "events": [{"id": 1, "orderId": order_id, "symbol": "SPY R735QTJ8XC9X", "status": "submitted",
                    "direction": "buy", "quantity": 688.0},
                   {"id": 2, "orderId": order_id, "status": "filled", "direction": "buy", "fillPrice": 144.7817,
                    "fillQuantity": 688.0, "orderFeeAmount": 3.44, "orderFeeCurrency": "USD"}],
    }
