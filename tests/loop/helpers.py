"""A loop around a real workspace (git, store, rules, templates) and a small fake platform.

The fake platform stands where QuantConnect or the local engine would: it answers the loop's calls from
a script the test writes (backtests that exist and are finished, what collecting a notebook finds,
errors to raise), so that a stage can be driven into the exact situation a test is about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config import NotifySettings, load_settings
from orchestrator.decide import rules_for_workspace
from orchestrator.errors import CloudError
from orchestrator.ledger import Ledger
from orchestrator.loop.context import LoopContext
from orchestrator.loop.journal import commit_step, save
from orchestrator.loop.stages import file_sha256
from orchestrator.models import HypothesisState, NotebookRun, ProjectRef, Stage, Step, Waiting
from orchestrator.notify import Notifier
from orchestrator.platforms.base import (
    BacktestWindow,
    CompileOutcome,
    NotebookOutcome,
    NotebookPlacement,
    OptimizationEstimate,
    ProjectHandle,
    RemoteBacktest,
    RemoteOptimization,
)
from orchestrator.store import Store
from orchestrator.strategies import load_registry
from orchestrator.workspace import init_workspace

T0 = dt.datetime(2024, 6, 3, 9, 0, tzinfo=dt.UTC)
SPEC = """\
id: H-001
title: A hypothesis the fake platform serves
rationale: Drives one stage into the situation a test is about.
template: ma_crossover
universe: [SPY]
start: 2016-01-01
end: 2019-12-31
parameters:
  fast: {default: 20, sweep: {min: 10, max: 30, step: 10}}
  slow: {default: 75, sweep: {min: 50, max: 100, step: 25}}
