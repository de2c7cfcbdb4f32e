"""The notebooks' shared code (templates/notebooks/_lib), run as a notebook runs it (one namespace).

Every expected number is derived by hand in the comments, from LEAN's rules in
../shared/reference/lean-engine.md §3 (fees, set_holdings sizing, market-on-open fills)."""

from __future__ import annotations

import itertools
import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from orchestrator import stats
from orchestrator.notebooks import RESULT_LINE_PREFIX


def market(lib: dict[str, Any], tickers: list[str], rows: list[list[tuple[float, float] | None]],
           first: date = date(2020, 1, 6)) -> Any:
    """MarketData from (open, close) per day and ticker (None: no bar that day); high/low = max/min."""
    days = [first + timedelta(days=i) for i in range(len(rows))]
    shape = (len(rows), len(tickers))
    opens, closes = np.full(shape, np.nan), np.full(shape, np.nan)
    real = np.zeros(shape, dtype=bool)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            if cell is not None:
                opens[i, j], closes[i, j], real[i, j] = cell[0], cell[1], True
    times = [pd.Timestamp(d) + pd.Timedelta(hours=16) for d in days]
    return lib["MarketData"](tickers, times, days, opens, np.fmax(opens, closes), np.fmin(opens, closes),
                             closes, np.where(real, 1000.0, np.nan), real)


class Scripted:
    """A Signal that returns fixed targets on given bar numbers (counted from the first bar it sees)."""

    def __init__(self, plan: dict[int, dict[str, float]]) -> None:
        self.plan = plan
        self.seen: list[dict[str, Any]] = []

    def update(self, time: Any, bars: dict[str, Any]) -> dict[str, float] | None:
        self.seen.append(bars)
        return self.plan.get(len(self.seen) - 1)


def test_interactive_brokers_fees(lib: dict[str, Any]) -> None:
    fee = lib["ib_fee"]
    assert fee(100, 50.0) == 1.0          # 0.005 x 100 = 0.50 -> the $1 minimum
    assert fee(-1000, 50.0) == 5.0        # 0.005 x 1000 = 5.00, under the cap of 0.5 % x $50,000 = $250
    assert fee(1000, 0.10) == pytest.approx(0.5)  # 5.00 and the minimum, capped at 0.5 % x $100 = $0.50
    assert fee(0, 10.0) == 0.0


def test_set_holdings_sizing_matches_lean(lib: dict[str, Any]) -> None:
    quantity = lib["set_holdings_quantity"]
    # lean-engine.md §3.2 BasicTemplate: TPV 100,000, price 144.7731: floor(99,750 / 144.7731) = 689;
    # fee 0.005 x 689 = 3.445 lowers the target to (100,000 - 3.445) x 0.9975 = 99,746.56 < 689 x 144.7731
    # = 99,748.67, so 688 (688 x 144.7731 = 99,603.89 fits).
    assert quantity(1.0, 0, 144.7731, 100_000.0) == 688
    # Within 0.1 % margin of the target no order: target value 99,750, held 996 x 100 = 99,600; the gap
    # 150 in value is 75 in margin (leverage 2) < 0.001 x 100,000 = 100.
    assert quantity(1.0, 996, 100.0, 100_000.0) == 0
    assert quantity(1.0, 990, 100.0, 100_000.0) == 7  # gap 750 value: floor(-990 + 997.5) = 7
    assert quantity(0.0, 250, 100.0, 100_000.0) == -250  # a zero target liquidates
    # Short half: target margin -0.5 x 0.9975 x 100,000 / 2 = -24,937.5 = -498.75 shares of 50 margin
    # each -> ceil -> -498; fee 2.49 keeps -498 x 50 = -24,900 within -24,936.88.
    assert quantity(-0.5, 0, 100.0, 100_000.0) == -498


