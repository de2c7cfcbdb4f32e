"""`qcloop render ID`: write a hypothesis's algorithm code and show what changed since the last commit."""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.commands import Context, add_workspace_argument
from orchestrator.errors import WorkspaceError

if TYPE_CHECKING:
    from orchestrator.ledger import Ledger

NAME = "render"
GROUP = "hypotheses"
HELP = "write a hypothesis's algorithm (main.py) from its template and show the diff"
DESCRIPTION = """\
Render the QuantConnect algorithm of one hypothesis from its strategy family's templates and write
it to strategies/ID/main.py in the workspace (or into --output DIR). Then show a unified diff against
the last committed version of that file, so you can see exactly what a change to the hypothesis or
the template did to the code. Rendering is deterministic: the same inputs give the same bytes.

The hypothesis file is validated first; a problem is reported with file, line, field and what is
allowed.

Examples:
  qcloop render H-001                       write strategies/H-001/main.py and show the diff
  qcloop render H-001 --output /tmp/h1      write /tmp/h1/main.py instead
  qcloop render H-001 --print               print the code, write nothing
"""

STRATEGIES_FOLDER = "strategies"  # <workspace>/strategies/<ID>/main.py


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("id", metavar="ID", help="the hypothesis id, e.g. H-001 (its file is hypotheses/ID.yaml)")
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                        help="write the files into DIR (default: strategies/ID/ in the workspace)")
    parser.add_argument("--print", dest="print_only", action="store_true",
                        help="print main.py to stdout and write nothing")
    parser.add_argument("--no-diff", action="store_true", help="write the files without showing a diff")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.decide import RULE_NAMES
    from orchestrator.hypotheses import load_hypothesis
    from orchestrator.strategies import load_registry, render_strategy

    workspace = ctx.workspace()
    registry = load_registry(workspace)
    path = hypothesis_path(workspace, args.id)
    spec = load_hypothesis(path, registry=registry, rule_names=RULE_NAMES,
                           display_path=_relative(path, workspace))
    rendered = render_strategy(spec, registry)
    if args.print_only:
        ctx.stdout.write(rendered.main_py)
        return 0
    folder = args.output if args.output is not None else workspace / STRATEGIES_FOLDER / spec.id
    folder = folder if folder.is_absolute() else ctx.cwd / folder
    ledger = _ledger(workspace)
    for name, text in sorted(rendered.files.items()):
        target = folder / name
        before, against = previous_version(target, ledger)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
        shown = _relative(target, workspace)
        if not args.no_diff:
            _show_diff(ctx, shown, before, against, text)
        ctx.out(f"wrote {shown} ({spec.template}, code sha256 {rendered.code_hash[:12]})")
    return 0


def hypothesis_path(workspace: Path, hypothesis_id: str) -> Path:
    folder = workspace / "hypotheses"
    for suffix in (".yaml", ".yml"):
        if (folder / f"{hypothesis_id}{suffix}").is_file():
            return folder / f"{hypothesis_id}{suffix}"
    known = sorted(p.stem for p in folder.glob("*.y*ml")) if folder.is_dir() else []
    listing = f" (the folder has: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''})" if known else ""
    raise WorkspaceError(
        f"no hypothesis file hypotheses/{hypothesis_id}.yaml in {workspace}{listing}",
        hint="check the id, or scaffold one with `qcloop new TEMPLATE`",
    )


def _ledger(workspace: Path) -> Ledger | None:
    from orchestrator.ledger import Ledger

    try:
        return Ledger(workspace)
    except WorkspaceError:  # not a git repository: there is no committed version to compare with
        return None


def previous_version(path: Path, ledger: Ledger | None) -> tuple[str | None, str]:
    """The text to diff against and what it is: the last committed version, else the file on disk."""
    committed = ledger.committed_text(path) if ledger is not None else None
    if committed is not None:
        return committed, "HEAD"
    if path.is_file():
        return path.read_text(encoding="utf-8", errors="replace"), "on disk"
    return None, "new"


def _show_diff(ctx: Context, shown: str, before: str | None, against: str, after: str) -> None:
    if before is None:
        ctx.out(f"{shown}: new file ({len(after.splitlines())} lines, not committed before)")
        return
    if before == after:
        ctx.out(f"{shown}: unchanged since {'the last commit' if against == 'HEAD' else 'the last render'}")
        return
    diff = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                fromfile=f"a/{shown} ({against})", tofile=f"b/{shown}")
    ctx.stdout.write("".join(line if line.endswith("\n") else line + "\n" for line in diff))


def _relative(path: Path, workspace: Path) -> str:
    try:
        return str(path.resolve().relative_to(workspace.resolve()))
    except ValueError:
        return str(path)
