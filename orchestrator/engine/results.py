"""Result sampling: equity, performance, benchmark and turnover points, and the charts they form.

LEAN's sampling (reference/lean-engine.md §5, BacktestingResultHandler):

* **Daily sampling** at 00:00 of every calendar day (it fires only when a later time slice exists):
  an equity point ``round(TPV, 4)``, a performance point ``round((TPV - TPV_prev) x 100 / TPV_prev, 10)``
  (the first one against the starting cash), the smart-rounded benchmark value and, except at the
  first sample, the portfolio turnover ``(sale volume since the previous sample) / TPV``;
* **resampled equity points** after a time slice whenever its UTC time passes ``next_sample``, with
  ``next_sample = time + max(4 min, (end - start) / 4000)``;
* a **final sample** at the last time slice. Points are only added after the last point's time, and
  nothing is sampled while warming up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from orchestrator.engine.timeutil import unix_seconds, unix_seconds_many, utc_naive

FOUR_MINUTES = dt.timedelta(minutes=4)
SAMPLES = 4000
ZERO = Decimal(0)

# LEAN's SeriesType / ChartType integer codes on the wire
SERIES_LINE, SERIES_SCATTER, SERIES_CANDLE, SERIES_BAR = 0, 1, 2, 3
CHART_OVERLAY, CHART_STACKED = 0, 1


_FOUR_PLACES = Decimal("0.0001")
_TEN_PLACES = Decimal("1e-10")


def smart_rounding(value: Decimal) -> Decimal:
    """LEAN's SmartRounding: 4 decimals above 1000, otherwise 7 significant digits."""
    if value > 1000:
        return value.quantize(_FOUR_PLACES, rounding=ROUND_HALF_EVEN)
    if value == 0:
        return ZERO
    # 7 significant digits: the last kept digit is 6 places below the leading one (Decimal.adjusted)
    exponent = value.adjusted() - 6
    quantum = _QUANTA.get(exponent)
    if quantum is None:
        quantum = _QUANTA[exponent] = Decimal(1).scaleb(exponent)
    return value.quantize(quantum, rounding=ROUND_HALF_EVEN)


_QUANTA: dict[int, Decimal] = {}


