"""Side effects that cost quota or money, made exactly once (DESIGN.md §3).

The pattern, for every create call (project, backtest, optimization):

1. record the intent (kind, deterministic remote name, parameters) in the state file and fsync it;
2. ask the platform for an object of that name (a previous run may have created it and died before
   writing the id down) and create one only if there is none;
3. record the remote id.

A crash between any two of these steps is repaired by the next run at step 2. The named checkpoints
(``<kind>:intent``, ``<kind>:before-create``, ``<kind>:after-create``) let tests kill the loop at
exactly those instants.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from orchestrator.loop.context import LoopContext
from orchestrator.loop.journal import save
from orchestrator.models import HypothesisState, JobKind, JobStatus, ProjectRef, RemoteJob
from orchestrator.platforms.base import (
    BacktestWindow,
    OptimizationEstimate,
    ProjectHandle,
    RemoteBacktest,
    RemoteObjectMissingError,
    RemoteOptimization,
)
from orchestrator.store import atomic_write_text

PROJECT_FILE_SUFFIXES = (".py",)


class StageFailure(Exception):  # noqa: N818 - a signal between loop modules, not an error for users
    """Raised by a stage: the hypothesis goes to FAILED with this reason, evidence and retry stage."""

    def __init__(self, reason: str, *, evidence: str = "", resume: str | None = None,
                 files: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence = evidence
        self.resume = resume  # the Stage value `qcloop retry` resumes from (None: where it failed)
        self.files = files or []  # evidence files written before the failure, committed with it


class QuotaExhausted(Exception):  # noqa: N818
    """The daily backtest quota is used up: the hypothesis waits until ``until``."""

    def __init__(self, what: str, until: dt.datetime) -> None:
        super().__init__(what)
        self.what = what
        self.until = until


def _with_job(state: HypothesisState, job: RemoteJob) -> HypothesisState:
    return state.model_copy(update={"jobs": {**state.jobs, job.name: job}})


def project_name(ctx: LoopContext, state: HypothesisState) -> str:
    return f"{ctx.settings.cloud.project_prefix}/{state.id}"


def ensure_project(ctx: LoopContext, state: HypothesisState) -> tuple[HypothesisState, ProjectHandle]:
    """The hypothesis's project on the platform, created at most once."""
    ref = state.project
    if ref is not None and ref.project_id is not None:
        return state, ProjectHandle(name=ref.name, project_id=ref.project_id, url=ref.url)
    name = project_name(ctx, state)
    job_name = f"qcloop/{state.id}/project"
    if job_name not in state.jobs:
        state = save(ctx, _with_job(state, RemoteJob(kind=JobKind.PROJECT, name=job_name, intended_at=ctx.clock())))
        ctx.checkpoint("project:intent")
    handle = ctx.platform.find_project(name)
    if handle is None:
        ctx.checkpoint("project:before-create")
        handle = ctx.platform.ensure_project(name)
        ctx.checkpoint("project:after-create")
    job = state.jobs[job_name].model_copy(update={
        "status": JobStatus.COMPLETED, "remote_id": handle.project_id, "created_at": ctx.clock(),
        "completed_at": ctx.clock(),
    })
    state = _with_job(state, job).model_copy(update={
        "project": ProjectRef(name=handle.name, project_id=handle.project_id, url=handle.url),
    })
    return save(ctx, state), handle


def project_files(ctx: LoopContext, state: HypothesisState) -> dict[str, str]:
    """The rendered strategy files (strategies/<id>/), as the platform's project holds them."""
    folder = ctx.workspace / (state.code_path or "")
    files = {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
             for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in PROJECT_FILE_SUFFIXES}
    if "main.py" not in files:
        raise StageFailure(f"the generated code of {state.id} is missing ({folder / 'main.py'})",
                           resume="proposed")
    return files


def ensure_compiled(ctx: LoopContext, state: HypothesisState, project: ProjectHandle) -> str | None:
    """Upload the code (create-or-update: safe to repeat) and compile it, once per process and version of
    the code (a retry while the run goes on may have regenerated it)."""
    files = project_files(ctx, state)
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()
    if state.id in ctx.compiled and ctx.compiled[state.id][0] == digest:
        return ctx.compiled[state.id][1]
    ctx.platform.put_files(project, files)
    outcome = ctx.platform.compile(project)
    if not outcome.ok:
        logs = "\n".join(outcome.logs[-40:])
        raise StageFailure(
            f"the strategy code of {state.id} does not compile", evidence=logs, resume="proposed",
        )
    ctx.compiled[state.id] = (digest, outcome.compile_id)
    return outcome.compile_id


# ------------------------------------------------------------------------------------------------
# quota and budget


def _created_today(job: RemoteJob, today: dt.date) -> bool:
    when = job.created_at or job.intended_at
    return job.kind is JobKind.BACKTEST and job.status is not JobStatus.INTENDED and when.date() == today


def backtests_today(ctx: LoopContext, state: HypothesisState) -> int:
    today = ctx.clock().date()
    others = [s for s in ctx.store.load_all() if s.id != state.id]
    return sum(_created_today(job, today) for s in [state, *others] for job in s.jobs.values())


