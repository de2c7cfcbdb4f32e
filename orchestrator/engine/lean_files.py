"""Readers for LEAN's file formats: price zips, factor files, map files, the interest-rate file.

Formats (``shared/data/lean/README.md``): prices are integers in 1/10,000 dollar; daily and hour rows are
``yyyyMMdd HH:mm,o,h,l,c,v``; minute rows are ``ms_since_midnight,o,h,l,c,v`` (trade) or
``ms,bid o/h/l/c,bid size,ask o/h/l/c,ask size`` (quote). Rows are parsed with numpy's C tokenizer
(the hot path of a long backtest) and fall back to a tolerant Python parser for files with empty
fields. (Writing LEAN files is ``lean_writer.py``'s job.)
"""

from __future__ import annotations

import bisect
import datetime as dt
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import numpy as np

from orchestrator.errors import DataError

EQUITY_DIR = Path("equity") / "usa"
INTEREST_RATE_FILE = Path("alternative") / "interest-rate" / "usa" / "interest-rate.csv"
STILL_LISTED = dt.date(2050, 12, 31)


def daily_path(folder: Path, ticker: str) -> Path:
    return folder / EQUITY_DIR / "daily" / f"{ticker.lower()}.zip"


def hour_path(folder: Path, ticker: str) -> Path:
    return folder / EQUITY_DIR / "hour" / f"{ticker.lower()}.zip"


def intraday_path(folder: Path, resolution: str, ticker: str, date: dt.date, kind: str) -> Path:
    """``minute/<ticker>/<yyyyMMdd>_<trade|quote>.zip`` (and the same for second)."""
    return folder / EQUITY_DIR / resolution / ticker.lower() / f"{date:%Y%m%d}_{kind}.zip"


def read_zip_text(path: Path) -> str:
    """The text of the (single) CSV inside a LEAN zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if not names:
                raise DataError("the zip file is empty", path=path)
            return archive.read(names[0]).decode("ascii", errors="replace")
    except FileNotFoundError as exc:
        raise DataError("market data file not found", path=path) from exc
    except zipfile.BadZipFile as exc:
        raise DataError(f"not a valid zip file: {exc}", path=path) from exc


def _parse_int_table(text: str, columns: int, path: Path) -> list[list[int]]:
    """Rows of ``columns`` integers from comma-separated text (fast path: numpy)."""
    text = text.strip()
    if not text:
        return []
    flat_text = text.replace("\r", "").replace("\n", ",")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = np.fromstring(flat_text, dtype=np.int64, sep=",")
    rows = text.count("\n") + 1
    if values.size == rows * columns:
        return values.reshape(rows, columns).tolist()
    return _parse_int_table_slow(text, columns, path)


def _parse_int_table_slow(text: str, columns: int, path: Path) -> list[list[int]]:
    """Tolerant parser: empty fields become 0 (LEAN treats a missing bid or ask the same way)."""
    result = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != columns:
            raise DataError(f"line {number} has {len(fields)} fields, expected {columns}", path=path)
        try:
            result.append([round(float(f)) if f.strip() else 0 for f in fields])
        except ValueError as exc:
            raise DataError(f"line {number} is not numeric: {line!r}", path=path) from exc
    return result


def read_daily_or_hour(path: Path) -> list[list[int]]:
    """Rows ``[yyyymmdd, HH, MM, open, high, low, close, volume]`` (prices in 1/10,000 dollar).

    Cached per file and modification time: history requests re-read the same files.
    """
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError as exc:
        raise DataError("market data file not found", path=path) from exc
    return _read_daily_or_hour(str(path), mtime)


@lru_cache(maxsize=64)
def _read_daily_or_hour(name: str, mtime: float) -> list[list[int]]:
    path = Path(name)
    text = read_zip_text(path)
    # "20131007 00:00,1674300,..." -> "20131007,00,00,1674300,..." so that every field is an integer
    text = text.replace(" ", ",").replace(":", ",")
    return _parse_int_table(text, 8, path)


def read_minute_trades(path: Path) -> list[list[int]]:
    """Rows ``[ms, open, high, low, close, volume]``."""
    return _parse_int_table(read_zip_text(path), 6, path)


def read_minute_quotes(path: Path) -> list[list[int]]:
    """Rows ``[ms, bid o, h, l, c, bid size, ask o, h, l, c, ask size]``."""
    return _parse_int_table(read_zip_text(path), 11, path)


def _parse_yyyymmdd(text: str) -> dt.date:
    value = int(text)
    return dt.date(value // 10000, value // 100 % 100, value % 100)


@dataclass(frozen=True)
class FactorRow:
    date: dt.date
    price_factor: Decimal
    split_factor: Decimal
    reference_price: Decimal

    @property
    def factor(self) -> Decimal:
        return self.price_factor * self.split_factor


class FactorFile:
    """Price and split factors; the factor for date d is the earliest row dated on or after d."""

    def __init__(self, rows: list[FactorRow], path: Path | None) -> None:
        self.rows = sorted(rows, key=lambda r: r.date)
        self.path = path
        self._dates = [r.date for r in self.rows]

    @staticmethod
    def empty() -> FactorFile:
        return FactorFile([], None)

    def row_for(self, date: dt.date) -> FactorRow | None:
        index = bisect.bisect_left(self._dates, date)
        return self.rows[index] if index < len(self.rows) else None

    def price_scale(self, date: dt.date) -> Decimal:
        """PriceFactor x SplitFactor for ``date`` (1 past the last row or without a file)."""
        row = self.row_for(date)
        return row.factor if row is not None else Decimal(1)

    def split_scale(self, date: dt.date) -> Decimal:
        row = self.row_for(date)
        return row.split_factor if row is not None else Decimal(1)



def _csv_lines(file: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, line, comma-separated fields) of each non-blank line of a small ASCII CSV file."""
    for number, line in enumerate(file.read_text(encoding="ascii").splitlines(), start=1):
        if line.strip():
            yield number, line, line.strip().split(",")

