"""qcloop's cloud client against the emulator over real sockets: every endpoint, every fault mode.

The client (``orchestrator.cloud``) and the emulator are written independently from the same
reference; here they meet. Retries are observed through the client's injected ``sleep`` (recorded,
not slept) and the emulator's fault log (how often each endpoint was really called).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from orchestrator.cloud.client import QCClient
from orchestrator.cloud.schemas import OptimizationConstraint, OptimizationParameter, PaperBrokerage
from orchestrator.cloud.transport import RetryPolicy
from orchestrator.credentials import Credentials
from orchestrator.emulator import EmulatorBackend, EmulatorServer, Fault, FaultKind, FaultPlan, Timing
from orchestrator.errors import (
    AuthenticationError,
    CompileFailedError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestFailedError,
    TransportError,
    WaitTimeoutError,
)
from tests.emulator.algorithms import RAISES, WEIGHTED_SPY
from tests.emulator.helpers import TOKEN, USER_ID

GOOD_MAIN = "from AlgorithmImports import *\n\nclass A(QCAlgorithm):\n    pass\n"


class Harness:
    """An emulator with a fault plan, and a client factory whose sleeps are recorded, not slept: the
    client's clock starts at the real time and moves on by each recorded sleep (so that deadlines
    pass at once, and signatures stay within the emulator's 1800 s window)."""

    def __init__(self, backend: EmulatorBackend, server: EmulatorServer, plan: FaultPlan) -> None:
        self.backend = backend
        self.server = server
        self.plan = plan
        self.sleeps: list[float] = []
        self.started = time.time()
        self.organization_id = backend.user(USER_ID).organization_id

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def clock(self) -> float:
        return self.started + sum(self.sleeps)

    def client(self, *, token: str = TOKEN, timeout: float = 30.0, attempts: int = 4,
               base_url: str | None = None) -> QCClient:
        credentials = Credentials(user_id=str(USER_ID), api_token=SecretStr(token),
                                  organization_id=self.organization_id)
        return QCClient(credentials, base_url=base_url or self.server.url, timeout=timeout, sleep=self.sleep,
                        clock=self.clock, retry=RetryPolicy(max_attempts=attempts, base_delay=0.01, max_delay=0.05),
                        random=lambda: 0.5)

    def faults(self, endpoint: str, fault: Fault, *calls: int) -> None:
        self.plan.on_calls(endpoint, fault, *calls)


def harness_for(backend: EmulatorBackend) -> Iterator[Harness]:
    backend.register_user(USER_ID, TOKEN)
    plan = FaultPlan(seed=3)
    server = EmulatorServer(backend, faults=plan)
    server.start()
    yield Harness(backend, server, plan)
    server.stop()
    backend.close()


@pytest.fixture
def harness() -> Iterator[Harness]:
    yield from harness_for(EmulatorBackend(timing=Timing.after_polls(2)))


@pytest.fixture
def engine_harness(lean_data: Path, engine_available: None) -> Iterator[Harness]:
    yield from harness_for(EmulatorBackend(data_folder=lean_data, timing=Timing.after_polls(2)))


def status(code: int, retry_after: float = 1.0) -> Fault:
    return Fault(FaultKind.STATUS, status=code, retry_after=retry_after)


# -- every endpoint that needs no engine --------------------------------------------------------------


def test_projects_files_and_compile_through_the_client(harness: Harness) -> None:
    client = harness.client()
    assert client.authenticate() is True
    project = client.create_project("E2E/Files")
    assert client.read_project(project.projectId).name == "E2E/Files"
    assert [p.projectId for p in client.list_projects()] == [project.projectId]
    assert [p.projectId for p in client.iter_projects(page_size=1)] == [project.projectId]
    client.update_project(project.projectId, name="E2E/Renamed", description="d", parameters={"fast": 10})
    updated = client.read_project(project.projectId)
    assert (updated.name, updated.description) == ("E2E/Renamed", "d")
    assert harness.backend.project(harness.backend.user(USER_ID), project.projectId).parameters == {"fast": "10"}
    assert updated.parameters == {"fast": "10"}  # the emulator's [{key, value}] list, read by the client
    client.update_project(project.projectId, parameters={})
    assert client.read_project(project.projectId).parameters == {}

    assert sorted(f.name for f in client.list_files(project.projectId)) == ["main.py", "research.ipynb"]
    created = client.create_file(project.projectId, "lib/util.py", "def f():\n    return 1\n")
    assert created is not None and created.name == "lib/util.py"
    with pytest.raises(RequestFailedError, match="already exists"):
        client.create_file(project.projectId, "lib/util.py", "x = 1\n")
    client.update_file(project.projectId, "main.py", GOOD_MAIN + "from lib.util import f\n")
    client.rename_file(project.projectId, "lib/util.py", "lib/helpers.py")
    client.update_file(project.projectId, "main.py", GOOD_MAIN + "from lib.helpers import f\n")
    assert client.read_file(project.projectId, "lib/helpers.py").content.startswith("def f")
    with pytest.raises(RequestFailedError, match="File not found"):
        client.read_file(project.projectId, "lib/util.py")

    built = client.wait_for_compile(project.projectId, client.create_compile(project.projectId).compileId)
    assert built.state.value == "BuildSuccess" and built.logs
    client.update_file(project.projectId, "main.py", GOOD_MAIN + "import missing_module\n")
    broken = client.wait_for_compile(project.projectId, client.create_compile(project.projectId).compileId)
    assert broken.state.value == "BuildError"
    assert any("main.py Line: 5" in line for line in broken.logs)

    client.delete_file(project.projectId, "lib/helpers.py")
    client.delete_project(project.projectId)
    assert client.list_projects() == []


