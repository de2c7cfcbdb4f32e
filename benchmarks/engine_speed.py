"""Bar events per second of qcloop's embedded engine next to peer Python backtesters.

The same SMA(10)/SMA(30) crossover (all in when fast > slow, flat otherwise) runs on the same adjusted
OHLCV bars in each engine:

* **daily**: SPY 1998-01-02 .. 2021-03-31 from LEAN's sample data (``../shared/data/lean``, or
  ``--lean-data``); synthetic daily bars when that folder is absent;
* **minute**: a long synthetic SPY minute series written by ``qcloop data synth``'s generator.

qcloop's time is a whole ``run_backtest`` call: reading the LEAN zips, LEAN's semantics (quote bars,
fill-forward, the internal hourly SPY benchmark, daily sampling, statistics, charts, the cloud-shaped
result). The peers get a ready pandas DataFrame and only their ``run`` is timed. Each engine runs once
to warm up and then ``--repeat`` times; the table reports medians of CPU time (the machine is shared,
wall time is noisier) and writes ``benchmarks/results/engine_speed.md``.

    .venv/bin/pip install backtrader backtesting     # the `bench` extra
    .venv/bin/python benchmarks/engine_speed.py [--repeat 5] [--minute-days 250]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestrator.engine import run_backtest  # noqa: E402
from orchestrator.engine.enums import Resolution  # noqa: E402
from orchestrator.engine.quantbook import QuantBook  # noqa: E402

FAST, SLOW = 10, 30
RESULT_FILE = ROOT / "benchmarks" / "results" / "engine_speed.md"

ALGORITHM = """
from AlgorithmImports import *

class SmaCross(QCAlgorithm):
    def initialize(self):
        self.set_start_date({start.year}, {start.month}, {start.day})
        self.set_end_date({end.year}, {end.month}, {end.day})
        self.set_cash(100000)
        self.spy = self.add_equity("SPY", Resolution.{resolution}).symbol
        self.fast = self.sma(self.spy, {fast})
        self.slow = self.sma(self.spy, {slow})

    def on_data(self, data):
        if not self.slow.is_ready:
            return
        if self.fast.current.value > self.slow.current.value:
            if not self.portfolio.invested:
                self.set_holdings(self.spy, 1)
        elif self.portfolio.invested:
            self.liquidate(self.spy)
"""


def measure(runs: dict[str, Callable[[], Any]], repeat: int) -> dict[str, tuple[float, float, float]]:
    """Engine -> (median CPU seconds, median wall seconds, first-run CPU seconds).

    The first run of each engine is its warm-up (imports, and for qcloop parsing the LEAN files into its
    shared caches); then the engines take turns (round-robin), so that changes in the load of a shared
    machine hit all of them alike.
    """
    first: dict[str, float] = {}
    for name, run in runs.items():
        start_cpu = time.process_time()
        run()
        first[name] = time.process_time() - start_cpu
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    wall: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            run()
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start_wall)
    return {name: (statistics.median(cpu[name]), statistics.median(wall[name]), first[name]) for name in runs}


def spy_frame(folder: Path, resolution: Resolution, start: dt.datetime, end: dt.datetime) -> Any:
    """The adjusted SPY bars the engine sees, as the peers' OHLCV DataFrame."""
    book = QuantBook(folder)
    symbol = book.add_equity("SPY", resolution).symbol
    frame = book.history(symbol, start, end, resolution).loc["SPY"]
    frame = frame[["open", "high", "low", "close", "volume"]].rename(columns=str.capitalize)
    return frame.dropna()


def run_qcloop(folder: Path, resolution: str, start: dt.date, end: dt.date, workdir: Path,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
               cloud: bool = False) -> Callable[[], Any]:
    """``run_backtest`` (statistics; charts and orders are built on first use), or with ``cloud`` the
    full cloud-shaped result as well (``to_cloud()``: charts, orders, JSON-ready)."""
    path = workdir / f"sma_{resolution.lower()}.py"
    path.write_text(textwrap.dedent(ALGORITHM.format(start=start, end=end, resolution=resolution,
                                                     fast=FAST, slow=SLOW)))

    def run() -> Any:
        result = run_backtest(path, folder)
        if result.error:
            raise RuntimeError(result.error)
        return result.to_cloud() if cloud else result
    return run


def run_backtrader(frame: Any) -> Callable[[], Any]:
    import backtrader as bt

    class SmaCross(bt.Strategy):
        def __init__(self) -> None:
            self.fast = bt.ind.SMA(self.data.close, period=FAST)
            self.slow = bt.ind.SMA(self.data.close, period=SLOW)

        def next(self) -> None:
            if self.fast[0] > self.slow[0]:
                if not self.position:
                    self.order_target_percent(target=0.9975)
            elif self.position:
                self.close()

    def run() -> Any:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame))
        cerebro.addstrategy(SmaCross)
        cerebro.broker.setcash(100000)
        return cerebro.run()
    return run


def run_backtesting(frame: Any) -> Callable[[], Any]:
    import pandas as pd
    from backtesting import Backtest, Strategy

    def sma(values: Any, period: int) -> Any:
        return pd.Series(values).rolling(period).mean()

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)

        def next(self) -> None:
            if self.fast[-1] > self.slow[-1]:
                if not self.position:
                    self.buy()
            elif self.position:
                self.position.close()

    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Backtest(frame, SmaCross, cash=10_000_000, finalize_trades=True).run()
    return run


