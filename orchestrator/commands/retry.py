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
accident. Its trials so far stay counted. The retry is one git commit; `qcloop run` continues it.

Examples:
  qcloop retry H-004
  qcloop retry H-004 --from-start      generate the code again and redo every stage
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("id", metavar="ID", help="the hypothesis id")
    parser.add_argument("--from-start", action="store_true", help="restart from code generation")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.commands._loop import open_workspace
    from orchestrator.errors import StateError
    from orchestrator.loop.context import Bookkeeping
    from orchestrator.loop.journal import commit_step
    from orchestrator.loop.machine import RETRY_FROM
    from orchestrator.models import Stage, Step

    workspace = open_workspace(ctx)
    books = Bookkeeping(store=workspace.store, ledger=workspace.ledger(), say=ctx.out)
    with workspace.store.writing():
        state = workspace.store.load(args.id)
        if state.stage is not Stage.FAILED or state.failure is None:
            raise StateError(f"{args.id} is {state.stage.value}, not failed; only failed hypotheses are retried",
                             hint=f"`qcloop status` shows where {args.id} stands")
        failure = state.failure
        resume = failure.resume or RETRY_FROM.get(failure.stage, Stage.PROPOSED)
        if args.from_start:
            resume = Stage.PROPOSED
        note = f"attempt {state.attempt} failed in {failure.stage.value}: {failure.reason}"
        state = state.model_copy(update={
            "stage": resume, "attempt": state.attempt + 1, "failure": None, "waiting": None, "awaiting": None,
            "notes": [*state.notes, note],
        })
        commit_step(books, state, step=Step.RETRY,
                    subject=f"attempt {state.attempt} from {resume.value} (after: {failure.reason})",
                    trailers=[("Reason", failure.reason)])
    ctx.out(f"{args.id} reopened at {resume.value} as attempt {state.attempt}; `qcloop run` continues it")
    return 0
