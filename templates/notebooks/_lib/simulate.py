# qcloop simulator: runs a strategy family's Signal bar by bar over daily history.
#
# This cell is shared by the parameter-sweep and walk-forward notebooks. It reproduces the parts of a
# LEAN daily backtest that move the numbers, so that the notebook's figures at the baseline parameters
# agree with the baseline backtest (qcloop checks this "parity"):
#   * a target decided at a daily close (16:00) becomes a market-on-open order that fills at the next
#     real bar's open (LEAN converts orders placed after the close to MarketOnOpen);
#   * set_holdings sizing: the 0.25 % free-cash buffer, whole shares, LEAN's 0.1 % minimum-order-margin
#     filter and its fee-aware sizing loop, with the default equity leverage of 2 of a margin account;
#   * Interactive Brokers fees: $0.005 a share, at least $1, at most 0.5 % of the order value
#     (valued at the security's price when the order fills, i.e. that day's close, as LEAN does);
#   * adjusted prices (qb.history's default), no dividends in cash, no slippage, no buying-power refusals;
#   * daily equity marked at each close, from which the metrics below are computed.
# It is plain Python + numpy + pandas so that it runs unchanged in QuantConnect Research and locally.

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

IB_FEE_PER_SHARE = 0.005
IB_MINIMUM_FEE = 1.0
IB_MAXIMUM_FEE_FRACTION = 0.005
CASH_BUFFER_FRACTION = 0.0025  # LEAN's Settings.FreePortfolioValuePercentage
MINIMUM_ORDER_MARGIN_FRACTION = 0.001  # LEAN's Settings.MinimumOrderMarginPortfolioPercentage
DEFAULT_EQUITY_LEVERAGE = 2.0  # LEAN's default for US equities in a margin account
TRADING_DAYS_PER_YEAR = 252
MARKET_CLOSE_HOUR = 16


class HistoryBar:
    """One daily trade bar with the attributes a Signal reads (like LEAN's TradeBar)."""

    __slots__ = ("close", "end_time", "high", "is_fill_forward", "low", "open", "symbol", "time", "volume")

    def __init__(self, symbol: str, end_time: object, open_: float, high: float, low: float, close: float,
                 volume: float, is_fill_forward: bool = False) -> None:
        self.symbol = symbol
        self.time = end_time
        self.end_time = end_time
        self.open = open_
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.is_fill_forward = is_fill_forward

    # PascalCase aliases: signal code written for LEAN may use either spelling.
    Open = property(lambda self: self.open)
    High = property(lambda self: self.high)
    Low = property(lambda self: self.low)
    Close = property(lambda self: self.close)
    Volume = property(lambda self: self.volume)
    EndTime = property(lambda self: self.end_time)
    Time = property(lambda self: self.time)
    Value = property(lambda self: self.close)
    Price = property(lambda self: self.close)

    @property
    def value(self) -> float:
        return self.close

    @property
    def price(self) -> float:
        return self.close

    def __repr__(self) -> str:
        return f"HistoryBar({self.symbol} {self.end_time} O={self.open} H={self.high} L={self.low} C={self.close})"


@dataclass
class MarketData:
    """Daily bars of several tickers on one calendar (the union of their trading days).

    Arrays are (days, tickers); a ticker without a bar on a day has NaN there and ``real`` False.
    ``times`` are the bars' end times (16:00 of the trading day), ``dates`` the trading dates.
    """

    tickers: list
    times: list
    dates: list
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    real: np.ndarray

    def __len__(self) -> int:
        return len(self.dates)

    def index_on_or_after(self, day: date) -> int:
        """The index of the first trading date >= day (len(self) when there is none)."""
        return int(np.searchsorted(np.array(self.dates, dtype="datetime64[D]"), np.datetime64(day, "D")))

    def index_on_or_before(self, day: date) -> int:
        """The index of the last trading date <= day (-1 when there is none)."""
        dates = np.array(self.dates, dtype="datetime64[D]")
        return int(np.searchsorted(dates, np.datetime64(day, "D"), side="right")) - 1


def ticker_of(symbol: object) -> str:
    """'SPY' from a LEAN Symbol (its .value), a 'SPY R735QTJ8XC9X' string, or a plain ticker."""
    for name in ("value", "Value"):
        text = getattr(symbol, name, None)
        if isinstance(text, str) and text:
            return text.upper()
    return str(symbol).split(" ")[0].upper()


