"""Order types on LEAN's sample data, with fills derived by hand from the raw file rows x factor."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tests.engine.lean_raw import adjusted, events, factor, minute_rows, run_source

DAY = dt.date(2013, 10, 8)

ORDERS_ALGORITHM = """
from AlgorithmImports import *

class Orders(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 8)
        self.set_end_date(2013, 10, 9)
        self.set_cash(100000)
        self.add_equity("IBM", Resolution.MINUTE)
        self.placed = False
        self.after_close = False

    def on_data(self, data):
        if not self.placed:
            self.placed = True
            self.limit_buy = self.limit_order("IBM", 10, 135.0)          # waits for a low below 135
            self.limit_sell = self.limit_order("IBM", -10, 135.0)        # marketable: the open of the next bar
            self.stop_buy = self.stop_market_order("IBM", 10, 135.7)     # a high at or above 135.70
            self.moc = self.market_on_close_order("IBM", 5)
            self.bad_moo = self.market_on_open_order("IBM", 5)           # invalid during market hours
            self.zero = self.market_order("IBM", 0)                     # invalid, not counted
        if self.time.hour == 16 and not self.after_close:
            self.after_close = True
            self.late = self.market_order("IBM", 7)                     # exchange closed -> MarketOnOpen
"""


@pytest.fixture(scope="module")
def orders_result(lean_data: Path, tmp_path_factory: pytest.TempPathFactory):
    return run_source(tmp_path_factory.mktemp("orders"), ORDERS_ALGORITHM, lean_data)


@pytest.fixture(scope="module")
def ibm(lean_data: Path):
    rows = {t: r for t, r in sorted(minute_rows(lean_data, "IBM", DAY).items())
            if dt.time(9, 30) <= t.time() < dt.time(16, 0)}
    return rows, factor(lean_data, "IBM", DAY)


def _order(result, quantity: int, order_type: int) -> dict:
    (order,) = [o for o in result.orders if o["quantity"] == quantity and o["type"] == order_type]
    return order


def _fill_time(order: dict) -> dt.datetime:
    (filled,) = [e for e in order["events"] if e["status"] == "filled"]
    return dt.datetime.fromtimestamp(filled["time"], dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=4)


def test_invalid_orders_are_not_counted(orders_result) -> None:
    # 5 accepted at 09:31 (the MOO during market hours and the zero-quantity order fail the pre-checks),
    # plus the 16:00 market order converted to MarketOnOpen
    assert orders_result.statistics["Total Orders"] == "5"
    assert len(orders_result.orders) == 5
    assert any("MarketOnOpen orders must be placed while the market is closed" in line
               for line in orders_result.logs)


def test_limit_buy_fills_at_the_limit_on_the_first_bar_below_it(orders_result, ibm) -> None:
    rows, scale = ibm
    limit = Decimal("135.0")
    # first bar that starts at or after the 09:31 order time whose low is below the limit
    expected_start = next(t for t, r in rows.items() if t.time() >= dt.time(9, 31) and adjusted(r[2], scale) < limit)
    order = _order(orders_result, 10, 1)
    assert order["status"] == 3
    assert Decimal(str(order["price"])) == limit  # the open was above the limit: filled at the limit
    assert _fill_time(order) == expected_start + dt.timedelta(minutes=1)


def test_marketable_sell_limit_fills_at_the_next_open(orders_result, ibm) -> None:
    rows, scale = ibm
    bar = rows[dt.datetime.combine(DAY, dt.time(9, 31))]  # the first bar after the order
    assert adjusted(bar[0], scale) > Decimal("135.0")  # favourable gap: the open is better than the limit
    order = _order(orders_result, -10, 1)
    assert Decimal(str(order["price"])) == pytest.approx(adjusted(bar[0], scale), abs=Decimal("1e-9"))
    assert _fill_time(order) == dt.datetime.combine(DAY, dt.time(9, 32))


def test_buy_stop_fills_at_the_stop_when_the_high_reaches_it(orders_result, ibm) -> None:
    rows, scale = ibm
    stop = Decimal("135.7")
    expected_start = next(t for t, r in rows.items() if t.time() >= dt.time(9, 31) and adjusted(r[1], scale) >= stop)
    bar = rows[expected_start]
    order = _order(orders_result, 10, 2)
    expected_price = adjusted(bar[0], scale) if adjusted(bar[0], scale) >= stop else stop
    assert Decimal(str(order["price"])) == pytest.approx(expected_price, abs=Decimal("1e-9"))
    assert _fill_time(order) == expected_start + dt.timedelta(minutes=1)


def test_market_on_close_fills_at_the_last_close_of_the_session(orders_result, ibm) -> None:
    rows, scale = ibm
    last_start = max(rows)  # the last regular-session trade bar of 10-08
    order = _order(orders_result, 5, 5)
    assert Decimal(str(order["price"])) == pytest.approx(adjusted(rows[last_start][3], scale), abs=Decimal("1e-9"))
    assert _fill_time(order) == dt.datetime.combine(DAY, dt.time(16, 0))


def test_market_order_after_the_close_becomes_market_on_open(orders_result, lean_data: Path) -> None:
    order = _order(orders_result, 7, 4)
    next_day = dt.date(2013, 10, 9)
    opening = minute_rows(lean_data, "IBM", next_day)[dt.datetime.combine(next_day, dt.time(9, 30))]
    scale = factor(lean_data, "IBM", next_day)
    assert Decimal(str(order["price"])) == pytest.approx(adjusted(opening[0], scale), abs=Decimal("1e-9"))
    assert _fill_time(order) == dt.datetime.combine(next_day, dt.time(9, 31))


def test_fees_follow_interactive_brokers(orders_result) -> None:
    # every fill here is 5-10 shares: 0.005 x q < $1 minimum, and the 0.5 % cap (>= $3.35) does not bind
    fees = [e["orderFeeAmount"] for e in events(orders_result, "filled")]
    assert fees and all(fee == 1.0 for fee in fees)
    assert orders_result.statistics["Total Fees"] == f"${len(fees)}.00"


DAILY_MULTI = """
from AlgorithmImports import *

