"""The loop's records: a hypothesis's state file and everything in it (DESIGN.md §3).

``state/<id>.json`` is one ``HypothesisState``. It is the truth about a hypothesis: its stage, every
remote object it created (by a deterministic name, so a crash never duplicates one), every figure it
measured, every decision with its reasons and the rule set that made it, its trials, the person it is
waiting for, and the git commit its last step owes. ``store.py`` is the only writer.

All models forbid unknown fields: the data is ours, and a typo must fail loudly rather than vanish.
Times are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Record(BaseModel):
    """Base of every model in a state file."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------------------------------
# stages, steps, actions


class Stage(StrEnum):
    """Where a hypothesis is (DESIGN.md §3)."""

    PROPOSED = "proposed"              # its spec exists; nothing generated yet
    GENERATED = "generated"            # strategy code rendered; next: compile and baseline backtest
    BASELINE = "baseline"              # the baseline backtest is in flight
    OPTIMIZING = "optimizing"          # next: the parameter search (notebook sweep or paid optimization)
    VALIDATING = "validating"          # next: walk-forward notebook and the confirmation backtests
    AWAITING_RESULTS = "awaiting_results"  # a notebook or optimization is out; see HypothesisState.awaiting
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"                  # something broke; HypothesisState.failure says what and how to retry

    @property
    def terminal(self) -> bool:
        """No further step without a person (``qcloop retry`` reopens a FAILED one)."""
        return self in (Stage.ACCEPTED, Stage.REJECTED, Stage.FAILED)


# The state machine's shape: where each stage may lead (DESIGN.md §3). ``store.py`` refuses any other
# change of stage, so a bug cannot write an impossible state. A stage function may pass through
# several stages in one call (GENERATED -> BASELINE -> OPTIMIZING when the backtest is done at once),
# so each entry lists every stage reachable by one call.
_AFTER_BASELINE = frozenset({Stage.BASELINE, Stage.OPTIMIZING, Stage.VALIDATING, Stage.REJECTED, Stage.FAILED})
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.PROPOSED: frozenset({Stage.GENERATED, Stage.FAILED}),
    Stage.GENERATED: _AFTER_BASELINE,
    Stage.BASELINE: _AFTER_BASELINE,
    Stage.OPTIMIZING: frozenset({Stage.AWAITING_RESULTS, Stage.FAILED}),
    Stage.VALIDATING: frozenset({Stage.AWAITING_RESULTS, Stage.FAILED}),
    Stage.AWAITING_RESULTS: frozenset({Stage.VALIDATING, Stage.ACCEPTED, Stage.REJECTED, Stage.FAILED}),
    Stage.ACCEPTED: frozenset(),
    Stage.REJECTED: frozenset(),
    Stage.FAILED: frozenset({Stage.PROPOSED, Stage.GENERATED, Stage.OPTIMIZING, Stage.VALIDATING}),
}


class Step(StrEnum):
    """A named step of the ledger: the ``Stage:`` trailer and the word after the id in a subject."""

    GENERATE = "generate"
    BASELINE = "baseline"
    OPTIMIZE = "optimize"
    VALIDATE = "validate"
    APPROVE = "approve"
    RETRY = "retry"
    FAIL = "fail"
    PROPOSE = "propose"


class Action(StrEnum):
    """What a decision says to do next."""

    REJECT = "reject"
    OPTIMIZE = "optimize"
    VALIDATE = "validate"
    ACCEPT = "accept"
    FLAG = "flag"  # the evidence cannot be trusted (e.g. notebook/backtest parity): a person must look


class JobKind(StrEnum):
    PROJECT = "project"
    UPLOAD = "upload"
    BACKTEST = "backtest"
    OPTIMIZATION = "optimization"
    NOTEBOOK = "notebook"


class JobStatus(StrEnum):
    """The life of one side effect. INTENDED is written (and fsynced) before the remote call."""

    INTENDED = "intended"
    CREATED = "created"      # the remote object exists; its id is recorded
    COMPLETED = "completed"  # its results are read and recorded
    FAILED = "failed"


# --------------------------------------------------------------------------------------------------
# figures


class BacktestFigures(Record):
    """What the loop keeps of one backtest: the figures rules read, and the return moments DSR needs.

    ``sharpe`` is annualized from the daily returns of the equity curve with a zero risk-free rate,
    the convention research notebooks use too; ``sharpe_per_period``, ``skewness``, ``kurtosis`` (raw,
    normal = 3) and ``observations`` describe those returns (reference/overfitting.md §1).
    """

    backtest_id: str | None = None
    sharpe: float                   # zero risk-free rate, from the daily equity (see loop/evidence.py)
    lean_sharpe: float | None = None  # LEAN's own statistic (risk-free rate subtracted), for display
    psr: float | None = None
    cagr: float = 0.0
    drawdown: float = 0.0           # a positive fraction (0.25 = 25 %)
    net_profit: float = 0.0         # a fraction of the starting equity
    total_orders: int = 0
    trades: int = 0                 # closed round trips
    trades_estimated: bool = False  # no trade statistics: ``trades`` is half the order count
    win_rate: float | None = None   # LEAN's "Win Rate": a fraction of the position-reducing orders
    round_trip_win_rate: float | None = None  # winners among the ``trades`` round trips (trade statistics)
    annual_std: float | None = None
    sharpe_per_period: float | None = None
    skewness: float | None = None
    kurtosis: float | None = None
    observations: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    parameters: dict[str, str] = Field(default_factory=dict)


