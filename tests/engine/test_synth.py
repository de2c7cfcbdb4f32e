"""Synthetic LEAN data: layout, consistency across resolutions, determinism, statistics, planted effects.

The files are read back with the small independent reader below (LEAN's documented formats), not
with qcloop's own writer code.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from orchestrator.engine import calendar
from orchestrator.engine.synth import generate_synthetic_data
from orchestrator.errors import ConfigError, DataError

D = dt.date


# -- a tiny reader of LEAN's formats --------------------------------------------------------------

def read_zip_csv(path: Path) -> list[list[str]]:
    with zipfile.ZipFile(path) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode("ascii")
    return [line.split(",") for line in text.splitlines()]


def read_bars(path: Path) -> dict[str, np.ndarray]:
    """Daily or hour file -> {'yyyyMMdd HH:mm': [open, high, low, close, volume]} (prices in dollars)."""
    return {row[0]: np.array([int(v) for v in row[1:]], dtype=float) / [1e4, 1e4, 1e4, 1e4, 1]
            for row in read_zip_csv(path)}


def daily_closes(folder: Path, ticker: str) -> tuple[list[dt.date], np.ndarray]:
    rows = read_zip_csv(folder / "equity" / "usa" / "daily" / f"{ticker}.zip")
    return ([dt.datetime.strptime(r[0], "%Y%m%d %H:%M").date() for r in rows],
            np.array([int(r[4]) / 1e4 for r in rows]))


def factor_rows(folder: Path, ticker: str) -> list[tuple[dt.date, float, float, float]]:
    lines = (folder / "equity" / "usa" / "factor_files" / f"{ticker}.csv").read_text().split()
    return [(dt.datetime.strptime(f[0], "%Y%m%d").date(), float(f[1]), float(f[2]), float(f[3]))
            for f in (line.split(",") for line in lines)]


def adjusted_closes(folder: Path, ticker: str) -> tuple[list[dt.date], np.ndarray]:
    """LEAN's Adjusted mode: raw × price_factor × split_factor of the earliest row dated on or after the day."""
    days, closes = daily_closes(folder, ticker)
    rows = factor_rows(folder, ticker)
    out, j = [], 0
    for day, close in zip(days, closes, strict=True):
        while rows[j][0] < day:
            j += 1
        out.append(close * rows[j][1] * rows[j][2])
    return days, np.array(out)


def marker(folder: Path) -> dict:
    return json.loads((folder / ".qcloop-synthetic.json").read_text())


# -- layout -------------------------------------------------------------------------------------

def test_layout_marker_and_labels(synthetic_data: Path) -> None:
    equity = synthetic_data / "equity" / "usa"
    for ticker in ["spy", "qqq", "iwm", "eem", "tlt", "gld"]:
        assert (equity / "daily" / f"{ticker}.zip").is_file()
        assert (equity / "map_files" / f"{ticker}.csv").read_text().splitlines() == [
            f"19980102,{ticker},{'Q' if ticker in ('qqq', 'tlt') else 'P'}", f"20501231,{ticker},"
            f"{'Q' if ticker in ('qqq', 'tlt') else 'P'}"]
        assert factor_rows(synthetic_data, ticker)[-1] == (D(2050, 12, 31), 1.0, 1.0, 0.0)
        for day in ["20210329", "20210330", "20210331"]:
            assert (equity / "minute" / ticker / f"{day}_trade.zip").is_file()
            assert (equity / "minute" / ticker / f"{day}_quote.zip").is_file()
    assert (equity / "hour" / "spy.zip").is_file() and not (equity / "hour" / "qqq.zip").exists()
    with zipfile.ZipFile(equity / "minute" / "spy" / "20210331_trade.zip") as archive:
        assert archive.namelist() == ["20210331_spy_minute_trade.csv"]
    info = marker(synthetic_data)
    assert info["synthetic"] is True and "synthetic data" in info["warning"].lower()
    assert info["seed"] == 7 and info["symbols"] == ["SPY", "QQQ", "IWM", "EEM", "TLT", "GLD"]
    assert info["start"] == "1998-01-02" and info["end"] == "2021-03-31" and info["complete"] is True
    assert "SYNTHETIC" in (synthetic_data / "README.md").read_text()


