"""Waiting: the lean CLI's polling schedule, the finished rule for backtests, timeouts, progress."""

from __future__ import annotations

import itertools
import logging

import pytest

from orchestrator.cloud.client import QCClient
from orchestrator.cloud.polling import FINAL_DELAY, poll_delays
from orchestrator.cloud.schemas import CompileState, OptimizationStatus
from orchestrator.errors import WaitTimeoutError

from . import payloads as p
from .fakes import FakeClock, Reply, ScriptedAdapter, ok

PROJECT = p.PROJECT_ID


def compile_reply(state: str) -> Reply:
    return ok(compileId=p.COMPILE_ID, state=state, logs=["Build Request Successful"])


def backtest_reply(backtest: dict[str, object]) -> Reply:
    return ok(backtest=backtest, debugging=False)


def test_poll_delays_follow_the_lean_cli_schedule() -> None:
    delays = list(itertools.islice(poll_delays(), 80))
    # qc-api.md §4: 0.25 s x4, 1 s x9, 2 s x10, 5 s x54, then 10 s
    assert delays[:77] == [0.25] * 4 + [1.0] * 9 + [2.0] * 10 + [5.0] * 54
    assert delays[77:] == [FINAL_DELAY] * 3 and FINAL_DELAY == 10.0


def test_wait_for_compile_polls_fast_and_reports_progress(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    adapter.add("compile/read", *[compile_reply("InQueue")] * 3, compile_reply("BuildSuccess"))
    seen: list[tuple[float, str]] = []
    result = client.wait_for_compile(PROJECT, p.COMPILE_ID, progress=lambda f, s: seen.append((f, s)))
    assert result.state is CompileState.BUILD_SUCCESS
    assert clock.sleeps == [0.25, 0.25, 0.25]
    assert seen == [(0.0, "InQueue")] * 3 + [(1.0, "BuildSuccess")]
    assert adapter.last("compile/read").json() == {"projectId": PROJECT, "compileId": p.COMPILE_ID}


def test_a_build_error_ends_the_compile_wait(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("compile/read", compile_reply("BuildError"))
    assert client.wait_for_compile(PROJECT, p.COMPILE_ID).state is CompileState.BUILD_ERROR


def test_wait_for_backtest_backs_off_by_the_schedule(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    adapter.add("backtests/read", *[backtest_reply(p.backtest_running())] * 15,
                backtest_reply(p.backtest_finished()))
    outcome = client.wait_for_backtest(PROJECT, p.BACKTEST_ID)
    assert outcome.backtest.finished and not outcome.failed and not outcome.total_performance_missing
    assert clock.sleeps == [0.25] * 4 + [1.0] * 9 + [2.0] * 2


def test_completed_without_statistics_keeps_waiting(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    adapter.add("backtests/read", backtest_reply(p.backtest_completed_without_results()),
                backtest_reply(p.backtest_finished(statistics=[])),
                backtest_reply(p.backtest_finished()))
    outcome = client.wait_for_backtest(PROJECT, p.BACKTEST_ID)
    assert outcome.backtest.statistics is not None and len(adapter.sent) == 3


def test_a_failed_backtest_ends_the_wait_at_once(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("backtests/read", backtest_reply(p.backtest_runtime_error()))
    outcome = client.wait_for_backtest(PROJECT, p.BACKTEST_ID)
    assert outcome.failed and outcome.warning is None


def test_missing_total_performance_is_rechecked_a_bounded_number_of_times(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock, caplog: pytest.LogCaptureFixture,
) -> None:
    adapter.add("backtests/read", *[backtest_reply(p.backtest_finished(totalPerformance=None))] * 7)
    with caplog.at_level(logging.WARNING, logger="orchestrator.cloud"):
        outcome = client.wait_for_backtest(PROJECT, p.BACKTEST_ID)
    # like the lean CLI: 6 rechecks 10 s apart, then give up with a warning instead of hanging
    assert clock.sleeps == [10.0] * 6
    assert outcome.total_performance_missing and not outcome.failed
    assert outcome.warning is not None and "totalPerformance" in outcome.warning
    assert any("totalPerformance" in record.getMessage() for record in caplog.records)


def test_total_performance_arriving_during_the_rechecks_completes_normally(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    adapter.add("backtests/read", *[backtest_reply(p.backtest_finished(totalPerformance=None))] * 2,
                backtest_reply(p.backtest_finished()))
    outcome = client.wait_for_backtest(PROJECT, p.BACKTEST_ID)
    assert clock.sleeps == [10.0, 10.0] and not outcome.total_performance_missing


def test_the_backtest_wait_times_out_with_the_last_status(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    adapter.add("backtests/read", *[backtest_reply(p.backtest_running(0.45))] * 24)
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait_for_backtest(PROJECT, p.BACKTEST_ID, timeout=30)
    # 4 x 0.25 + 9 x 1 + 10 x 2 = 30 s of sleeps, then one last poll at the deadline
    assert clock.sleeps == [0.25] * 4 + [1.0] * 9 + [2.0] * 10
    assert len(adapter.sent) == 24
    assert caught.value.waited_seconds == 30 and caught.value.last_status == "Running: 45%"
    assert p.BACKTEST_ID in str(caught.value) and "30 s" in str(caught.value)


def test_the_last_sleep_is_shortened_to_poll_exactly_at_the_deadline(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    adapter.add("backtests/read", *[backtest_reply(p.backtest_running())] * 9)
    with pytest.raises(WaitTimeoutError):
        client.wait_for_backtest(PROJECT, p.BACKTEST_ID, timeout=4.5)
    # 0.25 x4 -> t=1; 1 s x3 -> t=4; then only 0.5 s remain
    assert clock.sleeps == [0.25] * 4 + [1.0] * 3 + [0.5]
    assert sum(clock.sleeps) == 4.5


def test_backtest_progress_reports_fraction_and_status(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("backtests/read", backtest_reply(p.backtest_queued()), backtest_reply(p.backtest_running(0.45)),
                backtest_reply(p.backtest_finished()))
    seen: list[tuple[float, str]] = []
    client.wait_for_backtest(PROJECT, p.BACKTEST_ID, progress=lambda f, s: seen.append((f, s)))
    assert seen == [(0.0, "In Queue..."), (0.45, "Running: 45%"), (1.0, "Completed.")]


def test_wait_for_optimization_until_a_final_status(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    running = {"Completed": "3", "Failed": "1", "Running": "2", "In Queue": "2", "Total": "8"}
    adapter.add("optimizations/read", ok(optimization=p.optimization("new")),
                ok(optimization=p.optimization("running", runtime=running)),
                ok(optimization=p.optimization("completed", backtests=p.optimization_backtests())))
    seen: list[tuple[float, str]] = []
    result = client.wait_for_optimization(p.OPTIMIZATION_ID, progress=lambda f, s: seen.append((f, s)))
    assert result.status is OptimizationStatus.COMPLETED and len(result.backtests) == 3
    assert seen == [(0.0, "new"), (0.5, "running"), (1.0, "completed")]   # (3 + 1) / 8 = 0.5
    assert clock.sleeps == [0.25, 0.25]


def test_the_optimization_wait_times_out(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("optimizations/read", *[ok(optimization=p.optimization("running"))] * 6)
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait_for_optimization(p.OPTIMIZATION_ID, timeout=1.0)
    assert caught.value.last_status == "running"
