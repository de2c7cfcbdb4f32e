"""Minute data without quote files (what `qcloop data import` writes): fills fall back to trade bars.

LEAN's EquityFillModel (GetBestEffortAskPrice/GetBestEffortBidPrice) prices a market order with the
latest quote bar when one is subscribed and fresh, and otherwise with the latest trade bar's close,
adding a "no quote information ... filled using TradeBar data" message to the fill. A minute equity
always subscribes to quotes, so a folder without quote files must fill at the trade closes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from orchestrator.engine.importer import import_csv_files
from tests.engine.lean_raw import run_source

# Five one-minute bars, stamped at their start (LEAN's convention), New York time.
CSV = """datetime,open,high,low,close,volume
2013-10-07 09:30,100.00,100.20,99.90,100.10,1000
2013-10-07 09:31,100.10,100.40,100.00,100.30,1200
2013-10-07 09:32,100.30,100.60,100.20,100.50,900
2013-10-07 09:33,100.50,100.50,100.00,100.05,1100
2013-10-07 09:34,100.05,100.10,99.80,99.90,800
"""

ROUND_TRIP = """
from AlgorithmImports import *

class RoundTrip(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 7)
        self.set_end_date(2013, 10, 7)
        self.xyz = self.add_equity("XYZ", Resolution.MINUTE).symbol
        self.set_benchmark(lambda time: 1.0)

    def on_data(self, data):
        if self.time == datetime(2013, 10, 7, 9, 31):
            self.market_order(self.xyz, 10)
        elif self.time == datetime(2013, 10, 7, 9, 33):
            self.market_order(self.xyz, -10)
"""


@pytest.fixture(scope="module")
def trade_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("trade_only")
    (work / "xyz_1min.csv").write_text(CSV, encoding="utf-8")
    folder = work / "data"
    import_csv_files([work / "xyz_1min.csv"], folder)
    minute = folder / "equity" / "usa" / "minute" / "xyz"
    assert sorted(p.name for p in minute.iterdir()) == ["20131007_trade.zip"]  # no quote file
    return folder


@pytest.fixture(scope="module")
def round_trip(trade_only: Path, tmp_path_factory: pytest.TempPathFactory):
    result = run_source(tmp_path_factory.mktemp("algorithm"), ROUND_TRIP, trade_only)
    assert result.error is None, result.stacktrace
    return result


def test_market_orders_fill_at_the_latest_trade_close(round_trip) -> None:
    buy, sell = round_trip.orders
    # the 09:31 slice carries the 09:30 bar (close 100.10); the 09:33 slice the 09:32 bar (close 100.50)
    assert (buy["quantity"], buy["price"]) == (10, pytest.approx(100.10))
    assert (sell["quantity"], sell["price"]) == (-10, pytest.approx(100.50))
    assert [order["status"] for order in round_trip.orders] == [3, 3]  # Filled


def test_the_fill_says_it_used_trade_data(round_trip) -> None:
    fills = [event for order in round_trip.orders for event in order["events"] if event["status"] == "filled"]
    assert len(fills) == 2
    assert all("no quote data" in (event["message"] or "") for event in fills)
    assert "2013-10-07 09:31:00" in fills[0]["message"]  # the end of the trade bar used


def test_the_round_trip_statistics(round_trip) -> None:
    # 10 shares bought at 100.10 and sold at 100.50: +4.00; IB fees max($1, 10 x $0.005) = $1 per order
    assert round_trip.statistics["Total Orders"] == "2"
    assert round_trip.statistics["Total Fees"] == "$2.00"
    assert round_trip.statistics["End Equity"] == "100002.00"


def test_the_last_trade_is_the_price_without_quotes(trade_only: Path, tmp_path: Path) -> None:
    source = ROUND_TRIP.replace(
        "            self.market_order(self.xyz, 10)",
        "            security = self.securities[self.xyz]\n"
        "            self.debug(f'PRICES {security.price} {security.bid_price} {security.ask_price}')")
    result = run_source(tmp_path, source, trade_only)
    (line,) = [line for line in result.logs if "PRICES" in line]
    assert line.endswith("PRICES 100.1 100.1 100.1")
    assert dt.datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S") == dt.datetime(2013, 10, 7, 9, 31)
