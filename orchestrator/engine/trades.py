"""Closed trades and their statistics (``totalPerformance.closedTrades`` / ``tradeStatistics``).

LEAN's TradeBuilder defaults: fills are grouped flat-to-flat (a trade opens when a position leaves zero
and closes when it returns to zero, a reversal closing one trade and opening the next) and matched
FIFO. While a trade is open its maximum adverse and favourable excursions (MAE/MFE) follow each bar's
close.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics as pystats
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orchestrator.engine.timeutil import utc_iso

ZERO = Decimal(0)


@dataclass
class Trade:
    symbol: Any
    entry_time: dt.datetime
    entry_price: Decimal
    direction: int  # 0 long, 1 short
    quantity: int = 0
    exit_time: dt.datetime | None = None
    exit_price: Decimal = ZERO
    profit_loss: Decimal = ZERO
    total_fees: Decimal = ZERO
    mae: Decimal = ZERO
    mfe: Decimal = ZERO

    @property
    def duration(self) -> dt.timedelta:
        return (self.exit_time - self.entry_time) if self.exit_time else dt.timedelta(0)

    @property
    def end_trade_drawdown(self) -> Decimal:
        return self.profit_loss - self.mfe

    @property
    def is_win(self) -> bool:
        return self.profit_loss > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol.to_json(),
            "entryTime": utc_iso(self.entry_time),
            "entryPrice": float(self.entry_price),
            "direction": self.direction,
            "quantity": float(self.quantity),
            "exitTime": utc_iso(self.exit_time) if self.exit_time else None,
            "exitPrice": float(self.exit_price),
            "profitLoss": float(self.profit_loss),
            "totalFees": float(self.total_fees),
            "mae": float(self.mae),
            "mfe": float(self.mfe),
            "duration": format_timespan(self.duration),
            "endTradeDrawdown": float(self.end_trade_drawdown),
            "isWin": self.is_win,
        }


@dataclass
class _OpenPosition:
    trade: Trade
    position: int = 0
    entry_value: Decimal = ZERO
    entry_quantity: int = 0
    exit_value: Decimal = ZERO
    exit_quantity: int = 0
    entry_float: float = 0.0
    mae: float = 0.0
    mfe: float = 0.0


@dataclass
class TradeBuilder:
    """Builds flat-to-flat trades from fills."""

    closed: list[Trade] = field(default_factory=list)
    _open: dict[Any, _OpenPosition] = field(default_factory=dict)

    def on_fill(self, symbol: Any, time: dt.datetime, quantity: int, price: Decimal, fee: Decimal) -> None:
        while quantity != 0:
            state = self._open.get(symbol)
            if state is None:
                trade = Trade(symbol, time, price, 0 if quantity > 0 else 1)
                state = self._open[symbol] = _OpenPosition(trade)
            same_side = state.position == 0 or (state.position > 0) == (quantity > 0)
            if same_side:
                state.position += quantity
                state.entry_quantity += abs(quantity)
                state.entry_value += abs(quantity) * price
                state.trade.total_fees += fee
                state.trade.entry_price = state.entry_value / state.entry_quantity
                state.entry_float = float(state.trade.entry_price)
                return
            closing = min(abs(quantity), abs(state.position))
            step = closing if quantity > 0 else -closing
            state.position += step
            state.exit_quantity += closing
            state.exit_value += closing * price
            state.trade.total_fees += fee
            fee = ZERO  # charged once, to the closing part
            quantity -= step
            if state.position == 0:
                self._close(symbol, state, time)

    def _close(self, symbol: Any, state: _OpenPosition, time: dt.datetime) -> None:
        trade = state.trade
        trade.quantity = state.entry_quantity
        trade.exit_time = time
        trade.exit_price = state.exit_value / state.exit_quantity
        sign = 1 if trade.direction == 0 else -1
        trade.profit_loss = (trade.exit_price - trade.entry_price) * state.exit_quantity * sign
        trade.mfe = max(Decimal(repr(state.mfe)), trade.profit_loss)
        trade.mae = min(Decimal(repr(state.mae)), trade.profit_loss)
        self.closed.append(trade)
        del self._open[symbol]

    def mark_columns(self, subscriptions: Any, bars: Any) -> None:
        """Update the open trades' excursions with a time slice's trade bars."""
        for sub, bar in zip(subscriptions, bars):  # noqa: B905 - equal lengths by construction
            if sub.is_trade and not sub.internal:
                state = self._open.get(sub.symbol)
                if state is not None and state.position:
                    open_profit = (bar.close - state.entry_float) * state.position
                    state.mae = min(state.mae, open_profit)
                    state.mfe = max(state.mfe, open_profit)

    def mark(self, bars: dict[Any, Any], time: dt.datetime) -> None:
        """Update the open trades' excursions with the latest closes."""
        if not self._open:
            return
        for symbol, state in self._open.items():
            bar = bars.get(symbol)
            if bar is None or state.position == 0:
                continue
            # floats: excursions are informational and this runs on every bar of an open trade
            open_profit = (bar.close - state.entry_float) * state.position
            state.mae = min(state.mae, open_profit)
            state.mfe = max(state.mfe, open_profit)


