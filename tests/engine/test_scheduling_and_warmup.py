"""Scheduled events, warm-up and hour resolution on LEAN's sample data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tests.engine.lean_raw import adjusted, daily_rows, factor, minute_rows, run_source

SCHEDULE = """
from AlgorithmImports import *

class Scheduled(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 7)
        self.set_end_date(2013, 10, 10)
        self.spy = self.add_equity("SPY", Resolution.MINUTE).symbol
        self.schedule.on(self.date_rules.every_day(self.spy), self.time_rules.after_market_open(self.spy, 0),
                         self.at_open)
        self.schedule.on(self.date_rules.every_day(self.spy), self.time_rules.before_market_close(self.spy, 15),
                         self.before_close)
        self.schedule.on(self.date_rules.on(2013, 10, 9), self.time_rules.at(12, 0), self.once)
        self.schedule.on(self.date_rules.every_day(), self.time_rules.every(timedelta(hours=6)), self.every_six)
        self.seen = []

    def at_open(self):
        self.seen.append(("open", self.time, self.securities["SPY"].price))

    def before_close(self):
        self.seen.append(("close", self.time, None))

    def once(self):
        self.seen.append(("once", self.time, None))

    def every_six(self):
        self.seen.append(("six", self.time, None))

    def on_end_of_algorithm(self):
        for kind, time, price in self.seen:
            self.log(f"{kind}|{time:%Y-%m-%d %H:%M}|{price}")
"""


@pytest.fixture(scope="module")
def scheduled(lean_data: Path, tmp_path_factory: pytest.TempPathFactory):
    result = run_source(tmp_path_factory.mktemp("schedule"), SCHEDULE, lean_data)
    assert result.error is None, result.stacktrace
    entries = [line.split(" ", 2)[2].split("|") for line in result.logs if "|" in line]
    return entries


def test_after_market_open_runs_at_0930_with_the_previous_close(scheduled, lean_data: Path) -> None:
    opens = [(time, price) for kind, time, price in scheduled if kind == "open"]
    assert [time for time, _ in opens] == [f"2013-10-{d:02d} 09:30" for d in (7, 8, 9, 10)]
    # on 10-07 nothing has arrived yet (price 0); on 10-08 the price is the 15:59 close of 10-07
    assert float(opens[0][1]) == 0.0
    last_bar = minute_rows(lean_data, "SPY", dt.date(2013, 10, 7))[dt.datetime(2013, 10, 7, 15, 59)]
    expected = adjusted(last_bar[3], factor(lean_data, "SPY", dt.date(2013, 10, 7)))
    assert Decimal(opens[1][1]) == pytest.approx(expected, abs=Decimal("1e-9"))


def test_time_rules(scheduled) -> None:
    assert [t for k, t, _ in scheduled if k == "close"] == [f"2013-10-{d:02d} 15:45" for d in (7, 8, 9, 10)]
    assert [t for k, t, _ in scheduled if k == "once"] == ["2013-10-09 12:00"]
    sixes = [t for k, t, _ in scheduled if k == "six"]
    # every calendar day at 00:00, 06:00, 12:00 and 18:00, but only while time slices still come
    assert sixes[:4] == ["2013-10-07 00:00", "2013-10-07 06:00", "2013-10-07 12:00", "2013-10-07 18:00"]
    assert sixes[-1] == "2013-10-10 12:00"


WARMUP = """
from AlgorithmImports import *

class WarmUp(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 7)
        self.set_end_date(2013, 10, 18)
        self.add_equity("SPY", Resolution.DAILY)
        self.sma20 = self.sma("SPY", 20)
        self.set_warm_up(20)
        self.warm_calls = 0
        self.finished_at = []
        self.ready_at_start = None

    def on_warmup_finished(self):
        self.finished_at.append(self.time)
        self.ready_at_start = self.sma20.is_ready

    def on_data(self, data):
        if self.is_warming_up:
            self.warm_calls += 1 if data.bars else 0
            self.set_holdings("SPY", 1)   # rejected: no orders while warming up
            return
        if not self.portfolio.invested:
            self.set_holdings("SPY", 1)

    def on_end_of_algorithm(self):
        self.log(f"warm={self.warm_calls} finished={self.finished_at} ready={self.ready_at_start} "
                 f"sma={self.sma20.current.value!r} samples={self.sma20.samples}")
