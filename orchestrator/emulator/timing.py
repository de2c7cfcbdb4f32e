"""When a job (compile, backtest, optimization, download, live replay) *looks* finished to a client.

The engine runs each job in a background thread as fast as it can. What a client sees is decided
separately, so that tests can pin down a lifecycle without sleeping:

- ``Timing.real()``: the truth: queued until a worker takes the job, then the engine's own progress.
- ``Timing.immediate()``: the first read after create shows the finished job (the read waits for the
  engine if it is still running).
- ``Timing.after_polls(n)``: reads 1..n-1 show the job running (progress k/n), read n shows it finished.
- ``Timing.after_seconds(s)``: running until ``s`` seconds after create (progress elapsed/s), then finished.

In every mode the create response itself shows the queued state, as the service does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

# How long a read that must show a finished job waits for the engine before it gives up and shows
# the job as still running (a slow machine must not turn into a hung HTTP request).
RELEASE_WAIT_SECONDS = 600.0


class TimingKind(StrEnum):
    REAL = "real"
    IMMEDIATE = "immediate"
    POLLS = "polls"
    SECONDS = "seconds"


@dataclass(frozen=True)
class Timing:
    kind: TimingKind = TimingKind.REAL
    value: float = 0.0

    @classmethod
    def real(cls) -> Timing:
        return cls(TimingKind.REAL)

    @classmethod
    def immediate(cls) -> Timing:
        return cls(TimingKind.IMMEDIATE)

    @classmethod
    def after_polls(cls, polls: int) -> Timing:
        if polls < 1:
            raise ValueError("after_polls needs at least 1 poll")
        return cls(TimingKind.POLLS, float(polls))

    @classmethod
    def after_seconds(cls, seconds: float) -> Timing:
        if seconds < 0:
            raise ValueError("after_seconds needs a duration >= 0")
        return cls(TimingKind.SECONDS, float(seconds))

    def describe(self) -> str:
        if self.kind is TimingKind.POLLS:
            return f"finished on read {int(self.value)}"
        if self.kind is TimingKind.SECONDS:
            return f"finished {self.value:g} s after create"
        return {"real": "as fast as the engine runs", "immediate": "finished on the first read"}[self.kind.value]


@dataclass(frozen=True)
class View:
    """What one read shows: finished or not, and the progress fraction to report while not."""

    finished: bool
    progress: float


class Gate:
    """The release rule of one job: counts its reads and knows when it was created."""

    def __init__(self, timing: Timing, clock: Callable[[], float], done: threading.Event) -> None:
        self.timing = timing
        self.clock = clock
        self.created = clock()
        self.done = done

    def observe(self, reads: int, engine_progress: float) -> View:
        """The view for read number ``reads`` (1-based), given the engine's progress so far."""
        kind = self.timing.kind
        if kind is TimingKind.REAL:
            if self.done.is_set():
                return View(True, 1.0)
            return View(False, engine_progress)
        if kind is TimingKind.IMMEDIATE:
            released, fraction = True, 1.0
        elif kind is TimingKind.POLLS:
            released, fraction = reads >= self.timing.value, reads / self.timing.value
        else:
            elapsed = self.clock() - self.created
            span = self.timing.value
            released = elapsed >= span
            fraction = 1.0 if span == 0 else elapsed / span
        if not released:
            return View(False, min(fraction, 0.99))
        if self.done.wait(RELEASE_WAIT_SECONDS):
            return View(True, 1.0)
        return View(False, min(engine_progress, 0.99))
