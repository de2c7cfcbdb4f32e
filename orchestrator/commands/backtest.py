"""`qcloop backtest ALGORITHM.py`: run an algorithm with the embedded engine and print its statistics."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from orchestrator.commands import Context, iso_date
from orchestrator.errors import DataError, QcloopError, WorkspaceError

NAME = "backtest"
GROUP = "engine"
HELP = "run a QuantConnect algorithm on local LEAN-format data and print LEAN's statistics"
DESCRIPTION = """\
Run a Python algorithm written against QuantConnect's API (`from AlgorithmImports import *`,
`class MyAlgorithm(QCAlgorithm)`) with qcloop's embedded LEAN-compatible engine, print a statistics
table like the lean CLI's (runtime statistics, then LEAN's statistics) and write the full result in
the shape of a QuantConnect cloud backtest (statistics, runtimeStatistics, totalPerformance, charts,
orders, logs) as JSON.

The data folder is --data-folder, else the workspace's data folder (qcloop.yaml `data.folder`, or
the workspace's `data/`). Make one with `qcloop data synth` (synthetic, labelled so) or point at a
LEAN data folder such as the lean CLI's `data/`.

The result JSON goes to --output, else to `backtests/<timestamp>.json` beside the algorithm.
The exit code is 0 when the algorithm completed and 1 when it raised (the error names the file and line).

Examples:
  qcloop backtest main.py --data-folder ~/lean/data
  qcloop backtest strategies/sma --start 2015-01-01 --end 2020-12-31 --cash 50000
  qcloop backtest main.py --parameter fast 10 --parameter slow 30 --output result.json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("algorithm", type=Path, help="the algorithm file (or a folder holding main.py)")
    parser.add_argument("--data-folder", type=Path, default=None,
                        help="a LEAN-format data folder (default: the workspace's data folder)")
    parser.add_argument("--start", type=iso_date, default=None, help="override set_start_date (YYYY-MM-DD)")
    parser.add_argument("--end", type=iso_date, default=None, help="override set_end_date (YYYY-MM-DD)")
    parser.add_argument("--cash", type=float, default=None, help="override set_cash")
    parser.add_argument("--parameter", nargs=2, action="append", metavar=("KEY", "VALUE"), default=[],
                        help="a value for get_parameter(KEY); repeat for more")
    parser.add_argument("--output", type=Path, default=None, help="where to write the result JSON")
    parser.add_argument("--quiet", action="store_true", help="print only the path of the result file")
    parser.add_argument("-w", "--workspace", type=Path, default=argparse.SUPPRESS,
                        help="the workspace whose data folder to use")



def _data_folder(args: argparse.Namespace, ctx: Context) -> Path:
    if args.data_folder is not None:
        return args.data_folder.expanduser()
    try:
        folder = ctx.settings().data_folder
    except WorkspaceError as exc:
        raise DataError(
            "no data folder: not inside a qcloop workspace and --data-folder was not given",
            hint="pass --data-folder DIR (a LEAN data folder, or one made by `qcloop data synth DIR`)",
        ) from exc
    if not folder.is_dir():
        raise DataError("the workspace's data folder does not exist", path=folder,
                        hint="run `qcloop data synth` to create synthetic data, or set data.folder in qcloop.yaml")
    return folder


def _cell_width(rows: list[tuple[str, str]]) -> tuple[int, int]:
    return (max((len(k) for k, _ in rows), default=9), max((len(v) for _, v in rows), default=5))


def render_table(runtime: dict[str, str], statistics: dict[str, str]) -> str:
    """Two statistic/value column pairs in a box, runtime statistics first (like the lean CLI)."""
    rows = list(runtime.items()) + list(statistics.items())
    half = (len(rows) + 1) // 2
    left, right = rows[:half], rows[half:]
    kw, vw = _cell_width(left)
    kw2, vw2 = _cell_width(right)
    kw, kw2 = max(kw, 9), max(kw2, 9)
    widths = (kw, vw, kw2, vw2)

    def line(cells: tuple[str, str, str, str]) -> str:
        return "│ " + " │ ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " │"

    def rule(left_char: str, middle: str, right_char: str) -> str:
        return left_char + middle.join("─" * (width + 2) for width in widths) + right_char

    out = [rule("┌", "┬", "┐"), line(("Statistic", "Value", "Statistic", "Value")), rule("├", "┼", "┤")]
    for index, (key, value) in enumerate(left):
        other = right[index] if index < len(right) else ("", "")
        out.append(line((key, value, other[0], other[1])))
    out.append(rule("└", "┴", "┘"))
    return "\n".join(out)


def _default_output(algorithm: Path) -> Path:
    folder = algorithm if algorithm.is_dir() else algorithm.parent
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    return folder / "backtests" / f"{stamp}.json"


def run(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.engine import run_backtest

    folder = _data_folder(args, ctx)
    parameters = {key: value for key, value in args.parameter}
    algorithm = args.algorithm if args.algorithm.is_absolute() else ctx.cwd / args.algorithm
    result = run_backtest(algorithm, folder, parameters=parameters, start=args.start, end=args.end, cash=args.cash)
    output = args.output if args.output is not None else _default_output(algorithm)
    output = output if output.is_absolute() else ctx.cwd / output
    _write(output, result.to_cloud())
    label = "SYNTHETIC data" if result.synthetic else "LEAN data"
    if args.quiet:
        ctx.out(str(output))
    else:
        for line in result.logs[-20:]:
            ctx.out(line)
        ctx.out(f"Backtest of {algorithm.name} on {label} in {folder} "
                f"({result.backtest_start:%Y-%m-%d} to {result.backtest_end:%Y-%m-%d}, "
                f"{result.duration_seconds:.2f} s)")
        ctx.out(render_table(result.runtime_statistics, result.statistics))
        if result.synthetic:
            ctx.out("Note: these statistics come from SYNTHETIC data, not market prices.")
        ctx.out(f"Result written to {output}")
    # Data gaps and similar warnings change what the statistics mean: shown even with --quiet, on
    # stderr, after the table (the log lines above may not reach back to them).
    for warning in result.warnings:
        ctx.err(f"qcloop: warning: {warning}")
    if result.error:
        ctx.err(f"qcloop: the algorithm failed: {result.error}")
        if result.stacktrace:
            ctx.err(result.stacktrace)
        return 1
    return 0


def _write(path: Path, document: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(document, indent=1, default=str), encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        raise QcloopError(f"cannot write the result to {path}: {exc.strerror}",
                          hint="choose another --output path") from exc