class DailyMulti(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 1)
        self.set_end_date(2013, 10, 31)
        self.add_equity("AAPL", Resolution.DAILY)
        self.add_equity("IBM", Resolution.DAILY)
        self.step = 0

    def on_data(self, data):
        self.step += 1
        if self.step == 1:
            self.set_holdings([PortfolioTarget("AAPL", 0.5), PortfolioTarget("IBM", 0.4)])
        elif self.step == 5:
            # IBM to 0.2 (reducing, ordered first), AAPL to 0.7
            self.set_holdings([PortfolioTarget("AAPL", 0.7), PortfolioTarget("IBM", 0.2)])
        elif self.step == 10:
            self.set_holdings("IBM", 0.3, True)  # liquidates AAPL first
        elif self.step == 15:
            self.liquidate()
"""


@pytest.fixture(scope="module")
def daily_multi(lean_data: Path, tmp_path_factory: pytest.TempPathFactory):
    return run_source(tmp_path_factory.mktemp("daily-multi"), DAILY_MULTI, lean_data)


def test_set_holdings_targets_orders_reducing_positions_first(daily_multi) -> None:
    assert daily_multi.error is None
    orders = daily_multi.orders
    # step 1: two market-on-open buys (daily data, 16:00); step 5: IBM reduced first, then AAPL added
    assert [o["type"] for o in orders[:4]] == [4, 4, 4, 4]
    step5 = orders[2:4]
    assert step5[0]["symbol"]["value"] == "IBM" and step5[0]["quantity"] < 0
    assert step5[1]["symbol"]["value"] == "AAPL" and step5[1]["quantity"] > 0


def test_liquidate_existing_holdings_then_liquidate_all(daily_multi) -> None:
    orders = daily_multi.orders
    step10 = orders[4:6]
    assert step10[0]["symbol"]["value"] == "AAPL"
    aapl_bought = sum(o["quantity"] for o in orders[:4] if o["symbol"]["value"] == "AAPL")
    assert step10[0]["quantity"] == -aapl_bought
    # liquidate() closes what is left, by ticker: IBM only (AAPL is already flat)
    final = orders[6:]
    assert [o["symbol"]["value"] for o in final] == ["IBM"]
    assert sum(o["quantity"] for o in orders if o["symbol"]["value"] == "IBM") == 0
    assert all(o["status"] == 3 for o in orders)


def test_market_on_open_fills_at_the_next_daily_open(daily_multi, lean_data: Path) -> None:
    from tests.engine.lean_raw import daily_rows

    first = daily_multi.orders[0]
    ticker = first["symbol"]["value"]
    rows = daily_rows(lean_data, ticker)
    # placed at 16:00 on 2013-10-01 (the first daily bar), filled at the 10-02 open
    raw_open = rows["20131002 00:00"][0]
    scale = factor(lean_data, ticker, dt.date(2013, 10, 2))
    assert Decimal(str(first["price"])) == pytest.approx(adjusted(raw_open, scale), abs=Decimal("1e-9"))
    assert first["time"] == "2013-10-01T20:00:00Z" and first["lastFillTime"] == "2013-10-02T20:00:00Z"
