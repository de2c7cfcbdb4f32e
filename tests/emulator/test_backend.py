"""The backend's rules without HTTP: projects, files, compile, the Object Store, persistence."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from orchestrator.emulator import EmulatorBackend, Timing
from orchestrator.emulator.errors import ConflictError, InvalidArgumentError, NotFoundError, UnsupportedRequestError
from orchestrator.emulator.state import CompileState, UserRecord
from tests.emulator.helpers import TOKEN, USER_ID

GOOD_MAIN = "from AlgorithmImports import *\n\nclass A(QCAlgorithm):\n    def initialize(self):\n        pass\n"


# -- projects ---------------------------------------------------------------------------------------


def test_a_new_python_project_has_main_py_and_a_valid_research_notebook(backend: EmulatorBackend,
                                                                         user: UserRecord) -> None:
    project = backend.create_project(user, "Trend/SPY", "Py")
    names = [f.name for f in backend.read_files(user, project.project_id)]
    assert names == ["main.py", "research.ipynb"]
    notebook = json.loads(project.file("research.ipynb").content)  # type: ignore[union-attr]
    assert notebook["nbformat"] == 4 and notebook["cells"][0]["cell_type"] == "code"
    assert "class TrendSPY(QCAlgorithm)" in project.file("main.py").content  # type: ignore[union-attr]


def test_csharp_projects_get_main_cs_and_research_ipynb(backend: EmulatorBackend, user: UserRecord) -> None:
    project = backend.create_project(user, "Sharp", "C#")
    assert [f.name for f in project.files] == ["Main.cs", "Research.ipynb"]


def test_a_duplicate_name_on_create_is_renamed_as_the_service_does(backend: EmulatorBackend,
                                                                    user: UserRecord) -> None:
    first = backend.create_project(user, "Same", "Py")
    second = backend.create_project(user, "Same", "Py")
    third = backend.create_project(user, "/Same", "Py")
    assert (first.name, second.name, third.name) == ("Same", "Same 1", "Same 2")


def test_renaming_onto_an_existing_name_fails_and_changes_nothing(backend: EmulatorBackend, user: UserRecord) -> None:
    a = backend.create_project(user, "A", "Py")
    backend.create_project(user, "B", "Py")
    with pytest.raises(ConflictError, match="already in use"):
        backend.update_project(user, a.project_id, name="B", description="changed")
    assert backend.project(user, a.project_id).description == ""


def test_unsupported_language_and_unknown_project_fail(backend: EmulatorBackend, user: UserRecord) -> None:
    with pytest.raises(InvalidArgumentError, match="Language 'Ja'"):
        backend.create_project(user, "x", "Ja")
    with pytest.raises(NotFoundError, match="Project not found"):
        backend.read_projects(user, -1)


def test_project_paging_follows_the_service_rules(backend: EmulatorBackend, user: UserRecord) -> None:
    ids = [backend.create_project(user, f"p{i}", "Py").project_id for i in range(4)]
    assert [p.project_id for p in backend.read_projects(user, end=2)] == ids[:2]
    assert [p.project_id for p in backend.read_projects(user, start=1, end=3)] == ids[1:3]
    for start, end in ((1, 1), (1, 0)):  # mcp-server tests: both fail
        with pytest.raises(InvalidArgumentError):
            backend.read_projects(user, start=start, end=end)


def test_projects_of_another_organization_are_invisible(backend: EmulatorBackend, user: UserRecord) -> None:
    other, _ = backend.register_user(999, "other-token")
    project = backend.create_project(other, "theirs", "Py")
    with pytest.raises(NotFoundError):
        backend.read_files(user, project.project_id)
    assert backend.read_projects(user) == []


def test_a_push_replaces_the_file_set_and_parameters(backend: EmulatorBackend, user: UserRecord) -> None:
    project = backend.create_project(user, "Pushed", "Py")
    main_id = project.file("main.py").file_id  # type: ignore[union-attr]
    backend.update_project(user, project.project_id, parameters={"fast": "10"},
                           files=[{"name": "main.py", "content": GOOD_MAIN}, {"name": "lib/x.py", "content": "y=1"}])
    updated = backend.project(user, project.project_id)
    assert [f.name for f in updated.files] == ["main.py", "lib/x.py"]
    assert updated.file("main.py").file_id == main_id  # type: ignore[union-attr]
    assert updated.parameters == {"fast": "10"}
    with pytest.raises(InvalidArgumentError, match="Invalid file name"):
        backend.update_project(user, project.project_id, files=[{"name": "../escape.py", "content": ""}])


def test_deleting_a_project_removes_it(backend: EmulatorBackend, user: UserRecord) -> None:
    project = backend.create_project(user, "Gone", "Py")
    backend.delete_project(user, project.project_id)
    with pytest.raises(NotFoundError):
        backend.project(user, project.project_id)


# -- files ------------------------------------------------------------------------------------------


def test_file_rules_match_the_services_failure_cases(backend: EmulatorBackend, user: UserRecord) -> None:
    pid = backend.create_project(user, "Files", "Py").project_id
    with pytest.raises(ConflictError):
        backend.create_file(user, pid, "main.py", "x")  # exists
    with pytest.raises(InvalidArgumentError):
        backend.create_file(user, pid, "empty.py", "")  # explicitly empty
    assert backend.create_file(user, pid, "omitted.py", None).content == ""  # omitted: accepted
    with pytest.raises(InvalidArgumentError):
        backend.update_file(user, pid, "main.py", "")
    with pytest.raises(NotFoundError):
        backend.update_file(user, pid, "nope.py", "x")
    backend.rename_file(user, pid, "omitted.py", "renamed.py")
    with pytest.raises(NotFoundError):
        backend.read_files(user, pid, "omitted.py")
    backend.delete_file(user, pid, "main.py")
    backend.delete_file(user, pid, "research.ipynb")
    assert [f.name for f in backend.read_files(user, pid)] == ["renamed.py"]
    with pytest.raises(NotFoundError):
        backend.delete_file(user, pid, "main.py")


def test_files_patch_applies_a_unified_diff(backend: EmulatorBackend, user: UserRecord) -> None:
    pid = backend.create_project(user, "Patched", "Py").project_id
    backend.update_file(user, pid, "main.py", "a = 1\n")
    backend.patch_files(user, pid, "--- a/main.py\n+++ b/main.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n")
    assert backend.read_files(user, pid, "main.py")[0].content == "a = 2\n"
    with pytest.raises(InvalidArgumentError, match="does not apply"):
        backend.patch_files(user, pid, "--- a/main.py\n+++ b/main.py\n@@ -1 +1 @@\n-a = 9\n+a = 3\n")


# -- compile ----------------------------------------------------------------------------------------


def test_compile_shows_in_queue_first_then_the_outcome_with_logs() -> None:
    backend = EmulatorBackend(compile_timing=Timing.after_polls(2))
    user, _ = backend.register_user(USER_ID, TOKEN)
    pid = backend.create_project(user, "Build", "Py").project_id
    record = backend.create_compile(user, pid)
    assert backend.read_compile(user, pid, record.compile_id).state is CompileState.IN_QUEUE
    view = backend.read_compile(user, pid, record.compile_id)
    assert view.state is CompileState.BUILD_SUCCESS and record.logs
    backend.update_file(user, pid, "main.py", "import nowhere_module\n")
    failed = backend.create_compile(user, pid)
    backend.read_compile(user, pid, failed.compile_id)
    assert backend.read_compile(user, pid, failed.compile_id).state is CompileState.BUILD_ERROR
    assert any("main.py Line: 1" in line and "nowhere_module" in line for line in failed.logs)
    backend.close()


def test_compiling_a_csharp_project_is_refused_loudly(backend: EmulatorBackend, user: UserRecord) -> None:
    pid = backend.create_project(user, "Sharp", "C#").project_id
    with pytest.raises(UnsupportedRequestError, match="Python projects only"):
        backend.create_compile(user, pid)


def test_backtests_need_a_data_folder_and_a_successful_compile(backend: EmulatorBackend, user: UserRecord) -> None:
    pid = backend.create_project(user, "NoData", "Py").project_id
    compiled = backend.create_compile(user, pid)
    with pytest.raises(UnsupportedRequestError, match="without a data folder"):
        backend.create_backtest(user, pid, compiled.compile_id, "bt")
    with pytest.raises(InvalidArgumentError, match="Compile id is required"):
        backend.create_backtest(user, pid, " ", "bt")  # mcp-server test: compileId ' ' fails
    with pytest.raises(NotFoundError, match="Compile not found"):
        backend.create_backtest(user, pid, "0" * 32, "bt")


# -- Object Store -----------------------------------------------------------------------------------


def test_object_store_properties_match_the_live_services_figures(backend: EmulatorBackend, user: UserRecord) -> None:
    org = user.organization_id
    backend.set_object(user, org, "greeting", b"Hello, world!")
    stored, preview = backend.object_properties(user, org, "greeting")
    # mcp-server's live test asserts exactly these for a 13-byte "Hello, world!" upload
    assert (stored.size, stored.md5, stored.mime, preview) == (13, "6cd3556deb0da54bca060b4c39479839",
                                                               "text/plain", "Hello, world!")


def test_object_store_lists_children_and_deletes_folders(backend: EmulatorBackend, user: UserRecord) -> None:
    org = user.organization_id
    backend.set_object(user, org, "root/child_file", b"a")
    backend.set_object(user, org, "root/child_directory/grandchild_file", b"bc")
    top = backend.list_objects(user, org, None)
    assert top.path == "/" and [(c.key, c.folder, size) for c, _, size in top.entries] == [("root", True, 3)]
    inner = backend.list_objects(user, org, "root")
    assert [(c.key, c.name, c.folder) for c, _, _ in inner.entries] == [
        ("root/child_directory", "child_directory", True), ("root/child_file", "child_file", False)]
    backend.delete_object(user, org, "root")
    assert backend.list_objects(user, org, None).entries == []
    with pytest.raises(NotFoundError):
        backend.delete_object(user, org, "root")


def test_object_store_download_is_a_zip_of_the_keys_after_the_job_is_ready() -> None:
    backend = EmulatorBackend(timing=Timing.after_polls(2))
    user, _ = backend.register_user(USER_ID, TOKEN)
    org = user.organization_id
    backend.set_object(user, org, "a/one.json", b'{"x": 1}')
    job = backend.request_download(user, org, ["a"])
    assert backend.read_download(user, org, job.job_id).ready is False
    assert backend.read_download(user, org, job.job_id).ready is True
    archive = zipfile.ZipFile(BytesIO(backend.download(job.token) or b""))
    assert archive.namelist() == ["a/one.json"] and archive.read("a/one.json") == b'{"x": 1}'
    assert backend.download("not-a-token") is None
    with pytest.raises(NotFoundError):
        backend.request_download(user, org, ["missing"])
    backend.close()


def test_object_store_refuses_another_organization(backend: EmulatorBackend, user: UserRecord) -> None:
    with pytest.raises(NotFoundError, match="Organization not found"):
        backend.set_object(user, "f" * 32, "k", b"x")


# -- persistence ------------------------------------------------------------------------------------


def test_state_survives_a_restart_without_ever_storing_the_token(tmp_path: Path) -> None:
    first = EmulatorBackend(state_dir=tmp_path)
    user, _ = first.register_user(USER_ID, TOKEN)
    project = first.create_project(user, "Kept", "Py")
    first.create_file(user, project.project_id, "extra.py", "x = 1\n")
    first.set_object(user, user.organization_id, "k", b"bytes")
    first.close()
    assert TOKEN not in "".join(p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file())

    second = EmulatorBackend(state_dir=tmp_path)
    assert second.token_of(USER_ID) is None  # tokens come from the emulator's config on each start
    second.register_user(USER_ID, TOKEN)
    again = second.user(USER_ID)
    assert [f.name for f in second.read_files(again, project.project_id)] == ["main.py", "research.ipynb",
                                                                               "extra.py"]
    assert second.object_bytes(again.organization_id, "k") == b"bytes"
    second.close()


def test_state_files_are_written_atomically(tmp_path: Path) -> None:
    backend = EmulatorBackend(state_dir=tmp_path)
    user, _ = backend.register_user(USER_ID, TOKEN)
    for index in range(5):
        backend.create_project(user, f"p{index}", "Py")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert len(json.loads((tmp_path / "state.json").read_text())["projects"]) == 5
    backend.close()
