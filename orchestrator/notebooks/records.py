"""The result records that research notebooks hand back to the loop (a stable contract).

Every notebook's last cell emits exactly one record: a JSON object typed here by one pydantic model per
notebook kind. The loop (``loop.py``, ``decide.py``) reads only these models, never raw JSON.

Common to every kind (``RecordBase``): the run ``nonce`` and ``provenance_hash`` (so a record is matched
to the render that asked for it), the hypothesis and stage, ``data`` (where the prices came from and
whether they are synthetic), and ``baseline``: the figures at the baseline parameters over the whole
period, which the loop compares with the baseline backtest (the parity check, ``parity.py``).

Conventions of every ``Figures``: daily equity marked at each close; simple daily returns over trading
days, the first one relative to the starting cash; ``sharpe`` = per-day Sharpe x sqrt(252) with a zero
risk-free rate (``sharpe_per_period`` is the per-day value that PSR/DSR take); ``cagr`` compounds over
calendar time from the start date to the last close; ``max_drawdown`` is a positive fraction.

Changing a field here is a contract change: bump ``RECORD_SCHEMA_VERSION``, update
docs/notebooks.md and docs/architecture.md §4 in the same commit.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

RECORD_SCHEMA_VERSION: Literal[1] = 1
RESULT_MIME_TYPE = "application/vnd.qcloop.result+json"
RESULT_LINE_PREFIX = "QCLOOP-RESULT "
RESULT_KEY_PREFIX = "qcloop/results/"

Number = int | float
ParameterValues = dict[str, Number]


def result_key(nonce: str) -> str:
    """The Object Store key a notebook saves its record under."""
    return f"{RESULT_KEY_PREFIX}{nonce}.json"


class NotebookKind(StrEnum):
    BASELINE_REVIEW = "baseline_review"
    PARAMETER_SWEEP = "parameter_sweep"
    WALK_FORWARD = "walk_forward"


class _Record(BaseModel):
    # NaN and infinities are refused: JSON has neither, the notebook writes None for an undefined figure,
    # and a NaN that reached the decision rules would fail every comparison silently.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Figures(_Record):
    """The standard figures of one equity curve (see the module docstring for the conventions)."""

    start: date
    end: date
    days: int = Field(ge=1)
    total_return: float
    cagr: float | None
    sharpe: float | None
    sharpe_per_period: float | None
    volatility: float | None
    max_drawdown: float = Field(ge=0)
    orders: int = Field(ge=0)
    trades: int = Field(ge=0)
    win_rate: float | None
    fees: float = Field(ge=0)
    final_equity: float


class DataDescription(_Record):
    """Where a notebook's prices came from. ``synthetic`` data must be labelled wherever it is shown."""

    source: Literal["synthetic", "lean", "quantconnect", "backtest"]
    label: str
    synthetic: bool
    tickers: list[str]
    first_date: date | None
    last_date: date | None


class RecordBase(_Record):
    schema_version: Literal[1] = RECORD_SCHEMA_VERSION
    nonce: str = Field(min_length=8)
    provenance_hash: str = Field(min_length=64, max_length=64)
    hypothesis_id: str
    stage: str
    strategy_code_hash: str
    qcloop_version: str
    executed_at: str
    data: DataDescription
    baseline_parameters: ParameterValues
    baseline: Figures
    warnings: list[str] = Field(default_factory=list)


# --- baseline review -----------------------------------------------------------------------------


class MonthlyReturn(_Record):
    year: int
    month: int = Field(ge=1, le=12)
    value: float


class MonthSummary(_Record):
    best: MonthlyReturn | None
    worst: MonthlyReturn | None
    positive_fraction: float | None


class TradeSummary(_Record):
    """Round trips as the backtest reported them (totalPerformance.closedTrades)."""

    count: int = Field(ge=0)
    win_rate: float | None
    average_profit: float | None
    average_win: float | None
    average_loss: float | None
    profit_loss_ratio: float | None
    largest_win: float | None
    largest_loss: float | None
    average_days_held: float | None


