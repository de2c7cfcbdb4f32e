"""`qcloop retry ID`: reopen a failed hypothesis where it failed, as a new attempt."""

from __future__ import annotations

import argparse

from orchestrator.commands import Context, add_workspace_argument

NAME = "retry"
GROUP = "loop"
HELP = "reopen a failed hypothesis (after fixing what `qcloop show ID` reports)"
DESCRIPTION = """\
A hypothesis goes to FAILED when something breaks: code that does not compile, a backtest that
raises, a notebook that fails or comes back tampered, a result nobody ran in time. `qcloop show ID`
prints the reason and the evidence. Fix the cause, then retry: the hypothesis goes back to the stage
it failed in (or to the start, when its code must be generated again) as attempt N+1, so every
remote object it creates from then on has a new name and nothing of the failed attempt is reused by
accident. Its trials so far stay counted; a paid optimization it already made needs a new
`qcloop approve` to run again. The retry is one git commit; `qcloop run` continues it.

Examples:
  qcloop retry H-004
  qcloop retry H-004 --from-start      generate the code again and redo every stage
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("id", metavar="ID", help="the hypothesis id")
    parser.add_argument("--from-start", action="store_true", help="restart from code generation")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.commands._loop import changing
    from orchestrator.errors import StateError
    from orchestrator.loop.journal import commit_step
    from orchestrator.loop.machine import RETRY_FROM
    from orchestrator.models import Stage, Step

    with changing(ctx, args.id) as (_, books, state):
        if state.stage is not Stage.FAILED or state.failure is None:
            raise StateError(f"{args.id} is {state.stage.value}, not failed; only failed hypotheses are retried",
                             hint=f"`qcloop status` shows where {args.id} stands")
        failure = state.failure
        resume = failure.resume or RETRY_FROM.get(failure.stage, Stage.PROPOSED)
        if args.from_start:
            resume = Stage.PROPOSED
        note = f"attempt {state.attempt} failed in {failure.stage.value}: {failure.reason}"
        # An approval allows one paid optimization: spent by this attempt, the next one must be approved again.
        spent = state.remote_name(Step.OPTIMIZE) in state.jobs
        reopened = state.model_copy(update={
            "stage": resume, "attempt": state.attempt + 1, "failure": None, "waiting": None, "awaiting": None,
            "notes": [*state.notes, note],
            **({"approval": None, "pending_cost_usd": None} if spent else {}),
        })
        commit_step(books, reopened, step=Step.RETRY,
                    subject=f"attempt {reopened.attempt} from {resume.value} (after: {failure.reason})",
                    trailers=[("Reason", failure.reason)])
    ctx.out(f"{args.id} reopened at {resume.value} as attempt {reopened.attempt}; `qcloop run` continues it")
    return 0
