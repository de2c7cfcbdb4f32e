"""CSV import into LEAN format: column and format detection, validation errors, minute aggregation, CLI."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest

from orchestrator.engine.importer import import_csv, import_csv_files, read_ohlcv, ticker_from_path
from orchestrator.engine.synth import generate_synthetic_data
from orchestrator.errors import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def lines_of(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        (name,) = archive.namelist()
        return archive.read(name).decode().splitlines()


def test_daily_file_with_any_column_order_case_and_delimiter(tmp_path: Path) -> None:
    source = write(tmp_path / "spy.csv", "VOLUME;Close;low;HIGH;open;DATE\n"
                   "1200;100.5;99;101;99.5;2021-03-02\n"
                   "1000;100;98.25;100.75;99;2021-03-01\n")
    result = import_csv(source, tmp_path / "data")
    assert (result.ticker, result.resolution, result.bars) == ("SPY", "daily", 2)
    assert "rows were not in time order: sorted" in result.notes
    # prices in 1/10000 dollar: 99 -> 990000, 100.75 -> 1007500, 98.25 -> 982500
    assert lines_of(tmp_path / "data" / "equity" / "usa" / "daily" / "spy.zip") == [
        "20210301 00:00,990000,1007500,982500,1000000,1000",
        "20210302 00:00,995000,1010000,990000,1005000,1200",
    ]
    assert (tmp_path / "data/equity/usa/map_files/spy.csv").read_text() == "20210301,spy\n20501231,spy\n"
    assert (tmp_path / "data/equity/usa/factor_files/spy.csv").read_text() == "20210301,1,1,1\n20501231,1,1,0\n"


def test_adj_close_scales_prices(tmp_path: Path) -> None:
    source = write(tmp_path / "QQQ.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n"
                   "2021-03-01,99,100.2,98.5,100,99.5,1200\n")
    import_csv(source, tmp_path / "data")
    # scale = 99.5/100 = 0.995: open 98.505, high 99.699, low 98.0075, close 99.5
    assert lines_of(tmp_path / "data/equity/usa/daily/qqq.zip") == ["20210301 00:00,985050,996990,980075,995000,1200"]
    import_csv(source, tmp_path / "raw", ignore_adj_close=True)
    assert lines_of(tmp_path / "raw/equity/usa/daily/qqq.zip") == ["20210301 00:00,990000,1002000,985000,1000000,1200"]


@pytest.mark.parametrize(("stamps", "expected"), [
    (["03/01/2021", "03/02/2021"], [dt.date(2021, 3, 1), dt.date(2021, 3, 2)]),  # month first
    (["25/02/2021", "26/02/2021"], [dt.date(2021, 2, 25), dt.date(2021, 2, 26)]),  # day first (25 > 12)
    (["20210301", "20210302"], [dt.date(2021, 3, 1), dt.date(2021, 3, 2)]),
    (["01.03.2021", "02.03.2021"], [dt.date(2021, 3, 1), dt.date(2021, 3, 2)]),
    # 2021-03-01 00:00 UTC: a daily bar keeps the date it was stamped with, not 2021-02-28 19:00 New York
    (["1614556800", "1614643200"], [dt.date(2021, 3, 1), dt.date(2021, 3, 2)]),
    (["2021-03-01T00:00:00+00:00", "2021-03-02T00:00:00+00:00"], [dt.date(2021, 3, 1), dt.date(2021, 3, 2)]),
])
def test_date_formats(tmp_path: Path, stamps: list[str], expected: list[dt.date]) -> None:
    source = write(tmp_path / "x.csv", "date,open,high,low,close\n" + "".join(f"{s},1,2,0.5,1.5\n" for s in stamps))
    bars = read_ohlcv(source)
    assert [t.date() for t in bars.times] == expected and bars.resolution == "daily"


def test_minute_bars_with_offsets_and_split_date_time_columns(tmp_path: Path) -> None:
    # 14:30 UTC in March 2021 (EST, UTC-5) is 09:30 New York
    source = write(tmp_path / "iwm.csv", "timestamp,open,high,low,close,volume\n"
                   "2021-03-01T14:30:00Z,10,10.2,9.9,10.1,100\n2021-03-01T14:31:00Z,10.1,10.3,10,10.2,200\n")
    bars = read_ohlcv(source)
    assert bars.resolution == "minute" and bars.times[0] == dt.datetime(2021, 3, 1, 9, 30)
    pair = write(tmp_path / "eem.csv", "Date,Time,Open,High,Low,Close,Volume\n"
                 "2021-03-01,09:30,1,1,1,1,5\n2021-03-01,09:31,1,1,1,1,5\n")
    assert read_ohlcv(pair).times[1] == dt.datetime(2021, 3, 1, 9, 31)
    ended = read_ohlcv(pair, timestamps="end")
    assert ended.times[0] == dt.datetime(2021, 3, 1, 9, 29)


def test_minute_import_writes_minutes_and_fills_daily_and_hour(tmp_path: Path) -> None:
    # 2020-11-27 closes at 13:00: bars at 08:00 (pre-market) and 13:00 are outside the session
    rows = ["2020-11-27 08:00,5,5,5,5,999", "2020-11-27 09:30,10,11,9,10.5,100",
            "2020-11-27 09:59,10.5,12,10,11,50", "2020-11-27 10:00,11,11.5,10.5,11.2,70",
            "2020-11-27 12:59,11.2,11.3,8,9,30", "2020-11-27 13:00,9,9,9,9,999"]
    source = write(tmp_path / "gld.csv", "datetime,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    result = import_csv(source, tmp_path / "data")
    equity = tmp_path / "data" / "equity" / "usa"
    minute = lines_of(equity / "minute" / "gld" / "20201127_trade.zip")
    # 09:30 = 34,200,000 ms after midnight
    assert len(minute) == 6 and minute[1] == "34200000,100000,110000,90000,105000,100"
    # daily from 09:30..12:59: open 10, high max(11,12,11.5,11.3) = 12, low min(9,10,10.5,8) = 8, close 9,
    # volume 100+50+70+30 = 250
    assert lines_of(equity / "daily" / "gld.zip") == ["20201127 00:00,100000,120000,80000,90000,250"]
    # hour bars: 09:00 (09:30-10:00) and 10:00 ... 12:00 as LEAN stamps them
    assert lines_of(equity / "hour" / "gld.zip") == [
        "20201127 09:00,100000,120000,90000,110000,150",
        "20201127 10:00,110000,115000,105000,112000,70",
        "20201127 12:00,112000,113000,80000,90000,30",
    ]
    assert result.resolution == "minute" and result.bars == 6


def test_daily_rows_replace_and_aggregates_only_fill_gaps(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    import_csv(write(tmp_path / "spy.csv", "date,open,high,low,close,volume\n2021-03-01,1,2,1,2,10\n"
                     "2021-03-02,2,3,2,3,10\n"), folder)
    import_csv(write(tmp_path / "spy2.csv", "date,open,high,low,close,volume\n2021-03-02,4,5,4,5,20\n"
                     "2021-03-03,5,6,5,6,20\n"), folder, ticker="SPY")
    daily = folder / "equity" / "usa" / "daily" / "spy.zip"
    assert [line.split(",")[0] for line in lines_of(daily)] == ["20210301 00:00", "20210302 00:00", "20210303 00:00"]
    assert lines_of(daily)[1] == "20210302 00:00,40000,50000,40000,50000,20"  # the newer file won
    import_csv(write(tmp_path / "spy_1min.csv", "datetime,open,high,low,close,volume\n"
                     "2021-03-03 09:30,9,9,9,9,1\n2021-03-03 09:31,9,9,9,9,1\n"), folder)
    assert lines_of(daily)[2] == "20210303 00:00,50000,60000,50000,60000,20"  # not replaced by the aggregate


@pytest.mark.parametrize(("body", "message"), [
    ("2021-03-01,1,2,0.5,abc,10\n", r"line 2, column 'close': 'abc' is not a number"),
    ("2021-03-01,1,2,0.5\n", r"line 2: 4 fields, but the header has 6"),
    ("2021-03-01,1,0.5,2,1,10\n", r"line 2: high 0.5 is below low 2"),
    ("2021-03-01,3,2,0.5,1,10\n", r"line 2: open 3 or close 1 lies outside low 0.5 .. high 2"),
    ("2021-03-01,1,2,0.5,1,10\n2021-03-01,1,2,0.5,1,10\n", r"lines 2 and 3: duplicate timestamp"),
    ("2021-03-01,0,2,0.5,1,10\n", r"column 'open': price 0 is not above 0"),
    ("2021-03-01,1,2,0.5,1,-5\n", r"column 'volume': volume -5 is negative"),
    ("2021-03-01,1,2,0.5,nan,10\n", r"'nan' is not a finite number"),
    ("2021-03-01,1,2,0.5,1,10\nyesterday,1,2,0.5,1,10\n", r"cannot read the timestamp|does not match"),
])
def test_malformed_rows_name_file_line_and_column(tmp_path: Path, body: str, message: str) -> None:
    source = write(tmp_path / "bad.csv", "date,open,high,low,close,volume\n" + body)
    with pytest.raises(DataError, match=message) as caught:
        read_ohlcv(source)
    assert str(source) in str(caught.value)


def test_missing_columns_and_headers(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing column\(s\) high, low"):
        read_ohlcv(write(tmp_path / "a.csv", "date,open,close\n2021-03-01,1,1\n"))
    with pytest.raises(DataError, match="no timestamp column"):
        read_ohlcv(write(tmp_path / "b.csv", "when,open,high,low,close\nx,1,1,1,1\n"))
    with pytest.raises(DataError, match="holds no column names"):
        read_ohlcv(write(tmp_path / "c.csv", "2021-03-01,1,1,1,1\n"))
    with pytest.raises(DataError, match="5 minutes apart"):
        read_ohlcv(write(tmp_path / "d.csv", "datetime,open,high,low,close\n2021-03-01 09:30,1,1,1,1\n"
                         "2021-03-01 09:35,1,1,1,1\n"))


def test_fix_high_low_widens_instead(tmp_path: Path) -> None:
    bars = read_ohlcv(write(tmp_path / "a.csv", "date,open,high,low,close\n2021-03-01,3,2,0.5,1\n"), fix_high_low=True)
    assert (bars.high[0], bars.low[0]) == (3, 0.5)


def test_all_files_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    good = write(tmp_path / "spy.csv", "date,open,high,low,close\n2021-03-01,1,2,0.5,1\n")
    bad = write(tmp_path / "qqq.csv", "date,open,high,low,close\n2021-03-01,1,2,0.5,x\n")
    with pytest.raises(DataError, match=r"qqq\.csv, line 2"):
        import_csv_files([good, bad], tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_tickers_from_names_and_the_synthetic_guard(tmp_path: Path) -> None:
    assert ticker_from_path(Path("SPY.csv")) == "SPY"
    assert ticker_from_path(Path("spy_1min.csv")) == "SPY"
    assert ticker_from_path(Path("brk.b.csv")) == "BRK.B"
    with pytest.raises(DataError, match="pass --ticker"):
        ticker_from_path(Path("123.csv"))
    synthetic = tmp_path / "synthetic"
    generate_synthetic_data(synthetic, symbols=["SPY"], start=dt.date(2021, 3, 1), end=dt.date(2021, 3, 5),
                            minute_days=0)
    with pytest.raises(DataError, match="synthetic data"):
        import_csv(write(tmp_path / "spy.csv", "date,open,high,low,close\n2021-03-01,1,2,0.5,1\n"), synthetic)


def test_cli_import_and_info(tmp_path: Path, cli) -> None:
    write(tmp_path / "SPY.csv",
          "Date,Open,High,Low,Close,Volume\n2021-03-01,1,2,0.5,1.5,10\n2021-03-02,1,2,0.5,1.5,10\n")
    result = cli(["data", "import", "SPY.csv", "--output", "lean"], cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "SPY: 2 daily bars 2021-03-01 .. 2021-03-02" in result.stdout
    info = cli(["data", "info", "lean"], cwd=tmp_path)
    assert info.code == 0 and "LEAN-format market data" in info.stdout and "SYNTHETIC" not in info.stdout
    assert "SPY  daily 2021-03-01 .. 2021-03-02" in info.stdout
    failed = cli(["data", "import", "SPY.csv", "--output", "lean", "--ticker", "A", "--resolution", "minute"],
                 cwd=tmp_path)
    assert failed.code == 1 and "holds daily bars" in failed.stderr