def trading_date_of(timestamp: object) -> date:
    """The trading date of a daily bar from its end time.

    QuantConnect stamps a daily bar's end at 16:00 of its day (DailyPreciseEndTime); older data ends at
    00:00 of the next day, which belongs to the previous trading day.
    """
    ts = pd.Timestamp(timestamp)
    if ts.hour == 0 and ts.minute == 0 and ts.second == 0:
        ts = ts - pd.Timedelta(days=1)
    return ts.date()


def market_data_from_history(history: pd.DataFrame, tickers: list[str]) -> "MarketData":
    """Align a qb.history DataFrame (MultiIndex symbol/time, lowercase OHLCV) on one daily calendar."""
    if history is None or len(history) == 0:
        raise ValueError(f"qb.history returned no rows for {tickers}: check the tickers and the dates")
    frame = history.copy()
    frame.columns = [str(column).lower() for column in frame.columns]
    symbol_level = frame.index.get_level_values(0)
    time_level = frame.index.get_level_values(-1)
    frame = frame.assign(_ticker=[ticker_of(s) for s in symbol_level],
                         _date=[trading_date_of(t) for t in time_level])
    wanted = [t.upper() for t in tickers]
    missing = [t for t in wanted if t not in set(frame["_ticker"])]
    if missing:
        raise ValueError(f"qb.history has no data for {missing}: is the data available for these dates?")
    dates = sorted(set(frame["_date"]))
    position = {d: i for i, d in enumerate(dates)}
    shape = (len(dates), len(wanted))
    arrays = {name: np.full(shape, np.nan) for name in ("open", "high", "low", "close", "volume")}
    real = np.zeros(shape, dtype=bool)
    for column, ticker in enumerate(wanted):
        rows = frame[frame["_ticker"] == ticker]
        rows = rows[~pd.Index(rows["_date"]).duplicated(keep="last")]
        index = [position[d] for d in rows["_date"]]
        for name, values in arrays.items():
            values[index, column] = rows[name].to_numpy(dtype=float)
        real[index, column] = True
    times = [pd.Timestamp(d) + pd.Timedelta(hours=MARKET_CLOSE_HOUR) for d in dates]
    return MarketData(wanted, times, dates, arrays["open"], arrays["high"], arrays["low"],
                      arrays["close"], arrays["volume"], real)


def ib_fee(quantity: float, price: float) -> float:
    """Interactive Brokers' US-equity fee for one order fill."""
    shares = abs(quantity)
    if shares == 0:
        return 0.0
    fee = max(IB_MINIMUM_FEE, IB_FEE_PER_SHARE * shares)
    return min(fee, IB_MAXIMUM_FEE_FRACTION * shares * price)


def set_holdings_quantity(weight: float, holdings: int, price: float, portfolio_value: float,
                          leverage: float = DEFAULT_EQUITY_LEVERAGE) -> int:
    """The order quantity LEAN's set_holdings(symbol, weight) places (0 when it places none).

    The target is expressed as margin (value / leverage) after the 0.25 % cash buffer. No order is placed
    when the change is smaller than 0.1 % of the portfolio in margin terms. Whole shares, rounded towards
    the smaller position; the estimated fee is taken out of the target until the order fits.
    """
    if price <= 0 or not math.isfinite(price) or portfolio_value <= 0:
        return 0
    margin_fraction = weight * (1.0 - CASH_BUFFER_FRACTION) / leverage
    target_margin = margin_fraction * portfolio_value
    if target_margin == 0:
        return -holdings
    unit_margin = price / leverage
    if abs(target_margin - holdings * unit_margin) < portfolio_value * MINIMUM_ORDER_MARGIN_FRACTION:
        return 0
    previous = None
    while True:
        raw = -holdings + target_margin / unit_margin
        quantity = math.floor(raw + 1e-9) if target_margin > 0 else math.ceil(raw - 1e-9)
        step = -1 if target_margin > 0 else 1
        while abs((quantity + holdings) * unit_margin) > abs(target_margin) + 1e-9:
            quantity += step
        fee = ib_fee(quantity, price)
        target_margin = (portfolio_value - fee) * margin_fraction
        if abs((quantity + holdings) * unit_margin) <= abs(target_margin) + 1e-9 or quantity == previous:
            return int(quantity)
        previous = quantity


@dataclass
class RoundTrip:
    """A round trip in one ticker: from flat to flat (or to a reversal)."""

    ticker: str
    entry_date: object
    exit_date: object
    quantity: int
    entry_price: float
    exit_price: float
    profit: float


