"""The ts_momentum family (time-series momentum, Moskowitz, Ooi & Pedersen 2012): its Signal on hand-made
bars, its calendar-anchored decision days, the generated algorithm, and the algorithm trading exactly
when the Signal says on synthetic data."""

from __future__ import annotations

import ast
import datetime as dt
import py_compile
from pathlib import Path
from typing import Any

import pytest

from orchestrator.hypotheses import HypothesisSpec, sweep_grid
from orchestrator.strategies import FamilyRegistry, render_signal_source, render_strategy
from tests.strategies.test_signals import bar, order_days, signal_class, signal_order_days

FAMILY = "ts_momentum"
MONDAY = dt.datetime(2020, 1, 6, 16)  # a Monday close


def weekday(n: int) -> dt.datetime:
    """The n-th weekday close from MONDAY (0 = that Monday), skipping weekends."""
    weeks, rest = divmod(n, 5)
    return MONDAY + dt.timedelta(days=7 * weeks + rest)


def spec(registry: FamilyRegistry, **changes: Any) -> HypothesisSpec:
    schema = registry.get(FAMILY).schema
    base = HypothesisSpec(id="H-100", title="TSMOM test", rationale="A test.", template=FAMILY,
                          universe=schema.default_universe, start=dt.date(2010, 1, 1), end=dt.date(2012, 12, 31))
    return base.model_copy(update=changes)


def test_the_family_is_declared_as_the_paper_defines_it(registry: FamilyRegistry) -> None:
    schema = registry.get(FAMILY).schema
    # 12-month lookback, about one month between decisions, a cross-asset universe.
    assert schema.default_parameters() == {"lookback": 252, "hold": 21}
    assert schema.default_universe == ("SPY", "QQQ", "IWM", "EEM", "TLT", "GLD")
    # The default sweep: each swept parameter at its default +/- 3 steps (lookback step 21, hold step 5).
    assert sweep_grid(spec(registry), schema) == {"lookback": [189, 210, 231, 252, 273, 294, 315],
                                                  "hold": [6, 11, 16, 21, 26, 31, 36]}


def test_long_while_the_trailing_return_is_positive(registry: FamilyRegistry) -> None:
    signal = signal_class(FAMILY, registry)(["SPY"], {"lookback": 2, "hold": 1})
    assert signal.warmup_bars == 3
    closes = [10, 11, 12, 11, 10, 12]
    out = [signal.update(weekday(i), {"SPY": bar(c)}) for i, c in enumerate(closes)]
    # LEAN's RateOfChange(2) is ready after 2 inputs and then compares with the first input; later with
    # the input 2 bars back. hold = 1: a decision on every weekday.
    # 11/10 - 1 = +10 % -> long; 12/10 - 1 = +20 % (no change); 11/11 - 1 = 0, not positive -> flat;
    # 10/12 - 1 < 0 (no change); 12/11 - 1 > 0 -> long again.
    assert out == [None, {"SPY": 1.0}, None, {"SPY": 0.0}, None, {"SPY": 1.0}]


def test_each_ticker_on_its_own_trend_with_1_over_n(registry: FamilyRegistry) -> None:
    signal = signal_class(FAMILY, registry)(["SPY", "TLT"], {"lookback": 1, "hold": 1})
    # RateOfChange(1) compares each close with the previous one (0 on the very first input).
    first = signal.update(weekday(0), {"SPY": bar(10), "TLT": bar(10)})
    second = signal.update(weekday(1), {"SPY": bar(11), "TLT": bar(9)})
    # A ticker without a bar keeps its position: TLT is not judged on weekday 2.
    third = signal.update(weekday(2), {"SPY": bar(10)})
    assert first is None  # both 0 %: not positive, and flat already
    assert second == {"SPY": 0.5, "TLT": 0.0}
    assert third == {"SPY": 0.0, "TLT": 0.0}


