"""The backend's rules without HTTP: projects, files, compile, the Object Store, persistence."""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

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


def test_object_store_keys_cannot_climb_out_of_the_store(backend: EmulatorBackend, user: UserRecord) -> None:
    # The operator exports every key as a file under a folder it hands the kernel: a '..' segment
    # would write outside that folder, so the key is refused when it is set.
    for key in ("../escape.txt", "a/../../b", "./here"):
        with pytest.raises(InvalidArgumentError, match=r"'\.' or '\.\.'"):
            backend.set_object(user, user.organization_id, key, b"x")
    assert backend.list_objects(user, user.organization_id, None).entries == []


class _PausingStore:
    """Wraps the backend's state store: the first call of ``method`` pauses (after doing its work, or
    before with ``before=True``) until released, so that another request can run in between."""

    def __init__(self, inner: Any, method: str, *, before: bool = False) -> None:
        self._inner = inner
        self._method = method
        self._before = before
        self.paused = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._inner, name)
        if name != self._method or self.paused.is_set():
            return real

        def paused_call(*args: Any) -> Any:
            if self._before:
                self.paused.set()
                self.release.wait(10)
                return real(*args)
            result = real(*args)
            self.paused.set()
            self.release.wait(10)
            return result

        return paused_call


def interleave(backend: EmulatorBackend, store: _PausingStore, first: Callable[[], object],
               second: Callable[[], object]) -> None:
    """Run ``first`` until the store pauses it, then ``second``, then let ``first`` finish."""
    backend.store = store  # type: ignore[assignment]
    failures: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            call()
        except BaseException as exc:  # a thread's failure is the test's to report
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(first,)), threading.Thread(target=run, args=(second,))]
    threads[0].start()
    assert store.paused.wait(10)
    threads[1].start()
    threads[1].join(0.3)  # when the store's work is done under the lock, the second call waits here
    store.release.set()
    for thread in threads:
        thread.join(10)
    assert failures == []


def test_concurrent_writes_of_one_key_keep_its_bytes_and_metadata_together(
    backend: EmulatorBackend, user: UserRecord,
) -> None:
    org = user.organization_id
    interleave(backend, _PausingStore(backend.store, "save_blob"),
               lambda: backend.set_object(user, org, "k", b"first value"),
               lambda: backend.set_object(user, org, "k", b"second"))
    stored, _ = backend.object_properties(user, org, "k")
    data = backend.object_bytes(org, "k")
    assert data is not None
    assert (stored.size, stored.md5) == (len(data), hashlib.md5(data).hexdigest())


def test_a_delete_racing_a_write_of_the_same_key_never_leaves_a_record_without_bytes(
    backend: EmulatorBackend, user: UserRecord,
) -> None:
    org = user.organization_id
    backend.set_object(user, org, "k", b"old")
    interleave(backend, _PausingStore(backend.store, "delete_blob", before=True),
               lambda: backend.delete_object(user, org, "k"),
               lambda: backend.set_object(user, org, "k", b"new"))
    # whichever came last wins, but a listed key always has its bytes
    assert backend.object_bytes(org, "k") in (None, b"new")


def test_reading_an_object_while_it_is_deleted_never_fails_half_way(
    backend: EmulatorBackend, user: UserRecord,
) -> None:
    org = user.organization_id
    backend.set_object(user, org, "k", b"bytes")
    read: list[object] = []
    interleave(backend, _PausingStore(backend.store, "load_blob", before=True),
               lambda: read.append(backend.object_properties(user, org, "k")[1]),
               lambda: backend.delete_object(user, org, "k"))
    assert read == ["bytes"] and backend.object_bytes(org, "k") is None


# -- jobs and shutdown ------------------------------------------------------------------------------


class GatedRunner:
    """An engine stand-in: records each run and blocks until released (no market data needed)."""

    def __init__(self) -> None:
        self.runs: list[dict[str, str]] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: Any, progress: Callable[[float], None]) -> dict[str, Any]:
        self.runs.append(dict(request.parameters))
        self.started.set()
        self.release.wait(10)
        return {"status": "Completed.", "completed": True, "statistics": {}, "runtimeStatistics": {}}


