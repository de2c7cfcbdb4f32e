"""The baseline backtest's result, condensed for the baseline-review notebook and the parity check.

A cloud-shaped result (``backtests/read``'s ``backtest`` object, or the engine's ``to_cloud()``) is
parsed tolerantly (QuantConnect's data: unknown keys are ignored, known ones are validated) into
``BaselineData``: the statistics strings, the daily equity at each trading day's close, and the closed
trades. The review notebook embeds it, so it runs anywhere without fetching anything.

Daily equity: LEAN samples equity at 00:00 of every calendar day (the value then is the previous
close) plus extra points after some time slices. Each point is assigned to the trading session whose
16:00 close it reflects (a point before 16:00 New York time belongs to the day before); the last point
of each session is kept, and days that are not NYSE sessions (weekends, holidays, special closures) are
dropped, using the engine's rules-based NYSE calendar (``orchestrator.engine.calendar``, a leaf module
of the standard library only), so that these are exactly the days the notebooks' simulator trades on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestrator.engine.calendar import is_trading_day
from orchestrator.errors import NotebookError

NEW_YORK = ZoneInfo("America/New_York")
MARKET_CLOSE_HOUR = 16
EQUITY_CHART, EQUITY_SERIES = "Strategy Equity", "Equity"


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ClosedTrade(_Tolerant):
    """One round trip from ``totalPerformance.closedTrades`` (QuantConnect's names as aliases)."""

    symbol: str
    entry_time: datetime = Field(validation_alias=AliasChoices("entryTime", "entry_time"))
    exit_time: datetime = Field(validation_alias=AliasChoices("exitTime", "exit_time"))
    quantity: float = 0.0
    entry_price: float = Field(default=0.0, validation_alias=AliasChoices("entryPrice", "entry_price"))
    exit_price: float = Field(default=0.0, validation_alias=AliasChoices("exitPrice", "exit_price"))
    profit_loss: float = Field(validation_alias=AliasChoices("profitLoss", "profit_loss"))
    fees: float = Field(default=0.0, validation_alias=AliasChoices("totalFees", "fees"))

    @field_validator("symbol", mode="before")
    @classmethod
    def _ticker(cls, value: Any) -> Any:
        if isinstance(value, Mapping):  # {"value": "SPY", "id": "SPY R735QTJ8XC9X", ...}
            value = value.get("value") or value.get("Value") or value.get("id") or ""
        return str(value).split(" ")[0]


class BaselineData(BaseModel):
    """What the baseline-review notebook needs from the backtest (embedded in the notebook)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backtest_id: str | None = None
    name: str | None = None
    statistics: dict[str, str] = Field(default_factory=dict)
    starting_cash: float = Field(gt=0)
    dates: list[date] = Field(min_length=2)
    equity: list[float] = Field(min_length=2)
    closed_trades: list[ClosedTrade] = Field(default_factory=list)

    @classmethod
    def from_cloud(cls, result: Mapping[str, Any], *, start: date | None = None,
                   starting_cash: float | None = None) -> BaselineData:
        """Condense a cloud-shaped backtest result; NotebookError says what is missing.

        ``start`` (the backtest's start date) drops the sample LEAN takes at the start date's 00:00,
        which reflects the starting cash rather than a close.
        """
        sessions = daily_equity(result, start=start)
        statistics = {str(k): str(v) for k, v in (result.get("statistics") or {}).items()}
        cash = starting_cash if starting_cash is not None else _starting_cash(statistics, sessions)
        trades_raw = ((result.get("totalPerformance") or {}).get("closedTrades")) or []
        try:
            trades = [ClosedTrade.model_validate(item) for item in trades_raw]
            return cls(
                backtest_id=result.get("backtestId"), name=result.get("name"), statistics=statistics,
                starting_cash=cash, dates=[d for d, _ in sessions], equity=[v for _, v in sessions],
                closed_trades=trades,
            )
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise NotebookError(
                f"the baseline backtest result cannot be reviewed: {where}: {problem['msg']}",
                hint="pass the full result of backtests/read (with charts and totalPerformance)",
            ) from exc


def _starting_cash(statistics: Mapping[str, str], sessions: Sequence[tuple[date, float]]) -> float:
    text = statistics.get("Start Equity", "").replace(",", "").replace("$", "").strip()
    try:
        return float(text)
    except ValueError:
        return sessions[0][1]


def _point(value: Any) -> tuple[float, float] | None:
    """(unix seconds, value) from a chart point: [t, v], [t, o, h, l, c] or {x, y} / {x, close}; None for a
    point that has no usable (finite) time and value."""
    time: Any = None
    level: Any = None
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) >= 2:
        time, level = value[0], value[-1]
    elif isinstance(value, Mapping):
        time = value.get("x", value.get("time"))
        level = next((value[k] for k in ("y", "close", "c", "value") if value.get(k) is not None), None)
    try:
        point = (float(time), float(level))
    except (TypeError, ValueError):
        return None
    return point if all(math.isfinite(number) for number in point) else None


def series_points(result: Mapping[str, Any], chart: str, series: str) -> list[tuple[datetime, float]]:
    """A chart series' points in New York time, sorted; [] when the chart or series is absent."""
    charts = result.get("charts") or {}
    values = (((charts.get(chart) or {}).get("series") or {}).get(series) or {}).get("values") or []
    points = [p for p in (_point(v) for v in values) if p is not None]
    points.sort(key=lambda p: p[0])
    return [(datetime.fromtimestamp(t, UTC).astimezone(NEW_YORK), v) for t, v in points]


def session_of(moment: datetime) -> date:
    """The trading day whose close a value sampled at ``moment`` (New York time) reflects."""
    if moment.hour >= MARKET_CLOSE_HOUR:
        return moment.date()
    return moment.date() - timedelta(days=1)


def _last_per_session(points: Sequence[tuple[datetime, float]]) -> dict[date, float]:
    sessions: dict[date, float] = {}
    for moment, value in points:
        day = session_of(moment)
        if is_trading_day(day):
            sessions[day] = value
    return sessions


def daily_equity(result: Mapping[str, Any], *, start: date | None = None) -> list[tuple[date, float]]:
    """Equity at each trading day's close from a cloud-shaped result (see the module docstring);
    sessions before ``start`` are dropped."""
    equity = _last_per_session(series_points(result, EQUITY_CHART, EQUITY_SERIES))
    if start is not None:
        equity = {day: value for day, value in equity.items() if day >= start}
    if len(equity) < 2:
        raise NotebookError(
            f"the backtest result has no usable '{EQUITY_CHART}' chart (found {len(equity)} daily points)",
            hint="read the full chart (backtests/chart/read) or pass the engine's to_cloud() result",
        )
    return sorted(equity.items())
