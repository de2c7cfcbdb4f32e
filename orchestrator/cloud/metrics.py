"""``BacktestMetrics``: a finished backtest's figures as numbers, parsed once.

QuantConnect (and LEAN, and qcloop's embedded engine, whose results have the same shape) reports a
backtest's summary as formatted strings: ``"Compounding Annual Return": "30.084%"``, ``"Total Fees":
"$2.06"``, ``"Information Ratio": "-19"``. Parsing those ad hoc in many places is how a moved key
silently becomes a zero (DESIGN.md §8), so this module does it once:

* percentages become fractions (``"15.3%"`` -> 0.153, ``"4.39 %"`` -> 0.0439);
* currency symbols and thousands separators go (``"$3.44"`` -> 3.44, ``"-$1,234.50"`` -> -1234.5);
* a key that is absent, empty or not a number gives ``None``, never 0.

Sources, in order of preference for each field: the ``statistics`` strings (what the person sees in
QuantConnect, and what LEAN's regression tests pin down), then ``totalPerformance``
(``portfolioStatistics`` holds the same figures as plain fractions; ``tradeStatistics`` adds the
profit factor and the closed-trade counts that the strings lack).

The optimization endpoint reports each grid point's statistics as 21 positional numbers (the strings
with ``%`` and the currency stripped, so percentages are in percent); ``metrics_from_optimization``
maps them onto the same model.

This module depends on nothing but pydantic: the local platform applies it to the embedded engine's
cloud-shaped results, and the emulator's tests apply it to what the emulator serves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

# The positional order of an optimization backtest's ``statistics`` array (qc-api.md §3.6). The names
# are ``BacktestMetrics`` field names; ``PERCENT_POSITIONS`` are given in percent on the wire.
OPTIMIZATION_STATISTICS_ORDER: tuple[str, ...] = (
    "alpha",                        # 0
    "annual_standard_deviation",    # 1
    "annual_variance",              # 2
    "average_loss",                 # 3  (%)
    "average_win",                  # 4  (%)
    "beta",                         # 5
    "compounding_annual_return",    # 6  (%)
    "drawdown",                     # 7  (%)
    "estimated_strategy_capacity",  # 8
    "expectancy",                   # 9
    "information_ratio",            # 10
    "loss_rate",                    # 11 (%)
    "net_profit",                   # 12 (%)
    "probabilistic_sharpe_ratio",   # 13 (%)
    "profit_loss_ratio",            # 14
    "sharpe_ratio",                 # 15
    "total_fees",                   # 16
    "total_orders",                 # 17
    "tracking_error",               # 18
    "treynor_ratio",                # 19
    "win_rate",                     # 20 (%)
)
PERCENT_POSITIONS: frozenset[str] = frozenset({
    "average_loss", "average_win", "compounding_annual_return", "drawdown", "loss_rate", "net_profit",
    "probabilistic_sharpe_ratio", "win_rate",
})


class BacktestMetrics(BaseModel):
    """A backtest's figures. Rates and returns are fractions (0.153 for 15.3 %); money is in the
    account currency; ``None`` means the source did not report the figure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sharpe_ratio: float | None = None
    sortino_ratio: float | None = None
    probabilistic_sharpe_ratio: float | None = None
    compounding_annual_return: float | None = None
    drawdown: float | None = None
    net_profit: float | None = None
    total_orders: int | None = None
    win_rate: float | None = None
    loss_rate: float | None = None
    average_win: float | None = None
    average_loss: float | None = None
    profit_loss_ratio: float | None = None
    profit_factor: float | None = None
    expectancy: float | None = None
    alpha: float | None = None
    beta: float | None = None
    annual_standard_deviation: float | None = None
    annual_variance: float | None = None
    information_ratio: float | None = None
    tracking_error: float | None = None
    treynor_ratio: float | None = None
    total_fees: float | None = None
    portfolio_turnover: float | None = None
    start_equity: float | None = None
    end_equity: float | None = None
    drawdown_recovery: float | None = None
    estimated_strategy_capacity: float | None = None
    lowest_capacity_asset: str | None = None
    closed_trades: int | None = None
    winning_trades: int | None = None
    losing_trades: int | None = None


