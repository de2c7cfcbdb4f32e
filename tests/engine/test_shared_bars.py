"""Bars the engine delivers are shared between backtests in one process, so they are read-only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from orchestrator.engine.data import QuoteBar, ReadOnlyBarError, TradeBar
from tests.engine.lean_raw import adjusted, factor, minute_rows, run_source

DAY = dt.date(2013, 10, 7)

VANDAL = """
from AlgorithmImports import *

class Vandal(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 7)
        self.set_end_date(2013, 10, 7)
        self.spy = self.add_equity("SPY", Resolution.MINUTE).symbol
        self.refused = []

    def on_data(self, data):
        bar = data.bars[self.spy]
        quote = data.quote_bars[self.spy]
        attempts = [lambda: setattr(bar, "close", 0.0), lambda: setattr(bar, "Close", 0.0),
                    lambda: bar.update(1.0), lambda: setattr(quote, "ask", None),
                    lambda: setattr(quote.bid, "close", 0.0), lambda: delattr(bar, "volume")]
        for attempt in attempts:
            try:
                attempt()
            except AttributeError as error:
                self.refused.append(str(error))
        copy = bar.clone()
        copy.close = 0.0  # a clone is the algorithm's own bar
        if self.time == datetime(2013, 10, 7, 9, 31):
            self.debug(f"FIRST {bar.close} {copy.close} {isinstance(bar, TradeBar)} {isinstance(quote, QuoteBar)}")

    def on_end_of_algorithm(self):
        self.debug(f"REFUSED {len(self.refused)}")
        for message in sorted(set(self.refused)):
            self.debug(f"MESSAGE {message}")
"""

MUTATOR = """
from AlgorithmImports import *

class Mutator(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 7)
        self.set_end_date(2013, 10, 7)
        self.spy = self.add_equity("SPY", Resolution.MINUTE).symbol

    def on_data(self, data):
        for change in (lambda: setattr(data.bars[self.spy], "close", 0.0),
                       lambda: setattr(data.quote_bars[self.spy].bid, "close", 0.0)):
            try:
                change()
            except AttributeError:
                pass
"""

READER = """
from AlgorithmImports import *

class Reader(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 7)
        self.set_end_date(2013, 10, 7)
        self.spy = self.add_equity("SPY", Resolution.MINUTE).symbol

    def on_data(self, data):
        if self.time == datetime(2013, 10, 7, 9, 31):
            self.debug(f"SEEN {data.bars[self.spy].close} {data.quote_bars[self.spy].bid.close}")
"""


@pytest.fixture(scope="module")
def vandal(lean_data: Path, tmp_path_factory: pytest.TempPathFactory):
    result = run_source(tmp_path_factory.mktemp("vandal"), VANDAL, lean_data)
    assert result.error is None, result.stacktrace
    return result


def test_every_assignment_is_refused_with_the_attribute_named(vandal) -> None:
    # 390 minute slices (09:31 .. 16:00) x 6 attempts, each refused
    assert any(line.endswith("REFUSED 2340") for line in vandal.logs)
    messages = [line.split("MESSAGE ", 1)[1] for line in vandal.logs if "MESSAGE " in line]
    assert [m.split(" cannot be set", 1)[0] for m in messages] == [
        "Bar.close", "QuoteBar.ask", "TradeBar.Close", "TradeBar.close", "TradeBar.update()", "TradeBar.volume"]
    assert all("shared with every backtest run in this process" in m and "bar.clone()" in m for m in messages)


def test_a_clone_is_mutable_and_the_delivered_bar_still_a_trade_bar(vandal, lean_data: Path) -> None:
    (line,) = [line for line in vandal.logs if " FIRST " in line]
    # the 09:30 bar's close from the zip, adjusted with the 2013 factor
    raw_close = minute_rows(lean_data, "SPY", DAY)[dt.datetime(2013, 10, 7, 9, 30)][3]
    close = float(adjusted(raw_close, factor(lean_data, "SPY", DAY)))
    seen, copy, *kinds = line.split("FIRST ", 1)[1].split()
    assert float(seen) == pytest.approx(close, rel=1e-12)
    assert (float(copy), kinds) == (0.0, ["True", "True"])


def test_a_later_backtest_sees_the_original_prices(lean_data: Path, tmp_path: Path) -> None:
    (tmp_path / "mutator").mkdir()
    (tmp_path / "reader").mkdir()
    mutator = run_source(tmp_path / "mutator", MUTATOR, lean_data)
    assert mutator.error is None
    result = run_source(tmp_path / "reader", READER, lean_data)  # same process: the shared bars
    (line,) = [line for line in result.logs if " SEEN " in line]
    scale = factor(lean_data, "SPY", DAY)
    nine_thirty = dt.datetime(2013, 10, 7, 9, 30)
    trade_close = float(adjusted(minute_rows(lean_data, "SPY", DAY)[nine_thirty][3], scale))
    bid_close = float(adjusted(minute_rows(lean_data, "SPY", DAY, "quote")[nine_thirty][3], scale))
    seen_trade, seen_bid = (float(v) for v in line.split("SEEN ", 1)[1].split())
    assert seen_trade == pytest.approx(trade_close, rel=1e-12) and seen_trade > 0
    assert seen_bid == pytest.approx(bid_close, rel=1e-12) and seen_bid > 0


def test_bars_an_algorithm_builds_stay_mutable() -> None:
    bar = TradeBar(dt.datetime(2020, 1, 2, 9, 30), "SPY", 1.0, 2.0, 0.5, 1.5, 100)
    bar.close = 1.75
    bar.update(2.5, volume=10)
    assert (bar.high, bar.close, bar.volume) == (2.5, 2.5, 110)
    quote = QuoteBar(dt.datetime(2020, 1, 2, 9, 30), "SPY")
    quote.last_bid_size = 3.0
    assert quote.last_bid_size == 3.0


def test_fill_forward_copies_are_read_only_too() -> None:
    bar = TradeBar(dt.datetime(2020, 1, 2, 9, 30), "SPY", 1.0, 2.0, 0.5, 1.5, 100)
    copy = bar.fill_forward(dt.datetime(2020, 1, 2, 9, 32))
    assert isinstance(copy, TradeBar) and copy.is_fill_forward
    with pytest.raises(ReadOnlyBarError, match=r"TradeBar\.time cannot be set"):
        copy.time = dt.datetime(2020, 1, 2)
