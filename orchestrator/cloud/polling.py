"""Waiting for compiles, backtests and optimizations: adaptive polling with a deadline.

The schedule copies the ``lean`` CLI's (``reference/qc-api.md`` §4): after each unfinished poll it
sleeps 0.25 s four times, then 1 s nine times, 2 s ten times, 5 s fifty-four times, then 10 s for as
long as it takes. Fast at first because compiles take seconds; patient later because backtests can
take an hour. Unlike the CLI, every wait has an overall timeout and raises ``WaitTimeoutError`` when
it passes (DESIGN.md §3: never wait blindly), and reports progress to a callback.

A backtest counts as finished only when it failed (``error``/``stacktrace``) or when ``completed`` is
true *and* ``statistics`` (a dict, not the ``[]`` of a running backtest), ``runtimeStatistics`` and
``totalPerformance`` are all present: ``completed`` can arrive before the statistics (DESIGN.md §8).
When only ``totalPerformance`` is missing, the wait rechecks a bounded number of times (the CLI does
6 rechecks 10 s apart) and then returns the backtest with ``total_performance_missing=True`` and a
logged warning rather than hanging.

The clock and sleep are injectable so that tests run instantly.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from orchestrator.cloud.schemas import Backtest, Compile, Optimization
from orchestrator.errors import WaitTimeoutError

log = logging.getLogger(__name__)

# (delay in seconds, how many polls it follows), then FINAL_DELAY forever
POLL_SCHEDULE: tuple[tuple[float, int], ...] = ((0.25, 4), (1.0, 9), (2.0, 10), (5.0, 54))
FINAL_DELAY = 10.0

DEFAULT_COMPILE_TIMEOUT = 600.0
DEFAULT_BACKTEST_TIMEOUT = 3 * 3600.0
DEFAULT_OPTIMIZATION_TIMEOUT = 24 * 3600.0
TOTAL_PERFORMANCE_RECHECKS = 6
TOTAL_PERFORMANCE_RECHECK_DELAY = 10.0

ProgressCallback = Callable[[float, str], None]
"""Called after every poll with (fraction done in [0, 1], the status text)."""

Sleep = Callable[[float], None]
Clock = Callable[[], float]
T = TypeVar("T")


class PollingClient(Protocol):
    """What the waits need from ``QCClient`` (so that tests may pass a stand-in)."""

    def read_compile(self, project_id: int, compile_id: str) -> Compile: ...
    def read_backtest(self, project_id: int, backtest_id: str) -> Backtest: ...
    def read_optimization(self, optimization_id: str) -> Optimization: ...


def poll_delays() -> Iterator[float]:
    """The sleeps between polls: the lean CLI's schedule, then ``FINAL_DELAY`` forever."""
    for delay, count in POLL_SCHEDULE:
        yield from itertools.repeat(delay, count)
    yield from itertools.repeat(FINAL_DELAY)


@dataclass(frozen=True)
class BacktestOutcome:
    """How a backtest wait ended. ``backtest`` is the last state read."""

    backtest: Backtest
    total_performance_missing: bool = False

    @property
    def failed(self) -> bool:
        return self.backtest.failed

    @property
    def warning(self) -> str | None:
        if not self.total_performance_missing:
            return None
        return (f"backtest {self.backtest.backtestId} completed but QuantConnect did not deliver its "
                "totalPerformance; metrics that need it (profit factor, closed trades) are missing")


class Deadline:
    """An overall timeout measured on an injectable clock."""

    def __init__(self, timeout: float, clock: Clock) -> None:
        self._clock = clock
        self.started = clock()
        self.timeout = timeout

    @property
    def elapsed(self) -> float:
        return self._clock() - self.started

    @property
    def remaining(self) -> float:
        return self.timeout - self.elapsed