class BaselineReviewRecord(RecordBase):
    kind: Literal[NotebookKind.BASELINE_REVIEW] = NotebookKind.BASELINE_REVIEW
    backtest_id: str | None
    backtest_name: str | None
    statistics: dict[str, str]
    monthly_returns: list[MonthlyReturn]
    months: MonthSummary
    closed_trades: TradeSummary


# --- parameter sweep -----------------------------------------------------------------------------


class GridPoint(_Record):
    parameters: ParameterValues
    excluded: bool  # broke a family constraint (e.g. fast < slow): not run, not a trial
    metric: float | None
    sharpe: float | None
    total_return: float | None
    max_drawdown: float | None
    orders: int | None


class Plateau(_Record):
    """Grid cells connected to the best one whose metric is within ``tolerance`` of it."""

    best_parameters: ParameterValues
    best_metric: float
    tolerance: float
    threshold: float
    members: list[ParameterValues]
    size: int = Field(ge=1)
    fraction: float = Field(gt=0, le=1)  # of the evaluated (not excluded) cells


class SweepSettings(_Record):
    target_metric: Literal["sharpe", "cagr", "total_return", "calmar"]
    sweep_parameters: list[str]
    grid: dict[str, list[Number]]
    relative_tolerance: float
    absolute_tolerance: float


class ParameterSweepRecord(RecordBase):
    kind: Literal[NotebookKind.PARAMETER_SWEEP] = NotebookKind.PARAMETER_SWEEP
    settings: SweepSettings
    points: list[GridPoint]
    n_trials: int = Field(ge=0)  # grid points evaluated (excluded ones are not trials)
    trials_sharpe_variance: float | None  # variance of the trials' per-period Sharpe ratios (DSR)
    plateau: Plateau | None  # None when no grid point has a finite metric
    robust_parameters: ParameterValues | None
    robust: Figures | None


# --- walk-forward ----------------------------------------------------------------------------------


class Span(_Record):
    start: date
    end: date


class WalkForwardWindow(_Record):
    index: int = Field(ge=0)
    in_sample: Span
    out_of_sample: Span
    chosen_parameters: ParameterValues | None
    in_sample_figures: Figures | None
    out_of_sample_figures: Figures | None
    efficiency: float | None


class OutOfSampleSummary(_Record):
    """The out-of-sample windows chained into one daily return series."""

    figures: Figures | None
    sharpe: float | None
    sharpe_per_period: float | None
    observations: int = Field(ge=0)
    skewness: float | None
    kurtosis: float | None  # raw (normal = 3)
    psr: float | None  # P(true Sharpe > 0)
    dsr: float | None  # PSR against the expected maximum Sharpe of n_trials trials
    n_trials: int = Field(ge=0)
    trials_sharpe_variance: float | None


class Holdout(_Record):
    """The final window the search never saw, evaluated once with the parameters chosen before it."""

    span: Span
    parameters: ParameterValues | None
    figures: Figures | None
    evaluated_once: Literal[True] = True


class WalkForwardSettings(SweepSettings):
    mode: Literal["rolling", "anchored"]
    in_sample_months: int
    out_of_sample_months: int
    holdout_months: int
    prior_trials: int


class WalkForwardRecord(RecordBase):
    kind: Literal[NotebookKind.WALK_FORWARD] = NotebookKind.WALK_FORWARD
    settings: WalkForwardSettings
    windows: list[WalkForwardWindow]
    out_of_sample: OutOfSampleSummary
    walk_forward_efficiency: float | None
    holdout: Holdout | None
    grid_evaluations: int = Field(ge=0)  # every simulation the search ran


AnyRecord = Annotated[
    BaselineReviewRecord | ParameterSweepRecord | WalkForwardRecord, Field(discriminator="kind")
]
_RECORD_ADAPTER: TypeAdapter[AnyRecord] = TypeAdapter(AnyRecord)


def parse_record(data: Any) -> BaselineReviewRecord | ParameterSweepRecord | WalkForwardRecord:
    """Validate a record (a dict, or its JSON text); raises pydantic.ValidationError when it is not one."""
    if isinstance(data, str | bytes):
        return _RECORD_ADAPTER.validate_json(data)
    return _RECORD_ADAPTER.validate_python(data)
