"""The emulator's only door to the embedded engine (``docs/architecture.md`` §1).

A job hands the engine a folder holding the project's files (the compile's snapshot), the data folder,
the parameters and optional date/cash overrides, and gets back the engine's ``to_cloud()`` dict: the
exact shape of a cloud backtest result. The runner is injectable so that a backend can be pointed at
another engine build; the default is ``orchestrator.engine.run_backtest``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import traceback
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

Progress = Callable[[float], None]


@dataclass(frozen=True)
class RunRequest:
    project_dir: Path
    data_folder: Path
    parameters: dict[str, str] = field(default_factory=dict)
    start: dt.date | None = None
    end: dt.date | None = None
    cash: float | None = None


EngineRunner = Callable[[RunRequest, Progress], dict[str, Any]]


def embedded_engine(request: RunRequest, progress: Progress) -> dict[str, Any]:
    """Run the embedded engine (imported lazily: ``qcloop --help`` must not load pandas)."""
    from orchestrator.engine import run_backtest

    result = run_backtest(
        request.project_dir, data_folder=request.data_folder, parameters=dict(request.parameters),
        start=request.start, end=request.end, cash=request.cash, progress=progress,
    )
    cloud: dict[str, Any] = result.to_cloud()
    return cloud


def runtime_error(message: str, stacktrace: str) -> dict[str, Any]:
    """A result in the cloud shape for a run that failed before the engine could produce one."""
    return {
        "status": "Runtime Error", "completed": True, "progress": 1.0, "error": message,
        "stacktrace": stacktrace, "hasInitializeError": True, "statistics": {}, "runtimeStatistics": {},
        "totalPerformance": None, "charts": {}, "orders": [], "logs": [], "rollingWindow": {},
    }


def write_project(files: Mapping[str, str], folder: Path) -> None:
    """Materialize a project's files (names may contain folders) under ``folder``."""
    for name, content in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            continue  # the backend refuses such names; never write outside the folder
        target = folder.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def run_project(
    runner: EngineRunner, files: Mapping[str, str], request: RunRequest, progress: Progress,
) -> dict[str, Any]:
    """Write ``files`` to a temporary project folder, run the engine there, never raise.

    The engine reports an algorithm's own failures inside its result (status ``Runtime Error``);
    anything it raises instead (an unsupported API, a crash) becomes the same shape here, because a
    cloud backtest never makes the API call fail.
    """
    with tempfile.TemporaryDirectory(prefix="qcloop-emulator-") as tmp:
        folder = Path(tmp)
        write_project(files, folder)
        run = RunRequest(folder, request.data_folder, request.parameters, request.start, request.end, request.cash)
        try:
            return runner(run, progress)
        except Exception as exc:
            return runtime_error(f"{type(exc).__name__}: {exc}", traceback.format_exc())


def latest_daily_date(data_folder: Path) -> dt.date | None:
    """The newest date of any US equity daily file in a LEAN data folder (None when there is none).

    LEAN daily lines start with ``yyyyMMdd 00:00``; files are sorted by date, so the last line counts.
    """
    newest: dt.date | None = None
    for archive in sorted((data_folder / "equity" / "usa" / "daily").glob("*.zip")):
        try:
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    lines = zipped.read(member).decode("utf-8", "replace").strip().splitlines()
                    if not lines:
                        continue
                    day = dt.datetime.strptime(lines[-1][:8], "%Y%m%d").date()
                    newest = day if newest is None or day > newest else newest
        except (OSError, zipfile.BadZipFile, ValueError):
            continue
    return newest


def daily_close(data_folder: Path, ticker: str, on_or_before: dt.date) -> float | None:
    """The raw daily close of ``ticker`` on the last trading day up to ``on_or_before`` (LEAN stores
    equity prices times 10000 in daily files)."""
    archive = data_folder / "equity" / "usa" / "daily" / f"{ticker.lower()}.zip"
    if not archive.is_file():
        return None
    try:
        with zipfile.ZipFile(archive) as zipped:
            text = zipped.read(zipped.namelist()[0]).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile, IndexError):
        return None
    close: float | None = None
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) < 5:
            continue
        try:
            day = dt.datetime.strptime(fields[0][:8], "%Y%m%d").date()
        except ValueError:
            continue
        if day > on_or_before:
            break
        close = float(fields[4]) / 10000.0
    return close
