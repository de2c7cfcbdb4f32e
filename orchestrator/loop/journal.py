"""Writing a hypothesis's progress: intermediate saves, and steps that end in exactly one git commit.

A step is written in this order, so that a crash at any instant leaves something the next run can
finish (DESIGN.md §3, §6):

1. the step's artifacts (``runs/<id>/...``), each atomically;
2. the state file, with ``seq`` + 1 and ``last_step`` describing the commit it owes;
3. the commit of exactly those files.

A run that starts and finds a state whose ``last_step.seq`` git has not seen makes that commit first
(``recover_owed_commits``). Ctrl-C between 2 and 3 is deferred until the commit is made, so an
interrupted run normally owes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Protocol

from orchestrator.ledger import Ledger
from orchestrator.models import Decision, HypothesisState, Step, StepRecord
from orchestrator.store import Store


class Books(Protocol):
    """What writing steps needs (a LoopContext has it; so does ``Bookkeeping`` for approve/retry)."""

    @property
    def store(self) -> Store: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def clock(self) -> Callable[[], dt.datetime]: ...
    @property
    def checkpoint(self) -> Callable[[str], None]: ...
    @property
    def say(self) -> Callable[[str], None]: ...

TRAILER_ORDER = (
    "Hypothesis", "Stage", "Step", "Attempt", "Family", "Decision", "Rules", "Sharpe", "Trades",
    "Backtest-Id", "Optimization-Id", "Run-Id", "Notebook", "Trials", "Family-Trials",
    "Trials-Sharpe-Variance", "Deflated-Sharpe", "Parameters", "Reason",
)


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block is done, then raise it; a no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, remember)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def save(ctx: Books, state: HypothesisState) -> HypothesisState:
    """Write an intermediate state (an intent, a remote id, a waiting update): no commit."""
    return ctx.store.save(state, expected_revision=state.revision if ctx.store.exists(state.id) else None)


def decision_trailers(decision: Decision) -> list[tuple[str, str]]:
    trailers = [("Decision", decision.action.value), ("Rules", decision.rules)]
    if decision.overrides:
        overrides = ", ".join(f"{k}={v:g}" for k, v in sorted(decision.overrides.items()))
        trailers[-1] = ("Rules", f"{decision.rules} ({overrides})")
    return trailers


def trial_trailers(state: HypothesisState) -> list[tuple[str, str]]:
    stats = state.trial_stats
    if stats is None:
        return []
    trailers = [
        ("Trials", str(stats.hypothesis_trials)),
        ("Family-Trials", str(stats.family_trials)),
        ("Trials-Sharpe-Variance", f"{stats.sharpe_variance:.4f}"),
    ]
    if stats.deflated_sharpe is not None:
        trailers.append(("Deflated-Sharpe", f"{stats.deflated_sharpe:.4f}"))
    return trailers


def _ordered(trailers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: dict[str, str] = {}
    for key, value in trailers:
        merged[key] = value
    rank = {key: index for index, key in enumerate(TRAILER_ORDER)}
    return sorted(merged.items(), key=lambda item: rank.get(item[0], len(rank)))


def commit_step(
    ctx: Books, state: HypothesisState, *, step: Step, subject: str,
    trailers: Sequence[tuple[str, str]] = (), files: Sequence[str] = (), body: str = "",
) -> HypothesisState:
    """Write ``state`` as step ``seq + 1`` and commit it with ``files``; returns the written state."""
    seq = state.seq + 1
    record = StepRecord(
        seq=seq, step=step, subject=f"{state.id} {step.value}: {subject}",
        trailers=_ordered([
            ("Hypothesis", state.id), ("Stage", step.value), ("Step", str(seq)), ("Attempt", str(state.attempt)),
            ("Family", state.family), *trailers,
        ]),
        files=sorted({ctx.store.relpath(state.id), *files}), body=body, at=ctx.clock(),
    )
    pending = state.model_copy(update={"seq": seq, "last_step": record})
    with ctx.store.writing(), deferred_interrupt():
        written = save(ctx, pending)
        ctx.checkpoint("step:saved")
        ctx.ledger.commit(record.subject, record.trailers, record.files, body=record.body)
        ctx.checkpoint("step:committed")
    ctx.say(f"  {record.subject}")
    return written


def recover_owed_commits(ctx: Books) -> list[str]:
    """Make the commits that a killed run wrote into state files but did not reach git; returns subjects."""
    ctx.ledger.wait_for_index_lock()
    committed = ctx.ledger.committed_seqs()
    made = []
    with ctx.store.writing():
        for state in ctx.store.load_all():
            record = state.last_step
            if record is None or record.seq <= committed.get(state.id, 0):
                continue
            ctx.ledger.commit(record.subject, record.trailers, record.files, body=record.body)
            made.append(record.subject)
    return made
