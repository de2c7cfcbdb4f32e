"""The only writer of ``state/``: atomic, validated state files under the workspace's locks.

Two locks, both ``flock`` on files in the workspace's ``.qcloop/`` folder (released by the kernel when
a process dies, so a SIGKILL never leaves a workspace locked):

- the **run lock** (``.qcloop/run.lock``), held by ``qcloop run`` for its whole life: a second run in
  the same workspace refuses at once and names the process that holds it;
- the **write lock** (``.qcloop/state.lock``), held briefly around every read-modify-write of a state
  file and the git commit that goes with it, so that ``qcloop approve`` or ``retry`` can change a
  hypothesis while a run is going.

Every write is a compare-and-swap on ``revision``: a writer that read revision 4 may only replace
revision 4. A write that finds another revision raises ``StateConflictError`` (the loop re-reads and
redoes the step, which is safe because every side effect is exactly-once).

A write goes to a temporary file in ``state/``, is flushed and fsynced, replaces the old file with
``os.replace`` (atomic on POSIX), and the folder is fsynced so the rename itself survives a power cut.
What is written passes through ``credentials.redact``: a secret that slipped into an error message or a
stack trace never reaches a state file (which git records).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from orchestrator.credentials import redact
from orchestrator.errors import StateError, WorkspaceError
from orchestrator.models import TRANSITIONS, HypothesisState, utcnow

STATE_DIR = "state"
SCRATCH_DIR = ".qcloop"
RUN_LOCK = "run.lock"
WRITE_LOCK = "state.lock"
_TMP_MARK = ".tmp-"


class StateConflictError(StateError):
    """Another command changed the state file since it was read."""


class WorkspaceBusyError(WorkspaceError):
    """Another ``qcloop run`` holds the workspace."""


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader (or a crash) sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class _FileLock:
    """An exclusive ``flock`` on a file; the file also records who holds it (for the refusal message)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while locked
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        self._handle = handle
        return True

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
        return True

    def write_owner(self, text: str) -> None:
        assert self._handle is not None
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(text)
        self._handle.flush()

    def owner(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None


class Store:
    """Reads and writes ``state/<id>.json`` for one workspace."""

    def __init__(self, workspace: Path, *, write_lock_timeout: float = 30.0) -> None:
        self.workspace = workspace
        self.folder = workspace / STATE_DIR
        self.scratch = workspace / SCRATCH_DIR
        self._run_lock = _FileLock(self.scratch / RUN_LOCK)
        self._write_lock = _FileLock(self.scratch / WRITE_LOCK)
        self._write_depth = 0
        self._write_lock_timeout = write_lock_timeout

    # ---------------------------------------------------------------------------------------- paths

    def path(self, hypothesis_id: str) -> Path:
        return self.folder / f"{hypothesis_id}.json"

    def relpath(self, hypothesis_id: str) -> str:
        return f"{STATE_DIR}/{hypothesis_id}.json"

    def ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json") if not p.name.startswith("."))

    # ---------------------------------------------------------------------------------------- locks

    def acquire_run_lock(self, command: str = "qcloop run") -> None:
        """Hold the workspace for this process; refuse clearly if another run holds it."""
        if self._run_lock.held:
            return
        if not self._run_lock.try_acquire():
            holder = self._run_lock.owner() or "another process"
            raise WorkspaceBusyError(
                f"another qcloop run is already working in {self.workspace} ({holder})",
                hint="wait for it to finish or stop it with Ctrl-C; two runs in one workspace would race",
            )
        started = utcnow().isoformat(timespec="seconds")
        self._run_lock.write_owner(f"pid {os.getpid()}, `{command}`, started {started}")

    def release_run_lock(self) -> None:
        self._run_lock.release()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock (re-entrant within this object) around a read-modify-write and its commit."""
        if self._write_depth == 0 and not self._write_lock.acquire(self._write_lock_timeout):
            raise WorkspaceBusyError(
                f"could not lock {self._write_lock.path} within {self._write_lock_timeout:.0f} s",
                hint="another qcloop command is writing state; try again in a moment",
            )
        self._write_depth += 1
        try:
            yield
        finally:
            self._write_depth -= 1
            if self._write_depth == 0:
                self._write_lock.release()

    # ---------------------------------------------------------------------------------------- read

    def exists(self, hypothesis_id: str) -> bool:
        return self.path(hypothesis_id).is_file()

    def load(self, hypothesis_id: str) -> HypothesisState:
        path = self.path(hypothesis_id)
        if not path.is_file():
            raise StateError(
                f"no state file for {hypothesis_id} ({path})",
                hint="`qcloop status` lists the hypotheses; `qcloop run` creates state for new ones",
            )
        return self._parse(path)

    def load_all(self) -> list[HypothesisState]:
        return [self.load(i) for i in self.ids()]

    @staticmethod
    def _parse(path: Path) -> HypothesisState:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StateError(
                f"{path} is not readable JSON ({type(exc).__name__}: {exc})",
                hint=f"restore it from git (`git checkout -- {path.name}` in state/) or delete it to start over",
            ) from exc
        try:
            return HypothesisState.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "(document)"
            raise StateError(
                f"{path}, field '{where}': {first['msg']}",
                hint="restore the file from git, or run the qcloop version that wrote it",
            ) from exc

    # ---------------------------------------------------------------------------------------- write

    def save(self, state: HypothesisState, *, expected_revision: int | None) -> HypothesisState:
        """Write ``state`` if the file still has ``expected_revision`` (None: the file must not exist).

        Returns the written state (revision + 1, ``updated_at`` now).
        """
        with self.writing():
            path = self.path(state.id)
            on_disk = self._parse(path) if path.is_file() else None
            current = on_disk.revision if on_disk is not None else None
            if current != expected_revision:
                raise StateConflictError(
                    f"{path} changed while qcloop was working on it (expected revision "
                    f"{expected_revision}, found {current})",
                    hint="run the command again; it re-reads the state",
                )
            moved = on_disk is not None and state.stage is not on_disk.stage
            if moved and on_disk is not None and state.stage not in TRANSITIONS[on_disk.stage]:
                raise StateError(
                    f"{state.id}: the transition {on_disk.stage.value} -> {state.stage.value} is not allowed",
                    hint="this is a bug in qcloop; the state file was left as it was",
                )
            written = state.model_copy(update={
                "revision": (expected_revision or 0) + 1, "updated_at": utcnow(),
            })
            HypothesisState.model_validate(written.model_dump())  # a bad state never reaches the disk
            atomic_write_text(path, redact(json.dumps(written.model_dump(mode="json"), indent=2)) + "\n")
            return written

    def clean_temporary_files(self, *artifact_folders: Path) -> list[Path]:
        """Remove temporary files a killed writer left behind (never a complete file) in ``state/`` and
        in ``artifact_folders`` (searched recursively; only the run that holds the run lock writes there).

        Under the write lock: a live writer (``qcloop approve`` while a run starts) holds it while its
        temporary file exists.
        """
        removed = []
        with self.writing():
            leftovers = [*self.folder.glob(f".*{_TMP_MARK}*"),
                         *(tmp for folder in artifact_folders for tmp in folder.rglob(f".*{_TMP_MARK}*"))]
            for tmp in sorted(leftovers):
                with contextlib.suppress(OSError):
                    tmp.unlink()
                    removed.append(tmp)
        return removed
