"""Test helpers: LEAN data rows read straight from the zips (independent of the engine's readers)
and a way to run an algorithm given as source text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import textwrap
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestrator.engine import run_backtest


def minute_rows(data: Path, ticker: str, day: dt.date, kind: str = "trade") -> dict[dt.datetime, list[int]]:
    """Bar start time -> raw integer fields (prices in 1/10000 dollar) of a minute file."""
    path = data / "equity" / "usa" / "minute" / ticker.lower() / f"{day:%Y%m%d}_{kind}.zip"
    with zipfile.ZipFile(path) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    midnight = dt.datetime.combine(day, dt.time())
    return {midnight + dt.timedelta(milliseconds=int(row[0])): [int(v) if v else 0 for v in row[1:]]
            for row in csv.reader(io.StringIO(text))}


def daily_rows(data: Path, ticker: str, resolution: str = "daily") -> dict[str, list[int]]:
    """'yyyyMMdd HH:mm' -> raw integer fields of a daily or hour file."""
    path = data / "equity" / "usa" / resolution / f"{ticker.lower()}.zip"
    with zipfile.ZipFile(path) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    return {row[0]: [int(v) for v in row[1:]] for row in csv.reader(io.StringIO(text))}


def factor(data: Path, ticker: str, day: dt.date) -> Decimal:
    """price factor x split factor of the first factor-file row dated on or after ``day``."""
    path = data / "equity" / "usa" / "factor_files" / f"{ticker.lower()}.csv"
    for line in path.read_text().splitlines():
        date, price_factor, split_factor, _ = line.split(",")
        if int(date) >= int(f"{day:%Y%m%d}"):
            return Decimal(price_factor) * Decimal(split_factor)
    return Decimal(1)


def adjusted(raw: int, scale: Decimal) -> Decimal:
    return Decimal(raw) * Decimal("0.0001") * scale


def run_source(tmp_path: Path, source: str, data: Path, **kwargs: Any) -> Any:
    """Write an algorithm to tmp_path/main.py and run it."""
    path = tmp_path / "main.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return run_backtest(path, data, **kwargs)


def events(result: Any, status: str | None = None) -> list[dict[str, Any]]:
    found = [e for order in result.orders for e in order["events"]]
    return [e for e in found if status is None or e["status"] == status]
