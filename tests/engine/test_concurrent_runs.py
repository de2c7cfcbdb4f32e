"""Backtests running side by side in threads of one process (the emulator's workers, the research loop)."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from orchestrator.engine import algorithm_imports, runner
from tests.engine.lean_raw import run_source


def test_a_run_finishing_first_leaves_algorithm_imports_to_the_others(tmp_path: Path) -> None:
    before = sys.modules.get("AlgorithmImports")
    first, second = runner._algorithm_imports(tmp_path / "a"), runner._algorithm_imports(tmp_path / "b")
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first run ends while the second still loads its algorithm
    assert sys.modules.get("AlgorithmImports") is algorithm_imports
    assert str(tmp_path / "b") in sys.path and str(tmp_path / "a") not in sys.path
    second.__exit__(None, None, None)
    assert sys.modules.get("AlgorithmImports") is before
    assert str(tmp_path / "b") not in sys.path


def test_runs_sharing_a_folder_keep_it_importable_until_the_last_ends(tmp_path: Path) -> None:
    first, second = runner._algorithm_imports(tmp_path), runner._algorithm_imports(tmp_path)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert sys.path.count(str(tmp_path)) == 1
    second.__exit__(None, None, None)
    assert str(tmp_path) not in sys.path


SHORT = """
from AlgorithmImports import *

class Short(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2020, 1, 2)
        self.set_end_date(2020, 1, 10)
        self.spy = self.add_equity("SPY", Resolution.DAILY).symbol

    def on_data(self, data):
        if not self.portfolio.invested:
            self.set_holdings(self.spy, 0.5)
"""


def test_threads_running_backtests_get_the_same_results(lean_data: Path, tmp_path: Path) -> None:
    # Before runs were counted, a run ending while another started loading its algorithm removed
    # AlgorithmImports from under it: "ModuleNotFoundError: No module named 'AlgorithmImports'".
    folders = []
    for index in range(16):
        folder = tmp_path / f"run{index}"
        folder.mkdir()
        folders.append(folder)

    def run(index: int) -> tuple[str | None, dict[str, str]]:
        result = run_source(folders[index], SHORT, lean_data)
        return result.error, result.statistics

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(16)))
    assert [error for error, _ in results] == [None] * 16
    assert all(statistics == results[0][1] for _, statistics in results)
