"""`qcloop data synth|import|info`: market data for the embedded engine."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from orchestrator.commands import Context, add_workspace_argument, iso_date
from orchestrator.errors import ConfigError, QcloopError, WorkspaceError

NAME = "data"
GROUP = "engine"
HELP = "make synthetic data, import OHLCV CSV files, or describe a data folder"
DESCRIPTION = """\
Market data for the embedded engine, in LEAN's folder format (the same layout the lean CLI uses).

  qcloop data synth     write seeded SYNTHETIC data (default: into the workspace's data folder)
  qcloop data import    turn OHLCV CSV files (one per symbol, daily or minute) into LEAN format
  qcloop data info      list a data folder's symbols, resolutions and dates, and whether it is synthetic

A workspace reads its data from `data.folder` in qcloop.yaml (for example the lean CLI's `data`
folder); without that setting it uses the workspace's `data/` folder, filled with synthetic data.

Examples:
  qcloop data synth
  qcloop data synth --output /tmp/noise --random-walk --seed 3
  qcloop data synth --plant tsmom=0.05 --plant tsmom_lookback=126 --minute-days 60
  qcloop data import ~/prices/SPY.csv ~/prices/QQQ.csv --output ~/lean-data
  qcloop data info ~/lean-data
"""

SYNTH_DESCRIPTION = """\
Write a seeded, realistic but SYNTHETIC US-equity data set in LEAN's format: daily bars for every
symbol, hour bars (SPY by default: the engine's benchmark reads SPY hourly), minute trade and quote
bars for the last --minute-days trading days, map and factor files (with dividends and a 2-for-1
split), interest rates and market hours. Trading days follow the NYSE calendar. The folder gets a
`.qcloop-synthetic.json` marker and a README, and every qcloop output that shows the data says it is
synthetic. The same seed and options give the same bytes.

The model: Student-t shocks with a market factor (correlation), GARCH volatility clustering, drift.
Planted effects for testing the research loop (see docs/data.md for the exact definitions):
  --plant tsmom=S            time-series momentum: daily expected return += S * sign(trailing return) * daily vol
  --plant tsmom_lookback=L   its trailing window in trading days (default 252)
  --random-walk              zero drift and no effects: no strategy should find anything

SPY is always generated. The default output is the workspace's data folder; a folder holding data
that qcloop did not generate is never overwritten.

Examples:
  qcloop data synth
  qcloop data synth --output /tmp/synth --symbols SPY QQQ --start 2010-01-04 --end 2020-12-31
  qcloop data synth --output /tmp/bench --minute-days 250     # a long minute series for benchmarks
  qcloop data synth --output /tmp/signal --plant tsmom=0.05 --zero-drift
"""

IMPORT_DESCRIPTION = """\
Import OHLCV CSV files into a LEAN data folder, one file per symbol; the ticker comes from the file
name (SPY.csv, spy_1min.csv) or --ticker. Columns are found by their header names in any order and
case: date/datetime/time/timestamp (or separate date and time columns), open, high, low, close,
optional volume and adj close. Daily or minute resolution is detected from the timestamps, which are
New York time and, for minute bars, the bar's start (use --timestamps end otherwise).

Rows in any order are sorted; duplicate timestamps, non-numbers, missing fields, prices not above 0,
high below low, and open/close outside the high-low range are errors naming file, line and column.
With an "adj close" column prices are scaled to dividend- and split-adjusted values. Minute files
also fill in daily and hour bars from the regular session. Map and factor files (no adjustments) are
created when missing. All files are checked before anything is written.

Examples:
  qcloop data import SPY.csv QQQ.csv --output ~/lean-data
  qcloop data import export.csv --ticker IWM --date-format "%d/%m/%Y"
  qcloop data import spy_1min.csv --timestamps end --output ~/lean-data
"""

INFO_DESCRIPTION = """\
Describe a LEAN data folder: each symbol with its resolutions and date ranges, the auxiliary files
(map, factor, interest rates, market hours), and whether the data is SYNTHETIC (with its seed and
planted effects). DIR defaults to the workspace's data folder.

Examples:
  qcloop data info
  qcloop data info ~/.lean/data --json
"""



def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    formatter = argparse.RawDescriptionHelpFormatter

    synth = sub.add_parser("synth", help="write seeded synthetic data", description=SYNTH_DESCRIPTION,
                           formatter_class=formatter)
    add_workspace_argument(synth)
    synth.add_argument("--output", "-o", type=Path, help="the folder to write (default: the workspace's data folder)")
    synth.add_argument("--seed", type=int, help="random seed (default: data.synthetic_seed, or 7)")
    synth.add_argument("--symbols", nargs="+", metavar="TICKER",
                       help="tickers to generate (default: SPY QQQ IWM EEM TLT GLD; SPY is always added)")
    synth.add_argument("--start", type=iso_date, help="first date (default 1998-01-02)")
    synth.add_argument("--end", type=iso_date, help="last date (default 2021-03-31)")
    synth.add_argument("--minute-days", type=int, default=None, metavar="N",
                       help="trading days of minute bars, the last N of the range (default 5)")
    synth.add_argument("--hour-symbols", nargs="*", metavar="TICKER", help="tickers with hour bars (default SPY)")
    synth.add_argument("--minute-symbols", nargs="+", metavar="TICKER", help="tickers with minute bars (default all)")
    synth.add_argument("--plant", action="append", default=[], metavar="EFFECT=VALUE",
                       help="plant an effect: tsmom=STRENGTH, tsmom_lookback=DAYS (repeatable)")
    synth.add_argument("--random-walk", action="store_true", help="zero drift and no effects (a pure random walk)")
    synth.add_argument("--zero-drift", action="store_true", help="no drift, but keep planted effects")
    synth.set_defaults(handler=_synth)

    imp = sub.add_parser("import", help="import OHLCV CSV files", description=IMPORT_DESCRIPTION,
                         formatter_class=formatter)
    add_workspace_argument(imp)
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE", help="CSV files, one per symbol")
    imp.add_argument("--output", "-o", type=Path, help="the LEAN data folder (default: the workspace's data folder)")
    imp.add_argument("--ticker", help="the ticker of a single file (default: from its name)")
    imp.add_argument("--date-format", help="strptime format of the timestamps, e.g. %%d/%%m/%%Y (default: detect)")
    imp.add_argument("--timestamps", choices=["start", "end"], default="start",
                     help="whether minute timestamps mark the bar's start (LEAN's convention) or end")
    imp.add_argument("--resolution", choices=["auto", "daily", "minute"], default="auto",
                     help="expected resolution (default: detect)")
    imp.add_argument("--ignore-adj-close", action="store_true", help="keep raw prices even if there is an adj close")
    imp.add_argument("--fix-high-low", action="store_true",
                     help="widen high/low to include open and close instead of rejecting such rows")
    imp.set_defaults(handler=_import)

    info = sub.add_parser("info", help="describe a data folder", description=INFO_DESCRIPTION,
                          formatter_class=formatter)
    add_workspace_argument(info)
    info.add_argument("folder", nargs="?", type=Path, metavar="DIR", help="the data folder (default: the workspace's)")
    info.add_argument("--json", action="store_true", help="print the description as JSON")
    info.set_defaults(handler=_info)


def run(args: argparse.Namespace, ctx: Context) -> int:
    return int(args.handler(args, ctx))


def _workspace_data_folder(ctx: Context, option: str) -> Path:
    try:
        return ctx.settings().data_folder
    except WorkspaceError as exc:
        raise WorkspaceError(f"no data folder given and {exc.message}",
                             hint=f"pass {option} DIR, or run inside a workspace") from exc


def _resolve(ctx: Context, path: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else ctx.cwd / path


def _planted(specs: list[str]) -> dict[str, float]:
    planted: dict[str, float] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"'{spec}' is not EFFECT=VALUE (e.g. tsmom=0.05)", field="plant")
        try:
            planted[key.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"'{spec}': {value!r} is not a number", field="plant") from None
    return planted


def _synth(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.engine import synth

    folder = _resolve(ctx, args.output) if args.output else _workspace_data_folder(ctx, "--output")
    seed = args.seed
    if seed is None:
        try:
            seed = ctx.settings().data.synthetic_seed
        except QcloopError:
            seed = 7
    options: dict[str, Any] = {
        "seed": seed,
        "planted": _planted(args.plant) or None,
        "random_walk": args.random_walk,
        "zero_drift": args.zero_drift,
    }
    for name in ("symbols", "start", "end", "minute_days", "hour_symbols", "minute_symbols"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    summary = synth.generate_synthetic_data(folder, **options)
    for line in summary.lines():
        ctx.out(line)
    ctx.out(f"Backtests read it with --data-folder {folder}; `qcloop data info {folder}` describes it.")
    return 0


def _import(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.engine import importer

    folder = _resolve(ctx, args.output) if args.output else _workspace_data_folder(ctx, "--output")
    results = importer.import_csv_files(
        [_resolve(ctx, f) for f in args.files], folder, ticker=args.ticker, date_format=args.date_format,
        ignore_adj_close=args.ignore_adj_close, timestamps=args.timestamps, fix_high_low=args.fix_high_low,
        resolution=args.resolution,
    )
    ctx.out(f"Imported into {folder}:")
    for result in results:
        ctx.out(f"  {result.line()}")
        for note in result.notes:
            ctx.out(f"      note: {note}")
    ctx.out(f"`qcloop data info {folder}` lists what the folder holds.")
    return 0


def _info(args: argparse.Namespace, ctx: Context) -> int:
    from orchestrator.engine import lean_writer

    folder = _resolve(ctx, args.folder) if args.folder else _workspace_data_folder(ctx, "a folder argument:")
    if not folder.is_dir():
        raise ConfigError(f"{folder} does not exist", field="data.folder",
                          hint="make data with `qcloop data synth` or `qcloop data import`")
    inventory = lean_writer.survey(folder)
    if not inventory.symbols:
        raise ConfigError(f"{folder} holds no LEAN equity data (nothing under equity/usa/daily, hour or minute)",
                          field="data.folder", hint="make data with `qcloop data synth` or `qcloop data import`")
    if args.json:
        ctx.out(json.dumps(_info_json(inventory), indent=2))
        return 0
    for line in _info_lines(inventory):
        ctx.out(line)
    return 0


def _info_json(inventory: Any) -> dict[str, Any]:
    return {
        "folder": str(inventory.folder),
        "synthetic": inventory.synthetic is not None,
        "marker": inventory.synthetic,
        "symbols": {
            t: {"resolutions": {r: [str(a), str(b)] for r, (a, b) in s.ranges.items()}, "minute_days": s.minute_days}
            for t, s in inventory.symbols.items()
        },
        "market_hours": inventory.has_market_hours,
        "interest_rates": inventory.has_interest_rates,
        "map_files": inventory.has_map_files,
        "factor_files": inventory.has_factor_files,
    }


def _info_lines(inventory: Any) -> list[str]:
    marker = inventory.synthetic
    if marker is not None:
        effects = marker.get("planted") or {}
        planted = ", ".join(f"{k} {v.get('strength')}" if isinstance(v, dict) else k for k, v in effects.items())
        mode = ("random walk" if marker.get("random_walk")
                else "planted: " + planted if planted else "no planted effects")
        kind = f"SYNTHETIC data (seed {marker.get('seed')}, {mode}) -- simulated prices, not market history"
    else:
        kind = "LEAN-format market data"
    lines = [f"{inventory.folder}: {kind}", f"  {len(inventory.symbols)} symbols:"]
    width = max(len(t) for t in inventory.symbols)
    for ticker, data in inventory.symbols.items():
        parts = []
        for resolution in ("daily", "hour", "minute"):
            if resolution in data.ranges:
                first, last = data.ranges[resolution]
                days = data.minute_days
                extra = f" ({days} day{'s' if days != 1 else ''})" if resolution == "minute" else ""
                parts.append(f"{resolution} {first} .. {last}{extra}")
        lines.append(f"    {ticker.ljust(width)}  " + "; ".join(parts))
    hours = ("yes" if inventory.has_market_hours
             else "no (the engine uses qcloop's NYSE calendar)")
    rates = "yes" if inventory.has_interest_rates else "no"
    lines.append(f"  map files: {inventory.has_map_files}, factor files: {inventory.has_factor_files}, "
                 f"interest rates: {rates}, market hours: {hours}")
    return lines
