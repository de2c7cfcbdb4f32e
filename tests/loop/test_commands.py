"""`qcloop retry`, `approve` and `run` on states a killed or finished run left, through `main([...])`."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.ledger import Ledger
from orchestrator.loop.context import Bookkeeping
from orchestrator.loop.journal import commit_step, save
from orchestrator.models import Approval, Failure, HypothesisState, JobKind, JobStatus, RemoteJob, Stage, Step
from orchestrator.store import Store
from orchestrator.workspace import init_workspace


class Crash(Exception):  # noqa: N818 - stands for a kill
    pass


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    init_workspace(path, examples=False)
    return path


def books(path: Path, crash_at: str | None = None) -> Bookkeeping:
    def checkpoint(name: str) -> None:
        if name == crash_at:
            raise Crash(name)

    return Bookkeeping(store=Store(path), ledger=Ledger(path), say=lambda _: None, checkpoint=checkpoint)


def failed_state(path: Path, **fields: Any) -> HypothesisState:
    """H-001 generated (step 1, committed), then failed in the optimization (step 2, committed)."""
    b = books(path)
    state = HypothesisState(id="H-001", family="ma_crossover", spec_path="hypotheses/H-001.yaml",
                            spec_sha256="0" * 64, stage=Stage.GENERATED)
    state = commit_step(b, save(b, state), step=Step.GENERATE, subject="code -> baseline")
    failure = Failure(stage=Stage.OPTIMIZING, reason="it broke", retry="qcloop retry H-001", resume=Stage.OPTIMIZING)
    return commit_step(b, state.model_copy(update={"stage": Stage.FAILED, "failure": failure, **fields}),
                       step=Step.FAIL, subject="it broke")


def test_retry_after_a_run_killed_before_its_fail_commit_makes_that_commit_first(
        tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = workspace(tmp_path)
    b = books(path)
    state = commit_step(b, save(b, HypothesisState(id="H-001", family="ma_crossover", spec_sha256="0" * 64,
                                                   spec_path="hypotheses/H-001.yaml", stage=Stage.OPTIMIZING)),
                        step=Step.GENERATE, subject="code -> baseline")
    evidence = path / "runs" / "H-001" / "notebooks" / "sweep.ipynb"
    evidence.parent.mkdir(parents=True)
    evidence.write_text('{"failed": "cell 3"}\n')
    failure = Failure(stage=Stage.OPTIMIZING, reason="the sweep failed", retry="qcloop retry H-001",
                      resume=Stage.OPTIMIZING)
    failed = state.model_copy(update={"stage": Stage.FAILED, "failure": failure})
    with pytest.raises(Crash):  # the run is killed between the failure's state write and its commit
        commit_step(books(path, crash_at="step:saved"), failed, step=Step.FAIL, subject="the sweep failed",
                    files=["runs/H-001/notebooks/sweep.ipynb"])
    # The person sees FAILED in `qcloop status` and retries before running the loop again.
    result = cli(["retry", "H-001"], cwd=path)
    assert result.code == 0, result.stderr
    history = Ledger(path).history("H-001")
    assert [(e.seq, e.stage) for e in history] == [(1, "generate"), (2, "fail"), (3, "retry")]
    assert "runs/H-001/notebooks/sweep.ipynb" in git(path, "show", "--name-only", "--format=", history[1].sha)
    assert git(path, "status", "--porcelain", "--untracked-files=no") == ""
    assert "recovered the commit a previous run owed: H-001 fail: the sweep failed" in result.stdout


def test_a_retry_needs_a_new_approval_once_the_approved_optimization_was_made(
        tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = workspace(tmp_path)
    made = RemoteJob(kind=JobKind.OPTIMIZATION, name="qcloop/H-001/optimize/1", status=JobStatus.CREATED,
                     remote_id="O-1", cost_usd=2.0)
    failed_state(path, approval=Approval(max_usd=3.0), pending_cost_usd=2.0, jobs={made.name: made})
    result = cli(["retry", "H-001"], cwd=path)
    assert result.code == 0, result.stderr
    retried = Store(path).load("H-001")
    assert retried.attempt == 2 and retried.stage is Stage.OPTIMIZING
    assert retried.approval is None and retried.pending_cost_usd is None
    assert retried.jobs[made.name].cost_usd == 2.0  # the money spent stays on record


def test_an_approval_not_yet_spent_survives_a_retry(tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = workspace(tmp_path)
    failed_state(path, approval=Approval(max_usd=3.0))
    assert cli(["retry", "H-001"], cwd=path).code == 0
    kept = Store(path).load("H-001").approval
    assert kept is not None and kept.max_usd == 3.0


def test_run_with_an_unknown_hypothesis_id_says_so(tmp_path: Path, cli: Callable[..., Any]) -> None:
    path = workspace(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    config = path / "qcloop.yaml"
    config.write_text(config.read_text() + f"\ndata:\n  folder: {data}\n")
    (path / "hypotheses" / "H-001.yaml").write_text(
        "id: H-001\ntitle: t\nrationale: r\ntemplate: ma_crossover\nuniverse: [SPY]\n"
        "start: 2016-01-01\nend: 2019-12-31\n")
    result = cli(["run", "H-009"], cwd=path)
    assert result.code == 1
    assert "no hypothesis H-009 in" in result.stderr and "known: H-001" in result.stderr
    assert "every hypothesis is accepted" not in result.stdout
