"""Import OHLCV CSV files (one per symbol) into a LEAN-format data folder.

What a file must look like
  * A header row naming the columns, in any order and case: a timestamp (``date``, ``datetime``,
    ``time``, ``timestamp``, or separate ``date`` and ``time`` columns), ``open``, ``high``, ``low``,
    ``close`` and optionally ``volume`` and ``adj close``. Delimiter ``,``, ``;``, tab or ``|``.
  * Timestamps in New York time: ISO dates/times (``2021-03-01``, ``2021-03-01 09:30[:00]``,
    ``2021-03-01T09:30:00-05:00``; offsets and ``Z`` are converted to New York time), ``20210301[ 09:30]``,
    ``03/01/2021[ 09:30]`` (month first; day first when a day is above 12), ``01.03.2021``, or Unix
    epoch seconds or milliseconds. ``date_format`` (strptime) overrides the detection.
  * Minute bars are stamped at the bar's **start** (LEAN's convention); ``timestamps="end"`` shifts
    end-stamped bars back one minute.

What happens
  * Daily or minute resolution is detected from the timestamps (date-only or one row per day ->
    daily; one minute apart -> minute). Other spacings are rejected.
  * Rows in any order are **sorted**; duplicate timestamps are **rejected** (naming both lines).
  * Malformed rows are rejected with file, line and column: a field that is not a number, a missing
    field, a price not above 0, ``high < low``, or open/close outside [low, high] (``fix_high_low``
    widens the bar instead).
  * With an ``adj close`` column, open/high/low/close are scaled by ``adj close / close`` so that the
    files hold dividend- and split-adjusted prices (``ignore_adj_close`` keeps the raw prices).
  * Daily files merge with an existing file (imported rows replace rows of the same date). Minute
    files are written per day (trade bars only); their regular-session (09:30-16:00, 13:00 on early
    closes) aggregates also fill daily and hour dates that are not there yet.
  * A map file and a factor file without adjustments are created when absent.
  * A folder marked synthetic is refused: real and synthetic prices must not mix.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
import re
import zipfile
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.engine import calendar
from orchestrator.engine import lean_writer as lw
from orchestrator.errors import DataError

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
_TICKER = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")
_SESSION_OPEN = dt.time(9, 30)

_ALIASES: dict[str, tuple[str, ...]] = {
    "datetime": ("datetime", "timestamp", "dateandtime", "datetimeutc", "timestamputc", "dt"),
    "date": ("date", "day", "tradedate", "tradingday"),
    "time": ("time", "timeofday"),
    "open": ("open", "o", "openprice", "opening"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "closeprice", "last", "lastprice"),
    "adj_close": ("adjclose", "adjustedclose", "adjcloseprice", "closeadj", "adjustedcloseprice"),
    "volume": ("volume", "vol", "v", "totalvolume"),
}


@dataclass
class Bars:
    """Parsed bars of one file, sorted by time; prices in dollars."""

    times: list[dt.datetime]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[int]
    resolution: str
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """What one imported file became."""

    source: Path
    ticker: str
    resolution: str
    bars: int
    first: dt.datetime
    last: dt.datetime
    written: list[Path]
    notes: list[str]

    def line(self) -> str:
        span = (f"{self.first:%Y-%m-%d} .. {self.last:%Y-%m-%d}" if self.resolution == "daily"
                else f"{self.first:%Y-%m-%d %H:%M} .. {self.last:%Y-%m-%d %H:%M}")
        return f"{self.ticker}: {self.bars} {self.resolution} bars {span} from {self.source.name}"


# -- reading --------------------------------------------------------------------------------------

def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _find_columns(header: Sequence[str], source: Path) -> dict[str, int]:
    """Which column holds what; errors name the file and the columns found."""
    found: dict[str, int] = {}
    for index, raw in enumerate(header):
        key = _normal(raw)
        for role, aliases in _ALIASES.items():
            if key in aliases:
                if role in found:
                    raise DataError(
                        f"{source}: columns '{header[found[role]]}' and '{raw}' both look like {role}",
                        hint="rename or remove one of them")
                found[role] = index
    if "datetime" not in found and "date" not in found and "time" not in found:
        raise DataError(
            f"{source}: no timestamp column (looked for date, datetime, time or timestamp among: "
            f"{', '.join(header)})", hint="add a header row naming the columns, e.g. date,open,high,low,close,volume")
    missing = [role for role in ("open", "high", "low", "close") if role not in found]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)} (header: {', '.join(header)})",
                        hint="the file needs open, high, low and close columns")
    return found


def _sniff(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _timestamp_text(fields: Sequence[str], columns: dict[str, int]) -> str:
    if "datetime" in columns:
        return fields[columns["datetime"]].strip()
    if "date" in columns and "time" in columns:
        return f"{fields[columns['date']].strip()} {fields[columns['time']].strip()}"
    return fields[columns.get("date", columns.get("time", 0))].strip()


_STRPTIME_FORMATS = (
    "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%Y/%m/%d", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S",
    "%Y%m%d %H%M%S", "%Y-%m-%d %H:%M:%S.%f", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p",
)


def _iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _epoch(text: str) -> dt.datetime:
    if not text.isdigit() or len(text) not in (10, 13):
        raise ValueError("not epoch seconds or milliseconds")
    seconds = int(text) / (1000 if len(text) == 13 else 1)
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _strptime(fmt: str) -> Callable[[str], dt.datetime]:
    return lambda text: dt.datetime.strptime(text, fmt)


def _choose_parser(texts: Sequence[str], date_format: str | None) -> tuple[str, Callable[[str], dt.datetime]]:
    """The first format that reads every timestamp (ISO first, then common layouts, then epoch)."""
    if date_format:
        return date_format, _strptime(date_format)
    candidates: list[tuple[str, Callable[[str], dt.datetime]]] = [("ISO 8601", _iso)]
    candidates += [(fmt, _strptime(fmt)) for fmt in _STRPTIME_FORMATS]
    candidates.append(("Unix epoch", _epoch))
    sample = list(texts[:200])
    for name, parser in candidates:
        try:
            for text in sample:
                parser(text)
        except ValueError:
            continue
        try:
            for text in texts[200:]:
                parser(text)
        except ValueError:
            continue
        return name, parser
    return "", _iso


def _to_new_york(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(NEW_YORK).replace(tzinfo=None)


def _number(text: str, source: Path, line: int, column: str) -> float:
    try:
        value = float(text.strip().replace(",", "") if text.count(",") and "." in text else text.strip())
    except ValueError:
        raise DataError(f"{source}, line {line}, column '{column}': '{text}' is not a number",
                        hint="fix or delete that row") from None
    if not math.isfinite(value):
        raise DataError(f"{source}, line {line}, column '{column}': '{text}' is not a finite number",
                        hint="fix or delete that row")
    return value


def read_ohlcv(
    source: Path | str, *, date_format: str | None = None, ignore_adj_close: bool = False,
    timestamps: str = "start", fix_high_low: bool = False, resolution: str = "auto",
) -> Bars:
    """Parse and validate one OHLCV CSV file (see the module docstring)."""
    source = Path(source)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {source}: {exc}", path=source) from exc
    lines = text.splitlines()
    rows = [(number, fields) for number, fields in enumerate(csv.reader(lines, _sniff("\n".join(lines[:20]))), 1)
            if any(f.strip() for f in fields)]
    if not rows:
        raise DataError(f"{source} is empty", path=source)
    header_line, header = rows[0]
    if not any(ch.isalpha() for ch in "".join(header)):
        raise DataError(f"{source}, line {header_line}: the first row holds no column names",
                        hint="add a header row, e.g. date,open,high,low,close,volume")
    columns = _find_columns(header, source)
    width = max(columns.values()) + 1
    body = rows[1:]
    if not body:
        raise DataError(f"{source} has a header but no data rows", path=source)
    for number, fields in body:
        if len(fields) < width:
            raise DataError(f"{source}, line {number}: {len(fields)} fields, but the header has {len(header)}",
                            hint="fix or delete that row")
    stamps = [_timestamp_text(fields, columns) for _, fields in body]
    fmt, parser = _choose_parser(stamps, date_format)
    if not fmt:
        number, _ = body[0]
        raise DataError(f"{source}, line {number}: cannot read the timestamp '{stamps[0]}'",
                        hint="use ISO dates like 2021-03-01 or 2021-03-01 09:30, or pass --date-format")
    times: list[dt.datetime] = []
    written: list[dt.datetime] = []  # as stamped, in the file's own zone
    for (number, _), stamp in zip(body, stamps, strict=True):
        try:
            moment = parser(stamp)
            times.append(_to_new_york(moment))
            written.append(moment.replace(tzinfo=None))
        except ValueError:
            raise DataError(f"{source}, line {number}: timestamp '{stamp}' does not match the file's format ({fmt})",
                            hint="fix that row, or pass --date-format") from None
    notes: list[str] = []
    if fmt in ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S") and all(t.day <= 12 for t in times):
        notes.append("day and month are ambiguous (no day above 12): read as month/day/year")
    if _is_daily(written, resolution):
        # a daily bar belongs to the date written in the file, whatever zone it is stamped in
        # (epoch or UTC midnights would otherwise land on the previous New York day)
        times = [dt.datetime.combine(moment.date(), dt.time()) for moment in written]
    return _validate(source, header, body, columns, times=times, notes=notes, ignore_adj_close=ignore_adj_close,
                     timestamps=timestamps, fix_high_low=fix_high_low, resolution=resolution)


def _is_daily(times: Sequence[dt.datetime], wanted: str) -> bool:
    """Date-only (midnight) stamps, or at most one row per date, mean daily bars."""
    if wanted == "minute":
        return False
    dates = [t.date() for t in times]
    return all(t.time() == dt.time() for t in times) or len(set(dates)) == len(dates)


def _validate(
    source: Path, header: Sequence[str], body: Sequence[tuple[int, list[str]]], columns: dict[str, int], *,
    times: list[dt.datetime], notes: list[str], ignore_adj_close: bool, timestamps: str, fix_high_low: bool,
    resolution: str,
) -> Bars:
    names = {role: header[index].strip() for role, index in columns.items()}
    use_adj = "adj_close" in columns and not ignore_adj_close
    records: list[tuple[dt.datetime, int, float, float, float, float, int]] = []
    for (number, fields), moment in zip(body, times, strict=True):
        values = {role: _number(fields[columns[role]], source, number, names[role])
                  for role in ("open", "high", "low", "close")}
        for role, value in values.items():
            if value <= 0:
                raise DataError(f"{source}, line {number}, column '{names[role]}': price {value:g} is not above 0",
                                hint="fix or delete that row")
        o, h, low, c = values["open"], values["high"], values["low"], values["close"]
        if h < low:
            raise DataError(f"{source}, line {number}: high {h:g} is below low {low:g}", hint="fix or delete that row")
        if not low <= o <= h or not low <= c <= h:
            if not fix_high_low:
                raise DataError(
                    f"{source}, line {number}: open {o:g} or close {c:g} lies outside low {low:g} .. high {h:g}",
                    hint="fix that row, or pass --fix-high-low to widen such bars")
            h, low = max(h, o, c), min(low, o, c)
        if use_adj:
            adjusted = _number(fields[columns["adj_close"]], source, number, names["adj_close"])
            scale = adjusted / c
            o, h, low, c = o * scale, h * scale, low * scale, adjusted
        volume = 0
        if "volume" in columns:
            raw_volume = _number(fields[columns["volume"]], source, number, names["volume"])
            if raw_volume < 0:
                raise DataError(f"{source}, line {number}, column '{names['volume']}': volume {raw_volume:g} is "
                                "negative", hint="fix or delete that row")
            volume = round(raw_volume)
        records.append((moment, number, o, h, low, c, volume))
    if use_adj:
        notes.append("prices scaled by adj close / close (dividend- and split-adjusted)")
    if "volume" not in columns:
        notes.append("no volume column: volumes are 0")
    if any(later[0] < earlier[0] for earlier, later in itertools.pairwise(records)):
        notes.append("rows were not in time order: sorted")
    records.sort(key=lambda r: r[0])
    for earlier, later in itertools.pairwise(records):
        if earlier[0] == later[0]:
            raise DataError(f"{source}, lines {earlier[1]} and {later[1]}: duplicate timestamp {later[0]}",
                            hint="remove one of the two rows")
    detected = _detect_resolution(source, [r[0] for r in records], resolution)
    if detected == "minute" and timestamps == "end":
        records = [(r[0] - dt.timedelta(minutes=1), *r[1:]) for r in records]
    if detected == "daily":
        records = [(dt.datetime.combine(r[0].date(), dt.time()), *r[1:]) for r in records]
    return Bars(
        times=[r[0] for r in records], open=[r[2] for r in records], high=[r[3] for r in records],
        low=[r[4] for r in records], close=[r[5] for r in records], volume=[r[6] for r in records],
        resolution=detected, notes=notes,
    )


def _detect_resolution(source: Path, times: Sequence[dt.datetime], wanted: str) -> str:
    dates = [t.date() for t in times]
    one_per_day = len(set(dates)) == len(dates)
    if all(t.time() == dt.time() for t in times) or (one_per_day and wanted in ("auto", "daily")):
        if wanted == "minute":
            raise DataError(f"{source} holds daily bars, not minute bars", hint="drop --resolution minute")
        return "daily"
    gaps = [int((b - a).total_seconds()) for a, b in itertools.pairwise(times) if a.date() == b.date()]
    spacing = min(gaps) if gaps else 0
    if spacing != 60:
        spacing_text = f"{spacing // 60} minutes" if spacing % 60 == 0 else f"{spacing} seconds"
        raise DataError(
            f"{source}: bars on the same day are {spacing_text} apart; qcloop imports daily or 1-minute bars",
            hint="resample the file to 1-minute or daily bars first")
    if wanted == "daily":
        raise DataError(f"{source} holds minute bars", hint="drop --resolution daily; daily bars are derived")
    return "minute"


# -- writing --------------------------------------------------------------------------------------

def ticker_from_path(path: Path) -> str:
    """``spy.csv`` -> SPY, ``SPY_1min.csv`` -> SPY; errors when no ticker can be read from the name."""
    stem = path.name.split(".csv")[0] if path.name.lower().endswith(".csv") else path.stem
    for candidate in (stem, re.split(r"[_\- ]", stem)[0]):
        if _TICKER.match(candidate.upper()):
            return candidate.upper()
    raise DataError(f"cannot tell the ticker from the file name {path.name}", hint="pass --ticker TICKER")


def _price(value: float) -> int:
    return round(value * lw.PRICE_SCALE)


def _existing_rows(path: Path) -> dict[str, str]:
    """An existing daily/hour file's rows keyed by their timestamp text."""
    if not path.is_file():
        return {}
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        text = archive.read(names[0]).decode("ascii") if names else ""
    return {line.split(",", 1)[0]: line for line in text.splitlines() if line.strip()}