@dataclass
class SimulationResult:
    """Daily equity over the evaluated window, with the orders and round trips that produced it."""

    dates: list
    equity: np.ndarray
    starting_cash: float
    start_day: object
    orders: int = 0
    fees: float = 0.0
    trades: list = field(default_factory=list)
    final_holdings: dict = field(default_factory=dict)


class _Book:
    """Cash, holdings and the round-trip bookkeeping of one simulation."""

    def __init__(self, tickers: list[str], cash: float) -> None:
        self.cash = float(cash)
        self.quantity = dict.fromkeys(tickers, 0)
        self.entry_price = dict.fromkeys(tickers, 0.0)
        self.entry_date = dict.fromkeys(tickers, None)
        self.entry_fees = dict.fromkeys(tickers, 0.0)
        self.orders = 0
        self.fees = 0.0
        self.trades = []

    def fill(self, ticker: str, quantity: int, price: float, fee: float, day: date) -> None:
        self.orders += 1
        self.fees += fee
        self.cash -= quantity * price + fee
        held = self.quantity[ticker]
        after = held + quantity
        if held == 0 or (held > 0) == (quantity > 0):  # opening or adding: weighted average entry
            total = abs(held) + abs(quantity)
            self.entry_price[ticker] = (self.entry_price[ticker] * abs(held) + price * abs(quantity)) / total
            if held == 0:
                self.entry_date[ticker] = day
                self.entry_fees[ticker] = 0.0
            self.entry_fees[ticker] += fee
        elif after == 0 or (after > 0) != (held > 0):  # closing or reversing: one round trip ends
            profit = held * (price - self.entry_price[ticker]) - self.entry_fees[ticker] - fee
            self.trades.append(RoundTrip(ticker, self.entry_date[ticker], day, held,
                                     self.entry_price[ticker], price, profit))
            self.entry_price[ticker] = price if after != 0 else 0.0
            self.entry_date[ticker] = day if after != 0 else None
            self.entry_fees[ticker] = 0.0
        self.quantity[ticker] = after

    def value(self, last_close: dict[str, float]) -> float:
        return self.cash + sum(q * last_close[t] for t, q in self.quantity.items() if q)


def simulate(signal: object, data: MarketData, cash: float, start_index: int = 0, end_index: int | None = None,
             warmup_bars: int = 0, leverage: float = DEFAULT_EQUITY_LEVERAGE) -> SimulationResult:
    """Run ``signal`` over ``data`` and trade from ``start_index`` to ``end_index`` (inclusive).

    The signal first sees ``warmup_bars`` bars before ``start_index`` (like LEAN's set_warm_up: no
    orders then; the last target decided while warming up is applied on the first live bar). A ticker with no bar on a day gets a fill-forward copy
    of its last bar (LEAN's default), but orders fill only at a real bar's open.
    """
    end_index = len(data) - 1 if end_index is None else end_index
    if not 0 <= start_index <= end_index < len(data):
        raise ValueError(f"window [{start_index}, {end_index}] is outside the {len(data)} bars of data")
    first = max(0, start_index - int(warmup_bars))
    tickers = data.tickers
    book = _Book(tickers, cash)
    pending = dict.fromkeys(tickers, 0)
    last_close = dict.fromkeys(tickers, math.nan)
    last_bar = dict.fromkeys(tickers)
    equity = np.empty(end_index - start_index + 1)
    pending_targets = None
    for i in range(first, end_index + 1):
        day, time = data.dates[i], data.times[i]
        bars = {}
        for column, ticker in enumerate(tickers):
            if data.real[i, column]:
                if pending[ticker]:
                    # A market-on-open order fills at this bar's open; its fee uses the day's price.
                    fee = ib_fee(pending[ticker], data.close[i, column])
                    book.fill(ticker, pending[ticker], data.open[i, column], fee, day)
                    pending[ticker] = 0
                bar = HistoryBar(ticker, time, data.open[i, column], data.high[i, column], data.low[i, column],
                          data.close[i, column], data.volume[i, column])
                last_close[ticker] = bar.close
                last_bar[ticker] = bar
                bars[ticker] = bar
            elif last_bar[ticker] is not None:
                previous = last_bar[ticker]
                bars[ticker] = HistoryBar(ticker, time, previous.open, previous.high, previous.low,
                                   previous.close, previous.volume, is_fill_forward=True)
        # Like the algorithm: a slice without bars does not reach the signal.
        targets = signal.update(time, bars) if bars else None
        if targets is not None:
            # A target decided while warming up is kept and applied on the first live bar, as the
            # generated algorithm does (orders are not allowed during LEAN's warm-up).
            pending_targets = targets
        if i >= start_index and pending_targets is not None:
            portfolio_value = book.value(last_close)
            for ticker, weight in sorted(pending_targets.items(), key=lambda item: ticker_of(item[0])):
                key = ticker_of(ticker)
                if key not in pending or not math.isfinite(last_close[key]):
                    continue  # like LEAN: no order for a security without data yet
                held = book.quantity[key] + pending[key]
                quantity = set_holdings_quantity(float(weight), held, last_close[key], portfolio_value,
                                                 leverage)
                pending[key] += quantity
            pending_targets = None
        if i >= start_index:
            equity[i - start_index] = book.value(last_close)
    return SimulationResult(
        dates=list(data.dates[start_index:end_index + 1]), equity=equity, starting_cash=float(cash),
        start_day=data.dates[start_index], orders=book.orders, fees=book.fees, trades=book.trades,
        final_holdings={t: q for t, q in book.quantity.items() if q},
    )


