"""A decision taken on incomplete data says so: the engine's data warnings reach the run's output and
the step's commit (local platform, LEAN's sample data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.workspace import init_workspace
from tests.e2e.conftest import Workspace

pytestmark = [pytest.mark.lean_data]

# LEAN's sample data has no QQQ bars from 2004-12-01 to 2011-03-22 (the map file names the ticker QQQQ
# then, and the sample has no qqqq.zip): a dual-momentum baseline over 2004-2008 runs without them.
HYPOTHESIS = """\
id: H-501
title: Dual momentum across four ETFs on LEAN's sample data
rationale: The ETF with the best trailing year, if that year was positive.
template: dual_momentum
universe: [SPY, QQQ, IWM, EEM]
start: 2004-01-02
end: 2008-12-31
"""


def test_the_baseline_commit_and_the_output_carry_the_engines_data_warnings(tmp_path: Path,
                                                                            lean_data: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = tmp_path / "ws"
    init_workspace(path, examples=False)
    config = path / "qcloop.yaml"
    config.write_text(config.read_text() + f"\ndata:\n  folder: {lean_data}\n")
    (path / "hypotheses" / "H-501.yaml").write_text(HYPOTHESIS)
    ws = Workspace(path=path, env={"PATH": os.environ.get("PATH", ""), "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
                                   "GIT_CONFIG_GLOBAL": str(home / "none")})

    code, out, err = ws.run("run", "--max-steps", "2")
    assert code == 0, err
    # the baseline covers the search window, 2004-01-02 .. 2007-12-31 (the last 20 % is the holdout)
    warning = "QQQ has no daily data from 2004-12-01 to 2007-12-31"
    said = [line for line in out.splitlines() if warning in line]
    assert len(said) == 1 and said[0].lstrip().startswith("H-501 baseline: Warning:"), out
    body = ws.git("log", "-1", "--format=%B", "--grep", "H-501 baseline:")
    assert "Data warnings:" in body and warning in body
    assert warning in (path / "runs" / "H-501" / "results" / "baseline.json").read_text()