def resample_period(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """``max(4 minutes, (end - start) / 4000)``, truncated to microseconds like .NET truncates to ticks."""
    minutes = (end - start).total_seconds() / 60
    if minutes < 4 * SAMPLES:
        return FOUR_MINUTES
    return dt.timedelta(microseconds=int(minutes / SAMPLES * 60_000_000))


@dataclass(slots=True)
class Point:
    time: dt.datetime  # exchange-local
    value: Decimal


@dataclass
class Series:
    name: str
    unit: str
    index: int
    series_type: int
    points: list[Any] = field(default_factory=list)

    def last_time(self) -> dt.datetime | None:
        return self.points[-1][0] if self.points else None

    def add(self, time: dt.datetime, *values: float) -> None:
        last = self.last_time()
        if last is not None and time <= last:
            return
        self.points.append((time, *values))

    def to_json(self) -> dict[str, Any]:
        stamps = unix_seconds_many([p[0] for p in self.points])
        return {
            "name": self.name,
            "unit": self.unit,
            "index": self.index,
            "values": [[stamp, *p[1:]] for stamp, p in zip(stamps, self.points, strict=True)],
            "seriesType": self.series_type,
            "color": "",
            "scatterMarkerSymbol": "none",
        }


class ResultRecorder:
    """Collects the samples of one backtest (exact decimals for the statistics, floats for charts)."""

    def __init__(self, starting_cash: Decimal, start: dt.datetime, end: dt.datetime) -> None:
        self.starting_value = starting_cash
        self.period = resample_period(start, end)
        self.equity: list[Point] = []
        self.performance: list[Point] = []
        self.benchmark: list[Point] = []
        self.turnover: list[Point] = []
        self.drawdown: list[Point] = []
        self._daily_value = starting_cash
        self._sale_volume_at_sample = ZERO
        self._peak = ZERO
        self._next_sample_utc: dt.datetime | None = None
        self._benchmark_raw: Decimal | None = None
        self._benchmark_rounded = ZERO
        self._equity_raw: Decimal | None = None
        self._equity_rounded = ZERO
        # a local time at or before which no resample is due (UTC is local + 4 or 5 hours in New York)
        self.local_guard = dt.datetime.min
        self._samples_taken = 0
        self.user_charts: dict[str, dict[str, Series]] = {}
        self.runtime_statistics: dict[str, str] = {}
        self.summary_statistics: dict[str, str] = {}

    def restart_at_warmup_end(self, portfolio_value: Decimal) -> None:
        """LEAN re-captures the starting value when the warm-up ends."""
        self.starting_value = portfolio_value
        self._daily_value = portfolio_value

    # -- equity points ----------------------------------------------------------------------------

    def _add_equity(self, time: dt.datetime, value: Decimal) -> None:
        equity = self.equity
        if equity and time <= equity[-1].time:
            return
        # chart values are smart-rounded: 4 decimals above 1000, 7 significant digits below; the value
        # often repeats (nights, weekends, flat periods), and so does its rounding
        if value != self._equity_raw:
            self._equity_raw = value
            self._equity_rounded = smart_rounding(value)
        equity.append(Point(time, self._equity_rounded))

    def resample(self, time: dt.datetime, portfolio_value: Any, warming_up: bool) -> None:
        """After a time slice: an equity point when the resample period has passed."""
        utc = utc_naive(time)
        next_sample = self._next_sample_utc
        if next_sample is not None and utc <= next_sample:
            return
        self._next_sample_utc = utc + self.period
        self.local_guard = self._next_sample_utc - dt.timedelta(hours=5)
        if warming_up:
            return
        self._add_equity(time, portfolio_value() if callable(portfolio_value) else portfolio_value)

    def needs_resample(self, time: dt.datetime) -> bool:
        next_sample = self._next_sample_utc
        return next_sample is None or utc_naive(time) > next_sample

    # -- daily and final samples ----------------------------------------------------------------------

    def sample(self, time: dt.datetime, portfolio_value: Decimal, benchmark_value: Decimal,
               sale_volume: Decimal) -> None:
        """A full sample: equity, performance, benchmark, turnover, drawdown."""
        self._add_equity(time, portfolio_value)
        previous = self._daily_value
        if previous in (portfolio_value, 0):
            performance = ZERO  # weekends and flat days: no arithmetic needed
        else:
            change = ((portfolio_value - previous) * 100 / previous).quantize(_TEN_PLACES, rounding=ROUND_HALF_EVEN)
            # LEAN's ChartPoint stores every value smart-rounded (7 significant digits)
            performance = smart_rounding(change)
        self._daily_value = portfolio_value
        series = self.performance
        if not series or time > series[-1].time:
            series.append(Point(time, performance))
        series = self.benchmark
        if not series or time > series[-1].time:
            if benchmark_value != self._benchmark_raw:
                self._benchmark_raw = benchmark_value
                self._benchmark_rounded = smart_rounding(benchmark_value)
            series.append(Point(time, self._benchmark_rounded))
        if self._samples_taken > 0 and portfolio_value != 0:
            traded = sale_volume - self._sale_volume_at_sample
            turnover = smart_rounding(traded / portfolio_value) if traded else ZERO
            self.turnover.append(Point(time, turnover))
        self._sale_volume_at_sample = sale_volume
        self._samples_taken += 1
        series = self.drawdown
        if not series or time > series[-1].time:
            series.append(Point(time, portfolio_value))  # turned into percentages by charts()

    # -- user charts ----------------------------------------------------------------------------------

    def add_chart(self, chart: Any) -> None:
        charts = self.user_charts.setdefault(str(chart.name), {})
        for definition in getattr(chart, "series", {}).values():
            charts.setdefault(definition.name, Series(definition.name, definition.unit, definition.index,
                                                      definition.series_type))

    def plot(self, chart: str, series: str, value: float, time: dt.datetime) -> None:
        charts = self.user_charts.setdefault(chart, {})
        target = charts.get(series)
        if target is None:
            target = charts[series] = Series(series, "$", 0, SERIES_LINE)
        if target.points and target.points[-1][0] == time:
            target.points[-1] = (time, value)  # the latest value of a time step wins
            return
        target.add(time, value)

    # -- output ---------------------------------------------------------------------------------------

    def charts(self) -> dict[str, Any]:
        stamps = _StampCache()
        stamp = stamps.__getitem__
        values = []
        previous: float | None = None
        for point in self.equity:
            close = float(point.value)
            opening = previous if previous is not None else close
            values.append([stamp(point.time), opening, opening if opening > close else close,
                           close if opening > close else opening, close])
            previous = close
        equity = _series_json("Equity", "$", 0, SERIES_CANDLE, values)
        returns = _series_json("Return", "%", 1, SERIES_BAR,
                               [[stamp(p.time), float(p.value)] for p in self.performance])
        drawdown = _series_json("Equity Drawdown", "%", 0, SERIES_LINE, _drawdown_points(self.drawdown, stamp))
        benchmark = _series_json("Benchmark", "$", 0, SERIES_LINE,
                                 [[stamp(p.time), float(p.value)] for p in self.benchmark])
        turnover = _series_json("Portfolio Turnover", "%", 0, SERIES_LINE,
                                [[stamp(p.time), float(p.value) * 100] for p in self.turnover])
        result = {
            "Strategy Equity": _chart_json("Strategy Equity", [equity, returns]),
            "Drawdown": _chart_json("Drawdown", [drawdown]),
            "Benchmark": _chart_json("Benchmark", [benchmark]),
            "Portfolio Turnover": _chart_json("Portfolio Turnover", [turnover]),
        }
        for name, series in self.user_charts.items():
            result[name] = _chart(name, list(series.values()))
        return result


class _StampCache(dict):
    """Unix seconds of exchange times, computed once per time (series share their sample times)."""

    def __missing__(self, time: dt.datetime) -> int:
        stamp = self[time] = unix_seconds(time)
        return stamp

    def __call__(self, time: dt.datetime) -> int:
        return self[time]


def _series_json(name: str, unit: str, index: int, series_type: int, values: list[Any]) -> dict[str, Any]:
    return {"name": name, "unit": unit, "index": index, "values": values, "seriesType": series_type,
            "color": "", "scatterMarkerSymbol": "none"}


def _chart_json(name: str, series: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "chartType": CHART_OVERLAY, "series": {s["name"]: s for s in series}}


def _drawdown_points(samples: list[Point], stamp: Any) -> list[list[Any]]:
    """Percent below the running peak of the sampled portfolio value (LEAN's Drawdown chart)."""
    points: list[list[Any]] = []
    peak = 0.0
    for sample in samples:
        value = float(sample.value)
        peak = value if value > peak else peak
        if peak:
            points.append([stamp(sample.time), round((value / peak - 1) * 100, 2)])
    return points


def _chart(name: str, series: list[Series]) -> dict[str, Any]:
    return {"name": name, "chartType": CHART_OVERLAY, "series": {s.name: s.to_json() for s in series}}
