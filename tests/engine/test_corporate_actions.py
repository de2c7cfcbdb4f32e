"""Dividends and splits (AAPL's $0.82 dividend on 2020-08-07 and 4-for-1 split on 2020-08-31)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.engine.lean_raw import run_source

HOLD_AAPL = """
from AlgorithmImports import *

class HoldAapl(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2020, 8, 3)
        self.set_end_date(2020, 9, 2)
        self.set_cash(100000)
        self.add_equity("AAPL", Resolution.DAILY, data_normalization_mode=DataNormalizationMode.{mode})
        self.seen = []

    def on_data(self, data):
        if not self.portfolio.invested and not self.transactions.get_open_orders():
            self.market_order("AAPL", 10)
        for symbol, dividend in data.dividends.items():
            self.seen.append(f"dividend {{dividend.time:%Y-%m-%d}} {{dividend.distribution:.2f}} "
                             f"cash={{self.portfolio.cash:.2f}}")
        for symbol, split in data.splits.items():
            holding = self.portfolio["AAPL"]
            self.seen.append(f"split {{split.time:%Y-%m-%d}} {{split.split_factor}} qty={{holding.quantity}}")

    def on_end_of_algorithm(self):
        for line in self.seen:
            self.log(line)
        self.log(f"final qty={{self.portfolio['AAPL'].quantity}} avg={{self.portfolio['AAPL'].average_price:.4f}}")
"""


def _lines(result) -> list[str]:
    return [line.split(" ", 2)[2] for line in result.logs]


@pytest.fixture(scope="module")
def raw_result(lean_data: Path, tmp_path_factory: pytest.TempPathFactory):
    result = run_source(tmp_path_factory.mktemp("raw"), HOLD_AAPL.format(mode="RAW"), lean_data)
    assert result.error is None, result.stacktrace
    return result


def test_raw_mode_pays_the_dividend_in_cash(raw_result) -> None:
    (order,) = raw_result.orders
    # the factor file: 20200806 price factor 0.9949942, next row 0.9967882, reference price 455.61:
    # 455.61 x (1 - 0.9949942 / 0.9967882) = 0.8200... -> $0.82 per share on 2020-08-07
    cash_after_fill = Decimal(100000) - Decimal(str(order["price"])) * 10 - Decimal(1)  # fee $1 minimum
    dividend = next(line for line in _lines(raw_result) if line.startswith("dividend"))
    assert dividend == f"dividend 2020-08-07 0.82 cash={cash_after_fill + Decimal('8.20'):.2f}"


def test_raw_mode_split_multiplies_the_shares(raw_result) -> None:
    split = next(line for line in _lines(raw_result) if line.startswith("split"))
    assert split == "split 2020-08-31 0.25 qty=40"  # split factor 0.25 = 4 shares for 1
    final = _lines(raw_result)[-1]
    (order,) = raw_result.orders
    assert final == f"final qty=40 avg={float(order['price']) / 4:.4f}"


def test_adjusted_mode_only_reports_the_events(lean_data: Path, tmp_path: Path) -> None:
    result = run_source(tmp_path, HOLD_AAPL.format(mode="ADJUSTED"), lean_data)
    lines = _lines(result)
    assert any(line.startswith("dividend 2020-08-07 0.82") for line in lines)
    assert "split 2020-08-31 0.25 qty=10" in lines  # no change to the holdings
    assert lines[-1].startswith("final qty=10 ")