def _merge_write(path: Path, member: str, new_rows: dict[str, str], *, replace: bool) -> bool:
    """Merge rows into a daily/hour archive; ``replace`` lets new rows win, else only gaps are filled."""
    rows = _existing_rows(path)
    changed = False
    for key, line in new_rows.items():
        if replace or key not in rows:
            changed = changed or rows.get(key) != line
            rows[key] = line
    if changed or not path.exists():
        lw.write_zip(path, member, "\n".join(rows[k] for k in sorted(rows)) + "\n")
        return True
    return False


Ohlcv = tuple[float, float, float, float, int]


def _row(stamp: str, bar: Ohlcv) -> str:
    o, h, low, c, v = bar
    return f"{stamp},{_price(o)},{_price(h)},{_price(low)},{_price(c)},{v}"


def _aggregate(items: Sequence[Ohlcv]) -> Ohlcv:
    return (items[0][0], max(i[1] for i in items), min(i[2] for i in items), items[-1][3], sum(i[4] for i in items))


def _session_aggregates(bars: Bars) -> tuple[dict[str, str], dict[str, str]]:
    """Daily and LEAN hour bars (09:00 = 09:30-10:00, 10:00, ...) from regular-session minutes."""
    by_day: dict[dt.date, list[tuple[dt.datetime, Ohlcv]]] = {}
    for i, moment in enumerate(bars.times):
        close = calendar.close_time(moment.date())
        if close is None or not _SESSION_OPEN <= moment.time() < close:
            continue
        by_day.setdefault(moment.date(), []).append(
            (moment, (bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i])))
    daily: dict[str, str] = {}
    hourly: dict[str, str] = {}
    for day, minutes in by_day.items():
        daily[f"{day:%Y%m%d} 00:00"] = _row(f"{day:%Y%m%d} 00:00", _aggregate([m[1] for m in minutes]))
        hours: dict[int, list[Ohlcv]] = {}
        for moment, bar in minutes:  # LEAN's 09:00 hour bar holds 09:30-09:59
            hours.setdefault(moment.hour, []).append(bar)
        for hour, parts in hours.items():
            stamp = f"{day:%Y%m%d} {hour:02d}:00"
            hourly[stamp] = _row(stamp, _aggregate(parts))
    return daily, hourly


