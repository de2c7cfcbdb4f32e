"""Killed at any instant, resumed, nothing lost or done twice (DESIGN.md §3, issue 7 items 3 and 9).

Three ways of dying, one hypothesis that goes through every stage (H-301, accepted under lenient rules):

1. crash points (local platform): the loop raises at every named point the first time it reaches it
   (each intent, just before and just after each create call, each notebook rendered, between each
   state write and its commit, after each commit) and is restarted each time, until it finishes;
2. the same on the cloud path against the emulator, whose backtest list must show no duplicate;
3. `qcloop run` as a real subprocess killed with SIGKILL at random moments, then run to the end.

All three must end exactly where an uninterrupted run ends (the same decisions and figures: the crash
run on the local platform is the reference), with a ledger whose steps are 1..n without gaps or repeats.
(`benchmarks/kill_resume.py` does the SIGKILL variant 20 times and more.)
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrator.commands import Context
from orchestrator.commands._loop import build_loop_context, open_workspace
from orchestrator.emulator import EmulatorBackend, EmulatorServer, Timing
from orchestrator.emulator.operator import run_notebook
from orchestrator.loop.runner import RunOptions, run_loop
from orchestrator.models import HypothesisState, Stage, Step
from orchestrator.store import Store
from tests.e2e.conftest import Workspace, hypothesis_yaml, steps_of

# Each module plays one scenario in a session-scoped fixture: run with `-n 2 --dist loadfile` so that one
# worker runs a whole module and plays its scenario once.
pytestmark = [pytest.mark.kernel, pytest.mark.slow]

SPEC = {"H-301": hypothesis_yaml("H-301", "Through every stage, killed all along the way")}
CRASH_POINTS = {
    "project:intent", "project:before-create", "project:after-create", "backtest:intent",
    "backtest:before-create", "backtest:after-create", "notebook:rendered", "step:saved", "step:committed",
}
USER_ID, TOKEN = 6161, "e2e-resume-token-0123456789abcdef"


class Crash(Exception):  # noqa: N818 - stands for a kill
    pass


@dataclass
class CrashRun:
    state: HypothesisState
    crashes: list[tuple[Any, ...]] = field(default_factory=list)
    restarts: int = 0


def _key(name: str, workspace: Path, hypothesis_id: str) -> tuple[Any, ...]:
    """Where the loop is: the same instant reached again after a restart has the same key."""
    state = Store(workspace).load(hypothesis_id)
    jobs = tuple(sorted((j.name, j.status.value) for j in state.jobs.values()))
    notebooks = tuple(sorted((k, n.nonce, n.put_at is not None) for k, n in state.notebooks.items()))
    return name, state.stage.value, state.seq, jobs, notebooks


def crash_everywhere(ws: Workspace, args: argparse.Namespace,
                     person: Callable[[HypothesisState], None] | None = None, hypothesis_id: str = "H-301") -> CrashRun:
    """Run the loop, crashing at each new crash point once, restarting until the hypothesis is terminal."""
    seen: set[tuple[Any, ...]] = set()
    result = CrashRun(state=None)  # type: ignore[arg-type]

    def checkpoint(name: str) -> None:
        key = _key(name, ws.path, hypothesis_id)
        # A crash between a step's state write and its commit means the commit is made by the next run's
        # recovery, so that step never reaches "step:committed": crash there on odd steps only, and after
        # the commit on even ones, to cover both instants.
        if name == "step:saved" and key[2] % 2 == 0:
            return
        if key not in seen:
            seen.add(key)
            result.crashes.append(key)
            raise Crash(name)

    for _ in range(200):
        ctx = Context(cwd=ws.path, environ=ws.env, home=Path(ws.env["HOME"]), stdout=io.StringIO(),
                      stderr=io.StringIO(), workspace_arg=ws.path)
        workspace = open_workspace(ctx)
        loop = build_loop_context(ctx, workspace, args)
        loop.checkpoint = checkpoint
        workspace.store.acquire_run_lock()
        try:
            run_loop(loop, RunOptions(until_idle=True), sleep=lambda seconds: time.sleep(min(seconds, 0.05)))
        except Crash:
            result.restarts += 1
            continue
        finally:
            workspace.store.release_run_lock()
            loop.platform.close()
        state = ws.state(hypothesis_id)
        if state.stage.terminal:
            result.state = state
            return result
        assert person is not None, f"{hypothesis_id} waits on the local platform: {state.waiting}"
        person(state)
    raise AssertionError("the loop did not finish within 200 restarts")


def signature(state: HypothesisState) -> dict[str, Any]:
    """What must not depend on how often the loop was killed (timestamps, ids and nonces aside)."""
    r = state.results
    return {
        "stage": state.stage, "seq": state.seq, "parameters": state.parameters,
        "decisions": [(d.step, d.action, d.summary) for d in state.decisions],
        "baseline": round(r.baseline.sharpe, 9) if r.baseline else None,
        "chosen": r.sweep.chosen if r.sweep else None,
        "confirmation": round(r.confirmation.sharpe, 9) if r.confirmation else None,
        "holdout": round(r.holdout.sharpe, 9) if r.holdout else None,
        "trials": [(t.kind, t.label, round(t.sharpe, 9)) for t in state.trials],
        "jobs": sorted(state.jobs),
    }


def assert_consistent_ledger(ws: Workspace, state: HypothesisState) -> None:
    assert steps_of(ws, state.id) == list(range(1, state.seq + 1))
    ws.git("fsck", "--no-progress")
    assert ws.git("status", "--porcelain", "--untracked-files=no") == ""


@pytest.fixture(scope="session")
def local_run(make_workspace) -> tuple[Workspace, CrashRun]:  # type: ignore[no-untyped-def]
    ws = make_workspace(SPEC, name="resume-local")
    ws.git("add", "qcloop.yaml")
    ws.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "test settings")
    return ws, crash_everywhere(ws, argparse.Namespace(platform="local", api_url=None, manual=False))


def test_killed_at_every_crash_point_the_local_loop_still_finishes_once(local_run: tuple[Workspace, CrashRun]) -> None:
    ws, run = local_run
    assert run.state.stage is Stage.ACCEPTED
    assert {key[0] for key in run.crashes} == CRASH_POINTS
    # Every step boundary was hit: between the state write and the commit (odd steps), after the commit
    # (even steps).
    assert sorted(key[2] for key in run.crashes if key[0] == "step:saved") == list(range(1, run.state.seq + 1, 2))
    assert sorted(key[2] for key in run.crashes if key[0] == "step:committed") == list(range(2, run.state.seq + 1, 2))
    assert run.restarts == len(run.crashes)
    assert_consistent_ledger(ws, run.state)
    backtests = Path(ws.path, ".qcloop", "local", "backtests", "qcloop-H-301")
    assert len(list(backtests.glob("*.json"))) == 3  # baseline, confirmation, holdout: each exactly once


@pytest.fixture(scope="session")
def emulator_run(make_workspace, synthetic_data: Path) -> tuple[Workspace, CrashRun, list[str]]:  # type: ignore[no-untyped-def]
    backend = EmulatorBackend(data_folder=synthetic_data, timing=Timing.after_polls(2))
    user, _ = backend.register_user(USER_ID, TOKEN)
    ws = make_workspace(SPEC, name="resume-emulator",
                        settings="notebooks:\n  poll_initial_seconds: 0.05\n  poll_max_seconds: 0.2\n")
    ws.env.update({"QC_USER_ID": str(USER_ID), "QC_API_TOKEN": TOKEN, "QC_ORGANIZATION_ID": user.organization_id})
    ws.git("add", "qcloop.yaml")
    ws.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "test settings")

    def person(state: HypothesisState) -> None:
        assert state.waiting is not None and state.waiting.for_person and state.awaiting is not None
        run_notebook(backend, int(state.project.project_id),  # type: ignore[union-attr]
                     state.notebooks[state.awaiting.value].file_name, timeout=300)

    with EmulatorServer(backend) as server:
        run = crash_everywhere(ws, argparse.Namespace(platform="cloud", api_url=server.url, manual=False), person)
        project = int(run.state.project.project_id)  # type: ignore[union-attr]
        names = [b.record.name for b in backend.list_backtests(backend.user(USER_ID), project)]
    backend.close()
    return ws, run, names


def test_killed_everywhere_on_the_cloud_path_no_backtest_is_duplicated(
        emulator_run: tuple[Workspace, CrashRun, list[str]], local_run: tuple[Workspace, CrashRun]) -> None:
    ws, run, names = emulator_run
    assert {key[0] for key in run.crashes} == CRASH_POINTS
    assert [n for n, c in collections.Counter(names).items() if c > 1] == []
    assert sorted(names) == ["qcloop/H-301/baseline/1", "qcloop/H-301/validate/1/confirmation",
                             "qcloop/H-301/validate/1/holdout"]
    assert_consistent_ledger(ws, run.state)
    # The same hypothesis on the cloud path decides exactly as on the local platform.
    assert signature(run.state) == signature(local_run[1].state)


def test_sigkill_at_random_moments_then_resume_ends_where_an_uninterrupted_run_ends(
        make_workspace, local_run: tuple[Workspace, CrashRun]) -> None:  # type: ignore[no-untyped-def]
    ws = make_workspace(SPEC, name="resume-sigkill")
    ws.git("add", "qcloop.yaml")
    ws.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "test settings")
    env = {**os.environ, **ws.env}
    command = [sys.executable, "-m", "orchestrator", "run", "-w", str(ws.path)]
    rng = random.Random(20240611)
    before = int(ws.git("rev-list", "--count", "HEAD"))
    # Kill when the ledger has reached a chosen step, plus a random fraction of a second: at three
    # different places of the run whatever the machine's speed (a fixed delay would sometimes let a
    # resumed run finish before its kill).
    kills = 0
    for target in (1, 3, 5):
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while child.poll() is None and int(ws.git("rev-list", "--count", "HEAD")) - before < target:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.5))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            kills += 1
        child.wait()
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert final.returncode == 0, final.stderr
    state = ws.state("H-301")
    assert kills == 3
    assert signature(state) == signature(local_run[1].state)
    assert_consistent_ledger(ws, state)
    backtests = Path(ws.path, ".qcloop", "local", "backtests", "qcloop-H-301")
    assert len(list(backtests.glob("*.json"))) == 3
    assert Step.VALIDATE in [d.step for d in state.decisions]


def test_a_paid_optimization_waits_for_approval_and_is_created_once_however_often_the_loop_dies(
        make_workspace, synthetic_data: Path) -> None:  # type: ignore[no-untyped-def]
    backend = EmulatorBackend(data_folder=synthetic_data, timing=Timing.after_polls(2))
    user, _ = backend.register_user(USER_ID + 1, TOKEN)
    spec = {"H-302": hypothesis_yaml("H-302", "Optimized in the cloud, with approval")}
    ws = make_workspace(spec, name="resume-paid", settings="budget:\n  money_usd: 5\n"
                        "notebooks:\n  poll_initial_seconds: 0.05\n  poll_max_seconds: 0.2\n")
    ws.env.update({"QC_USER_ID": str(USER_ID + 1), "QC_API_TOKEN": TOKEN,
                   "QC_ORGANIZATION_ID": user.organization_id})
    ws.git("add", "qcloop.yaml")
    ws.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "test settings")
    asked: list[str] = []

    def person(state: HypothesisState) -> None:
        assert state.waiting is not None and state.waiting.for_person
        if state.stage is Stage.OPTIMIZING:  # waiting for `qcloop approve`
            code, out, _ = ws.run("status")
            asked.append(out)
            code, out, err = ws.run("approve", "H-302")
            assert code == 0, err
            return
        run_notebook(backend, int(state.project.project_id),  # type: ignore[union-attr]
                     state.notebooks[state.awaiting.value].file_name, timeout=300)  # type: ignore[union-attr]

    with EmulatorServer(backend) as server:
        run = crash_everywhere(ws, argparse.Namespace(platform="cloud", api_url=server.url, manual=False),
                               person, hypothesis_id="H-302")
        project = int(run.state.project.project_id)  # type: ignore[union-attr]
        optimizations = [o.record.name for o in backend.list_optimizations(backend.user(USER_ID + 1), project)]
    backend.close()
    assert asked and "Approve it: qcloop approve H-302" in asked[0] and "estimated at $" in asked[0]
    assert {"optimization:intent", "optimization:before-create", "optimization:after-create"} <= \
        {key[0] for key in run.crashes}
    assert optimizations == ["qcloop/H-302/optimize/1"]  # created once, whatever the crashes
    state = run.state
    assert state.approval is not None and state.results.sweep is not None
    assert state.results.sweep.source == "optimization"
    assert [t.kind for t in state.trials].count("optimization_point") == len(state.results.sweep.points) == 9
    assert [e for e in ws.git("log", "--format=%s").splitlines() if "approve:" in e] == \
        ["H-302 approve: paid optimization approved up to $" + f"{state.approval.max_usd:.2f}"]
    assert_consistent_ledger(ws, state)