# ---------------------------------------------------------------------------------------------------
# Metrics of a daily equity curve. The Sharpe ratio and the moments come from qcloop's statistics cell
# (orchestrator/stats.py, embedded in this notebook), the one source of those formulas.

def daily_returns(result: "SimulationResult") -> np.ndarray:
    """Simple daily returns of the equity curve; the first is relative to the starting cash."""
    values = np.concatenate([[result.starting_cash], result.equity])
    return values[1:] / values[:-1] - 1.0


def max_drawdown(result: "SimulationResult") -> float:
    """The largest peak-to-trough loss of the equity curve (starting cash included), as a fraction."""
    values = np.concatenate([[result.starting_cash], result.equity])
    peaks = np.maximum.accumulate(values)
    return float(np.max(1.0 - values / peaks))


def drawdown_series(dates: list, equity: np.ndarray, starting_cash: float) -> pd.Series:
    """Drawdown below the running peak for each day, as a negative fraction (a pandas Series)."""
    values = pd.Series(np.asarray(equity, dtype=float), index=pd.to_datetime(list(dates)))
    peaks = np.maximum.accumulate(np.concatenate([[starting_cash], values.to_numpy()]))[1:]
    return values / peaks - 1.0


def years_between(first_day: date, last_day: date) -> float:
    """Calendar years from the start date (00:00) to the last close (16:00), like LEAN's CAR."""
    span = pd.Timestamp(last_day) + pd.Timedelta(hours=MARKET_CLOSE_HOUR) - pd.Timestamp(first_day)
    return span.total_seconds() / (365.0 * 86400.0)


def _finite_or_none(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def per_period_sharpe(returns: np.ndarray) -> float | None:
    """The per-day Sharpe ratio (stats.sharpe_ratio), or None when it is undefined (no volatility)."""
    if len(returns) < 2:
        return None
    try:
        return sharpe_ratio(returns)
    except StatsInputError:
        return None


def figures(result: "SimulationResult", start_day: date | None = None) -> dict:
    """The standard figures of one simulated window (JSON-ready; None where undefined)."""
    returns = daily_returns(result)
    final = float(result.equity[-1])
    total_return = final / result.starting_cash - 1.0
    years = years_between(start_day or result.start_day, result.dates[-1])
    cagr = (final / result.starting_cash) ** (1.0 / years) - 1.0 if years > 0 and final > 0 else None
    per_period = per_period_sharpe(returns)
    wins = [t for t in result.trades if t.profit > 0]
    return {
        "start": str(result.dates[0]),
        "end": str(result.dates[-1]),
        "days": len(result.equity),
        "total_return": total_return,
        "cagr": _finite_or_none(cagr),
        "sharpe": None if per_period is None else _finite_or_none(
            annualize_sharpe(per_period, TRADING_DAYS_PER_YEAR)),
        "sharpe_per_period": _finite_or_none(per_period),
        "volatility": float(np.std(returns, ddof=1) * math.sqrt(TRADING_DAYS_PER_YEAR))
        if len(returns) >= 2 else None,
        "max_drawdown": max_drawdown(result),
        "orders": int(result.orders),
        "trades": len(result.trades),
        "win_rate": (len(wins) / len(result.trades)) if result.trades else None,
        "fees": float(result.fees),
        "final_equity": final,
    }