def _ensure_map_and_factor(folder: Path, ticker: str, first: dt.date, written: list[Path], notes: list[str]) -> None:
    """Create a map file and an unadjusted factor file, or move our own ones' first date earlier."""
    t = ticker.lower()
    map_path, factor_path = lw.map_file(folder, ticker), lw.factor_file(folder, ticker)
    ours_map = [f"{lw.LAST_MAP_DATE},{t}"]
    if map_path.is_file():
        lines = map_path.read_text().split()
        if len(lines) == 2 and lines[1] == ours_map[0] and lines[0].endswith(f",{t}"):
            if lines[0][:8] > f"{first:%Y%m%d}":
                lw.write_text(map_path, f"{first:%Y%m%d},{t}\n{ours_map[0]}\n")
                written.append(map_path)
        elif lines and lines[0][:8] > f"{first:%Y%m%d}":
            notes.append(f"{map_path.name} starts on {lines[0][:8]}: LEAN reads {ticker} only from that date")
    else:
        lw.write_text(map_path, f"{first:%Y%m%d},{t}\n{ours_map[0]}\n")
        written.append(map_path)
    identity = f"{lw.LAST_MAP_DATE},1,1,0"
    if factor_path.is_file():
        lines = factor_path.read_text().split()
        ours = len(lines) == 2 and lines[1] == identity and lines[0].endswith(",1,1,1")
        if ours and lines[0][:8] > f"{first:%Y%m%d}":
            lw.write_text(factor_path, f"{first:%Y%m%d},1,1,1\n{identity}\n")
            written.append(factor_path)
    else:
        lw.write_text(factor_path, f"{first:%Y%m%d},1,1,1\n{identity}\n")
        written.append(factor_path)


