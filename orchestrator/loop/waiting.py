"""Waits: for a remote job (a backtest running in the cloud) or for a person (a notebook to run, an
approval to give). Every wait has a timeout, a growing interval between checks, reminders, and says
what it waits for and what the person should do (DESIGN.md §3: never wait blindly).
"""

from __future__ import annotations

import datetime as dt

from orchestrator.loop.context import LoopContext
from orchestrator.loop.journal import save
from orchestrator.models import HypothesisState, Waiting

MACHINE_FIRST_SECONDS = 1.0
MACHINE_MAX_SECONDS = 30.0
BACKOFF = 1.6


def machine_wait(ctx: LoopContext, state: HypothesisState, what: str) -> Waiting:
    """Waiting for a remote job; a wait for the same job (``what`` up to its " (progress)") keeps its
    start and deadline and backs off further."""
    now = ctx.clock()
    current = state.waiting
    same_job = current is not None and not current.for_person and \
        current.what.partition(" (")[0] == what.partition(" (")[0]
    previous = current if same_job else None
    interval = MACHINE_FIRST_SECONDS if previous is None else min(previous.interval_seconds * BACKOFF,
                                                                  MACHINE_MAX_SECONDS)
    timeout = ctx.settings.cloud.backtest_timeout_seconds
    return Waiting(
        for_person=False, what=what, since=previous.since if previous else now,
        next_check_at=now + dt.timedelta(seconds=interval), interval_seconds=interval,
        deadline=previous.deadline if previous else now + dt.timedelta(seconds=timeout),
    )


def person_wait(
    ctx: LoopContext, state: HypothesisState, what: str, instructions: list[str], url: str | None = None,
) -> Waiting:
    """Waiting for a person: first check soon, then back off to notebooks.poll_max_seconds."""
    now = ctx.clock()
    settings = ctx.settings.notebooks
    previous = state.waiting if state.waiting is not None and state.waiting.what == what else None
    if previous is None:
        return Waiting(
            for_person=True, what=what, instructions=instructions, url=url, since=now,
            next_check_at=now + dt.timedelta(seconds=settings.poll_initial_seconds),
            interval_seconds=settings.poll_initial_seconds,
            deadline=now + dt.timedelta(hours=settings.wait_timeout_hours),
        )
    interval = min(previous.interval_seconds * BACKOFF, settings.poll_max_seconds)
    return previous.model_copy(update={
        "instructions": instructions, "url": url, "interval_seconds": interval,
        "next_check_at": now + dt.timedelta(seconds=interval),
    })


def expired(ctx: LoopContext, waiting: Waiting) -> bool:
    return waiting.deadline is not None and ctx.clock() >= waiting.deadline


def remind_if_due(ctx: LoopContext, state: HypothesisState, waiting: Waiting) -> Waiting:
    """Notify when a person wait starts, and again every notebooks.remind_every_minutes."""
    if not waiting.for_person:
        return waiting
    now = ctx.clock()
    every = dt.timedelta(minutes=ctx.settings.notebooks.remind_every_minutes)
    if waiting.notified and waiting.last_reminded_at is not None and now - waiting.last_reminded_at < every:
        return waiting
    reminder = waiting.notified
    title = f"qcloop: {state.id} {'still ' if reminder else ''}waits for you"
    message = "\n".join([waiting.what, *waiting.instructions])
    ctx.notifier.notify(title, message)
    if reminder:
        ctx.say(f"  reminder: {state.id} still waits for {waiting.what}")
    return waiting.model_copy(update={
        "notified": True, "last_reminded_at": now, "reminders": waiting.reminders + (1 if reminder else 0),
    })


def announce(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    """Print what a person is asked to do (the first time a wait starts) and notify; saves the state."""
    waiting = state.waiting
    if waiting is None or not waiting.for_person:
        return state
    ctx.say(f"  {state.id} waits for you: {waiting.what}")
    for line in waiting.instructions:
        ctx.say(f"    {line}")
    return save(ctx, state.model_copy(update={"waiting": remind_if_due(ctx, state, waiting)}))


def describe(waiting: Waiting, now: dt.datetime) -> str:
    """One line for progress displays and status: what, for how long, next check."""
    waited = _span((now - waiting.since).total_seconds())
    nxt = max(0.0, (waiting.next_check_at - now).total_seconds())
    who = "you" if waiting.for_person else "the platform"
    return f"waiting {waited} for {who}: {waiting.what} (next check in {_span(nxt)})"


def _span(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds}s"
    if seconds < 5400:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