def test_object_store_through_the_client(harness: Harness) -> None:
    client = harness.client()
    client.set_object("qcloop/results/n-7.json", '{"nonce": "n-7"}')
    client.set_object("qcloop/inbox/a.bin", b"\x00\x01binary")
    properties = client.read_object_properties("qcloop/results/n-7.json")
    assert (properties.size, properties.mime) == (16, "application/json")
    listing = client.list_objects("qcloop")
    assert sorted(o.key for o in listing.objects) == ["qcloop/inbox", "qcloop/results"]
    assert client.get_object("qcloop/results/n-7.json") == b'{"nonce": "n-7"}'
    assert client.get_object("qcloop/inbox/a.bin") == b"\x00\x01binary"
    client.delete_object("qcloop/inbox")
    assert [o.key for o in client.list_objects("qcloop").objects] == ["qcloop/results"]
    with pytest.raises(RequestFailedError):
        client.read_object_properties("qcloop/inbox/a.bin")


def test_wrong_credentials_raise_authentication_errors_in_both_forms(harness: Harness) -> None:
    with pytest.raises(AuthenticationError) as caught:
        harness.client(token="not-the-token").authenticate()
    # the emulator quotes the hash it received, as the service does; the client scrubs it
    text = str(caught.value) + repr(caught.value.errors)
    assert "Hash doesn't match." in text and "QC_API_TOKEN" in text
    assert re.search(r"[0-9a-fA-F]{64}", text) is None, text
    other = EmulatorBackend()
    other.register_user(USER_ID, TOKEN)
    server = EmulatorServer(other, auth_failure_status=401)
    server.start()
    try:
        credentials = Credentials(user_id=str(USER_ID), api_token=SecretStr("wrong"))
        with pytest.raises(AuthenticationError):
            QCClient(credentials, base_url=server.url, sleep=lambda _: None).authenticate()
    finally:
        server.stop()
        other.close()


