"""`qcloop templates [NAME]`: the strategy families a hypothesis can use, and their parameters."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.commands import Context, add_workspace_argument
from orchestrator.config import find_workspace

if TYPE_CHECKING:
    from orchestrator.strategies import FamilySchema

NAME = "templates"
GROUP = "hypotheses"
HELP = "list the strategy families (templates) and their parameters"
DESCRIPTION = """\
List the strategy families a hypothesis can name in its `template:` field: what each one trades,
the idea behind it, and its parameters with defaults and allowed ranges. With a NAME, show that
family in full. Inside a workspace, families in its templates/strategies/ folder are included
(and override the built-in ones of the same name).

Examples:
  qcloop templates                    every family, one paragraph each
  qcloop templates dual_momentum      one family in full (parameters, constraints, sweep, related)
  qcloop templates --json             machine-readable (e.g. for an agent that writes hypotheses)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("name", nargs="?", default=None, metavar="NAME", help="show one family in full")
    parser.add_argument("--json", action="store_true", help="print the families as JSON")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.strategies import load_registry

    registry = load_registry(_workspace_if_any(ctx))
    families = [registry.get(args.name)] if args.name else registry.families()
    if args.json:
        ctx.out(json.dumps([f.schema.model_dump(mode="json") for f in families], indent=2))
        return 0
    for index, family in enumerate(families):
        if index:
            ctx.out()
        _show(ctx, family.schema, full=args.name is not None)
    if not args.name:
        ctx.out("\n`qcloop templates NAME` shows one family in full; `qcloop new NAME` scaffolds a hypothesis.")
    return 0


def _workspace_if_any(ctx: Context) -> Path | None:
    if ctx.workspace_arg is not None:
        return ctx.workspace()
    return find_workspace(ctx.cwd)


def _show(ctx: Context, family: FamilySchema, *, full: bool) -> None:
    from orchestrator.strategies import format_number

    ctx.out(f"{family.name}: {family.title}")
    ctx.out(textwrap.fill(" ".join(family.idea.split()), width=96, initial_indent="  ", subsequent_indent="  "))
    ctx.out(f"  universe: {', '.join(family.default_universe)} by default "
            f"({family.universe_size.min}..{family.universe_size.max} tickers); "
            f"resolution: {family.resolution} (allowed: {', '.join(family.resolutions)})")
    ctx.out("  parameters:")
    width = max(len(name) for name in family.parameters)
    for name, p in family.parameters.items():
        line = (f"    {name.ljust(width)}  {p.type:<5} default {format_number(p.coerce(p.default)):<6} "
                f"allowed {p.allowed():<12}")
        if full:
            ctx.out(line + f" step {format_number(p.coerce(p.step))}")
            ctx.out(textwrap.fill(p.description, width=96, initial_indent="      ", subsequent_indent="      "))
        else:
            ctx.out(line + f" {p.description}")
    if full:
        if family.constraints:
            ctx.out(f"  constraints: {', '.join(str(c) for c in family.constraints)}")
        ctx.out(f"  swept by default: {' and '.join(family.sweep)}")
        if family.related:
            ctx.out(f"  related families: {', '.join(family.related)}")
        if family.variant_universes:
            ctx.out("  variant universes: " + "; ".join(", ".join(u) for u in family.variant_universes))
