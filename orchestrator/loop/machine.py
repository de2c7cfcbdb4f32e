"""The state machine: the stage function of each stage, where a retry resumes, and failure handling.

The transition table itself is ``models.TRANSITIONS`` (the store refuses any other change of stage).
``advance(ctx, state)`` runs the function of the hypothesis's stage once. What a stage raises decides
what happens next:

- ``StageFailure``: the hypothesis goes to FAILED with the reason, the evidence and the retry command
  (one commit: ``H-007 fail: ...``);
- ``QuotaExhausted``: it waits (no commit) until the quota resets;
- ``BudgetError``: it waits for `qcloop approve` (announced and notified once, then reminded);
- a ``CloudError`` (the service or the connection failed): it waits and tries again with backoff (a
  person's wait in progress is kept as it is); the next attempt reconciles by name, so nothing is
  duplicated; errors that last past the wait's deadline fail the hypothesis. An
  ``AuthenticationError`` stops the run instead: no hypothesis can move until the credentials work;
- ``StateConflictError``: another command changed the file; the next pass re-reads it;
- anything else propagates (a bug: the error boundary logs it; the state on disk is consistent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from orchestrator.errors import AuthenticationError, BudgetError, CloudError
from orchestrator.loop import stages
from orchestrator.loop.context import LoopContext
from orchestrator.loop.effects import QuotaExhausted, StageFailure
from orchestrator.loop.journal import commit_step, save
from orchestrator.loop.waiting import announce, expired, machine_wait, person_wait, remind_if_due
from orchestrator.models import Failure, HypothesisState, Stage, Step, Waiting
from orchestrator.store import StateConflictError

log = logging.getLogger(__name__)

StageFunction = Callable[[LoopContext, HypothesisState], HypothesisState]

# The function that moves a hypothesis out of each working stage.
STAGE_FUNCTIONS: dict[Stage, StageFunction] = {
    Stage.PROPOSED: stages.generate,
    Stage.GENERATED: stages.start_baseline,
    Stage.BASELINE: stages.finish_baseline,
    Stage.OPTIMIZING: stages.start_search,
    Stage.VALIDATING: stages.start_validation,
    Stage.AWAITING_RESULTS: stages.collect_results,
}

# Where `qcloop retry` resumes a hypothesis that failed in a stage (unless the failure says otherwise).
RETRY_FROM: dict[Stage, Stage] = {
    Stage.PROPOSED: Stage.PROPOSED,
    Stage.GENERATED: Stage.GENERATED,
    Stage.BASELINE: Stage.GENERATED,
    Stage.OPTIMIZING: Stage.OPTIMIZING,
    Stage.VALIDATING: Stage.VALIDATING,
    Stage.AWAITING_RESULTS: Stage.OPTIMIZING,
}


ERROR_WAIT = "the platform after an error"
APPROVAL_WAIT = "an approval of the paid optimization"


def advance(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    """Run the stage function of ``state`` once; returns the state as it is on disk afterwards."""
    function = STAGE_FUNCTIONS.get(state.stage)
    if function is None:
        return state
    try:
        return function(ctx, state)
    except StageFailure as failure:
        return fail(ctx, _on_disk(ctx, state), failure)
    except QuotaExhausted as quota:
        waiting = Waiting(for_person=False, what=quota.what, next_check_at=quota.until,
                          interval_seconds=(quota.until - ctx.clock()).total_seconds(), since=ctx.clock())
        return save(ctx, _on_disk(ctx, state).model_copy(update={"waiting": waiting}))
    except BudgetError as budget:
        return _await_approval(ctx, _on_disk(ctx, state), budget)
    except StateConflictError as conflict:
        log.info("%s: %s; re-reading", state.id, conflict)
        return ctx.store.load(state.id)
    except AuthenticationError:
        raise  # every hypothesis would fail alike: stop the run, the message says how to fix the credentials
    except CloudError as error:
        return _retry_later(ctx, _on_disk(ctx, state), error)


def _on_disk(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    """The state as the store has it (a stage may have failed before writing anything)."""
    return ctx.store.load(state.id) if ctx.store.exists(state.id) else state


def _retry_later(ctx: LoopContext, state: HypothesisState, error: CloudError) -> HypothesisState:
    """Try again with backoff after a platform error (the next try reconciles by name).

    A person's wait in progress stays what it is (the instructions, the deadline): the person still has
    to do their part. Past the wait's deadline the hypothesis fails with the error as evidence.
    """
    previous = state.waiting
    if previous is not None and (previous.for_person or previous.what.startswith(ERROR_WAIT)) \
            and expired(ctx, previous):
        reason = (f"gave up waiting for {previous.what} at its deadline" if previous.for_person else
                  f"the platform kept failing since {previous.since:%Y-%m-%d %H:%M} UTC")
        return fail(ctx, state, StageFailure(f"{reason}: {error.message}", evidence=str(error)))
    if previous is not None and previous.for_person:
        waiting = person_wait(ctx, state, previous.what, list(previous.instructions), previous.url)
    else:
        waiting = machine_wait(ctx, state, f"{ERROR_WAIT} ({error.message})")
    ctx.say(f"  {state.id}: {error}; trying again in {waiting.interval_seconds:.0f}s")
    return save(ctx, state.model_copy(update={"waiting": waiting}))


def _await_approval(ctx: LoopContext, state: HypothesisState, budget: BudgetError) -> HypothesisState:
    """Wait for `qcloop approve`: say so (and notify) when the wait starts, remind, give up at the deadline."""
    previous = state.waiting
    if previous is not None and previous.what == APPROVAL_WAIT and expired(ctx, previous):
        hours = ctx.settings.notebooks.wait_timeout_hours
        return fail(ctx, state, StageFailure(
            f"nobody approved the paid optimization within {hours:g} h", resume=Stage.OPTIMIZING.value,
            evidence=f"approve it with `qcloop approve {state.id}` after `qcloop retry {state.id}`, or set "
                     "budget.money_usd: 0 to use the free notebook sweep"))
    waiting = person_wait(ctx, state, APPROVAL_WAIT,
                          [str(budget), f"Approve it: qcloop approve {state.id}",
                           "Or use the free notebook sweep: set budget.money_usd: 0 in qcloop.yaml"])
    state = state.model_copy(update={
        "waiting": waiting, "pending_cost_usd": budget.details.get("estimate", state.pending_cost_usd),
    })
    if previous is None or previous.what != APPROVAL_WAIT:
        return announce(ctx, state)
    return save(ctx, state.model_copy(update={"waiting": remind_if_due(ctx, state, waiting)}))


def retry_stage(state: HypothesisState) -> Stage:
    """Where `qcloop retry` resumes a hypothesis that failed in its current stage."""
    if state.stage is Stage.AWAITING_RESULTS and state.awaiting is Step.VALIDATE:
        return Stage.VALIDATING
    return RETRY_FROM.get(state.stage, Stage.PROPOSED)


def fail(ctx: LoopContext, state: HypothesisState, failure: StageFailure) -> HypothesisState:
    """Move ``state`` to FAILED with the reason, the evidence and how to retry (one commit)."""
    resume = Stage(failure.resume) if failure.resume else retry_stage(state)
    record = Failure(stage=state.stage, reason=failure.reason, evidence=failure.evidence[-20_000:],
                     retry=f"qcloop retry {state.id}", resume=resume, at=ctx.clock())
    failed = state.model_copy(update={"stage": Stage.FAILED, "failure": record, "waiting": None, "awaiting": None})
    ctx.say(f"  {state.id} FAILED: {failure.reason}")
    return commit_step(
        ctx, failed, step=Step.FAIL, subject=f"{failure.reason} (in {state.stage.value})",
        trailers=[("Reason", failure.reason)], files=failure.files,
        body=f"Retry with: qcloop retry {state.id}\n\n{failure.evidence[-4000:]}".rstrip(),
    )
