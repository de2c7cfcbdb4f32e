"""New hypotheses when the queue runs dry: variants of decided ones, and the external generator.

When every hypothesis is decided, the runner asks for more work (``orchestrator/generators.py`` proposes,
this module records):

- **Variants.** Each accepted or rejected hypothesis gets, once, up to ``generators.
  variants_per_hypothesis`` variants (another universe, neighbouring parameters or the parameters
  the search chose, the related family), within ``generators.max_variants_total``. The files are
  committed with one step of the parent, ``H-001 propose: variants H-001a (universe), ...``, and
  the parent's state records them. Failed hypotheses get none: something broke, not the idea.
- **The external command** (``generators.command``, e.g. an LLM agent) runs at most once per
  ``qcloop run``, only when no variant is left to propose; its accepted hypotheses are written to
  ``hypotheses/`` and enter the ledger with their own first step (the generate commit includes the
  file). Every rejection is reported.

Crash safety: variant files are written before the parent's step; a run killed in between finds the
parent not yet marked, proposes nothing new (the files already use the budget) and commits the files
it finds with the parent's step. Until that step, the runner leaves those files alone
(``runner.sync_hypotheses``), so the variants start in the same order as in a run that was not killed.
"""

from __future__ import annotations

from typing import Any

from orchestrator.decide import RULE_NAMES
from orchestrator.errors import QcloopError
from orchestrator.hypotheses import HypothesisSpec, existing_ids, id_sort_key, load_hypotheses
from orchestrator.loop.context import LoopContext
from orchestrator.loop.journal import commit_step
from orchestrator.loop.stages import SPEC_DIR
from orchestrator.models import HypothesisState, Stage, Step

PROPOSING_STAGES = (Stage.ACCEPTED, Stage.REJECTED)


def _specs(ctx: LoopContext) -> list[HypothesisSpec]:
    return load_hypotheses(ctx.workspace / SPEC_DIR, registry=ctx.registry, rule_names=RULE_NAMES,
                           relative_to=ctx.workspace).specs


def _best_parameters(state: HypothesisState) -> dict[str, float] | None:
    sweep = state.results.sweep
    return dict(sweep.chosen) if sweep is not None and state.stage is Stage.ACCEPTED else None


def propose_variants_of(ctx: LoopContext, state: HypothesisState, specs: list[HypothesisSpec]) -> list[str]:
    """Write and commit the variants of one decided hypothesis; returns their ids."""
    from orchestrator.generators import propose_variants, variant_budget, write_variants

    parent = next((s for s in specs if s.id == state.id), None)
    if parent is None:
        return []
    folder = ctx.workspace / SPEC_DIR
    # Every id a file holds is taken, broken files and drafts included, not only the valid specs'.
    taken = existing_ids(folder, ctx.store.ids())
    limit = variant_budget(state.id, specs, ctx.settings)
    variants = propose_variants(parent, registry=ctx.registry, existing=specs, taken_ids=taken, limit=limit,
                                best_parameters=_best_parameters(state)) if limit > 0 else []
    written = {path.stem for path in write_variants(folder, variants)}
    ctx.checkpoint("propose:written")
    # A variant whose file could not be written (its id appeared meanwhile) is not recorded as one.
    reasons = {v.spec.id: v.kind for v in variants if v.spec.id in written}
    mine = sorted({s.id for s in specs if s.parent == state.id} | set(reasons), key=id_sort_key)
    new = [i for i in mine if i not in state.variants]
    if not new:
        return []  # nothing to propose or record: no commit, the state file stays as committed
    shown = ", ".join(f"{i} ({reasons[i]})" if i in reasons else i for i in new) or "none"
    state = state.model_copy(update={"variants": [*state.variants, *new], "variants_proposed": True})
    commit_step(
        ctx, state, step=Step.PROPOSE, subject=f"variants {shown}",
        trailers=[("Variants", ", ".join(new) or "none")],
        files=[f"{SPEC_DIR}/{i}.yaml" for i in new if (folder / f"{i}.yaml").is_file()],
        body="\n".join(f"{v.spec.id}: {v.reason}" for v in variants if v.spec.id in written),
    )
    return new


def _history(states: list[HypothesisState]) -> list[dict[str, Any]]:
    """What the external command reads about each hypothesis: its stage, figures and last decision."""
    rows = []
    for s in states:
        decision = s.last_decision
        rows.append({
            "id": s.id, "title": s.title, "template": s.family, "stage": s.stage.value,
            "parameters": s.parameters,
            "decision": None if decision is None else {"step": decision.step.value, "action": decision.action.value,
                                                       "summary": decision.summary, "rules": decision.rules},
            "baseline_sharpe": s.results.baseline.sharpe if s.results.baseline else None,
            "trials": len(s.trials),
        })
    return rows


def run_external_generator(ctx: LoopContext) -> list[str]:
    """Run ``generators.command`` once and write what it proposes; returns the new ids."""
    from orchestrator.generators import run_configured_generator, write_generated

    states = ctx.store.load_all()
    taken = {s.id for s in _specs(ctx)} | {s.id for s in states}
    result = run_configured_generator(ctx.settings, _history(states), registry=ctx.registry, taken_ids=taken,
                                      rule_names=RULE_NAMES)
    if result is None:
        return []
    ctx.say(f"  {result.summary()}")
    written = write_generated(ctx.workspace / SPEC_DIR, result.accepted, result.command)
    return [path.stem for path in written]


def propose(ctx: LoopContext, *, external_allowed: bool, considered: set[str]) -> tuple[list[str], bool]:
    """Propose new hypotheses if there is budget; returns the ids of the files written, and whether the
    external command ran.

    ``considered`` holds the hypotheses this run already looked at (each is looked at once per run).
    """
    if ctx.settings.generators.variants_per_hypothesis > 0 and ctx.settings.generators.max_variants_total > 0:
        pending = [s for s in ctx.store.load_all() if s.stage in PROPOSING_STAGES and not s.variants_proposed
                   and s.id not in considered]
        considered.update(s.id for s in pending)
        if pending:
            specs = _specs(ctx)
            new: list[str] = []
            for state in pending:
                try:
                    new += propose_variants_of(ctx, state, specs)
                except QcloopError as exc:  # a broken family or template: report it, keep the loop going
                    ctx.say(f"  could not propose variants of {state.id}: {exc}")
                specs = _specs(ctx)
            if new:
                return new, False
    if external_allowed and ctx.settings.generators.command:
        return run_external_generator(ctx), True
    return [], False
