"""Three sparse minute symbols (IBM, AIG, BAC): scheduled rebalancing, quote fills, liquidate-all."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tests.engine.lean_raw import adjusted, factor, minute_rows, run_source

DAY = dt.date(2013, 10, 8)

ALGORITHM = """
from AlgorithmImports import *

class ThreeBanks(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 8)
        self.set_end_date(2013, 10, 8)
        for ticker in ["IBM", "AIG", "BAC"]:
            self.add_equity(ticker, Resolution.MINUTE)
        self.schedule.on(self.date_rules.every_day("IBM"), self.time_rules.at(10, 0), self.buy)
        self.schedule.on(self.date_rules.every_day("IBM"), self.time_rules.at(15, 0), self.sell)

    def buy(self):
        self.set_holdings([PortfolioTarget("IBM", 0.3), PortfolioTarget("AIG", 0.3), PortfolioTarget("BAC", 0.3)])

    def sell(self):
        self.liquidate()
"""


@pytest.fixture(scope="module")
def three(lean_data: Path, tmp_path_factory: pytest.TempPathFactory):
    result = run_source(tmp_path_factory.mktemp("three"), ALGORITHM, lean_data)
    assert result.error is None, result.stacktrace
    return result


def _quote_close(lean_data: Path, ticker: str, at: dt.time, side: str) -> Decimal:
    """The ask (buy) or bid (sell) close of the last quote bar that ended by ``at``."""
    rows = minute_rows(lean_data, ticker, DAY, "quote")
    start = max(t for t, r in rows.items() if t.time() < at and t.time() >= dt.time(9, 30)
                and (r[8] if side == "ask" else r[3]))
    raw = rows[start][8] if side == "ask" else rows[start][3]
    return adjusted(raw, factor(lean_data, ticker, DAY))


def test_rebalance_fills_each_symbol_at_its_quote(three, lean_data: Path) -> None:
    buys = [o for o in three.orders if o["quantity"] > 0]
    sells = [o for o in three.orders if o["quantity"] < 0]
    assert {o["symbol"]["value"] for o in buys} == {"IBM", "AIG", "BAC"}
    for order in buys:
        assert order["time"] == "2013-10-08T14:00:00Z"  # 10:00 New York, a regular market order
        expected = _quote_close(lean_data, order["symbol"]["value"], dt.time(10, 0), "ask")
        assert Decimal(str(order["price"])) == pytest.approx(expected, abs=Decimal("1e-9"))
    # liquidate() goes through the securities by ticker: AIG, BAC, IBM
    assert [o["symbol"]["value"] for o in sells] == ["AIG", "BAC", "IBM"]
    for order in sells:
        expected = _quote_close(lean_data, order["symbol"]["value"], dt.time(15, 0), "bid")
        assert Decimal(str(order["price"])) == pytest.approx(expected, abs=Decimal("1e-9"))
        bought = next(o for o in buys if o["symbol"]["value"] == order["symbol"]["value"])
        assert order["quantity"] == -bought["quantity"]


def test_targets_are_ordered_by_order_value(three) -> None:
    buys = [o for o in three.orders if o["quantity"] > 0]
    values = [abs(o["quantity"] * o["orderSubmissionData"]["lastPrice"]) for o in buys]
    assert values == sorted(values, reverse=True)
    assert three.statistics["Total Orders"] == "6"
