"""The argument forms of ``self.history(...)`` / ``qb.history(...)`` (QuantConnect's overloads).

* ``history(symbols, periods[, resolution])``: the last ``periods`` bars of each symbol;
* ``history(symbols, timedelta[, resolution])``: bars of the trailing span;
* ``history(symbols, start, end[, resolution])``: bars ending in (start, end];
* ``history(TradeBar | QuoteBar, symbols, ...)``: only that data type;
* ``symbols`` is a ticker, a Symbol, or a list of them; without symbols, every security is used.

Bars never come from the future: requests are capped at the current algorithm time. The result is a
pandas DataFrame in QuantConnect Research's shape (see ``history.to_frame``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from orchestrator.engine.data import QuoteBar, TradeBar
from orchestrator.engine.enums import DataNormalizationMode, Resolution
from orchestrator.engine.history import HistoryRequest, bars_between, last_bars, to_frame
from orchestrator.engine.market_hours import ExchangeHours
from orchestrator.errors import UnsupportedApiError


class HistoryHost(Protocol):
    folder: Any
    hours: ExchangeHours
    securities: Any

    @property
    def time(self) -> dt.datetime: ...


def _is_symbolish(value: Any) -> bool:
    return isinstance(value, str) or (hasattr(value, "id") and hasattr(value, "value"))


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    raise TypeError(f"expected a date or datetime, got {value!r}")


def history_request(host: HistoryHost, args: list[Any], kwargs: dict[str, Any]) -> Any:
    kinds_filter: str | None = None
    if args and args[0] in (TradeBar, QuoteBar):
        kinds_filter = "trade" if args[0] is TradeBar else "quote"
        args = args[1:]
    elif args and isinstance(args[0], type):
        raise UnsupportedApiError(f"history({args[0].__name__}, ...)")
    symbols: list[Any]
    if args and (_is_symbolish(args[0]) or isinstance(args[0], list | tuple | set) or
                 type(args[0]).__name__ in ("dict_keys", "KeysView")):
        first = args.pop(0) if isinstance(args, list) else args[0]
        symbols = [first] if _is_symbolish(first) else list(first)
    else:
        symbols = list(host.securities.keys())
    args = list(args)
    resolution = kwargs.pop("resolution", None)
    fill_forward = kwargs.pop("fill_forward", None)
    extended = kwargs.pop("extended_market_hours", None)
    normalization = kwargs.pop("data_normalization_mode", None)
    for ignored in ("data_mapping_mode", "contract_depth_offset", "flatten"):
        kwargs.pop(ignored, None)
    if kwargs:
        raise TypeError(f"history() got unexpected arguments: {', '.join(sorted(kwargs))}")
    if args and isinstance(args[-1], Resolution | int) and not isinstance(args[-1], bool) and (
            len(args) >= 2 or isinstance(args[-1], Resolution)):
        resolution = args.pop()
    if not args:
        raise TypeError("history() needs a number of bars, a timedelta, or start and end")
    now = host.time
    per_symbol = []
    for symbol in symbols:
        request = _request_for(host, symbol, resolution, fill_forward, extended, normalization, kinds_filter)
        if isinstance(args[0], int) and not isinstance(args[0], bool):
            bars = last_bars(host.folder, host.hours, request, int(args[0]), now)
        elif isinstance(args[0], dt.timedelta):
            bars = bars_between(host.folder, host.hours, request, now - args[0], now)
        elif len(args) >= 2:
            end = min(_as_datetime(args[1]), now)
            bars = bars_between(host.folder, host.hours, request, _as_datetime(args[0]), end)
        else:
            raise TypeError(f"history() cannot use {args!r}; pass periods, a timedelta, or start and end")
        per_symbol.append((str(getattr(symbol, "value", symbol)).upper(), bars))
    return to_frame(per_symbol)


def _request_for(host: HistoryHost, symbol: Any, resolution: Any, fill_forward: Any, extended: Any,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 normalization: Any, kinds_filter: str | None) -> HistoryRequest:
    security = host.securities.get(symbol)
    ticker = str(getattr(symbol, "value", symbol)).upper()
    if resolution is not None:
        res = Resolution(int(resolution))
    elif security is not None:
        res = security.resolution
    else:
        res = Resolution.MINUTE
    default_ff = security.fill_forward if security is not None else True
    default_ext = security.extended_hours if security is not None else False
    default_mode = security.source.normalization if security is not None else DataNormalizationMode.ADJUSTED
    kinds: tuple[str, ...] = ("trade", "quote") if res in (Resolution.MINUTE, Resolution.SECOND) else ("trade",)
    if kinds_filter is not None:
        kinds = (kinds_filter,)
    return HistoryRequest(ticker, res, default_ff if fill_forward is None else bool(fill_forward),
                          default_ext if extended is None else bool(extended),
                          normalization if normalization is not None else default_mode, kinds)
