"""The state machine: the stage function of each stage, where a retry resumes, and failure handling.

The transition table itself is ``models.TRANSITIONS`` (the store refuses any other change of stage).
``advance(ctx, state)`` runs the function of the hypothesis's stage once. What a stage raises decides
what happens next:

- ``StageFailure``: the hypothesis goes to FAILED with the reason, the evidence and the retry command
  (one commit: ``H-007 fail: ...``);
- ``QuotaExhausted``: it waits (no commit) until the quota resets;
- a ``CloudError`` (the service or the connection failed): it waits and tries again with backoff; the
  next attempt reconciles by name, so nothing is duplicated;
- ``StateConflictError``: another command changed the file; the next pass re-reads it;
- anything else propagates (a bug: the error boundary logs it; the state on disk is consistent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from orchestrator.errors import BudgetError, CloudError
from orchestrator.loop import stages
from orchestrator.loop.context import LoopContext
from orchestrator.loop.effects import QuotaExhausted, StageFailure
from orchestrator.loop.journal import commit_step, save
from orchestrator.loop.waiting import expired, machine_wait
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


def advance(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    """Run the stage function of ``state`` once; returns the state as it is on disk afterwards."""
    function = STAGE_FUNCTIONS.get(state.stage)
    if function is None:
        return state
    try:
        after = function(ctx, state)
    except StageFailure as failure:
        after = fail(ctx, ctx.store.load(state.id) if ctx.store.exists(state.id) else state, failure)
    except QuotaExhausted as quota:
        current = ctx.store.load(state.id)
        waiting = Waiting(for_person=False, what=quota.what, next_check_at=quota.until,
                          interval_seconds=(quota.until - ctx.clock()).total_seconds(), since=ctx.clock())
        after = save(ctx, current.model_copy(update={"waiting": waiting}))
    except BudgetError as budget:
        current = ctx.store.load(state.id)
        if current.waiting is not None and current.waiting.for_person and expired(ctx, current.waiting):
            hours = ctx.settings.notebooks.wait_timeout_hours
            return fail(ctx, current, StageFailure(
                f"nobody approved the paid optimization within {hours:g} h", resume=Stage.OPTIMIZING.value,
                evidence=f"approve it with `qcloop approve {state.id}` after `qcloop retry {state.id}`, or set "
                         "budget.money_usd: 0 to use the free notebook sweep"))
        after = save(ctx, current.model_copy(update={
            "waiting": _approval_wait(ctx, current, str(budget)),
            "pending_cost_usd": budget.details.get("estimate", current.pending_cost_usd),
        }))
    except StateConflictError as conflict:
        log.info("%s: %s; re-reading", state.id, conflict)
        return ctx.store.load(state.id)
    except CloudError as error:
        current = ctx.store.load(state.id) if ctx.store.exists(state.id) else state
        waiting = machine_wait(ctx, current, f"the platform after an error ({error.message})")
        ctx.say(f"  {state.id}: {error}; trying again in {waiting.interval_seconds:.0f}s")
        after = save(ctx, current.model_copy(update={"waiting": waiting}))
    return after


def _approval_wait(ctx: LoopContext, state: HypothesisState, message: str) -> Waiting:
    from orchestrator.loop.waiting import person_wait

    return person_wait(ctx, state, "an approval of the paid optimization",
                       [message, f"Approve it: qcloop approve {state.id}",
                        "Or use the free notebook sweep: set budget.money_usd: 0 in qcloop.yaml"])


def fail(ctx: LoopContext, state: HypothesisState, failure: StageFailure) -> HypothesisState:
    """Move ``state`` to FAILED with the reason, the evidence and how to retry (one commit)."""
    resume = Stage(failure.resume) if failure.resume else RETRY_FROM.get(state.stage, Stage.PROPOSED)
    record = Failure(stage=state.stage, reason=failure.reason, evidence=failure.evidence[-20_000:],
                     retry=f"qcloop retry {state.id}", resume=resume, at=ctx.clock())
    failed = state.model_copy(update={"stage": Stage.FAILED, "failure": record, "waiting": None, "awaiting": None})
    ctx.say(f"  {state.id} FAILED: {failure.reason}")
    return commit_step(
        ctx, failed, step=Step.FAIL, subject=f"{failure.reason} (in {state.stage.value})",
        trailers=[("Reason", failure.reason)], files=failure.files,
        body=f"Retry with: qcloop retry {state.id}\n\n{failure.evidence[-4000:]}".rstrip(),
    )