def test_a_target_at_the_close_fills_at_the_next_open(lib: dict[str, Any]) -> None:
    data = market(lib, ["SPY"], [[(100, 100)], [(101, 102)], [(103, 104)], [(104, 103)], [(102, 100)]])
    result = lib["simulate"](Scripted({0: {"SPY": 1.0}, 2: {"SPY": 0.0}}), data, 10_000.0)
    # Day 0 close: floor(0.9975 x 10,000 / 100) = 99 shares (fee $1 keeps 99 x 50 = 4,950 <= 4,987.0).
    # Day 1: buy 99 at the open 101 for 9,999 + $1 fee -> cash 0; equity 99 x 102 = 10,098.
    # Day 2: equity 99 x 104 = 10,296; target 0 -> sell 99. Day 3: sold at the open 104 - $1 -> 10,295.
    assert list(result.equity) == pytest.approx([10_000, 10_098, 10_296, 10_295, 10_295])
    assert (result.orders, result.fees) == (2, 2.0)
    trade = result.trades[0]
    assert (trade.entry_price, trade.exit_price, trade.quantity) == (101, 104, 99)
    assert trade.profit == pytest.approx(99 * 3 - 2)  # both fees
    figures = lib["figures"](result)
    assert figures["total_return"] == pytest.approx(0.0295)
    assert figures["max_drawdown"] == pytest.approx(1 - 10_295 / 10_296)  # peak 10,296, then 10,295
    assert (figures["orders"], figures["trades"], figures["win_rate"]) == (2, 1, 1.0)


def test_warm_up_targets_apply_on_the_first_live_bar(lib: dict[str, Any]) -> None:
    data = market(lib, ["SPY"], [[(100, 100)], [(100, 100)], [(100, 100)], [(110, 110)], [(110, 110)]])
    signal = Scripted({0: {"SPY": 1.0}})  # decided while warming up (bar 0 of the replay)
    result = lib["simulate"](signal, data, 10_000.0, start_index=2, warmup_bars=2)
    assert len(signal.seen) == 5  # two warm-up bars, then the three live ones
    # Applied at the first live close (day 2, price 100: 99 shares), filled at day 3's open 110.
    assert result.orders == 1
    assert result.equity[0] == 10_000.0
    assert result.final_holdings == {"SPY": 99}
    assert result.equity[-1] == pytest.approx(10_000 - 99 * 110 - 1 + 99 * 110)


def test_a_missing_bar_is_filled_forward_but_orders_wait_for_a_real_one(lib: dict[str, Any]) -> None:
    data = market(lib, ["AAA", "BBB"], [[(10, 10), (20, 20)], [(10, 10), None], [(10, 10), (21, 22)]])
    signal = Scripted({0: {"AAA": 0.0, "BBB": 0.5}})
    result = lib["simulate"](signal, data, 10_000.0)
    assert signal.seen[1]["BBB"].is_fill_forward and signal.seen[1]["BBB"].close == 20
    # floor(0.5 x 0.9975 x 10,000 / 20) = 249 BBB, filled at day 2's open 21 (there is no day-1 bar).
    assert result.trades == []
    assert result.final_holdings == {"BBB": 249}
    assert result.equity[1] == 10_000.0
    assert result.equity[2] == pytest.approx(10_000 - 249 * 21 - 1.245 + 249 * 22)  # fee 0.005 x 249


def test_figures_use_the_statistics_module(lib: dict[str, Any]) -> None:
    closes = [100, 101, 99, 102, 104, 103, 106]
    data = market(lib, ["SPY"], [[(c, c)] for c in closes])
    result = lib["simulate"](Scripted({0: {"SPY": 1.0}}), data, 100_000.0)
    figures = lib["figures"](result)
    levels = np.concatenate([[100_000.0], result.equity])
    returns = levels[1:] / levels[:-1] - 1
    assert figures["sharpe_per_period"] == pytest.approx(stats.sharpe_ratio(returns))
    assert figures["sharpe"] == pytest.approx(np.mean(returns) / np.std(returns, ddof=1) * math.sqrt(252))
    flat = lib["simulate"](Scripted({}), data, 100_000.0)
    assert lib["figures"](flat)["sharpe"] is None  # never traded: no volatility, no Sharpe ratio