class GridPoint(Record):
    parameters: dict[str, float]
    sharpe: float
    trades: int | None = None
    total_return: float | None = None
    drawdown: float | None = None


class SweepFigures(Record):
    """The parameter search, from a sweep notebook or a cloud optimization."""

    source: Literal["notebook", "optimization"] = "notebook"
    points: list[GridPoint] = Field(default_factory=list)
    chosen: dict[str, float]           # the plateau's centre, not necessarily the single best point
    chosen_sharpe: float
    best_sharpe: float
    plateau_sharpe: float | None = None   # mean Sharpe of the chosen point's neighbourhood
    baseline_sharpe: float | None = None  # the notebook's own figure at the baseline parameters (parity)
    baseline_total_return: float | None = None
    record_path: str | None = None        # workspace-relative file holding the full result record


class WindowFigures(Record):
    in_sample_start: dt.date | None = None
    in_sample_end: dt.date | None = None
    out_of_sample_start: dt.date | None = None
    out_of_sample_end: dt.date | None = None
    chosen: dict[str, float] = Field(default_factory=dict)
    in_sample_sharpe: float
    out_of_sample_sharpe: float


class WalkForwardFigures(Record):
    windows: list[WindowFigures] = Field(default_factory=list)
    in_sample_sharpe: float
    out_of_sample_sharpe: float
    efficiency: float | None = None       # out-of-sample / in-sample (None when in-sample <= 0)
    baseline_sharpe: float | None = None  # parity figure at the baseline parameters
    baseline_total_return: float | None = None
    record_path: str | None = None


class Results(Record):
    baseline: BacktestFigures | None = None
    sweep: SweepFigures | None = None
    walk_forward: WalkForwardFigures | None = None
    confirmation: BacktestFigures | None = None   # chosen parameters over the search period
    holdout: BacktestFigures | None = None        # chosen parameters over the untouched final window


# --------------------------------------------------------------------------------------------------
# trials (DESIGN.md §5, issue 8 item 3)


class Trial(Record):
    """One configuration that was evaluated: a backtest or one grid point of a sweep or optimization."""

    kind: Literal["backtest", "grid_point", "optimization_point"]
    label: str            # e.g. "baseline", "sweep fast=30 slow=200"
    sharpe: float         # annualized
    at: dt.datetime = Field(default_factory=utcnow)


class TrialStats(Record):
    """The trial accounting a decision used: counts and the variance of the trials' Sharpe ratios."""

    hypothesis_trials: int
    family: str
    family_trials: int
    sharpe_variance: float  # variance (n - 1) of the family's trials' annualized Sharpe ratios
    deflated_sharpe: float | None = None
    expected_max_sharpe: float | None = None  # annualized SR0 of the DSR


# --------------------------------------------------------------------------------------------------
# decisions


class Check(Record):
    """One rule applied: its name, whether it passed, what was observed and the threshold."""

    rule: str
    passed: bool
    observed: float | None = None
    threshold: float | None = None
    reason: str


class Evidence(Record):
    """Everything one decision reads, recorded with the decision so that ``replay`` can re-score it."""

    can_optimize: bool = False
    baseline: BacktestFigures | None = None
    sweep: SweepFigures | None = None
    walk_forward: WalkForwardFigures | None = None
    confirmation: BacktestFigures | None = None
    holdout: BacktestFigures | None = None
    trials: TrialStats | None = None


class Decision(Record):
    step: Step
    action: Action
    rules: str                    # "name@version"
    overrides: dict[str, float] = Field(default_factory=dict)
    checks: list[Check] = Field(default_factory=list)
    summary: str                  # one line: why
    evidence: Evidence = Field(default_factory=Evidence)
    parameters: dict[str, str] | None = None  # the parameters the next stage uses (optimize: the chosen ones)
    at: dt.datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------------------------------
# side effects, notebooks, waiting


class RemoteJob(Record):
    """One side effect that costs quota or money, keyed by a deterministic remote name."""

    kind: JobKind
    name: str                     # e.g. "qcloop/H-007/baseline/1"
    status: JobStatus = JobStatus.INTENDED
    remote_id: str | None = None
    parameters: dict[str, str] = Field(default_factory=dict)
    window: tuple[dt.date, dt.date] | None = None
    cost_usd: float | None = None
    error: str | None = None
    intended_at: dt.datetime = Field(default_factory=utcnow)
    created_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None


