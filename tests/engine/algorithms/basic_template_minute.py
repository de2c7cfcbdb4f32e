# ruff: noqa: F403, F405 -- a QuantConnect algorithm: `from AlgorithmImports import *` is the API
# Written for qcloop from the description of LEAN's BasicTemplateAlgorithm (reference/lean-regressions.md §1).
from AlgorithmImports import *


class BasicTemplateAlgorithm(QCAlgorithm):
    """Buys SPY with all the cash on the first minute bar and holds it for a week."""

    def initialize(self):
        self.set_start_date(2013, 10, 7)
        self.set_end_date(2013, 10, 11)
        self.set_cash(100000)
        self.add_equity("SPY", Resolution.MINUTE)

    def on_data(self, data):
        if not self.portfolio.invested:
            self.set_holdings("SPY", 1)
            self.debug("Purchased Stock at " + str(np.round(self.securities["SPY"].price, 2)))
