"""End-to-end fixtures: temporary workspaces with small hypotheses on the session's synthetic data.

Hypotheses here cover three years (2016-2019) of daily data with 3 x 3 grids, so a whole loop takes
seconds. "Lenient" rules let a hypothesis pass every check whatever the synthetic market did, and one
strict rule then makes it fail exactly where a scenario wants it to (rejected at the baseline, at the
walk-forward ...): the tests are about the loop's mechanics, not about whether a moving-average
crossover works on synthetic prices (the research-validity experiment is about that).
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.commands import Context
from orchestrator.main import main
from orchestrator.workspace import init_workspace

LENIENT = {
    "min_trades": 0, "min_sharpe": -10, "min_psr": 0, "max_drawdown": 1, "min_oos_sharpe": -10,
    "max_oos_degradation": 100, "min_holdout_sharpe": -10, "min_deflated_sharpe": 0, "min_plateau_ratio": -10,
    "max_optimization_gain": 100, "tripwire_max_sharpe": 100, "tripwire_sharpe": 100, "tripwire_win_rate": 1,
}


def hypothesis_yaml(hypothesis_id: str, title: str, *, rules: Mapping[str, float] | None = None,
                    ticker: str = "SPY") -> str:
    merged = {**LENIENT, **(rules or {})}
    flow = ", ".join(f"{k}: {v}" for k, v in merged.items())
    return (
        f"id: {hypothesis_id}\ntitle: {title}\nrationale: An end-to-end test of the loop's mechanics.\n"
        f"template: ma_crossover\nuniverse: [{ticker}]\nstart: 2016-01-01\nend: 2019-12-31\n"
        "parameters:\n"
        "  fast: {default: 20, sweep: {min: 10, max: 30, step: 10}}\n"
        "  slow: {default: 75, sweep: {min: 50, max: 100, step: 25}}\n"
        f"rules: {{{flow}}}\n"
    )


@dataclass
class Workspace:
    path: Path
    env: dict[str, str]

    def run(self, *argv: str, cwd: Path | None = None) -> tuple[int, str, str]:
        """``qcloop ARGV`` in-process, in this workspace; returns (exit code, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        ctx = Context(cwd=cwd or self.path, environ=self.env, home=Path(self.env["HOME"]), stdout=out, stderr=err)
        code = main(list(argv), ctx=ctx)
        return code, out.getvalue(), err.getvalue()

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return subprocess.run(["git", "-C", str(cwd or self.path), *args], check=True, capture_output=True,
                              text=True).stdout

    def state(self, hypothesis_id: str) -> Any:
        from orchestrator.store import Store

        return Store(self.path).load(hypothesis_id)


def _git_environment(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / "no-gitconfig")}


@pytest.fixture(scope="session")
def make_workspace(tmp_path_factory: pytest.TempPathFactory, synthetic_data: Path) -> Iterator[
        Callable[..., Workspace]]:
    """Make a workspace with the given hypothesis files, on the shared synthetic data, with no git identity."""
    patch = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("home")
    for key, value in _git_environment(home).items():
        patch.setenv(key, value)  # git runs in this process too (the ledger), with no identity

    def make(hypotheses: Mapping[str, str], *, settings: str = "", name: str = "ws") -> Workspace:
        path = tmp_path_factory.mktemp(name)
        init_workspace(path, examples=False)
        config = path / "qcloop.yaml"
        # Variants of decided hypotheses are off unless a test asks for them: scenarios stay what they say.
        generators = "" if "generators:" in settings else "generators:\n  variants_per_hypothesis: 0\n"
        config.write_text(config.read_text() + f"\ndata:\n  folder: {synthetic_data}\n" + generators + settings)
        for hypothesis_id, text in hypotheses.items():
            (path / "hypotheses" / f"{hypothesis_id}.yaml").write_text(text)
        env = {"PATH": os.environ.get("PATH", ""), **_git_environment(home)}
        return Workspace(path=path, env=env)

    yield make
    patch.undo()


def steps_of(ws: Workspace, hypothesis_id: str) -> list[int]:
    """The Step trailers of a hypothesis's commits, in order (the ledger's consistency)."""
    from orchestrator.ledger import Ledger

    return [e.seq or 0 for e in Ledger(ws.path).history(hypothesis_id)]


def subjects(ws: Workspace, hypothesis_id: str) -> list[str]:
    from orchestrator.ledger import Ledger

    return [e.subject for e in Ledger(ws.path).history(hypothesis_id)]


def sequence(values: Sequence[int]) -> list[int]:
    return list(range(1, len(values) + 1))
