"""Running the loop: pick the next hypothesis that can move, advance it, repeat (DESIGN.md §3).

Order: among hypotheses that are due (not waiting, or whose next check has come), the one with the
fewest steps behind it goes first, ties by id. The order is a function of the state files alone, so a
run that is killed and restarted takes the same steps in the same sequence; and while one hypothesis
waits for a person, the others keep moving.

On start the runner holds the workspace's run lock, removes temporary files a killed writer left,
makes the git commits a killed run owed, re-creates missing acceptance tags, and picks up new
hypothesis files. When every hypothesis is decided it asks for new ones (variants, the external
generator: ``proposals.py``). It stops when every hypothesis is terminal and nothing new is proposed,
or (``until_idle``) when nothing can move without a person, or after ``max_steps`` steps / one step
(``once``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from orchestrator.decide import RULE_NAMES
from orchestrator.errors import SpecError
from orchestrator.hypotheses import HypothesisSpec, id_sort_key, load_hypotheses
from orchestrator.loop.context import RUNS_DIR, LoopContext
from orchestrator.loop.journal import recover_owed_commits, save
from orchestrator.loop.machine import advance
from orchestrator.loop.proposals import PROPOSING_STAGES, propose
from orchestrator.loop.stages import CODE_DIR, SPEC_DIR, accepted_tag_name, file_sha256, spec_path, tag_accepted
from orchestrator.loop.waiting import describe
from orchestrator.models import HypothesisState, Stage

IDLE_HORIZON = dt.timedelta(minutes=5)  # a machine wait longer than this counts as idle for --until-idle
PROGRESS_EVERY_SECONDS = 60.0


@dataclass
class RunOptions:
    once: bool = False
    until_idle: bool = False
    max_steps: int | None = None
    only: list[str] = field(default_factory=list)  # hypothesis ids (empty: all)


@dataclass
class RunSummary:
    steps: int
    advanced: int
    stopped: str
    states: list[HypothesisState]


def sync_hypotheses(ctx: LoopContext) -> list[SpecError]:
    """Create a PROPOSED state for every valid hypothesis file that has none; return the invalid files."""
    loaded = load_hypotheses(ctx.workspace / SPEC_DIR, registry=ctx.registry, rule_names=RULE_NAMES,
                             relative_to=ctx.workspace)
    for spec in loaded.specs:
        if ctx.store.exists(spec.id) or _awaits_propose_step(ctx, spec):
            continue
        path = spec_path(ctx, spec.id)
        state = HypothesisState(
            id=spec.id, title=spec.title, family=spec.template, spec_path=ctx.rel(path),
            spec_sha256=file_sha256(path), created_at=ctx.clock(), updated_at=ctx.clock(),
        )
        save(ctx, state)
        ctx.say(f"  {spec.id} proposed: {spec.title}")
    return loaded.problems


def _awaits_propose_step(ctx: LoopContext, spec: HypothesisSpec) -> bool:
    """A variant file whose decided parent's propose step is still to come: a run was killed between
    writing it and committing that step. It starts once that step records it, as in a run that was not
    killed (where the variants of every decided hypothesis are proposed before any of them runs)."""
    generators = ctx.settings.generators
    if spec.parent is None or not ctx.store.exists(spec.parent) or \
            generators.variants_per_hypothesis <= 0 or generators.max_variants_total <= 0:
        return False
    parent = ctx.store.load(spec.parent)
    return parent.stage in PROPOSING_STAGES and not parent.variants_proposed and spec.id not in parent.variants


def recover_tags(ctx: LoopContext) -> list[str]:
    """Tag accepted hypotheses whose tag a killed run did not get to write (at their accept commit)."""
    made = []
    existing = set(ctx.ledger.tags())
    for state in ctx.store.load_all():
        if state.stage is not Stage.ACCEPTED or ctx.ledger.tag_prefix + accepted_tag_name(state) in existing:
            continue
        accepted = [e for e in ctx.ledger.history(state.id) if e.trailers.get("Decision") == "accept"]
        made.append(tag_accepted(ctx, state, accepted[-1].sha if accepted else None))
    return made


def prepare(ctx: LoopContext, only: Sequence[str] = ()) -> list[SpecError]:
    """Everything a run does before its first step (see the module docstring); ``only`` must name
    hypotheses that exist (their files are valid)."""
    ctx.store.clean_temporary_files(ctx.workspace / RUNS_DIR, ctx.workspace / CODE_DIR)
    for subject in recover_owed_commits(ctx):
        ctx.say(f"  recovered the commit a previous run owed: {subject}")
    for tag in recover_tags(ctx):
        ctx.say(f"  recovered tag {tag}")
    problems = sync_hypotheses(ctx)
    for problem in problems:
        ctx.say(f"  skipped an invalid hypothesis file: {problem}")
    known = ctx.store.ids()
    unknown = [i for i in only if i not in known]
    if unknown:
        raise SpecError(
            f"no hypothesis {', '.join(unknown)} in {ctx.workspace / SPEC_DIR}"
            + (" (a file of that name is invalid: see above)" if problems else ""),
            hint=f"known: {', '.join(sorted(known, key=id_sort_key)) or 'none'}; `qcloop new` writes a hypothesis "
                 "(a variant starts once its parent's propose step recorded it: run without ids)",
        )
    return problems


def _due(states: list[HypothesisState], now: dt.datetime, max_active: int, *,
         check_all: bool = False) -> list[HypothesisState]:
    """Hypotheses that may move now; ``check_all`` (a run's first pass) looks at every waiting one once,
    so that a run started after the person did their part picks it up at once."""
    active = sum(1 for s in states if s.stage is not Stage.PROPOSED and not s.stage.terminal)
    due = []
    for s in states:
        if s.stage.terminal or (s.waiting is not None and s.waiting.next_check_at > now and not check_all):
            continue
        if s.stage is Stage.PROPOSED:
            if active >= max_active:
                continue
            active += 1
        due.append(s)
    return due


def _idle(states: list[HypothesisState], now: dt.datetime) -> bool:
    """Nothing can move soon without a person."""
    return all(s.stage.terminal or (s.waiting is not None and (s.waiting.for_person
                                                                or s.waiting.next_check_at - now > IDLE_HORIZON))
               for s in states)


def _pick(due: list[HypothesisState]) -> HypothesisState:
    return min(due, key=lambda s: (s.seq, id_sort_key(s.id)))


class Progress:
    """A line about what the loop waits for, printed when it changes (or every minute)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.last = ""
        self.last_at = 0.0

    def show(self, states: list[HypothesisState], now: dt.datetime) -> None:
        waiting = [f"{s.id} {describe(s.waiting, now)}" for s in states
                   if s.waiting is not None and not s.stage.terminal]
        line = "; ".join(waiting)
        key = "; ".join(f"{s.id}:{s.waiting.what}" for s in states if s.waiting is not None and not s.stage.terminal)
        if line and (key != self.last or time.monotonic() - self.last_at >= PROGRESS_EVERY_SECONDS):
            self.say(f"  ... {line}")
            self.last, self.last_at = key, time.monotonic()


def run_loop(ctx: LoopContext, options: RunOptions, *, sleep: Callable[[float], None] = time.sleep) -> RunSummary:
    """Advance hypotheses until the options say stop; the caller holds the run lock."""
    prepare(ctx, options.only)
    steps = advanced = 0
    progress = Progress(ctx.say)
    checked: set[str] = set()  # waiting hypotheses already looked at once in this run
    generated = False  # the external generator runs at most once per run
    considered: set[str] = set()  # decided hypotheses whose variants this run looked at
    while True:
        states = [s for s in ctx.store.load_all() if not options.only or s.id in options.only]
        now = ctx.clock()
        unseen = [s for s in states if s.waiting is not None and s.id not in checked]
        due = _due(unseen, now, ctx.settings.loop.max_active, check_all=True) if unseen else []
        due = due or _due(states, now, ctx.settings.loop.max_active)
        finished = all(s.stage.terminal for s in states)
        if finished and not options.only and not options.once:
            # Everything is decided: time for new hypotheses (variants, the generator). Only then, and
            # not while someone is waited for, so that what is proposed, and in which order, does not
            # depend on how long people or platforms took (the same decisions on every platform).
            new, ran = propose(ctx, external_allowed=not generated, considered=considered)
            generated = generated or ran
            if new:
                ctx.say(f"  proposed {', '.join(new)}")
                sync_hypotheses(ctx)
                continue
        if finished:
            return RunSummary(steps, advanced, "every hypothesis is accepted, rejected or failed", states)
        if not due:
            if (options.until_idle and _idle(states, now)) or options.once:
                return RunSummary(steps, advanced, "waiting for you (see `qcloop status`)", states)
            progress.show(states, now)
            wake = min(s.waiting.next_check_at for s in states if s.waiting is not None and not s.stage.terminal)
            sleep(min(max((wake - now).total_seconds(), 0.05), 1.0))
            sync_hypotheses(ctx)
            continue
        state = _pick(due)
        checked.add(state.id)
        after = advance(ctx, state)
        advanced += 1
        if after.seq > state.seq:
            steps += 1
        if options.once:
            return RunSummary(steps, advanced, "one step done (--once)", ctx.store.load_all())
        if options.max_steps is not None and steps >= options.max_steps:
            return RunSummary(steps, advanced, f"{steps} steps done (--max-steps)", ctx.store.load_all())