"""


def test_warm_up_replays_bars_without_trading(lean_data: Path, tmp_path: Path) -> None:
    result = run_source(tmp_path, WARMUP, lean_data)
    assert result.error is None, result.stacktrace
    summary = next(line for line in result.logs if "warm=" in line)
    assert "warm=20 " in summary  # the 20 daily bars before 2013-10-07
    assert "finished=[datetime.datetime(2013, 10, 7, " in summary  # once, on the start date
    assert "samples=30" in summary  # 20 warm-up bars + the 10 trading days of the backtest
    assert "ready=True" in summary
    assert result.statistics["Total Orders"] == "1"  # the warm-up orders were rejected and not counted
    # the SMA after 10-18 covers the 20 daily closes ending 10-18
    rows = daily_rows(lean_data, "SPY")
    closes = [adjusted(v[3], factor(lean_data, "SPY", dt.date(int(k[:4]), int(k[4:6]), int(k[6:8]))))
              for k, v in sorted(rows.items()) if k[:8] <= "20131018"][-20:]
    assert len(closes) == 20
    sma = float(summary.split("sma=")[1].split(" ")[0])
    assert sma == pytest.approx(float(sum(closes) / 20), rel=1e-12)
    # statistics start at the start date, not during the warm-up
    equity = result.charts["Strategy Equity"]["series"]["Equity"]["values"]
    assert dt.datetime.fromtimestamp(equity[0][0], dt.UTC) == dt.datetime(2013, 10, 7, 4, tzinfo=dt.UTC)


HOURLY = """
from AlgorithmImports import *

class Hourly(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 8)
        self.set_end_date(2013, 10, 9)
        self.add_equity("SPY", Resolution.HOUR)
        self.times = []

    def on_data(self, data):
        self.times.append(self.time)
        if len(self.times) == 1:
            self.market_order("SPY", 100)     # at 10:00, exchange open: fills now at the bar close
        if self.time.hour == 16 and self.time.day == 8:
            self.market_order("SPY", -100)    # 16:00: becomes market-on-open

    def on_end_of_algorithm(self):
        self.log("times=" + ",".join(t.strftime("%d %H:%M") for t in self.times))
"""


def test_hour_bars_end_on_the_hour_and_fill(lean_data: Path, tmp_path: Path) -> None:
    result = run_source(tmp_path, HOURLY, lean_data)
    assert result.error is None, result.stacktrace
    times = next(line for line in result.logs if "times=" in line).split("times=")[1].split(",")
    assert times[:7] == [f"08 {h}:00" for h in (10, 11, 12, 13, 14, 15, 16)]
    buy, sell = result.orders
    rows = daily_rows(lean_data, "SPY", "hour")
    scale = factor(lean_data, "SPY", dt.date(2013, 10, 8))
    assert buy["type"] == 0 and buy["time"] == "2013-10-08T14:00:00Z"
    assert Decimal(str(buy["price"])) == pytest.approx(adjusted(rows["20131008 09:00"][3], scale), abs=Decimal("1e-9"))
    assert sell["type"] == 4
    # the first hour bar of 10-09 (09:00-10:00) opens the session
    assert Decimal(str(sell["price"])) == pytest.approx(adjusted(rows["20131009 09:00"][0], scale), abs=Decimal("1e-9"))


def test_the_four_session_time_rules_on_a_normal_day_an_early_close_and_a_holiday(lean_data: Path) -> None:
    from orchestrator.engine.market_hours import load_exchange_hours
    from orchestrator.engine.scheduling import TimeRules

    hours = load_exchange_hours(lean_data)
    rules = TimeRules(lambda symbol: hours, lambda: dt.datetime(2013, 1, 1))
    at = dt.datetime
    normal, early, holiday = dt.date(2013, 10, 8), dt.date(2013, 11, 29), dt.date(2013, 11, 28)
    # regular session 09:30-16:00, pre-market from 04:00, post-market to 20:00; the day after
    # Thanksgiving closes at 13:00 and Thanksgiving is closed (LEAN's market-hours database)
    cases = [
        (rules.after_market_open("SPY", 10), normal, [at(2013, 10, 8, 9, 40)]),
        (rules.after_market_open("SPY", 10, True), normal, [at(2013, 10, 8, 4, 10)]),
        (rules.before_market_open("SPY", 30), normal, [at(2013, 10, 8, 9, 0)]),
        (rules.before_market_close("SPY", 15), normal, [at(2013, 10, 8, 15, 45)]),
        (rules.before_market_close("SPY", 15), early, [at(2013, 11, 29, 12, 45)]),
        (rules.after_market_close("SPY", 5), normal, [at(2013, 10, 8, 16, 5)]),
        (rules.after_market_close("SPY", 5, True), normal, [at(2013, 10, 8, 20, 5)]),
        (rules.after_market_open("SPY"), holiday, []),
        (rules.before_market_close("SPY"), holiday, []),
    ]
    for rule, day, expected in cases:
        assert rule.generate(day) == expected, (rule.name, day)
    assert rules.before_market_open("SPY", 30).name == "BeforeMarketOpen(SPY, 30)"