def stopped_mid_backtest(tmp_path: Path) -> tuple[Path, Path, str]:
    """A state dir whose emulator was stopped while a backtest ran: (state dir, data folder, its id)."""
    state, data = tmp_path / "state", tmp_path / "data"
    data.mkdir()
    runner = GatedRunner()
    backend = EmulatorBackend(state_dir=state, data_folder=data, runner=runner, timing=Timing.real(), workers=1)
    user, _ = backend.register_user(USER_ID, TOKEN)
    project = backend.create_project(user, "Jobs", "Py")
    backend.update_file(user, project.project_id, "main.py", GOOD_MAIN)
    compiled = backend.create_compile(user, project.project_id)
    backtest = backend.create_backtest(user, project.project_id, compiled.compile_id, "interrupted")
    assert runner.started.wait(10)
    threading.Timer(0.2, runner.release.set).start()  # the engine call ends after the shutdown began
    backend.close(wait=True)
    return state, data, backtest.record.backtest_id


def test_a_closed_backend_saves_nothing_more_when_a_running_job_ends(tmp_path: Path) -> None:
    # close() promises that another backend may take the state dir over: the job that was running
    # must not write its result (nor the state) after the shutdown, whenever its engine call returns.
    state, _, backtest_id = stopped_mid_backtest(tmp_path)
    assert not (state / "results" / f"{backtest_id}.json").exists()
    (saved,) = json.loads((state / "state.json").read_text())["backtests"]
    assert saved["phase"] == "running"


def test_a_backend_opened_without_resuming_leaves_unfinished_jobs_alone(tmp_path: Path) -> None:
    # `qcloop emulator run-notebook --state-dir` opens a stopped emulator's state only to run a
    # notebook: it must not start (and then wait at exit for) the backtests that were running.
    state, data, _ = stopped_mid_backtest(tmp_path)
    runner = GatedRunner()
    runner.release.set()
    reopened = EmulatorBackend(state_dir=state, data_folder=data, runner=runner, resume_jobs=False)
    reopened.close(wait=True)
    assert runner.runs == []
    resumed = EmulatorBackend(state_dir=state, data_folder=data, runner=runner)
    assert resumed.wait_idle(10)
    resumed.close()
    assert len(runner.runs) == 1  # the default resumes it, as `serve` should


class _CashThatTakesItsTime(dict[str, Any]):
    """A brokerage whose cash the first deployment reads slowly: another request runs meanwhile."""

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.reading = threading.Event()
        self.release = threading.Event()

    def get(self, key: str, default: Any = None) -> Any:
        if key == "cash" and not self.reading.is_set():
            self.reading.set()
            self.release.wait(10)
        return super().get(key, default)


def test_two_racing_deployments_of_one_project_leave_exactly_one_active(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    runner = GatedRunner()
    runner.release.set()
    backend = EmulatorBackend(data_folder=data, runner=runner, timing=Timing.immediate())
    user, _ = backend.register_user(USER_ID, TOKEN)
    project = backend.create_project(user, "Live", "Py")
    backend.update_file(user, project.project_id, "main.py", GOOD_MAIN)
    compiled = backend.create_compile(user, project.project_id).compile_id
    slow = _CashThatTakesItsTime(id="QuantConnectBrokerage")
    outcomes: list[str] = []

    def deploy(brokerage: dict[str, Any]) -> None:
        try:
            backend.create_live(user, project.project_id, compile_id=compiled, node_id="LN-1", brokerage=brokerage)
            outcomes.append("created")
        except ConflictError:
            outcomes.append("refused")

    first = threading.Thread(target=deploy, args=(slow,))
    first.start()
    assert slow.reading.wait(10)
    deploy({"id": "QuantConnectBrokerage"})  # the second request, while the first is half way
    slow.release.set()
    first.join(10)
    assert sorted(outcomes) == ["created", "refused"]
    assert len(backend.list_live(user, project_id=project.project_id)) == 1
    backend.close()


def test_a_job_created_after_close_never_keeps_a_reader_waiting(tmp_path: Path) -> None:
    # A request still in flight while the emulator shuts down may create a job that will never run:
    # reading it must answer at once (as unfinished), not wait for an engine that is gone.
    data = tmp_path / "data"
    data.mkdir()
    backend = EmulatorBackend(data_folder=data, runner=GatedRunner(), timing=Timing.immediate())
    user, _ = backend.register_user(USER_ID, TOKEN)
    project = backend.create_project(user, "Late", "Py")
    backend.update_file(user, project.project_id, "main.py", GOOD_MAIN)
    compiled = backend.create_compile(user, project.project_id).compile_id
    backend.close()
    late = backend.create_backtest(user, project.project_id, compiled, "late").record.backtest_id
    views: list[Any] = []
    reader = threading.Thread(target=lambda: views.append(backend.read_backtest(user, project.project_id, late)),
                              daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive() and views[0].status == "Running: 99%"
