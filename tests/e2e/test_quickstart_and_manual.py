"""The README's main command on a fresh machine, and the local platform with a person (--manual)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from orchestrator.commands import Context
from orchestrator.main import main
from orchestrator.models import Stage, Step
from tests.e2e.conftest import Workspace, hypothesis_yaml

# Each module plays one scenario in a session-scoped fixture: run with `-n 2 --dist loadfile` so that one
# worker runs a whole module and plays its scenario once.
pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def test_run_init_makes_the_workspace_and_synthetic_data_then_runs(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"  # a fresh machine: no git identity, no qcloop anything
    home.mkdir()
    for key, value in {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
                       "GIT_CONFIG_GLOBAL": str(home / "none")}.items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(cwd=tmp_path, environ={"PATH": os.environ.get("PATH", ""), "HOME": str(home)}, home=home,
                  stdout=out, stderr=err)
    demo = tmp_path / "qcloop-demo"
    code = main(["run", "--workspace", str(demo), "--init", "--max-steps", "1"], ctx=ctx)
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert f"made a qcloop workspace in {demo}" in text
    assert "generated SYNTHETIC market data" in text
    assert "1 step committed" in text
    marker = json.loads((demo / "data" / ".qcloop-synthetic.json").read_text())
    assert marker["synthetic"] is True and marker["complete"] is True
    examples = sorted(p.stem for p in (demo / "hypotheses").glob("H-*.yaml"))
    assert examples and set(marker["symbols"]) >= {"SPY"}
    assert (demo / "state" / f"{examples[0]}.json").is_file()
    # Running it again uses the same workspace and data (nothing is re-made).
    out2 = io.StringIO()
    ctx2 = Context(cwd=tmp_path, environ=ctx.environ, home=home, stdout=out2, stderr=io.StringIO())
    assert main(["run", "-w", str(demo), "--init", "--max-steps", "1"], ctx=ctx2) == 0
    assert "made a qcloop workspace" not in out2.getvalue() and "SYNTHETIC" not in out2.getvalue()


def test_manual_mode_waits_for_the_person_and_collects_from_the_inbox(make_workspace) -> None:  # type: ignore[no-untyped-def]
    from orchestrator.notebooks.classify import read_notebook
    from orchestrator.notebooks.execute import OBJECT_STORE_DIR_ENV, execute_notebook
    from orchestrator.notebooks.render import notebook_text

    ws: Workspace = make_workspace({"H-401": hypothesis_yaml("H-401", "Run by hand in Jupyter")}, name="manual")
    code, out, err = ws.run("run", "--manual", "--until-idle")
    assert code == 0, err
    state = ws.state("H-401")
    assert (state.stage, state.awaiting) == (Stage.AWAITING_RESULTS, Step.OPTIMIZE)
    run = state.notebooks[Step.OPTIMIZE.value]
    inbox_copy = ws.path / "inbox" / run.file_name
    assert inbox_copy.is_file()
    assert state.waiting is not None and state.waiting.for_person
    assert any("jupyter lab inbox/" + run.file_name in line for line in state.waiting.instructions)
    assert "H-401 waits for you" in out
    # The person opens it in Jupyter (started without qcloop's Object Store folder, so the saved
    # notebook itself is the only way back), runs it all and saves it in place.
    notebook = read_notebook(inbox_copy.read_text())
    for cell in notebook.cells:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    from orchestrator.config import load_settings

    settings = load_settings(ws.path, environ={})
    executed = execute_notebook(notebook, data_folder=settings.data_folder, timeout=300,
                                extra_env={OBJECT_STORE_DIR_ENV: str(ws.path / "elsewhere")})
    inbox_copy.write_text(notebook_text(executed))
    code, out, err = ws.run("run", "--manual", "--until-idle")
    assert code == 0, err
    state = ws.state("H-401")
    assert state.notebooks[Step.OPTIMIZE.value].channel == "inbox"
    assert (state.stage, state.awaiting) == (Stage.AWAITING_RESULTS, Step.VALIDATE)
    assert state.results.sweep is not None and len(state.results.sweep.points) == 9


def test_decided_hypotheses_get_variants_and_the_external_generator_runs_once(make_workspace,
                                                                             tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sys

    from orchestrator.ledger import Ledger

    agent = tmp_path / "agent.py"  # an "LLM agent" that reads the history and proposes one hypothesis
    agent.write_text(
        "import json, sys\n"
        "history = json.load(sys.stdin)\n"
        "assert {h['id'] for h in history['hypotheses']} >= {'H-601', 'H-601a'}\n"
        "print(open(sys.argv[1]).read())\n")
    proposal = tmp_path / "proposal.yaml"
    proposal.write_text(hypothesis_yaml("H-610", "Proposed by the agent", rules={"min_sharpe": 50}))
    settings = (f"generators:\n  variants_per_hypothesis: 1\n  max_variants_total: 1\n"
                f"  command: [{sys.executable}, {agent}, {proposal}]\n")
    ws = make_workspace({"H-601": hypothesis_yaml("H-601", "Decided, then varied", rules={"min_sharpe": 50})},
                        name="variants", settings=settings)
    code, out, err = ws.run("run")
    assert code == 0, err
    assert "proposed H-601a" in out, out
    assert "1 accepted" in out and "proposed H-610" in out, out
    parent = ws.state("H-601")
    assert parent.variants == ["H-601a"] and parent.variants_proposed
    assert {ws.state(i).stage for i in ("H-601", "H-601a", "H-610")} == {Stage.REJECTED}
    propose = [e for e in Ledger(ws.path).history("H-601") if e.stage == "propose"]
    assert len(propose) == 1 and propose[0].trailers["Variants"] == "H-601a"
    assert "hypotheses/H-601a.yaml" in ws.git("show", "--name-only", "--format=", propose[0].sha).split()
    # Nothing is proposed twice: the budget is spent, and the generator ran once in that run.
    code, out, err = ws.run("run")
    assert code == 0 and "proposed" not in out
    assert sorted(p.stem for p in (ws.path / "hypotheses").glob("H-*.yaml")) == ["H-601", "H-601a", "H-610"]
