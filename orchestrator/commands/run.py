"""`qcloop run`: take every hypothesis through the loop until it is decided or waits for a person."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestrator.commands import Context, add_workspace_argument

NAME = "run"
GROUP = "loop"
HELP = "run the research loop (resumes from state/ after any interruption)"
DESCRIPTION = """\
Take the hypotheses in hypotheses/ through the loop: generate the strategy code, backtest it,
decide (reject, optimize, validate), run the parameter sweep and walk-forward notebooks, decide
again, and accept or reject. Every step is one git commit. While one hypothesis waits (for a
backtest, or for you to run a notebook), the others keep moving.

Stops when every hypothesis is accepted, rejected or failed. While some wait for you, it keeps
polling with backoff, reminds you, and shows what it waits for; Ctrl-C stops it at any moment and
`qcloop run` resumes from the state files (nothing is lost or done twice).

Platforms:
  --platform local    the embedded engine and a local Jupyter kernel (default; no account needed)
  --platform cloud    QuantConnect (credentials from QC_USER_ID/QC_API_TOKEN, .env or `lean login`);
                      you run each notebook in QuantConnect Research when asked
  --api-url URL       the cloud platform at another address, e.g. the emulator on 127.0.0.1
  --manual            local platform, but you run the notebooks in Jupyter yourself

Examples:
  qcloop run                                   run until everything is decided
  qcloop run --until-idle                      stop as soon as the loop waits for you
  qcloop run --once                            one step of one hypothesis, then stop
  qcloop run H-003 --max-steps 2               two steps of H-003 only
  qcloop run --workspace ~/qcloop-demo --init  make the workspace (and synthetic data) first
  qcloop run --platform cloud --api-url http://127.0.0.1:5612/api/v2/
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("ids", nargs="*", metavar="ID", help="only these hypotheses (default: all)")
    parser.add_argument("--once", action="store_true", help="advance one hypothesis by one step, then stop")
    parser.add_argument("--until-idle", action="store_true",
                        help="stop as soon as nothing can move without a person")
    parser.add_argument("--max-steps", type=int, default=None, metavar="N", help="stop after N steps (commits)")
    parser.add_argument("--platform", choices=("local", "cloud"), default=None,
                        help="where backtests and notebooks run (default: loop.platform in qcloop.yaml)")
    parser.add_argument("--api-url", default=None, metavar="URL",
                        help="the QuantConnect API base URL (implies --platform cloud), e.g. the emulator's")
    parser.add_argument("--manual", action="store_true",
                        help="local platform: you run the notebooks in Jupyter (qcloop tells you which)")
    parser.add_argument("--init", action="store_true",
                        help="make the workspace first if it does not exist (like `qcloop init`)")


def _ensure_workspace(args: argparse.Namespace, ctx: Context) -> None:
    from orchestrator.workspace import init_workspace, is_workspace

    if not args.init:
        return
    target = ctx.workspace_arg if ctx.workspace_arg is not None else ctx.cwd
    target = Path(target).expanduser()
    target = target if target.is_absolute() else ctx.cwd / target
    if not is_workspace(target):
        files = init_workspace(target)
        ctx.out(f"made a qcloop workspace in {target} ({len(files)} files committed)")
    ctx.workspace_arg = target


def _ensure_data(ctx: Context, platform_name: str) -> None:
    """The local platform needs market data: generate seeded synthetic data if the folder is empty."""
    settings = ctx.settings()
    if platform_name != "local" or not settings.uses_synthetic_data:
        return
    from orchestrator.loop.data import ensure_synthetic_data

    made = ensure_synthetic_data(ctx.workspace(), settings)
    if made:
        ctx.out(f"generated SYNTHETIC market data in {settings.data_folder} ({made})")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.commands._loop import build_loop_context, open_workspace
    from orchestrator.commands.status import print_status
    from orchestrator.loop.runner import RunOptions, run_loop

    if args.max_steps is not None and args.max_steps < 1:
        from orchestrator.errors import ConfigError

        raise ConfigError("must be at least 1", field="--max-steps")
    _ensure_workspace(args, ctx)
    workspace = open_workspace(ctx)
    workspace.store.acquire_run_lock(command="qcloop run")
    try:
        loop = build_loop_context(ctx, workspace, args)
        _ensure_data(ctx, loop.platform.name)
        ctx.out(f"qcloop run in {workspace.path} on the {loop.platform.name} platform "
                f"(rules {loop.rules.label})")
        try:
            summary = run_loop(loop, RunOptions(once=args.once, until_idle=args.until_idle,
                                                max_steps=args.max_steps, only=list(args.ids)))
        finally:
            loop.platform.close()
    finally:
        workspace.store.release_run_lock()
    ctx.out(f"stopped: {summary.stopped} ({summary.steps} step{'s' if summary.steps != 1 else ''} committed)")
    print_status(ctx, summary.states)
    return 0
