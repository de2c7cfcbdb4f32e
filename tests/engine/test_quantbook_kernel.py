"""QuantBook in a real Jupyter kernel through the AlgorithmImports shim."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

SHIM = Path(__file__).resolve().parents[2] / "orchestrator" / "engine" / "shim"


@pytest.mark.kernel
def test_notebook_kernel_imports_algorithm_imports_and_reads_history(lean_data: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SHIM), *sys.path]), QCLOOP_DATA_FOLDER=str(lean_data))
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        code = (
            "from AlgorithmImports import *\n"
            "qb = QuantBook()\n"
            "spy = qb.add_equity('SPY', Resolution.DAILY).symbol\n"
            "df = qb.history(spy, datetime(2013, 10, 7), datetime(2013, 10, 10), Resolution.DAILY)\n"
            "print(list(df.index.names), list(df.columns), len(df))\n"
        )
        outputs: list[str] = []
        reply = client.execute_interactive(code, timeout=60, output_hook=lambda msg: outputs.append(
            msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok", reply["content"]
        assert "['symbol', 'time'] ['close', 'high', 'low', 'open', 'volume'] 3" in "".join(outputs)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