def poll_until(
    read: Callable[[], T],
    done: Callable[[T], bool],
    *,
    what: str,
    timeout: float,
    describe: Callable[[T], tuple[float, str]],
    progress: ProgressCallback | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.time,
    delay: Callable[[T], float] | None = None,
) -> T:
    """Call ``read`` until ``done`` holds, sleeping by the schedule; ``WaitTimeoutError`` at the deadline.

    ``delay(value)`` may choose the sleep after an unfinished ``value`` (default: the schedule). The
    last sleep is shortened so that one final poll happens exactly at the deadline.
    """
    deadline = Deadline(timeout, clock)
    schedule = poll_delays()
    while True:
        value = read()
        fraction, status = describe(value)
        if progress is not None:
            progress(fraction, status)
        if done(value):
            return value
        pause = delay(value) if delay is not None else next(schedule)
        remaining = deadline.remaining
        if remaining <= 0:
            raise WaitTimeoutError(what, waited_seconds=deadline.elapsed, last_status=status)
        sleep(min(pause, remaining))


# --------------------------------------------------------------------------------------------------
# compile


def _describe_compile(compile_: Compile) -> tuple[float, str]:
    return (1.0 if compile_.finished else 0.0), compile_.state.value


def wait_for_compile(
    client: PollingClient,
    project_id: int,
    compile_id: str,
    *,
    timeout: float = DEFAULT_COMPILE_TIMEOUT,
    progress: ProgressCallback | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.time,
) -> Compile:
    """Poll ``compile/read`` until ``BuildSuccess`` or ``BuildError``; return the last ``Compile``."""
    return poll_until(
        lambda: client.read_compile(project_id, compile_id), lambda c: c.finished,
        what=f"compile {compile_id} of project {project_id}", timeout=timeout,
        describe=_describe_compile, progress=progress, sleep=sleep, clock=clock,
    )


# --------------------------------------------------------------------------------------------------
# backtest


def _describe_backtest(backtest: Backtest) -> tuple[float, str]:
    fraction = 1.0 if backtest.completed else max(0.0, min(1.0, backtest.progress))
    return fraction, backtest.status or backtest.state.value


def wait_for_backtest(
    client: PollingClient,
    project_id: int,
    backtest_id: str,
    *,
    timeout: float = DEFAULT_BACKTEST_TIMEOUT,
    progress: ProgressCallback | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.time,
    total_performance_rechecks: int = TOTAL_PERFORMANCE_RECHECKS,
    recheck_delay: float = TOTAL_PERFORMANCE_RECHECK_DELAY,
) -> BacktestOutcome:
    """Poll ``backtests/read`` until the backtest has finished (see the module docstring)."""
    schedule = poll_delays()
    rechecks = 0

    def done(backtest: Backtest) -> bool:
        nonlocal rechecks
        if backtest.finished or not backtest.results_ready:
            return backtest.finished
        rechecks += 1  # only totalPerformance is missing: recheck a bounded number of times
        return rechecks > total_performance_rechecks

    def delay(backtest: Backtest) -> float:
        return recheck_delay if backtest.results_ready else next(schedule)

    backtest = poll_until(
        lambda: client.read_backtest(project_id, backtest_id), done,
        what=f"backtest {backtest_id} of project {project_id}", timeout=timeout,
        describe=_describe_backtest, progress=progress, sleep=sleep, clock=clock, delay=delay,
    )
    outcome = BacktestOutcome(backtest, total_performance_missing=not backtest.finished)
    if outcome.warning:
        log.warning("%s", outcome.warning)
    return outcome


# --------------------------------------------------------------------------------------------------
# optimization


def _describe_optimization(optimization: Optimization) -> tuple[float, str]:
    fraction = optimization.progress
    if optimization.status.finished:
        fraction = 1.0
    return (fraction if fraction is not None else 0.0), optimization.status.value


def wait_for_optimization(
    client: PollingClient,
    optimization_id: str,
    *,
    timeout: float = DEFAULT_OPTIMIZATION_TIMEOUT,
    progress: ProgressCallback | None = None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.time,
) -> Optimization:
    """Poll ``optimizations/read`` until the status is final (not new, running or active)."""
    return poll_until(
        lambda: client.read_optimization(optimization_id), lambda o: o.status.finished,
        what=f"optimization {optimization_id}", timeout=timeout,
        describe=_describe_optimization, progress=progress, sleep=sleep, clock=clock,
    )
