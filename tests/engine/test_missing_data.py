"""Securities without data in the backtest window run without data (as LEAN does), with a warning.

LEAN's sample data has no QQQ bars from 2004-12-01 to 2011-03-22: the map file
(``map_files/qqq.csv``) names the ticker QQQQ for those dates and there is no ``daily/qqqq.zip``.
LEAN's data provider finds no file, the subscription yields nothing, the security's price stays 0,
``SetHoldings`` logs the zero-price error without ordering (``PortfolioTarget.Percent``) and orders
fail the pre-checks ("no data for this symbol yet"), so neither counts in Total Orders.
The rule: files that exist but hold nothing in the window -> a warning; no file at all -> DataError.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import DataError
from tests.engine.lean_raw import daily_rows, run_source

DUAL_MOMENTUM = """
from AlgorithmImports import *

class DualMomentum(QCAlgorithm):
    def initialize(self):
        self.set_start_date({start})
        self.set_end_date({end})
        self.spy = self.add_equity("SPY", Resolution.DAILY).symbol
        self.qqq = self.add_equity("QQQ", Resolution.DAILY).symbol
        self.qqq_bars = 0
        self.tickets = []

    def on_data(self, data):
        if data.bars.contains_key(self.qqq):
            self.qqq_bars += 1
        if not self.portfolio.invested and not self.tickets:
            self.set_holdings(self.qqq, 0.5)
            self.set_holdings(self.spy, 0.5)
            self.tickets.append(self.market_order(self.qqq, 10))

    def on_end_of_algorithm(self):
        qqq = self.securities[self.qqq]
        self.debug(f"END qqq_bars={{self.qqq_bars}} price={{qqq.price}} has_data={{qqq.has_data}} "
                   f"ticket={{self.tickets[0].status}}")
"""


@pytest.fixture(scope="module")
def in_the_gap(lean_data: Path, tmp_path_factory: pytest.TempPathFactory):
    source = DUAL_MOMENTUM.format(start="2006, 1, 1", end="2007, 12, 31")
    return run_source(tmp_path_factory.mktemp("gap"), source, lean_data)


def test_a_window_inside_the_gap_runs(in_the_gap) -> None:
    assert in_the_gap.error is None, in_the_gap.stacktrace
    # QQQ got no bar, kept price 0 and no data; the market order was rejected (OrderStatus.INVALID)
    (end,) = [line for line in in_the_gap.logs if " END " in line]
    assert "qqq_bars=0 price=0.0 has_data=False ticket=Invalid" in end


def test_the_warning_names_the_symbol_the_file_and_the_window(in_the_gap, lean_data: Path) -> None:
    (warning,) = in_the_gap.warnings
    assert warning.startswith("Warning: QQQ has no daily data between 2006-01-01 and 2007-12-31")
    assert str(lean_data / "equity" / "usa" / "daily" / "qqqq.zip") in warning
    # the QQQ rows around the gap, read from the zip: the last before 2006 and the first after 2007
    dates = sorted(stamp[:8] for stamp in daily_rows(lean_data, "QQQ"))
    before = max(d for d in dates if d < "20060101")
    after = min(d for d in dates if d > "20071231")
    assert (before, after) == ("20041130", "20110323")
    assert "the nearest data: 2004-11-30 before, 2011-03-23 after" in warning
    assert in_the_gap.logs[0].endswith(warning)  # first in the logs, where a reader looks


def test_orders_for_the_missing_security_are_rejected_and_not_counted(in_the_gap) -> None:
    # only SPY's set_holdings made an order; QQQ's set_holdings logged the zero price and its market
    # order failed the pre-checks
    assert in_the_gap.statistics["Total Orders"] == "1"
    assert [order["symbol"]["value"] for order in in_the_gap.orders] == ["SPY"]
    zero_price = [line for line in in_the_gap.logs if "The price of the QQQ security is zero" in line]
    assert len(zero_price) == 1 and "no QQQ daily data in this backtest" in zero_price[0]
    rejected = [line for line in in_the_gap.logs if "Order Error: There is no data for QQQ" in line]
    assert len(rejected) == 1


def test_a_window_across_the_gap_warns_about_the_missing_ticker_range(lean_data: Path, tmp_path: Path) -> None:
    source = DUAL_MOMENTUM.format(start="2004, 6, 1", end="2012, 1, 31")
    result = run_source(tmp_path, source, lean_data)
    assert result.error is None, result.stacktrace
    (warning,) = result.warnings
    assert warning.startswith("Warning: QQQ has no daily data from 2004-12-01 to 2011-03-22")
    assert "ticker QQQQ" in warning and "qqqq.zip" in warning
    # QQQ has data at the start: both set_holdings and the market order for QQQ are accepted
    assert sorted(order["symbol"]["value"] for order in result.orders) == ["QQQ", "QQQ", "SPY"]


MINUTE = """
from AlgorithmImports import *

class Minute(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2014, 1, 6)
        self.set_end_date(2014, 1, 8)
        self.add_equity("{ticker}", Resolution.MINUTE)
"""


def test_minute_data_outside_the_files_is_a_gap(lean_data: Path, tmp_path: Path) -> None:
    # IBM's minute files cover 2013-10-04 .. 2013-10-11 only
    result = run_source(tmp_path, MINUTE.format(ticker="IBM"), lean_data)
    assert result.error is None
    (warning,) = result.warnings
    assert warning.startswith("Warning: IBM has no minute trade data between 2014-01-06 and 2014-01-08")
    assert "minute/ibm/20140106_trade.zip: not found; the nearest data: 2013-10-11 before" in warning


def test_a_symbol_without_any_file_of_its_resolution_is_a_data_error(lean_data: Path, tmp_path: Path) -> None:
    # AAPL has daily data in LEAN's sample but no minute folder at all: a missing download, not a gap
    with pytest.raises(DataError, match=r"no AAPL minute trade data.*minute/aapl/20140106_trade\.zip"):
        run_source(tmp_path, MINUTE.format(ticker="AAPL"), lean_data)
