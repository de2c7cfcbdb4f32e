"""`qcloop templates`, `qcloop new` and `qcloop render`, end to end in a temporary workspace."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.hypotheses import load_hypothesis
from orchestrator.strategies import FamilyRegistry

from .conftest import VALID


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "hypotheses").mkdir(parents=True)
    (root / "qcloop.yaml").write_text("")
    (root / "hypotheses" / "H-001.yaml").write_text(VALID.format(id="H-001"))
    return root


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                            capture_output=True, text=True, check=True)
    return result.stdout


def test_templates_lists_every_family(cli: Callable[..., Any], workspace: Path) -> None:
    result = cli(["templates"], cwd=workspace)
    assert result.code == 0
    for name in ("momentum_breakout", "ma_crossover", "rsi_reversion", "bollinger_reversion", "dual_momentum",
                 "vol_target_trend", "macd_trend"):
        assert f"\n{name}: " in "\n" + result.stdout
    assert re.search(r"^    fast +int +default 50 +allowed 5\.\.150 ", result.stdout, re.MULTILINE)


def test_templates_shows_one_family_in_full_and_as_json(cli: Callable[..., Any], tmp_path: Path) -> None:
    full = cli(["templates", "dual_momentum"], cwd=tmp_path)  # no workspace needed
    assert full.code == 0 and "constraints: top <= universe_size" in full.stdout
    assert "swept by default: lookback and threshold" in full.stdout
    data = json.loads(cli(["templates", "--json"], cwd=tmp_path).stdout)
    assert {family["name"] for family in data} >= {"ma_crossover", "dual_momentum"}
    wrong = cli(["templates", "ma_cross"], cwd=tmp_path)
    assert wrong.code == 1 and "did you mean ma_crossover?" in wrong.stderr


def test_new_scaffolds_the_next_free_id(cli: Callable[..., Any], workspace: Path,
                                        registry: FamilyRegistry) -> None:
    (workspace / "state").mkdir()
    (workspace / "state" / "H-004.json").write_text("{}")  # the loop knows H-004 although its file is gone
    result = cli(["new", "rsi_reversion", "--title", "Buy the dip"], cwd=workspace)
    assert result.code == 0, result.stderr
    path = workspace / "hypotheses" / "H-005.yaml"
    assert "wrote hypotheses/H-005.yaml" in result.stdout
    spec = load_hypothesis(path, registry=registry)
    assert spec.template == "rsi_reversion" and spec.title == "Buy the dip" and spec.universe == ("SPY",)
    text = path.read_text()
    assert "# RSI period in bars" in text and "entry: {default: 10.0, sweep: {min: 5.0, max: 25.0, step: 5.0}}" in text
    again = cli(["new", "rsi_reversion", "--id", "H-005"], cwd=workspace)
    assert again.code == 1 and "already exists" in again.stderr


def test_new_refuses_options_the_family_cannot_use(cli: Callable[..., Any], workspace: Path) -> None:
    result = cli(["new", "dual_momentum", "--universe", "SPY"], cwd=workspace)
    assert result.code == 1
    assert "field '--universe': template dual_momentum trades 2 to 10 tickers, --universe gives 1" in result.stderr
    assert not (workspace / "hypotheses" / "H-002.yaml").exists()
    bad_id = cli(["new", "ma_crossover", "--id", "H7"], cwd=workspace)
    assert bad_id.code == 1 and "'H7' is not a valid hypothesis id" in bad_id.stderr


def test_render_writes_the_code_and_diffs_against_the_last_commit(cli: Callable[..., Any],
                                                                   workspace: Path) -> None:
    git(workspace, "init", "-q")
    first = cli(["render", "H-001"], cwd=workspace)
    assert first.code == 0, first.stderr
    main_py = workspace / "strategies" / "H-001" / "main.py"
    assert "strategies/H-001/main.py: new file" in first.stdout and main_py.is_file()
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "baseline")
    hypothesis = workspace / "hypotheses" / "H-001.yaml"
    hypothesis.write_text(hypothesis.read_text().replace("fast: {default: 50", "fast: {default: 40"))
    second = cli(["render", "H-001"], cwd=workspace)
    assert second.code == 0
    assert "--- a/strategies/H-001/main.py (HEAD)" in second.stdout
    assert '-            "fast": int(self.get_parameter("fast", 50)),' in second.stdout
    assert '+            "fast": int(self.get_parameter("fast", 40)),' in second.stdout
    assert '"fast": int(self.get_parameter("fast", 40))' in main_py.read_text()
    third = cli(["render", "H-001"], cwd=workspace)  # nothing new since the last render, but HEAD differs
    assert "(HEAD)" in third.stdout


def test_render_print_and_output(cli: Callable[..., Any], workspace: Path, tmp_path: Path) -> None:
    printed = cli(["render", "H-001", "--print"], cwd=workspace)
    assert printed.code == 0 and printed.stdout.startswith("# H-001: SPY trend")
    assert not (workspace / "strategies").exists()
    out = cli(["render", "H-001", "--output", str(tmp_path / "elsewhere")], cwd=workspace)
    assert out.code == 0 and (tmp_path / "elsewhere" / "main.py").read_text() == printed.stdout
    again = cli(["render", "H-001", "--output", str(tmp_path / "elsewhere")], cwd=workspace)
    assert "unchanged since the last render" in again.stdout


def test_render_reports_a_broken_hypothesis_precisely(cli: Callable[..., Any], workspace: Path) -> None:
    path = workspace / "hypotheses" / "H-001.yaml"
    path.write_text(path.read_text().replace("slow: {default: 200}", "slow: {default: 20}"))
    result = cli(["render", "H-001"], cwd=workspace)
    assert result.code == 1
    assert "hypotheses/H-001.yaml:11, field 'parameters.fast': template ma_crossover requires fast < slow" \
        in result.stderr
    missing = cli(["render", "H-009"], cwd=workspace)
    assert missing.code == 1 and "(the folder has: H-001)" in missing.stderr
