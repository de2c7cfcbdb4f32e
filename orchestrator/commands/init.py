"""`qcloop init DIR`: make a workspace (git repository, hypotheses/, state/, qcloop.yaml, .gitignore)."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestrator.commands import Context

NAME = "init"
GROUP = "workspace"
HELP = "make a workspace: git repository, example hypotheses, qcloop.yaml with commented defaults"
DESCRIPTION = """\
Make DIR a qcloop workspace: a git repository (the ledger every step is committed to) with
  hypotheses/     the example hypotheses (one YAML file each; `qcloop new` writes more)
  state/          the loop's state per hypothesis (written only by qcloop)
  qcloop.yaml     every setting at its default, commented out, with what it does
  .gitignore      keeps .env (credentials), data/ and qcloop's scratch folder out of git
and commits them. DIR is created if missing; an existing workspace is refused.

Examples:
  qcloop init my-research
  qcloop init my-research --no-examples       start with an empty hypotheses/
  cd my-research && qcloop run                 run the loop on the local platform
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", type=Path, help="the folder to make a workspace of")
    parser.add_argument("--no-examples", action="store_true", help="do not copy the example hypotheses")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.workspace import init_workspace

    folder = args.dir if args.dir.is_absolute() else ctx.cwd / args.dir
    files = init_workspace(folder, examples=not args.no_examples)
    ctx.out(f"made a qcloop workspace in {folder} ({len(files)} files committed)")
    examples = [f for f in files if f.startswith("hypotheses/H-")]
    if examples:
        ctx.out(f"example hypotheses: {', '.join(Path(f).stem for f in examples)}")
    ctx.out(f"next: cd {folder} && qcloop run")
    return 0
