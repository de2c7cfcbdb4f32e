"""``QCAlgorithm``: QuantConnect's algorithm API, in snake_case and PascalCase.

The class is what user algorithms subclass. It holds no engine logic of its own: each call is handed
to the backtest engine (``manager.BacktestEngine``) that the runner attaches before ``initialize``.
Anything QuantConnect offers that qcloop does not implement raises ``UnsupportedApiError`` naming
the API, never a silent no-op.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from orchestrator.engine import indicators as ind
from orchestrator.engine.api_errors import UnsupportedApiAttributeError
from orchestrator.engine.enums import (
    AccountType,
    BrokerageName,
    DataNormalizationMode,
    OrderType,
    Resolution,
    SecurityType,
)
from orchestrator.engine.orders import OrderProperties, OrderTicket
from orchestrator.errors import AlgorithmError, UnsupportedApiError

if TYPE_CHECKING:
    from orchestrator.engine.manager import BacktestEngine
    from orchestrator.engine.securities import Security

# QuantConnect API names qcloop does not implement: using one raises UnsupportedApiError.
UNSUPPORTED_API = frozenset({
    "add_forex", "add_crypto", "add_option", "add_future", "add_future_option", "add_index", "add_index_option",
    "add_cfd", "add_data", "add_universe", "add_universe_selection", "add_alpha", "add_risk_management",
    "consolidate", "set_alpha", "set_portfolio_construction", "set_execution",
    "set_risk_management", "set_universe_selection", "add_universe_options", "set_option_chain_provider",
    "option_chain", "future_chain", "fundamentals", "object_store", "download", "notify", "train",
    "emit_insights", "insights", "optimizer", "set_warmup_resolution", "set_option_filter",
    "add_crypto_future", "set_account_currency", "add_security_initializer", "framework",
    "ichimoku", "adx", "cci", "vwap", "stoch", "obv", "ad", "aroon", "kama", "hma", "alma", "dema", "tema",
    "wilr", "kch", "dch", "psar", "trix", "ppo", "lwma", "t3", "mfi", "apo", "sar", "zlema", "tsi",
    "logr", "sum", "delay", "beta", "correlation", "i", "b",
    "resolve_consolidator", "subscription_manager", "universe_manager", "insight_manager",
    "set_pandas_converter", "is_market_open",
})


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


_UNSUPPORTED_PASCAL = {_pascal(name): name for name in UNSUPPORTED_API}


class QCApiAttributeError(AttributeError):
    """An attribute that is neither the algorithm's own nor part of QuantConnect's API in qcloop."""


def _snake(name: str) -> str:
    """``FreePortfolioValuePercentage`` -> ``free_portfolio_value_percentage``."""
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index:
            out.append("_")
        out.append(char.lower())
    return "".join(out)


class _SettingsObject:
    """Attributes in both spellings; setting an unknown or unsupported one fails loudly."""

    _supported: ClassVar[frozenset[str]] = frozenset()
    _fixed: ClassVar[dict[str, Any]] = {}  # settings qcloop accepts only at LEAN's default
    _prefix: ClassVar[str] = "settings"

    def __getattr__(self, name: str) -> Any:
        snake = _snake(name)
        if snake != name and snake in self.__dict__:
            return self.__dict__[snake]
        raise AttributeError(f"{self._prefix} has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        snake = _snake(name)
        if snake in self._fixed:
            if value != self._fixed[snake]:
                raise UnsupportedApiError(f"{self._prefix}.{snake} = {value!r} (qcloop keeps LEAN's default)")
            return
        if snake not in self._supported:
            raise UnsupportedApiError(f"{self._prefix}.{name}")
        object.__setattr__(self, snake, value)


class AlgorithmSettings(_SettingsObject):
    """``self.settings``: the settings LEAN's sizing and orders read."""

    _supported: ClassVar[frozenset[str]] = frozenset({
        "free_portfolio_value_percentage", "minimum_order_margin_portfolio_percentage", "liquidate_enabled",
        "automatic_indicator_warm_up"})
    _fixed: ClassVar[dict[str, Any]] = {"daily_precise_end_time": True,
                                        "stale_price_time_span": dt.timedelta(hours=1)}

    def __init__(self) -> None:
        self.free_portfolio_value_percentage = 0.0025
        self.minimum_order_margin_portfolio_percentage = 0.001
        self.liquidate_enabled = True
        self.automatic_indicator_warm_up = False
        object.__setattr__(self, "daily_precise_end_time", True)
        object.__setattr__(self, "stale_price_time_span", dt.timedelta(hours=1))