def test_trading_days_follow_the_nyse_calendar(synthetic_data: Path) -> None:
    days, _ = daily_closes(synthetic_data, "spy")
    assert days == calendar.trading_days(D(1998, 1, 2), D(2021, 3, 31))
    for closed in [D(2001, 9, 11), D(2012, 10, 29), D(2021, 1, 18), D(2020, 4, 10), D(2004, 6, 11)]:
        assert closed not in days
    hours = read_bars(synthetic_data / "equity" / "usa" / "hour" / "spy.zip")
    assert {key[:8] for key in hours} == {f"{d:%Y%m%d}" for d in days}


def test_interest_rates_and_market_hours_files(synthetic_data: Path) -> None:
    lines = (synthetic_data / "alternative" / "interest-rate" / "usa" / "interest-rate.csv").read_text().split()
    assert lines[0] == "DATE,PCREDIT8" and lines[1].startswith("1998-01-02,")
    for line in lines[1:]:
        day, rate = line.split(",")
        dt.date.fromisoformat(day)
        assert 0.25 <= float(rate) <= 6.5
    doc = json.loads((synthetic_data / "market-hours" / "market-hours-database.json").read_text())
    entry = doc["entries"]["Equity-usa-[*]"]
    assert "9/11/2001" in entry["holidays"] and entry["earlyCloses"]["11/27/2020"] == "13:00:00"
    assert entry["monday"][1] == {"start": "09:30:00", "end": "16:00:00", "state": "market"}


def test_the_engine_reads_the_market_hours(synthetic_data: Path) -> None:
    market_hours = pytest.importorskip("orchestrator.engine.market_hours")
    hours = market_hours.load_exchange_hours(synthetic_data)
    assert D(2001, 9, 11) in hours.holidays and hours.early_closes[D(2020, 11, 27)] == dt.time(13)


# -- consistency across resolutions -------------------------------------------------------------

def test_hour_bars_aggregate_to_daily_bars(synthetic_data: Path) -> None:
    equity = synthetic_data / "equity" / "usa"
    daily = read_bars(equity / "daily" / "spy.zip")
    hours = read_bars(equity / "hour" / "spy.zip")
    by_day: dict[str, list[np.ndarray]] = {}
    for stamp, bar in hours.items():
        by_day.setdefault(stamp[:8], []).append(bar)
    for stamp, bar in daily.items():
        parts = np.array(by_day[stamp[:8]])
        expected = [parts[0, 0], parts[:, 1].max(), parts[:, 2].min(), parts[-1, 3], parts[:, 4].sum()]
        assert bar == pytest.approx(expected), stamp
        assert bar[2] <= min(bar[0], bar[3]) <= max(bar[0], bar[3]) <= bar[1]
    assert len(by_day["20201127"]) == 4  # an early close: 09:30-10:00, 10, 11, 12 o'clock bars
    assert len(by_day["20201130"]) == 7
    assert sorted(s[9:] for s in hours if s.startswith("20201130")) == [f"{h:02d}:00" for h in range(9, 16)]


def test_minute_trades_and_quotes_are_consistent(synthetic_data: Path) -> None:
    equity = synthetic_data / "equity" / "usa"
    hours = read_bars(equity / "hour" / "spy.zip")
    for day in ["20210329", "20210330", "20210331"]:
        trades = np.array(read_zip_csv(equity / "minute" / "spy" / f"{day}_trade.zip"), dtype=np.int64)
        quotes = np.array(read_zip_csv(equity / "minute" / "spy" / f"{day}_quote.zip"), dtype=np.int64)
        # every regular-session minute, 09:30 (34,200,000 ms) to 15:59
        assert list(trades[:, 0]) == list(range(34_200_000, 57_600_000, 60_000)) == list(quotes[:, 0])
        for j, (lo, hi) in enumerate([(0, 30), *[(30 + 60 * k, 90 + 60 * k) for k in range(6)]]):
            part = trades[lo:hi]
            expected = [part[0, 1], part[:, 2].max(), part[:, 3].min(), part[-1, 4], part[:, 5].sum()]
            assert list(hours[f"{day} {9 + j:02d}:00"]) == pytest.approx(
                [expected[0] / 1e4, expected[1] / 1e4, expected[2] / 1e4, expected[3] / 1e4, expected[4]])
        bid_close, ask_close, trade_close = quotes[:, 4], quotes[:, 9], trades[:, 4]
        assert (bid_close < ask_close).all()
        assert (bid_close <= trade_close).all() and (trade_close <= ask_close).all()
        assert (quotes[:, 5] > 0).all() and (quotes[:, 10] > 0).all()


