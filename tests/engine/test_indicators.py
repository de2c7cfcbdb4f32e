"""Indicators against hand-derived sequences and, on SPY's LEAN daily closes, against pandas.

Every expected number is derived in the comment next to it from the definition LEAN uses (see the
module docstrings of orchestrator/engine/indicators/), never copied from qcloop's own output.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.engine.indicators import (
    AverageTrueRange,
    BollingerBands,
    ExponentialMovingAverage,
    IndicatorDataPoint,
    Maximum,
    Minimum,
    Momentum,
    MomentumPercent,
    MovingAverageConvergenceDivergence,
    MovingAverageType,
    PythonIndicator,
    RateOfChange,
    RelativeStrengthIndex,
    SimpleMovingAverage,
    StandardDeviation,
    WilderMovingAverage,
)
from orchestrator.errors import UnsupportedApiError

T0 = dt.datetime(2020, 1, 1, 16, 0)


def feed(indicator, values):
    """Update with (time, value) pairs one day apart; return (values, ready flags) after each."""
    out, ready = [], []
    for i, value in enumerate(values):
        ready.append(indicator.update(T0 + dt.timedelta(days=i), value))
        out.append(indicator.current.value)
    return out, ready


@dataclass
class Bar:
    time: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0

    @property
    def end_time(self) -> dt.datetime:
        return self.time + dt.timedelta(days=1)


# -- moving averages ----------------------------------------------------------------------------

def test_sma_of_one_to_ten() -> None:
    # SMA(3) of 1..10: before 3 samples the mean of what exists (1, 1.5), then (n-2+n-1+n)/3 = n-1
    values, ready = feed(SimpleMovingAverage(3), range(1, 11))
    assert values == pytest.approx([1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9])
    assert ready == [False, False] + [True] * 8


def test_ema_recursion_written_out() -> None:
    # EMA(3): k = 2/(3+1) = 0.5; first value = first input; then x·k + prev·(1-k)
    # 1 -> 1; 2 -> 1.5; 3 -> 2.25; 4 -> 3.125; 5 -> 4.0625
    ema = ExponentialMovingAverage(3)
    values, ready = feed(ema, [1, 2, 3, 4, 5])
    assert values == pytest.approx([1, 1.5, 2.25, 3.125, 4.0625])
    assert ready == [False, False, True, True, True]
    assert ema.warm_up_period == 3 and ema.name == "EMA(3)"


def test_ema_with_explicit_smoothing_factor() -> None:
    # k = 0.1: 10 -> 10; 20 -> 20·0.1 + 10·0.9 = 11
    values, _ = feed(ExponentialMovingAverage(5, 0.1), [10, 20])
    assert values == pytest.approx([10, 11])


def test_wilders_starts_as_the_simple_mean() -> None:
    # Wilder(3): 1 -> 1; 2 -> 1.5; 3 -> mean(1,2,3) = 2; 4 -> 4/3 + 2·2/3 = 8/3; 5 -> 5/3 + 8/3·2/3 = 31/9
    values, ready = feed(WilderMovingAverage(3), [1, 2, 3, 4, 5])
    assert values == pytest.approx([1, 1.5, 2, 8 / 3, 31 / 9])
    assert ready == [False, False, True, True, True]


# -- oscillators --------------------------------------------------------------------------------

def test_rsi_by_hand() -> None:
    # RSI(2), Wilder averages of gains and losses:
    # 10    : no change yet, average loss 0 -> 100 (LEAN: "all up days")
    # 11    : gain 1, loss 0  -> avg gain 1, avg loss 0 -> 100
    # 10.5  : gain 0, loss .5 -> avg gain mean(1,0) = .5, avg loss mean(0,.5) = .25; RS = 2 -> 100-100/3
    # 12    : gain 1.5, loss 0 -> avg gain 1.5/2 + .5/2 = 1, avg loss 0/2 + .25/2 = .125; RS = 8 -> 100-100/9
    rsi = RelativeStrengthIndex(2)
    values, ready = feed(rsi, [10, 11, 10.5, 12])
    assert values == pytest.approx([100, 100, 100 - 100 / 3, 100 - 100 / 9])
    assert ready == [False, False, True, True]
    assert rsi.warm_up_period == 3
    assert rsi.average_gain.current.value == pytest.approx(1.0)
    assert rsi.AverageLoss.Current.Value == pytest.approx(0.125)


def test_rsi_with_simple_averages() -> None:
    # RSI(2, Simple) on 1, 3, 2, 4: gains 2,0,2 losses 0,1,0.
    # after 2 -> avg gain 2/1 = 2, loss 0 -> 100; after 3 -> gain mean(2,0)=1, loss mean(0,1)=.5, RS 2 -> 66.67
    # after 4 -> gain mean(0,2)=1, loss mean(1,0)=.5 -> 66.67
    values, _ = feed(RelativeStrengthIndex(2, MovingAverageType.Simple), [1, 3, 2, 4])
    assert values == pytest.approx([100, 100, 200 / 3, 200 / 3])


def test_macd_by_hand() -> None:
    # MACD(2,3,2): fast EMA k=2/3, slow EMA k=1/2, signal EMA k=2/3, on 1, 2, 3, 4
    # fast: 1, 5/3, 23/9, 95/27           slow: 1, 3/2, 9/4, 25/8
    # macd: 0, 1/6, 11/36, 85/216
    # slow is ready at the 3rd input, so the signal starts there: 11/36, then 85/216·2/3 + 11/36·1/3 = 59/162
    # histogram only once the signal is ready (4th input): 85/216 - 59/162 = 19/648
    macd = MovingAverageConvergenceDivergence(2, 3, 2)
    values, ready = feed(macd, [1, 2, 3, 4])
    assert values == pytest.approx([0, 1 / 6, 11 / 36, 85 / 216])
    assert ready == [False, False, False, True]
    assert macd.signal.current.value == pytest.approx(59 / 162)
    assert macd.signal.samples == 2
    assert macd.histogram.current.value == pytest.approx(19 / 648)
    assert macd.histogram.samples == 1
    assert macd.Fast.Current.Value == pytest.approx(95 / 27)
    assert macd.slow.current.value == pytest.approx(25 / 8)
    assert macd.warm_up_period == 4  # slow + signal - 1


def test_macd_rejects_fast_not_below_slow() -> None:
    with pytest.raises(ValueError, match="fast period"):
        MovingAverageConvergenceDivergence(26, 12, 9)


def test_momentum_family_uses_leans_window() -> None:
    # period 3 on 1, 2, 4, 8, 16: until 4 inputs exist the reference is the first input (1),
    # then the input 3 steps back: 8-1, 16-2
    mom, ready = feed(Momentum(3), [1, 2, 4, 8, 16])
    assert mom == [0, 1, 3, 7, 14]
    assert ready == [False, False, True, True, True]
    roc, _ = feed(RateOfChange(3), [1, 2, 4, 8, 16])
    assert roc == pytest.approx([0, 1, 3, 7, 7])  # 16/2 - 1 = 7
    momp, _ = feed(MomentumPercent(3), [1, 2, 4, 8, 16])
    assert momp == pytest.approx([0, 100, 300, 700, 700])
    assert MomentumPercent(3).name == "MOMP(3)" and RateOfChange(3).name == "ROC(3)"


def test_rate_of_change_with_zero_reference_is_zero() -> None:
    values, _ = feed(RateOfChange(1), [0, 5])
    assert values == [0, 0]


# -- dispersion ---------------------------------------------------------------------------------

def test_standard_deviation_is_population() -> None:
    # 2,4,4,4,5,5,7,9: mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32; 32/8 = 4 -> 2 (n, not n-1)
    std = StandardDeviation(8)
    values, ready = feed(std, [2, 4, 4, 4, 5, 5, 7, 9])
    assert values[-1] == pytest.approx(2.0)
    assert values[0] == 0.0  # a single sample has no dispersion
    assert values[1] == pytest.approx(1.0)  # 2 and 4: mean 3, deviations ±1
    assert ready == [False] * 7 + [True]


def test_bollinger_bands_by_hand() -> None:
    # BB(3, 2) on 1, 2, 3: middle 2, population std s = sqrt(2/3), bands 2 ± 2s
    # band width = (4s)/2·100 = 200s; %B of 3 = (3 - (2-2s))/(4s) = 1/(4s) + 1/2
    bb = BollingerBands(3, 2)
    _, ready = feed(bb, [1, 2, 3])
    s = math.sqrt(2 / 3)
    assert bb.current.value == 3  # the indicator's own value is the input
    assert bb.middle_band.current.value == pytest.approx(2)
    assert bb.upper_band.current.value == pytest.approx(2 + 2 * s)
    assert bb.LowerBand.Current.Value == pytest.approx(2 - 2 * s)
    assert bb.standard_deviation.current.value == pytest.approx(s)
    assert bb.band_width.current.value == pytest.approx(200 * s)
    assert bb.percent_b.current.value == pytest.approx(1 / (4 * s) + 0.5)
    assert ready == [False, False, True]
    assert bb.name == "BB(3,2)" and BollingerBands(20, 2.5).name == "BB(20,2.5)"


def test_bollinger_percent_b_keeps_value_on_zero_width() -> None:
    # a constant series has zero width: LEAN's MathError leaves %B at its initial 0
    bb = BollingerBands(2, 2)
    feed(bb, [5, 5, 5])
    assert bb.percent_b.current.value == 0.0
    assert bb.band_width.current.value == 0.0


def test_average_true_range_by_hand() -> None:
    # bars (high, low, close): (10, 8, 9), (12, 9, 11), (11, 7, 8), (9, 8, 8.5)
    # true range: 10-8 = 2; max(12-9, |9-12|, |9-9|) = 3; max(4, |11-11|, |11-7|) = 4; max(1, |8-9|, |8-8|) = 1
    # ATR(3) Wilder: 2, 2.5, mean(2,3,4) = 3, 1/3 + 3·2/3 = 7/3
    atr = AverageTrueRange(3)
    bars = [(10, 8, 9), (12, 9, 11), (11, 7, 8), (9, 8, 8.5)]
    values, ready = [], []
    for i, (high, low, close) in enumerate(bars):
        ready.append(atr.update(Bar(T0 + dt.timedelta(days=i), close, high, low, close)))
        values.append(atr.current.value)
    assert values == pytest.approx([2, 2.5, 3, 7 / 3])
    assert ready == [False, False, True, True]
    assert atr.true_range.current.value == 1
    with pytest.raises(TypeError, match="bar"):
        atr.update(T0, 5.0)


# -- extremes -----------------------------------------------------------------------------------

def test_maximum_and_minimum_with_periods_since() -> None:
    # MAX(3) over 1, 3, 2, 3, 1, 0, 0: windows [1] [1,3] [1,3,2] [3,2,3] [2,3,1] [3,1,0] [1,0,0]
    # max 1,3,3,3,3,3,1; ties count the most recent, so at the 4th input the 3 is 0 periods old
    values, ready = feed(mx := Maximum(3), [1, 3, 2, 3, 1, 0, 0])
    assert values == [1, 3, 3, 3, 3, 3, 1]
    assert ready == [False, False, True, True, True, True, True]
    assert mx.periods_since_maximum == 2
    ages = []
    mx.reset()
    for i, v in enumerate([1, 3, 2, 3, 1, 0, 0]):
        mx.update(T0 + dt.timedelta(days=i), v)
        ages.append(mx.PeriodsSinceMaximum)
    assert ages == [0, 0, 1, 0, 1, 2, 2]
    # MIN(2) over 3, 1, 2, 2, 5: windows [3] [3,1] [1,2] [2,2] [2,5] -> 3,1,1,2,2; ages 0,0,1,0,1
    mn = Minimum(2)
    ages = []
    for i, v in enumerate([3, 1, 2, 2, 5]):
        mn.update(T0 + dt.timedelta(days=i), v)
        ages.append((mn.current.value, mn.periods_since_minimum))
    assert ages == [(3, 0), (1, 0), (1, 1), (2, 0), (2, 1)]


def test_maximum_matches_a_brute_force_window() -> None:
    rng = random.Random(3)
    values = [rng.choice([1.0, 2.0, 3.0, rng.random()]) for _ in range(500)]
    mx = Maximum(7)
    for i, v in enumerate(values):
        mx.update(T0 + dt.timedelta(minutes=i), v)
        window = values[max(0, i - 6): i + 1]
        top = max(window)
        age = len(window) - 1 - max(j for j, w in enumerate(window) if w == top)
        assert (mx.current.value, mx.periods_since_maximum) == (top, age)


# -- the update protocol ------------------------------------------------------------------------

def test_updates_from_bars_points_and_pairs_agree() -> None:
    # a bar feeds its .close (no .value), a point its .value; current.time is the input's end time
    by_bar, by_point, by_pair = SimpleMovingAverage(2), SimpleMovingAverage("mine", 2), SimpleMovingAverage(2)
    for i, close in enumerate([10.0, 12.0, 11.0]):
        bar = Bar(T0 + dt.timedelta(days=i), close, close, close, close)
        by_bar.update(bar)
        by_point.update(IndicatorDataPoint(bar.end_time, close))
        by_pair.update(bar.end_time, close)
    assert by_bar.current.value == by_point.current.value == by_pair.current.value == 11.5
    assert by_bar.current.time == T0 + dt.timedelta(days=3)
    assert by_point.name == "mine"


def test_forward_only_and_duplicate_inputs_are_ignored() -> None:
    sma = SimpleMovingAverage(2)
    point = IndicatorDataPoint(T0, 10)
    sma.update(point)
    sma.update(point)  # the same object again: ignored
    sma.update(T0 - dt.timedelta(days=1), 100)  # earlier than the last input: ignored
    assert sma.samples == 1 and sma.current.value == 10


def test_reset_events_and_aliases() -> None:
    ema = ExponentialMovingAverage("fast", 2)
    seen: list[tuple[str, float]] = []

    def handler(sender, point):
        seen.append((sender.name, point.value))

    ema.updated += handler
    ema.Update(T0, 4.0)
    ema.update(T0 + dt.timedelta(days=1), 7.0)  # k = 2/3: 7·2/3 + 4/3 = 6
    assert seen == [("fast", 4.0), ("fast", 6.0)]
    assert ema.IsReady and ema.Samples == 2 and ema.WarmUpPeriod == 2 and ema.Name == "fast"
    assert ema.previous.value == 4.0 and ema[0].value == 6.0 and ema[1].value == 4.0
    ema.updated -= handler
    ema.update(T0 + dt.timedelta(days=2), 7.0)
    assert len(seen) == 2
    ema.Reset()
    assert (ema.samples, ema.current.value, ema.is_ready) == (0, 0.0, False)
    assert ema.current.time == dt.datetime.min


def test_comparisons_and_numbers() -> None:
    fast, slow = SimpleMovingAverage(1), SimpleMovingAverage(1)
    fast.update(T0, 2.0)
    slow.update(T0, 1.0)
    assert fast > slow and slow < fast and fast >= 2 and fast == 2.0 and fast != slow
    assert float(fast) == 2.0 and fast - slow == 1.0 and 2 * fast == 4.0
    assert fast.current > slow.current and str(fast) == "2.0"


def test_moving_average_type_spellings_and_unsupported_kinds() -> None:
    assert MovingAverageType.Exponential is MovingAverageType.EXPONENTIAL
    assert MovingAverageType.Wilders is MovingAverageType.WILDERS
    with pytest.raises(UnsupportedApiError, match=r"MovingAverageType\.HULL"):
        RelativeStrengthIndex(14, MovingAverageType.HULL)


def test_running_sums_do_not_drift() -> None:
    # 200,000 updates of prices near 300 with tiny moves: SMA and STD against exact recomputation
    rng = random.Random(11)
    sma, std = SimpleMovingAverage(50), StandardDeviation(50)
    window: list[float] = []
    price = 300.0
    for i in range(200_000):
        price += rng.gauss(0, 0.01)
        window = [*window, price][-50:]
        sma.update(T0 + dt.timedelta(minutes=i), price)
        std.update(T0 + dt.timedelta(minutes=i), price)
    mean = math.fsum(window) / 50
    exact_std = math.sqrt(math.fsum((x - mean) ** 2 for x in window) / 50)
    assert sma.current.value == pytest.approx(mean, rel=1e-13)
    assert std.current.value == pytest.approx(exact_std, rel=1e-8)


# -- SPY daily closes from LEAN's data, against pandas -----------------------------------------

def read_lean_daily_closes(path: Path) -> list[tuple[dt.datetime, float]]:
    """A tiny independent reader: `yyyyMMdd HH:mm,o,h,l,c,v` with prices in 1/10000 dollars."""
    with zipfile.ZipFile(path) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    rows = []
    for row in csv.reader(io.StringIO(text)):
        rows.append((dt.datetime.strptime(row[0], "%Y%m%d %H:%M"), int(row[4]) / 10000))
    return rows


@pytest.mark.lean_data
def test_macd_on_spy_matches_pandas_ewm(lean_data: Path) -> None:
    pd = pytest.importorskip("pandas")
    closes = read_lean_daily_closes(lean_data / "equity" / "usa" / "daily" / "spy.zip")
    macd = MovingAverageConvergenceDivergence(12, 26, 9, MovingAverageType.EXPONENTIAL)
    ours, signal, hist, ready_at = [], [], [], None
    for i, (time, close) in enumerate(closes):
        if macd.update(time, close) and ready_at is None:
            ready_at = i
        ours.append(macd.current.value)
        signal.append(macd.signal.current.value)
        hist.append(macd.histogram.current.value)
    series = pd.Series([c for _, c in closes])
    # LEAN's EMA starts at the first input and recurses with k = 2/(n+1): pandas adjust=False
    line = series.ewm(span=12, adjust=False).mean() - series.ewm(span=26, adjust=False).mean()
    # the signal starts once the slow EMA is ready (input index 25), seeded with that MACD value
    sig = line.iloc[25:].ewm(span=9, adjust=False).mean()
    assert ready_at == 25 + 9 - 1
    assert len(closes) > 5000
    assert ours == pytest.approx(list(line), abs=1e-9)
    assert signal[25:] == pytest.approx(list(sig), abs=1e-9)
    assert hist[33:] == pytest.approx(list(line.iloc[33:] - sig.iloc[8:]), abs=1e-9)


@pytest.mark.lean_data
def test_bollinger_and_sma_on_spy_match_pandas_rolling(lean_data: Path) -> None:
    pd = pytest.importorskip("pandas")
    closes = read_lean_daily_closes(lean_data / "equity" / "usa" / "daily" / "spy.zip")
    bb, sma = BollingerBands(20, 2), SimpleMovingAverage(50)
    upper, lower, mid50 = [], [], []
    for time, close in closes:
        bb.update(time, close)
        sma.update(time, close)
        upper.append(bb.upper_band.current.value)
        lower.append(bb.lower_band.current.value)
        mid50.append(sma.current.value)
    series = pd.Series([c for _, c in closes])
    mean, std = series.rolling(20).mean(), series.rolling(20).std(ddof=0)  # population, as LEAN
    assert upper[19:] == pytest.approx(list((mean + 2 * std).iloc[19:]), abs=1e-8)
    assert lower[19:] == pytest.approx(list((mean - 2 * std).iloc[19:]), abs=1e-8)
    assert mid50[49:] == pytest.approx(list(series.rolling(50).mean().iloc[49:]), abs=1e-9)


def test_keyword_updates() -> None:
    sma = SimpleMovingAverage(2)
    sma.update(time=T0, value=4.0)
    sma.Update(input=IndicatorDataPoint(T0 + dt.timedelta(days=1), 6.0))
    assert sma.current.value == 5.0 and sma.samples == 2


def test_python_indicator_subclass() -> None:
    # QuantConnect's custom-indicator pattern: set self.value in update(), return readiness
    class MeanOfTwo(PythonIndicator):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name
            self.warm_up_period = 2
            self.values: list[float] = []

        def update(self, input) -> bool:
            self.values = [*self.values, input.value][-2:]
            self.value = sum(self.values) / len(self.values)
            return len(self.values) == 2

    custom = MeanOfTwo("m2")
    seen: list[float] = []
    custom.updated += lambda sender, point: seen.append(point.value)
    assert custom.update(T0, 2.0) is False
    assert custom.update(IndicatorDataPoint(T0 + dt.timedelta(days=1), 4.0)) is True
    assert (custom.current.value, custom.current.time, custom.samples) == (3.0, T0 + dt.timedelta(days=1), 2)
    assert custom.is_ready and custom.name == "m2" and custom.WarmUpPeriod == 2 and seen == [2.0, 3.0]
