"""The backtest engine: the state of one run and LEAN's main loop (``AlgorithmManager.Run``).

Per time slice (reference/lean-engine.md §1):

1. scheduled events strictly earlier than the slice fire (clock set to each event's time);
2. securities take the slice's prices (fill-forward bars excepted);
3. open orders are scanned and filled;
4. scheduled events at the slice time fire (the daily sampling at midnight is one of them);
5. dividends and splits reach the portfolio;
6. registered indicators are updated;
7. ``on_dividends``/``on_splits`` and then ``on_data`` run when the slice holds the algorithm's data
   (market orders placed there fill at once);
8. the equity curve is resampled.

After the last slice a final sample is taken and ``on_end_of_algorithm`` runs.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestrator.engine import trading
from orchestrator.engine.algorithm import QCAlgorithm, resolve_hook
from orchestrator.engine.capacity import CapacityEstimate
from orchestrator.engine.data import (
    Dividends,
    Slice,
    Splits,
    TradeBar,
)
from orchestrator.engine.enums import RESOLUTION_SPAN, DataNormalizationMode, OrderType, Resolution
from orchestrator.engine.feed import DataFeed, FillForwardGrid, Subscription
from orchestrator.engine.history import HistoryRequest, last_bars
from orchestrator.engine.indicator_registry import IndicatorRegistry
from orchestrator.engine.lean_files import read_interest_rates
from orchestrator.engine.market_hours import load_exchange_hours
from orchestrator.engine.orders import OrderEvent, OrderProperties, OrderTicket
from orchestrator.engine.portfolio import Portfolio
from orchestrator.engine.results import ResultRecorder
from orchestrator.engine.scheduling import DailyEvent, DateRules, ScheduledEvent, ScheduleManager, TimeRules
from orchestrator.engine.securities import Securities, Security, SecurityChanges
from orchestrator.engine.sources import SecuritySource
from orchestrator.engine.trades import TradeBuilder
from orchestrator.engine.transactions import TransactionManager, lean_decimal
from orchestrator.errors import AlgorithmError, DataError, UnsupportedApiError

DEFAULT_CASH = Decimal(100000)
DEFAULT_LEVERAGE = Decimal(2)
END_OF_DAY = dt.time(23, 59, 59, 999999)
END_OF_DAY_DELTA = dt.timedelta(minutes=10)


class QuitRequestedError(Exception):
    """``self.quit()``: stop the backtest after the current step."""


class BacktestEngine:
    """Everything one backtest run holds; the algorithm's API calls land here."""

    def __init__(self, data_folder: Path, parameters: dict[str, str] | None = None,
                 start: dt.date | None = None, end: dt.date | None = None, cash: float | None = None) -> None:
        self.folder = Path(data_folder)
        self.hours = load_exchange_hours(self.folder)
        self.rates = read_interest_rates(self.folder)
        self.parameters = {str(k): str(v) for k, v in (parameters or {}).items()}
        self._start_override, self._end_override, self._cash_override = start, end, cash
        self.start: dt.date = start or dt.date(1998, 1, 1)
        end_day = end or (dt.date.today() - dt.timedelta(days=1))
        self.end: dt.datetime = dt.datetime.combine(end_day, END_OF_DAY)
        self.time = dt.datetime.combine(self.start, dt.time())
        self.name = ""
        self.securities = Securities()
        self.portfolio = Portfolio(self.securities, Decimal(str(cash)) if cash is not None else DEFAULT_CASH)
        self.logs: list[str] = []
        self.warnings: list[str] = []
        self.algorithm: QCAlgorithm | None = None
        self.locked = False  # True once initialize() has run
        self.is_warming_up = False
        self._warm_up: tuple[Any, Resolution | None] | None = None
        self._warm_up_instant: dt.datetime | None = None
        self.benchmark_spec: Any = "SPY"
        self.benchmark: Any = None
        self._benchmark_security: Security | None = None
        self.security_initializer: Callable[[Security], Any] | None = None
        self.moo_warning_sent = False
        self.transactions = TransactionManager(self.securities, self.portfolio, self._now,
                                               self._trading_blocked, self._on_order_event, self.log)
        self.date_rules = DateRules(self._hours_of, self._today)
        self.time_rules = TimeRules(self._hours_of, self._now)
        self.schedule = ScheduleManager(self.date_rules, self.time_rules, self._schedule_start, self._end_time,
                                        self._now)
        self.indicators = IndicatorRegistry(self.hours)
        self.recorder = ResultRecorder(self.portfolio.exact_cash, self._start_datetime, self.end)
        self.feed: DataFeed | None = None
        self.last_time: dt.datetime | None = None
        self.data_points = 0
        self._hooks: dict[str, Any] = {}
        self._quit = False
        self._announce: list[Security] = []  # added securities not yet passed to on_securities_changed
        self.capacity: CapacityEstimate | None = None
        self._last_step: tuple[Any, Any] = (None, ())  # the last time step's columns (capacity)
        self.trade_builder = TradeBuilder()
        self.transactions.fill_listeners.append(self.trade_builder.on_fill)

    # -- configuration (during initialize) ------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self.time

    def _today(self) -> dt.date:
        return self.time.date()

    def _end_time(self) -> dt.datetime:
        return self.end

    @property
    def _start_datetime(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time())

    def _require_unlocked(self, what: str) -> None:
        if self.locked:
            raise AlgorithmError(f"{what} can only be called in initialize()")

    def set_start(self, day: dt.date) -> None:
        self._require_unlocked("set_start_date")
        if self._start_override is None:
            self.start = day
            self.time = self._start_datetime

    def set_end(self, day: dt.date) -> None:
        self._require_unlocked("set_end_date")
        if self._end_override is None:
            self.end = dt.datetime.combine(day, END_OF_DAY)

    def set_cash(self, amount: Any) -> None:
        self._require_unlocked("set_cash")
        if self._cash_override is None:
            self.portfolio.set_cash(lean_decimal(amount))

    def set_benchmark(self, benchmark: Any) -> None:
        self._require_unlocked("set_benchmark")
        self.benchmark_spec = benchmark

    def set_warm_up(self, period: Any, resolution: Resolution | None) -> None:
        self._require_unlocked("set_warm_up")
        if not isinstance(period, int | dt.timedelta) or isinstance(period, bool):
            raise TypeError(f"set_warm_up takes a number of bars or a timedelta, got {period!r}")
        self._warm_up = (period, Resolution(int(resolution)) if resolution is not None else None)

    def _schedule_start(self) -> dt.date:
        return self._warm_up_instant.date() if self._warm_up_instant else self.start

    def _hours_of(self, symbol: Any) -> Any:
        return self.hours

    # -- securities -------------------------------------------------------------------------------------------

    def add_equity(self, ticker: str, resolution: Resolution, fill_forward: bool, leverage: float,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                   extended_hours: bool, normalization: DataNormalizationMode) -> Security:
        ticker = ticker.upper()
        if ticker in self.securities:
            return self.securities[ticker]
        source = SecuritySource(self.folder, ticker, self.hours, normalization)
        leverage_value = lean_decimal(leverage) if leverage else DEFAULT_LEVERAGE
        security = Security(source, resolution, self, leverage_value, fill_forward, extended_hours)
        kinds = ["trade", "quote"] if resolution in (Resolution.MINUTE, Resolution.SECOND) else ["trade"]
        if resolution == Resolution.TICK:
            raise UnsupportedApiError("add_equity with Resolution.TICK")
        for kind in kinds:
            sub = Subscription(source, resolution, kind, fill_forward, extended_hours)
            sub.security = security
            security.subscriptions.append(sub)
            if self.feed is not None:
                self.feed.add(sub)
        if self.feed is not None:  # added while the backtest runs: it starts with the next day
            self._check_security_data(security, self.time.date())
        self.securities[security.symbol] = security
        self.portfolio.add_security(security)
        self._announce.append(security)
        if self.security_initializer is not None:
            self.security_initializer(security)
        return security

    def security(self, symbol: Any) -> Security:
        security = self.securities.get(symbol)
        if security is None:
            raise KeyError(f"{symbol} is not in the algorithm's securities; add it with add_equity('{symbol}') first")
        return security

    # -- orders ---------------------------------------------------------------------------------------------------

    def _trading_blocked(self) -> str | None:
        if not self.locked:
            return ("This operation is not allowed in Initialize or during warm up: OrderRequest.Submit. "
                    "Please move this code to the OnWarmupFinished() method.")
        if self.is_warming_up:
            return ("This operation is not allowed in Initialize or during warm up: OrderRequest.Submit. "
                    "Please move this code to the OnWarmupFinished() method.")
        return None

    def _on_order_event(self, event: OrderEvent) -> None:
        hook = self._hooks.get("on_order_event")
        if hook is not None:
            hook(event)

    def submit(self, symbol: Any, quantity: float, order_type: OrderType, tag: str = "",  # noqa: PLR0917 - mirrors QuantConnect's positional signature
               limit_price: float | None = None, stop_price: float | None = None,
               properties: OrderProperties | None = None) -> OrderTicket:
        return self.transactions.submit(symbol, quantity, order_type, tag, limit_price, stop_price, properties)

    def market_order(self, symbol: Any, quantity: float, tag: str, properties: OrderProperties | None
                     ) -> OrderTicket:
        return trading.market_order(self, symbol, quantity, tag, properties)

    def set_holdings(self, symbol: Any, percentage: float, liquidate_existing: bool, tag: str,
                     properties: OrderProperties | None) -> list[OrderTicket]:
        return trading.set_holdings(self, symbol, percentage, liquidate_existing, tag, properties)

    def set_holdings_targets(self, targets: list[Any], liquidate_existing: bool, tag: str,
                             properties: OrderProperties | None) -> list[OrderTicket]:
        return trading.set_holdings_targets(self, targets, liquidate_existing, tag, properties)

    def liquidate(self, symbol: Any, tag: str, properties: OrderProperties | None) -> list[OrderTicket]:
        return trading.liquidate(self, symbol, tag, properties)

    def calculate_order_quantity(self, symbol: Any, target: float) -> int:
        return trading.calculate_order_quantity(self, symbol, target)

    def algorithm_settings_liquidate_enabled(self) -> bool:
        settings = getattr(self.algorithm, "_settings", None)
        return bool(getattr(settings, "liquidate_enabled", True))

    # -- indicators --------------------------------------------------------------------------------------------

    def register_indicator(self, symbol: Any, indicator: Any, resolution: Any, selector: Any) -> None:
        security = self.security(symbol)
        self.indicators.register(security.symbol, security.resolution, indicator, resolution, selector)
        settings = getattr(self.algorithm, "_settings", None)
        if settings is not None and getattr(settings, "automatic_indicator_warm_up", False):
            self.warm_up_indicator(symbol, indicator, resolution, selector)

    def warm_up_indicator(self, symbol: Any, indicator: Any, resolution: Any, selector: Any) -> None:
        security = self.security(symbol)
        res = Resolution(int(resolution)) if isinstance(resolution, Resolution | int) else security.resolution
        periods = int(getattr(indicator, "warm_up_period", 0) or 0)
        if periods <= 0:
            return
        request = HistoryRequest(security.symbol.value, res, security.fill_forward, security.extended_hours,
                                 security.source.normalization)
        bars = last_bars(self.folder, self.hours, request, periods, self.time)["trade"]
        for bar in bars:
            if selector is not None and not getattr(indicator, "takes_bars", False):
                indicator.update(bar.end_time, selector(bar))
            else:
                indicator.update(bar)

    def plot_indicator(self, chart: str, indicator: Any, wait_for_ready: bool) -> None:
        def plot(sender: Any, point: Any) -> None:
            if wait_for_ready and not sender.is_ready:
                return
            self.recorder.plot(chart, sender.name, float(point.value), self.time)
        indicator.updated += plot

    # -- history ------------------------------------------------------------------------------------------------

    def history(self, *args: Any, **kwargs: Any) -> Any:
        from orchestrator.engine.history_api import history_request

        return history_request(self, list(args), kwargs)

    # -- logging and control ----------------------------------------------------------------------------------

    def log(self, message: str) -> None:
        stamp = self.time.strftime("%Y-%m-%d %H:%M:%S")
        self.logs.append(f"{stamp} {message}")

    def quit(self, message: str) -> None:
        if message:
            self.log(message)
        self._quit = True

    # -- the run -----------------------------------------------------------------------------------------------

    def _hook(self, name: str) -> Any:
        assert self.algorithm is not None
        return resolve_hook(self.algorithm, name)

    def initialize(self, algorithm: QCAlgorithm) -> None:
        self.algorithm = algorithm
        hook = self._hook("initialize")
        if hook is None:
            raise AlgorithmError("the algorithm defines neither initialize() nor Initialize()")
        hook()
        if self.end < self._start_datetime:
            raise AlgorithmError(f"the end date {self.end.date()} is before the start date {self.start}")
        if not self.securities:
            self.log("Warning: the algorithm added no securities; nothing will be traded")
        self.locked = True
        for name in ("on_data", "on_order_event", "on_warmup_finished", "on_end_of_algorithm",
                     "on_dividends", "on_splits", "on_end_of_day", "on_securities_changed"):
            self._hooks[name] = self._hook(name)

    def _compute_warm_up(self) -> None:
        if self._warm_up is None:
            return
        period, resolution = self._warm_up
        start = self._start_datetime
        if isinstance(period, dt.timedelta):
            self._warm_up_instant = start - period
            return
        instants = []
        subscriptions = [sub for s in self.securities.values() for sub in s.subscriptions if sub.kind == "trade"]
        resolutions = {resolution} if resolution is not None else {sub.resolution for sub in subscriptions}
        grid = FillForwardGrid(self.hours)
        for res in resolutions or {Resolution.DAILY}:
            instants.append(self._bars_back(grid, res, int(period), start))
        self._warm_up_instant = min(instants)

    def _bars_back(self, grid: FillForwardGrid, resolution: Resolution, count: int, before: dt.datetime
                   ) -> dt.datetime:
        """The start of the ``count``-th bar (of the session grid) before ``before``."""
        day = before.date()
        remaining = count
        for _ in range(count * 2 + 400):
            day -= dt.timedelta(days=1)
            ends = [t for t in grid.times(day, resolution, False) if t <= before]
            if remaining <= len(ends):
                end = ends[len(ends) - remaining]
                span = RESOLUTION_SPAN[resolution]
                if resolution == Resolution.DAILY:
                    session = self.hours.session(day)
                    return dt.datetime.combine(day, dt.time()) if session is None else session.open
                return end - span
            remaining -= len(ends)
        return dt.datetime.combine(day, dt.time())

    def _setup_benchmark(self) -> None:
        spec = self.benchmark_spec
        if callable(spec) and not isinstance(spec, str):
            self.benchmark = spec
            return
        ticker = str(getattr(spec, "value", spec)).upper()
        source = SecuritySource(self.folder, ticker, self.hours, DataNormalizationMode.ADJUSTED)
        security = Security(source, Resolution.HOUR, self, DEFAULT_LEVERAGE, False, False)
        resolution = self._benchmark_resolution(source)
        if resolution is None:
            self.warn(f"Warning: no {ticker} data for the benchmark; Alpha, Beta, Information Ratio and "
                      "Tracking Error are not meaningful")
            self.benchmark = security
            self._benchmark_security = security
            return
        if resolution == Resolution.DAILY:
            self.warn(f"Warning: no hourly {ticker} data for the benchmark; using daily bars")
        sub = Subscription(source, resolution, "trade", False, False, internal=True)
        sub.security = security
        security.subscriptions.append(sub)
        assert self.feed is not None
        self.feed.add(sub)
        self._prime_benchmark(security, resolution)
        self.benchmark = security
        self._benchmark_security = security

    def _benchmark_resolution(self, source: SecuritySource) -> Resolution | None:
        """Hourly bars as LEAN uses them, else daily bars, else None (no data in the window)."""
        for resolution in (Resolution.HOUR, Resolution.DAILY):
            try:
                if source.find_gap(resolution, "trade", self.start, self.end.date()) is None:
                    return resolution
            except DataError:
                continue
        return None

    def _prime_benchmark(self, security: Security, resolution: Resolution) -> None:
        """The benchmark starts with the last bar before the feed (LEAN starts it a day early)."""
        assert self.feed is not None
        day = self.feed.start
        for _ in range(10):
            day -= dt.timedelta(days=1)
            if resolution == Resolution.HOUR:
                bars = security.source.hour_bars(day, False)
                if bars:
                    security.set_price_for_benchmark(bars[-1])
                    return
            else:
                bar = security.source.daily_bar(day)
                if bar is not None:
                    security.set_price_for_benchmark(bar)
                    return

    def benchmark_value(self, time: dt.datetime) -> Decimal:
        benchmark = self.benchmark
        if isinstance(benchmark, Security):
            return benchmark.exact_price
        if callable(benchmark):
            return lean_decimal(float(benchmark(time)))
        return Decimal(0)

    def _check_data(self) -> None:
        for security in self.securities.values():
            self._check_security_data(security, self.start)

    def _check_security_data(self, security: Security, start: dt.date) -> None:
        """Warn about a security without data from ``start`` to the end (it runs without it, as in LEAN).

        The rule (docs/engine.md): a security with no file at all of its resolution is a DataError
        naming the file (a wrong ticker or a missing download); one whose files hold nothing inside
        the window gets a warning and no bars; ticker ranges of its map file without a file inside the
        window get a warning too (no new bars there: fill-forward repeats the last one).
        """
        source, resolution, end = security.source, security.resolution, self.end.date()
        security.data_gap = source.find_gap(resolution, "trade", start, end)
        if security.data_gap is not None:
            self.warn(security.data_gap.warning())
            return
        if resolution in (Resolution.DAILY, Resolution.HOUR):
            for first, last, ticker, path in source.missing_files(resolution, start, end):
                self.warn(f"Warning: {security.symbol} has no {resolution.name.lower()} data from {first} to "
                          f"{last}: its map file names the ticker {ticker} for those dates and {path} does not "
                          "exist. It gets no new bars there (fill-forward repeats its last bar), as in LEAN.")

    def warn(self, message: str) -> None:
        """A warning for the logs and for ``BacktestResult.warnings``."""
        self.warnings.append(message)
        self.log(message)

    def _register_end_of_day(self) -> None:
        hook = self._hooks.get("on_end_of_day")
        if hook is None:
            return
        for security in self.securities.values():
            symbol = security.symbol
            rule = self.time_rules.before_market_close(symbol, END_OF_DAY_DELTA.total_seconds() / 60)
            self.schedule.add(ScheduledEvent(f"EndOfDay {symbol}", self.date_rules.every_day(symbol), rule,
                                             lambda symbol=symbol: hook(symbol), self._schedule_start(), self.end))

    def prepare_run(self) -> None:
        """Everything between ``initialize`` and the first time slice; raises DataError for missing data."""
        self._compute_warm_up()
        self._check_data()
        feed_start = self._warm_up_instant.date() if self._warm_up_instant else self.start
        self.feed = DataFeed(self.hours, feed_start, self.end)
        for security in self.securities.values():
            for sub in security.subscriptions:
                self.feed.add(sub)
        self._setup_benchmark()
        self.recorder = ResultRecorder(self.portfolio.exact_cash, self._start_datetime, self.end)
        self.capacity = CapacityEstimate(self._start_datetime, self.end)
        self.transactions.fill_listeners.append(self._capacity_fill)
        daily = DailyEvent("Daily Sampling", dt.time(), self._daily_sample, self.start, self.end)
        self.schedule.add(daily)
        self.schedule.start(feed_start)
        self._register_end_of_day()

    def run_loop(self, progress: Callable[[float], None] | None = None) -> None:
        """The main loop over time slices, then the final sample and ``on_end_of_algorithm``."""
        self.is_warming_up = self._warm_up_instant is not None
        warmup_done = False
        if not self.is_warming_up:
            self._finish_warm_up()
            warmup_done = True
        # The loop allocates many short-lived objects and creates no reference cycles: pausing the
        # cyclic garbage collector avoids full collections that rescan every bar held in memory.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._loop(warmup_done, progress)
        except QuitRequestedError:
            pass
        finally:
            if collecting:
                gc.enable()
        self._finish()

    def finish_after_error(self) -> None:
        """After an algorithm exception: sample what was reached so the statistics cover it."""
        if self.last_time is not None and not self.is_warming_up:
            self.recorder.sample(self.last_time, self.portfolio.exact_total_portfolio_value,
                                 self.benchmark_value(self.last_time), self.portfolio.exact_total_sale_volume)

    def _finish_warm_up(self) -> None:
        self.is_warming_up = False
        hook = self._hooks.get("on_warmup_finished")
        if hook is not None:
            hook()
        self.recorder.restart_at_warmup_end(self.portfolio.exact_total_portfolio_value)

    def _daily_sample(self) -> None:
        if self.is_warming_up:
            return
        time = self.time
        self.recorder.sample(time, self.portfolio.exact_total_portfolio_value, self.benchmark_value(time),
                             self.portfolio.exact_total_sale_volume)

    def _fire_events(self, time: dt.datetime, inclusive: bool) -> None:
        schedule = self.schedule
        while True:
            due = schedule.pop_due(time, inclusive)
            if due is None:
                return
            moment, event = due
            self.time = moment
            event.fire(moment)

    def _loop(  # noqa: PLR0915 - the hot loop stays in one function: local names are faster in Python
            self, warmup_done: bool, progress: Callable[[float], None] | None) -> None:
        assert self.feed is not None
        schedule = self.schedule
        transactions = self.transactions
        recorder = self.recorder
        registry = self.indicators.by_symbol
        portfolio = self.portfolio
        on_data = self._hooks.get("on_data")
        on_dividends = self._hooks.get("on_dividends")
        on_splits = self._hooks.get("on_splits")
        start = self._start_datetime
        skip_before = self._warm_up_instant
        tpv = lambda: portfolio.exact_total_portfolio_value  # noqa: E731 - evaluated only when sampling
        progress_day = None
        span = max((self.end - start).total_seconds(), 1.0)
        trade_builder = self.trade_builder
        indicators = self.indicators
        capacity = self.capacity
        assert capacity is not None
        queue = schedule._queue  # the heap itself: its identity never changes
        for day_slices in self.feed.days():
            for time_slice in day_slices:
                time = time_slice.time
                if progress is not None and time.date() != progress_day:
                    progress_day = time.date()
                    progress(min(max((time - start).total_seconds() / span, 0.0), 0.99))
                if not warmup_done and time >= start:
                    warmup_done = True
                    self.time = time
                    self._finish_warm_up()
                if time_slice.internal_only:
                    # the benchmark's own bars (one time per bar): prices, orders, events, equity sampling
                    self.data_points += len(time_slice.bars)
                    self._benchmark_run(time_slice.subs, time_slice.bars, skip_before)
                    continue
                if skip_before is not None and time <= skip_before and not time_slice.actions:
                    continue
                if queue and queue[0][0] < time:
                    self._fire_events(time, inclusive=False)
                self.time = time
                subs = time_slice.subs
                column = time_slice.bars
                self.data_points += len(column)
                user_data = False
                has_trades = False
                for sub, bar in zip(subs, column):  # noqa: B905 - equal lengths by construction
                    security = sub.security
                    if sub.internal:
                        if not bar.is_fill_forward:
                            security.last_data = security.last_trade_bar = bar
                        continue
                    user_data = True
                    if sub.is_trade:
                        has_trades = True
                        if not bar.is_fill_forward:
                            security.last_data = security.last_trade_bar = bar
                    elif not bar.is_fill_forward:
                        security.update_quote(bar)
                if transactions._open:
                    transactions.process_open_orders()
                if queue and queue[0][0] <= time:
                    self._fire_events(time, inclusive=True)
                    self.time = time
                dividends: Dividends | None = None
                splits: Splits | None = None
                if self._announce:
                    self._securities_changed()
                if time_slice.actions:
                    dividends, splits = self._apply_actions(time_slice.actions)
                    user_data = True
                if registry and has_trades:
                    indicators.update_columns(subs, column)
                if trade_builder._open and has_trades:
                    trade_builder.mark_columns(subs, column)
                if user_data:
                    if dividends and on_dividends is not None:
                        on_dividends(dividends)
                    if splits and on_splits is not None:
                        on_splits(splits)
                    if on_data is not None:
                        on_data(Slice.from_columns(time, subs, column, dividends, splits))
                if capacity._by_symbol:
                    if capacity._monitored or time >= capacity.local_guard:
                        self._update_capacity(time, subs, column)
                    else:
                        self._last_step = (subs, column)
                if time > recorder.local_guard and recorder.needs_resample(time):
                    recorder.resample(time, tpv, self.is_warming_up)
                self.last_time = time
                if self._quit:
                    raise QuitRequestedError

    def _benchmark_run(self, subs: list[Any], bars: Any, skip_before: dt.datetime | None) -> None:
        """Walk benchmark-only bars: each is its own time step for events, fills and sampling.

        After a step, when nothing can happen before the run's last bar (no open order, no scheduled
        event, no equity resample and no capacity update due by then), the steps in between are
        skipped: each would only set the benchmark's price, which the last bar sets anyway (benchmark
        bars are never fill-forward). A daily backtest has six such bars a day.
        """
        queue = self.schedule._queue
        transactions = self.transactions
        recorder = self.recorder
        capacity = self.capacity
        tpv = self._portfolio_value
        count = len(bars)
        last_end = bars[-1].end_time
        one_security = all(sub.security is subs[0].security for sub in subs)
        index = 0
        while index < count:
            sub, bar = subs[index], bars[index]
            index += 1
            time = bar.end_time
            if skip_before is not None and time <= skip_before:
                continue
            if queue and queue[0][0] < time:
                self._fire_events(time, inclusive=False)
            self.time = time
            if not bar.is_fill_forward:
                security = sub.security
                security.last_data = security.last_trade_bar = bar
            if transactions._open:
                transactions.process_open_orders()
            if queue and queue[0][0] <= time:
                self._fire_events(time, inclusive=True)
                self.time = time
            if time > recorder.local_guard and recorder.needs_resample(time):
                recorder.resample(time, tpv, self.is_warming_up)
            if capacity is not None and capacity._by_symbol and (capacity._monitored or time >= capacity.local_guard):
                self._update_capacity(time, None, ())
            else:
                self._last_step = (None, ())
            self.last_time = time
            if index < count - 1 and one_security and not transactions._open \
                    and (not queue or queue[0][0] > last_end) and last_end <= recorder.local_guard \
                    and (capacity is None or not capacity._by_symbol
                         or (not capacity._monitored and last_end < capacity.local_guard)):
                index = count - 1  # straight to the last bar

    def _capacity_fill(self, symbol: Any, time: dt.datetime, quantity: int, price: Decimal, fee: Decimal) -> None:
        if self.capacity is not None:
            self.capacity.on_fill(self.securities[symbol], time, quantity, price)

    def _update_capacity(self, time: dt.datetime, subs: list[Any] | None, bars: Any, force: bool = False) -> None:
        """LEAN's per-time-step capacity update, with the step's user trade bars."""
        capacity = self.capacity
        if capacity is None or not capacity.active:
            return
        self._last_step = (subs, bars)
        if not capacity.monitoring and not force and time < capacity.local_guard:
            return  # nothing to collect and no snapshot due: the common case, kept cheap
        capacity.update(time, self._step_bars_of(subs, bars), self._portfolio_value, force)

    @staticmethod
    def _step_bars_of(subs: list[Any] | None, bars: Any) -> dict[Any, Any]:
        step: dict[Any, Any] = {}
        if subs is not None:
            for sub, bar in zip(subs, bars):  # noqa: B905 - equal lengths by construction
                if sub.is_trade and not sub.internal:
                    step[sub.symbol] = bar
        return step

    def _portfolio_value(self) -> Decimal:
        return self.portfolio.exact_total_portfolio_value

    def _securities_changed(self) -> None:
        """LEAN announces added securities in the first time step after they were added."""
        added, self._announce = self._announce, []
        hook = self._hooks.get("on_securities_changed")
        if hook is not None:
            hook(SecurityChanges(added, []))

    def _apply_actions(self, actions: list[Any]) -> tuple[Dividends, Splits]:
        dividends, splits = Dividends(), Splits()
        for action in actions:
            security = self.securities.get(action.symbol)
            if security is None:
                continue
            mode = security.source.normalization
            if isinstance(action, TradeBar):  # pragma: no cover - defensive
                continue
            if hasattr(action, "distribution"):
                self.portfolio.apply_dividend(action, mode)
                dividends[security.symbol] = action
            else:
                self.portfolio.apply_split(action, mode)
                splits[security.symbol] = action
        return dividends, splits

    def _finish(self) -> None:
        if self.capacity is not None and self.capacity.active and self.last_time is not None:
            # LEAN's final ProcessSynchronousEvents(forceProcess: true), on the last time step's data
            subs, bars = self._last_step
            self.capacity.update(self.last_time, self._step_bars_of(subs, bars), self._portfolio_value, force=True)
        if self.last_time is not None and not self.is_warming_up:
            self.time = self.last_time
            self.recorder.sample(self.last_time, self.portfolio.exact_total_portfolio_value,
                                 self.benchmark_value(self.last_time), self.portfolio.exact_total_sale_volume)
        hook = self._hooks.get("on_end_of_algorithm")
        if hook is not None:
            hook()
