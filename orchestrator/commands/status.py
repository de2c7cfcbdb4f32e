"""`qcloop status`: every hypothesis, its stage, its last result, and what to do for those waiting."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from orchestrator.commands import Context, add_workspace_argument
from orchestrator.models import HypothesisState, Stage, utcnow

NAME = "status"
GROUP = "loop"
HELP = "where every hypothesis stands, and exactly what to do for those waiting for you"
DESCRIPTION = """\
Show every hypothesis of the workspace (read from state/): its stage, its last result and decision,
and, for each one waiting for you, the instructions again (which notebook to run, where, and how
qcloop will pick the result up). Failed hypotheses show the reason and the retry command.

Examples:
  qcloop status
  qcloop status --json          machine-readable, for scripts and dashboards
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the states as JSON")


def status_record(state: HypothesisState) -> dict[str, Any]:
    decision = state.last_decision
    return {
        "id": state.id, "title": state.title, "family": state.family, "stage": state.stage.value,
        "awaiting": state.awaiting.value if state.awaiting else None, "attempt": state.attempt,
        "steps": state.seq, "last_result": state.summary_line(),
        "decision": decision.action.value if decision else None,
        "waiting": state.waiting.model_dump(mode="json") if state.waiting else None,
        "failure": state.failure.model_dump(mode="json") if state.failure and state.stage is Stage.FAILED else None,
        "updated_at": state.updated_at.isoformat(),
    }


def print_status(ctx: Context, states: Sequence[HypothesisState]) -> None:
    from orchestrator.loop.waiting import describe

    if not states:
        ctx.out("no hypotheses yet: add one with `qcloop new TEMPLATE` and run `qcloop run`")
        return
    width = max(len(s.id) for s in states)
    now = utcnow()
    for state in states:
        stage = state.stage.value + (f" ({state.awaiting.value})" if state.awaiting else "")
        ctx.out(f"{state.id:<{width}}  {stage:<28} {state.summary_line()}")
        if state.waiting is not None and not state.stage.terminal:
            ctx.out(f"{'':<{width}}  {describe(state.waiting, now)}")
            for line in state.waiting.instructions:
                ctx.out(f"{'':<{width}}    {line}")
            if state.waiting.url:
                ctx.out(f"{'':<{width}}    {state.waiting.url}")
        if state.failure is not None and state.stage is Stage.FAILED:
            ctx.out(f"{'':<{width}}  retry with: {state.failure.retry}   (details: qcloop show {state.id})")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.commands._loop import open_workspace

    states = open_workspace(ctx).store.load_all()
    if args.json:
        ctx.out(json.dumps([status_record(s) for s in states], indent=2))
        return 0
    print_status(ctx, states)
    return 0
