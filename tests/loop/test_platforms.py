"""The cloud platform against the emulator (a real server on 127.0.0.1) when the service misbehaves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestrator.cloud.client import QCClient
from orchestrator.cloud.transport import RetryPolicy
from orchestrator.config import Settings
from orchestrator.credentials import Credentials
from orchestrator.emulator import EmulatorBackend, EmulatorServer, Fault, FaultKind, FaultPlan, Timing
from orchestrator.errors import CloudError
from orchestrator.loop.evidence import figures_from_result
from orchestrator.platforms.base import RemoteBacktest
from orchestrator.platforms.cloud import CloudPlatform

USER_ID, TOKEN = 8181, "platform-test-token-0123456789abcdef"
# A week of LEAN's daily sample data, fully invested from the first bar: a non-flat equity curve.
ALGORITHM = '''from AlgorithmImports import *


class Invested(QCAlgorithm):
    def initialize(self) -> None:
        self.set_start_date(2013, 10, 7)
        self.set_end_date(2013, 10, 11)
        self.set_cash(100000)
        self.spy = self.add_equity("SPY", Resolution.DAILY).symbol

    def on_data(self, data: Slice) -> None:
        if not self.portfolio.invested:
            self.set_holdings(self.spy, 1.0)
'''


@pytest.fixture
def cloud(tmp_path: Path, lean_data: Path) -> Iterator[tuple[CloudPlatform, FaultPlan]]:
    backend = EmulatorBackend(data_folder=lean_data, timing=Timing.immediate())
    user, _ = backend.register_user(USER_ID, TOKEN)
    plan = FaultPlan(seed=5)
    server = EmulatorServer(backend, faults=plan)
    server.start()
    credentials = Credentials(user_id=str(USER_ID), api_token=SecretStr(TOKEN), organization_id=user.organization_id)
    client = QCClient(credentials, base_url=server.url, sleep=lambda _: None,
                      retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02))
    yield CloudPlatform(client, Settings(workspace=tmp_path)), plan
    server.stop()
    backend.close()


def _finished(platform: CloudPlatform) -> tuple[RemoteBacktest, object]:
    project = platform.ensure_project("qcloop/H-001")
    platform.put_files(project, {"main.py": ALGORITHM})
    compiled = platform.compile(project)
    assert compiled.ok, compiled.logs
    created = platform.create_backtest(project, compile_id=compiled.compile_id, name="qcloop/H-001/baseline/1",
                                       parameters={}, window=None)
    deadline = time.monotonic() + 120
    remote = created
    while not remote.completed and time.monotonic() < deadline:
        time.sleep(0.1)
        remote = platform.read_backtest(project, created.backtest_id)
    assert remote.completed and not remote.failed, remote.error
    return remote, project


def test_a_failed_read_of_the_equity_chart_is_an_error_not_other_figures(
        cloud: tuple[CloudPlatform, FaultPlan]) -> None:
    platform, plan = cloud
    remote, project = _finished(platform)
    # With its daily equity, the backtest's Sharpe ratio is qcloop's own (from daily returns).
    assert figures_from_result(remote.result or {}, backtest_id=remote.backtest_id,
                               parameters={}).sharpe_per_period is not None
    # backtests/read carries chart summaries only; the equity comes from backtests/chart/read. When that
    # keeps failing, reading the backtest fails (the loop tries again later) instead of handing back a
    # result whose figures would silently fall back to LEAN's own Sharpe ratio.
    plan.on_calls("backtests/chart/read", Fault(FaultKind.STATUS, status=503), *range(1, 50))
    with pytest.raises(CloudError):
        platform.read_backtest(project, remote.backtest_id)  # type: ignore[arg-type]
