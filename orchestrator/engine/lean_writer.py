"""Writing and surveying LEAN-format US-equity data folders (used by ``synth`` and ``importer``).

The formats (see LEAN's ``Data/`` folder; all times New York, prices in 1/10000 dollar, no header):

* ``equity/usa/daily/<t>.zip`` -> ``<t>.csv``: ``yyyyMMdd 00:00,open,high,low,close,volume``
* ``equity/usa/hour/<t>.zip`` -> ``<t>.csv``: ``yyyyMMdd HH:mm,...`` stamped at the bar start (09:00 ... 15:00)
* ``equity/usa/minute/<t>/<yyyyMMdd>_trade.zip`` -> ``<yyyyMMdd>_<t>_minute_trade.csv``:
  ``ms_since_midnight,open,high,low,close,volume``; ``_quote.zip`` -> ``..._minute_quote.csv``:
  ``ms,bid_o,bid_h,bid_l,bid_c,last_bid_size,ask_o,ask_h,ask_l,ask_c,last_ask_size``
* ``equity/usa/map_files/<t>.csv``: ``yyyyMMdd,ticker,exchange`` rows, the last ``20501231``
* ``equity/usa/factor_files/<t>.csv``: ``yyyyMMdd,price_factor,split_factor,reference_price``, the last
  ``20501231,1,1,0``
* ``alternative/interest-rate/usa/interest-rate.csv``: ``DATE,PCREDIT8`` then ``yyyy-MM-dd,percent``
* ``market-hours/market-hours-database.json``: ``{"entries": {"Equity-usa-[*]": {...}}}``

Zip archives are written deterministically (fixed member timestamps), so the same content gives the
same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PRICE_SCALE = 10_000
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
LAST_MAP_DATE = "20501231"
SYNTHETIC_MARKER = ".qcloop-synthetic.json"

EQUITY = Path("equity") / "usa"
INTEREST_RATE_FILE = Path("alternative") / "interest-rate" / "usa" / "interest-rate.csv"
MARKET_HOURS_FILE = Path("market-hours") / "market-hours-database.json"
MARKET_HOURS_KEY = "Equity-usa-[*]"

RESOLUTIONS = ("daily", "hour", "minute")


def daily_zip(folder: Path, ticker: str) -> Path:
    return folder / EQUITY / "daily" / f"{ticker.lower()}.zip"


def hour_zip(folder: Path, ticker: str) -> Path:
    return folder / EQUITY / "hour" / f"{ticker.lower()}.zip"


def minute_zip(folder: Path, ticker: str, day: dt.date, kind: str) -> Path:
    return folder / EQUITY / "minute" / ticker.lower() / f"{day:%Y%m%d}_{kind}.zip"


def minute_member(ticker: str, day: dt.date, kind: str) -> str:
    return f"{day:%Y%m%d}_{ticker.lower()}_minute_{kind}.csv"


def map_file(folder: Path, ticker: str) -> Path:
    return folder / EQUITY / "map_files" / f"{ticker.lower()}.csv"


def factor_file(folder: Path, ticker: str) -> Path:
    return folder / EQUITY / "factor_files" / f"{ticker.lower()}.csv"


def write_zip(path: Path, member: str, text: str) -> int:
    """Write one CSV member into a zip archive, byte-for-byte reproducibly; returns the file size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    info = zipfile.ZipInfo(member, date_time=ZIP_TIMESTAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    temporary = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(temporary, "w") as archive:
        archive.writestr(info, text.encode("ascii"), compresslevel=6)
    os.replace(temporary, path)
    return path.stat().st_size


def write_text(path: Path, text: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(text.encode("utf-8"))
    os.replace(temporary, path)
    return path.stat().st_size


def bar_rows(stamps: Sequence[str], columns: Sequence[Sequence[int]]) -> str:
    """CSV text: one row per stamp, followed by the integer columns."""
    lines = [",".join((stamp, *map(str, values))) for stamp, *values in zip(stamps, *columns, strict=True)]
    return "\n".join(lines) + "\n" if lines else ""


def map_file_text(ticker: str, first_date: dt.date, exchange: str) -> str:
    """A map file for a ticker that never changed name and is still listed."""
    t = ticker.lower()
    return f"{first_date:%Y%m%d},{t},{exchange}\n{LAST_MAP_DATE},{t},{exchange}\n"


@dataclass(frozen=True)
class FactorRow:
    """One factor-file row: factors apply to dates up to and including ``date``."""

    date: dt.date
    price_factor: float
    split_factor: float
    reference_price: float

    def text(self) -> str:
        return (f"{self.date:%Y%m%d},{format_factor(self.price_factor, 7)},"
                f"{format_factor(self.split_factor, 8)},{format_number(self.reference_price)}")


def format_factor(value: float, decimals: int) -> str:
    """Factors as LEAN writes them: ``1``, ``0.5``, ``0.6566606``."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return text or "0"


def format_number(value: float) -> str:
    """A reference price or rate in shortest form: ``1``, ``109.34``, ``2.25``."""
    return format_factor(round(value, 4), 4)


def factor_file_text(rows: Iterable[FactorRow]) -> str:
    lines = [row.text() for row in rows]
    lines.append(f"{LAST_MAP_DATE},1,1,0")
    return "\n".join(lines) + "\n"


def interest_rate_text(rows: Iterable[tuple[dt.date, float]]) -> str:
    lines = ["DATE,PCREDIT8"] + [f"{day:%Y-%m-%d},{format_number(rate)}" for day, rate in rows]
    return "\n".join(lines) + "\n"


def market_hours_text(entry: dict[str, object]) -> str:
    return json.dumps({"entries": {MARKET_HOURS_KEY: entry}}, indent=2) + "\n"


# -- surveying a folder (`qcloop data info`) -----------------------------------------------------

@dataclass
class SymbolData:
    """What a data folder holds for one ticker."""

    ticker: str
    ranges: dict[str, tuple[dt.date, dt.date]] = field(default_factory=dict)  # resolution -> first, last
    minute_days: int = 0


@dataclass
class DataInventory:
    folder: Path
    symbols: dict[str, SymbolData]
    synthetic: dict[str, object] | None
    has_market_hours: bool
    has_interest_rates: bool
    has_factor_files: int
    has_map_files: int


def _read_member(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        return archive.read(names[0]).decode("ascii", errors="replace") if names else ""


def _bar_date_range(path: Path) -> tuple[dt.date, dt.date] | None:
    lines = [line for line in _read_member(path).splitlines() if line.strip()]
    if not lines:
        return None
    first, last = lines[0].split(",", 1)[0][:8], lines[-1].split(",", 1)[0][:8]
    try:
        return (dt.datetime.strptime(first, "%Y%m%d").date(), dt.datetime.strptime(last, "%Y%m%d").date())
    except ValueError:
        return None


_MINUTE_FILE = re.compile(r"^(\d{8})_trade\.zip$")


def survey(folder: Path) -> DataInventory:
    """Symbols, resolutions and date ranges in a LEAN data folder (reads daily/hour files, lists minute)."""
    equity = folder / EQUITY
    symbols: dict[str, SymbolData] = {}
    for resolution in ("daily", "hour"):
        for path in sorted((equity / resolution).glob("*.zip")):
            span = _bar_date_range(path)
            if span is not None:
                symbols.setdefault(path.stem.upper(), SymbolData(path.stem.upper())).ranges[resolution] = span
    minute_root = equity / "minute"
    if minute_root.is_dir():
        for directory in sorted(p for p in minute_root.iterdir() if p.is_dir()):
            days = sorted(dt.datetime.strptime(m.group(1), "%Y%m%d").date()
                          for p in directory.iterdir() if (m := _MINUTE_FILE.match(p.name)))
            if days:
                data = symbols.setdefault(directory.name.upper(), SymbolData(directory.name.upper()))
                data.ranges["minute"] = (days[0], days[-1])
                data.minute_days = len(days)
    marker = folder / SYNTHETIC_MARKER
    synthetic: dict[str, object] | None = None
    if marker.is_file():
        try:
            loaded = json.loads(marker.read_text(encoding="utf-8"))
            synthetic = loaded if isinstance(loaded, dict) else {"synthetic": True}
        except (OSError, ValueError):
            synthetic = {"synthetic": True, "note": "marker unreadable"}
    return DataInventory(
        folder=folder,
        symbols=dict(sorted(symbols.items())),
        synthetic=synthetic,
        has_market_hours=(folder / MARKET_HOURS_FILE).is_file(),
        has_interest_rates=(folder / INTEREST_RATE_FILE).is_file(),
        has_factor_files=len(list((equity / "factor_files").glob("*.csv"))),
        has_map_files=len(list((equity / "map_files").glob("*.csv"))),
    )
