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
from collections.abc import Mapping
from pathlib import Path

from orchestrator.errors import BudgetError
from orchestrator.loop.context import LoopContext
from orchestrator.loop.journal import save
from orchestrator.models import HypothesisState, JobKind, JobStatus, ProjectRef, RemoteJob
from orchestrator.platforms.base import (
    BacktestWindow,
    OptimizationEstimate,
    ProjectHandle,
    RemoteBacktest,
    RemoteOptimization,
)

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
    if state.project is not None and state.project.project_id is not None:
        ref = state.project
        return state, ProjectHandle(name=ref.name, project_id=ref.project_id, url=ref.url)  # type: ignore[arg-type]
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
    """Upload the code (create-or-update: safe to repeat) and compile it once per process."""
    if state.id in ctx.compiled:
        return ctx.compiled[state.id]
    ctx.platform.put_files(project, project_files(ctx, state))
    outcome = ctx.platform.compile(project)
    if not outcome.ok:
        logs = "\n".join(outcome.logs[-40:])
        raise StageFailure(
            f"the strategy code of {state.id} does not compile", evidence=logs, resume="proposed",
        )
    ctx.compiled[state.id] = outcome.compile_id
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
# backtests


def ensure_backtest(
    ctx: LoopContext, state: HypothesisState, project: ProjectHandle, *, name: str,
    parameters: Mapping[str, str], window: tuple[dt.date, dt.date] | None,
) -> tuple[HypothesisState, RemoteBacktest]:
    """The backtest called ``name``: created at most once, read while it runs."""
    job = state.jobs.get(name)
    if job is None:
        check_quota(ctx, state)
        job = RemoteJob(kind=JobKind.BACKTEST, name=name, parameters=dict(parameters), window=window,
                        intended_at=ctx.clock())
        state = save(ctx, _with_job(state, job))
        ctx.checkpoint("backtest:intent")
    remote: RemoteBacktest | None = None
    if job.status is JobStatus.INTENDED:
        remote = ctx.platform.find_backtest(project, name)
        if remote is None:
            compile_id = ensure_compiled(ctx, state, project)
            ctx.checkpoint("backtest:before-create")
            span = BacktestWindow(*window) if window is not None else None
            remote = ctx.platform.create_backtest(project, compile_id=compile_id, name=name, parameters=parameters,
                                                  window=span)
            ctx.checkpoint("backtest:after-create")
        job = job.model_copy(update={"status": JobStatus.CREATED, "remote_id": remote.backtest_id,
                                     "created_at": ctx.clock()})
        state = save(ctx, _with_job(state, job))
    if remote is None or not remote.completed:
        remote = ctx.platform.read_backtest(project, str(job.remote_id))
    return state, remote


def complete_job(state: HypothesisState, name: str, ctx: LoopContext, *, error: str | None = None) -> HypothesisState:
    job = state.jobs[name].model_copy(update={
        "status": JobStatus.FAILED if error else JobStatus.COMPLETED, "completed_at": ctx.clock(), "error": error,
    })
    return _with_job(state, job)


# ------------------------------------------------------------------------------------------------
# optimizations (paid)


def ensure_optimization(
    ctx: LoopContext, state: HypothesisState, project: ProjectHandle, *, name: str,
    grid: Mapping[str, list[float]], parameters: Mapping[str, str], estimate: OptimizationEstimate,
) -> tuple[HypothesisState, RemoteOptimization]:
    """The cloud optimization called ``name``: approved, under budget, created at most once."""
    job = state.jobs.get(name)
    if job is None:
        remaining = ctx.settings.budget.money_usd - money_spent(ctx)
        if estimate.cost_usd > remaining:
            raise BudgetError(
                f"the optimization of {state.id} is estimated at ${estimate.cost_usd:.2f}, more than the "
                f"${remaining:.2f} left of budget.money_usd",
                details={"estimate": estimate.cost_usd, "remaining": remaining},
            )
        if state.approval is None or state.approval.max_usd < estimate.cost_usd:
            raise BudgetError(f"the optimization of {state.id} needs `qcloop approve {state.id}`")
        job = RemoteJob(kind=JobKind.OPTIMIZATION, name=name, parameters=dict(parameters),
                        cost_usd=estimate.cost_usd, intended_at=ctx.clock())
        state = save(ctx, _with_job(state, job))
        ctx.checkpoint("optimization:intent")
    remote: RemoteOptimization | None = None
    if job.status is JobStatus.INTENDED:
        remote = ctx.platform.find_optimization(project, name)
        if remote is None:
            compile_id = ensure_compiled(ctx, state, project)
            ctx.checkpoint("optimization:before-create")
            remote = ctx.platform.create_optimization(project, compile_id=compile_id, name=name, grid=grid,
                                                      parameters=parameters, estimate=estimate)
            ctx.checkpoint("optimization:after-create")
        job = job.model_copy(update={"status": JobStatus.CREATED, "remote_id": remote.optimization_id,
                                     "created_at": ctx.clock()})
        state = save(ctx, _with_job(state, job))
    if remote is None or not remote.completed:
        remote = ctx.platform.read_optimization(project, str(job.remote_id))
    return state, remote


def write_artifact(ctx: LoopContext, path: Path, text: str) -> str:
    """Write a step's artifact atomically; returns its workspace-relative path for the commit."""
    from orchestrator.store import atomic_write_text

    atomic_write_text(path, text)
    return ctx.rel(path)
