# ruff: noqa: F403, F405 -- a QuantConnect algorithm: `from AlgorithmImports import *` is the API
# Written for qcloop from the description of LEAN's BasicTemplateDailyAlgorithm (lean-regressions.md §2).
from AlgorithmImports import *


class BasicTemplateDailyAlgorithm(QCAlgorithm):
    """Buys SPY on the first daily bar (a market-on-open order, since daily bars arrive at 16:00)."""

    def Initialize(self):
        self.SetStartDate(2013, 10, 8)
        self.SetEndDate(2013, 10, 17)
        self.SetCash(100000)
        self.AddEquity("SPY", Resolution.Daily)

    def OnData(self, data):
        if not self.Portfolio.Invested:
            self.SetHoldings("SPY", 1)
            self.Debug("Purchased Stock")
