"""`qcloop new TEMPLATE`: scaffold a hypothesis file with the family's defaults, explained in comments."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.commands import Context, add_workspace_argument, iso_date
from orchestrator.errors import SpecError, WorkspaceError

if TYPE_CHECKING:
    from orchestrator.strategies import FamilySchema

NAME = "new"
GROUP = "hypotheses"
HELP = "scaffold a hypothesis file from a strategy family's defaults"
DESCRIPTION = """\
Write hypotheses/ID.yaml for the strategy family TEMPLATE, filled with the family's defaults and a
comment on every field and parameter, ready to edit. The id is the next free H-NNN unless --id is
given. Replace the rationale with your own reasoning (what effect you expect, and why) before the
loop picks the file up.

Examples:
  qcloop new ma_crossover
  qcloop new dual_momentum --id H-020 --title "Rotation with a 6-month lookback"
  qcloop new rsi_reversion --universe QQQ --start 2010-01-01 --end 2020-12-31
"""

DEFAULT_START = dt.date(2004, 1, 1)  # inside both LEAN's sample data and qcloop's synthetic data
DEFAULT_END = dt.date(2020, 12, 31)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("template", metavar="TEMPLATE", help="a strategy family (`qcloop templates` lists them)")
    parser.add_argument("--id", default=None, help="the hypothesis id, e.g. H-012 (default: the next free one)")
    parser.add_argument("--title", default=None, help="a one-line title (default: from the family and universe)")
    parser.add_argument("--universe", default=None, metavar="TICKERS",
                        help="comma-separated tickers (default: the family's universe)")
    parser.add_argument("--start", type=iso_date, default=DEFAULT_START,
                        help="first day, YYYY-MM-DD (default 2004-01-01)")
    parser.add_argument("--end", type=iso_date, default=DEFAULT_END, help="last day, YYYY-MM-DD (default 2020-12-31)")
    parser.add_argument("--force", action="store_true", help="overwrite the file if it exists")



def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.hypotheses import ID_ALLOWED, ID_PATTERN, check_hypothesis_text, existing_ids, next_free_id
    from orchestrator.strategies import load_registry

    workspace = ctx.workspace()
    registry = load_registry(workspace)
    family = registry.get(args.template)
    folder = workspace / "hypotheses"
    hypothesis_id = args.id or next_free_id(existing_ids(folder, _state_ids(workspace)))
    if not ID_PATTERN.match(hypothesis_id):
        raise SpecError(f"'{hypothesis_id}' is not a valid hypothesis id", field="--id", allowed=ID_ALLOWED)
    path = folder / f"{hypothesis_id}.yaml"
    if path.exists() and not args.force:
        raise WorkspaceError(f"{path.relative_to(workspace)} already exists",
                             hint="pick another --id, or pass --force to overwrite it")
    universe = [t.strip().upper() for t in args.universe.split(",") if t.strip()] if args.universe else None
    _check_options(family.schema, universe, args.start, args.end)
    text = scaffold(family.schema, hypothesis_id=hypothesis_id, title=args.title, universe=universe,
                    start=args.start, end=args.end)
    spec, problems = check_hypothesis_text(text, source=str(path.relative_to(workspace)), registry=registry)
    if problems:  # e.g. a universe too small for the family: say so before writing anything
        raise problems[0]
    assert spec is not None
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    ctx.out(f"wrote {path.relative_to(workspace)} ({family.name}: {family.schema.title})")
    ctx.out("next: replace the rationale with your own reasoning, adjust the parameters, then run "
            f"`qcloop render {hypothesis_id}` to see the code, or `qcloop run` to test it")
    return 0


def _check_options(family: FamilySchema, universe: list[str] | None, start: dt.date, end: dt.date) -> None:
    """Refuse options the family cannot use before writing anything (the messages name the option)."""
    size = family.universe_size
    if universe is not None and not size.min <= len(universe) <= size.max:
        example = ",".join(family.default_universe)
        raise SpecError(f"template {family.name} trades {size.min} to {size.max} tickers, --universe gives "
                        f"{len(universe)}", field="--universe",
                        allowed=f"{size.min}..{size.max} comma-separated tickers, e.g. {example}")
    if end <= start:
        raise SpecError(f"--end {end} must be after --start {start}", field="--end")


def _state_ids(workspace: Path) -> list[str]:
    """Ids the loop has seen (state/<id>.json), so that a deleted file's id is not reused."""
    state = workspace / "state"
    return [p.stem for p in state.glob("*.json")] if state.is_dir() else []


def scaffold(family: FamilySchema, *, hypothesis_id: str, title: str | None, universe: list[str] | None,
             start: dt.date, end: dt.date) -> str:
    """The text of a new hypothesis file: valid as written, every field explained."""
    from orchestrator.hypotheses import (
        HypothesisSpec,
        ParameterSpec,
        SweepRange,
        parameter_entry,
        sweep_grid,
        yaml_flow,
        yaml_scalar,
        yaml_text_field,
    )
    from orchestrator.strategies import format_number

    tickers = universe or list(family.default_universe)
    title = title or f"{family.title} on {', '.join(tickers)}"
    probe = HypothesisSpec(id=hypothesis_id, title=title, rationale="-", template=family.name,
                           start=start, end=end)
    grid = sweep_grid(probe, family)
    size = family.universe_size
    lines = [
        f"# {hypothesis_id}: a hypothesis for the strategy family {family.name} ({family.title}).",
        "# Every field is explained in docs/hypotheses.md; `qcloop templates " + family.name + "` shows the family.",
        f"id: {hypothesis_id}",
        yaml_text_field("title", title),
        "# Why should this work? Replace the family's idea below with your own reasoning: the effect you",
        "# expect and its cause. It is recorded with every decision the loop makes.",
        yaml_text_field("rationale", " ".join(family.idea.split())),
        f"template: {family.name}",
        f"universe: {yaml_flow(tickers)}   # {size.min} to {size.max} tickers",
        f"start: {yaml_scalar(start)}   # LEAN's sample data and qcloop's synthetic data cover 1998 to early 2021",
        f"end: {yaml_scalar(end)}",
        "cash: 100000",
        f"resolution: {family.resolution}   # allowed for this family: {', '.join(family.resolutions)}",
        "# Parameters reach the algorithm through get_parameter(); `default` is the baseline backtest's",
        "# value and `sweep` the values a parameter sweep tries. Leave a parameter out to use its default.",
        "parameters:",
    ]
    for name, schema in family.parameters.items():
        sweep = None
        if grid.get(name):
            values = grid[name]
            sweep = SweepRange(min=values[0], max=values[-1], step=schema.coerce(schema.step))
        entry = parameter_entry(ParameterSpec(default=schema.coerce(schema.default), sweep=sweep))
        lines.append(f"  # {schema.description} ({schema.type}, allowed {schema.allowed()}, "
                     f"step {format_number(schema.coerce(schema.step))})")
        lines.append(f"  {name}: {yaml_flow(entry)}")
    if family.constraints:
        lines.append(f"# The family requires: {', '.join(str(c) for c in family.constraints)}.")
    lines += [
        "# Optional overrides of the decision rules for this hypothesis only, e.g. {min_sharpe: 0.5}.",
        "rules: {}",
        "parent: null   # the id this hypothesis is a variant of",
        "tags: []",
    ]
    return "\n".join(lines) + "\n"
