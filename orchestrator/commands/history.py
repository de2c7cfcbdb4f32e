"""`qcloop history [ID]`: each hypothesis's timeline, rebuilt from the git ledger's trailers alone."""

from __future__ import annotations

import argparse
import json

from orchestrator.commands import Context, add_workspace_argument

NAME = "history"
GROUP = "loop"
HELP = "the story of each hypothesis, read back from git (works on a fresh clone)"
DESCRIPTION = """\
Rebuild every hypothesis's timeline from the workspace's git history: each loop step is one commit
whose trailers (Hypothesis, Stage, Decision, Rules, Backtest-Id, Trials, Deflated-Sharpe ...) say
what happened. Nothing in state/ is read, so this works on a fresh clone, and it shows exactly what
the ledger holds.

Examples:
  qcloop history                every hypothesis, oldest step first
  qcloop history H-003          one hypothesis
  qcloop history --json         the commits and their trailers as JSON
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("id", nargs="?", metavar="ID", help="only this hypothesis")
    parser.add_argument("--json", action="store_true", help="print the timeline as JSON")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.commands._loop import open_workspace
    from orchestrator.hypotheses import id_sort_key

    entries = open_workspace(ctx).ledger().history(args.id)
    if args.json:
        ctx.out(json.dumps([{"sha": e.sha, "date": e.date.isoformat(), "author": e.author, "subject": e.subject,
                             "hypothesis": e.hypothesis, "stage": e.stage, "trailers": e.trailers}
                            for e in entries], indent=2))
        return 0
    if not entries:
        ctx.out(f"no loop steps in git yet{' for ' + args.id if args.id else ''}: run `qcloop run`")
        return 0
    by_id: dict[str, list] = {}
    for entry in entries:
        by_id.setdefault(entry.hypothesis, []).append(entry)
    for hypothesis in sorted(by_id, key=id_sort_key):
        timeline = by_id[hypothesis]
        decided = [e.trailers["Decision"] for e in timeline if "Decision" in e.trailers]
        last = decided[-1] if decided else timeline[-1].stage
        ctx.out(f"{hypothesis} ({timeline[-1].trailers.get('Family', '')}, {len(timeline)} steps, last: {last})")
        for entry in timeline:
            extras = [f"{k.lower()} {entry.trailers[k]}" for k in ("Rules", "Trials", "Deflated-Sharpe")
                      if k in entry.trailers]
            ctx.out(f"  {entry.date:%Y-%m-%d %H:%M}  {entry.sha[:8]}  {entry.subject.removeprefix(hypothesis + ' ')}"
                    + (f"  [{'; '.join(extras)}]" if extras else ""))
    return 0