# -- adjustment ---------------------------------------------------------------------------------

def test_factor_files_remove_the_split_and_dividends(synthetic_data: Path) -> None:
    days, raw = daily_closes(synthetic_data, "qqq")
    _, adjusted = adjusted_closes(synthetic_data, "qqq")
    split_day = days.index(D(2000, 3, 20))
    raw_jump = raw[split_day] / raw[split_day - 1]
    adjusted_jump = adjusted[split_day] / adjusted[split_day - 1]
    assert 0.4 < raw_jump < 0.6  # the 2-for-1 split halves the quoted price
    assert abs(adjusted_jump - 1) < 0.1  # LEAN's adjusted series has no jump
    assert marker(synthetic_data)["corporate_actions"]["QQQ"]["splits"] == [["2000-03-20", 2.0]]

    # each dividend row: dated the trading day before the ex-date, reference = that day's raw close;
    # LEAN's dividend = reference × (1 − pf_row / pf_next) is a positive amount of cents
    spy_days, spy_raw = daily_closes(synthetic_data, "spy")
    rows = factor_rows(synthetic_data, "spy")
    dividends = []
    for row, following in itertools.pairwise(rows[1:]):
        index = spy_days.index(row[0])
        assert row[3] == pytest.approx(spy_raw[index])
        dividends.append(round(row[3] * (1 - row[1] / following[1]), 2))
    assert len(dividends) == marker(synthetic_data)["corporate_actions"]["SPY"]["dividends"] > 80
    assert all(0.1 < d < 5 for d in dividends)
    # the adjusted return across an ex-date shows no dividend drop beyond ordinary noise
    _, spy_adjusted = adjusted_closes(synthetic_data, "spy")
    assert np.abs(np.diff(np.log(spy_adjusted))).max() < 0.25


# -- determinism and the folder rules -----------------------------------------------------------

def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    kwargs = {"seed": 3, "symbols": ["SPY", "QQQ"], "start": D(2020, 1, 2), "end": D(2020, 3, 31), "minute_days": 2}
    generate_synthetic_data(tmp_path / "a", **kwargs)
    generate_synthetic_data(tmp_path / "b", **kwargs)
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert first == second and len(first) > 10
    generate_synthetic_data(tmp_path / "c", **{**kwargs, "seed": 4})
    assert _tree(tmp_path / "c")["equity/usa/daily/spy.zip"] != first["equity/usa/daily/spy.zip"]


