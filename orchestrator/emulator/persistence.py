"""Where the emulator keeps its state: in memory, or in a state folder that survives restarts.

Layout of a state folder::

    state.json              users, organizations, projects and files, compiles, job records
    results/<id>.json       one finished backtest's full result (charts, orders, ...); big, written once
    objects/<sha256>        the bytes of one Object Store entry
    credentials.json        only when the emulator generated its credentials (mode 0600)

Every file is written atomically (a temporary file in the same folder, then ``os.replace``), so a
crash or a kill leaves the previous version intact, never half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestrator.emulator.state import STATE_SCHEMA_VERSION, EmulatorState
from orchestrator.errors import ConfigError

STATE_FILE = "state.json"


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, nothing between."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StateStore:
    """Loads and saves the emulator's state; with ``folder=None`` everything stays in memory."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._results: dict[str, dict[str, Any]] = {}
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    # -- the main state -------------------------------------------------------------------------

    def load(self) -> EmulatorState:
        if self.folder is None or not (self.folder / STATE_FILE).is_file():
            return EmulatorState()
        path = self.folder / STATE_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the emulator state: {exc}", file=path,
                              hint="restore the file from a backup or start with an empty --state-dir") from exc
        version = raw.get("schema_version") if isinstance(raw, dict) else None
        if version != STATE_SCHEMA_VERSION:
            raise ConfigError(
                f"schema_version {version!r} is not the version this emulator writes ({STATE_SCHEMA_VERSION})",
                file=path, hint="start the emulator with a new --state-dir",
            )
        try:
            return EmulatorState.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(f"invalid emulator state: {exc.errors()[0]['msg']}", file=path,
                              hint="start the emulator with a new --state-dir") from exc

    def save(self, state: EmulatorState) -> None:
        if self.folder is None:
            return
        data = state.model_dump_json(indent=1).encode("utf-8")
        with self._lock:
            write_atomic(self.folder / STATE_FILE, data)

    # -- backtest results -----------------------------------------------------------------------

    def save_result(self, result_id: str, result: dict[str, Any]) -> None:
        if self.folder is None:
            self._results[result_id] = result
            return
        write_atomic(self.folder / "results" / f"{result_id}.json", json.dumps(result).encode("utf-8"))

    def load_result(self, result_id: str) -> dict[str, Any] | None:
        if self.folder is None:
            return self._results.get(result_id)
        path = self.folder / "results" / f"{result_id}.json"
        if not path.is_file():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def delete_result(self, result_id: str) -> None:
        self._results.pop(result_id, None)
        if self.folder is not None:
            (self.folder / "results" / f"{result_id}.json").unlink(missing_ok=True)

    # -- Object Store bytes ---------------------------------------------------------------------

    def save_blob(self, name: str, data: bytes) -> None:
        if self.folder is None:
            self._blobs[name] = data
            return
        write_atomic(self.folder / "objects" / name, data)

    def load_blob(self, name: str) -> bytes:
        if self.folder is None:
            return self._blobs[name]
        return (self.folder / "objects" / name).read_bytes()

    def delete_blob(self, name: str) -> None:
        self._blobs.pop(name, None)
        if self.folder is not None:
            (self.folder / "objects" / name).unlink(missing_ok=True)

    # -- generated credentials ------------------------------------------------------------------

    def load_credentials(self) -> tuple[int, str] | None:
        """The user id and token the emulator generated on an earlier start, if it did."""
        if self.folder is None:
            return None
        path = self.folder / "credentials.json"
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return int(raw["user-id"]), str(raw["api-token"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError("unreadable generated credentials", file=path,
                              hint="delete the file to generate new credentials") from exc

    def save_credentials(self, user_id: int, token: str) -> Path | None:
        if self.folder is None:
            return None
        path = self.folder / "credentials.json"
        write_atomic(path, json.dumps({"user-id": str(user_id), "api-token": token}).encode("utf-8"), mode=0o600)
        return path
