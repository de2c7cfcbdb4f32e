"""``Chart``/``Series`` for ``self.add_chart(...)``: custom charts whose series ``plot`` fills."""

from __future__ import annotations

from typing import Any


class SeriesType:
    LINE = 0
    SCATTER = 1
    CANDLE = 2
    BAR = 3
    FLAG = 4
    STACKED_AREA = 5
    PIE = 6
    TREEMAP = 7
    Line = 0
    Scatter = 1
    Candle = 2
    Bar = 3
    Flag = 4
    StackedArea = 5
    Pie = 6
    Treemap = 7


class ChartType:
    OVERLAY = 0
    STACKED = 1
    Overlay = 0
    Stacked = 1


class Series:
    """``Series(name, series_type=SeriesType.LINE, unit="$", index=0)``."""

    def __init__(self, name: str, series_type: int = SeriesType.LINE, unit: Any = "$", index: int = 0,
                 *args: Any) -> None:
        self.name = name
        self.series_type = int(series_type)
        if isinstance(unit, int) and not isinstance(index, int):
            unit, index = "$", unit
        self.unit = unit if isinstance(unit, str) else "$"
        self.index = index if isinstance(index, int) else 0

    Name = property(lambda self: self.name)


class Chart:
    """``Chart(name)`` with ``add_series(Series(...))``."""

    def __init__(self, name: str, chart_type: int = ChartType.OVERLAY) -> None:
        self.name = name
        self.chart_type = chart_type
        self.series: dict[str, Series] = {}

    def add_series(self, series: Series) -> None:
        self.series[series.name] = series

    AddSeries = add_series
    Name = property(lambda self: self.name)
