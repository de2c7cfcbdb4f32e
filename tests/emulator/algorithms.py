"""Short algorithms the emulator's engine tests run (a few months of LEAN's daily sample data)."""

from __future__ import annotations

# Holds SPY at `weight` of the portfolio from the first bar; `weight` and `start_month` are parameters
# so that overriding them visibly changes the results. Three months of daily bars: fast to run.
WEIGHTED_SPY = '''# region imports
from AlgorithmImports import *
# endregion


class WeightedSpy(QCAlgorithm):
    def initialize(self) -> None:
        self.set_start_date(2020, int(self.get_parameter("start_month", "1")), 2)
        self.set_end_date(2020, 4, 30)
        self.set_cash(100000)
        self.spy = self.add_equity("SPY", Resolution.DAILY).symbol
        self.weight = float(self.get_parameter("weight", "1.0"))

    def on_data(self, data: Slice) -> None:
        if not self.portfolio.invested:
            self.set_holdings(self.spy, self.weight)
'''

# Raises on the first bar: the backtest must end as "Runtime Error" with the file and line.
RAISES = '''# region imports
from AlgorithmImports import *
# endregion


class Raises(QCAlgorithm):
    def initialize(self) -> None:
        self.set_start_date(2020, 1, 2)
        self.set_end_date(2020, 1, 31)
        self.set_cash(100000)
        self.add_equity("SPY", Resolution.DAILY)

    def on_data(self, data: Slice) -> None:
        raise ValueError("boom in on_data")
'''
