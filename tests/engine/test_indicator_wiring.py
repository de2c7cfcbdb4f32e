"""Indicators created with self.sma/ema/... update automatically, like the same indicator fed by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.engine.lean_raw import adjusted, factor, minute_rows, run_source

HELPERS = """
from AlgorithmImports import *

class Helpers(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 6, 3)
        self.set_end_date(2013, 10, 31)
        self.spy = self.add_equity("SPY", Resolution.DAILY).symbol
        self.auto = {
            "ema": self.ema(self.spy, 10), "rsi": self.rsi(self.spy, 14), "bb": self.bb(self.spy, 20, 2),
            "atr": self.atr(self.spy, 14), "mom": self.mom(self.spy, 5), "roc": self.roc(self.spy, 5),
            "momp": self.momp(self.spy, 5), "std": self.std(self.spy, 10), "max": self.max(self.spy, 10),
            "min": self.min(self.spy, 10), "sma_high": self.sma(self.spy, 5, selector=Field.HIGH),
        }
        self.manual = {
            "ema": ExponentialMovingAverage(10), "rsi": RelativeStrengthIndex(14), "bb": BollingerBands(20, 2),
            "atr": AverageTrueRange(14), "mom": Momentum(5), "roc": RateOfChange(5), "momp": MomentumPercent(5),
            "std": StandardDeviation(10), "max": Maximum(10), "min": Minimum(10), "sma_high": SimpleMovingAverage(5),
        }

    def on_data(self, data):
        if self.spy not in data.bars:
            return  # the dividend-only slice of an ex-date
        bar = data.bars[self.spy]
        for name, indicator in self.manual.items():
            if name == "atr":
                indicator.update(bar)
            elif name == "sma_high":
                indicator.update(bar.end_time, bar.high)
            else:
                indicator.update(bar.end_time, bar.close)

    def on_end_of_algorithm(self):
        for name in self.auto:
            self.log(f"{name} {self.auto[name].current.value!r} {self.manual[name].current.value!r} "
                     f"{self.auto[name].is_ready}")
"""


def test_helpers_update_like_hand_fed_indicators(lean_data: Path, tmp_path: Path) -> None:
    result = run_source(tmp_path, HELPERS, lean_data)
    assert result.error is None, result.stacktrace
    names = {"ema", "rsi", "bb", "atr", "mom", "roc", "momp", "std", "max", "min", "sma_high"}
    lines = [line.split(" ", 2)[2].split() for line in result.logs if line.split(" ", 2)[2].split()[0] in names]
    assert len(lines) == 11
    for name, automatic, manual, ready in lines:
        assert float(automatic) == float(manual), name
        assert ready == "True", name


CONSOLIDATED = """
from AlgorithmImports import *

class Consolidated(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 7)
        self.set_end_date(2013, 10, 11)
        self.spy = self.add_equity("SPY", Resolution.MINUTE).symbol
        self.daily = self.sma(self.spy, 3, Resolution.DAILY)
        self.values = []
        self.daily.updated += lambda sender, point: self.values.append((str(point.time), point.value))

    def on_end_of_algorithm(self):
        for time, value in self.values:
            self.log(f"{time}|{value!r}")
"""


def test_daily_indicator_on_minute_data_uses_consolidated_sessions(lean_data: Path, tmp_path: Path) -> None:
    result = run_source(tmp_path, CONSOLIDATED, lean_data)
    assert result.error is None, result.stacktrace
    updates = [line.split(" ", 2)[2].split("|") for line in result.logs if "|" in line]
    # one update per session, when the 15:59-16:00 bar completes it; value = mean of the last 3
    # session closes, each the close of that day's last minute bar
    days = [dt.date(2013, 10, d) for d in (7, 8, 9, 10, 11)]
    closes = []
    for day in days:
        rows = minute_rows(lean_data, "SPY", day)
        last = rows[dt.datetime.combine(day, dt.time(15, 59))]
        closes.append(float(adjusted(last[3], factor(lean_data, "SPY", day))))
    assert [time for time, _ in updates] == [f"{day} 16:00:00" for day in days]
    assert float(updates[-1][1]) == pytest.approx(sum(closes[-3:]) / 3, rel=1e-12)
