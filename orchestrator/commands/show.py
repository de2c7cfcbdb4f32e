"""`qcloop show ID`: one hypothesis in full: decisions and their reasons, figures per stage, artifacts."""

from __future__ import annotations

import argparse
import json

from orchestrator.commands import Context, add_workspace_argument
from orchestrator.models import BacktestFigures, HypothesisState, Stage

NAME = "show"
GROUP = "loop"
HELP = "one hypothesis: decisions with reasons, figures per stage, remote jobs, artifacts"
DESCRIPTION = """\
Summarise one hypothesis from its state file: where it stands, every decision with the rule set
that made it and each check's reason, the figures of every stage (baseline, sweep, walk-forward,
confirmation, holdout), the trial accounting behind the Deflated Sharpe Ratio, the remote jobs it
created, and the files each step wrote (committed in git). A failed hypothesis shows its evidence
and the retry command.

Examples:
  qcloop show H-001
  qcloop show H-001 --json       the whole state file
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("id", metavar="ID", help="the hypothesis id")
    parser.add_argument("--json", action="store_true", help="print the state file as JSON")


def _figures(label: str, f: BacktestFigures | None) -> list[str]:
    if f is None:
        return []
    window = f" {f.start}..{f.end}" if f.start and f.end else ""
    psr = f", PSR {f.psr:.3f}" if f.psr is not None else ""
    return [f"  {label:<13} Sharpe {f.sharpe:.2f}{psr}, CAGR {f.cagr:.1%}, drawdown {f.drawdown:.1%}, "
            f"{f.trades} trades{window} (backtest {f.backtest_id})"]


def describe(state: HypothesisState) -> list[str]:
    lines = [f"{state.id}: {state.title}", f"  family {state.family}, attempt {state.attempt}, "
             f"{state.seq} steps, stage {state.stage.value}" + (f" ({state.awaiting.value})" if state.awaiting else "")]
    if state.parameters:
        lines.append("  parameters   " + ", ".join(f"{k}={v}" for k, v in state.parameters.items()))
    if state.search_window:
        holdout = state.holdout_window
        lines.append(f"  search       {state.search_window[0]}..{state.search_window[1]}"
                     + (f", holdout {holdout[0]}..{holdout[1]}" if holdout else "")
                     + (f" (used {state.holdout_used_at:%Y-%m-%d})" if state.holdout_used_at else ""))
    r = state.results
    lines += ["", "Figures:"] if any([r.baseline, r.sweep, r.walk_forward, r.confirmation]) else []
    lines += _figures("baseline", r.baseline)
    if r.sweep is not None:
        chosen = ", ".join(f"{k}={v:g}" for k, v in sorted(r.sweep.chosen.items()))
        plateau = f", neighbours {r.sweep.plateau_sharpe:.2f}" if r.sweep.plateau_sharpe is not None else ""
        lines.append(f"  sweep         {len(r.sweep.points)} points, best Sharpe {r.sweep.best_sharpe:.2f}, "
                     f"chosen {chosen} (Sharpe {r.sweep.chosen_sharpe:.2f}{plateau})")
    wf = r.walk_forward
    if wf is not None:
        eff = f", efficiency {wf.efficiency:.2f}" if wf.efficiency is not None else ""
        lines.append(f"  walk-forward  {len(wf.windows)} windows, IS Sharpe {wf.in_sample_sharpe:.2f}, "
                     f"OOS Sharpe {wf.out_of_sample_sharpe:.2f}{eff}")
    lines += _figures("confirmation", r.confirmation)
    lines += _figures("holdout", r.holdout)
    if state.trial_stats is not None:
        t = state.trial_stats
        dsr = f", Deflated Sharpe {t.deflated_sharpe:.3f}" if t.deflated_sharpe is not None else ""
        lines.append(f"  trials        {t.hypothesis_trials} here, {t.family_trials} in family {t.family}, "
                     f"variance of their Sharpe ratios {t.sharpe_variance:.4f}{dsr}")
    if state.decisions:
        lines += ["", "Decisions:"]
        for d in state.decisions:
            lines.append(f"  {d.at:%Y-%m-%d %H:%M}  {d.step.value} -> {d.action.value}  ({d.rules}"
                         + (f", overrides {d.overrides}" if d.overrides else "") + f"): {d.summary}")
            lines += [f"      {'pass' if c.passed else 'FAIL'}  {c.reason}" for c in d.checks]
    if state.jobs:
        lines += ["", "Remote jobs:"]
        lines += [f"  {j.name:<40} {j.kind.value:<12} {j.status.value:<10} {j.remote_id or ''}"
                  for j in state.jobs.values()]
    files = [state.code_path, *(n.path for n in state.notebooks.values()),
             *(p for p in ([r.sweep.record_path] if r.sweep else []) + ([r.walk_forward.record_path]
                                                                         if r.walk_forward else []) if p)]
    if any(files):
        lines += ["", "Artifacts (committed):"] + [f"  {f}" for f in files if f]
    if state.waiting is not None and not state.stage.terminal:
        lines += ["", f"Waiting for {'you' if state.waiting.for_person else 'the platform'}: {state.waiting.what}"]
        lines += [f"  {i}" for i in state.waiting.instructions]
    if state.failure is not None and state.stage is Stage.FAILED:
        lines += ["", f"FAILED in {state.failure.stage.value}: {state.failure.reason}",
                  f"  retry with: {state.failure.retry}"]
        if state.failure.evidence:
            lines += ["  evidence:"] + [f"    {line}" for line in state.failure.evidence.splitlines()[-25:]]
    return lines


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.commands._loop import open_workspace

    state = open_workspace(ctx).store.load(args.id)
    if args.json:
        ctx.out(json.dumps(state.model_dump(mode="json"), indent=2))
        return 0
    for line in describe(state):
        ctx.out(line)
    return 0
