"""The convenience workflow: project by name, upload with fallback, compile, exactly-once backtests."""

from __future__ import annotations

import pytest
import requests

from orchestrator.cloud.client import QCClient
from orchestrator.cloud.schemas import Backtest, Project
from orchestrator.cloud.workflow import CloudWorkflow
from orchestrator.errors import CompileFailedError, OutcomeUnknownError, RequestFailedError

from . import payloads as p
from .fakes import Reply, ScriptedAdapter, failed, ok

PROJECT = p.PROJECT_ID
NAME = "qcloop/H-001/baseline/1"
CODE = "from AlgorithmImports import *\n"


def summary(name: str = NAME, backtest_id: str = p.BACKTEST_ID,
            created: str = "2024-01-03 15:18:27") -> dict[str, object]:
    return {"backtestId": backtest_id, "name": name, "status": "Completed.", "created": created, "progress": 1}


def test_the_whole_path_from_code_to_metrics(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/read", ok(projects=[p.project(1, "someone/else")]))
    adapter.add("projects/create", ok(projects=[p.project(PROJECT, "qcloop/H-001")]))
    adapter.add("files/update", ok())
    adapter.add("backtests/list", ok(backtests=[]))
    adapter.add("compile/create", ok(compileId=p.COMPILE_ID, state="InQueue"))
    adapter.add("compile/read", ok(compileId=p.COMPILE_ID, state="BuildSuccess", logs=["ok"]))
    adapter.add("backtests/create", ok(backtest=p.backtest_queued(NAME)))
    adapter.add("backtests/read", ok(backtest=p.backtest_running()), ok(backtest=p.backtest_finished()))
    created: list[Backtest] = []

    run = CloudWorkflow(client).backtest_code("qcloop/H-001", CODE, NAME, parameters={"fast": 10},
                                              on_created=created.append)

    assert adapter.endpoints() == ["projects/read", "projects/create", "files/update", "backtests/list",
                                   "compile/create", "compile/read", "backtests/create", "backtests/read",
                                   "backtests/read"]
    assert adapter.last("files/update").json() == {"projectId": PROJECT, "name": "main.py", "content": CODE}
    assert adapter.last("backtests/create").json()["parameters"] == {"fast": 10}
    assert [backtest.backtestId for backtest in created] == [p.BACKTEST_ID]  # recorded before the wait
    assert run.project.projectId == PROJECT and run.backtest.finished
    assert run.metrics is not None and run.metrics.sharpe_ratio == pytest.approx(8.854)
    assert run.metrics.total_fees == pytest.approx(3.44)


def test_an_existing_project_is_reused_by_name(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/read", ok(projects=[p.project(1, "other"), p.project(PROJECT, "/qcloop/H-001")]))
    assert CloudWorkflow(client).ensure_project("qcloop/H-001").projectId == PROJECT
    assert adapter.endpoints() == ["projects/read"]


def test_list_and_find_projects_page_through_everything(client: QCClient, adapter: ScriptedAdapter) -> None:
    first_page = [p.project(i, f"p{i}") for i in range(1, 101)]
    adapter.add("projects/read", ok(projects=first_page), ok(projects=[p.project(101, "late")]),
                ok(projects=first_page), ok(projects=[p.project(101, "late")]))
    workflow = CloudWorkflow(client)
    assert len(workflow.list_projects()) == 101
    found = workflow.find_project("late")
    assert found is not None and found.projectId == 101


def test_project_creation_with_an_unknown_outcome_is_reconciled_by_name(
    client: QCClient, adapter: ScriptedAdapter,
) -> None:
    adapter.add("projects/read", ok(projects=[]), ok(projects=[p.project(PROJECT, "qcloop/H-001")]))
    adapter.add("projects/create", Reply(None, status=503, body=b""))
    assert CloudWorkflow(client).ensure_project("qcloop/H-001").projectId == PROJECT
    assert adapter.endpoints().count("projects/create") == 1


def test_project_creation_with_an_unknown_outcome_and_no_such_project_raises(
    client: QCClient, adapter: ScriptedAdapter,
) -> None:
    adapter.add("projects/read", ok(projects=[]), ok(projects=[]))
    adapter.add("projects/create", requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknownError, match="qcloop/H-001"):
        CloudWorkflow(client).ensure_project("qcloop/H-001")


def test_upload_falls_back_to_create_when_the_file_does_not_exist(
    client: QCClient, adapter: ScriptedAdapter,
) -> None:
    adapter.add("files/update", failed("File not found: main.py"))
    adapter.add("files/read", ok(files=[{"name": "research.ipynb", "content": "{}"}]))
    adapter.add("files/create", ok())
    CloudWorkflow(client).upload_file(PROJECT, CODE)
    assert adapter.endpoints() == ["files/update", "files/read", "files/create"]
    assert adapter.last("files/create").json() == {"projectId": PROJECT, "name": "main.py", "content": CODE}


def test_upload_does_not_hide_a_failed_update_of_an_existing_file(
    client: QCClient, adapter: ScriptedAdapter,
) -> None:
    adapter.add("files/update", failed("Project is locked by a collaborator"))
    adapter.add("files/read", ok(files=[{"name": "main.py", "content": "old"}]))
    with pytest.raises(RequestFailedError, match="locked"):
        CloudWorkflow(client).upload_file(PROJECT, CODE)
    assert "files/create" not in adapter.endpoints()


def test_a_build_error_raises_with_the_build_log(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("compile/create", ok(compileId=p.COMPILE_ID, state="InQueue"))
    adapter.add("compile/read", ok(compileId=p.COMPILE_ID, state="BuildError",
                                   logs=["Build Error", "main.py:3: SyntaxError: invalid syntax"]))
    with pytest.raises(CompileFailedError) as caught:
        CloudWorkflow(client).compile(PROJECT)
    assert "SyntaxError" in str(caught.value) and caught.value.logs[-1].startswith("main.py:3")


def test_an_existing_backtest_of_the_same_name_is_reused_without_compiling(
    client: QCClient, adapter: ScriptedAdapter,
) -> None:
    older, newer = "a" * 32, "b" * 32
    adapter.add("backtests/list", ok(backtests=[summary(backtest_id=older, created="2024-01-01 10:00:00"),
                                                summary(backtest_id=newer, created="2024-01-02 10:00:00"),
                                                summary(name="other", backtest_id="c" * 32)]))
    adapter.add("backtests/read", ok(backtest={**p.backtest_finished(), "backtestId": newer}))
    backtest = CloudWorkflow(client).start_backtest(PROJECT, NAME)
    assert backtest.backtestId == newer
    assert adapter.endpoints() == ["backtests/list", "backtests/read"]
    assert adapter.last("backtests/read").json()["backtestId"] == newer


def test_a_backtest_create_with_an_unknown_outcome_is_found_by_name_not_created_twice(
    client: QCClient, adapter: ScriptedAdapter,
) -> None:
    adapter.add("backtests/list", ok(backtests=[]), ok(backtests=[summary()]))
    adapter.add("compile/create", ok(compileId=p.COMPILE_ID, state="BuildSuccess"))
    adapter.add("backtests/create", requests.exceptions.ReadTimeout("read timed out"))
    adapter.add("backtests/read", ok(backtest=p.backtest_running()))
    backtest = CloudWorkflow(client).start_backtest(PROJECT, NAME)
    assert backtest.backtestId == p.BACKTEST_ID
    assert adapter.endpoints().count("backtests/create") == 1


def test_a_failed_backtest_has_no_metrics(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("backtests/list", ok(backtests=[]))
    adapter.add("compile/create", ok(compileId=p.COMPILE_ID, state="BuildSuccess"))
    adapter.add("backtests/create", ok(backtest=p.backtest_queued()))
    adapter.add("backtests/read", ok(backtest=p.backtest_runtime_error()))
    run = CloudWorkflow(client).run_backtest(Project.model_validate(p.project()), NAME)
    assert run.outcome.failed and run.metrics is None
    assert run.backtest.error is not None and run.backtest.error.startswith("During the algorithm initialization")
