"""`qcloop replay [--rules FILE]`: re-score every recorded decision under a rule set; run nothing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from orchestrator.commands import Context, add_workspace_argument

NAME = "replay"
GROUP = "loop"
HELP = "re-score every recorded decision under another rule set and show what would change"
DESCRIPTION = """\
Every decision the loop made is stored with the evidence it read (figures, trial counts) and the rule
set that made it. replay applies a rule set (the workspace's, or --rules FILE) to that evidence again
and shows, per hypothesis and step, the recorded action and the action the rules give now, with the
checks that changed. Nothing runs: no backtest, no notebook, no git commit, no state change.

When an earlier decision would change (a baseline that was rejected would now be optimized), the later
steps were never run, so replay says so instead of guessing their outcome.

Examples:
  qcloop replay                            the workspace's current rules (after editing them)
  qcloop replay --rules strict.yaml        what a stricter rule set would have decided
  qcloop replay --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("--rules", type=Path, default=None, metavar="FILE",
                        help="a rule set YAML file (default: the workspace's rules)")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")


def replay_states(states: list[Any], rules: Any) -> list[dict[str, Any]]:
    from orchestrator.decide import decide

    rows = []
    for state in states:
        diverged = False
        for recorded in state.decisions:
            new = decide(recorded.step, recorded.evidence, rules, recorded.overrides)
            changed = new.action is not recorded.action
            before = {c.rule: c.passed for c in recorded.checks}
            flipped = [c.reason for c in new.checks if before.get(c.rule, c.passed) != c.passed
                       or (c.rule not in before and not c.passed)]
            rows.append({
                "id": state.id, "step": recorded.step.value, "recorded": recorded.action.value,
                "recorded_rules": recorded.rules, "replayed": new.action.value, "replayed_rules": new.rules,
                "changed": changed, "after_divergence": diverged, "changed_checks": flipped,
                "summary": new.summary,
            })
            diverged = diverged or changed
    return rows


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.commands._loop import open_workspace
    from orchestrator.decide import load_rule_set, rules_for_workspace

    workspace = open_workspace(ctx)
    if args.rules is not None:
        path = args.rules if args.rules.is_absolute() else ctx.cwd / args.rules
        rules = load_rule_set(path)
    else:
        rules = rules_for_workspace(workspace.path, workspace.settings.rules.file)
    rows = replay_states(workspace.store.load_all(), rules)
    if args.json:
        ctx.out(json.dumps({"rules": rules.label, "decisions": rows}, indent=2))
        return 0
    if not rows:
        ctx.out("no decisions recorded yet: nothing to replay")
        return 0
    ctx.out(f"replaying {len(rows)} decisions under {rules.label} (nothing is run or written)")
    changes = 0
    for row in rows:
        mark = "CHANGED" if row["changed"] else "same"
        note = ("  (a later step after a changed decision: never run under these rules)"
                if row["after_divergence"] else "")
        ctx.out(f"  {row['id']:<8} {row['step']:<9} {row['recorded']:>9} ({row['recorded_rules']}) -> "
                f"{row['replayed']:<9} {mark}{note}")
        if row["changed"] or row["changed_checks"]:
            for reason in row["changed_checks"]:
                ctx.out(f"      now: {reason}")
        changes += row["changed"]
    ctx.out(f"{changes} decision{'s' if changes != 1 else ''} would change")
    return 0