def test_names_paging_and_missing_objects_through_the_client(harness: Harness,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    client = harness.client()
    first = client.create_project("E2E/Twin")
    with caplog.at_level(logging.WARNING, logger="orchestrator.cloud.client"):
        twin = client.create_project("E2E/Twin")  # the service renames a duplicate; the client says so
    assert twin.name == "E2E/Twin 1" and "instead of 'E2E/Twin'" in caplog.text
    third = client.create_project("E2E/Third")
    paged = [p.projectId for p in client.iter_projects(page_size=2)]  # pages [0, 2) and [2, 4)
    assert paged == [first.projectId, twin.projectId, third.projectId]
    assert harness.plan.calls("projects/read") == 2
    with pytest.raises(RequestFailedError, match="Project not found"):
        client.read_project(999)


def test_a_wrong_base_url_is_a_404_that_says_to_check_it(harness: Harness) -> None:
    client = harness.client(base_url=harness.server.root_url + "api/v1/")
    with pytest.raises(RequestFailedError, match="check the base URL") as caught:
        client.list_projects()
    assert caught.value.status_code == 404 and "Unknown API endpoint" in caught.value.errors[0]


def test_the_workflow_creates_missing_files_and_reports_build_errors(harness: Harness) -> None:
    from orchestrator.cloud.workflow import CloudWorkflow

    workflow = CloudWorkflow(harness.client())
    project = workflow.ensure_project("qcloop/H-010")
    assert workflow.ensure_project("/qcloop/H-010").projectId == project.projectId  # found by name
    assert harness.plan.calls("projects/create") == 1
    workflow.upload_file(project.projectId, "def helper():\n    return 2\n", "lib/extra.py")  # update fails: create
    workflow.upload_file(project.projectId, GOOD_MAIN + "import missing_module\n")
    assert harness.plan.calls("files/create") == 1
    with pytest.raises(RequestFailedError, match="empty"):  # the file exists: the failed update is the answer
        workflow.upload_file(project.projectId, "")
    with pytest.raises(CompileFailedError) as caught:
        workflow.compile(project.projectId)
    assert any("ModuleNotFoundError: No module named 'missing_module'" in line for line in caught.value.logs)


# -- every fault mode -----------------------------------------------------------------------------------


def test_429_is_retried_after_retry_after_even_for_create_calls(harness: Harness) -> None:
    harness.faults("projects/create", status(429, retry_after=2), 1, 2)
    project = harness.client().create_project("Rate limited")
    assert harness.plan.calls("projects/create") == 3
    assert harness.sleeps[:2] == [2.0, 2.0]
    assert [p.project_id for p in harness.backend.read_projects(harness.backend.user(USER_ID))] == [project.projectId]


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_5xx_on_reads_and_idempotent_writes_is_retried(harness: Harness, code: int) -> None:
    client = harness.client()
    project = client.create_project(f"Retry {code}")
    harness.faults("files/read", status(code), 1)
    harness.faults("files/update", status(code), 1, 2)
    assert len(client.list_files(project.projectId)) == 2
    client.update_file(project.projectId, "main.py", GOOD_MAIN)
    assert harness.plan.calls("files/read") == 2 and harness.plan.calls("files/update") == 3
    assert len(harness.sleeps) == 3


def test_5xx_on_a_create_call_is_not_retried_blindly(harness: Harness) -> None:
    harness.faults("projects/create", status(503), 1)
    with pytest.raises(OutcomeUnknownError):
        harness.client().create_project("Maybe created")
    assert harness.plan.calls("projects/create") == 1 and harness.sleeps == []


def test_a_lost_reply_to_a_create_call_is_reported_not_repeated(harness: Harness) -> None:
    harness.faults("projects/create", Fault(FaultKind.DROP_AFTER), 1)
    with pytest.raises(OutcomeUnknownError, match="may or may not have created it"):
        harness.client().create_project("qcloop/H-001/baseline/1")
    # The service did create it: exactly one, because the client did not repeat the call.
    names = [p.name for p in harness.backend.read_projects(harness.backend.user(USER_ID))]
    assert names == ["qcloop/H-001/baseline/1"]
    assert harness.plan.calls("projects/create") == 1


def test_dropped_connections_are_retried_on_reads_and_not_on_creates(harness: Harness) -> None:
    client = harness.client()
    project = client.create_project("Drops")
    harness.faults("projects/read", Fault(FaultKind.DROP), 1, 2)
    assert client.read_project(project.projectId).projectId == project.projectId
    assert harness.plan.calls("projects/read") == 3
    harness.faults("files/create", Fault(FaultKind.DROP), 1)
    with pytest.raises(OutcomeUnknownError):
        client.create_file(project.projectId, "x.py", "x = 1\n")
    assert harness.plan.calls("files/create") == 1


def test_slow_replies_time_out_and_reads_are_retried(harness: Harness) -> None:
    client = harness.client(timeout=0.3)
    project = client.create_project("Slow")
    harness.faults("projects/read", Fault(FaultKind.SLOW, seconds=0.8), 1)
    assert client.read_project(project.projectId).projectId == project.projectId
    assert harness.plan.calls("projects/read") == 2


def test_malformed_json_is_a_transport_error_and_an_unknown_outcome_for_creates(harness: Harness) -> None:
    client = harness.client()
    harness.faults("projects/read", Fault(FaultKind.MALFORMED), 1)
    with pytest.raises(TransportError, match="not JSON"):
        client.list_projects()
    harness.faults("projects/create", Fault(FaultKind.MALFORMED), 1)
    with pytest.raises(OutcomeUnknownError):
        client.create_project("Malformed")


def test_persistent_failures_give_up_after_the_policys_attempts(harness: Harness) -> None:
    harness.faults("projects/read", status(503), 1, 2, 3)
    with pytest.raises(RequestFailedError, match="HTTP 503"):
        harness.client(attempts=3).list_projects()
    assert harness.plan.calls("projects/read") == 3


def test_rate_limits_the_policy_will_not_wait_out_raise_rate_limited_errors(harness: Harness) -> None:
    harness.faults("authenticate", status(429, retry_after=300), 1)   # longer than max_retry_after (120 s)
    with pytest.raises(RateLimitedError) as caught:
        harness.client().authenticate()
    assert caught.value.retry_after == 300.0 and harness.sleeps == []
    assert harness.plan.calls("authenticate") == 1
    harness.faults("authenticate", status(429, retry_after=0), 2, 3, 4, 5)  # every attempt refused
    with pytest.raises(RateLimitedError):
        harness.client(attempts=4).authenticate()
    assert harness.plan.calls("authenticate") == 5 and harness.sleeps == [0.0, 0.0, 0.0]


def test_a_seeded_probabilistic_plan_is_survived_by_retries(harness: Harness) -> None:
    harness.plan.with_probability("files/read", status(503), 0.3)
    client = harness.client(attempts=10)
    project = client.create_project("Noisy")
    for _ in range(15):
        assert len(client.list_files(project.projectId)) == 2
    faulted = [entry for entry in harness.plan.log if entry[0] == "files/read"]
    assert faulted and harness.plan.calls("files/read") == 15 + len(faulted)


# -- the engine-backed endpoints ---------------------------------------------------------------------


def engine_project(client: QCClient, name: str = "E2E/Engine") -> tuple[int, str]:
    project = client.create_project(name)
    client.update_file(project.projectId, "main.py", WEIGHTED_SPY)
    built = client.wait_for_compile(project.projectId, client.create_compile(project.projectId).compileId)
    assert built.state.value == "BuildSuccess", built.logs
    return project.projectId, built.compileId


def test_backtests_through_the_client(engine_harness: Harness) -> None:
    client = engine_harness.client()
    pid, cid = engine_project(client)
    created = client.create_backtest(pid, cid, "qcloop/H-001/baseline/1", parameters={"weight": 0.5})
    assert created.completed is False
    # charts answer {"status": "loading"} until a read has shown the backtest finished: the client
    # keeps asking, and gives up at its deadline naming the last status
    with pytest.raises(WaitTimeoutError) as loading:
        client.read_backtest_chart(pid, created.backtestId, "Strategy Equity", end=2_000_000_000, timeout=3)
    assert loading.value.last_status == "loading"
    seen: list[tuple[float, str]] = []
    outcome = client.wait_for_backtest(pid, created.backtestId, progress=lambda f, s: seen.append((f, s)))
    backtest = outcome.backtest
    assert backtest.finished and not backtest.failed
    assert seen[0][1].startswith("Running") and seen[-1][1] == "Completed."
    metrics = backtest.metrics()
    assert metrics.total_orders is not None and metrics.total_orders >= 1
    assert backtest.parameterSet == {"weight": 0.5}
    summaries = client.list_backtests(pid, include_statistics=True)
    assert [s.backtestId for s in summaries] == [created.backtestId]
    assert summaries[0].trades == metrics.total_orders and summaries[0].sharpeRatio is not None
    orders = client.list_backtest_orders(pid, created.backtestId)
    assert len(orders) == metrics.total_orders
    chart = client.read_backtest_chart(pid, created.backtestId, "Strategy Equity", end=2_000_000_000)
    assert chart.series
    client.update_backtest(pid, created.backtestId, name="renamed", note="note")
    assert client.read_backtest(pid, created.backtestId).note == "note"
    client.delete_backtest(pid, created.backtestId)
    assert client.list_backtests(pid) == []


def test_optimizations_through_the_client(engine_harness: Harness) -> None:
    client = engine_harness.client()
    pid, cid = engine_project(client, "E2E/Optimize")
    grid = [OptimizationParameter(name="weight", min=0.5, max=1.0, step=0.5)]
    estimate = client.estimate_optimization(pid, cid, "opt", grid)
    assert estimate.time > 0
    summary = client.create_optimization(pid, cid, "opt", grid, estimated_cost=0.1, parallel_nodes=2,
                                         constraints=[OptimizationConstraint(
                                             target="TotalPerformance.PortfolioStatistics.Drawdown",
                                             operator="Less", targetValue=0.9)])
    finished = client.wait_for_optimization(summary.optimizationId)
    assert finished.status.value == "completed" and len(finished.backtests) == 2
    assert [o.optimizationId for o in client.list_optimizations(pid)] == [summary.optimizationId]
    with pytest.raises(RequestFailedError, match="cannot be aborted"):
        client.abort_optimization(summary.optimizationId)
    client.delete_optimization(summary.optimizationId)
    with pytest.raises(RequestFailedError):
        client.read_optimization(summary.optimizationId)
    running = client.create_optimization(pid, cid, "opt 2", grid, estimated_cost=0.1, parallel_nodes=2)
    client.abort_optimization(running.optimizationId)
    assert client.wait_for_optimization(running.optimizationId).status.value == "aborted"


def test_live_paper_trading_through_the_client(engine_harness: Harness) -> None:
    client = engine_harness.client()
    pid, cid = engine_project(client, "E2E/Live")
    deployment = client.create_live(pid, cid, "N-emulator-live", brokerage=PaperBrokerage())
    assert deployment.deployId.startswith("L-")
    wait: Callable[[], Any] = lambda: client.read_live(pid)  # noqa: E731
    live = wait()
    while live.status.value != "Running":
        live = wait()
    assert [s.deployId for s in client.list_live(project_id=pid)] == [deployment.deployId]
    portfolio = client.read_live_portfolio(pid)
    assert len(portfolio.holdings) == 1 and "USD" in portfolio.cash
    assert len(client.read_live_orders(pid)) >= 1
    client.liquidate_live(pid)
    assert client.read_live(pid).status.value == "Liquidated"
    assert client.read_live_portfolio(pid).holdings == {}
    again = client.create_live(pid, cid, "N-emulator-live")
    client.stop_live(pid)
    stopped = client.read_live(pid)
    assert (stopped.deployId, stopped.status.value) == (again.deployId, "Stopped")
    assert sorted(s.status.value for s in client.list_live(project_id=pid)) == ["Liquidated", "Stopped"]
    assert client.read_live(pid, deployment.deployId).status.value == "Liquidated"
    assert [s.deployId for s in client.list_live(status="Liquidated")] == [deployment.deployId]


def test_the_workflow_stays_exactly_once_when_create_replies_are_lost(engine_harness: Harness) -> None:
    from orchestrator.cloud.workflow import CloudWorkflow

    engine_harness.faults("projects/create", Fault(FaultKind.DROP_AFTER), 1)
    engine_harness.faults("backtests/create", Fault(FaultKind.DROP_AFTER), 1)
    engine_harness.faults("backtests/read", status(503), 2)
    workflow = CloudWorkflow(engine_harness.client())
    run = workflow.backtest_code("qcloop/H-007", WEIGHTED_SPY, "qcloop/H-007/baseline/1")
    assert run.metrics is not None and run.metrics.total_orders is not None
    user = engine_harness.backend.user(USER_ID)
    (project,) = engine_harness.backend.read_projects(user)
    assert project.name == "qcloop/H-007"
    assert [b.record.name for b in engine_harness.backend.list_backtests(user, project.project_id)] == [
        "qcloop/H-007/baseline/1"]
    assert engine_harness.plan.calls("projects/create") == 1 and engine_harness.plan.calls("backtests/create") == 1
    compiles = engine_harness.plan.calls("compile/create")
    again = workflow.backtest_code("qcloop/H-007", WEIGHTED_SPY, "qcloop/H-007/baseline/1")  # a resumed loop
    assert again.backtest.backtestId == run.backtest.backtestId and again.metrics == run.metrics
    assert engine_harness.plan.calls("backtests/create") == 1
    assert engine_harness.plan.calls("compile/create") == compiles  # reused by name: not even compiled


def test_a_failing_algorithm_ends_the_wait_without_metrics(engine_harness: Harness) -> None:
    from orchestrator.cloud.workflow import CloudWorkflow

    run = CloudWorkflow(engine_harness.client()).backtest_code("qcloop/H-008", RAISES, "qcloop/H-008/baseline/1")
    assert run.outcome.failed and run.metrics is None
    assert run.backtest.state.value == "Runtime Error" and "boom in on_data" in (run.backtest.error or "")


# -- coverage of the client's surface ------------------------------------------------------------------

# Methods these tests reach through another one: the paging, polling and download helpers call them.
REACHED_THROUGH = {"read_backtest_orders": "list_backtest_orders", "read_compile": "wait_for_compile",
                   "create_object_download": "get_object", "read_object_download": "get_object"}


def test_every_public_client_method_is_exercised_against_the_emulator_in_this_module() -> None:
    import inspect

    source = Path(__file__).read_text(encoding="utf-8")
    methods = [name for name, _ in inspect.getmembers(QCClient, inspect.isfunction) if not name.startswith("_")]
    assert len(methods) >= 40
    unexercised = [name for name in methods if f".{REACHED_THROUGH.get(name, name)}(" not in source]
    assert unexercised == [], f"QCClient methods without a test over a real socket here: {unexercised}"
