"""The algorithm API surface: both spellings, parameters, errors, unsupported APIs, history, QuantBook."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from orchestrator.engine.quantbook import QuantBook
from orchestrator.errors import DataError, UnsupportedApiError
from tests.engine.lean_raw import adjusted, daily_rows, factor, run_source

RUNTIME_ERROR = """
from AlgorithmImports import *

class Broken(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 8)
        self.set_end_date(2013, 10, 10)
        self.add_equity("SPY", Resolution.DAILY)

    def on_data(self, data):
        self.helper()

    def helper(self):
        return 1 / 0
"""


def test_runtime_error_names_file_and_line(lean_data: Path, tmp_path: Path) -> None:
    result = run_source(tmp_path, RUNTIME_ERROR, lean_data)
    cloud = result.to_cloud()
    assert cloud["status"] == "Runtime Error" and cloud["hasInitializeError"] is False
    assert cloud["error"].startswith("ZeroDivisionError : division by zero")
    assert "main.py: line 14" in cloud["error"]  # `return 1 / 0`
    assert "at helper" in cloud["stacktrace"] and "main.py: line 11" in cloud["stacktrace"]


INIT_ERROR = """
from AlgorithmImports import *

class BrokenInit(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 8)
        self.add_forex("EURUSD")
"""


def test_initialize_error_has_leans_prefix_and_names_the_api(lean_data: Path, tmp_path: Path) -> None:
    result = run_source(tmp_path, INIT_ERROR, lean_data)
    cloud = result.to_cloud()
    assert cloud["status"] == "Runtime Error" and cloud["hasInitializeError"] is True
    assert cloud["error"].startswith("During the algorithm initialization, the following exception has occurred:")
    assert "add_forex" in cloud["error"] and "main.py: line 7" in cloud["error"]


def test_unknown_attribute_is_an_attribute_error_and_unsupported_api_is_loud() -> None:
    from orchestrator.engine.algorithm import QCAlgorithm
    from orchestrator.engine.manager import BacktestEngine

    algorithm = QCAlgorithm()
    algorithm._qc_attach(BacktestEngine.__new__(BacktestEngine))
    with pytest.raises(AttributeError, match="no attribute 'my_typo'"):
        _ = algorithm.my_typo
    with pytest.raises(UnsupportedApiError, match="AddUniverse"):
        algorithm.AddUniverse(lambda c: [])
    with pytest.raises(UnsupportedApiError, match="consolidate"):
        algorithm.consolidate("SPY", 4, lambda bar: None)


PASCAL_AND_PARAMETERS = """
from AlgorithmImports import *

class Pascal(QCAlgorithm):
    def Initialize(self):
        self.SetStartDate(2013, 10, 8)
        self.SetEndDate(2013, 10, 10)
        self.SetCash(int(self.GetParameter("cash", "50000")))
        self.fast = self.GetParameter("fast", 5)
        self.ratio = self.get_parameter("ratio", 0.5)
        self.name_ = self.get_parameter("name")
        self.AddEquity("SPY", Resolution.Daily)

    def OnData(self, data):
        if not self.Portfolio.Invested:
            self.SetHoldings("SPY", self.ratio)
            self.Debug(f"fast={self.fast!r} ratio={self.ratio!r} name={self.name_!r} "
                       f"bar={data['SPY'].Close:.4f} {data.Bars['SPY'].EndTime:%H:%M}")

    def OnOrderEvent(self, orderEvent):
        if orderEvent.Status == OrderStatus.Filled:
            self.Log(f"filled {orderEvent.FillQuantity} at {orderEvent.FillPrice:.4f}")
"""


def test_pascal_case_and_typed_parameters(lean_data: Path, tmp_path: Path) -> None:
    result = run_source(tmp_path, PASCAL_AND_PARAMETERS, lean_data,
                        parameters={"fast": "12", "ratio": "0.25", "cash": "80000"})
    assert result.error is None, result.stacktrace
    assert result.statistics["Start Equity"] == "80000"
    first = next(line for line in result.logs if "fast=" in line)
    close = adjusted(daily_rows(lean_data, "SPY")["20131008 00:00"][3], factor(lean_data, "SPY", dt.date(2013, 10, 8)))
    assert f"fast=12 ratio=0.25 name=None bar={close:.4f} 16:00" in first
    assert any(line.split(" ", 2)[2].startswith("filled ") for line in result.logs)
    assert result.to_cloud()["parameterSet"] == {"fast": "12", "ratio": "0.25", "cash": "80000"}


def test_cli_overrides_of_dates_and_cash(lean_data: Path, tmp_path: Path) -> None:
    result = run_source(tmp_path, PASCAL_AND_PARAMETERS, lean_data, start=dt.date(2013, 10, 9),
                        end=dt.date(2013, 10, 11), cash=12345)
    assert result.statistics["Start Equity"] == "12345"
    assert result.backtest_start == dt.datetime(2013, 10, 9)


HISTORY = """
from AlgorithmImports import *

