"""Turn a finished engine run into the cloud-shaped result (statistics, runtime statistics, charts ...)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.engine.capacity import capacity_strings
from orchestrator.engine.statistics import (
    PortfolioStatistics,
    StatisticsInput,
    compute_statistics,
    summary,
)
from orchestrator.engine.timeutil import utc_naive
from orchestrator.engine.trades import trade_statistics

if TYPE_CHECKING:
    from orchestrator.engine.manager import BacktestEngine


def _n2(value: Decimal) -> str:
    """.NET ``ToString("N2")``: thousands separators, two decimals, half away from zero."""
    rounded = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:,.2f}"


def _percent_p(value: Decimal) -> str:
    """.NET ``ToString("P")`` with the invariant culture: ``4.39 %``."""
    return _n2(value * 100) + " %"


def runtime_statistics(engine: BacktestEngine, psr: str, capacity: str) -> dict[str, str]:
    portfolio = engine.portfolio
    start_value = engine.recorder.starting_value
    tpv = portfolio.exact_total_portfolio_value
    net_return = (tpv - start_value) / start_value if start_value > 0 else Decimal(0)
    holdings = sum((abs(h.exact_holdings_value) for h in portfolio.values()), Decimal(0))
    stats = {
        "Capacity": capacity,
        "Equity": "$" + _n2(tpv),
        "Fees": "-$" + _n2(portfolio.exact_total_fees),
        "Holdings": "$" + _n2(holdings),
        "Net Profit": "$" + _n2(portfolio.exact_total_profit),
        "Probabilistic Sharpe Ratio": psr,
        "Return": _percent_p(net_return),
        "Unrealized": "$" + _n2(portfolio.exact_total_unrealized_profit),
        "Volume": "$" + _n2(portfolio.exact_total_sale_volume),
    }
    stats.update(engine.recorder.runtime_statistics)
    return stats


def portfolio_statistics(engine: BacktestEngine) -> PortfolioStatistics:
    recorder = engine.recorder
    data = StatisticsInput(
        equity=[(utc_naive(p.time).replace(microsecond=0), p.value) for p in recorder.equity],
        performance=[p.value for p in recorder.performance],
        benchmark=[p.value for p in recorder.benchmark],
        turnover=[p.value for p in recorder.turnover],
        profit_loss=sorted(engine.portfolio.transaction_records.items()),
        starting_capital=recorder.starting_value,
        rates=engine.rates,
    )
    return compute_statistics(data)


def build_report(engine: BacktestEngine, path: Path, error: str | None, stacktrace: str | None,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 initialize_error: bool, synthetic: bool, duration: float, result_class: Any) -> Any:
    stats = portfolio_statistics(engine)
    capacity, lowest = capacity_strings(engine)
    statistics = summary(stats, engine.transactions.total_order_count, engine.portfolio.exact_total_fees,
                         capacity, lowest)
    statistics.update(engine.recorder.summary_statistics)
    closed = engine.trade_builder.closed
    start = dt.datetime.combine(engine.start, dt.time())
    total_performance = {
        "tradeStatistics": trade_statistics(closed, start, engine.last_time),
        "portfolioStatistics": stats.to_json(),
        "closedTrades": [trade.to_json() for trade in closed],
    }
    tradeable = len(engine.hours.trading_days(engine.start, engine.end.date()))
    return result_class(
        status="Runtime Error" if error else "Completed.",
        error=error,
        stacktrace=stacktrace,
        has_initialize_error=initialize_error,
        statistics=statistics,
        runtime_statistics=runtime_statistics(engine, statistics["Probabilistic Sharpe Ratio"], capacity),
        total_performance=total_performance,
        charts_source=engine.recorder.charts,
        orders_source=lambda: [order.to_json() for order in engine.transactions.orders.values()],
        logs=list(engine.logs),
        warnings=list(engine.warnings),
        parameters=dict(engine.parameters),
        backtest_start=start,
        backtest_end=engine.end,
        tradeable_dates=tradeable,
        algorithm_file=str(path),
        synthetic=synthetic,
        data_points=engine.data_points,
        duration_seconds=duration,
    )
