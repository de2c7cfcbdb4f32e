"""The local platform: the embedded engine runs backtests, a local Jupyter kernel runs notebooks.

Its "remote" objects live in the workspace's scratch folder ``.qcloop/local/`` (ignored by git):

    projects/<project>/main.py ...            the uploaded code (and the notebooks, when a machine runs them)
    backtests/<project>/<backtest-id>.json    {"name": ..., "result": <cloud-shaped result>}
    objectstore/qcloop/results/<nonce>.json   records notebooks save (the Object Store channel)

A backtest runs to completion inside ``create_backtest`` (the engine is in-process) and its result is
written atomically under its deterministic name, so ``find_backtest`` after a crash finds it and the
loop never runs the same backtest twice. Compiling is Python's own ``compile`` of every file, which
finds what QuantConnect's build would reject for Python projects: syntax errors.

Notebooks run automatically through nbclient; with ``manual`` a person runs them in Jupyter: the
notebook is put in the workspace's ``inbox/`` folder, and the inbox channel picks up the saved run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from orchestrator.config import Settings
from orchestrator.errors import QcloopError
from orchestrator.platforms.base import (
    BacktestWindow,
    CompileOutcome,
    NotebookOutcome,
    NotebookPlacement,
    OptimizationEstimate,
    ProjectHandle,
    RemoteBacktest,
    RemoteObjectMissingError,
    RemoteOptimization,
    collect_outcome,
)
from orchestrator.store import atomic_write_text

LOCAL_DIR = Path(".qcloop") / "local"
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def slug(name: str) -> str:
    return _SLUG.sub("-", name).strip("-") or "project"


class LocalPlatform:
    name = "local"
    supports_optimizations = False
    metered = False

    def __init__(self, settings: Settings, *, manual: bool = False, environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.person_runs_notebooks = manual
        self.root = settings.workspace / LOCAL_DIR
        self.environ = dict(environ or {})

    # ------------------------------------------------------------------------------------ projects

    def _project_dir(self, project: ProjectHandle | str) -> Path:
        project_id = project.project_id if isinstance(project, ProjectHandle) else project
        return self.root / "projects" / project_id

    def _handle(self, name: str) -> ProjectHandle:
        # The URL is workspace-relative: it is recorded in committed state, which must not hold paths of
        # one machine.
        return ProjectHandle(name=name, project_id=slug(name), url=(LOCAL_DIR / "projects" / slug(name)).as_posix())

    def find_project(self, name: str) -> ProjectHandle | None:
        return self._handle(name) if self._project_dir(slug(name)).is_dir() else None

    def ensure_project(self, name: str) -> ProjectHandle:
        self._project_dir(slug(name)).mkdir(parents=True, exist_ok=True)
        return self._handle(name)

    def put_files(self, project: ProjectHandle, files: Mapping[str, str]) -> None:
        for name, text in files.items():
            atomic_write_text(self._project_dir(project) / name, text)

    def compile(self, project: ProjectHandle) -> CompileOutcome:
        folder = self._project_dir(project)
        logs = []
        for path in sorted(folder.rglob("*.py")):
            try:
                compile(path.read_text(encoding="utf-8"), str(path.relative_to(folder)), "exec")
            except SyntaxError as exc:
                logs.append(f"{path.relative_to(folder)}:{exc.lineno}: {exc.msg}")
                if exc.text:
                    logs.append(f"    {exc.text.rstrip()}")
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*.py")))).hexdigest()
        if logs:
            return CompileOutcome(ok=False, compile_id=None, logs=["Build Error", *logs])
        return CompileOutcome(ok=True, compile_id=f"local-{digest[:16]}", logs=["Build Success"])

    # ------------------------------------------------------------------------------------ backtests

    def _backtest_dir(self, project: ProjectHandle) -> Path:
        return self.root / "backtests" / project.project_id

    @staticmethod
    def _backtest_id(name: str) -> str:
        # Deterministic per name: the same name is the same backtest (the local platform never keeps two).
        return hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]

    def _remote(self, record: Mapping[str, Any]) -> RemoteBacktest:
        result = record["result"]
        return RemoteBacktest(
            backtest_id=record["backtestId"], name=record["name"], completed=True, progress=1.0,
            error=result.get("error") or None, stacktrace=result.get("stacktrace") or None, result=result,
        )

    def find_backtest(self, project: ProjectHandle, name: str) -> RemoteBacktest | None:
        path = self._backtest_dir(project) / f"{self._backtest_id(name)}.json"
        if not path.is_file():
            return None
        return self._remote(json.loads(path.read_text(encoding="utf-8")))

    def create_backtest(
        self, project: ProjectHandle, *, compile_id: str | None, name: str, parameters: Mapping[str, str],
        window: BacktestWindow | None,
    ) -> RemoteBacktest:
        from orchestrator.engine import run_backtest

        backtest_id = self._backtest_id(name)
        try:
            ran = run_backtest(
                self._project_dir(project) / "main.py", data_folder=self.settings.data_folder,
                parameters=dict(parameters), start=window.start if window else None,
                end=window.end if window else None,
            )
            # The engine's data warnings (a ticker without data in the window ...) also stand first in
            # `logs`; kept apart so that the loop can show them with the step (evidence.backtest_warnings).
            result = {**ran.to_cloud(), "warnings": list(ran.warnings)}
        except QcloopError as exc:  # the algorithm failed to load or run: a result with the error, like LEAN's
            result = {"status": "Runtime Error", "completed": True, "error": str(exc),
                      "stacktrace": getattr(exc, "stacktrace", None) or str(exc)}
        record = {"backtestId": backtest_id, "name": name, "parameters": dict(parameters),
                  "result": {**result, "backtestId": backtest_id, "name": name}}
        atomic_write_text(self._backtest_dir(project) / f"{backtest_id}.json", json.dumps(record) + "\n")
        return self._remote(record)

    def read_backtest(self, project: ProjectHandle, backtest_id: str) -> RemoteBacktest:
        path = self._backtest_dir(project) / f"{backtest_id}.json"
        if not path.is_file():
            raise RemoteObjectMissingError(
                f"the result of backtest {backtest_id} is not in {path.parent}: the local platform keeps its "
                f"results in {LOCAL_DIR}, outside git (a fresh clone, or the folder was removed)",
                hint="`qcloop retry` runs it again as a new attempt")
        return self._remote(json.loads(path.read_text(encoding="utf-8")))

    # ------------------------------------------------------------------------------------ optimizations

    def estimate_optimization(self, *args: Any, **kwargs: Any) -> OptimizationEstimate:
        raise NotImplementedError("the local platform has no paid optimizations; the loop uses the notebook sweep")

    def find_optimization(self, project: ProjectHandle, name: str) -> RemoteOptimization | None:
        return None

    def create_optimization(self, *args: Any, **kwargs: Any) -> RemoteOptimization:
        raise NotImplementedError("the local platform has no paid optimizations")

    def read_optimization(self, project: ProjectHandle, optimization_id: str) -> RemoteOptimization:
        raise NotImplementedError("the local platform has no paid optimizations")

    # ------------------------------------------------------------------------------------ notebooks

    @property
    def object_store(self) -> Path:
        return self.root / "objectstore"

    def _notebook_path(self, project: ProjectHandle, file_name: str) -> Path:
        if self.person_runs_notebooks:
            return self.settings.inbox / file_name
        return self._project_dir(project) / file_name

    def put_notebook(self, project: ProjectHandle, file_name: str, notebook_json: str) -> NotebookPlacement:
        path = self._notebook_path(project, file_name)
        atomic_write_text(path, notebook_json)
        if not self.person_runs_notebooks:
            return NotebookPlacement(file_name=file_name)
        from orchestrator.notebooks.execute import DATA_FOLDER_ENV, ENGINE_SHIM, OBJECT_STORE_DIR_ENV

        shown = path.relative_to(self.settings.workspace) if path.is_relative_to(self.settings.workspace) else path
        command = (f"{DATA_FOLDER_ENV}={self.settings.data_folder} {OBJECT_STORE_DIR_ENV}={self.object_store} "
                   f"PYTHONPATH={ENGINE_SHIM} jupyter lab {shown}")
        return NotebookPlacement(file_name=file_name, url=str(path), instructions=[
            f"Open {shown} in Jupyter, in the workspace {self.settings.workspace}, with qcloop's environment:",
            f"  {command}",
            "Run All (Run > Run All Cells), wait for the last cell's QCLOOP-RESULT line, then save the notebook.",
            "qcloop picks the saved notebook up from the inbox by itself; do not rename it.",
        ])

    def collect_notebook(
        self, project: ProjectHandle, file_name: str, provenance: Mapping[str, Any],
    ) -> NotebookOutcome:
        from orchestrator.notebooks.classify import read_notebook
        from orchestrator.notebooks.collect import (
            Channel,
            InboxChannel,
            LocalExecutionChannel,
            ObjectStoreChannel,
        )
        from orchestrator.notebooks.execute import OBJECT_STORE_DIR_ENV, execute_notebook

        store = ObjectStoreChannel(read=self._read_object)
        channels: list[Channel]
        if self.person_runs_notebooks:
            channels = [InboxChannel(self.settings.inbox), store]
        else:
            path = self._notebook_path(project, file_name)
            if not path.is_file():
                return NotebookOutcome(classification="NOT_RUN", detail=(
                    f"{path} is gone: the local platform keeps what it runs in {LOCAL_DIR}, outside git "
                    "(a fresh clone, or the folder was removed)"))
            notebook = read_notebook(path.read_text(encoding="utf-8"))
            for cell in notebook.cells:  # .ipynb files store multi-line sources as lists; kernels want text
                if isinstance(cell.get("source"), list):
                    cell["source"] = "".join(cell["source"])
            run = partial(execute_notebook, data_folder=self.settings.data_folder,
                          timeout=self.settings.notebooks.execution_timeout_seconds,
                          kernel_name=self.settings.notebooks.kernel_name,
                          extra_env={OBJECT_STORE_DIR_ENV: str(self.object_store)})
            channels = [LocalExecutionChannel(notebook, run), store]
        return collect_outcome(channels, file_name, provenance, where="Jupyter", inbox=self.settings.inbox)

    def _read_object(self, key: str) -> str | None:
        path = self.object_store / key
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def close(self) -> None:
        """Nothing to release: kernels are started and stopped per notebook."""
