"""What the loop asks a notebook to do: one input model per notebook kind.

A spec plus a fresh nonce determines a rendered notebook completely (rendering is deterministic).
``notebook_parameters()`` is the part that becomes the notebook's parameters (papermill's
``injected-parameters`` cell and the provenance); the strategy's signal source and the baseline
backtest's data go into cells of their own, covered by the provenance's sources hash.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orchestrator.notebooks.baseline_data import BaselineData
from orchestrator.notebooks.records import NotebookKind
from orchestrator.strategies import UNIVERSE_SIZE_NAME

Number = int | float
TargetMetric = Literal["sharpe", "cagr", "total_return", "calmar"]
MAX_GRID_AXES = 2  # the stability map is a line or a heatmap (hypotheses.MAX_SWEPT_PARAMETERS agrees)


class _Spec(BaseModel):
    # Non-finite numbers are refused here, not deep in rendering: the provenance hash is canonical JSON.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StrategySource(_Spec):
    """The strategy a notebook evaluates: the family's rendered ``class Signal`` source, exactly as the
    algorithm embeds it (``orchestrator.strategies.render_signal_source``), and the hash of the rendered
    project (``RenderedStrategy.code_hash``)."""

    family: str
    signal_source: str = Field(min_length=1)
    code_hash: str = Field(min_length=8)

    @property
    def signal_hash(self) -> str:
        return hashlib.sha256(self.signal_source.encode("utf-8")).hexdigest()


class _CommonSpec(_Spec):
    hypothesis_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    stage: str = Field(min_length=1)
    tickers: list[str] = Field(min_length=1)
    start: date
    end: date
    cash: float = Field(default=100_000.0, gt=0)

    @model_validator(mode="after")
    def _dates_in_order(self) -> _CommonSpec:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    def _common_parameters(self) -> dict[str, Any]:
        return {"tickers": list(self.tickers), "start": self.start.isoformat(),
                "end": self.end.isoformat(), "cash": float(self.cash)}


class BaselineReviewSpec(_CommonSpec):
    """Review of the baseline backtest. Its result (cloud shape, as ``backtests/read`` or
    ``engine.run_backtest(...).to_cloud()`` return it) is condensed into ``backtest`` and embedded in
    the notebook, so the notebook needs nothing but itself (see docs/notebooks.md)."""

    kind: Literal[NotebookKind.BASELINE_REVIEW] = NotebookKind.BASELINE_REVIEW
    strategy_code_hash: str = Field(min_length=8)
    backtest: BaselineData
    baseline_parameters: dict[str, Number] = Field(default_factory=dict)

    @property
    def code_hash(self) -> str:
        return self.strategy_code_hash

    @property
    def family(self) -> str | None:
        return None

    def notebook_parameters(self) -> dict[str, Any]:
        return {**self._common_parameters(),
                "baseline_parameters": dict(sorted(self.baseline_parameters.items())),
                "backtest_id": self.backtest.backtest_id, "backtest_name": self.backtest.name}


class _SearchSpec(_CommonSpec):
    strategy: StrategySource
    baseline_parameters: dict[str, Number] = Field(min_length=1)
    grid: dict[str, list[Number]] = Field(min_length=1, max_length=MAX_GRID_AXES)
    constraints: list[str] = Field(default_factory=list)  # family.yaml constraints, e.g. "fast < slow"
    target_metric: TargetMetric = "sharpe"
    relative_tolerance: float = Field(default=0.10, ge=0, le=1)
    absolute_tolerance: float = Field(default=0.05, ge=0)
    warm_up: bool = True  # the algorithm calls set_warm_up(signal.warmup_bars): replay bars before start

    @field_validator("grid")
    @classmethod
    def _grid_axes(cls, grid: dict[str, list[Number]]) -> dict[str, list[Number]]:
        """Axes in name order, values ascending: one canonical grid, whatever order the caller used
        (the first axis is the stability map's rows)."""
        for name, values in grid.items():
            if not values:
                raise ValueError(f"grid axis '{name}' has no values")
            if len(set(values)) != len(values):
                raise ValueError(f"grid axis '{name}' repeats a value: {values}")
        return {name: sorted(values) for name, values in sorted(grid.items())}

    @model_validator(mode="after")
    def _grid_names_known(self) -> _SearchSpec:
        unknown = [name for name in self.grid if name not in self.baseline_parameters]
        if unknown:
            raise ValueError(f"grid axes {unknown} are not parameters of the strategy "
                             f"({sorted(self.baseline_parameters)})")
        return self

    @property
    def code_hash(self) -> str:
        return self.strategy.code_hash

    @property
    def family(self) -> str | None:
        return self.strategy.family

    def notebook_constraints(self) -> list[str]:
        """The constraints as the notebook checks them: ``universe_size`` (family.yaml's name for the
        number of tickers, not a parameter the notebook has) is replaced by that number."""
        size = str(len(self.tickers))
        return [re.sub(rf"\b{UNIVERSE_SIZE_NAME}\b", size, text) for text in self.constraints]

    def _search_parameters(self) -> dict[str, Any]:
        return {
            **self._common_parameters(),
            "family": self.strategy.family,
            "baseline_parameters": dict(sorted(self.baseline_parameters.items())),
            "grid": {name: list(values) for name, values in self.grid.items()},
            "constraints": self.notebook_constraints(),
            "target_metric": self.target_metric,
            "relative_tolerance": self.relative_tolerance,
            "absolute_tolerance": self.absolute_tolerance,
            "warm_up": self.warm_up,
        }


class ParameterSweepSpec(_SearchSpec):
    kind: Literal[NotebookKind.PARAMETER_SWEEP] = NotebookKind.PARAMETER_SWEEP

    def notebook_parameters(self) -> dict[str, Any]:
        return self._search_parameters()


class WalkForwardSpec(_SearchSpec):
    kind: Literal[NotebookKind.WALK_FORWARD] = NotebookKind.WALK_FORWARD
    in_sample_months: int = Field(default=36, ge=1)
    out_of_sample_months: int = Field(default=12, ge=1)
    holdout_months: int = Field(default=12, ge=0)
    anchored: bool = False
    prior_trials: int = Field(default=0, ge=0)  # trials already counted for the family (DSR's N)

    def notebook_parameters(self) -> dict[str, Any]:
        return {**self._search_parameters(), "in_sample_months": self.in_sample_months,
                "out_of_sample_months": self.out_of_sample_months,
                "holdout_months": self.holdout_months, "anchored": self.anchored,
                "prior_trials": self.prior_trials}


AnySpec = BaselineReviewSpec | ParameterSweepSpec | WalkForwardSpec
