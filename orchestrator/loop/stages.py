"""One function per stage of a hypothesis (DESIGN.md §3). Each takes the state and moves it on.

    PROPOSED          generate            render the strategy code                    -> GENERATED
    GENERATED         start_baseline      project, compile, baseline backtest        -> BASELINE
    BASELINE          finish_baseline     read it, decide                            -> OPTIMIZING, VALIDATING, REJECTED
    OPTIMIZING        start_search        sweep notebook (or approved optimization)  -> AWAITING_RESULTS
    VALIDATING        start_validation    walk-forward notebook, confirmation and
                                          holdout backtests                          -> AWAITING_RESULTS
    AWAITING_RESULTS  collect_results     notebook / jobs back, decide               -> VALIDATING | ACCEPTED | REJECTED

A stage that cannot finish now (a backtest still running, a notebook nobody has run yet) records what
it waits for in ``state.waiting`` and returns; the runner comes back when ``next_check_at`` is due.
A stage that finds something broken raises ``StageFailure``; ``machine.py`` turns it into FAILED.

The search and the walk-forward never see the holdout window (the last ``loop.holdout_fraction`` of
the hypothesis's period): the baseline backtest and the notebooks cover the search window, and a
single backtest of the chosen parameters covers the holdout, once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from orchestrator.decide import RULE_NAMES, decide
from orchestrator.errors import BudgetError, QcloopError
from orchestrator.hypotheses import HypothesisSpec, load_hypothesis, resolved_parameters, sweep_grid
from orchestrator.loop import effects, evidence, trials
from orchestrator.loop.context import LoopContext
from orchestrator.loop.effects import StageFailure
from orchestrator.loop.journal import commit_step, decision_trailers, save, trial_trailers
from orchestrator.loop.waiting import announce, expired, machine_wait, person_wait, remind_if_due
from orchestrator.models import (
    Action,
    BacktestFigures,
    Decision,
    Evidence,
    Failure,
    HypothesisState,
    JobStatus,
    NotebookRun,
    Stage,
    Step,
    SweepFigures,
    Trial,
    WalkForwardFigures,
)
from orchestrator.notebooks.records import ParameterSweepRecord, WalkForwardRecord, parse_record
from orchestrator.notebooks.specs import ParameterSweepSpec, StrategySource, WalkForwardSpec
from orchestrator.platforms.base import ProjectHandle, RemoteBacktest
from orchestrator.strategies import format_number, render_signal_source, render_strategy

SPEC_DIR = "hypotheses"
CODE_DIR = "strategies"  # <workspace>/strategies/<id>/main.py, where `qcloop render` writes too
NEXT_STAGE = {
    Action.REJECT: Stage.REJECTED, Action.OPTIMIZE: Stage.OPTIMIZING, Action.VALIDATE: Stage.VALIDATING,
    Action.ACCEPT: Stage.ACCEPTED, Action.FLAG: Stage.FAILED,
}
WAITING_CLASSIFICATIONS = {"NOT_RUN", "STALE", "OUTPUTS_MISSING"}


# ------------------------------------------------------------------------------------------------
# helpers


def spec_path(ctx: LoopContext, hypothesis_id: str) -> Path:
    for suffix in (".yaml", ".yml"):
        path = ctx.workspace / SPEC_DIR / f"{hypothesis_id}{suffix}"
        if path.is_file():
            return path
    return ctx.workspace / SPEC_DIR / f"{hypothesis_id}.yaml"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_spec(ctx: LoopContext, state: HypothesisState, *, check_unchanged: bool = True) -> HypothesisSpec:
    path = spec_path(ctx, state.id)
    if not path.is_file():
        raise StageFailure(f"the hypothesis file {SPEC_DIR}/{path.name} is gone", resume=Stage.PROPOSED.value)
    if check_unchanged and state.stage is not Stage.PROPOSED and file_sha256(path) != state.spec_sha256:
        raise StageFailure(
            f"{SPEC_DIR}/{path.name} changed after the loop started on it; results would mix two hypotheses",
            resume=Stage.PROPOSED.value,
        )
    try:
        return load_hypothesis(path, registry=ctx.registry, rule_names=RULE_NAMES,
                               display_path=f"{SPEC_DIR}/{path.name}")
    except QcloopError as exc:
        raise StageFailure(str(exc), resume=Stage.PROPOSED.value) from exc


def parameters_as_strings(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: format_number(v) for k, v in values.items()}


def shown(values: Mapping[str, Any]) -> str:
    """``fast=30, slow=75``: whole numbers without a decimal point, whatever their type."""
    return ", ".join(f"{k}={int(v) if float(v).is_integer() else v}" for k, v in sorted(values.items()))


_WINDOW_PARAMETER = re.compile(r"""get_parameter\(\s*["'](start|end)["']""")


def reads_window_parameters(code: str) -> bool:
    """Whether an algorithm takes its dates from the ``start`` and ``end`` parameters.

    Only such an algorithm can be run over a part of its period on every platform (QuantConnect's
    ``backtests/create`` takes parameters, not dates), which the holdout window needs.
    """
    return {m.group(1) for m in _WINDOW_PARAMETER.finditer(code)} == {"start", "end"}


def split_period(start: dt.date, end: dt.date, holdout_fraction: float) -> tuple[tuple[dt.date, dt.date],
                                                                                  tuple[dt.date, dt.date] | None]:
    """(search window, holdout window): the holdout is the last ``holdout_fraction`` of the days."""
    if holdout_fraction <= 0:
        return (start, end), None
    days = (end - start).days
    cut = end - dt.timedelta(days=round(days * holdout_fraction))
    return (start, cut - dt.timedelta(days=1)), (cut, end)


def runs_file(ctx: LoopContext, state: HypothesisState, *parts: str) -> Path:
    return ctx.runs_dir(state.id).joinpath(*parts)


def _backtest_artifact(remote: RemoteBacktest, figures: BacktestFigures, window: Any) -> str:
    result = dict(remote.result or {})
    total = result.get("totalPerformance") or {}
    summary = {
        "name": remote.name, "backtestId": remote.backtest_id, "window": window,
        "parameters": figures.parameters,
        "figures": figures.model_dump(mode="json"),
        "statistics": result.get("statistics") or {},
        "runtimeStatistics": result.get("runtimeStatistics") or {},
        "portfolioStatistics": total.get("portfolioStatistics") or {},
        "tradeStatistics": total.get("tradeStatistics") or {},
        "warnings": evidence.backtest_warnings(result),
    }
    return json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n"


def _stats_now(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    return state.model_copy(update={"trial_stats": trials.trial_stats(state, ctx.store.load_all())})


def _add_trials(state: HypothesisState, new: list[Trial]) -> HypothesisState:
    return state.model_copy(update={"trials": [*state.trials, *new]})


def _resume_for(step: Step) -> Stage:
    """Where `qcloop retry` resumes after a failure while the results of ``step`` were awaited."""
    return Stage.OPTIMIZING if step is Step.OPTIMIZE else Stage.VALIDATING


def _decision_body(decision: Decision) -> str:
    lines = [f"{'pass' if c.passed else 'FAIL'}  {c.reason}" for c in decision.checks]
    return "\n".join(lines)


def _apply_decision(ctx: LoopContext, state: HypothesisState, decision: Decision) -> HypothesisState:
    stage = NEXT_STAGE[decision.action]
    update: dict[str, Any] = {"stage": stage, "awaiting": None, "waiting": None,
                              "decisions": [*state.decisions, decision]}
    if decision.parameters is not None:
        update["parameters"] = {**state.parameters, **decision.parameters}
    if decision.action is Action.FLAG:
        update["failure"] = Failure(
            stage=state.stage, reason=f"{decision.step.value} evidence flagged: {decision.summary}",
            evidence=_decision_body(decision), retry=f"qcloop retry {state.id}", resume=_resume_for(decision.step),
            at=ctx.clock(),
        )
    return state.model_copy(update=update)


def _commit_decision(
    ctx: LoopContext, state: HypothesisState, decision: Decision, *, headline: str, files: list[str],
    trailers: list[tuple[str, str]], warnings: Sequence[str] = (),
) -> HypothesisState:
    """Apply and commit ``decision``; ``warnings`` (the backtests' data warnings) are said and go into the
    commit body, so that a decision taken on incomplete data says so where it is reviewed."""
    state = _apply_decision(ctx, state, decision)
    for warning in warnings:
        ctx.say(f"  {state.id} {decision.step.value}: {warning}")
    noted = "\n\nData warnings:\n" + "\n".join(f"  {w}" for w in warnings) if warnings else ""
    return commit_step(
        ctx, state, step=decision.step, subject=f"{headline} -> {decision.action.value}",
        trailers=[*decision_trailers(decision), *trailers, *trial_trailers(state)],
        files=files, body=f"{decision.summary}\n\n{_decision_body(decision)}{noted}",
    )


def _overrides(spec: HypothesisSpec) -> dict[str, float]:
    return {k: float(v) for k, v in spec.rules.items()}


# ------------------------------------------------------------------------------------------------
# PROPOSED -> GENERATED


LOOP_RESOLUTION = "daily"


def generate(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    spec = load_spec(ctx, state, check_unchanged=False)
    if spec.resolution != LOOP_RESOLUTION:
        # The sweep and walk-forward notebooks evaluate the signal on daily bars; at another
        # resolution their figures could never agree with the backtest (the parity check).
        raise StageFailure(
            f"{state.id} uses resolution '{spec.resolution}', but the research loop's notebooks evaluate "
            f"daily bars: set 'resolution: daily' in hypotheses/{state.id}.yaml (hour and minute hypotheses "
            f"can be rendered and backtested with `qcloop render {state.id}` and `qcloop backtest`)",
            resume=Stage.PROPOSED.value)
    try:
        rendered = render_strategy(spec, ctx.registry)
    except QcloopError as exc:
        raise StageFailure(f"cannot render the strategy of {state.id}: {exc}", resume=Stage.PROPOSED.value) from exc
    project_dir = ctx.workspace / CODE_DIR / state.id
    files = [effects.write_artifact(ctx, project_dir / name, text) for name, text in sorted(rendered.files.items())]
    family = ctx.registry.get(spec.template).schema
    values = resolved_parameters(spec, family)
    windowed = reads_window_parameters(rendered.files["main.py"])
    fraction = ctx.settings.loop.holdout_fraction if windowed else 0.0
    search, holdout = split_period(spec.start, spec.end, fraction)
    path = spec_path(ctx, state.id)
    state = state.model_copy(update={
        "stage": Stage.GENERATED, "title": spec.title, "family": spec.template,
        "spec_sha256": file_sha256(path), "code_sha256": rendered.code_hash, "code_path": ctx.rel(project_dir),
        "parameters": parameters_as_strings(values), "search_window": search, "holdout_window": holdout,
        "failure": None, "waiting": None,
    })
    tickers = ", ".join(spec.universe or ())
    return commit_step(
        ctx, state, step=Step.GENERATE,
        subject=f"{spec.template} on {tickers}, code {rendered.code_hash[:8]} -> baseline",
        trailers=[("Parameters", ", ".join(f"{k}={v}" for k, v in state.parameters.items()))],
        files=[*files, ctx.rel(path)],
        body=f"{spec.title}\n\nSearch window {search[0]}..{search[1]}"
             + (f", holdout {holdout[0]}..{holdout[1]} (used once, at validation)" if holdout else
                "; no holdout window (the algorithm does not read its dates from the start/end parameters)"
                if ctx.settings.loop.holdout_fraction > 0 else ""),
    )


# ------------------------------------------------------------------------------------------------
# GENERATED -> BASELINE -> decide


def start_baseline(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    load_spec(ctx, state)
    state, project = effects.ensure_project(ctx, state)
    state = save(ctx, state.model_copy(update={"stage": Stage.BASELINE}))
    return finish_baseline(ctx, state, project)


def _await_job(ctx: LoopContext, state: HypothesisState, what: str, progress: float, resume: Stage) -> HypothesisState:
    """Wait for a remote job with backoff; past cloud.backtest_timeout_seconds the hypothesis fails."""
    previous = state.waiting
    if previous is not None and not previous.for_person and previous.what.startswith(what) and expired(ctx, previous):
        raise StageFailure(
            f"{what} did not finish within {ctx.settings.cloud.backtest_timeout_seconds:.0f} s "
            f"(last seen at {progress:.0%})", resume=resume.value,
            evidence="raise cloud.backtest_timeout_seconds in qcloop.yaml if the platform is just slow")
    waiting = machine_wait(ctx, state, f"{what} ({progress:.0%})")
    return save(ctx, state.model_copy(update={"waiting": waiting}))


def _await_backtest(ctx: LoopContext, state: HypothesisState, remote: RemoteBacktest, what: str) -> HypothesisState:
    resume = Stage.GENERATED if state.stage is Stage.BASELINE else Stage.VALIDATING
    return _await_job(ctx, state, what, remote.progress, resume)


def _backtest_failed(state: HypothesisState, remote: RemoteBacktest, what: str, resume: Stage) -> StageFailure:
    return StageFailure(f"the {what} of {state.id} raised: {remote.error or 'runtime error'}",
                        evidence=remote.stacktrace or remote.error or "", resume=resume.value)


def finish_baseline(ctx: LoopContext, state: HypothesisState, project: ProjectHandle | None = None) -> HypothesisState:
    spec = load_spec(ctx, state)
    if project is None:
        state, project = effects.ensure_project(ctx, state)
    name = state.remote_name(Step.BASELINE)
    state, remote = effects.ensure_backtest(ctx, state, project, name=name, parameters=state.parameters,
                                            window=state.search_window)
    if remote.failed:
        raise _backtest_failed(state, remote, "baseline backtest", Stage.PROPOSED)
    if not remote.completed:
        return _await_backtest(ctx, state, remote, f"baseline backtest {name}")
    figures = evidence.figures_from_result(remote.result or {}, backtest_id=remote.backtest_id,
                                           parameters=state.parameters, window=state.search_window)
    artifact = effects.write_artifact(ctx, runs_file(ctx, state, "results", "baseline.json"),
                                      _backtest_artifact(remote, figures, state.search_window))
    state = effects.complete_job(ctx, state, name)
    state = _add_trials(state, [Trial(kind="backtest", label="baseline", sharpe=figures.sharpe, at=ctx.clock())])
    state = _stats_now(ctx, state)
    state = state.model_copy(update={"results": state.results.model_copy(update={"baseline": figures}),
                                     "waiting": None})
    family = ctx.registry.get(spec.template).schema
    can_optimize = any(len(v) > 1 for v in sweep_grid(spec, family).values())
    ev = Evidence(can_optimize=can_optimize, baseline=figures, trials=state.trial_stats)
    decision = decide(Step.BASELINE, ev, ctx.rules, _overrides(spec)).model_copy(update={"at": ctx.clock()})
    return _commit_decision(
        ctx, state, decision, headline=f"Sharpe {figures.sharpe:.2f}, {figures.trades} trades", files=[artifact],
        trailers=[("Sharpe", f"{figures.sharpe:.3f}"), ("Trades", str(figures.trades)),
                  ("Backtest-Id", remote.backtest_id)],
        warnings=evidence.backtest_warnings(remote.result or {}),
    )


# ------------------------------------------------------------------------------------------------
# OPTIMIZING -> AWAITING_RESULTS(optimize)


def _strategy_source(ctx: LoopContext, spec: HypothesisSpec, state: HypothesisState) -> StrategySource:

    family = ctx.registry.get(spec.template)
    return StrategySource(family=family.name, signal_source=render_signal_source(family),
                          code_hash=state.code_sha256 or "")


def _search_fields(ctx: LoopContext, spec: HypothesisSpec, state: HypothesisState, step: Step) -> dict[str, Any]:
    family = ctx.registry.get(spec.template).schema
    assert state.search_window is not None
    grid = {k: list(v) for k, v in sweep_grid(spec, family).items()}
    baseline = resolved_parameters(spec, family)
    if not grid:  # nothing to search: evaluate the baseline parameters as a one-point grid
        first = next(iter(baseline))
        grid = {first: [baseline[first]]}
    return {
        "hypothesis_id": spec.id, "stage": step.value, "tickers": list(spec.universe or ()),
        "start": state.search_window[0], "end": state.search_window[1], "cash": float(spec.cash),
        "strategy": _strategy_source(ctx, spec, state), "baseline_parameters": baseline, "grid": grid,
        "constraints": [str(c) for c in family.constraints],
    }


def _put_notebook(ctx: LoopContext, state: HypothesisState, project: ProjectHandle, notebook_spec: Any,
                  step: Step) -> tuple[HypothesisState, NotebookRun, Any]:
    """Render a notebook, record it (nonce first), then put it where it will be run."""
    from orchestrator.notebooks.manifest import default_roots
    from orchestrator.notebooks.render import render_notebook

    key = step.value
    run = state.notebooks.get(key)
    if run is None or run.attempt != state.attempt or run.collected_at is not None:
        rendered = render_notebook(notebook_spec, roots=default_roots(ctx.workspace))
        path = runs_file(ctx, state, "notebooks", rendered.filename)
        effects.write_artifact(ctx, path, rendered.text())
        run = NotebookRun(kind=notebook_spec.kind.value, step=step, file_name=rendered.filename,
                          path=ctx.rel(path), nonce=rendered.provenance.nonce, attempt=state.attempt,
                          provenance=rendered.provenance.model_dump(mode="json"))
        state = save(ctx, state.model_copy(update={"notebooks": {**state.notebooks, key: run}}))
        ctx.checkpoint("notebook:rendered")
    text = (ctx.workspace / run.path).read_text(encoding="utf-8")
    placement = ctx.platform.put_notebook(project, run.file_name, text)
    run = run.model_copy(update={"put_at": ctx.clock()})
    state = state.model_copy(update={"notebooks": {**state.notebooks, key: run}})
    return state, run, placement


def _awaiting(ctx: LoopContext, state: HypothesisState, step: Step, *, placement: Any,
              what: str) -> HypothesisState:
    waiting = None
    if ctx.platform.person_runs_notebooks:
        waiting = person_wait(ctx, state, what, list(placement.instructions), placement.url)
    return state.model_copy(update={"stage": Stage.AWAITING_RESULTS, "awaiting": step, "waiting": waiting})


def _paid_optimization(ctx: LoopContext, state: HypothesisState, project: ProjectHandle,
                       grid: dict[str, list[Any]]) -> HypothesisState | None:
    """Start an approved cloud optimization within budget; None when the free notebook sweep is used.

    Without an approval (or with one below the estimate), ``BudgetError`` makes the hypothesis wait for
    `qcloop approve` (machine.py).
    """
    if not ctx.platform.supports_optimizations or ctx.settings.budget.money_usd <= 0:
        return None
    name = state.remote_name(Step.OPTIMIZE)
    compile_id = effects.ensure_compiled(ctx, state, project)
    floats = {k: [float(v) for v in values] for k, values in grid.items()}
    estimate = ctx.platform.estimate_optimization(project, compile_id=compile_id, name=name, grid=floats,
                                                  parameters=state.parameters)
    if name not in state.jobs:
        remaining = ctx.settings.budget.money_usd - effects.money_spent(ctx)
        if estimate.cost_usd > remaining:
            ctx.say(f"  {state.id}: a cloud optimization would cost ${estimate.cost_usd:.2f}, more than the "
                    f"${remaining:.2f} left of budget.money_usd; using the free notebook sweep")
            return None
        if state.approval is None or state.approval.max_usd < estimate.cost_usd:
            raise BudgetError(
                f"a cloud optimization of {state.id} ({name}) is estimated at ${estimate.cost_usd:.2f} "
                f"(${remaining:.2f} of the budget left)", details={"estimate": estimate.cost_usd})
    state, remote = effects.ensure_optimization(ctx, state, project, name=name, grid=floats,
                                                parameters=state.parameters, estimate=estimate)
    points = math.prod(len(values) for values in grid.values())
    state = state.model_copy(update={"stage": Stage.AWAITING_RESULTS, "awaiting": Step.OPTIMIZE,
                                     "waiting": None, "pending_cost_usd": None})
    return commit_step(
        ctx, state, step=Step.OPTIMIZE,
        subject=f"cloud optimization {name} ({points} grid points, ${estimate.cost_usd:.2f}) -> awaiting results",
        trailers=[("Optimization-Id", remote.optimization_id)],
    )


def start_search(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    spec = load_spec(ctx, state)
    state, project = effects.ensure_project(ctx, state)
    family = ctx.registry.get(spec.template).schema
    paid = _paid_optimization(ctx, state, project, {k: list(v) for k, v in sweep_grid(spec, family).items()})
    if paid is not None:
        return paid
    try:
        notebook_spec = ParameterSweepSpec(**_search_fields(ctx, spec, state, Step.OPTIMIZE))
    except ValidationError as exc:
        raise StageFailure(f"cannot prepare the sweep of {state.id}: {exc.errors()[0]['msg']}",
                           evidence=str(exc), resume=Stage.OPTIMIZING.value) from exc
    state, run, placement = _put_notebook(ctx, state, project, notebook_spec, Step.OPTIMIZE)
    points = math.prod(len(values) for values in notebook_spec.grid.values())
    state = _awaiting(ctx, state, Step.OPTIMIZE, placement=placement,
                      what=f"the sweep notebook {run.file_name} to be run")
    state = commit_step(
        ctx, state, step=Step.OPTIMIZE,
        subject=f"sweep notebook {run.file_name} ({points} grid points) -> awaiting results",
        trailers=[("Run-Id", run.nonce), ("Notebook", run.file_name)], files=[run.path],
        body="\n".join(placement.instructions),
    )
    return announce(ctx, state)


# ------------------------------------------------------------------------------------------------
# VALIDATING -> AWAITING_RESULTS(validate)


def walk_forward_months(window: tuple[dt.date, dt.date], windows: int) -> tuple[int, int]:
    """(in-sample, out-of-sample) months so that ``windows`` rolling windows fit the search window."""
    months = (window[1].year - window[0].year) * 12 + (window[1].month - window[0].month)
    oos = max(1, months // (windows + 2))
    in_sample = max(1, months - windows * oos - 1)
    return in_sample, oos


def start_validation(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    spec = load_spec(ctx, state)
    state, project = effects.ensure_project(ctx, state)
    assert state.search_window is not None
    in_sample, oos = walk_forward_months(state.search_window, ctx.settings.loop.walk_forward_windows)
    prior = trials.trial_stats(state, ctx.store.load_all()).family_trials
    try:
        notebook_spec = WalkForwardSpec(
            **_search_fields(ctx, spec, state, Step.VALIDATE), in_sample_months=in_sample,
            out_of_sample_months=oos, holdout_months=0, anchored=ctx.settings.loop.walk_forward_anchored,
            prior_trials=prior,
        )
    except ValidationError as exc:
        raise StageFailure(f"cannot prepare the walk-forward of {state.id}: {exc.errors()[0]['msg']}",
                           evidence=str(exc), resume=Stage.VALIDATING.value) from exc
    state, run, placement = _put_notebook(ctx, state, project, notebook_spec, Step.VALIDATE)
    state = save(ctx, state)
    state, started = _start_validation_backtests(ctx, state, project)
    state = _awaiting(ctx, state, Step.VALIDATE, placement=placement,
                      what=f"the walk-forward notebook {run.file_name} to be run")
    state = commit_step(
        ctx, state, step=Step.VALIDATE,
        subject=f"walk-forward notebook {run.file_name}, {started} -> awaiting results",
        trailers=[("Run-Id", run.nonce), ("Notebook", run.file_name),
                  ("Parameters", ", ".join(f"{k}={v}" for k, v in state.parameters.items()))],
        files=[run.path], body="\n".join(placement.instructions),
    )
    return announce(ctx, state)


def _validation_jobs(state: HypothesisState) -> dict[str, tuple[str, tuple[dt.date, dt.date] | None]]:
    jobs = {"confirmation": (state.remote_name(Step.VALIDATE, "confirmation"), state.search_window)}
    if state.holdout_window is not None:
        jobs["holdout"] = (state.remote_name(Step.VALIDATE, "holdout"), state.holdout_window)
    return jobs


def _start_validation_backtests(ctx: LoopContext, state: HypothesisState,
                                project: ProjectHandle) -> tuple[HypothesisState, str]:
    jobs = _validation_jobs(state)
    for name, window in jobs.values():
        state, _ = effects.ensure_backtest(ctx, state, project, name=name, parameters=state.parameters, window=window)
    return state, f"{' and '.join(jobs)} backtest{'s' if len(jobs) > 1 else ''} started"


# ------------------------------------------------------------------------------------------------
# AWAITING_RESULTS -> decide


def collect_results(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    if state.awaiting is Step.OPTIMIZE:
        return collect_search(ctx, state)
    if state.awaiting is Step.VALIDATE:
        return collect_validation(ctx, state)
    raise StageFailure(f"{state.id} awaits results of an unknown step ({state.awaiting})",
                       resume=Stage.GENERATED.value)


RecordT = TypeVar("RecordT", ParameterSweepRecord, WalkForwardRecord)
FiguresT = TypeVar("FiguresT", SweepFigures, WalkForwardFigures)


def _collect_notebook(ctx: LoopContext, state: HypothesisState, project: ProjectHandle, step: Step, *,
                      expected: type[RecordT], convert: Callable[[RecordT, str], FiguresT],
                      ) -> tuple[HypothesisState, FiguresT | None, list[str]]:
    """(state, the figures of a fresh record or None, artifact files). None: still waiting (state.waiting set).

    The notebook that came back and its record are written as artifacts first, so that a failure
    (a failed, tampered or malformed run, a record of the wrong kind) is committed with its evidence.
    """
    run = state.notebooks[step.value]
    outcome = ctx.platform.collect_notebook(project, run.file_name, run.provenance)
    run = run.model_copy(update={"checks": run.checks + 1, "last_classification": outcome.classification,
                                 "last_detail": outcome.detail, "channel": outcome.channel})
    state = state.model_copy(update={"notebooks": {**state.notebooks, step.value: run}})
    if outcome.classification in WAITING_CLASSIFICATIONS:
        return _still_waiting(ctx, state, run, outcome), None, []
    files = []
    if outcome.notebook_json is not None:
        files.append(effects.write_artifact(ctx, ctx.workspace / run.path, outcome.notebook_json))

    def failure(reason: str, evidence: str) -> StageFailure:
        return StageFailure(reason, evidence=evidence, resume=_resume_for(step).value, files=files)

    if not outcome.fresh or outcome.record is None:
        raise failure(f"the {run.kind} notebook {run.file_name} came back {outcome.classification}: "
                      f"{outcome.detail}", outcome.detail)
    try:
        record = parse_record(dict(outcome.record))
    except ValidationError as exc:
        raise failure(f"the result record of {run.file_name} is malformed: {exc.errors()[0]['msg']}",
                      str(exc)) from exc
    if not isinstance(record, expected):
        raise failure(f"the {run.kind} notebook {run.file_name} returned a {record.kind} record", "")
    result_path = runs_file(ctx, state, "results", f"{run.kind}.json")
    files.append(effects.write_artifact(ctx, result_path, record.model_dump_json(indent=2) + "\n"))
    try:
        figures = convert(record, files[-1])
    except QcloopError as exc:
        raise failure(str(exc), "") from exc
    run = run.model_copy(update={"collected_at": ctx.clock()})
    state = state.model_copy(update={"notebooks": {**state.notebooks, step.value: run}})
    return state, figures, files


def _still_waiting(ctx: LoopContext, state: HypothesisState, run: NotebookRun, outcome: Any) -> HypothesisState:
    resume = _resume_for(run.step).value
    if not ctx.platform.person_runs_notebooks:
        # A machine runs notebooks here: an unrun notebook after a run attempt is a failure, not a wait.
        raise StageFailure(f"the {run.kind} notebook {run.file_name} came back {outcome.classification}: "
                           f"{outcome.detail}", evidence=outcome.detail, resume=resume)
    what = f"the {run.kind.replace('_', ' ')} notebook {run.file_name} to be run"
    current = state.waiting
    instructions = list(current.instructions) if current is not None else []
    if outcome.classification == "STALE":
        instructions = [f"The notebook that came back is from an older run ({outcome.detail}); open the latest "
                        f"{run.file_name} and run it again.", *[i for i in instructions if "older run" not in i]]
    waiting = person_wait(ctx, state, what, instructions, current.url if current else None)
    if expired(ctx, waiting):
        hours = ctx.settings.notebooks.wait_timeout_hours
        raise StageFailure(f"nobody ran {run.file_name} within {hours:g} h (last seen: {outcome.classification})",
                           evidence=outcome.detail, resume=resume)
    waiting = remind_if_due(ctx, state, waiting)
    return save(ctx, state.model_copy(update={"waiting": waiting}))


def _collect_optimization(ctx: LoopContext, state: HypothesisState, project: ProjectHandle,
                          spec: HypothesisSpec) -> tuple[HypothesisState, Any]:
    """(state, SweepFigures or None while the cloud optimization runs)."""
    name = state.remote_name(Step.OPTIMIZE)
    job = state.jobs[name]
    remote = ctx.platform.read_optimization(project, str(job.remote_id))
    if remote.failed:
        raise StageFailure(f"the cloud optimization {name} ended {remote.detail}", resume=Stage.OPTIMIZING.value)
    if not remote.completed:
        return _await_job(ctx, state, f"cloud optimization {name}", remote.progress, Stage.OPTIMIZING), None
    family = ctx.registry.get(spec.template).schema
    try:
        sweep = evidence.sweep_from_optimization(remote.points, list(sweep_grid(spec, family)))
    except QcloopError as exc:
        raise StageFailure(str(exc), resume=Stage.OPTIMIZING.value) from exc
    return effects.complete_job(ctx, state, name), sweep


def collect_search(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    spec = load_spec(ctx, state)
    state, project = effects.ensure_project(ctx, state)
    files: list[str] = []
    kind: Literal["grid_point", "optimization_point"] = "grid_point"
    if state.remote_name(Step.OPTIMIZE) in state.jobs:
        state, sweep = _collect_optimization(ctx, state, project, spec)
        if sweep is None:
            return state
        kind = "optimization_point"
        files.append(effects.write_artifact(ctx, runs_file(ctx, state, "results", "optimization.json"),
                                            sweep.model_dump_json(indent=2) + "\n"))
    else:
        state, collected, files = _collect_notebook(ctx, state, project, Step.OPTIMIZE, expected=ParameterSweepRecord,
                                                    convert=evidence.sweep_from_record)
        if collected is None:
            return state
        sweep = collected
    new_trials = [Trial(kind=kind, sharpe=p.sharpe, at=ctx.clock(),
                        label="sweep " + shown(p.parameters))
                  for p in sweep.points]
    state = _stats_now(ctx, _add_trials(state, new_trials))
    state = state.model_copy(update={"results": state.results.model_copy(update={"sweep": sweep}), "waiting": None})
    ev = Evidence(baseline=state.results.baseline, sweep=sweep, trials=state.trial_stats)
    decision = decide(Step.OPTIMIZE, ev, ctx.rules, _overrides(spec)).model_copy(update={"at": ctx.clock()})
    chosen = shown(sweep.chosen)
    run = state.notebooks.get(Step.OPTIMIZE.value)
    ids = [("Run-Id", run.nonce)] if run is not None and kind == "grid_point" else \
        [("Optimization-Id", str(state.jobs[state.remote_name(Step.OPTIMIZE)].remote_id))]
    return _commit_decision(
        ctx, state, decision,
        headline=f"{len(sweep.points)} points, chosen {chosen} (Sharpe {sweep.chosen_sharpe:.2f})",
        files=files, trailers=[*ids, ("Sharpe", f"{sweep.chosen_sharpe:.3f}")],
    )


BacktestsDone = dict[str, tuple[str, RemoteBacktest, BacktestFigures]]


def _read_validation_backtests(ctx: LoopContext, state: HypothesisState, project: ProjectHandle
                               ) -> tuple[HypothesisState, BacktestsDone | None]:
    done: BacktestsDone = {}
    for key, (name, window) in _validation_jobs(state).items():
        state, remote = effects.ensure_backtest(ctx, state, project, name=name, parameters=state.parameters,
                                                window=window)
        if remote.failed:
            raise _backtest_failed(state, remote, f"{key} backtest", Stage.VALIDATING)
        if not remote.completed:
            return _await_backtest(ctx, state, remote, f"{key} backtest {name}"), None
        figures = evidence.figures_from_result(remote.result or {}, backtest_id=remote.backtest_id,
                                               parameters=state.parameters, window=window)
        done[key] = (name, remote, figures)
    return state, done


def collect_validation(ctx: LoopContext, state: HypothesisState) -> HypothesisState:
    spec = load_spec(ctx, state)
    state, project = effects.ensure_project(ctx, state)
    state, backtests = _read_validation_backtests(ctx, state, project)
    if backtests is None:
        return state
    state, walk_forward, files = _collect_notebook(ctx, state, project, Step.VALIDATE,
                                                   expected=WalkForwardRecord,
                                                   convert=evidence.walk_forward_from_record)
    if walk_forward is None:
        return state
    new_trials = []
    for key, (name, remote, figures) in backtests.items():
        files.append(effects.write_artifact(ctx, runs_file(ctx, state, "results", f"{key}.json"),
                                            _backtest_artifact(remote, figures, state.jobs[name].window)))
        if state.jobs[name].status is not JobStatus.COMPLETED:
            state = effects.complete_job(ctx, state, name)
            new_trials.append(Trial(kind="backtest", label=key, sharpe=figures.sharpe, at=ctx.clock()))
    confirmation = backtests["confirmation"][2]
    holdout = backtests["holdout"][2] if "holdout" in backtests else None
    state = _stats_now(ctx, _add_trials(state, new_trials))
    results = state.results.model_copy(update={"walk_forward": walk_forward, "confirmation": confirmation,
                                               "holdout": holdout})
    state = state.model_copy(update={"results": results, "waiting": None,
                                     "holdout_used_at": ctx.clock() if holdout is not None else None})
    ev = Evidence(baseline=state.results.baseline, walk_forward=walk_forward, confirmation=confirmation,
                  holdout=holdout, trials=state.trial_stats)
    decision = decide(Step.VALIDATE, ev, ctx.rules, _overrides(spec)).model_copy(update={"at": ctx.clock()})
    if decision.evidence.trials is not None:
        state = state.model_copy(update={"trial_stats": decision.evidence.trials})
    ids = [("Backtest-Id", backtests["confirmation"][1].backtest_id)]
    state = _commit_decision(
        ctx, state, decision,
        headline=f"OOS Sharpe {walk_forward.out_of_sample_sharpe:.2f}, confirmation Sharpe {confirmation.sharpe:.2f}"
        + (f", holdout {holdout.sharpe:.2f}" if holdout is not None else ""),
        files=files, trailers=[*ids, ("Run-Id", state.notebooks[Step.VALIDATE.value].nonce),
                               ("Sharpe", f"{confirmation.sharpe:.3f}"), ("Trades", str(confirmation.trades))],
        warnings=list(dict.fromkeys(w for _, remote, _ in backtests.values()
                                    for w in evidence.backtest_warnings(remote.result or {}))),
    )
    if state.stage is Stage.ACCEPTED:
        tag_accepted(ctx, state)
    return state


def accepted_tag_name(state: HypothesisState) -> str:
    """``H-007`` for a first attempt, ``H-007-attempt2`` after a retry (the prefix is git.tag_prefix)."""
    return state.id if state.attempt == 1 else f"{state.id}-attempt{state.attempt}"


def tag_accepted(ctx: LoopContext, state: HypothesisState, sha: str | None = None) -> str:
    """Tag the accepted hypothesis at ``sha`` (default: HEAD, its accept commit)."""
    decision = state.last_decision
    message = f"{state.id} accepted: {state.title}\n\n{decision.summary if decision else ''}"
    return ctx.ledger.tag(accepted_tag_name(state), message, sha)