def test_history_frames_in_quantconnect_shape(lib: dict[str, Any]) -> None:
    index = pd.MultiIndex.from_tuples(
        [("SPY R735QTJ8XC9X", pd.Timestamp("2020-01-02 16:00")), ("SPY R735QTJ8XC9X", pd.Timestamp("2020-01-03 16:00")),
         ("QQQ RIWIV7K5Z9LX", pd.Timestamp("2020-01-03 16:00"))], names=["symbol", "time"])
    frame = pd.DataFrame({"close": [10.0, 11.0, 20.0], "open": [9.0, 10.0, 19.0], "high": [10, 11, 20],
                          "low": [9, 10, 19], "volume": [1, 2, 3]}, index=index)
    data = lib["market_data_from_history"](frame, ["SPY", "QQQ"])
    assert data.dates == [date(2020, 1, 2), date(2020, 1, 3)]
    assert data.real.tolist() == [[True, False], [True, True]]
    assert data.close[1].tolist() == [11.0, 20.0]
    # Older QuantConnect data ends a daily bar at 00:00 of the next day: it belongs to the day before.
    assert lib["trading_date_of"](pd.Timestamp("2020-01-03 00:00")) == date(2020, 1, 2)
    with pytest.raises(ValueError, match="no data for"):
        lib["market_data_from_history"](frame, ["IWM"])


def test_the_plateau_centre_not_the_argmax(lib: dict[str, Any]) -> None:
    values = np.full((5, 5), 0.2)
    values[1:4, 1:4] = 1.0
    values[1, 1] = 1.05  # the best cell, at a corner of a broad good region
    plateau = lib["find_plateau"](values, 0.10, 0.05)
    # threshold 1.05 - max(0.105, 0.05) = 0.945: the nine cells of the region; centroid (2, 2)
    assert plateau["best"] == (1, 1)
    assert len(plateau["members"]) == 9 and plateau["threshold"] == pytest.approx(0.945)
    assert plateau["robust"] == (2, 2)


def test_the_plateau_is_connected_and_skips_excluded_cells(lib: dict[str, Any]) -> None:
    values = np.array([1.0, 0.98, np.nan, 0.99, 0.5])
    plateau = lib["find_plateau"](values, 0.0, 0.05)  # threshold 0.95; the NaN cell breaks the chain
    assert plateau["members"] == [(0,), (1,)]
    assert plateau["robust"] == (0,)  # centroid 0.5: equal distance, the higher metric wins
    assert lib["find_plateau"](np.full((2, 2), np.nan), 0.1, 0.05) is None


def test_constraints_and_grids(lib: dict[str, Any]) -> None:
    satisfies, points = lib["satisfies"], lib["grid_points"]
    assert satisfies({"fast": 10, "slow": 50}, ["fast < slow"])
    assert not satisfies({"fast": 50, "slow": 50}, ["fast < slow"])
    assert satisfies({"fast": 10}, ["fast < 20", "universe_size <= 3"])
    assert points({"a": [1, 2], "b": [3]}) == [{"a": 1, "b": 3}, {"a": 2, "b": 3}]


def _weekday_market(lib: dict[str, Any], first: date, last: date) -> Any:
    days = pd.bdate_range(first, last).date.tolist()
    return market(lib, ["SPY"], [[(100.0, 100.0)] for _ in days], first=days[0]), days


def test_walk_forward_windows_rolling_and_anchored(lib: dict[str, Any]) -> None:
    data, days = _weekday_market(lib, date(2010, 1, 4), date(2012, 12, 31))
    data.dates, data.times = days, [pd.Timestamp(d) + pd.Timedelta(hours=16) for d in days]
    windows, search, holdout = lib["walk_forward_plan"](data, "2010-01-04", "2012-12-31", 12, 6, 6, False)
    # The holdout starts at end - 6 months = 2012-06-30 (a Saturday): first trading day 2012-07-02.
    assert data.dates[holdout[0]] == date(2012, 7, 2) and data.dates[holdout[1]] == date(2012, 12, 31)
    assert data.dates[search[1]] == date(2012, 6, 29)
    # Out-of-sample windows start 12, 18 and 24 months after the start; a fourth would start in the holdout.
    starts = [data.dates[w[2]] for w in windows]
    assert starts == [date(2011, 1, 4), date(2011, 7, 4), date(2012, 1, 4)]
    assert [data.dates[w[0]] for w in windows] == [date(2010, 1, 4), date(2010, 7, 5), date(2011, 1, 4)]
    for (_, is_last, oos_first, oos_last), following in zip(windows, [*windows[1:], None], strict=True):
        assert is_last == oos_first - 1
        if following is not None:
            assert following[2] == oos_last + 1  # contiguous out-of-sample windows
    assert windows[-1][3] == search[1]
    anchored, _, _ = lib["walk_forward_plan"](data, "2010-01-04", "2012-12-31", 12, 6, 6, True)
    assert {w[0] for w in anchored} == {0}
    assert [w[2] for w in anchored] == [w[2] for w in windows]