def format_timespan(span: dt.timedelta) -> str:
    """.NET's TimeSpan ``c`` format: ``[d.]hh:mm:ss``."""
    total = int(span.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    prefix = f"{days}." if days else ""
    return f"{sign}{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}"


def _streaks(trades: list[Trade]) -> tuple[int, int]:
    best_win = best_loss = win = loss = 0
    for trade in trades:
        if trade.is_win:
            win, loss = win + 1, 0
        else:
            win, loss = 0, loss + 1
        best_win, best_loss = max(best_win, win), max(best_loss, loss)
    return best_win, best_loss


def trade_statistics(trades: list[Trade], start: dt.datetime | None, end: dt.datetime | None) -> dict[str, Any]:
    """LEAN's TradeStatistics over the closed trades (numbers, TimeSpan strings for durations)."""
    wins = [t for t in trades if t.is_win]
    losses = [t for t in trades if not t.is_win]
    pnl = [float(t.profit_loss) for t in trades]
    total_profit = sum((t.profit_loss for t in wins), ZERO)
    total_loss = sum((t.profit_loss for t in losses), ZERO)
    durations = [t.duration for t in trades]

    def average(spans: list[dt.timedelta]) -> str:
        return format_timespan(sum(spans, dt.timedelta(0)) / len(spans)) if spans else format_timespan(dt.timedelta(0))

    def median(spans: list[dt.timedelta]) -> str:
        if not spans:
            return format_timespan(dt.timedelta(0))
        return format_timespan(dt.timedelta(seconds=pystats.median(s.total_seconds() for s in spans)))

    best_win, best_loss = _streaks(trades)
    average_profit = total_profit / len(wins) if wins else ZERO
    average_loss = total_loss / len(losses) if losses else ZERO
    deviation = pystats.stdev(pnl) if len(pnl) > 1 else 0.0
    downside = [p for p in pnl if p < 0]
    downside_deviation = pystats.stdev(downside) if len(downside) > 1 else 0.0
    mean_pnl = pystats.fmean(pnl) if pnl else 0.0
    max_drawdown = _max_closed_drawdown(pnl)
    total_pnl = float(sum((t.profit_loss for t in trades), ZERO))
    return {
        "startDateTime": utc_iso(start) if start else None,
        "endDateTime": utc_iso(end) if end else None,
        "totalNumberOfTrades": len(trades),
        "numberOfWinningTrades": len(wins),
        "numberOfLosingTrades": len(losses),
        "totalProfitLoss": total_pnl,
        "totalProfit": float(total_profit),
        "totalLoss": float(total_loss),
        "largestProfit": max(pnl) if pnl and max(pnl) > 0 else 0.0,
        "largestLoss": min(pnl) if pnl and min(pnl) < 0 else 0.0,
        "averageProfitLoss": mean_pnl,
        "averageProfit": float(average_profit),
        "averageLoss": float(average_loss),
        "averageTradeDuration": average(durations),
        "averageWinningTradeDuration": average([t.duration for t in wins]),
        "averageLosingTradeDuration": average([t.duration for t in losses]),
        "medianTradeDuration": median(durations),
        "medianWinningTradeDuration": median([t.duration for t in wins]),
        "medianLosingTradeDuration": median([t.duration for t in losses]),
        "maxConsecutiveWinningTrades": best_win,
        "maxConsecutiveLosingTrades": best_loss,
        "profitLossRatio": float(average_profit / abs(average_loss)) if average_loss else 0.0,
        "winLossRatio": len(wins) / len(losses) if losses else (10.0 if wins else 0.0),
        "winRate": len(wins) / len(trades) if trades else 0.0,
        "lossRate": len(losses) / len(trades) if trades else 0.0,
        "averageMAE": pystats.fmean(float(t.mae) for t in trades) if trades else 0.0,
        "averageMFE": pystats.fmean(float(t.mfe) for t in trades) if trades else 0.0,
        "largestMAE": min((float(t.mae) for t in trades), default=0.0),
        "largestMFE": max((float(t.mfe) for t in trades), default=0.0),
        "maximumClosedTradeDrawdown": max_drawdown,
        "maximumIntraTradeDrawdown": min((float(t.mae) for t in trades), default=0.0),
        "profitLossStandardDeviation": deviation,
        "profitLossDownsideDeviation": downside_deviation,
        "profitFactor": float(total_profit / abs(total_loss)) if total_loss else (10.0 if total_profit else 0.0),
        "sharpeRatio": mean_pnl / deviation if deviation else 0.0,
        "sortinoRatio": mean_pnl / downside_deviation if downside_deviation else 0.0,
        "profitToMaxDrawdownRatio": total_pnl / abs(max_drawdown) if max_drawdown else 0.0,
        "maximumEndTradeDrawdown": min((float(t.end_trade_drawdown) for t in trades), default=0.0),
        "averageEndTradeDrawdown": pystats.fmean(float(t.end_trade_drawdown) for t in trades) if trades else 0.0,
        "maximumDrawdownDuration": format_timespan(_max_drawdown_duration(trades)),
        "totalFees": float(sum((t.total_fees for t in trades), ZERO)),
    }


def _max_closed_drawdown(pnl: list[float]) -> float:
    peak = cumulative = worst = 0.0
    for value in pnl:
        cumulative += value
        peak = max(peak, cumulative)
        worst = min(worst, cumulative - peak)
    return worst if not math.isnan(worst) else 0.0


def _max_drawdown_duration(trades: list[Trade]) -> dt.timedelta:
    longest = dt.timedelta(0)
    peak = cumulative = 0.0
    peak_time: dt.datetime | None = None
    for trade in trades:
        cumulative += float(trade.profit_loss)
        if trade.exit_time is None:
            continue
        if cumulative >= peak:
            if peak_time is not None:
                longest = max(longest, trade.exit_time - peak_time)
            peak, peak_time = cumulative, trade.exit_time
    return longest