def check_quota(ctx: LoopContext, state: HypothesisState) -> None:
    if not ctx.platform.metered:
        return
    limit = ctx.settings.budget.daily_backtests
    if backtests_today(ctx, state) >= limit:
        tomorrow = dt.datetime.combine(ctx.clock().date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        raise QuotaExhausted(f"the daily backtest quota ({limit}, budget.daily_backtests) is used up", tomorrow)


def money_spent(ctx: LoopContext) -> float:
    return sum(job.cost_usd or 0.0 for s in ctx.store.load_all() for job in s.jobs.values()
               if job.kind is JobKind.OPTIMIZATION and job.status is not JobStatus.INTENDED)


# ------------------------------------------------------------------------------------------------
# backtests and optimizations: steps 1-3 above


Remote = TypeVar("Remote", RemoteBacktest, RemoteOptimization)


def _create_once(
    ctx: LoopContext, state: HypothesisState, intent: RemoteJob, *, find: Callable[[], Remote | None],
    create: Callable[[HypothesisState], Remote], remote_id: Callable[[Remote], str],
) -> tuple[HypothesisState, Remote | None]:
    """Record ``intent`` (once), then find the remote object by its name or create it, then record its id.

    Returns the state as written and the object found or created, or None when an earlier call had
    already recorded its id (the caller reads it by that id).
    """
    kind = intent.kind.value
    if intent.name not in state.jobs:
        state = save(ctx, _with_job(state, intent))
        ctx.checkpoint(f"{kind}:intent")
    job = state.jobs[intent.name]
    if job.status is not JobStatus.INTENDED:
        return state, None
    remote = find()
    if remote is None:
        ctx.checkpoint(f"{kind}:before-create")
        remote = create(state)
        ctx.checkpoint(f"{kind}:after-create")
    job = job.model_copy(update={"status": JobStatus.CREATED, "remote_id": remote_id(remote),
                                 "created_at": ctx.clock()})
    return save(ctx, _with_job(state, job)), remote


def ensure_backtest(
    ctx: LoopContext, state: HypothesisState, project: ProjectHandle, *, name: str,
    parameters: Mapping[str, str], window: tuple[dt.date, dt.date] | None,
) -> tuple[HypothesisState, RemoteBacktest]:
    """The backtest called ``name``: created at most once, read while it runs."""
    if name not in state.jobs:
        check_quota(ctx, state)
    span = BacktestWindow(*window) if window is not None else None
    intent = RemoteJob(kind=JobKind.BACKTEST, name=name, parameters=dict(parameters), window=window,
                       intended_at=ctx.clock())
    state, remote = _create_once(
        ctx, state, intent, find=lambda: ctx.platform.find_backtest(project, name),
        create=lambda current: ctx.platform.create_backtest(
            project, compile_id=ensure_compiled(ctx, current, project), name=name, parameters=parameters,
            window=span),
        remote_id=lambda created: created.backtest_id,
    )
    if remote is None or not remote.completed:
        try:
            remote = ctx.platform.read_backtest(project, str(state.jobs[name].remote_id))
        except RemoteObjectMissingError as exc:
            raise StageFailure(f"the backtest {name} is gone from the {ctx.platform.name} platform",
                               evidence=str(exc)) from exc
    return state, remote


def complete_job(ctx: LoopContext, state: HypothesisState, name: str) -> HypothesisState:
    job = state.jobs[name].model_copy(update={"status": JobStatus.COMPLETED, "completed_at": ctx.clock()})
    return _with_job(state, job)


def ensure_optimization(
    ctx: LoopContext, state: HypothesisState, project: ProjectHandle, *, name: str,
    grid: Mapping[str, list[float]], parameters: Mapping[str, str], estimate: OptimizationEstimate,
) -> tuple[HypothesisState, RemoteOptimization]:
    """The cloud optimization called ``name``, created at most once.

    The caller has checked the budget and the approval (``stages._paid_optimization``): once the
    intent is recorded, the optimization is the hypothesis's, whatever happens to the process.
    """
    intent = RemoteJob(kind=JobKind.OPTIMIZATION, name=name, parameters=dict(parameters),
                       cost_usd=estimate.cost_usd, intended_at=ctx.clock())
    state, remote = _create_once(
        ctx, state, intent, find=lambda: ctx.platform.find_optimization(project, name),
        create=lambda current: ctx.platform.create_optimization(
            project, compile_id=ensure_compiled(ctx, current, project), name=name, grid=grid,
            parameters=parameters, estimate=estimate),
        remote_id=lambda created: created.optimization_id,
    )
    if remote is None or not remote.completed:
        remote = ctx.platform.read_optimization(project, str(state.jobs[name].remote_id))
    return state, remote


def write_artifact(ctx: LoopContext, path: Path, text: str) -> str:
    """Write a step's artifact atomically; returns its workspace-relative path for the commit."""
    atomic_write_text(path, text)
    return ctx.rel(path)
