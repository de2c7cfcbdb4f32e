"""The emulator backend's foundation: configuration, state, locking, jobs, users, shared lookups.

``EmulatorBackend`` (``backend.py``) is assembled from one mixin per area of the service
(``projects.py``, ``backtests.py``, ``optimizations.py``, ``object_store.py``, ``live.py``), all built
on ``BackendCore``: the state (``state.py``) with its store (``persistence.py``), one re-entrant lock,
the pool of background workers that run the engine, and the gates (``timing.py``) that decide what a
read shows. Nothing here knows about HTTP; failures are ``errors.ServiceError`` subclasses.

Thread safety: the lock guards the state. Engine runs and the waits of a gate happen outside it, so
a long backtest never blocks other requests.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestrator.emulator.errors import InvalidArgumentError, NotFoundError, UnsupportedRequestError, require
from orchestrator.emulator.persistence import StateStore
from orchestrator.emulator.runner import EngineRunner, embedded_engine
from orchestrator.emulator.state import (
    CompileRecord,
    CompileState,
    EmulatorState,
    OrganizationRecord,
    ProjectRecord,
    UserRecord,
)
from orchestrator.emulator.timing import Gate, Timing, TimingKind, View

COMPLETED = "Completed."


def new_hex() -> str:
    return secrets.token_hex(16)


def as_parameter(value: Any) -> str:
    """Parameters reach the algorithm as strings (``get_parameter`` returns strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


class BackendCore:
    """State, lock, workers and gates, plus the lookups every area needs."""

    def __init__(
        self,
        *,
        data_folder: Path | None = None,
        state_dir: Path | None = None,
        timing: Timing | None = None,
        compile_timing: Timing | None = None,
        runner: EngineRunner = embedded_engine,
        workers: int = 2,
        live_replay_days: int = 90,
        extra_modules: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        resume_jobs: bool = True,
    ) -> None:
        self.data_folder = data_folder
        self.timing = timing or Timing.real()
        self.compile_timing = compile_timing or Timing.immediate()
        self.runner = runner
        self.live_replay_days = live_replay_days
        self.extra_modules = tuple(extra_modules)
        self.clock = clock
        self.wall_clock = wall_clock
        self.store = StateStore(state_dir)
        self._state: EmulatorState = self.store.load()
        self._tokens: dict[int, str] = {}
        self._lock = threading.RLock()
        self._done: dict[str, threading.Event] = {}
        self._gates: dict[str, Gate] = {}
        self._aborts: dict[str, threading.Event] = {}
        self._executor = ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="qcloop-emulator")
        self._closed = False
        if resume_jobs:  # off for a short visit to a stopped emulator's state (run-notebook)
            self._after_load()

    def _after_load(self) -> None:
        """Called once the state is loaded (``EmulatorBackend`` resumes unfinished jobs here)."""

    # ------------------------------------------------------------------------------------------
    # lifecycle and jobs

    def close(self, *, wait: bool = False) -> None:
        """Stop: queued jobs are cancelled, a running engine call ends in its thread (``wait=True``
        waits for it) without saving anything more, so another backend may take the state dir over."""
        with self._lock:  # a job saves under the lock, so once this returns nothing more is written
            self._closed = True
        for event in list(self._aborts.values()):
            event.set()
        self._executor.shutdown(wait=wait, cancel_futures=True)
        # Jobs cancelled in the queue never finish: release readers waiting on them (a restart with
        # the same state dir runs them again).
        for event in list(self._done.values()):
            event.set()

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Wait until every started job has finished (tests and clean shutdowns)."""
        deadline = time.monotonic() + timeout
        return all(event.wait(max(deadline - time.monotonic(), 0.0)) for event in list(self._done.values()))

    @contextmanager
    def _mutating(self) -> Iterator[EmulatorState]:
        with self._lock:
            yield self._state
            if not self._closed:
                self.store.save(self._state)

    def _save_result(self, job_id: str, result: dict[str, Any]) -> bool:
        """Keep a finished job's full result; False (and nothing written) once the backend is closed."""
        with self._lock:
            if self._closed:
                return False
            self.store.save_result(job_id, result)
            return True

    def _submit(self, job_id: str, work: Callable[[], None], timing: Timing) -> None:
        done = threading.Event()
        self._done[job_id] = done
        self._gates[job_id] = Gate(timing, self.clock, done)
        if self._closed:  # it will never run: no reader may wait for it (close() released the others)
            done.set()
            return

        def run() -> None:
            try:
                work()
            finally:
                done.set()

        self._executor.submit(run)

    def _gate_view(self, job_id: str, reads: int, engine_progress: float) -> View:
        gate = self._gates.get(job_id)
        if gate is None:  # finished before this process started: nothing left to reveal
            return View(True, 1.0)
        return gate.observe(reads, engine_progress)

    def _gate_released(self, job_id: str, reads: int) -> bool:
        """Whether a job's finished state is visible, without waiting and without counting a read."""
        gate = self._gates.get(job_id)
        if gate is None:
            return True
        if not gate.done.is_set():
            return False
        if gate.timing.kind is TimingKind.POLLS:
            return reads >= gate.timing.value
        if gate.timing.kind is TimingKind.SECONDS:
            return self.clock() - gate.created >= gate.timing.value
        return True

    # ------------------------------------------------------------------------------------------
    # users and organizations

    def register_user(
        self, user_id: int | None = None, token: str | None = None, *, name: str = "Emulator User",
        email: str = "user@emulator.invalid",
    ) -> tuple[UserRecord, str]:
        """Add a user with an organization of their own (or reuse the user of that id).

        Returns the user and the token; a token that is not given is generated. Tokens live only in
        memory: ``state.json`` never holds one.
        """
        with self._mutating() as state:
            user = next((u for u in state.users if u.user_id == user_id), None) if user_id else None
            if user is None:
                uid = user_id or (max((u.user_id for u in state.users), default=100_000) + 1)
                org_id = new_hex()
                state.organizations.append(OrganizationRecord(
                    organization_id=org_id, name=f"{name}'s Organization", owner_user_id=uid))
                user = UserRecord(user_id=uid, name=name, email=email, organization_id=org_id)
                state.users.append(user)
            actual = token or secrets.token_hex(32)
            self._tokens[user.user_id] = actual
            return user, actual

    def token_of(self, user_id: int) -> str | None:
        return self._tokens.get(user_id)

    def user(self, user_id: int) -> UserRecord:
        with self._lock:
            found = next((u for u in self._state.users if u.user_id == user_id), None)
        if found is None:
            raise NotFoundError("UserID not valid")
        return found

    def organization(self, user: UserRecord, organization_id: str | None = None) -> OrganizationRecord:
        wanted = organization_id or user.organization_id
        with self._lock:
            found = next((o for o in self._state.organizations if o.organization_id == wanted), None)
        if found is None or found.organization_id != user.organization_id:
            raise NotFoundError("Organization not found")
        return found

    def members(self, organization: OrganizationRecord) -> list[UserRecord]:
        with self._lock:
            return [u for u in self._state.users if u.organization_id == organization.organization_id]

    def owner_of(self, project: ProjectRecord) -> UserRecord:
        with self._lock:
            owner = next((u for u in self._state.users if u.user_id == project.owner_id), None)
        if owner is None:
            raise NotFoundError("UserID not valid")
        return owner

    # ------------------------------------------------------------------------------------------
    # lookups shared by the areas

    def _project(self, user: UserRecord, project_id: int | None) -> ProjectRecord:
        require(project_id is not None, "Project id is required")
        with self._lock:
            found = next((p for p in self._state.projects if p.project_id == project_id), None)
        if found is None or found.organization_id != user.organization_id:
            raise NotFoundError("Project not found")
        return found

    def project(self, user: UserRecord, project_id: int) -> ProjectRecord:
        return self._project(user, project_id)

    def _require_data(self) -> Path:
        if self.data_folder is None:
            raise UnsupportedRequestError(
                "The qcloop emulator was started without a data folder, so it cannot run backtests "
                "(start it with --data-folder)")
        return self.data_folder

    def _compile(self, project: ProjectRecord, compile_id: str | None) -> CompileRecord:
        require(bool(compile_id and str(compile_id).strip()), "Compile id is required")
        with self._lock:
            found = next((c for c in self._state.compiles if c.compile_id == compile_id), None)
        if found is None or found.project_id != project.project_id:
            raise NotFoundError(f"Compile not found: {compile_id}")
        return found

    def _buildable(self, project: ProjectRecord, compile_id: str | None) -> CompileRecord:
        record = self._compile(project, compile_id)
        if record.outcome is not CompileState.BUILD_SUCCESS:
            raise InvalidArgumentError(f"Compile {record.compile_id} did not succeed: fix the build errors first")
        return record
