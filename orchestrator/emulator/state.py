"""The emulator's state as typed records: what ``backend.py`` holds and ``persistence.py`` writes.

Everything here is the emulator's own data, so the models forbid unknown fields: a state file from a
different version fails loudly instead of silently dropping what it does not know. Wire shapes (the
camelCase dicts QuantConnect sends) are built from these records in ``backend.py``; nothing here
knows about HTTP.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

STATE_SCHEMA_VERSION = 1


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class UserRecord(_Record):
    user_id: int
    name: str
    email: str
    organization_id: str


class OrganizationRecord(_Record):
    organization_id: str
    name: str
    owner_user_id: int
    credit_balance: float = 10_000.0  # QCC; only shown by account/read


class FileRecord(_Record):
    file_id: int
    name: str
    content: str
    created: dt.datetime
    modified: dt.datetime


class ProjectRecord(_Record):
    project_id: int
    organization_id: str
    owner_id: int
    name: str
    description: str = ""
    language: str = "Py"
    created: dt.datetime
    modified: dt.datetime
    parameters: dict[str, str] = Field(default_factory=dict)
    libraries: list[int] = Field(default_factory=list)
    lean_version_id: int = 17000
    lean_environment: int = 1
    files: list[FileRecord] = Field(default_factory=list)

    def file(self, name: str) -> FileRecord | None:
        return next((f for f in self.files if f.name == name), None)


class CompileState(StrEnum):
    IN_QUEUE = "InQueue"
    BUILD_SUCCESS = "BuildSuccess"
    BUILD_ERROR = "BuildError"


class CompileRecord(_Record):
    compile_id: str
    project_id: int
    created: dt.datetime
    # The build's outcome is decided when the compile is created (from a snapshot of the files);
    # reads reveal it according to the timing, as the service shows InQueue first.
    outcome: CompileState
    logs: list[str]
    files: dict[str, str]  # the snapshot a backtest of this compile runs
    detected_parameters: list[dict[str, Any]] = Field(default_factory=list)
    signature: str = ""
    reads: int = 0


class JobPhase(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


class BacktestRecord(_Record):
    backtest_id: str
    project_id: int
    organization_id: str
    compile_id: str
    name: str
    note: str | None = None
    created: dt.datetime
    parameter_set: dict[str, Any] = Field(default_factory=dict)  # as the create call sent them
    effective_parameters: dict[str, str] = Field(default_factory=dict)  # project's, overridden
    phase: JobPhase = JobPhase.QUEUED
    engine_progress: float = 0.0
    reads: int = 0
    failed: bool = False
    tags: list[str] = Field(default_factory=list)


class OptimizationStatus(StrEnum):
    NEW = "new"
    RUNNING = "running"
    COMPLETED = "completed"
    ABORTED = "aborted"


class OptimizationParameter(_Record):
    name: str
    min: float
    max: float
    step: float


class OptimizationConstraint(_Record):
    target: str
    operator: str
    target_value: float


class OptimizationPoint(_Record):
    """One grid point: its parameters and, once run, the engine's result in summary form."""

    backtest_id: str
    name: str
    parameter_set: dict[str, str]
    phase: JobPhase = JobPhase.QUEUED
    exit_code: int = 0
    statistics: dict[str, str] = Field(default_factory=dict)
    portfolio_statistics: dict[str, Any] = Field(default_factory=dict)
    equity: list[list[float]] = Field(default_factory=list)
    start_date: str | None = None
    end_date: str | None = None
    runtime_seconds: float = 0.0


class OptimizationRecord(_Record):
    optimization_id: str
    project_id: int
    organization_id: str
    compile_id: str
    name: str
    created: dt.datetime
    target: str
    target_to: str
    target_value: float | None = None
    strategy: str
    node_type: str
    parallel_nodes: int
    estimated_cost: float
    parameters: list[OptimizationParameter]
    constraints: list[OptimizationConstraint] = Field(default_factory=list)
    points: list[OptimizationPoint] = Field(default_factory=list)
    status: OptimizationStatus = OptimizationStatus.NEW
    reads: int = 0
    started: dt.datetime | None = None
    finished: dt.datetime | None = None


class StoredObject(_Record):
    organization_id: str
    key: str
    size: int
    md5: str
    mime: str
    created: dt.datetime
    modified: dt.datetime
    blob: str  # file name of the bytes under the state dir's objects/ (or the in-memory key)


class DownloadJob(_Record):
    job_id: str
    organization_id: str
    keys: list[str]
    created: dt.datetime
    reads: int = 0
    token: str  # the secret part of the download URL


class LiveStatus(StrEnum):
    IN_QUEUE = "InQueue"
    INITIALIZING = "Initializing"
    RUNNING = "Running"
    STOPPED = "Stopped"
    LIQUIDATED = "Liquidated"
    RUNTIME_ERROR = "RuntimeError"


class LiveHolding(_Record):
    symbol: str
    symbol_id: str
    quantity: float
    average_price: float
    price: float


class LiveRecord(_Record):
    deploy_id: str
    project_id: int
    organization_id: str
    compile_id: str
    node_id: str
    brokerage: dict[str, Any]
    parameters: dict[str, str] = Field(default_factory=dict)
    launched: dt.datetime
    stopped: dt.datetime | None = None
    status: LiveStatus = LiveStatus.IN_QUEUE
    phase: JobPhase = JobPhase.QUEUED
    reads: int = 0
    replay_start: str | None = None
    replay_end: str | None = None
    starting_cash: float = 100_000.0
    cash: float = 0.0
    holdings: list[LiveHolding] = Field(default_factory=list)
    extra_orders: list[dict[str, Any]] = Field(default_factory=list)  # liquidation orders
    error: str | None = None


class EmulatorState(_Record):
    schema_version: int = STATE_SCHEMA_VERSION
    next_project_id: int = 20_000_001
    next_file_id: int = 1
    users: list[UserRecord] = Field(default_factory=list)
    organizations: list[OrganizationRecord] = Field(default_factory=list)
    projects: list[ProjectRecord] = Field(default_factory=list)
    compiles: list[CompileRecord] = Field(default_factory=list)
    backtests: list[BacktestRecord] = Field(default_factory=list)
    optimizations: list[OptimizationRecord] = Field(default_factory=list)
    objects: list[StoredObject] = Field(default_factory=list)
    download_jobs: list[DownloadJob] = Field(default_factory=list)
    live: list[LiveRecord] = Field(default_factory=list)
