"""Backtests: a compile's snapshot run on the embedded engine in the background.

``backtests/create`` answers at once with the queued backtest; a worker writes the snapshot to a
temporary folder and runs the engine there (``runner.py``), with the create call's ``parameters``
overriding the project's. What each read shows (queued, ``Running: NN%``, finished) is decided by the
job's gate (``timing.py``), so tests control the lifecycle without sleeping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.emulator.core import COMPLETED, BackendCore, as_parameter, new_hex
from orchestrator.emulator.errors import NotFoundError, require
from orchestrator.emulator.runner import RunRequest, run_project
from orchestrator.emulator.state import BacktestRecord, JobPhase, ProjectRecord, UserRecord, utc_now
from orchestrator.emulator.timing import View


@dataclass
class BacktestView:
    record: BacktestRecord
    finished: bool
    progress: float
    result: dict[str, Any] | None

    queued: bool = False  # the create response: always "In Queue...", as the service answers

    @property
    def status(self) -> str:
        if self.finished and self.result is not None:
            return str(self.result.get("status") or COMPLETED)
        if self.queued or (self.progress <= 0 and self.record.phase is JobPhase.QUEUED):
            return "In Queue..."
        return f"Running: {int(self.progress * 100)}%"


class BacktestsMixin(BackendCore):
    """backtests/*."""

    def create_backtest(
        self, user: UserRecord, project_id: int, compile_id: str, name: str,
        parameters: Mapping[str, Any] | None = None,
    ) -> BacktestView:
        project = self._project(user, project_id)
        build = self._buildable(project, compile_id)
        require(bool((name or "").strip()), "Backtest name is required")
        for key, value in (parameters or {}).items():
            require(not isinstance(value, dict | list), f"Parameter '{key}' must be a string or a number")
        data_folder = self._require_data()
        effective = {**project.parameters, **{str(k): as_parameter(v) for k, v in (parameters or {}).items()}}
        record = BacktestRecord(
            backtest_id=new_hex(), project_id=project.project_id, organization_id=project.organization_id,
            compile_id=build.compile_id, name=name.strip(), created=utc_now(),
            parameter_set=dict(parameters or {}), effective_parameters=effective,
        )
        with self._mutating() as state:
            state.backtests.append(record)
        self._start_backtest(record, build.files, data_folder)
        return BacktestView(record, False, 0.0, None, queued=True)

    def _start_backtest(self, record: BacktestRecord, files: Mapping[str, str], data_folder: Path) -> None:
        request = RunRequest(Path("."), data_folder, dict(record.effective_parameters))

        def progress(fraction: float) -> None:
            record.engine_progress = max(0.0, min(float(fraction), 1.0))

        def work() -> None:
            with self._mutating():
                record.phase = JobPhase.RUNNING
            result = run_project(self.runner, files, request, progress)
            if not self._save_result(record.backtest_id, result):
                return
            with self._mutating() as state:
                record.phase = JobPhase.DONE
                record.failed = result.get("status") != COMPLETED
                if all(b is not record for b in state.backtests):  # deleted while it ran
                    self.store.delete_result(record.backtest_id)

        self._submit(record.backtest_id, work, self.timing)

    def _backtest(self, project: ProjectRecord, backtest_id: str | None) -> BacktestRecord:
        require(bool(backtest_id and str(backtest_id).strip()), "Backtest id is required")
        with self._lock:
            found = next((b for b in self._state.backtests if b.backtest_id == backtest_id), None)
        if found is None or found.project_id != project.project_id:
            raise NotFoundError(f"Backtest not found: {backtest_id}")
        return found

    def read_backtest(self, user: UserRecord, project_id: int, backtest_id: str) -> BacktestView:
        record = self._backtest(self._project(user, project_id), backtest_id)
        with self._lock:
            record.reads += 1
            reads = record.reads
        view = self._gate_view(record.backtest_id, reads, record.engine_progress)
        return self._backtest_view(record, view)

    def _backtest_view(self, record: BacktestRecord, view: View) -> BacktestView:
        result = self.store.load_result(record.backtest_id) if view.finished else None
        if view.finished and result is None:  # shown as finished but the result file is gone
            view = View(False, 0.99)
        return BacktestView(record, view.finished, view.progress, result)

    def peek_backtest(self, record: BacktestRecord) -> BacktestView:
        """The state a list shows: finished once a read could have revealed it (counts no read)."""
        finished = record.phase is JobPhase.DONE and self._gate_released(record.backtest_id, record.reads)
        result = self.store.load_result(record.backtest_id) if finished else None
        progress = 1.0 if finished else record.engine_progress
        return BacktestView(record, finished and result is not None, progress, result)

    def list_backtests(self, user: UserRecord, project_id: int) -> list[BacktestView]:
        project = self._project(user, project_id)
        with self._lock:
            records = [b for b in self._state.backtests if b.project_id == project.project_id]
        return [self.peek_backtest(r) for r in sorted(records, key=lambda b: b.created)]

    def update_backtest(
        self, user: UserRecord, project_id: int, backtest_id: str, *, name: str | None = None,
        note: str | None = None,
    ) -> BacktestRecord:
        record = self._backtest(self._project(user, project_id), backtest_id)
        with self._mutating():
            if name is not None:
                require(bool(name.strip()), "Backtest name cannot be empty")
                record.name = name.strip()
            if note is not None:
                record.note = note
            return record

    def delete_backtest(self, user: UserRecord, project_id: int, backtest_id: str) -> None:
        record = self._backtest(self._project(user, project_id), backtest_id)
        with self._mutating() as state:
            state.backtests = [b for b in state.backtests if b.backtest_id != record.backtest_id]
        if record.phase is JobPhase.DONE:
            self.store.delete_result(record.backtest_id)

    def finished_result(self, user: UserRecord, project_id: int, backtest_id: str) -> dict[str, Any] | None:
        """The full result of a backtest a client has seen finish, else None (charts/orders/logs)."""
        record = self._backtest(self._project(user, project_id), backtest_id)
        if record.phase is not JobPhase.DONE or not self._gate_released(record.backtest_id, record.reads):
            return None
        return self.store.load_result(record.backtest_id)