class ProjectRef(Record):
    name: str
    project_id: str | None = None
    url: str | None = None


class NotebookRun(Record):
    """A rendered notebook put where it will be run, and what collecting it has seen so far."""

    kind: str                     # notebooks.records.NotebookKind value (parameter_sweep, walk_forward)
    step: Step
    file_name: str                # the notebook's name in the project (and in runs/<id>/)
    path: str                     # workspace-relative copy of the rendered notebook
    nonce: str
    provenance: dict[str, Any] = Field(default_factory=dict)  # as rendered: what a run must match
    attempt: int = 1              # the hypothesis's attempt that rendered it (a retry renders afresh)
    put_at: dt.datetime | None = None
    collected_at: dt.datetime | None = None
    last_classification: str | None = None
    last_detail: str | None = None
    channel: str | None = None    # where the record that moved the loop came from
    checks: int = 0


class Waiting(Record):
    """A hypothesis that waits for a person or a remote job: what, since when, when to look again."""

    for_person: bool
    what: str
    instructions: list[str] = Field(default_factory=list)
    url: str | None = None
    since: dt.datetime = Field(default_factory=utcnow)
    next_check_at: dt.datetime = Field(default_factory=utcnow)
    interval_seconds: float = 5.0
    deadline: dt.datetime | None = None
    reminders: int = 0
    last_reminded_at: dt.datetime | None = None
    notified: bool = False


class Failure(Record):
    stage: Stage                  # where it failed
    reason: str                   # one sentence
    evidence: str = ""            # the stack trace, the build log, the classification detail...
    retry: str                    # the command that retries it
    resume: Stage | None = None   # where `qcloop retry` restarts (None: the stage it failed in)
    at: dt.datetime = Field(default_factory=utcnow)


class Approval(Record):
    """A person's approval of a paid cloud optimization (``qcloop approve``)."""

    max_usd: float
    at: dt.datetime = Field(default_factory=utcnow)
    by: str = ""


class StepRecord(Record):
    """The git commit the last step owes: written with the state, committed right after.

    If the process dies between the two, the next run finds a state whose ``seq`` git has not seen and
    makes the commit then, so the ledger never misses a step.
    """

    seq: int
    step: Step
    subject: str
    trailers: list[tuple[str, str]]
    files: list[str]
    body: str = ""
    at: dt.datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------------------------------
# the state file


class HypothesisState(Record):
    schema_version: int = SCHEMA_VERSION
    revision: int = 0                # bumped by every write (store.py compares and swaps on it)
    id: str
    title: str = ""
    family: str                      # the strategy template: trials are counted per family
    spec_path: str                   # workspace-relative
    spec_sha256: str
    stage: Stage = Stage.PROPOSED
    awaiting: Step | None = None     # with AWAITING_RESULTS: the step whose results are awaited
    attempt: int = 1                 # part of every remote name; `qcloop retry` increments it
    seq: int = 0                     # number of the last step (the Step trailer)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    parameters: dict[str, str] = Field(default_factory=dict)  # the parameters in force (baseline, then chosen)
    search_window: tuple[dt.date, dt.date] | None = None
    holdout_window: tuple[dt.date, dt.date] | None = None
    holdout_used_at: dt.datetime | None = None
    code_sha256: str | None = None
    code_path: str | None = None
    project: ProjectRef | None = None
    jobs: dict[str, RemoteJob] = Field(default_factory=dict)
    notebooks: dict[str, NotebookRun] = Field(default_factory=dict)
    results: Results = Field(default_factory=Results)
    decisions: list[Decision] = Field(default_factory=list)
    trials: list[Trial] = Field(default_factory=list)
    trial_stats: TrialStats | None = None
    waiting: Waiting | None = None
    failure: Failure | None = None
    approval: Approval | None = None
    pending_cost_usd: float | None = None  # the estimate of a paid optimization waiting for approval
    variants: list[str] = Field(default_factory=list)  # ids of the variants proposed from this one
    variants_proposed: bool = False
    last_step: StepRecord | None = None
    notes: list[str] = Field(default_factory=list)

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema_version {value} is not supported (this qcloop writes {SCHEMA_VERSION})")
        return value

    @property
    def last_decision(self) -> Decision | None:
        return self.decisions[-1] if self.decisions else None

    def remote_name(self, step: Step | str, suffix: str = "") -> str:
        """The deterministic name of a side effect: ``qcloop/H-007/baseline/1`` (+ ``/suffix``)."""
        value = step.value if isinstance(step, Step) else step
        return f"qcloop/{self.id}/{value}/{self.attempt}" + (f"/{suffix}" if suffix else "")

    def summary_line(self) -> str:
        """The last result in a few words, for `status`."""
        decision = self.last_decision
        if self.failure is not None and self.stage is Stage.FAILED:
            return f"failed: {self.failure.reason}"
        if decision is not None:
            return f"{decision.step.value} -> {decision.action.value}: {decision.summary}"
        return ""
