"""Pure units: C# number formatting, smart rounding, sizing, fees, time zones, identifiers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from orchestrator.engine.fees import interactive_brokers_fee
from orchestrator.engine.results import resample_period, smart_rounding
from orchestrator.engine.sizing import target_percent_delta
from orchestrator.engine.statistics import (
    decimal_from_double,
    drawdown_recovery_days,
    format_decimal,
    format_double,
    format_money,
    kurtosis,
    round_decimal,
    round_double,
    skewness,
)
from orchestrator.engine.symbols import SecurityIdentifier
from orchestrator.engine.timeutil import unix_seconds, unix_seconds_many, utc_naive


def test_decimal_rounding_keeps_scale_like_csharp() -> None:
    # Math.Round(decimal) never adds decimals; ToString keeps the scale (lean-engine.md §6)
    assert format_decimal(round_decimal(Decimal("0.022") * 100, 3)) == "2.200"
    assert format_decimal(round_decimal(Decimal("2.2"), 3)) == "2.2"
    assert format_decimal(round_decimal(Decimal("1.0445"), 3)) == "1.044"  # half to even
    assert format_decimal(round_decimal(Decimal("100000"), 2)) == "100000"
    assert format_decimal(Decimal("-0.000")) == "0.000"


def test_double_formatting_is_shortest_round_trip() -> None:
    assert format_double(round_double(17.30449, 3)) == "17.304"
    assert format_double(round_double(-19.0001, 3)) == "-19"
    assert format_double(round_double(0.0199, 3)) == "0.02"
    assert format_double(round_double(-0.0001, 3)) == "0"  # "-0" is printed as "0"
    assert format_double(1e-05) == "1E-05"


def test_money_rounds_half_away_from_zero() -> None:
    assert format_money(Decimal("3.485")) == "3.49"
    assert format_money(Decimal("3.445")) == "3.45"
    assert format_money(Decimal("468.5399")) == "468.54"


def test_double_to_decimal_keeps_15_significant_digits() -> None:
    assert decimal_from_double(0.1 + 0.2) == Decimal("0.3")
    assert decimal_from_double(1 / 3) == Decimal("0.333333333333333")


def test_smart_rounding() -> None:
    assert smart_rounding(Decimal("144.755785163")) == Decimal("144.7558")  # 7 significant digits
    assert smart_rounding(Decimal("100000.12345")) == Decimal("100000.1234")  # 4 decimals above 1000
    assert smart_rounding(Decimal("-1.15428011440")) == Decimal("-1.154280")
    assert smart_rounding(Decimal("0.000123456789")) == Decimal("0.0001234568")


def test_moments_are_the_unbiased_sample_estimators() -> None:
    import scipy.stats

    values = [1.0, 2.0, 3.0, 4.0, 10.0, -2.5]
    # MathNet's Skewness/Kurtosis are the bias-corrected G1 and excess G2, as scipy's bias=False
    assert skewness(values) == pytest.approx(scipy.stats.skew(values, bias=False), rel=1e-12)
    assert kurtosis(values) == pytest.approx(scipy.stats.kurtosis(values, bias=False), rel=1e-12)


def test_set_holdings_sizing_examples_from_the_reference() -> None:
    # lean-engine.md §3.2: BasicTemplate buys 688 at P = 167.44 x 0.8646266; BasicTemplateDaily 697
    price = Decimal("167.44") * Decimal("0.8646266")
    assert target_percent_delta(Decimal(100000), price, Decimal(2), 0, Decimal(1)) == 688
    daily_price = Decimal("165.48") * Decimal("0.8646266")  # the 2013-10-08 close
    assert target_percent_delta(Decimal(100000), daily_price, Decimal(2), 0, Decimal(1)) == 697


def test_set_holdings_respects_the_minimum_order_margin_and_shorts() -> None:
    price = Decimal(100)
    # already at ~99.75 %: the remaining change is below 0.1 % of the portfolio -> no order
    assert target_percent_delta(Decimal(100000), price, Decimal(2), 997, Decimal(1)) == 0
    # short 50 %: ceil(-0.49875 x 100000 / 100) then fees keep it within the target
    assert target_percent_delta(Decimal(100000), price, Decimal(2), 0, Decimal("-0.5")) == -498
    assert target_percent_delta(Decimal(100000), price, Decimal(2), 300, Decimal(0)) == -300


def test_interactive_brokers_fee() -> None:
    assert interactive_brokers_fee(688, Decimal("144.7")) == Decimal("3.440")
    assert interactive_brokers_fee(10, Decimal(100)) == Decimal(1)  # minimum
    assert interactive_brokers_fee(1000, Decimal("0.10")) == Decimal("0.5000")  # 0.5 % cap
    assert interactive_brokers_fee(0, Decimal(10)) == 0


def test_new_york_to_utc_across_daylight_saving() -> None:
    assert utc_naive(dt.datetime(2013, 10, 7, 9, 31)) == dt.datetime(2013, 10, 7, 13, 31)
    assert utc_naive(dt.datetime(2013, 12, 2, 16, 0)) == dt.datetime(2013, 12, 2, 21, 0)
    assert utc_naive(dt.datetime(2013, 11, 3, 1, 30)) == dt.datetime(2013, 11, 3, 5, 30)  # fold=0: EDT
    assert utc_naive(dt.datetime(2013, 11, 3, 2, 30)) == dt.datetime(2013, 11, 3, 7, 30)
    times = [dt.datetime(2013, 3, 10, 1), dt.datetime(2013, 3, 10, 4), dt.datetime(2020, 1, 1)]
    assert unix_seconds_many(times) == [unix_seconds(t) for t in times] == [1362895200, 1362902400, 1577854800]


def test_security_identifier() -> None:
    # lean-regressions.md: SPY, first date 1998-01-02 -> "SPY R735QTJ8XC9X"
    assert str(SecurityIdentifier("SPY", dt.date(1998, 1, 2))) == "SPY R735QTJ8XC9X"


def test_resample_period() -> None:
    start = dt.datetime(2004, 1, 1)
    assert resample_period(start, dt.datetime(2004, 1, 10)) == dt.timedelta(minutes=4)
    end = dt.datetime(2015, 1, 1, 23, 59, 59, 999999)
    expected = dt.timedelta(minutes=(end - start).total_seconds() / 60 / 4000)  # longer than 4 min x 4000
    assert abs(resample_period(start, end) - expected) <= dt.timedelta(microseconds=1)


def test_drawdown_recovery_counts_from_the_last_point_at_the_peak() -> None:
    day = dt.datetime(2020, 1, 1)
    points = [(day, Decimal(100)), (day + dt.timedelta(days=2), Decimal(100)),
              (day + dt.timedelta(days=3), Decimal(90)), (day + dt.timedelta(days=5, hours=1), Decimal(100)),
              (day + dt.timedelta(days=6), Decimal(80))]  # the last drawdown never recovers
    assert drawdown_recovery_days(points) == 3  # from day 2 to day 5 01:00


def test_free_portfolio_value_setting_changes_the_buffer() -> None:
    # 5 % kept free instead of 0.25 %: T = 0.95 x 100000 / 2 = 47500 -> floor(47500 / 50) = 950 shares at
    # $100 (fee 4.75 leaves the margin of 950 shares, 47500, above (100000 - 4.75) x 0.475) -> 949
    assert target_percent_delta(Decimal(100000), Decimal(100), Decimal(2), 0, Decimal(1),
                                free_percentage=Decimal("0.05")) == 949


def test_settings_accept_both_spellings_and_refuse_unknown_names() -> None:
    from orchestrator.engine.algorithm import AlgorithmSettings, UniverseSettings
    from orchestrator.engine.enums import Resolution
    from orchestrator.errors import UnsupportedApiError

    settings = AlgorithmSettings()
    settings.FreePortfolioValuePercentage = 0.05
    assert settings.free_portfolio_value_percentage == 0.05
    universe = UniverseSettings()
    universe.Resolution = Resolution.Daily
    assert universe.resolution is Resolution.DAILY
    with pytest.raises(UnsupportedApiError, match="daily_precise_end_time"):
        settings.daily_precise_end_time = False
    with pytest.raises(UnsupportedApiError, match=r"settings\.warmup_resolution"):
        settings.warmup_resolution = Resolution.DAILY
