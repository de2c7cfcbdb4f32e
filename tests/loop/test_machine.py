"""What `advance` does when a stage meets a broken notebook, a failing platform, or a paid operation.

A real workspace (git, state files, rule set, templates) and the small fake platform of helpers.py, so
that each stage is driven into exactly the situation a test is about.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestrator.errors import AuthenticationError, TransportError
from orchestrator.loop.machine import advance
from orchestrator.models import Stage, Step
from orchestrator.platforms.base import NotebookOutcome
from tests.loop.helpers import FakePlatform, awaiting, committed_state, make_loop


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_a_malformed_walk_forward_record_fails_with_the_notebook_committed_and_retries_the_validation(
        tmp_path: Path) -> None:
    platform = FakePlatform(outcomes=[NotebookOutcome(
        classification="FRESH", record={"kind": "walk_forward"}, channel="project file",
        notebook_json='{"ran": "by the person"}\n')])
    loop = make_loop(tmp_path, platform)
    state = awaiting(loop, Step.VALIDATE)
    failed = advance(loop.ctx, state)
    assert failed.stage is Stage.FAILED and failed.failure is not None
    assert "malformed" in failed.failure.reason
    # The walk-forward is redone on retry, not the sweep before it.
    assert failed.failure.resume is Stage.VALIDATING
    # The notebook that came back is the failure's evidence: it is in the failure's commit, and nothing
    # the step wrote is left uncommitted.
    notebook = "runs/H-001/notebooks/qcloop_H-001_walk_forward.ipynb"
    assert notebook in git(loop.workspace, "show", "--name-only", "--format=", "HEAD").split()
    assert git(loop.workspace, "show", f"HEAD:{notebook}") == '{"ran": "by the person"}\n'
    assert git(loop.workspace, "status", "--porcelain") == ""


def test_a_platform_error_keeps_the_persons_wait_with_its_instructions_and_deadline(tmp_path: Path) -> None:
    # Reading the confirmation backtest fails once while the walk-forward notebook waits for a person.
    platform = FakePlatform(errors=[TransportError("connection reset", endpoint="backtests/list")])
    loop = make_loop(tmp_path, platform)
    before = awaiting(loop, Step.VALIDATE).waiting
    assert before is not None
    loop.clock.advance(60)
    after = advance(loop.ctx, loop.state())
    assert after.stage is Stage.AWAITING_RESULTS and after.waiting is not None
    assert after.waiting.for_person and after.waiting.what == before.what
    assert after.waiting.instructions == before.instructions and after.waiting.url == before.url
    assert (after.waiting.since, after.waiting.deadline) == (before.since, before.deadline)
    assert after.waiting.next_check_at > loop.clock()
    assert any("connection reset" in line and "trying again" in line for line in loop.said)
    # The next check finds the notebook not run yet: still the same wait, still the same instructions.
    loop.clock.advance(60)
    again = advance(loop.ctx, loop.state())
    assert again.waiting is not None and again.waiting.instructions == before.instructions
    assert again.waiting.since == before.since


def test_platform_errors_that_outlast_the_timeout_fail_the_hypothesis(tmp_path: Path) -> None:
    down = [TransportError("connection refused", endpoint="backtests/list") for _ in range(10)]
    loop = make_loop(tmp_path, FakePlatform(errors=down), settings="cloud:\n  backtest_timeout_seconds: 600\n")
    state = committed_state(loop, Stage.BASELINE)
    state = advance(loop.ctx, state)
    assert state.stage is Stage.BASELINE and state.waiting is not None and not state.waiting.for_person
    loop.clock.advance(300)
    state = advance(loop.ctx, state)
    assert state.stage is Stage.BASELINE  # within cloud.backtest_timeout_seconds: still trying
    loop.clock.advance(301)
    state = advance(loop.ctx, state)
    assert state.stage is Stage.FAILED and state.failure is not None
    assert state.failure.reason == ("the platform kept failing since 2024-06-03 09:00 UTC: "
                                    "backtests/list: connection refused")
    assert state.failure.resume is Stage.GENERATED


def test_an_authentication_error_stops_the_run_instead_of_waiting(tmp_path: Path) -> None:
    platform = FakePlatform(errors=[AuthenticationError("Hash doesn't match.", endpoint="backtests/list")])
    loop = make_loop(tmp_path, platform)
    state = committed_state(loop, Stage.BASELINE)
    with pytest.raises(AuthenticationError):
        advance(loop.ctx, state)


def test_a_paid_optimization_waiting_for_approval_says_so_once_and_reminds(tmp_path: Path) -> None:
    loop = make_loop(tmp_path, FakePlatform(supports_optimizations=True, estimate_usd=2.0),
                     settings="budget:\n  money_usd: 5\nnotebooks:\n  remind_every_minutes: 30\n")
    code = loop.workspace / "strategies" / "H-001" / "main.py"
    code.parent.mkdir(parents=True)
    code.write_text("from AlgorithmImports import *\n")
    state = advance(loop.ctx, committed_state(loop, Stage.OPTIMIZING, code_path="strategies/H-001"))
    assert state.stage is Stage.OPTIMIZING and state.pending_cost_usd == 2.0
    assert state.waiting is not None and state.waiting.for_person
    # Told on the terminal, with the command to run, and notified: once.
    assert "  H-001 waits for you: an approval of the paid optimization" in loop.said
    assert "    Approve it: qcloop approve H-001" in loop.said
    assert [title for title, _ in loop.notified] == ["qcloop: H-001 waits for you"]
    said = len(loop.said)
    loop.clock.advance(60)
    state = advance(loop.ctx, state)
    assert loop.said[said:] == [] and len(loop.notified) == 1
    loop.clock.advance(30 * 60)
    advance(loop.ctx, loop.state())
    assert [title for title, _ in loop.notified] == ["qcloop: H-001 waits for you", "qcloop: H-001 still waits for you"]


def test_code_changed_while_the_run_goes_on_is_uploaded_and_compiled_again(tmp_path: Path) -> None:
    # A run compiles H-001; the person then fixes the template and `qcloop retry`s it while that same run
    # keeps going: the new code must reach the platform before the next backtest, not the old compile.
    from orchestrator.loop.effects import ensure_compiled
    from orchestrator.platforms.base import ProjectHandle

    loop = make_loop(tmp_path)
    code = loop.workspace / "strategies" / "H-001" / "main.py"
    code.parent.mkdir(parents=True)
    code.write_text("# attempt 1\n")
    state = committed_state(loop, Stage.GENERATED, code_path="strategies/H-001")
    project = ProjectHandle(name="qcloop/H-001", project_id="p-1")
    ensure_compiled(loop.ctx, state, project)
    ensure_compiled(loop.ctx, state, project)  # unchanged: compiled once per process
    assert loop.platform.calls == ["put_files", "compile"]
    code.write_text("# attempt 2, regenerated\n")
    ensure_compiled(loop.ctx, state.model_copy(update={"attempt": 2}), project)
    assert loop.platform.calls == ["put_files", "compile", "put_files", "compile"]


def test_a_recorded_local_backtest_that_is_gone_fails_the_hypothesis_with_a_retry(tmp_path: Path) -> None:
    # The local platform keeps its results in .qcloop/ (not in git): on a fresh clone, or after .qcloop/
    # was removed, a backtest the state records is gone. The hypothesis fails with the reason and
    # `qcloop retry` (a new attempt runs it again) instead of the run crashing.
    from orchestrator.models import JobKind, JobStatus, RemoteJob
    from orchestrator.platforms.local import LocalPlatform

    loop = make_loop(tmp_path)
    loop.ctx.platform = LocalPlatform(loop.ctx.settings)
    job = RemoteJob(kind=JobKind.BACKTEST, name="qcloop/H-001/baseline/1", status=JobStatus.CREATED,
                    remote_id="0" * 32)
    state = advance(loop.ctx, committed_state(loop, Stage.BASELINE, jobs={job.name: job}))
    assert state.stage is Stage.FAILED and state.failure is not None
    assert state.failure.reason == "the backtest qcloop/H-001/baseline/1 is gone from the local platform"
    assert ".qcloop" in state.failure.evidence and state.failure.resume is Stage.GENERATED


def test_a_local_notebook_that_is_gone_fails_the_hypothesis_with_a_retry(tmp_path: Path) -> None:
    from orchestrator.platforms.local import LocalPlatform

    loop = make_loop(tmp_path)
    loop.ctx.platform = LocalPlatform(loop.ctx.settings)
    state = advance(loop.ctx, awaiting(loop, Step.OPTIMIZE).model_copy(update={"waiting": None}))
    assert state.stage is Stage.FAILED and state.failure is not None
    assert "came back NOT_RUN" in state.failure.reason and ".qcloop" in state.failure.reason
    assert state.failure.resume is Stage.OPTIMIZING


def test_variants_written_by_a_killed_run_wait_for_their_parents_propose_step(tmp_path: Path) -> None:
    # A run is killed after it wrote the variant files and before the parent's propose commit. The next
    # run must not start the variants before that commit: an uninterrupted run proposes for every decided
    # hypothesis first, and only then runs the variants (which count as trials of their family).
    from orchestrator.loop.proposals import propose
    from orchestrator.loop.runner import sync_hypotheses

    loop = make_loop(tmp_path, settings="generators:\n  variants_per_hypothesis: 1\n")
    committed_state(loop, Stage.REJECTED)

    def killed(name: str) -> None:
        if name == "propose:written":
            raise KeyboardInterrupt

    loop.ctx.checkpoint = killed
    with pytest.raises(KeyboardInterrupt):
        propose(loop.ctx, external_allowed=False, considered=set())
    variant = next(p.stem for p in (loop.workspace / "hypotheses").glob("H-001?.yaml"))
    sync_hypotheses(loop.ctx)  # the next run starts
    assert loop.ctx.store.ids() == ["H-001"]
    loop.ctx.checkpoint = lambda name: None
    assert propose(loop.ctx, external_allowed=False, considered=set()) == ([variant], False)
    assert loop.state().variants == [variant]
    sync_hypotheses(loop.ctx)
    assert loop.ctx.store.ids() == ["H-001", variant]


def test_an_hour_resolution_hypothesis_fails_at_generate_with_what_to_change(tmp_path: Path) -> None:
    # The notebooks evaluate daily bars, so an hour-bar hypothesis could never pass the parity check:
    # it fails before any backtest is spent, saying which line to change and what still works.
    loop = make_loop(tmp_path)
    spec = loop.workspace / "hypotheses" / "H-001.yaml"
    spec.write_text(spec.read_text() + "resolution: hour\n")
    state = advance(loop.ctx, committed_state(loop, Stage.PROPOSED))
    assert state.stage is Stage.FAILED and state.failure is not None
    assert "resolution 'hour'" in state.failure.reason and "resolution: daily" in state.failure.reason
    assert "qcloop backtest" in state.failure.reason
    assert loop.platform.calls == []  # nothing was created or run
