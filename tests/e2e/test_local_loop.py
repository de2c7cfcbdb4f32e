"""The whole loop on the local platform (embedded engine, real Jupyter kernels), through `main([...])`.

One workspace holds five hypotheses that end in five different places, run by a single `qcloop run`:

    H-101  optimized, validated, accepted (and tagged)
    H-102  rejected at the baseline (min_sharpe 50)
    H-103  rejected at the walk-forward (min_oos_sharpe 50)
    H-104  its sweep notebook raises (a workspace template override makes one cell fail for H-104)
    H-105  its generated code was edited into a syntax error: the compile fails

Then the ledger, history on a fresh clone, status/show/replay, and `qcloop retry` are checked on it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestrator.models import Action, Stage, Step
from orchestrator.strategies import BUILTIN_TEMPLATES
from tests.e2e.conftest import Workspace, hypothesis_yaml, sequence, steps_of, subjects

# Each module plays one scenario in a session-scoped fixture: run with `-n 2 --dist loadfile` so that one
# worker runs a whole module and plays its scenario once.
pytestmark = [pytest.mark.kernel, pytest.mark.slow]

SCENARIOS = {
    "H-101": hypothesis_yaml("H-101", "Accepted after optimization"),
    "H-102": hypothesis_yaml("H-102", "Rejected at the baseline", rules={"min_sharpe": 50}),
    "H-103": hypothesis_yaml("H-103", "Rejected at the walk-forward", rules={"min_oos_sharpe": 50}),
    "H-104": hypothesis_yaml("H-104", "Its sweep notebook fails"),
    "H-105": hypothesis_yaml("H-105", "Its code does not compile", rules={"min_sharpe": 50}),
}


def _failing_grid_cell(workspace: Path) -> None:
    """A workspace override of the sweep's grid cell that raises for H-104 only (templates are per workspace)."""
    original = (BUILTIN_TEMPLATES / "notebooks" / "parameter_sweep" / "grid.py.j2").read_text()
    override = workspace / "templates" / "notebooks" / "parameter_sweep" / "grid.py.j2"
    override.parent.mkdir(parents=True)
    override.write_text('{% if spec.hypothesis_id == "H-104" %}\n'
                        'raise ValueError("the grid cell of H-104 fails on purpose")\n'
                        "{% endif %}\n" + original)


@pytest.fixture(scope="session")
def ran(make_workspace) -> Workspace:  # type: ignore[no-untyped-def]
    ws = make_workspace(SCENARIOS, name="local-loop")
    _failing_grid_cell(ws.path)
    code, out, err = ws.run("run", "H-105", "--once")  # generate H-105's code only
    assert code == 0, err
    main_py = ws.path / "strategies" / "H-105" / "main.py"
    main_py.write_text(main_py.read_text() + "\ndef broken(:\n    pass\n")  # someone edited the code
    code, out, err = ws.run("run")
    assert code == 0, err + out
    ws.run_output = out  # type: ignore[attr-defined]
    return ws


def test_every_hypothesis_ends_where_its_scenario_says(ran: Workspace) -> None:
    stages = {h: ran.state(h).stage for h in SCENARIOS}
    assert stages == {"H-101": Stage.ACCEPTED, "H-102": Stage.REJECTED, "H-103": Stage.REJECTED,
                      "H-104": Stage.FAILED, "H-105": Stage.FAILED}
    assert [d.step for d in ran.state("H-102").decisions] == [Step.BASELINE]
    assert [(d.step, d.action) for d in ran.state("H-103").decisions][-1] == (Step.VALIDATE, Action.REJECT)
    assert "min_oos_sharpe" in [c.rule for c in ran.state("H-103").decisions[-1].checks if not c.passed]
    assert ran.git("tag", "--list").split() == ["accepted/H-101"]
    assert "every hypothesis is accepted, rejected or failed" in ran.run_output  # type: ignore[attr-defined]