@lru_cache(maxsize=256)
def _read_factor_file(path: str, mtime: float) -> FactorFile:
    rows = []
    file = Path(path)
    for number, line, fields in _csv_lines(file):
        try:
            rows.append(FactorRow(_parse_yyyymmdd(fields[0]), Decimal(fields[1]), Decimal(fields[2]),
                                  Decimal(fields[3]) if len(fields) > 3 and fields[3] else Decimal(0)))
        except (ValueError, IndexError, ArithmeticError) as exc:
            raise DataError(f"factor file line {number} is malformed: {line!r}", path=file) from exc
    return FactorFile(rows, file)


_NO_FACTORS = FactorFile([], None)


def read_factor_file(folder: Path, ticker: str) -> FactorFile:
    path = folder / EQUITY_DIR / "factor_files" / f"{ticker.lower()}.csv"
    if not path.is_file():
        return _NO_FACTORS  # one shared object: caches keyed by the factor file then match across runs
    return _read_factor_file(str(path), path.stat().st_mtime)


@dataclass(frozen=True)
class MapRow:
    date: dt.date
    ticker: str
    exchange: str


class MapFile:
    """Ticker history: each row means "up to and including this date, the data is under this ticker"."""

    def __init__(self, rows: list[MapRow], path: Path | None, requested: str) -> None:
        self.rows = sorted(rows, key=lambda r: r.date)
        self.path = path
        self.requested = requested.upper()

    @property
    def first_date(self) -> dt.date | None:
        return self.rows[0].date if self.rows else None

    @property
    def first_ticker(self) -> str:
        return self.rows[0].ticker if self.rows else self.requested

    @property
    def last_date(self) -> dt.date:
        return self.rows[-1].date if self.rows else STILL_LISTED

    @property
    def is_delisted(self) -> bool:
        return bool(self.rows) and self.rows[-1].date < STILL_LISTED

    def ticker_on(self, date: dt.date) -> str:
        for row in self.rows:
            if row.date >= date:
                return row.ticker
        return self.rows[-1].ticker if self.rows else self.requested

    def segments(self, start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date, str]]:
        """(first date, last date, ticker) ranges covering [start, end] within the listing."""
        if not self.rows:
            return [(start, end, self.requested)]
        result = []
        previous_end = self.rows[0].date - dt.timedelta(days=1)
        for row in self.rows:
            seg_start = max(previous_end + dt.timedelta(days=1), self.rows[0].date, start)
            seg_end = min(row.date, end)
            if seg_start <= seg_end:
                result.append((seg_start, seg_end, row.ticker))
            previous_end = row.date
        return result


@lru_cache(maxsize=256)
def _read_map_file(path: str, mtime: float, requested: str) -> MapFile:
    rows = []
    file = Path(path)
    for number, line, fields in _csv_lines(file):
        try:
            rows.append(MapRow(_parse_yyyymmdd(fields[0]), fields[1].upper(),
                               fields[2] if len(fields) > 2 else ""))
        except (ValueError, IndexError) as exc:
            raise DataError(f"map file line {number} is malformed: {line!r}", path=file) from exc
    return MapFile(rows, file, requested)


def read_map_file(folder: Path, ticker: str) -> MapFile:
    path = folder / EQUITY_DIR / "map_files" / f"{ticker.lower()}.csv"
    if not path.is_file():
        return MapFile([], None, ticker)
    return _read_map_file(str(path), path.stat().st_mtime, ticker.upper())


class InterestRates:
    """The primary-credit rate (as a fraction) in force on each date; flat before/after the file."""

    def __init__(self, dates: list[dt.date], rates: list[Decimal], path: Path | None) -> None:
        self.dates = dates
        self.rates = rates
        self.path = path

    def rate_on(self, date: dt.date) -> Decimal:
        if not self.dates:
            return Decimal(0)
        index = bisect.bisect_right(self.dates, date) - 1
        return self.rates[max(index, 0)]


@lru_cache(maxsize=16)
def _read_interest_rates(path: str, mtime: float) -> InterestRates:
    dates: list[dt.date] = []
    rates: list[Decimal] = []
    file = Path(path)
    for number, line, fields in _csv_lines(file):
        if len(fields) < 2 or not fields[0][:1].isdigit():
            continue  # header
        try:
            dates.append(dt.date.fromisoformat(fields[0]))
            rates.append(Decimal(fields[1]) / 100)
        except (ValueError, ArithmeticError) as exc:
            raise DataError(f"interest-rate line {number} is malformed: {line!r}", path=file) from exc
    order = sorted(range(len(dates)), key=dates.__getitem__)
    return InterestRates([dates[i] for i in order], [rates[i] for i in order], file)


def read_interest_rates(folder: Path) -> InterestRates:
    """LEAN's risk-free rate file; without one the rate is 0."""
    path = folder / INTEREST_RATE_FILE
    if not path.is_file():
        return InterestRates([], [], None)
    return _read_interest_rates(str(path), path.stat().st_mtime)
