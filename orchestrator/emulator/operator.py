"""The simulated person: opens a project's notebook in "Research" and clicks Run All.

QuantConnect's API cannot execute notebooks; a person does, in the Research environment, and the
result comes back through the project's files and the Object Store. The emulator's operator does the
same against the emulator's state:

1. reads the notebook from the project's files (``research.ipynb`` unless told otherwise);
2. executes it top to bottom in a real Jupyter kernel, with ``QuantBook`` reading the emulator's data
   folder (``QCLOOP_DATA_FOLDER``) and the organization's Object Store available as a folder
   (``QCLOOP_OBJECT_STORE_DIR``: each key a file under it, which ``qb.object_store`` reads and writes);
3. copies what the kernel left in that folder back into the Object Store (new, changed and deleted
   keys), and saves the executed notebook back into the project's files.

Modes reproduce what people and Research do in the field:

============ =====================================================================================
``kept``     outputs kept: the notebook as Research saves it after a clean Run All
``stripped`` executed, then saved with execution counts but empty outputs (the Research quirk seen
             in the field: ``files/read`` returns a run notebook without outputs)
``stale``    nothing runs and nothing is saved: the project keeps its old copy (the person forgot)
``raises``   a cell raises (``fail_cell``, default the last code cell): execution stops there, the
             error is saved in that cell's outputs, later cells stay unexecuted
============ =====================================================================================
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from orchestrator.emulator.backend import EmulatorBackend
from orchestrator.emulator.errors import InvalidArgumentError, NotFoundError, ServiceError, UnsupportedRequestError
from orchestrator.emulator.state import UserRecord
from orchestrator.errors import NotebookError

DEFAULT_NOTEBOOK = "research.ipynb"
INJECTED_ERROR = "RuntimeError"
INJECTED_MESSAGE = "simulated failure: the emulator's operator made this cell raise (mode 'raises')"


class OperatorMode(StrEnum):
    KEPT = "kept"
    STRIPPED = "stripped"
    STALE = "stale"
    RAISES = "raises"


@dataclass
class OperatorReport:
    project_id: int
    file: str
    mode: str
    executed: bool
    saved: bool
    failed_cell: int | None = None
    error: str | None = None
    objects_written: list[str] = field(default_factory=list)
    objects_deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _load_notebook(text: str, name: str) -> Any:
    from orchestrator.errors import MalformedNotebookError
    from orchestrator.notebooks.classify import read_notebook

    try:
        return read_notebook(text, source=name)
    except MalformedNotebookError as exc:
        raise InvalidArgumentError(f"{name} is not a readable notebook: {exc}") from exc


def _code_cells(notebook: Any) -> list[int]:
    return [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]


def _export_objects(objects: Mapping[str, bytes], folder: Path) -> None:
    for key, data in objects.items():
        target = folder.joinpath(*key.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _import_objects(folder: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return found


def execute(notebook: Any, *, data_folder: Path, object_store: Path, timeout: float,
            kernel_name: str) -> tuple[Any, str | None]:
    """Run every cell with the notebooks area's executor (the one executor of qcloop); return the
    executed notebook and '<ExceptionName>: <value>' of the cell that raised, or None."""
    from orchestrator.notebooks.execute import OBJECT_STORE_DIR_ENV, execute_notebook

    executed = execute_notebook(notebook, data_folder=data_folder, timeout=timeout, kernel_name=kernel_name,
                                extra_env={OBJECT_STORE_DIR_ENV: str(object_store)})
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return executed, f"{output.get('ename')}: {output.get('evalue')}"
    return executed, None


def _inject_failure(notebook: Any, code: list[int], fail_cell: int | None, file: str) -> tuple[int, str]:
    """Make one code cell raise; returns its index and original source (restored before saving)."""
    failing = code[-1] if fail_cell is None else fail_cell
    if failing not in code:
        raise InvalidArgumentError(f"fail_cell {failing} is not a code cell of {file} (code cells: {code})")
    original = str(notebook.cells[failing].source)
    notebook.cells[failing].source = f"raise {INJECTED_ERROR}({INJECTED_MESSAGE!r})"
    return failing, original


def _run_with_object_store(
    backend: EmulatorBackend, organization_id: str, notebook: Any, *, timeout: float, kernel_name: str,
) -> tuple[Any, str | None, dict[str, bytes], dict[str, bytes]]:
    """Execute with the organization's objects in a folder; returns the executed notebook, the error,
    and the objects before and after."""
    data_folder = backend.data_folder
    if data_folder is None:
        raise UnsupportedRequestError("The emulator has no data folder for QuantBook: start it with --data-folder")
    workdir = Path(tempfile.mkdtemp(prefix="qcloop-operator-"))
    try:
        store = workdir / "object-store"
        store.mkdir()
        before = backend.organization_objects(organization_id)
        _export_objects(before, store)
        executed, error = execute(notebook, data_folder=data_folder, object_store=store, timeout=timeout,
                                  kernel_name=kernel_name)
        return executed, error, before, _import_objects(store)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _sync_objects(backend: EmulatorBackend, owner: UserRecord, organization_id: str, *,
                  before: Mapping[str, bytes], after: Mapping[str, bytes], report: OperatorReport) -> None:
    for key, data in after.items():
        if before.get(key) != data:
            backend.set_object(owner, organization_id, key, data)
            report.objects_written.append(key)
    for key in before:
        if key not in after:
            backend.delete_object(owner, organization_id, key)
            report.objects_deleted.append(key)


def run_notebook(
    backend: EmulatorBackend, project: str | int, file: str = DEFAULT_NOTEBOOK, *,
    mode: OperatorMode | str = OperatorMode.KEPT, fail_cell: int | None = None, timeout: float = 600.0,
    kernel_name: str = "python3", as_user: UserRecord | None = None,
) -> OperatorReport:
    """Do what a person clicking Run All does (module docstring); returns what happened."""
    from orchestrator.notebooks.render import notebook_text

    chosen = OperatorMode(mode)
    record = backend.find_project(str(project))
    if as_user is not None and record.organization_id != as_user.organization_id:
        raise NotFoundError(f"No project with id or name '{project}'")
    notebook_file = record.file(file)
    if notebook_file is None:
        raise NotFoundError(f"Project {record.project_id} has no file '{file}'")
    report = OperatorReport(record.project_id, file, chosen.value, executed=False, saved=False)
    if chosen is OperatorMode.STALE:
        return report
    if record.language != "Py":
        raise UnsupportedRequestError("The emulator's operator runs Python notebooks only")
    notebook = _load_notebook(notebook_file.content, file)
    code = _code_cells(notebook)
    if not code:
        raise InvalidArgumentError(f"{file} has no code cells to run")
    injected = _inject_failure(notebook, code, fail_cell, file) if chosen is OperatorMode.RAISES else None
    started = time.monotonic()
    executed, error, before, after = _run_with_object_store(
        backend, record.organization_id, notebook, timeout=timeout, kernel_name=kernel_name)
    report.executed = True
    report.seconds = round(time.monotonic() - started, 3)
    if injected is not None:
        executed.cells[injected[0]].source = injected[1]  # the person's notebook, not the injected line
    if error is not None:
        report.error = error
        report.failed_cell = next((i for i in code if _has_error(executed.cells[i])), None)
    if chosen is OperatorMode.STRIPPED:
        for index in code:
            executed.cells[index].outputs = []
    _sync_objects(backend, backend.owner_of(record), record.organization_id, before=before, after=after,
                  report=report)
    backend.put_file(record.project_id, file, notebook_text(executed))
    report.saved = True
    return report


def _has_error(cell: Any) -> bool:
    return any(output.get("output_type") == "error" for output in cell.get("outputs", []))


def operator_hook(backend: EmulatorBackend) -> Any:
    """The server's ``/emulator/operator/run-notebook`` handler: runs the operator for a user."""

    def hook(user: UserRecord, fields: Mapping[str, Any]) -> dict[str, Any]:
        project = fields.get("project") or fields.get("projectId")
        if project in (None, ""):
            raise InvalidArgumentError("project is required: a project id or name")
        fail_cell = fields.get("failCell")
        try:
            report = run_notebook(
                backend, str(project), str(fields.get("file") or DEFAULT_NOTEBOOK),
                mode=str(fields.get("mode") or OperatorMode.KEPT.value),
                fail_cell=None if fail_cell in (None, "") else int(fail_cell),
                timeout=float(fields.get("timeout") or 600), as_user=user,
            )
        except ValueError as exc:
            raise InvalidArgumentError(str(exc)) from exc
        except NotebookError as exc:
            raise ServiceError(f"The notebook could not run: {exc}") from exc
        return {"report": report.to_json()}

    return hook
