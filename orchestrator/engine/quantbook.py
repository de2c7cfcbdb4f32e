"""``QuantBook``: QuantConnect Research's entry point, on a local LEAN data folder.

    qb = QuantBook()                       # data folder from QCLOOP_DATA_FOLDER (or QuantBook(folder))
    spy = qb.add_equity("SPY", Resolution.DAILY).symbol
    df = qb.history(spy, 100)              # the last 100 bars available up to now
    df = qb.history([spy], datetime(2020, 1, 1), datetime(2021, 1, 1), Resolution.DAILY)
    sma = qb.indicator(SimpleMovingAverage(20), spy, 100, Resolution.DAILY)

History frames have QuantConnect Research's shape: a (symbol, time) MultiIndex with the bar end time
and lowercase ``close high low open volume`` columns (plus ``ask*``/``bid*`` for minute data).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from orchestrator.engine.api_errors import UnsupportedApiAttributeError
from orchestrator.engine.enums import DataNormalizationMode, Resolution
from orchestrator.engine.history import HistoryRequest, bars_between, last_bars
from orchestrator.engine.history_api import history_request
from orchestrator.engine.market_hours import load_exchange_hours
from orchestrator.engine.securities import Securities, Security
from orchestrator.engine.sources import SecuritySource
from orchestrator.errors import DataError

DATA_FOLDER_ENV = "QCLOOP_DATA_FOLDER"
_DEFAULT_LEVERAGE = 2


class QuantBook:
    """Research access to a LEAN data folder: securities, history and indicator helpers."""

    def __init__(self, data_folder: str | Path | None = None) -> None:
        folder = data_folder or os.environ.get(DATA_FOLDER_ENV)
        if not folder:
            raise DataError(f"QuantBook needs a data folder: pass QuantBook(path) or set {DATA_FOLDER_ENV}")
        self.folder = Path(folder).expanduser()
        if not self.folder.is_dir():
            raise DataError("the QuantBook data folder does not exist", path=self.folder)
        self.hours = load_exchange_hours(self.folder)
        self.securities = Securities()
        self._now: dt.datetime | None = None

    @property
    def time(self) -> dt.datetime:
        """Research runs "now"; ``set_date_time`` moves the clock (history never reads past it)."""
        return self._now or dt.datetime.now().replace(microsecond=0)

    def set_date_time(self, moment: dt.datetime) -> None:
        self._now = moment

    def add_equity(self, ticker: str, resolution: Resolution = Resolution.MINUTE, market: str | None = None,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                   fill_forward: bool = True, leverage: float = 0, extended_market_hours: bool = False,
                   data_normalization_mode: DataNormalizationMode = DataNormalizationMode.ADJUSTED,
                   **kwargs: Any) -> Security:
        ticker = str(ticker).upper()
        if ticker in self.securities:
            return self.securities[ticker]
        source = SecuritySource(self.folder, ticker, self.hours, data_normalization_mode)
        from decimal import Decimal

        security = Security(source, Resolution(int(resolution)), self,
                            Decimal(str(leverage or _DEFAULT_LEVERAGE)), fill_forward, extended_market_hours)
        self.securities[security.symbol] = security
        return security

    def history(self, *args: Any, **kwargs: Any) -> Any:
        """``history(symbols, periods|timedelta|start, [end], [resolution])`` as a DataFrame."""
        return history_request(self, list(args), kwargs)

    def indicator(self, indicator: Any, symbol: Any, *args: Any, resolution: Any = None,
                  selector: Any = None) -> Any:
        """An indicator run over history: a DataFrame of its values (index ``time``)."""
        import pandas as pd

        rest = list(args)
        if rest and isinstance(rest[-1], Resolution):
            resolution = rest.pop()
        if rest and callable(rest[-1]) and not isinstance(rest[-1], int | dt.timedelta | dt.datetime):
            selector = rest.pop()
        security = self.securities.get(symbol) or self.add_equity(str(getattr(symbol, "value", symbol)))
        res = Resolution(int(resolution)) if resolution is not None else security.resolution
        request = HistoryRequest(security.symbol.value, res, security.fill_forward, security.extended_hours,
                                 security.source.normalization)
        if rest and isinstance(rest[0], int):
            periods = rest[0] + int(getattr(indicator, "warm_up_period", 0) or 0)
            bars = last_bars(self.folder, self.hours, request, periods, self.time)["trade"]
        elif rest and isinstance(rest[0], dt.timedelta):
            bars = bars_between(self.folder, self.hours, request, self.time - rest[0], self.time)["trade"]
        elif len(rest) >= 2:
            bars = bars_between(self.folder, self.hours, request, _as_datetime(rest[0]), _as_datetime(rest[1]))["trade"]
        else:
            raise TypeError("indicator(indicator, symbol, periods | timedelta | start, end[, resolution])")
        keep = rest[0] if rest and isinstance(rest[0], int) else None
        rows = []
        parts = _components(indicator)
        for bar in bars:
            if selector is not None and not getattr(indicator, "takes_bars", False):
                indicator.update(bar.end_time, selector(bar))
            else:
                indicator.update(bar)
            if indicator.is_ready:
                row = {"current": float(indicator.current.value)}
                row.update({name: float(part.current.value) for name, part in parts.items()})
                rows.append((bar.end_time, row))
        if keep is not None:
            rows = rows[-keep:]
        frame = pd.DataFrame([r for _, r in rows], index=pd.DatetimeIndex([t for t, _ in rows], name="time"))
        return frame

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        # an AttributeError too, so that hasattr()/getattr(qb, name, default) keep working
        raise UnsupportedApiAttributeError("QuantBook", name)

    AddEquity = add_equity
    History = history
    Indicator = indicator
    Securities = property(lambda self: self.securities)
    Time = property(lambda self: self.time)


def _components(indicator: Any) -> dict[str, Any]:
    """Sub-indicators worth a column (MACD's signal, Bollinger bands ...)."""
    parts = {}
    for name in ("fast", "slow", "signal", "histogram", "upper_band", "middle_band", "lower_band",
                 "average_gain", "average_loss", "true_range", "standard_deviation"):
        part = getattr(type(indicator), name, None)
        value = getattr(indicator, name, None) if part is None or isinstance(part, property) else None
        if value is not None and hasattr(value, "current"):
            parts[name.replace("_", "")] = value
    return parts


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return dt.datetime.fromisoformat(str(value))