# field -> (key in ``statistics``, key in ``totalPerformance.portfolioStatistics``)
_STATISTIC_SOURCES: dict[str, tuple[str | None, str | None]] = {
    "sharpe_ratio": ("Sharpe Ratio", "sharpeRatio"),
    "sortino_ratio": ("Sortino Ratio", "sortinoRatio"),
    "probabilistic_sharpe_ratio": ("Probabilistic Sharpe Ratio", "probabilisticSharpeRatio"),
    "compounding_annual_return": ("Compounding Annual Return", "compoundingAnnualReturn"),
    "drawdown": ("Drawdown", "drawdown"),
    "net_profit": ("Net Profit", "totalNetProfit"),
    "win_rate": ("Win Rate", "winRate"),
    "loss_rate": ("Loss Rate", "lossRate"),
    "average_win": ("Average Win", "averageWinRate"),
    "average_loss": ("Average Loss", "averageLossRate"),
    "profit_loss_ratio": ("Profit-Loss Ratio", "profitLossRatio"),
    "expectancy": ("Expectancy", "expectancy"),
    "alpha": ("Alpha", "alpha"),
    "beta": ("Beta", "beta"),
    "annual_standard_deviation": ("Annual Standard Deviation", "annualStandardDeviation"),
    "annual_variance": ("Annual Variance", "annualVariance"),
    "information_ratio": ("Information Ratio", "informationRatio"),
    "tracking_error": ("Tracking Error", "trackingError"),
    "treynor_ratio": ("Treynor Ratio", "treynorRatio"),
    "total_fees": ("Total Fees", None),
    "portfolio_turnover": ("Portfolio Turnover", "portfolioTurnover"),
    "start_equity": ("Start Equity", "startEquity"),
    "end_equity": ("End Equity", "endEquity"),
    "drawdown_recovery": ("Drawdown Recovery", None),
    "estimated_strategy_capacity": ("Estimated Strategy Capacity", None),
}

