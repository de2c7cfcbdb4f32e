"""Each family's Signal in isolation, on hand-made bars whose expected targets are derived by hand.

The Signal source is exactly what the algorithm embeds (``render_signal_source``); it runs here
against the embedded engine's indicator classes, as it does in a research notebook.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from typing import Any

import pytest

from orchestrator.strategies import FamilyRegistry, render_signal_source


@dataclass
class Bar:
    open: float
    high: float
    low: float
    close: float
    volume: float = 1000.0


def bar(close: float, high: float | None = None, low: float | None = None) -> Bar:
    return Bar(open=close, high=close if high is None else high, low=close if low is None else low, close=close)


def signal_class(family: str, registry: FamilyRegistry) -> Any:
    """Execute the family's signal source with QuantConnect's names in scope, as a notebook does."""
    try:
        names = vars(importlib.import_module("orchestrator.engine.algorithm_imports"))
    except ImportError:  # the engine's AlgorithmImports module; its indicators are what matter here
        names = vars(importlib.import_module("orchestrator.engine.indicators"))
    namespace: dict[str, Any] = {name: value for name, value in names.items() if not name.startswith("__")}
    exec(compile(render_signal_source(family, registry=registry), f"<{family} signal>", "exec"), namespace)
    return namespace["Signal"]



def order_days(cloud: dict[str, Any]) -> list[dt.date]:
    """The days a cloud-shaped backtest result placed its orders."""
    return [dt.datetime.fromisoformat(o["time"].replace("Z", "+00:00")).date() for o in cloud["orders"]]


def signal_order_days(signal: Any, history: Any, start: dt.date, ticker: str = "SPY") -> list[dt.date]:
    """The days the algorithm should trade, from ``signal`` run by hand over a QuantBook history frame.

    The algorithm's rule (templates/strategies/_base/main.py.j2): targets decided while warming up are
    held, the latest is applied on the first bar from the start date on; afterwards every change is
    applied on its bar. An order is placed only when the target differs from the holding.
    """
    expected, pending, holding = [], None, 0.0
    for (_, time), row in history.iterrows():
        targets = signal.update(time.to_pydatetime(), {ticker: row})
        pending = targets if targets is not None else pending
        if time.date() < start or pending is None:
            continue
        if pending[ticker] != holding:
            expected.append(time.date())
            holding = pending[ticker]
        pending = None
    return expected

def run(signal: Any, rows: list[dict[str, Bar]], start: dt.datetime | None = None,
        step: dt.timedelta = dt.timedelta(days=1)) -> list[dict[str, float] | None]:
    time = start or dt.datetime(2020, 1, 6, 16)
    results = []
    for bars in rows:
        results.append(signal.update(time, bars))
        time += step
    return results


def test_ma_crossover(registry: FamilyRegistry) -> None:
    signal = signal_class("ma_crossover", registry)(["SPY"], {"fast": 2, "slow": 3})
    assert signal.warmup_bars == 3
    closes = [10, 10, 10, 13, 13, 7, 7]
    # SMA2: -, 10, 10, 11.5, 13, 10, 7     SMA3: -, -, 10, 11, 12, 11, 9
    # bar 3: 10 vs 10 equal -> stay flat; bar 4: 11.5 > 11 -> long; bar 5: 13 > 12 (no change);
    # bar 6: 10 < 11 -> flat; bar 7: 7 < 9 (no change)
    out = run(signal, [{"SPY": bar(c)} for c in closes])
    assert out == [None, None, None, {"SPY": 1.0}, None, {"SPY": 0.0}, None]


def test_ma_crossover_splits_the_portfolio_equally(registry: FamilyRegistry) -> None:
    signal = signal_class("ma_crossover", registry)(["SPY", "QQQ"], {"fast": 1, "slow": 2})
    # SMA1 = the close; SMA2 = mean of the last two. SPY rises on bar 2 -> 1 > SMA2 -> long 1/2 each
    out = run(signal, [{"SPY": bar(10), "QQQ": bar(10)}, {"SPY": bar(11), "QQQ": bar(9)}])
    assert out == [None, {"SPY": 0.5, "QQQ": 0.0}]


def test_momentum_breakout(registry: FamilyRegistry) -> None:
    signal = signal_class("momentum_breakout", registry)(["SPY"], {"entry": 3, "exit": 2})
    assert signal.warmup_bars == 4
    rows = [bar(10, 11, 9), bar(10, 12, 9), bar(10, 11, 8),  # channel: highs 11,12,11 -> 12; lows 9,8 -> 8
            bar(12, 12, 11),   # close 12 is not above 12: no entry
            bar(12.5, 13, 12),  # previous 3 highs 12,11,12 -> 12; 12.5 > 12 -> long
            bar(11.5, 12, 11),  # previous 2 lows 11,12 -> 11; 11.5 not below: hold
            bar(10.9, 11, 10.5)]  # previous 2 lows 12,11 -> 11; 10.9 < 11 -> flat
    assert run(signal, [{"SPY": r} for r in rows]) == [None, None, None, None, {"SPY": 1.0}, None, {"SPY": 0.0}]


def test_rsi_reversion_buys_an_oversold_close_and_sells_the_recovery(registry: FamilyRegistry) -> None:
    signal = signal_class("rsi_reversion", registry)(["SPY"], {"period": 2, "entry": 10, "exit": 70, "trend": 3})
    signal.trend = {"SPY": _AlwaysBelow()}  # isolate the RSI rule from the trend filter
    out = run(signal, [{"SPY": bar(c)} for c in [50, 49, 48, 47, 60, 70]])
    # Changes: -1, -1, -1, +13, +10. RSI(2) is ready after 3 closes (engine docstring, LEAN semantics).
    # Bar 3: no gains at all -> average gain 0 -> RSI = 100 - 100 / (1 + 0) = 0 < 10 -> long.
    # Bar 4: another loss, RSI still 0: already long.
    # Bar 5: Wilder's average with n = 2 is (previous + new) / 2: gain (0 + 13) / 2 = 6.5,
    #        loss (1 + 0) / 2 = 0.5 -> RS = 13 -> RSI = 100 - 100 / 14 = 92.9 > 70 -> flat.
    assert out == [None, None, {"SPY": 1.0}, None, {"SPY": 0.0}, None]


def test_rsi_reversion_does_not_buy_below_the_trend(registry: FamilyRegistry) -> None:
    signal = signal_class("rsi_reversion", registry)(["SPY"], {"period": 2, "entry": 10, "exit": 70, "trend": 3})
    out = run(signal, [{"SPY": bar(c)} for c in [50, 49, 48, 47]])
    # RSI is 0 from bar 3 on (only losses), but the close 48 is below SMA3(50, 49, 48) = 49, and 47 is
    # below SMA3(49, 48, 47) = 48: the filter blocks both entries.
    assert out == [None, None, None, None]


class _AlwaysBelow:
    """A stand-in trend average that every close is above (isolates the RSI rule)."""

    is_ready = True

    class current:  # noqa: N801 - mirrors the indicator's attribute
        value = float("-inf")

    def update(self, time: Any, value: float) -> bool:
        return True


def test_bollinger_reversion(registry: FamilyRegistry) -> None:
    signal = signal_class("bollinger_reversion", registry)(["SPY"], {"period": 3, "k": 1.0})
    out = run(signal, [{"SPY": bar(c)} for c in [10, 10, 10, 7, 9.5, 10]])
    # bar 4: window 10, 10, 7: mean 9, population std sqrt((1 + 1 + 4) / 3) = 1.414 -> lower 7.586;
    #        7 < 7.586 -> long
    # bar 5: window 10, 7, 9.5: mean 8.833; 9.5 > 8.833 -> flat
    assert out == [None, None, None, {"SPY": 1.0}, {"SPY": 0.0}, None]


def test_dual_momentum_rotates_monthly_and_goes_to_cash(registry: FamilyRegistry) -> None:
    signal = signal_class("dual_momentum", registry)(["SPY", "EEM"], {"lookback": 2, "top": 1, "threshold": 0.0})
    assert signal.warmup_bars == 3
    days = [dt.datetime(2020, 1, 29, 16), dt.datetime(2020, 1, 30, 16), dt.datetime(2020, 1, 31, 16),
            dt.datetime(2020, 2, 3, 16), dt.datetime(2020, 2, 4, 16), dt.datetime(2020, 3, 2, 16)]
    spy = [10, 11, 12, 11, 10, 9]
    eem = [10, 10, 9, 10, 11, 9.5]
    out = [signal.update(day, {"SPY": bar(s), "EEM": bar(e)}) for day, s, e in zip(days, spy, eem, strict=True)]
    # LEAN's RateOfChange(n) is ready after n inputs, and at that moment compares with the first input
    # (n - 1 steps back); later it compares with the input n steps back (engine/indicators/oscillators.py).
    # Jan 30 (ready): SPY 11/10-1 = +10 %, EEM 10/10-1 = 0 % -> hold SPY. Jan 31: same month, no decision.
    # Feb 3 (a new month): SPY 11/11-1 = 0 % is not above the threshold 0, EEM 10/10-1 = 0 % -> cash.
    # Feb 4: same month. Mar 2: SPY 9/11-1 = -18 %, EEM 9.5/10-1 = -5 % -> cash again: no change, None.
    assert out == [None, {"SPY": 1.0, "EEM": 0.0}, None, {"SPY": 0.0, "EEM": 0.0}, None, None]


def test_dual_momentum_holds_the_top_two(registry: FamilyRegistry) -> None:
    signal = signal_class("dual_momentum", registry)(["SPY", "QQQ", "EEM"], {"lookback": 1, "top": 2, "threshold": 0.0})
    first = signal.update(dt.datetime(2020, 1, 30, 16), {t: bar(10) for t in ("SPY", "QQQ", "EEM")})
    # returns over 1 bar: SPY +10 %, QQQ +20 %, EEM -10 % -> the best two are QQQ and SPY, 1/2 each
    out = signal.update(dt.datetime(2020, 2, 3, 16), {"SPY": bar(11), "QQQ": bar(12), "EEM": bar(9)})
    assert first is None and out == {"SPY": 0.5, "QQQ": 0.5, "EEM": 0.0}


def test_vol_target_trend_sizes_by_volatility(registry: FamilyRegistry) -> None:
    signal = signal_class("vol_target_trend", registry)(
        ["SPY"], {"trend": 2, "vol_window": 2, "target_vol": 0.10, "max_leverage": 1.0, "rebalance_band": 0.1})
    out = run(signal, [{"SPY": bar(c)} for c in [100, 100, 102]])
    # returns 0 and +2 %: population std 0.01 -> annualised 0.01 * sqrt(252) = 0.158745;
    # close 102 > SMA2(100, 102) = 101 -> weight 0.10 / 0.158745 = 0.629941
    assert out[:2] == [None, None]
    assert out[2] is not None and out[2]["SPY"] == pytest.approx(0.10 / (0.01 * 252 ** 0.5))
    # Next return +2 % again: std of (0.02, 0.02) = 0 -> capped at max_leverage 1.0, a move of 0.37 > 0.1
    nxt = signal.update(dt.datetime(2020, 2, 1, 16), {"SPY": bar(104.04)})
    assert nxt == {"SPY": 1.0}
    # Close 100 < SMA2(104.04, 100): out of the trend -> 0
    assert signal.update(dt.datetime(2020, 2, 2, 16), {"SPY": bar(100)}) == {"SPY": 0.0}


def test_macd_trend_follows_momentum(registry: FamilyRegistry) -> None:
    signal = signal_class("macd_trend", registry)(["SPY"], {"fast": 2, "slow": 4, "signal": 2, "tolerance": 0.0})
    assert signal.warmup_bars == 6
    # An accelerating rise makes the fast EMA pull away from the slow one faster and faster, so the
    # MACD line is above its own (lagging) average: long once ready. A crash reverses that.
    rising = [100 * 1.01 ** (i * i / 4) for i in range(10)]
    out = run(signal, [{"SPY": bar(c)} for c in rising])
    assert [target for target in out if target is not None] == [{"SPY": 1.0}]
    crash = run(signal, [{"SPY": bar(c)} for c in (rising[-1] * 0.9, rising[-1] * 0.8)],
                start=dt.datetime(2021, 1, 4, 16))
    assert crash[0] == {"SPY": 0.0}


@pytest.mark.parametrize("family", ["ma_crossover", "momentum_breakout", "rsi_reversion", "bollinger_reversion",
                                    "dual_momentum", "vol_target_trend", "macd_trend"])
def test_family_defaults_construct_and_ignore_unknown_tickers(family: str, registry: FamilyRegistry) -> None:
    schema = registry.get(family).schema
    tickers = list(schema.default_universe)
    signal = signal_class(family, registry)(tickers, schema.default_parameters())
    assert signal.warmup_bars >= 1
    assert signal.update(dt.datetime(2020, 1, 6, 16), {"ZZZ": bar(1.0)}) is None
    assert signal.plot_values() == {}