def test_the_accepted_hypothesis_went_through_every_stage_with_parity(ran: Workspace) -> None:
    state = ran.state("H-101")
    assert [(d.step, d.action) for d in state.decisions] == [
        (Step.BASELINE, Action.OPTIMIZE), (Step.OPTIMIZE, Action.VALIDATE), (Step.VALIDATE, Action.ACCEPT)]
    optimize = state.decisions[1]
    parity = [c for c in optimize.checks if c.rule == "parity_sharpe_tolerance"]
    assert parity and parity[0].passed and parity[0].observed is not None and parity[0].observed < 0.05
    # The holdout is after the search window, touched once, and recorded (the built-in algorithms
    # read their dates from the start/end parameters, which is what makes a holdout possible).
    from orchestrator.loop.stages import reads_window_parameters

    assert reads_window_parameters((ran.path / "strategies" / "H-101" / "main.py").read_text())
    assert state.search_window is not None and state.holdout_window is not None
    assert state.search_window[1] < state.holdout_window[0]
    assert state.results.holdout is not None and state.holdout_used_at is not None
    assert state.results.holdout.start is not None and state.results.holdout.start >= state.search_window[1]


def test_trials_are_counted_per_hypothesis_and_family_and_reach_the_trailers(ran: Workspace) -> None:
    from orchestrator.ledger import Ledger

    states = {h: ran.state(h) for h in SCENARIOS}
    accepted = states["H-101"]
    # H-101: the baseline, 9 grid points, the confirmation and the holdout backtests.
    assert len(accepted.trials) == 1 + 9 + 2
    assert accepted.trial_stats is not None
    assert accepted.trial_stats.hypothesis_trials == 12
    assert accepted.trial_stats.family == "ma_crossover"
    # The family count at H-101's validation includes what the other ma_crossover hypotheses had run by
    # then: at least its own 12, at most everything the family ran by the end of the run.
    family_total = sum(len(s.trials) for s in states.values())
    assert 12 <= accepted.trial_stats.family_trials <= family_total
    assert accepted.trial_stats.deflated_sharpe is not None
    accept_commit = next(e for e in Ledger(ran.path).history("H-101") if e.trailers.get("Decision") == "accept")
    assert accept_commit.trailers["Trials"] == "12"
    assert accept_commit.trailers["Family-Trials"] == str(accepted.trial_stats.family_trials)
    assert float(accept_commit.trailers["Deflated-Sharpe"]) == pytest.approx(accepted.trial_stats.deflated_sharpe,
                                                                             abs=1e-4)
    assert "Trials-Sharpe-Variance" in accept_commit.trailers


def test_each_step_is_exactly_one_commit_of_exactly_its_files(ran: Workspace) -> None:
    for hypothesis in SCENARIOS:
        state = ran.state(hypothesis)
        assert steps_of(ran, hypothesis) == sequence(steps_of(ran, hypothesis)) == list(range(1, state.seq + 1))
    # Only what the test itself changed is uncommitted (its settings, and the code it broke on purpose).
    assert ran.git("status", "--porcelain", "--untracked-files=no").split() == ["M", "qcloop.yaml", "M",
                                                                              "strategies/H-105/main.py"]
    log = ran.git("log", "--format=%H %s")
    for line in log.splitlines():
        sha, subject = line.split(" ", 1)
        if not subject.startswith("H-101 "):
            continue
        files = ran.git("show", "--name-only", "--format=", sha).split()
        assert "state/H-101.json" in files
        assert all(f.startswith(("state/H-101", "runs/H-101/", "strategies/H-101/", "hypotheses/H-101"))
                   for f in files), (subject, files)
    assert subjects(ran, "H-102") == ["H-102 generate: ma_crossover on SPY, code "
                                      f"{ran.state('H-102').code_sha256[:8]} -> baseline",
                                      subjects(ran, "H-102")[1]]
    assert subjects(ran, "H-102")[1].startswith("H-102 baseline: Sharpe ") and \
        subjects(ran, "H-102")[1].endswith(" trades -> reject")


