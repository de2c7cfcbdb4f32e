"""qcloop's embedded LEAN-compatible backtesting engine.

    from orchestrator.engine import run_backtest, QuantBook
    result = run_backtest("main.py", data_folder=Path("data"), parameters={"fast": "10"})
    result.to_cloud()    # the backtests/read "backtest" object

See docs/engine.md. The engine imports nothing else of the orchestrator (errors aside).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BacktestResult", "QuantBook", "run_backtest"]


def __getattr__(name: str) -> Any:
    # lazy: importing the package stays cheap (commands import it only when they run a backtest)
    if name in ("run_backtest", "BacktestResult"):
        from orchestrator.engine import runner

        return getattr(runner, name)
    if name == "QuantBook":
        from orchestrator.engine.quantbook import QuantBook

        return QuantBook
    raise AttributeError(f"module 'orchestrator.engine' has no attribute {name!r}")
