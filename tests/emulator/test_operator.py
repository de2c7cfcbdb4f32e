"""The simulated person: Run All in a real kernel, saved back in each of the field's modes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest

from orchestrator.emulator import EmulatorBackend, EmulatorServer, Timing
from orchestrator.emulator.errors import InvalidArgumentError, NotFoundError
from orchestrator.emulator.operator import INJECTED_MESSAGE, OperatorMode, run_notebook
from orchestrator.emulator.state import UserRecord
from tests.conftest import CliResult
from tests.emulator.helpers import TOKEN, USER_ID

# Plain Python, so that these tests exercise the operator and the kernel, not the engine: the
# notebook reads the Object Store folder the operator hands the kernel, writes a result, deletes a key.
CELLS = [
    "import os, pathlib\nstore = pathlib.Path(os.environ['QCLOOP_OBJECT_STORE_DIR'])\n"
    "data = pathlib.Path(os.environ['QCLOOP_DATA_FOLDER'])",
    "seed = (store / 'inputs' / 'seed.txt').read_text()\nprint('seed', seed)",
    "(store / 'qcloop' / 'results').mkdir(parents=True, exist_ok=True)\n"
    "(store / 'qcloop' / 'results' / 'n-1.json').write_text('{\"nonce\": \"n-1\", \"seed\": ' + seed + '}')\n"
    "(store / 'scratch.txt').unlink()\nprint('saved')",
]


def notebook_text() -> str:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# sweep"), *(nbformat.v4.new_code_cell(c) for c in CELLS)]
    return nbformat.writes(notebook)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[EmulatorBackend, UserRecord, int]]:
    data = tmp_path / "data"
    data.mkdir()
    backend = EmulatorBackend(data_folder=data, timing=Timing.immediate())
    user, _ = backend.register_user(USER_ID, TOKEN)
    project = backend.create_project(user, "Research", "Py")
    backend.create_file(user, project.project_id, "sweep.ipynb", notebook_text())
    backend.set_object(user, user.organization_id, "inputs/seed.txt", b"42")
    backend.set_object(user, user.organization_id, "scratch.txt", b"temporary")
    yield backend, user, project.project_id
    backend.close()


def saved(backend: EmulatorBackend, user: UserRecord, project_id: int) -> nbformat.NotebookNode:
    return nbformat.reads(backend.read_files(user, project_id, "sweep.ipynb")[0].content, as_version=4)


@pytest.mark.kernel
def test_kept_runs_all_cells_saves_outputs_and_syncs_the_object_store(world: tuple[EmulatorBackend, UserRecord,
                                                                                   int]) -> None:
    backend, user, project_id = world
    report = run_notebook(backend, project_id, "sweep.ipynb", mode=OperatorMode.KEPT, timeout=60)
    assert (report.executed, report.saved, report.error) == (True, True, None)
    assert report.objects_written == ["qcloop/results/n-1.json"] and report.objects_deleted == ["scratch.txt"]
    result = backend.object_bytes(user.organization_id, "qcloop/results/n-1.json")
    assert json.loads(result or b"") == {"nonce": "n-1", "seed": 42}
    notebook = saved(backend, user, project_id)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3]
    assert code[1].outputs[0]["text"] == "seed 42\n"
    assert [c.source for c in code] == CELLS


@pytest.mark.kernel
def test_stripped_keeps_execution_counts_but_no_outputs(world: tuple[EmulatorBackend, UserRecord, int]) -> None:
    backend, user, project_id = world
    report = run_notebook(backend, "Research", "sweep.ipynb", mode="stripped", timeout=60)
    assert report.saved and report.objects_written == ["qcloop/results/n-1.json"]
    code = [c for c in saved(backend, user, project_id).cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3]
    assert [c.outputs for c in code] == [[], [], []]


@pytest.mark.kernel
def test_raises_stops_at_the_failing_cell_and_saves_the_error(world: tuple[EmulatorBackend, UserRecord,
                                                                           int]) -> None:
    backend, user, project_id = world
    report = run_notebook(backend, project_id, "sweep.ipynb", mode="raises", fail_cell=2, timeout=60)
    assert report.failed_cell == 2 and report.error == f"RuntimeError: {INJECTED_MESSAGE}"
    assert report.objects_written == [] and report.objects_deleted == []  # the writing cell never ran
    cells = saved(backend, user, project_id).cells
    assert cells[2].source == CELLS[1]  # the person's source, not the injected line
    assert cells[2].outputs[-1]["output_type"] == "error" and cells[2].outputs[-1]["ename"] == "RuntimeError"
    assert cells[3].execution_count is None and cells[3].outputs == []


def test_stale_changes_nothing(world: tuple[EmulatorBackend, UserRecord, int]) -> None:
    backend, user, project_id = world
    before = backend.read_files(user, project_id, "sweep.ipynb")[0].content
    report = run_notebook(backend, project_id, "sweep.ipynb", mode="stale")
    assert (report.executed, report.saved) == (False, False)
    assert backend.read_files(user, project_id, "sweep.ipynb")[0].content == before


def test_bad_requests_are_refused(world: tuple[EmulatorBackend, UserRecord, int]) -> None:
    backend, _, project_id = world
    with pytest.raises(NotFoundError):
        run_notebook(backend, project_id, "missing.ipynb")
    with pytest.raises(InvalidArgumentError, match="not a code cell"):
        run_notebook(backend, project_id, "sweep.ipynb", mode="raises", fail_cell=0)
    with pytest.raises(NotFoundError):
        run_notebook(backend, "no such project")


@pytest.mark.kernel
def test_the_command_asks_the_running_emulator(world: tuple[EmulatorBackend, UserRecord, int],
                                               cli: Callable[..., CliResult]) -> None:
    backend, user, project_id = world
    with EmulatorServer(backend) as server:
        result = cli(["emulator", "run-notebook", str(project_id), "sweep.ipynb", "--mode", "kept",
                      "--url", server.url, "--timeout", "60"],
                     env={"QC_USER_ID": str(USER_ID), "QC_API_TOKEN": TOKEN})
    assert result.code == 0, result.stderr
    assert f"project {project_id}: sweep.ipynb ran and saved (mode kept" in result.stdout
    assert "Object Store: wrote qcloop/results/n-1.json" in result.stdout
    assert backend.object_bytes(user.organization_id, "qcloop/results/n-1.json") is not None


@pytest.mark.kernel
def test_the_default_research_notebook_runs_quantbook_on_the_emulators_data(lean_data: Path,
                                                                            engine_available: None) -> None:
    backend = EmulatorBackend(data_folder=lean_data, timing=Timing.immediate())
    user, _ = backend.register_user(USER_ID, TOKEN)
    project = backend.create_project(user, "Default Research", "Py")
    report = run_notebook(backend, project.project_id, timeout=120)
    assert report.error is None, report.error
    notebook = nbformat.reads(backend.read_files(user, project.project_id, "research.ipynb")[0].content,
                              as_version=4)
    table = notebook.cells[1].outputs[0]["data"]["text/plain"]
    # history(spy, 2019-01-01, 2019-12-31, DAILY).tail(): the end is 2019-12-31 00:00, so the last bar
    # is the one that closed 2019-12-30 16:00 (the 31st's bar ends after the requested end)
    assert "2019-12-30 16:00:00" in table and "2019-12-31" not in table and "close" in table
    backend.close()


@pytest.mark.kernel
def test_the_command_works_on_a_stopped_emulators_state_dir(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    state, data = tmp_path / "state", tmp_path / "data"
    data.mkdir()
    backend = EmulatorBackend(state_dir=state, data_folder=data)
    user, _ = backend.register_user(USER_ID, TOKEN)
    project = backend.create_project(user, "Offline", "Py")
    backend.create_file(user, project.project_id, "sweep.ipynb", notebook_text())
    backend.set_object(user, user.organization_id, "inputs/seed.txt", b"7")
    backend.set_object(user, user.organization_id, "scratch.txt", b"x")
    backend.close()
    result = cli(["emulator", "run-notebook", "Offline", "sweep.ipynb", "--mode", "stripped",
                  "--state-dir", str(state), "--data-folder", str(data), "--timeout", "60"])
    assert result.code == 0, result.stderr
    reopened = EmulatorBackend(state_dir=state)
    reopened.register_user(USER_ID, TOKEN)
    assert reopened.object_bytes(user.organization_id, "qcloop/results/n-1.json") == b'{"nonce": "n-1", "seed": 7}'
    saved_notebook = saved(reopened, reopened.user(USER_ID), project.project_id)
    assert [c.execution_count for c in saved_notebook.cells if c.cell_type == "code"] == [1, 2, 3]
    reopened.close()