def peers() -> dict[str, Callable[[Any], Callable[[], Any]]]:
    found: dict[str, Callable[[Any], Callable[[], Any]]] = {}
    try:
        import backtrader  # noqa: F401

        found["backtrader"] = run_backtrader
    except ImportError:
        print("backtrader is not installed: .venv/bin/pip install backtrader", file=sys.stderr)
    try:
        import backtesting  # noqa: F401

        found["backtesting.py"] = run_backtesting
    except ImportError:
        print("backtesting is not installed: .venv/bin/pip install backtesting", file=sys.stderr)
    return found


def synthetic_folder(workdir: Path, minute_days: int, with_daily_history: bool) -> Path:
    from orchestrator.engine.synth import generate_synthetic_data

    folder = workdir / "synthetic"
    start = dt.date(1998, 1, 2) if with_daily_history else dt.date(2019, 1, 2)
    generate_synthetic_data(folder, seed=11, symbols=["SPY"], start=start, end=dt.date(2020, 12, 31),
                            minute_days=minute_days, minute_symbols=["SPY"])
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per engine and dataset (default 5)")
    parser.add_argument("--minute-days", type=int, default=250, help="trading days of synthetic minute data")
    parser.add_argument("--lean-data", type=Path, default=ROOT.parent / "shared" / "data" / "lean")
    parser.add_argument("--output", type=Path, default=RESULT_FILE)
    args = parser.parse_args(argv)
    rows: list[tuple[str, str, int, float, float, float]] = []
    load_at_start = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        lean = args.lean_data if (args.lean_data / "equity" / "usa" / "daily" / "spy.zip").is_file() else None
        synthetic = synthetic_folder(workdir, args.minute_days, with_daily_history=lean is None)
        daily_folder = lean or synthetic
        daily_label = "SPY daily 1998-2021 (LEAN sample data)" if lean else "SPY daily 1998-2020 (synthetic)"
        daily_end = dt.date(2021, 3, 31) if lean else dt.date(2020, 12, 31)
        minute_start = _first_minute_day(synthetic)
        cases = [
            (daily_label, daily_folder, "DAILY", Resolution.DAILY, dt.date(1998, 1, 2), daily_end),
            (f"SPY minute, {args.minute_days} days (synthetic)", synthetic, "MINUTE", Resolution.MINUTE,
             minute_start, dt.date(2020, 12, 31)),
        ]
        engines = peers()
        for label, folder, name, resolution, start, end in cases:
            frame = spy_frame(folder, resolution, dt.datetime.combine(start, dt.time()),
                              dt.datetime.combine(end, dt.time(23, 59)))
            bars = len(frame)
            print(f"{label}: {bars} bars", flush=True)
            runs = {"qcloop (embedded engine)": run_qcloop(folder, name, start, end, workdir),
                    "qcloop + to_cloud()": run_qcloop(folder, name, start, end, workdir, cloud=True)}
            runs.update({peer: build(frame) for peer, build in engines.items()})
            for engine, (cpu, wall, cold) in measure(runs, args.repeat).items():
                rows.append((label, engine, bars, cpu, wall, cold))
                print(f"  {engine:26} {cpu:.3f} s CPU, {wall:.3f} s wall, first run {cold:.3f} s CPU", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(rows, args.repeat, (load_at_start, load_average())), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def _first_minute_day(folder: Path) -> dt.date:
    days = sorted(p.name[:8] for p in (folder / "equity" / "usa" / "minute" / "spy").glob("*_trade.zip"))
    return dt.date(int(days[0][:4]), int(days[0][4:6]), int(days[0][6:8]))


def load_average() -> str:
    """The 1-minute load average and the CPU count: how busy the shared machine was."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on every platform
        return "unknown"
    return f"{load:.1f} on {os.cpu_count()} CPUs"


def render(rows: list[tuple[str, str, int, float, float, float]], repeat: int, loads: tuple[str, str]) -> str:
    lines = [
        "# Embedded engine speed",
        "",
        f"Measured {dt.datetime.now():%Y-%m-%d %H:%M} on {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, by `benchmarks/engine_speed.py` (median of {repeat} runs after a "
        "warm-up run, the engines taking turns; CPU time of the process, because the machine is shared). "
        f"Load average: {loads[0]} at the start, {loads[1]} at the end; a busy machine inflates every "
        "figure, the ratios between engines less so.",
        "",
        "Strategy: SMA(10)/SMA(30) crossover on SPY, all in / flat. qcloop's figure is a whole `run_backtest`"
        " (reading LEAN zips, quote bars, fill-forward, the hourly SPY benchmark, daily sampling, LEAN's"
        " statistics); its charts and order list are built on first use, which the `+ to_cloud()` row"
        " includes. The peers get a ready DataFrame and only their run is timed.",
        "",
        "| data | engine | bars | CPU s | wall s | bars/s (CPU) | qcloop speed-up | first run CPU s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    ours = {label: cpu for label, engine, _, cpu, _, _ in rows if engine == "qcloop (embedded engine)"}
    for label, engine, bars, cpu, wall, cold in rows:
        ratio = cpu / ours[label] if ours.get(label) else float("nan")
        speedup = "-" if engine.startswith("qcloop") else f"{ratio:.2f}x"
        lines.append(f"| {label} | {engine} | {bars} | {cpu:.3f} | {wall:.3f} | {bars / cpu:,.0f} | {speedup} "
                     f"| {cold:.3f} |")
    lines += [
        "",
        "`qcloop speed-up` = the peer's CPU time / qcloop's (above 1: qcloop is faster). `first run` is each",
        "engine's warm-up run: for qcloop it includes parsing the LEAN zips into its shared caches (a research",
        "loop backtests the same files many times); the peers' first run starts from the ready DataFrame.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