def test_decision_days_sit_on_a_calendar_grid(registry: FamilyRegistry) -> None:
    cls = signal_class(FAMILY, registry)
    # Weekdays since Monday 2000-01-03: the Friday after is 4, the weekend and the next Monday 5, the
    # Friday before the epoch -1.
    assert [cls.weekdays_since_epoch(dt.datetime(*d)) for d in
            [(2000, 1, 3), (2000, 1, 7), (2000, 1, 8), (2000, 1, 9), (2000, 1, 10), (1999, 12, 31)]] == \
        [0, 4, 5, 5, 5, -1]
    # 2020-01-06 is 1,044 weeks (7,308 days) after the epoch, so a 5-weekday hold decides on Mondays
    # whatever day the data starts. Starting on a Wednesday: the first ready bar decides; the next
    # decision waits for Monday.
    signal = cls(["SPY"], {"lookback": 2, "hold": 5})
    days = [weekday(n) for n in (2, 3, 4, 5, 6)]  # Wed, Thu, Fri, Mon, Tue
    out = [signal.update(day, {"SPY": bar(c)}) for day, c in zip(days, [10, 11, 9, 9.5, 12], strict=True)]
    # Thu: 11/10 - 1 > 0 -> long. Fri: 9/10 - 1 < 0, but the same period -> held.
    # Mon: a new period, 9.5/11 - 1 < 0 -> flat. Tue: the same period -> held.
    assert out == [None, {"SPY": 1.0}, None, {"SPY": 0.0}, None]


def test_the_generated_algorithm_compiles_and_reads_its_parameters(registry: FamilyRegistry,
                                                                     tmp_path: Path) -> None:
    rendered = render_strategy(spec(registry), registry)
    path = tmp_path / "main.py"
    path.write_text(rendered.main_py)
    py_compile.compile(str(path), doraise=True)
    assert rendered.signal_source.rstrip() in rendered.main_py
    assert '"lookback": int(self.get_parameter("lookback", 252))' in rendered.main_py
    assert '"hold": int(self.get_parameter("hold", 21))' in rendered.main_py
    assert 'self.tickers = ["SPY", "QQQ", "IWM", "EEM", "TLT", "GLD"]' in rendered.main_py
    # Signal reads only what it defines (no algorithm calls), as the other families' Signals.
    tree = ast.parse(render_signal_source(FAMILY, registry=registry))
    signal = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Signal")
    used = {n.attr for n in ast.walk(signal) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id == "self" and isinstance(n.ctx, ast.Load)}
    assigned = {n.attr for n in ast.walk(signal) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)}
    defined = {n.name for n in signal.body if isinstance(n, ast.FunctionDef)}
    assert used <= assigned | defined


def test_the_algorithm_trades_exactly_when_the_signal_says(registry: FamilyRegistry, synthetic_data: Path,
                                                           tmp_path: Path) -> None:
    """One source of strategy logic, on SPY of the session's synthetic data (seed 7, 2004-2012)."""
    from orchestrator.engine import run_backtest
    from orchestrator.engine.enums import Resolution
    from orchestrator.engine.quantbook import QuantBook

    start, end = dt.date(2004, 1, 1), dt.date(2012, 12, 31)
    files = render_strategy(spec(registry, universe=("SPY",), start=start, end=end), registry).write(tmp_path)
    result = run_backtest(files[0], data_folder=synthetic_data)
    assert result.error is None, result.stacktrace
    cloud = result.to_cloud()
    qb = QuantBook(synthetic_data)
    spy = qb.add_equity("SPY", Resolution.DAILY).symbol
    history = qb.history(spy, dt.datetime(2002, 1, 1), dt.datetime(2012, 12, 31, 23), Resolution.DAILY)
    signal = signal_class(FAMILY, registry)(["SPY"], {"lookback": 252, "hold": 21})
    expected = signal_order_days(signal, history, start)
    assert len(expected) >= 4
    assert order_days(cloud) == expected


@pytest.mark.parametrize("universe", [("SPY",), ("SPY", "TLT", "GLD")])
def test_defaults_construct_and_ignore_unknown_tickers(registry: FamilyRegistry, universe: tuple[str, ...]) -> None:
    signal = signal_class(FAMILY, registry)(list(universe), registry.get(FAMILY).schema.default_parameters())
    assert signal.warmup_bars == 253
    assert signal.update(MONDAY, {"ZZZ": bar(1.0)}) is None
    assert signal.plot_values() == {}
