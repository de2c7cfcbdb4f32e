"""`qcloop approve ID`: allow one paid cloud optimization for a hypothesis (within the budget)."""

from __future__ import annotations

import argparse

from orchestrator.commands import Context, add_workspace_argument

NAME = "approve"
GROUP = "loop"
HELP = "approve a paid cloud optimization for a hypothesis (the free notebook sweep needs none)"
DESCRIPTION = """\
Cloud optimizations cost money. The loop uses the free notebook sweep unless budget.money_usd in
qcloop.yaml allows paid optimizations; then it asks QuantConnect for an estimate, and runs the
optimization only when the estimate is within the remaining budget and you approved it here. The
approval is recorded in the hypothesis's state and committed to git; a running `qcloop run` picks it
up at its next check.

Examples:
  qcloop approve H-007                   approve the pending estimate (see `qcloop status`)
  qcloop approve H-007 --max-usd 2.50    approve in advance, up to $2.50
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("id", metavar="ID", help="the hypothesis id")
    parser.add_argument("--max-usd", type=float, default=None, metavar="USD",
                        help="the most this optimization may cost (default: the pending estimate)")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.commands._loop import changing
    from orchestrator.errors import BudgetError, StateError
    from orchestrator.loop.journal import commit_step
    from orchestrator.models import Approval, Step

    with changing(ctx, args.id) as (workspace, books, state):
        if state.stage.terminal:
            raise StateError(f"{args.id} is {state.stage.value}; there is nothing to approve",
                             hint="`qcloop retry` reopens a failed hypothesis")
        amount = args.max_usd if args.max_usd is not None else state.pending_cost_usd
        if amount is None:
            raise BudgetError(f"no paid optimization of {args.id} is waiting for approval",
                              hint=f"approve in advance with `qcloop approve {args.id} --max-usd AMOUNT`")
        if amount <= 0 or amount > workspace.settings.budget.money_usd:
            raise BudgetError(
                f"${amount:.2f} is not within budget.money_usd (${workspace.settings.budget.money_usd:.2f})",
                hint="raise budget.money_usd in qcloop.yaml, or approve a smaller amount",
            )
        waiting = state.waiting
        if waiting is not None and waiting.for_person:
            waiting = waiting.model_copy(update={"next_check_at": books.clock()})
        approved = state.model_copy(update={
            "approval": Approval(max_usd=amount, at=books.clock(), by="qcloop approve"), "waiting": waiting})
        commit_step(books, approved, step=Step.APPROVE, subject=f"paid optimization approved up to ${amount:.2f}",
                    trailers=[("Approved-Usd", f"{amount:.2f}")])
    ctx.out(f"approved: {args.id} may spend up to ${amount:.2f} on a cloud optimization")
    return 0
