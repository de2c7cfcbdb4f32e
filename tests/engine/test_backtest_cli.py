"""`qcloop backtest`: the table, the result file, data-folder resolution, errors, the synthetic label."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ALGORITHMS = Path(__file__).parent / "algorithms"

SMA_CROSS = """
from AlgorithmImports import *

class SmaCross(QCAlgorithm):
    def initialize(self):
        self.set_start_date(2021, 1, 4)
        self.set_end_date(2021, 3, 31)
        self.add_equity("SPY", Resolution.DAILY)
        self.fast = self.sma("SPY", int(self.get_parameter("fast", "5")))
        self.slow = self.sma("SPY", 20)

    def on_data(self, data):
        if not self.slow.is_ready:
            return
        if self.fast.current.value > self.slow.current.value and not self.portfolio.invested:
            self.set_holdings("SPY", 1)
        elif self.fast.current.value < self.slow.current.value and self.portfolio.invested:
            self.liquidate()
"""


def test_backtest_prints_the_table_and_writes_the_result(cli, lean_data: Path, tmp_path: Path) -> None:
    output = tmp_path / "result.json"
    run = cli(["backtest", str(ALGORITHMS / "basic_template_daily.py"), "--data-folder", str(lean_data),
               "--output", str(output)])
    assert run.code == 0, run.stderr
    assert "Backtest of basic_template_daily.py on LEAN data" in run.stdout
    assert "│ Sharpe Ratio" in run.stdout and "17.304" in run.stdout and "Total Orders" in run.stdout
    assert "$104,486.22" in run.stdout  # runtime statistic Equity
    cloud = json.loads(output.read_text())
    assert cloud["status"] == "Completed." and cloud["statistics"]["End Equity"] == "104486.22"
    assert cloud["orders"][0]["type"] == 4


def test_backtest_without_a_data_folder_explains_the_option(cli, tmp_path: Path) -> None:
    run = cli(["backtest", str(ALGORITHMS / "basic_template_daily.py")], cwd=tmp_path)
    assert run.code == 1
    assert "--data-folder" in run.stderr


def test_backtest_reports_missing_data_with_the_file(cli, lean_data: Path, tmp_path: Path) -> None:
    algorithm = tmp_path / "main.py"
    algorithm.write_text(SMA_CROSS.replace('"SPY"', '"ZZZZ"'))
    run = cli(["backtest", str(algorithm), "--data-folder", str(lean_data)])
    assert run.code == 1
    assert "zzzz.zip" in run.stderr


def test_backtest_runtime_error_exit_code(cli, lean_data: Path, tmp_path: Path) -> None:
    algorithm = tmp_path / "main.py"
    algorithm.write_text(SMA_CROSS.replace("if not self.slow.is_ready:", "if 1 / 0:"))
    run = cli(["backtest", str(algorithm), "--data-folder", str(lean_data), "--output", str(tmp_path / "r.json")])
    assert run.code == 1
    assert "ZeroDivisionError" in run.stderr and "main.py: line 13" in run.stderr  # `if 1 / 0:`


def test_backtest_on_synthetic_data_says_so(cli, synthetic_data: Path, tmp_path: Path) -> None:
    algorithm = tmp_path / "strategy" / "main.py"
    algorithm.parent.mkdir()
    algorithm.write_text(SMA_CROSS)
    run = cli(["backtest", str(algorithm.parent), "--data-folder", str(synthetic_data),
               "--parameter", "fast", "3"])
    assert run.code == 0, run.stderr
    assert "on SYNTHETIC data" in run.stdout and "SYNTHETIC data, not market prices" in run.stdout
    (written,) = (algorithm.parent / "backtests").glob("*.json")
    cloud = json.loads(written.read_text())
    assert cloud["dataSource"] == "synthetic" and cloud["parameterSet"] == {"fast": "3"}
    assert int(cloud["statistics"]["Total Orders"]) > 0


def test_backtest_uses_the_workspace_data_folder(cli, synthetic_data: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "qcloop.yaml").write_text(f"data:\n  folder: {synthetic_data}\n")
    algorithm = workspace / "main.py"
    shutil.copy(ALGORITHMS / "basic_template_daily.py", algorithm)
    run = cli(["backtest", "main.py", "--start", "2021-03-01", "--end", "2021-03-31", "--quiet"], cwd=workspace)
    assert run.code == 0, run.stderr
    assert run.stdout.strip().endswith(".json")


def test_backtest_shows_data_gap_warnings_after_the_table(cli, lean_data: Path, tmp_path: Path) -> None:
    # LEAN's sample data has no QQQ bars from 2004-12 to 2011-03 (the ticker was QQQQ, whose file is not
    # there): the run goes on without QQQ, and the person is told so even with --quiet.
    algorithm = tmp_path / "main.py"
    algorithm.write_text(SMA_CROSS.replace("2021, 1, 4", "2006, 1, 3").replace("2021, 3, 31", "2006, 6, 30")
                         .replace('self.add_equity("SPY", Resolution.DAILY)',
                                  'self.add_equity("SPY", Resolution.DAILY); self.add_equity("QQQ", Resolution.DAILY)'))
    run = cli(["backtest", str(algorithm), "--data-folder", str(lean_data), "--quiet"])
    assert run.code == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if line.startswith("qcloop: warning: ")]
    assert len(warnings) == 1 and "QQQ" in warnings[0] and "qqqq.zip" in warnings[0]