def write_bars(folder: Path, ticker: str, bars: Bars) -> list[Path]:
    """Write parsed bars into the LEAN folder; returns the files written."""
    written: list[Path] = []
    t = ticker.lower()
    if bars.resolution == "daily":
        rows = {f"{m:%Y%m%d} 00:00": _row(f"{m:%Y%m%d} 00:00", (o, h, low, c, v))
                for m, o, h, low, c, v in zip(bars.times, bars.open, bars.high, bars.low, bars.close, bars.volume,
                                              strict=True)}
        path = lw.daily_zip(folder, ticker)
        _merge_write(path, f"{t}.csv", rows, replace=True)
        written.append(path)
    else:
        by_day: dict[dt.date, list[str]] = {}
        for m, o, h, low, c, v in zip(bars.times, bars.open, bars.high, bars.low, bars.close, bars.volume,
                                      strict=True):
            milliseconds = (m.hour * 3600 + m.minute * 60 + m.second) * 1000
            by_day.setdefault(m.date(), []).append(_row(str(milliseconds), (o, h, low, c, v)))
        for day, lines in by_day.items():
            path = lw.minute_zip(folder, ticker, day, "trade")
            lw.write_zip(path, lw.minute_member(ticker, day, "trade"), "\n".join(lines) + "\n")
            written.append(path)
        daily, hourly = _session_aggregates(bars)
        if daily and _merge_write(lw.daily_zip(folder, ticker), f"{t}.csv", daily, replace=False):
            written.append(lw.daily_zip(folder, ticker))
        if hourly and _merge_write(lw.hour_zip(folder, ticker), f"{t}.csv", hourly, replace=False):
            written.append(lw.hour_zip(folder, ticker))
    _ensure_map_and_factor(folder, ticker, bars.times[0].date(), written, bars.notes)
    return written