"""
PROJECT = ProjectRef(name="qcloop/H-001", project_id="p-1", url="https://example.invalid/project/p-1")
NOTEBOOKS = {Step.OPTIMIZE: "parameter_sweep", Step.VALIDATE: "walk_forward"}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class FakePlatform:
    """Finished backtests for every name asked, scripted notebook outcomes, scripted errors."""

    name: str = "fake"
    person_runs_notebooks: bool = True
    supports_optimizations: bool = False
    metered: bool = False
    estimate_usd: float = 2.0
    errors: list[CloudError] = field(default_factory=list)        # raised by the next calls, in order
    outcomes: list[NotebookOutcome] = field(default_factory=list)  # what collecting finds, in order
    calls: list[str] = field(default_factory=list)

    def _call(self, what: str) -> None:
        self.calls.append(what)
        if self.errors:
            raise self.errors.pop(0)

    def ensure_project(self, name: str) -> ProjectHandle:
        self._call("ensure_project")
        return ProjectHandle(name=name, project_id=PROJECT.project_id or "", url=PROJECT.url)

    def find_project(self, name: str) -> ProjectHandle | None:
        return None

    def put_files(self, project: ProjectHandle, files: Mapping[str, str]) -> None:
        self.calls.append("put_files")

    def compile(self, project: ProjectHandle) -> CompileOutcome:
        self.calls.append("compile")
        return CompileOutcome(ok=True, compile_id="compile-1")

    def _backtest(self, name: str) -> RemoteBacktest:
        return RemoteBacktest(backtest_id=f"bt-{name}", name=name, completed=True, progress=1.0, result={})

    def find_backtest(self, project: ProjectHandle, name: str) -> RemoteBacktest | None:
        self._call("find_backtest")
        return self._backtest(name)

    def create_backtest(self, project: ProjectHandle, *, compile_id: str | None, name: str,
                        parameters: Mapping[str, str], window: BacktestWindow | None) -> RemoteBacktest:
        raise AssertionError("every backtest exists already on the fake platform")

    def read_backtest(self, project: ProjectHandle, backtest_id: str) -> RemoteBacktest:
        self._call("read_backtest")
        return self._backtest(backtest_id.removeprefix("bt-"))

    def estimate_optimization(self, project: ProjectHandle, *, compile_id: str | None, name: str,
                              grid: Mapping[str, list[float]], parameters: Mapping[str, str]) -> OptimizationEstimate:
        self._call("estimate_optimization")
        return OptimizationEstimate(cost_usd=self.estimate_usd)

    def find_optimization(self, project: ProjectHandle, name: str) -> RemoteOptimization | None:
        return None

    def create_optimization(self, *args: Any, **kwargs: Any) -> RemoteOptimization:
        raise AssertionError("no test here approves an optimization")

    def read_optimization(self, project: ProjectHandle, optimization_id: str) -> RemoteOptimization:
        raise AssertionError("no optimization exists on the fake platform")

    def put_notebook(self, project: ProjectHandle, file_name: str, notebook_json: str) -> NotebookPlacement:
        return NotebookPlacement(file_name=file_name, instructions=[f"Run {file_name}"], url=PROJECT.url)

    def collect_notebook(self, project: ProjectHandle, file_name: str,
                         provenance: Mapping[str, Any]) -> NotebookOutcome:
        self._call("collect_notebook")
        return self.outcomes.pop(0) if self.outcomes else NotebookOutcome(classification="NOT_RUN")

    def close(self) -> None:
        pass


@dataclass
class Loop:
    ctx: LoopContext
    platform: FakePlatform
    clock: Clock
    said: list[str]
    notified: list[tuple[str, str]]

    @property
    def workspace(self) -> Path:
        return self.ctx.workspace

    def state(self) -> HypothesisState:
        return self.ctx.store.load("H-001")


def make_loop(tmp_path: Path, platform: FakePlatform | None = None, *, settings: str = "") -> Loop:
    """A workspace with hypothesis H-001 (not yet in state/) and a LoopContext on the fake platform."""
    workspace = tmp_path / "ws"
    init_workspace(workspace, examples=False)
    config = workspace / "qcloop.yaml"
    config.write_text(config.read_text() + "\n" + settings)
    (workspace / "hypotheses" / "H-001.yaml").write_text(SPEC)
    loaded = load_settings(workspace, environ={})
    clock, said, notified = Clock(), [], []
    notifier = Notifier(NotifySettings(desktop=False), webhook=lambda *a: None)
    notifier.sent = notified
    fake = platform or FakePlatform()
    ctx = LoopContext(
        workspace=workspace, settings=loaded, store=Store(workspace), ledger=Ledger(workspace), platform=fake,
        rules=rules_for_workspace(workspace, loaded.rules.file), registry=load_registry(workspace),
        notifier=notifier, say=said.append, clock=clock,
    )
    return Loop(ctx, fake, clock, said, notified)


def committed_state(loop: Loop, stage: Stage, **fields: Any) -> HypothesisState:
    """H-001 at ``stage`` (its project made, its spec unchanged), committed as step 1."""
    spec = loop.workspace / "hypotheses" / "H-001.yaml"
    state = HypothesisState(
        id="H-001", family="ma_crossover", spec_path="hypotheses/H-001.yaml", spec_sha256=file_sha256(spec),
        stage=stage, parameters={"fast": "20", "slow": "75"}, project=PROJECT,
        search_window=(dt.date(2016, 1, 1), dt.date(2019, 3, 31)), **fields,
    )
    return commit_step(loop.ctx, save(loop.ctx, state), step=Step.GENERATE, subject="set up by the test",
                       files=["hypotheses/H-001.yaml", "qcloop.yaml"])


def awaiting(loop: Loop, step: Step) -> HypothesisState:
    """H-001 waiting for a person to run the notebook of ``step`` (the rendered copy committed)."""
    kind = NOTEBOOKS[step]
    file_name = f"qcloop_H-001_{kind}.ipynb"
    path = f"runs/H-001/notebooks/{file_name}"
    (loop.workspace / path).parent.mkdir(parents=True, exist_ok=True)
    (loop.workspace / path).write_text('{"rendered": true}\n')
    what = f"the {kind.replace('_', ' ')} notebook {file_name} to be run"
    waiting = Waiting(for_person=True, what=what, instructions=[f"Open the project: {PROJECT.url}", "Run All"],
                      url=PROJECT.url, since=loop.clock(), next_check_at=loop.clock(),
                      deadline=loop.clock() + dt.timedelta(hours=72), notified=True, last_reminded_at=loop.clock())
    state = HypothesisState(
        id="H-001", family="ma_crossover", spec_path="hypotheses/H-001.yaml",
        spec_sha256=file_sha256(loop.workspace / "hypotheses" / "H-001.yaml"),
        stage=Stage.AWAITING_RESULTS, awaiting=step, parameters={"fast": "20", "slow": "75"}, project=PROJECT,
        search_window=(dt.date(2016, 1, 1), dt.date(2019, 3, 31)), waiting=waiting,
        notebooks={step.value: NotebookRun(kind=kind, step=step, file_name=file_name, path=path, nonce="nonce-1")},
    )
    return commit_step(loop.ctx, save(loop.ctx, state), step=step, subject="awaiting results (set up by the test)",
                       files=["hypotheses/H-001.yaml", "qcloop.yaml", path])
