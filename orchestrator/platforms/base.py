"""The one seam between the loop and where work runs (DESIGN.md §1, docs/architecture.md §5).

``Platform`` is everything the loop does remotely. Three implementations: ``local`` (the embedded
engine and nbclient), ``cloud`` (QuantConnect's API v2, or the emulator through ``--api-url``).

Contracts every implementation keeps, because the loop's exactly-once guarantee rests on them:

- ``find_*`` look remote objects up by the deterministic name the loop gave them, so that after a
  crash the loop can tell whether a create call went through before it calls create again;
- ``create_*`` never retry a create blindly: when the outcome is unknown they raise (the loop then
  reconciles by name on its next pass);
- ``put_files`` and ``put_notebook`` are idempotent (create or update);
- nothing here blocks for long: a backtest that is still running is returned with ``completed``
  false and the loop polls again later, so other hypotheses keep moving;
- reading an object by an id the platform does not know (any more) raises ``RemoteObjectMissingError``
  where the platform can tell (the local one); the loop then fails the hypothesis, and `qcloop retry`
  starts a new attempt under new names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from orchestrator.errors import StateError

if TYPE_CHECKING:
    from orchestrator.notebooks.collect import Channel


class RemoteObjectMissingError(StateError):
    """An object the state records by its id is not on the platform (any more)."""


@dataclass(frozen=True)
class ProjectHandle:
    name: str
    project_id: str
    url: str | None = None  # where a person opens it (QuantConnect's project page, or a local folder)


@dataclass(frozen=True)
class CompileOutcome:
    ok: bool
    compile_id: str | None
    logs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BacktestWindow:
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class RemoteBacktest:
    """A backtest as the platform reports it; ``result`` is the cloud-shaped object once completed."""

    backtest_id: str
    name: str
    completed: bool = False
    progress: float = 0.0
    error: str | None = None
    stacktrace: str | None = None
    result: Mapping[str, Any] | None = None

    @property
    def failed(self) -> bool:
        return bool(self.error or self.stacktrace)


@dataclass(frozen=True)
class OptimizationEstimate:
    cost_usd: float
    seconds: float | None = None
    estimate_id: str | None = None


@dataclass(frozen=True)
class OptimizationPoint:
    parameters: dict[str, float]
    sharpe: float
    trades: int | None = None
    total_return: float | None = None
    drawdown: float | None = None


@dataclass(frozen=True)
class RemoteOptimization:
    optimization_id: str
    name: str
    completed: bool = False
    progress: float = 0.0
    failed: bool = False
    detail: str = ""
    points: list[OptimizationPoint] = field(default_factory=list)


@dataclass(frozen=True)
class NotebookOutcome:
    """What collecting a notebook found. Only ``classification == "FRESH"`` carries a record to use."""

    classification: str           # NOT_RUN, FRESH, STALE, FAILED, OUTPUTS_MISSING, TAMPERED, MALFORMED
    detail: str = ""
    record: Mapping[str, Any] | None = None
    channel: str | None = None    # where it came from: local execution, project file, object store, inbox
    notebook_json: str | None = None  # the run notebook, when one came back (kept as evidence)

    @property
    def fresh(self) -> bool:
        return self.classification == "FRESH"


def collect_outcome(channels: Sequence[Channel], file_name: str, provenance: Mapping[str, Any], *,
                    where: str, inbox: Path) -> NotebookOutcome:
    """Collect the run of ``file_name`` through ``channels`` (``notebooks.collect``), as the loop sees it.

    ``where`` names the place a person runs it (for the guidance in what comes back).
    """
    from orchestrator.notebooks.classify import Guidance
    from orchestrator.notebooks.collect import collect
    from orchestrator.notebooks.provenance import Provenance

    expected = Provenance.model_validate(dict(provenance))
    result = collect(channels, expected, guidance=Guidance(notebook=file_name, where=where, inbox=inbox))
    return NotebookOutcome(
        classification=result.status.value, detail=result.message,
        record=result.record.model_dump(mode="json") if result.record is not None else None,
        channel=result.channel.value if result.channel else None, notebook_json=result.notebook_json,
    )


@dataclass(frozen=True)
class NotebookPlacement:
    """Where a notebook was put and what a person does with it (empty when a machine runs it)."""

    file_name: str
    instructions: list[str] = field(default_factory=list)
    url: str | None = None


@runtime_checkable
class Platform(Protocol):
    name: str
    person_runs_notebooks: bool   # True: a person must run notebooks (cloud, or local --manual)
    supports_optimizations: bool  # paid cloud optimizations exist on this platform
    metered: bool                 # backtests count against budget.daily_backtests (the cloud)

    def ensure_project(self, name: str) -> ProjectHandle:
        """The project called ``name``, found or created (names are unique: safe to repeat)."""
        ...

    def find_project(self, name: str) -> ProjectHandle | None: ...

    def put_files(self, project: ProjectHandle, files: Mapping[str, str]) -> None: ...

    def compile(self, project: ProjectHandle) -> CompileOutcome: ...

    def find_backtest(self, project: ProjectHandle, name: str) -> RemoteBacktest | None: ...

    def create_backtest(
        self, project: ProjectHandle, *, compile_id: str | None, name: str, parameters: Mapping[str, str],
        window: BacktestWindow | None,
    ) -> RemoteBacktest: ...

    def read_backtest(self, project: ProjectHandle, backtest_id: str) -> RemoteBacktest: ...

    def estimate_optimization(
        self, project: ProjectHandle, *, compile_id: str | None, name: str, grid: Mapping[str, list[float]],
        parameters: Mapping[str, str],
    ) -> OptimizationEstimate: ...

    def find_optimization(self, project: ProjectHandle, name: str) -> RemoteOptimization | None: ...

    def create_optimization(
        self, project: ProjectHandle, *, compile_id: str | None, name: str, grid: Mapping[str, list[float]],
        parameters: Mapping[str, str], estimate: OptimizationEstimate,
    ) -> RemoteOptimization: ...

    def read_optimization(self, project: ProjectHandle, optimization_id: str) -> RemoteOptimization: ...

    def put_notebook(self, project: ProjectHandle, file_name: str, notebook_json: str) -> NotebookPlacement: ...

    def collect_notebook(
        self, project: ProjectHandle, file_name: str, provenance: Mapping[str, Any],
    ) -> NotebookOutcome:
        """Look for the run of the notebook rendered with ``provenance`` (its nonce) on every channel."""
        ...

    def close(self) -> None: ...