class UniverseSettings(_SettingsObject):
    """``self.universe_settings``: defaults for ``add_equity`` when an argument is omitted."""

    _supported: ClassVar[frozenset[str]] = frozenset({
        "resolution", "fill_forward", "extended_market_hours", "leverage", "data_normalization_mode"})
    _prefix: ClassVar[str] = "universe_settings"

    def __init__(self) -> None:
        self.resolution = Resolution.MINUTE
        self.fill_forward = True
        self.extended_market_hours = False
        self.leverage = 0.0  # 0: the brokerage default (2 for equities in a margin account)
        self.data_normalization_mode = DataNormalizationMode.ADJUSTED


class QCAlgorithm:
    """Subclass this and implement ``initialize`` and ``on_data`` (or ``Initialize``/``OnData``)."""

    _engine: BacktestEngine

    # -- attachment (done by the engine, not by user code) ------------------------------------------------

    def _qc_attach(self, engine: BacktestEngine) -> None:
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_settings", AlgorithmSettings())
        object.__setattr__(self, "_universe_settings", UniverseSettings())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_engine", "_settings", "_universe_settings"):
            if name in ("_engine", "_settings", "_universe_settings"):
                raise AlgorithmError(
                    "this QCAlgorithm is not attached to qcloop's engine; run it with `qcloop backtest` or "
                    "orchestrator.engine.run_backtest"
                )
            raise AttributeError(name)
        if name in UNSUPPORTED_API or name in _UNSUPPORTED_PASCAL:
            # an AttributeError too, so that hasattr()/getattr(x, name, default) keep working
            raise UnsupportedApiAttributeError("QCAlgorithm", name)
        raise QCApiAttributeError(
            f"'{type(self).__name__}' object has no attribute '{name}' (it is neither set by the algorithm nor "
            "part of QuantConnect's API as implemented by qcloop)"
        )

    # -- lifecycle hooks users override -------------------------------------------------------------------

    def initialize(self) -> None:
        """Override: set dates, cash, securities and indicators."""

    def on_data(self, slice: Any) -> None:
        """Override: called with each time slice that holds data for the algorithm."""

    def on_order_event(self, order_event: Any) -> None:
        """Override: called on every order event (submitted, filled, canceled, invalid ...)."""

    def on_warmup_finished(self) -> None:
        """Override: called once when the warm-up period ends."""

    def on_end_of_algorithm(self) -> None:
        """Override: called once after the last time slice."""

    def on_securities_changed(self, changes: Any) -> None:
        """Override: called when securities are added."""

    def on_dividends(self, dividends: Any) -> None:
        """Override: called with the dividends of a slice."""

    def on_splits(self, splits: Any) -> None:
        """Override: called with the splits of a slice."""

    def on_end_of_day(self, symbol: Any = None) -> None:
        """Override: called for each security at the end of its trading day."""

    def on_margin_call(self, requests: Any) -> Any:
        return requests

    def on_margin_call_warning(self) -> None:
        """Override: margin call warnings (qcloop does not simulate margin calls)."""

    # -- dates, cash, settings ----------------------------------------------------------------------------

    @staticmethod
    def _as_date(args: tuple[Any, ...], what: str) -> dt.date:
        if len(args) == 1:
            value = args[0]
            if isinstance(value, dt.datetime):
                return value.date()
            if isinstance(value, dt.date):
                return value
            if isinstance(value, str):
                return dt.date.fromisoformat(value[:10])
        if len(args) == 3:
            return dt.date(int(args[0]), int(args[1]), int(args[2]))
        raise TypeError(f"{what} takes (year, month, day) or a date, got {args!r}")

    def set_start_date(self, *args: Any) -> None:
        self._engine.set_start(self._as_date(args, "set_start_date"))

    def set_end_date(self, *args: Any) -> None:
        self._engine.set_end(self._as_date(args, "set_end_date"))

    def set_cash(self, *args: Any) -> None:
        """``set_cash(amount)`` (``set_cash("USD", amount)`` is accepted for USD)."""
        if len(args) == 2 and str(args[0]).upper() == "USD":
            args = (args[1],)
        if len(args) != 1:
            raise UnsupportedApiError("set_cash with a currency other than USD")
        self._engine.set_cash(args[0])

    def set_benchmark(self, benchmark: Any) -> None:
        self._engine.set_benchmark(benchmark)

    def set_warm_up(self, period: Any, resolution: Resolution | None = None) -> None:
        """``set_warm_up(bars[, resolution])`` or ``set_warm_up(timedelta)``."""
        self._engine.set_warm_up(period, resolution)

    def set_brokerage_model(self, brokerage: Any, account_type: Any = AccountType.MARGIN) -> None:
        if int(account_type) != int(AccountType.MARGIN):
            raise UnsupportedApiError("set_brokerage_model with AccountType.CASH (qcloop simulates a margin account)")
        if int(brokerage) not in (int(BrokerageName.DEFAULT), int(BrokerageName.INTERACTIVE_BROKERS_BROKERAGE)):
            raise UnsupportedApiError(f"set_brokerage_model({brokerage!r})")

    def set_time_zone(self, time_zone: Any) -> None:
        if str(time_zone) not in ("America/New_York", "TimeZones.NEW_YORK", "TimeZones.NewYork"):
            raise UnsupportedApiError(f"set_time_zone({time_zone!r}) (only America/New_York)")

    def set_security_initializer(self, initializer: Any) -> None:
        if not callable(initializer):
            raise UnsupportedApiError(f"set_security_initializer({type(initializer).__name__})")
        self._engine.security_initializer = initializer

    def set_name(self, name: str) -> None:
        self._engine.name = str(name)

    def set_runtime_statistic(self, name: str, value: Any) -> None:
        self._engine.recorder.runtime_statistics[str(name)] = str(value)

    def set_summary_statistic(self, name: str, value: Any) -> None:
        self._engine.recorder.summary_statistics[str(name)] = str(value)

    def get_parameter(self, name: str, default_value: Any = None) -> Any:
        """The backtest's parameter (a string), or ``default_value`` converted like QuantConnect does."""
        value = self._engine.parameters.get(name)
        if value is None:
            return default_value
        if isinstance(default_value, bool):
            return str(value).lower() in ("1", "true", "yes")
        if isinstance(default_value, int):
            return int(float(value))
        if isinstance(default_value, float):
            return float(value)
        return str(value)

    @property
    def settings(self) -> AlgorithmSettings:
        return self._settings

    @property
    def universe_settings(self) -> UniverseSettings:
        return self._universe_settings

    # -- securities --------------------------------------------------------------------------------------

    def add_equity(self, ticker: Any, resolution: Resolution | None = None, market: str | None = None,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                   fill_forward: bool | None = None, leverage: float | None = None,
                   extended_market_hours: bool | None = None,
                   data_normalization_mode: DataNormalizationMode | None = None, **kwargs: Any) -> Security:
        if market not in (None, "usa", "USA"):
            raise UnsupportedApiError(f"add_equity(market={market!r}) (only Market.USA)")
        unknown = set(kwargs) - {"data_mapping_mode", "contract_depth_offset"}
        if unknown:
            raise TypeError(f"add_equity got unexpected arguments: {', '.join(sorted(unknown))}")
        settings = self._universe_settings
        return self._engine.add_equity(
            str(ticker),
            Resolution(int(resolution)) if resolution is not None else settings.resolution,
            settings.fill_forward if fill_forward is None else bool(fill_forward),
            settings.leverage if leverage is None else float(leverage),
            settings.extended_market_hours if extended_market_hours is None else bool(extended_market_hours),
            data_normalization_mode if data_normalization_mode is not None else settings.data_normalization_mode,
        )

    def add_security(self, *args: Any, **kwargs: Any) -> Security:
        """``add_security(SecurityType.EQUITY, ticker, resolution, ...)`` (equities only)."""
        if args and isinstance(args[0], SecurityType | int) and not isinstance(args[0], bool):
            if int(args[0]) != int(SecurityType.EQUITY):
                raise UnsupportedApiError(f"add_security({SecurityType(int(args[0])).name})")
            args = args[1:]
        return self.add_equity(*args, **kwargs)

    def remove_security(self, symbol: Any) -> bool:
        raise UnsupportedApiError("remove_security")

    @property
    def securities(self) -> Any:
        return self._engine.securities

    @property
    def portfolio(self) -> Any:
        return self._engine.portfolio

    @property
    def transactions(self) -> Any:
        return self._engine.transactions

    @property
    def schedule(self) -> Any:
        return self._engine.schedule

    @property
    def date_rules(self) -> Any:
        return self._engine.date_rules

    @property
    def time_rules(self) -> Any:
        return self._engine.time_rules

    @property
    def benchmark(self) -> Any:
        return self._engine.benchmark

    # -- time ------------------------------------------------------------------------------------------------

    @property
    def time(self) -> dt.datetime:
        return self._engine.time

    @property
    def utc_time(self) -> dt.datetime:
        from orchestrator.engine.timeutil import utc_naive

        return utc_naive(self._engine.time)

    @property
    def start_date(self) -> dt.datetime:
        return dt.datetime.combine(self._engine.start, dt.time())

    @property
    def end_date(self) -> dt.datetime:
        return self._engine.end

    @property
    def is_warming_up(self) -> bool:
        return self._engine.is_warming_up

    @property
    def live_mode(self) -> bool:
        return False

    @property
    def time_zone(self) -> str:
        return "America/New_York"

    # -- orders ----------------------------------------------------------------------------------------------

    def _security(self, symbol: Any) -> Security:
        security = self._engine.securities.get(symbol)
        if security is None:
            raise KeyError(
                f"{symbol} is not in the algorithm's securities; add it with add_equity('{symbol}') first"
            )
        return security

    def market_order(self, symbol: Any, quantity: float, asynchronous: bool = False, tag: str = "",
                     order_properties: OrderProperties | None = None) -> OrderTicket:
        return self._engine.market_order(symbol, quantity, tag, order_properties)

    def order(self, symbol: Any, quantity: float, asynchronous: bool = False, tag: str = "",
              order_properties: OrderProperties | None = None) -> OrderTicket:
        return self.market_order(symbol, quantity, asynchronous, tag, order_properties)

    def market_on_open_order(self, symbol: Any, quantity: float, asynchronous: bool = False, tag: str = "",
                             order_properties: OrderProperties | None = None) -> OrderTicket:
        return self._engine.submit(symbol, quantity, OrderType.MARKET_ON_OPEN, tag, properties=order_properties)

    def market_on_close_order(self, symbol: Any, quantity: float, asynchronous: bool = False, tag: str = "",
                              order_properties: OrderProperties | None = None) -> OrderTicket:
        return self._engine.submit(symbol, quantity, OrderType.MARKET_ON_CLOSE, tag, properties=order_properties)

    def limit_order(self, symbol: Any, quantity: float, limit_price: float, asynchronous: bool = False,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                    tag: str = "", order_properties: OrderProperties | None = None) -> OrderTicket:
        return self._engine.submit(symbol, quantity, OrderType.LIMIT, tag, limit_price=limit_price,
                                   properties=order_properties)

    def stop_market_order(self, symbol: Any, quantity: float, stop_price: float, asynchronous: bool = False,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                          tag: str = "", order_properties: OrderProperties | None = None) -> OrderTicket:
        return self._engine.submit(symbol, quantity, OrderType.STOP_MARKET, tag, stop_price=stop_price,
                                   properties=order_properties)

    def stop_limit_order(self, symbol: Any, quantity: float, stop_price: float, limit_price: float,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                         asynchronous: bool = False, tag: str = "",
                         order_properties: OrderProperties | None = None) -> OrderTicket:
        return self._engine.submit(symbol, quantity, OrderType.STOP_LIMIT, tag, limit_price=limit_price,
                                   stop_price=stop_price, properties=order_properties)

    def trailing_stop_order(self, *args: Any, **kwargs: Any) -> OrderTicket:
        raise UnsupportedApiError("trailing_stop_order")

    def limit_if_touched_order(self, *args: Any, **kwargs: Any) -> OrderTicket:
        raise UnsupportedApiError("limit_if_touched_order")

    def exercise_option(self, *args: Any, **kwargs: Any) -> OrderTicket:
        raise UnsupportedApiError("exercise_option")

    def set_holdings(self, symbol: Any, percentage: float | None = None, liquidate_existing_holdings: bool = False,
                     tag: str = "", order_properties: OrderProperties | None = None) -> list[OrderTicket]:
        """``set_holdings(symbol, percent)`` or ``set_holdings([PortfolioTarget(symbol, percent), ...])``."""
        if isinstance(symbol, list | tuple):
            if isinstance(percentage, bool):
                liquidate_existing_holdings = percentage
            return self._engine.set_holdings_targets(list(symbol), liquidate_existing_holdings, tag,
                                                     order_properties)
        if percentage is None:
            raise TypeError("set_holdings(symbol, percentage) needs a percentage")
        return self._engine.set_holdings(symbol, percentage, liquidate_existing_holdings, tag, order_properties)

    def liquidate(self, symbol: Any = None, asynchronous: bool = False, tag: str = "Liquidated",
                  order_properties: OrderProperties | None = None) -> list[OrderTicket]:
        return self._engine.liquidate(symbol, tag, order_properties)

    def calculate_order_quantity(self, symbol: Any, target: float) -> float:
        return float(self._engine.calculate_order_quantity(symbol, target))

    # -- indicators ------------------------------------------------------------------------------------------

    def _auto(self, symbol: Any, indicator: Any, resolution: Any, selector: Any = None) -> Any:
        self._engine.register_indicator(symbol, indicator, resolution, selector)
        return indicator

    def _name(self, symbol: Any, prefix: str, resolution: Any) -> str:
        security = self._security(symbol)
        res = Resolution(int(resolution)) if resolution is not None else security.resolution
        suffix = {Resolution.DAILY: "day", Resolution.HOUR: "hr", Resolution.MINUTE: "min",
                  Resolution.SECOND: "sec", Resolution.TICK: "tick"}[res]
        return f"{prefix}({security.symbol}_{suffix})" if "(" not in prefix else \
            f"{prefix[:-1]},{security.symbol}_{suffix})"

    def sma(self, symbol: Any, period: int, resolution: Any = None, selector: Any = None) -> Any:
        name = self._name(symbol, f"SMA({period})", resolution)
        return self._auto(symbol, ind.SimpleMovingAverage(name, period), resolution, selector)

    def ema(self, symbol: Any, period: int, smoothing_factor: Any = None, resolution: Any = None,
            selector: Any = None) -> Any:
        if isinstance(smoothing_factor, Resolution) or (resolution is None and isinstance(smoothing_factor, int)
                                                        and not isinstance(smoothing_factor, bool)):
            smoothing_factor, resolution = None, smoothing_factor
        name = self._name(symbol, f"EMA({period})", resolution)
        indicator = (ind.ExponentialMovingAverage(name, period, smoothing_factor) if smoothing_factor is not None
                     else ind.ExponentialMovingAverage(name, period))
        return self._auto(symbol, indicator, resolution, selector)

    def rsi(self, symbol: Any, period: int, moving_average_type: Any = None, resolution: Any = None,
            selector: Any = None) -> Any:
        if isinstance(moving_average_type, Resolution):
            moving_average_type, resolution = None, moving_average_type
        kind = moving_average_type if moving_average_type is not None else ind.MovingAverageType.WILDERS
        name = self._name(symbol, f"RSI({period},{kind.name.title()})", resolution)
        return self._auto(symbol, ind.RelativeStrengthIndex(name, period, kind), resolution, selector)

    def macd(self, symbol: Any, fast_period: int, slow_period: int, signal_period: int,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
             moving_average_type: Any = None, resolution: Any = None, selector: Any = None) -> Any:
        if isinstance(moving_average_type, Resolution):
            moving_average_type, resolution = None, moving_average_type
        kind = moving_average_type if moving_average_type is not None else ind.MovingAverageType.EXPONENTIAL
        name = self._name(symbol, f"MACD({fast_period},{slow_period},{signal_period})", resolution)
        indicator = ind.MovingAverageConvergenceDivergence(name, fast_period, slow_period, signal_period, kind)
        return self._auto(symbol, indicator, resolution, selector)

    def bb(self, symbol: Any, period: int, k: float, moving_average_type: Any = None, resolution: Any = None,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
           selector: Any = None) -> Any:
        if isinstance(moving_average_type, Resolution):
            moving_average_type, resolution = None, moving_average_type
        kind = moving_average_type if moving_average_type is not None else ind.MovingAverageType.SIMPLE
        name = self._name(symbol, f"BB({period},{k})", resolution)
        return self._auto(symbol, ind.BollingerBands(name, period, k, kind), resolution, selector)

    def atr(self, symbol: Any, period: int, moving_average_type: Any = None, resolution: Any = None,
            selector: Any = None) -> Any:
        if isinstance(moving_average_type, Resolution):
            moving_average_type, resolution = None, moving_average_type
        kind = moving_average_type if moving_average_type is not None else ind.MovingAverageType.WILDERS
        name = self._name(symbol, f"ATR({period})", resolution)
        return self._auto(symbol, ind.AverageTrueRange(name, period, kind), resolution, selector)

    def mom(self, symbol: Any, period: int, resolution: Any = None, selector: Any = None) -> Any:
        name = self._name(symbol, f"MOM({period})", resolution)
        return self._auto(symbol, ind.Momentum(name, period), resolution, selector)

    def roc(self, symbol: Any, period: int, resolution: Any = None, selector: Any = None) -> Any:
        name = self._name(symbol, f"ROC({period})", resolution)
        return self._auto(symbol, ind.RateOfChange(name, period), resolution, selector)

    def rocp(self, symbol: Any, period: int, resolution: Any = None, selector: Any = None) -> Any:
        name = self._name(symbol, f"ROCP({period})", resolution)
        return self._auto(symbol, ind.RateOfChangePercent(name, period), resolution, selector)

    def momp(self, symbol: Any, period: int, resolution: Any = None, selector: Any = None) -> Any:
        name = self._name(symbol, f"MOMP({period})", resolution)
        return self._auto(symbol, ind.MomentumPercent(name, period), resolution, selector)

    def std(self, symbol: Any, period: int, resolution: Any = None, selector: Any = None) -> Any:
        name = self._name(symbol, f"STD({period})", resolution)
        return self._auto(symbol, ind.StandardDeviation(name, period), resolution, selector)

    def var(self, symbol: Any, period: int, resolution: Any = None, selector: Any = None) -> Any:
        name = self._name(symbol, f"VAR({period})", resolution)
        return self._auto(symbol, ind.Variance(name, period), resolution, selector)

    def max(self, symbol: Any, period: int, resolution: Any = None, selector: Any = None) -> Any:
        name = self._name(symbol, f"MAX({period})", resolution)
        return self._auto(symbol, ind.Maximum(name, period), resolution, selector)

    def min(self, symbol: Any, period: int, resolution: Any = None, selector: Any = None) -> Any:
        name = self._name(symbol, f"MIN({period})", resolution)
        return self._auto(symbol, ind.Minimum(name, period), resolution, selector)

    def tr(self, symbol: Any, resolution: Any = None, selector: Any = None) -> Any:
        name = self._name(symbol, "TR", resolution)
        return self._auto(symbol, ind.TrueRange(name), resolution, selector)

    def identity(self, symbol: Any, resolution: Any = None, selector: Any = None, field_name: str = "") -> Any:
        name = self._name(symbol, "Identity", resolution)
        return self._auto(symbol, ind.Identity(name), resolution, selector)

    def register_indicator(self, symbol: Any, indicator: Any, resolution: Any = None, selector: Any = None) -> None:
        """Update ``indicator`` automatically with ``symbol``'s bars (at ``resolution``, via ``selector``)."""
        if resolution is not None and not isinstance(resolution, Resolution | int | dt.timedelta):
            if callable(resolution) and selector is None:
                resolution, selector = None, resolution
            else:
                raise UnsupportedApiError(f"register_indicator with a {type(resolution).__name__} consolidator")
        self._auto(symbol, indicator, resolution, selector)

    def warm_up_indicator(self, symbol: Any, indicator: Any, resolution: Any = None, selector: Any = None) -> None:
        """Feed ``indicator`` with the history that makes it ready."""
        self._engine.warm_up_indicator(symbol, indicator, resolution, selector)

    def plot_indicator(self, chart: str, *indicators: Any) -> None:
        """Plot each indicator's value on ``chart`` whenever it updates."""
        wait_for_ready = False
        if indicators and isinstance(indicators[0], bool):
            wait_for_ready, indicators = indicators[0], indicators[1:]
        for indicator in indicators:
            self._engine.plot_indicator(chart, indicator, wait_for_ready)

    def indicator_history(self, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedApiError("indicator_history")

    # -- data ---------------------------------------------------------------------------------------------

    def history(self, *args: Any, **kwargs: Any) -> Any:
        """``history(symbol(s), periods|timedelta|start, [end], [resolution])`` as a DataFrame."""
        return self._engine.history(*args, **kwargs)

    # -- output -------------------------------------------------------------------------------------------

    def debug(self, message: Any) -> None:
        self._engine.log(str(message))

    def log(self, message: Any) -> None:
        self._engine.log(str(message))

    def error(self, message: Any) -> None:
        self._engine.log(str(message))

    def quit(self, message: str = "") -> None:
        self._engine.quit(message)

    def plot(self, chart: str, series: Any, value: Any = None) -> None:
        """``plot(chart, series, value)``, or ``plot(chart, indicator, ...)``."""
        if value is None and hasattr(series, "current"):
            self.plot_indicator(chart, series)
            return
        if value is None:
            raise TypeError("plot(chart, series, value) needs a value")
        self._engine.recorder.plot(str(chart), str(series), float(value), self._engine.time)

    def record(self, series: str, value: Any) -> None:
        self.plot(str(series), str(series), value)

    def add_chart(self, chart: Any) -> None:
        """Declare a custom chart (``Chart(name)`` with ``add_series(Series(...))``); ``plot`` fills it."""
        self._engine.recorder.add_chart(chart)


def _install_pascal_case_aliases() -> None:
    """``Initialize``/``OnData``/``SetHoldings``...: PascalCase names call the snake_case ones.

    Hooks (Initialize, OnData ...) are resolved by the engine, which calls whichever spelling the user
    class overrides, so only the API methods and properties are aliased here.
    """
    hooks = {"initialize", "on_data", "on_order_event", "on_warmup_finished", "on_end_of_algorithm",
             "on_securities_changed", "on_dividends", "on_splits", "on_end_of_day", "on_margin_call",
             "on_margin_call_warning"}
    for name, member in list(vars(QCAlgorithm).items()):
        if name.startswith("_") or name in hooks:
            continue
        pascal = _pascal(name)
        if pascal in vars(QCAlgorithm):
            continue
        setattr(QCAlgorithm, pascal, member)
    # a few QuantConnect spellings that are not the plain PascalCase of the snake name
    QCAlgorithm.SetWarmup = QCAlgorithm.set_warm_up  # type: ignore[attr-defined]
    QCAlgorithm.set_warmup = QCAlgorithm.set_warm_up  # type: ignore[attr-defined]
    QCAlgorithm.SetWarmUp = QCAlgorithm.set_warm_up  # type: ignore[attr-defined]
    QCAlgorithm.IsWarmingUp = QCAlgorithm.is_warming_up  # type: ignore[attr-defined]
    QCAlgorithm.UtcTime = QCAlgorithm.utc_time  # type: ignore[attr-defined]
    QCAlgorithm.MOM = QCAlgorithm.mom  # type: ignore[attr-defined]
    QCAlgorithm.MOMP = QCAlgorithm.momp  # type: ignore[attr-defined]
    QCAlgorithm.ROC = QCAlgorithm.roc  # type: ignore[attr-defined]
    QCAlgorithm.ROCP = QCAlgorithm.rocp  # type: ignore[attr-defined]
    QCAlgorithm.SMA = QCAlgorithm.sma  # type: ignore[attr-defined]
    QCAlgorithm.EMA = QCAlgorithm.ema  # type: ignore[attr-defined]
    QCAlgorithm.RSI = QCAlgorithm.rsi  # type: ignore[attr-defined]
    QCAlgorithm.MACD = QCAlgorithm.macd  # type: ignore[attr-defined]
    QCAlgorithm.BB = QCAlgorithm.bb  # type: ignore[attr-defined]
    QCAlgorithm.ATR = QCAlgorithm.atr  # type: ignore[attr-defined]
    QCAlgorithm.STD = QCAlgorithm.std  # type: ignore[attr-defined]
    QCAlgorithm.VAR = QCAlgorithm.var  # type: ignore[attr-defined]
    QCAlgorithm.MAX = QCAlgorithm.max  # type: ignore[attr-defined]
    QCAlgorithm.MIN = QCAlgorithm.min  # type: ignore[attr-defined]
    QCAlgorithm.TR = QCAlgorithm.tr  # type: ignore[attr-defined]


_install_pascal_case_aliases()

LEAN_HOOKS: dict[str, str] = {
    "initialize": "Initialize",
    "on_data": "OnData",
    "on_order_event": "OnOrderEvent",
    "on_warmup_finished": "OnWarmupFinished",
    "on_end_of_algorithm": "OnEndOfAlgorithm",
    "on_securities_changed": "OnSecuritiesChanged",
    "on_dividends": "OnDividends",
    "on_splits": "OnSplits",
    "on_end_of_day": "OnEndOfDay",
}


def resolve_hook(algorithm: QCAlgorithm, snake: str) -> Any:
    """The user's override of a hook in either spelling, or None when the user defined neither."""
    cls = type(algorithm)
    own = getattr(cls, snake, None)
    if own is not None and own is not getattr(QCAlgorithm, snake, None):
        return getattr(algorithm, snake)
    pascal = LEAN_HOOKS.get(snake)
    if pascal is not None and getattr(cls, pascal, None) is not None:
        return getattr(algorithm, pascal)
    return None


def decimal_of(value: Any) -> Decimal:
    return Decimal(repr(float(value))) if not isinstance(value, int) else Decimal(value)
