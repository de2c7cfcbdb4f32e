# ruff: noqa: F403, F405 -- a QuantConnect algorithm: `from AlgorithmImports import *` is the API
# Written for qcloop from the description of LEAN's MACDTrendAlgorithm (lean-regressions.md §3).
from AlgorithmImports import *


class MACDTrendAlgorithm(QCAlgorithm):
    """Long SPY while MACD(12, 26, 9) is 0.25 % above its signal, flat when 0.25 % below; once a day."""

    def initialize(self):
        self.set_start_date(2004, 1, 1)
        self.set_end_date(2015, 1, 1)
        self.set_cash(100000)
        self.add_equity("SPY", Resolution.DAILY)
        self.__macd = self.macd("SPY", 12, 26, 9, MovingAverageType.EXPONENTIAL, Resolution.DAILY)
        self.__previous = datetime.min
        self.plot_indicator("MACD", True, self.__macd, self.__macd.signal)
        self.plot_indicator("SPY", self.__macd.fast, self.__macd.slow)

    def on_data(self, data):
        if not self.__macd.is_ready:
            return
        # only once per day (the dividend-only slice at 00:00 of an ex-date counts as that day)
        if self.__previous.date() == self.time.date():
            return
        tolerance = 0.0025
        holdings = self.portfolio["SPY"].quantity
        signal_delta_percent = (self.__macd.current.value - self.__macd.signal.current.value) \
            / self.__macd.fast.current.value
        if holdings <= 0 and signal_delta_percent > tolerance:
            self.set_holdings("SPY", 1.0)
        elif holdings >= 0 and signal_delta_percent < -tolerance:
            self.liquidate("SPY")
        self.__previous = self.time
