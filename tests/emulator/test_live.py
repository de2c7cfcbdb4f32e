"""Paper live deployments: a replay of the newest data, then portfolio, orders, stop and liquidate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.emulator import EmulatorBackend, Timing, wire
from orchestrator.emulator.errors import ConflictError, UnsupportedRequestError
from orchestrator.emulator.runner import daily_close, latest_daily_date
from orchestrator.emulator.state import UserRecord
from tests.emulator.helpers import TOKEN, USER_ID
from tests.emulator.test_backtests import compiled_project

pytestmark = pytest.mark.usefixtures("engine_available")

# Buys 100 SPY shares on the first bar of the replay window, whatever dates the emulator chooses.
HUNDRED_SHARES = '''# region imports
from AlgorithmImports import *
# endregion


class Hundred(QCAlgorithm):
    def initialize(self) -> None:
        self.set_start_date(2020, 1, 2)
        self.set_end_date(2020, 2, 28)
        self.set_cash(100000)
        self.spy = self.add_equity("SPY", Resolution.DAILY).symbol

    def on_data(self, data: Slice) -> None:
        if not self.portfolio.invested:
            self.market_order(self.spy, 100)
'''


@pytest.fixture
def live(lean_data: Path) -> Iterator[tuple[EmulatorBackend, UserRecord]]:
    backend = EmulatorBackend(data_folder=lean_data, timing=Timing.immediate(), live_replay_days=30)
    user, _ = backend.register_user(USER_ID, TOKEN)
    yield backend, user
    backend.close()


def test_a_paper_deployment_replays_the_newest_data_and_holds_its_portfolio(live: tuple[EmulatorBackend,
                                                                                         UserRecord],
                                                                             lean_data: Path) -> None:
    backend, user = live
    pid, cid = compiled_project(backend, user, HUNDRED_SHARES)
    with pytest.raises(UnsupportedRequestError, match="only paper-trades"):
        backend.create_live(user, pid, compile_id=cid, node_id="N-1", brokerage={"id": "InteractiveBrokersBrokerage"})
    paper = {"id": "QuantConnectBrokerage", "cash": [{"amount": 50000, "currency": "USD"}]}
    record = backend.create_live(user, pid, compile_id=cid, node_id="N-1", brokerage=paper)
    view = backend.read_live(user, pid)
    shown = wire.live_algorithm(view)
    assert shown["status"] == "Running" and shown["brokerage"] == "PaperBrokerage"
    newest = latest_daily_date(lean_data)
    assert newest is not None
    assert shown["replay"] == {"start": (newest - dt.timedelta(days=30)).isoformat(), "end": newest.isoformat()}
    with pytest.raises(ConflictError, match="already has a running live algorithm"):
        backend.create_live(user, pid, compile_id=cid, node_id="N-1", brokerage={"id": "QuantConnectBrokerage"})

    portfolio = backend.live_portfolio(user, pid)
    (holding,) = portfolio["holdings"].values()
    close = daily_close(lean_data, "SPY", newest)
    assert holding["q"] == 100 and holding["p"] == pytest.approx(close)
    orders = backend.live_orders(user, pid)
    assert [o["quantity"] for o in orders] == [100]
    equity = (view.result or {})["totalPerformance"]["portfolioStatistics"]["endEquity"]
    assert portfolio["cash"]["USD"]["amount"] == pytest.approx(float(equity) - 100 * close, abs=0.01)
    assert [s.record.deploy_id for s in backend.list_live(user, status="Running")] == [record.deploy_id]

    backend.stop_live(user, pid, liquidate=True)
    assert backend.read_live(user, pid).status.value == "Liquidated"
    assert backend.live_portfolio(user, pid)["holdings"] == []
    assert [o["quantity"] for o in backend.live_orders(user, pid)] == [100, -100]
    with pytest.raises(ConflictError, match="not running"):
        backend.stop_live(user, pid)