def test_regenerating_replaces_a_synthetic_set_but_never_real_data(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    generate_synthetic_data(folder, symbols=["SPY", "QQQ"], start=D(2020, 1, 2), end=D(2020, 2, 28), minute_days=1)
    summary = generate_synthetic_data(folder, symbols=["SPY"], start=D(2020, 1, 2), end=D(2020, 2, 28),
                                      minute_days=0)
    assert not (folder / "equity" / "usa" / "daily" / "qqq.zip").exists()
    assert not (folder / "equity" / "usa" / "minute").exists()
    assert summary.symbols == ["SPY"] and summary.lines()[0].startswith("SYNTHETIC")
    real = tmp_path / "real"
    (real / "equity" / "usa" / "daily").mkdir(parents=True)
    with pytest.raises(DataError, match="did not generate"):
        generate_synthetic_data(real, start=D(2020, 1, 2), end=D(2020, 2, 28))


def test_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown planted"):
        generate_synthetic_data(tmp_path, planted={"meanrev": 0.1})
    with pytest.raises(ConfigError, match="random walk"):
        generate_synthetic_data(tmp_path, planted={"tsmom": 0.1}, random_walk=True)
    with pytest.raises(ConfigError, match="XYZ not among"):
        generate_synthetic_data(tmp_path, hour_symbols=["XYZ"])
    with pytest.raises(ConfigError, match="after the start"):
        generate_synthetic_data(tmp_path, start=D(2020, 1, 2), end=D(2020, 1, 1))
    summary = generate_synthetic_data(tmp_path / "x", symbols=["qqq"], start=D(2020, 1, 2), end=D(2020, 1, 31),
                                      minute_days=0)
    assert summary.symbols == ["SPY", "QQQ"]  # the benchmark is always there


# -- statistics ---------------------------------------------------------------------------------

def _returns(folder: Path, ticker: str) -> np.ndarray:
    _, adjusted = adjusted_closes(folder, ticker)
    return adjusted[1:] / adjusted[:-1] - 1


def test_statistical_properties(synthetic_data: Path) -> None:
    model = marker(synthetic_data)["model"]["symbols"]
    returns = {t: _returns(synthetic_data, t.lower()) for t in ["SPY", "QQQ", "TLT", "GLD"]}
    n = len(returns["SPY"])
    for ticker, r in returns.items():
        excess = ((r - r.mean()) ** 4).mean() / r.var() ** 2
        assert excess > 5, ticker  # Student-t(5) shocks alone have kurtosis 9; a normal has 3
        squared = r * r
        # volatility clustering: lag-1 autocorrelation of squared returns well above its
        # no-clustering standard error 1/sqrt(n) (≈ 0.013)
        assert np.corrcoef(squared[1:], squared[:-1])[0, 1] > 6 / math.sqrt(n), ticker
        # annualised volatility within 15 % of the configured one (23 years of data)
        assert r.std() * math.sqrt(252) == pytest.approx(model[ticker]["annual_volatility"], rel=0.15)
    # cross-correlation ≈ ρ_i·ρ_j (slightly less: each symbol also has its own variance regime)
    rho = {t: model[t]["market_correlation"] for t in returns}
    for a, b in [("SPY", "QQQ"), ("SPY", "TLT"), ("QQQ", "GLD")]:
        measured = np.corrcoef(returns[a], returns[b])[0, 1]
        assert measured == pytest.approx(rho[a] * rho[b], abs=0.06), (a, b)


def _tsmom_estimate(folder: Path, lookback: int) -> float:
    """Mean return after a positive minus after a negative trailing return, in units of 2σ̄.

    Under the planted model E[r | sign] = μ + s·sign·σ_t, so this estimates s (0 for a random walk).
    """
    ups, downs, sigmas = [], [], []
    for ticker in ["spy", "qqq", "iwm", "eem", "tlt", "gld"]:
        _, price = adjusted_closes(folder, ticker)
        returns = price[1:] / price[:-1] - 1
        sigmas.append(returns.std())
        trailing = np.sign(price[lookback:-1] / price[:-lookback - 1] - 1)  # known at the previous close
        today = returns[lookback:]
        ups.append(today[trailing > 0])
        downs.append(today[trailing < 0])
    return float((np.concatenate(ups).mean() - np.concatenate(downs).mean()) / (2 * np.mean(sigmas)))


@pytest.mark.slow
def test_planted_momentum_shows_and_random_walk_has_none(tmp_path: Path) -> None:
    common = {"seed": 11, "minute_days": 0, "hour_symbols": None}
    generate_synthetic_data(tmp_path / "tsmom", planted={"tsmom": 0.05, "tsmom_lookback": 126}, **common)
    generate_synthetic_data(tmp_path / "noise", random_walk=True, **common)
    # standard error of the estimate: daily σ ≈ 1.3 %, about 33,000 returns split between the two
    # signs, inflated ×1.7 for the correlation between the six symbols -> ≈ 0.01; tolerance 3 SE
    assert _tsmom_estimate(tmp_path / "tsmom", 126) == pytest.approx(0.05, abs=0.03)
    assert abs(_tsmom_estimate(tmp_path / "noise", 126)) < 0.03
    noise = marker(tmp_path / "noise")
    assert noise["random_walk"] is True and noise["planted"] == {}
    assert all(m["annual_drift"] == 0.0 for m in noise["model"]["symbols"].values())
    assert marker(tmp_path / "tsmom")["planted"]["tsmom"]["strength"] == 0.05
