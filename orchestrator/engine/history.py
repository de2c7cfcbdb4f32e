"""History requests: bars of the data folder as QuantConnect's pandas DataFrame.

The frame has a (symbol, time) MultiIndex, ``time`` being each bar's **end** time (16:00 for daily
bars), and lowercase columns in alphabetical order: ``close high low open volume`` for trade bars,
plus ``askclose ... bidsize`` for minute/second equities (trade and quote bars are merged on time).
Bars are read with the same feed as backtests (adjusted prices, fill-forward on by default).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.engine.data import QuoteBar, TradeBar
from orchestrator.engine.enums import DataNormalizationMode, Resolution
from orchestrator.engine.feed import DataFeed, Subscription
from orchestrator.engine.market_hours import ExchangeHours
from orchestrator.engine.sources import SecuritySource

TRADE_COLUMNS = ["close", "high", "low", "open", "volume"]
QUOTE_COLUMNS = ["askclose", "askhigh", "asklow", "askopen", "asksize",
                 "bidclose", "bidhigh", "bidlow", "bidopen", "bidsize"]
_BARS_PER_DAY = {Resolution.DAILY: 1, Resolution.HOUR: 7, Resolution.MINUTE: 390, Resolution.SECOND: 23400}


@dataclass
class HistoryRequest:
    ticker: str
    resolution: Resolution
    fill_forward: bool = True
    extended_hours: bool = False
    normalization: DataNormalizationMode = DataNormalizationMode.ADJUSTED
    kinds: tuple[str, ...] = ("trade",)


def _collect(folder: Path, hours: ExchangeHours, request: HistoryRequest, first_day: dt.date,
             end: dt.datetime) -> dict[str, list[Any]]:
    """Every bar (by kind) whose end time is at or before ``end``, from ``first_day`` on."""
    source = SecuritySource(folder, request.ticker, hours, request.normalization)
    feed = DataFeed(hours, first_day, end)
    subs: dict[str, Subscription] = {}
    for kind in request.kinds:
        subs[kind] = Subscription(source, request.resolution, kind, request.fill_forward, request.extended_hours)
        feed.add(subs[kind])
    collected: dict[str, list[Any]] = {kind: [] for kind in request.kinds}
    for time_slice in feed.slices():
        for sub, bar in time_slice.entries:
            collected[sub.kind].append(bar)
    # fill-forward only between real bars: a history request past the end of the data (research "now"
    # on an old data folder) must not invent bars
    for kind, bars in collected.items():
        last_real = max((i for i, bar in enumerate(bars) if not bar.is_fill_forward), default=-1)
        collected[kind] = bars[:last_real + 1]
    return collected


def bars_between(folder: Path, hours: ExchangeHours, request: HistoryRequest, start: dt.datetime,
                 end: dt.datetime) -> dict[str, list[Any]]:
    """Bars that end in (start, end]."""
    collected = _collect(folder, hours, request, start.date(), end)
    return {kind: [b for b in bars if start < b.end_time <= end] for kind, bars in collected.items()}


def last_bars(folder: Path, hours: ExchangeHours, request: HistoryRequest, periods: int,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
              end: dt.datetime, earliest: dt.date | None = None) -> dict[str, list[Any]]:
    """The last ``periods`` bars that end at or before ``end`` (fewer when the data runs out)."""
    if periods <= 0:
        return {kind: [] for kind in request.kinds}
    days = math.ceil(periods / _BARS_PER_DAY[request.resolution]) + 2
    floor = earliest or dt.date(1990, 1, 1)
    while True:
        first_day = end.date()
        counted = 0
        while counted < days and first_day > floor:
            first_day -= dt.timedelta(days=1)
            if hours.is_trading_day(first_day):
                counted += 1
        collected = _collect(folder, hours, request, first_day, end)
        main = collected[request.kinds[0]]
        if len(main) >= periods or first_day <= floor:
            break
        days *= 2
    cut = {kind: bars[-periods:] for kind, bars in collected.items()}
    if len(request.kinds) > 1 and cut[request.kinds[0]]:
        first_end = cut[request.kinds[0]][0].end_time
        for kind in request.kinds[1:]:
            cut[kind] = [b for b in collected[kind] if b.end_time >= first_end]
    return cut


def _trade_row(bar: TradeBar) -> dict[str, float]:
    return {"close": bar.close, "high": bar.high, "low": bar.low, "open": bar.open, "volume": bar.volume}


def _quote_row(bar: QuoteBar) -> dict[str, float]:
    row: dict[str, float] = {}
    for prefix, side, size in (("ask", bar.ask, bar.last_ask_size), ("bid", bar.bid, bar.last_bid_size)):
        if side is not None:
            row.update({f"{prefix}close": side.close, f"{prefix}high": side.high, f"{prefix}low": side.low,
                        f"{prefix}open": side.open})
        row[f"{prefix}size"] = size
    return row


def to_frame(bars_by_symbol: Iterable[tuple[str, dict[str, list[Any]]]]) -> Any:
    """QuantConnect Research's DataFrame: (symbol, time) MultiIndex, lowercase alphabetical columns."""
    import pandas as pd

    rows: dict[tuple[str, dt.datetime], dict[str, float]] = {}
    has_quotes = False
    for symbol, by_kind in bars_by_symbol:
        for bar in by_kind.get("quote", []):
            has_quotes = True
            rows.setdefault((symbol, bar.end_time), {}).update(_quote_row(bar))
        for bar in by_kind.get("trade", []):
            rows.setdefault((symbol, bar.end_time), {}).update(_trade_row(bar))
    has_trades = any(by for by in rows.values() if "close" in by)
    columns = (QUOTE_COLUMNS if has_quotes else []) + (TRADE_COLUMNS if has_trades or not has_quotes else [])
    if has_quotes and has_trades:
        columns = sorted(set(QUOTE_COLUMNS) | set(TRADE_COLUMNS))
    keys = sorted(rows)
    index = pd.MultiIndex.from_tuples(keys, names=["symbol", "time"]) if keys else \
        pd.MultiIndex.from_arrays([[], pd.DatetimeIndex([])], names=["symbol", "time"])
    data = [[rows[key].get(column, math.nan) for column in columns] for key in keys]
    return pd.DataFrame(data, index=index, columns=columns, dtype=float)