def test_walk_forward_efficiency_is_undefined_for_an_in_sample_loss(lib: dict[str, Any]) -> None:
    is_figures = {"total_return": -0.1, "start": "2010-01-04", "end": "2010-12-31"}
    oos_figures = {"total_return": 0.05, "start": "2011-01-03", "end": "2011-06-30"}
    assert lib["efficiency"](is_figures, oos_figures) is None
    gain = {**is_figures, "total_return": 0.2}
    expected = stats.walk_forward_efficiency(0.2, lib["span_years"](gain), 0.05, lib["span_years"](oos_figures))
    assert lib["efficiency"](gain, oos_figures) == pytest.approx(expected)


class _StoreOfQuantConnect:
    """Stands in for QuantConnect Research's qb.object_store, which exists only in QuantConnect."""

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}

    def save(self, key: str, text: str) -> bool:
        self.saved[key] = text
        return True


class _QuantBook:
    def __init__(self) -> None:
        self.object_store = _StoreOfQuantConnect()


def test_emit_record_goes_through_every_channel(lib: dict[str, Any], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    record = {"nonce": "n" * 32, "kind": "parameter_sweep", "hypothesis_id": "H-1", "value": np.float64(0.5),
              "missing": float("nan"), "day": date(2020, 1, 2)}
    monkeypatch.setenv("QCLOOP_OBJECT_STORE_DIR", str(tmp_path))
    lib["emit_record"](record, None)
    stored = json.loads((tmp_path / "qcloop" / "results" / f"{'n' * 32}.json").read_text())
    assert stored == {"nonce": "n" * 32, "kind": "parameter_sweep", "hypothesis_id": "H-1", "value": 0.5,
                      "missing": None, "day": "2020-01-02"}
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(RESULT_LINE_PREFIX)]
    assert json.loads(lines[-1][len(RESULT_LINE_PREFIX):]) == stored
    # In QuantConnect Research (no qcloop folder) the record goes to qb.object_store.
    monkeypatch.delenv("QCLOOP_OBJECT_STORE_DIR")
    qb = _QuantBook()
    lib["emit_record"](record, qb)
    assert json.loads(qb.object_store.saved[f"qcloop/results/{'n' * 32}.json"]) == stored


class _QuantBookWithoutStore:
    """Like qcloop's QuantBook: unknown attributes raise an error that is not an AttributeError."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"QuantBook.{name} is not supported")


def test_a_failing_object_store_never_loses_the_record(lib: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("QCLOOP_OBJECT_STORE_DIR", raising=False)
    lib["emit_record"]({"nonce": "n" * 32, "kind": "parameter_sweep", "hypothesis_id": "H-1"},
                       _QuantBookWithoutStore())
    out = capsys.readouterr().out
    assert "not saved to the Object Store (RuntimeError" in out
    assert out.splitlines()[-1].startswith(RESULT_LINE_PREFIX)


def test_out_of_sample_windows_stay_contiguous_from_a_month_end_start(lib: dict[str, Any]) -> None:
    data, days = _weekday_market(lib, date(2011, 1, 31), date(2011, 8, 31))
    data.dates, data.times = days, [pd.Timestamp(d) + pd.Timedelta(hours=16) for d in days]
    windows, _, _ = lib["walk_forward_plan"](data, "2011-01-31", "2011-08-31", 1, 1, 0, False)
    # Out-of-sample k runs from start + (1 + k) months to the day before start + (2 + k) months:
    # 2011-02-28 .. 2011-03-30, then from 2011-03-31. (Adding a month to 2011-02-28 instead gives
    # 2011-03-28 and loses the trading days 03-28 .. 03-30 between two windows.)
    assert (data.dates[windows[0][2]], data.dates[windows[0][3]]) == (date(2011, 2, 28), date(2011, 3, 30))
    assert data.dates[windows[1][2]] == date(2011, 3, 31)
    for window, following in itertools.pairwise(windows):
        assert following[2] == window[3] + 1
