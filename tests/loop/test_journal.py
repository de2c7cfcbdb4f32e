"""Steps as commits: a state write and exactly one commit, recovered when a run dies in between."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestrator.ledger import Ledger
from orchestrator.loop.context import Bookkeeping
from orchestrator.loop.journal import commit_step, recover_owed_commits, save
from orchestrator.models import HypothesisState, Stage, Step
from orchestrator.store import Store


class Crash(Exception):  # noqa: N818 - stands for a kill, not an error
    pass


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def books(tmp_path: Path, crash_at: str | None = None) -> Bookkeeping:
    if not (tmp_path / ".git").exists():
        Ledger.init(tmp_path)

    def checkpoint(name: str) -> None:
        if name == crash_at:
            raise Crash(name)

    return Bookkeeping(store=Store(tmp_path), ledger=Ledger(tmp_path), say=lambda _: None, checkpoint=checkpoint)


def new_state() -> HypothesisState:
    return HypothesisState(id="H-001", family="ma_crossover", spec_path="hypotheses/H-001.yaml", spec_sha256="0" * 64)


def test_a_step_is_one_commit_of_the_state_and_its_files(tmp_path: Path) -> None:
    b = books(tmp_path)
    state = save(b, new_state())
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "artifact.json").write_text("{}")
    written = commit_step(b, state.model_copy(update={"stage": Stage.GENERATED}), step=Step.GENERATE,
                          subject="code abc -> baseline", trailers=[("Decision", "baseline")],
                          files=["runs/artifact.json"])
    assert written.seq == 1 and written.last_step is not None
    assert git(tmp_path, "log", "--format=%s").strip() == "H-001 generate: code abc -> baseline"
    assert sorted(git(tmp_path, "show", "--name-only", "--format=", "HEAD").split()) == \
        ["runs/artifact.json", "state/H-001.json"]
    trailers = git(tmp_path, "log", "-1", "--format=%(trailers:only,unfold)").split("\n")
    assert trailers[:5] == ["Hypothesis: H-001", "Stage: generate", "Step: 1", "Attempt: 1", "Family: ma_crossover"]
    assert git(tmp_path, "status", "--porcelain", "--untracked-files=no") == ""


def test_a_run_killed_between_state_and_commit_owes_the_commit_and_the_next_run_makes_it(tmp_path: Path) -> None:
    state = save(books(tmp_path), new_state())
    with pytest.raises(Crash):
        commit_step(books(tmp_path, crash_at="step:saved"), state.model_copy(update={"stage": Stage.GENERATED}),
                    step=Step.GENERATE, subject="code abc -> baseline")
    assert Store(tmp_path).load("H-001").seq == 1  # the state says step 1 happened ...
    assert git(tmp_path, "rev-list", "--all", "--count").strip() == "0"  # ... git has not seen it
    made = recover_owed_commits(books(tmp_path))
    assert made == ["H-001 generate: code abc -> baseline"]
    assert Ledger(tmp_path).committed_seqs() == {"H-001": 1}
    assert recover_owed_commits(books(tmp_path)) == []  # nothing owed twice


def test_a_state_changed_after_its_last_commit_owes_nothing(tmp_path: Path) -> None:
    b = books(tmp_path)
    state = commit_step(b, save(b, new_state()), step=Step.GENERATE, subject="code")
    save(b, state.model_copy(update={"title": "an intent recorded by the next step"}))
    assert recover_owed_commits(b) == []
    assert "state/H-001.json" in git(tmp_path, "status", "--porcelain")


def test_ctrl_c_between_the_state_write_and_the_commit_waits_for_the_commit(tmp_path: Path) -> None:
    import os
    import signal

    b = books(tmp_path)
    state = save(b, new_state())

    def interrupt(name: str) -> None:
        if name == "step:saved":
            os.kill(os.getpid(), signal.SIGINT)  # the person presses Ctrl-C right here

    b.checkpoint = interrupt
    with pytest.raises(KeyboardInterrupt):
        commit_step(b, state.model_copy(update={"stage": Stage.GENERATED}), step=Step.GENERATE, subject="code")
    # The interrupt arrived after the commit: nothing is owed, the ledger has the step.
    assert Ledger(tmp_path).committed_seqs() == {"H-001": 1}
    assert recover_owed_commits(books(tmp_path)) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