def _refuse_synthetic(folder: Path) -> None:
    if (folder / lw.SYNTHETIC_MARKER).is_file():
        raise DataError(
            f"{folder} holds qcloop's synthetic data; imported real prices must not mix with it",
            hint="import into another folder (--output DIR) and point data.folder in qcloop.yaml at it",
        )


def import_csv_files(
    sources: Iterable[Path | str], folder: Path | str, *, ticker: str | None = None,
    date_format: str | None = None, ignore_adj_close: bool = False, timestamps: str = "start",
    fix_high_low: bool = False, resolution: str = "auto",
) -> list[ImportResult]:
    """Import CSV files into a LEAN data folder (made if needed).

    Every file is read and validated before anything is written, so a bad row in the last file
    leaves the folder untouched. ``ticker`` names the symbol of a single file.
    """
    paths, folder = [Path(s) for s in sources], Path(folder)
    if ticker is not None and len(paths) != 1:
        raise DataError(f"a ticker can name only one file, got {len(paths)} files",
                        hint="import the files one at a time, or name them after their tickers")
    _refuse_synthetic(folder)
    parsed: list[tuple[Path, str, Bars]] = []
    for path in paths:
        name = (ticker or ticker_from_path(path)).strip().upper()
        if not _TICKER.match(name):
            raise DataError(f"'{name}' is not a ticker (letters, digits and dots, starting with a letter)")
        bars = read_ohlcv(path, date_format=date_format, ignore_adj_close=ignore_adj_close,
                          timestamps=timestamps, fix_high_low=fix_high_low, resolution=resolution)
        parsed.append((path, name, bars))
    results = []
    for path, name, bars in parsed:
        written = write_bars(folder, name, bars)
        results.append(ImportResult(path, name, bars.resolution, len(bars.times), bars.times[0], bars.times[-1],
                                    written, bars.notes))
    return results


def import_csv(source: Path | str, folder: Path | str, **options: object) -> ImportResult:
    """Import one CSV file; the options are those of ``import_csv_files``."""
    return import_csv_files([source], folder, **options)[0]  # type: ignore[arg-type]