def test_a_failing_notebook_fails_the_hypothesis_with_evidence_and_a_retry_command(ran: Workspace) -> None:
    state = ran.state("H-104")
    assert state.failure is not None
    assert state.failure.stage is Stage.AWAITING_RESULTS
    assert "FAILED" in state.failure.reason and "ValueError" in state.failure.evidence
    assert "fails on purpose" in state.failure.evidence
    assert state.failure.retry == "qcloop retry H-104"
    code, out, _ = ran.run("status")
    assert code == 0 and "retry with: qcloop retry H-104" in out
    assert subjects(ran, "H-104")[-1].startswith("H-104 fail: ")
    # The notebook as it came back (with the error in its cell) is committed with the failure.
    failed = ran.git("show", "--name-only", "--format=", "HEAD", "--", "runs/H-104").split() or \
        [f for f in ran.git("log", "--name-only", "--format=", "-1", "--grep=^H-104 fail").split()]
    assert "runs/H-104/notebooks/qcloop_H-104_parameter_sweep.ipynb" in failed


def test_a_compile_error_fails_with_the_build_log_and_retry_regenerates_the_code(ran: Workspace) -> None:
    state = ran.state("H-105")
    assert state.failure is not None and "does not compile" in state.failure.reason
    assert "main.py" in state.failure.evidence and "Build Error" in state.failure.evidence
    code, out, _ = ran.run("show", "H-105")
    assert code == 0 and "FAILED in baseline" in out and "retry with: qcloop retry H-105" in out
    code, out, err = ran.run("retry", "H-105")
    assert code == 0, err
    assert "reopened at proposed as attempt 2" in out
    code, out, err = ran.run("run", "H-105")
    assert code == 0, err
    retried = ran.state("H-105")
    assert retried.stage is Stage.REJECTED and retried.attempt == 2  # min_sharpe 50: rejected at the baseline
    assert "qcloop/H-105/baseline/2" in retried.jobs  # attempt 2 used new remote names
    assert "def broken(" not in (ran.path / "strategies" / "H-105" / "main.py").read_text()
    assert steps_of(ran, "H-105") == list(range(1, retried.seq + 1))


def test_history_is_rebuilt_from_git_alone_on_a_fresh_clone(ran: Workspace, tmp_path: Path) -> None:
    code, original, _ = ran.run("history", "--json")
    assert code == 0
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ran.path), str(clone)], check=True)
    shutil.rmtree(clone / "state")  # history must not read state files
    code, cloned, err = ran.run("-w", str(clone), "history", "--json")
    assert code == 0, err
    assert json.loads(cloned) == json.loads(original)
    code, text, _ = ran.run("-w", str(clone), "history", "H-101")
    assert code == 0
    assert "H-101 (ma_crossover, 6 steps, last: accept)" in text
    assert "baseline: Sharpe" in text and "-> accept" in text


def test_show_and_status_and_replay_read_the_recorded_decisions(ran: Workspace, tmp_path: Path) -> None:
    code, out, _ = ran.run("show", "H-101")
    assert code == 0
    for needle in ("Decisions:", "baseline -> optimize  (default@2", "Deflated Sharpe", "Remote jobs:",
                   "qcloop/H-101/validate/1/holdout", "runs/H-101/notebooks/qcloop_H-101_walk_forward.ipynb"):
        assert needle in out, needle
    code, out, _ = ran.run("replay")
    assert code == 0 and "0 decisions would change" in out
    strict = tmp_path / "strict.yaml"
    strict.write_text("name: strict\nversion: 1\nmin_oos_sharpe: 0.5\n")
    code, out, _ = ran.run("replay", "--rules", str(strict), "--json")
    rows = json.loads(out)["decisions"]
    # The hypothesis's own overrides still apply (min_oos_sharpe -10 for H-101): recorded overrides win.
    assert all(row["replayed_rules"] == "strict@1" for row in rows)
    assert not any(row["changed"] for row in rows if row["id"] == "H-101")


def test_a_second_run_in_the_same_workspace_refuses(ran: Workspace) -> None:
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from orchestrator.store import Store
        store = Store(Path({str(ran.path)!r}))
        store.acquire_run_lock("qcloop run")
        print("locked", flush=True)
        sys.stdin.read()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code, _, err = ran.run("run")
        assert code == 1
        assert "another qcloop run is already working in" in err and f"pid {holder.pid}" in err
    finally:
        holder.kill()
        holder.wait()