class History(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 8)
        self.set_end_date(2013, 10, 8)
        self.spy = self.add_equity("SPY", Resolution.MINUTE).symbol
        self.add_equity("IBM", Resolution.DAILY)
        self.frames = {
            "daily": self.history(self.spy, 3, Resolution.DAILY),
            "pair": self.history(["SPY", "IBM"], 2, Resolution.DAILY),
            "minute": self.history(self.spy, 5),
            "trade": self.history(TradeBar, "SPY", 5),
            "range": self.history(["SPY"], datetime(2013, 10, 1), datetime(2013, 10, 5), Resolution.DAILY),
        }
"""


@pytest.fixture(scope="module")
def history_frames(lean_data: Path, tmp_path_factory: pytest.TempPathFactory):
    captured = {}
    from orchestrator.engine import manager

    original = manager.BacktestEngine.initialize

    def spy(self, algorithm):  # keep the frames the algorithm built
        original(self, algorithm)
        captured.update(algorithm.frames)

    manager.BacktestEngine.initialize = spy
    try:
        result = run_source(tmp_path_factory.mktemp("history"), HISTORY, lean_data)
    finally:
        manager.BacktestEngine.initialize = original
    assert result.error is None, result.stacktrace
    return captured


def test_history_shape(history_frames, lean_data: Path) -> None:
    daily = history_frames["daily"]
    assert list(daily.index.names) == ["symbol", "time"]
    assert list(daily.columns) == ["close", "high", "low", "open", "volume"]
    # the last 3 daily bars before 2013-10-08 00:00, stamped at their 16:00 end
    times = [t for _, t in daily.index]
    assert times == [dt.datetime(2013, 10, d, 16) for d in (3, 4, 7)]
    raw = daily_rows(lean_data, "SPY")["20131007 00:00"]
    expected = adjusted(raw[3], factor(lean_data, "SPY", dt.date(2013, 10, 7)))
    assert daily.loc[("SPY", dt.datetime(2013, 10, 7, 16)), "close"] == pytest.approx(float(expected))
    pair = history_frames["pair"]
    assert sorted(set(pair.index.get_level_values("symbol"))) == ["IBM", "SPY"] and len(pair) == 4
    assert len(history_frames["range"]) == 4  # 10-01 .. 10-04


def test_minute_history_has_quote_and_trade_columns(history_frames) -> None:
    minute = history_frames["minute"]
    assert list(minute.columns) == ["askclose", "askhigh", "asklow", "askopen", "asksize", "bidclose", "bidhigh",
                                    "bidlow", "bidopen", "bidsize", "close", "high", "low", "open", "volume"]
    assert len(minute) == 5
    assert minute.index[-1] == ("SPY", dt.datetime(2013, 10, 7, 16, 0))
    assert list(history_frames["trade"].columns) == ["close", "high", "low", "open", "volume"]


def test_quantbook_history_and_indicator(lean_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QCLOOP_DATA_FOLDER", str(lean_data))
    qb = QuantBook()
    ibm = qb.add_equity("IBM", 4).symbol  # Resolution.DAILY
    frame = qb.history([ibm], dt.datetime(2013, 10, 7), dt.datetime(2013, 10, 10), 4)
    assert list(frame.index.names) == ["symbol", "time"]
    assert [t for _, t in frame.index] == [dt.datetime(2013, 10, d, 16) for d in (7, 8, 9)]
    # the last bars available "now" (the sample data ends 2021-03-31): no invented bars after it
    latest = qb.history(ibm, 2)
    assert [t for _, t in latest.index] == [dt.datetime(2021, 3, 30, 16), dt.datetime(2021, 3, 31, 16)]
    from orchestrator.engine.indicators import SimpleMovingAverage

    sma = qb.indicator(SimpleMovingAverage(3), ibm, 5, 4)
    assert len(sma) == 5 and list(sma.columns) == ["current"]
    closes = qb.history(ibm, 3)["close"].tolist()
    assert sma["current"].iloc[-1] == pytest.approx(sum(closes) / 3)
    with pytest.raises(UnsupportedApiError, match=r"QuantBook\.get_fundamental"):
        qb.get_fundamental("IBM")


def test_quantbook_without_a_folder_says_how_to_configure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QCLOOP_DATA_FOLDER", raising=False)
    with pytest.raises(DataError, match="QCLOOP_DATA_FOLDER"):
        QuantBook()


MISSING_DATA = """
from AlgorithmImports import *

class Missing(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2013, 10, 8)
        self.set_end_date(2013, 10, 10)
        self.add_equity("NOPE", Resolution.DAILY)
"""


def test_missing_data_is_a_data_error_naming_the_file(lean_data: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        run_source(tmp_path, MISSING_DATA, lean_data)
    assert "nope.zip" in str(caught.value) and "equity/usa/daily" in str(caught.value)


def test_data_points_and_decimal_fill(lean_data: Path, tmp_path: Path) -> None:
    result = run_source(tmp_path, PASCAL_AND_PARAMETERS, lean_data)
    (order,) = result.orders
    raw_open = daily_rows(lean_data, "SPY")["20131009 00:00"][0]
    assert Decimal(str(order["price"])) == adjusted(raw_open, factor(lean_data, "SPY", dt.date(2013, 10, 9)))