_NUMBER_START = re.compile(r"[0-9.]")
_NUMBER_BODY = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def parse_statistic(value: object) -> float | None:
    """A LEAN statistics string as a number: percent -> fraction; currency, spaces, commas dropped.

    >>> parse_statistic("15.3%"), parse_statistic("$3.44"), parse_statistic("-19"), parse_statistic("")
    (0.153, 3.44, -19.0, None)
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    start = _NUMBER_START.search(text)
    if start is None:
        return None
    prefix, body = text[: start.start()], text[start.start():].replace(",", "")
    match = _NUMBER_BODY.match(body)
    suffix = body[match.end():].strip() if match else ""
    # only a sign and a currency (a symbol, or a code like "CHF") may precede the number, only a
    # percent sign may follow it: "SPY R735QTJ8XC9X" is not a number
    letters = "".join(ch for ch in prefix if ch.isalnum())
    if match is None or suffix not in ("", "%") or not _is_currency_code(letters):
        return None
    number = float(match.group(0))
    if "-" in prefix:  # "-19", "-$100.00", "$-100.00"
        number = -number
    if suffix == "%":
        number /= 100.0
    return number


def _is_currency_code(letters: str) -> bool:
    return letters == "" or (len(letters) <= 3 and letters.isalpha() and letters.isupper())


def _as_int(value: float | None) -> int | None:
    return None if value is None else round(value)


def _dump(value: Any) -> Any:
    """Plain data from a pydantic model (the client's schemas), unchanged otherwise."""
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else value


def _mapping(value: Any) -> Mapping[str, Any]:
    value = _dump(value)
    return value if isinstance(value, Mapping) else {}


def metrics_from_statistics(
    statistics: Mapping[str, Any] | None, total_performance: Mapping[str, Any] | Any = None,
) -> BacktestMetrics:
    """Metrics from a ``statistics`` dict of strings and an optional ``totalPerformance`` object."""
    strings: Mapping[str, Any] = statistics if isinstance(statistics, Mapping) else {}
    performance = _mapping(total_performance)
    portfolio = _mapping(performance.get("portfolioStatistics"))
    trades = _mapping(performance.get("tradeStatistics"))

    values: dict[str, Any] = {}
    for field, (string_key, portfolio_key) in _STATISTIC_SOURCES.items():
        number = parse_statistic(strings.get(string_key)) if string_key else None
        if number is None and portfolio_key:
            number = parse_statistic(portfolio.get(portfolio_key))
        values[field] = number
    if values["total_fees"] is None:
        values["total_fees"] = parse_statistic(trades.get("totalFees"))

    orders = strings.get("Total Orders", strings.get("Total Trades"))  # "Total Trades" before LEAN 16
    values["total_orders"] = _as_int(parse_statistic(orders))
    values["profit_factor"] = parse_statistic(trades.get("profitFactor"))
    values["lowest_capacity_asset"] = str(strings.get("Lowest Capacity Asset") or "").strip() or None

    closed = parse_statistic(trades.get("totalNumberOfTrades"))
    closed_list = performance.get("closedTrades")
    if closed is None and isinstance(closed_list, list):
        closed = float(len(closed_list))
    values["closed_trades"] = _as_int(closed)
    values["winning_trades"] = _as_int(parse_statistic(trades.get("numberOfWinningTrades")))
    values["losing_trades"] = _as_int(parse_statistic(trades.get("numberOfLosingTrades")))
    return BacktestMetrics(**values)


def metrics_from_backtest(result: Mapping[str, Any] | Any) -> BacktestMetrics:
    """Metrics from a finished backtest: the ``backtest`` object of ``backtests/read`` (a dict or the
    client's ``Backtest`` model) or the embedded engine's ``to_cloud()`` dict."""
    data = _mapping(result)
    statistics = data.get("statistics")
    return metrics_from_statistics(statistics if isinstance(statistics, Mapping) else None,
                                   data.get("totalPerformance"))


def metrics_from_optimization(values: Sequence[Any] | Mapping[str, Any] | Any) -> BacktestMetrics:
    """Metrics from one optimization backtest's positional statistics.

    Accepts the 21-number array, LEAN's object form keyed ``"0"``..``"20"``, or a mapping keyed by
    the names in ``OPTIMIZATION_STATISTICS_ORDER`` (the client's ``OptimizationStatistics``).
    Percent positions become fractions. Figures the array does not carry (Sortino, equity, profit
    factor, turnover, ...) are ``None``.
    """
    named = optimization_statistics_by_name(values)
    metrics: dict[str, Any] = {}
    for name, raw in named.items():
        number = parse_statistic(raw)
        if number is not None and name in PERCENT_POSITIONS:
            number /= 100.0
        metrics[name] = number
    metrics["total_orders"] = _as_int(metrics.get("total_orders"))
    return BacktestMetrics(**metrics)


def optimization_statistics_by_name(values: Sequence[Any] | Mapping[str, Any] | Any) -> dict[str, Any]:
    """The positional statistics (array, ``{"0": ...}`` object, or by-name mapping) keyed by name."""
    values = _dump(values)
    if isinstance(values, Mapping):
        by_text = {str(key): value for key, value in values.items()}
        if any(key.isdigit() for key in by_text):  # LEAN's writer: {"0": alpha, "1": ..., "20": win rate}
            return {name: by_text.get(str(i)) for i, name in enumerate(OPTIMIZATION_STATISTICS_ORDER)}
        return {name: by_text.get(name) for name in OPTIMIZATION_STATISTICS_ORDER}
    if isinstance(values, Sequence) and not isinstance(values, str | bytes):
        return {name: (values[i] if i < len(values) else None)
                for i, name in enumerate(OPTIMIZATION_STATISTICS_ORDER)}
    return dict.fromkeys(OPTIMIZATION_STATISTICS_ORDER)
