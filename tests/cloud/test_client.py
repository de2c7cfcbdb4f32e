"""Every endpoint of QCClient: the exact request fields (qc-api.md §3) and the typed replies."""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from orchestrator.cloud.client import QCClient, extract_object
from orchestrator.cloud.schemas import (
    GRID_SEARCH,
    BacktestStatus,
    CashAmount,
    CompileState,
    ConstraintOperator,
    LiveStatus,
    NodeType,
    OptimizationConstraint,
    OptimizationParameter,
    OptimizationStatus,
    OptimizationTarget,
    OrderStatus,
    PaperBrokerage,
)
from orchestrator.credentials import Credentials
from orchestrator.errors import CredentialsError, RequestFailedError, TransportError

from . import payloads as p
from .conftest import ORGANIZATION_ID, TOKEN, USER_ID
from .fakes import FakeClock, Reply, ScriptedAdapter, ok

PROJECT = p.PROJECT_ID


# ------------------------------------------------------------------------------------------------
# authenticate and projects


def test_authenticate(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("authenticate", ok())
    assert client.authenticate() is True
    assert adapter.sent[0].json() == {}


def test_create_project(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/create", ok(projects=[p.project(name="qcloop/H-001")], versions=[]))
    project = client.create_project("qcloop/H-001")
    assert adapter.sent[0].json() == {"name": "qcloop/H-001", "language": "Py", "organizationId": ORGANIZATION_ID}
    assert (project.projectId, project.name, project.language) == (PROJECT, "qcloop/H-001", "Py")


def test_create_project_warns_when_the_service_renames_it(
    client: QCClient, adapter: ScriptedAdapter, caplog: pytest.LogCaptureFixture,
) -> None:
    adapter.add("projects/create", ok(projects=[p.project(name="qcloop/H-001 (1)")]))
    with caplog.at_level(logging.WARNING, logger="orchestrator.cloud"):
        assert client.create_project("qcloop/H-001").name == "qcloop/H-001 (1)"
    assert "instead of" in caplog.text


def test_read_and_list_projects(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/read", ok(projects=[p.project()]), ok(projects=[p.project(1), p.project(2)]))
    assert client.read_project(PROJECT).projectId == PROJECT
    assert [project.projectId for project in client.list_projects(start=0, end=2)] == [1, 2]
    assert [sent.json() for sent in adapter.sent] == [{"projectId": PROJECT}, {"start": 0, "end": 2}]


def test_reading_a_missing_project_is_a_request_failure(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/read", ok(projects=[]))
    with pytest.raises(RequestFailedError, match="no project 5"):
        client.read_project(5)


def test_iter_projects_pages_with_start_and_end(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/read", ok(projects=[p.project(1), p.project(2)]), ok(projects=[p.project(3)]))
    assert [project.projectId for project in client.iter_projects(page_size=2)] == [1, 2, 3]
    assert [sent.json() for sent in adapter.sent] == [{"start": 0, "end": 2}, {"start": 2, "end": 4}]


def test_iter_projects_stops_when_the_server_ignores_paging(client: QCClient, adapter: ScriptedAdapter) -> None:
    every = ok(projects=[p.project(1), p.project(2)])
    adapter.add("projects/read", every, every, every)
    assert [project.projectId for project in client.iter_projects(page_size=2)] == [1, 2]
    assert len(adapter.sent) == 2


def test_update_project_sends_parameters_as_key_value_list(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/update", ok(), ok())
    client.update_project(PROJECT, name="renamed", description="trend", parameters={"fast": 10, "slow": "50"})
    client.update_project(PROJECT, parameters={})
    assert adapter.sent[0].json() == {
        "projectId": PROJECT, "name": "renamed", "description": "trend",
        "parameters": [{"key": "fast", "value": "10"}, {"key": "slow", "value": "50"}]}
    assert adapter.sent[1].json() == {"projectId": PROJECT, "parameters": []}


def test_delete_project(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/delete", ok())
    client.delete_project(PROJECT)
    assert adapter.sent[0].json() == {"projectId": PROJECT}


# ------------------------------------------------------------------------------------------------
# files


def test_file_endpoints(client: QCClient, adapter: ScriptedAdapter) -> None:
    main = {"id": 1, "projectId": PROJECT, "name": "main.py", "content": "print(1)", "modified": "2024-01-03 15:18:27",
            "open": True, "isLibrary": False}
    notebook = {**main, "id": 2, "name": "research.ipynb", "content": "{}"}
    adapter.add("files/create", ok(files=[{**main, "name": "lib/util.py"}]), ok())
    adapter.add("files/read", ok(files=[main]), ok(files=[main, notebook]))
    adapter.add("files/update", ok(files=[main]), ok())
    adapter.add("files/delete", ok())

    created = client.create_file(PROJECT, "lib/util.py", "x = 1")
    assert created is not None and created.name == "lib/util.py"
    assert client.create_file(PROJECT, "other.py", "y = 2") is None   # a plain RestResponse is fine
    assert client.read_file(PROJECT, "main.py").content == "print(1)"
    assert [file.name for file in client.list_files(PROJECT)] == ["main.py", "research.ipynb"]
    client.update_file(PROJECT, "main.py", "print(2)")
    client.rename_file(PROJECT, "main.py", "algo.py")
    client.delete_file(PROJECT, "algo.py")

    bodies = [(sent.endpoint, sent.json()) for sent in adapter.sent]
    assert bodies == [
        ("files/create", {"projectId": PROJECT, "name": "lib/util.py", "content": "x = 1"}),
        ("files/create", {"projectId": PROJECT, "name": "other.py", "content": "y = 2"}),
        ("files/read", {"projectId": PROJECT, "name": "main.py"}),
        ("files/read", {"projectId": PROJECT}),
        ("files/update", {"projectId": PROJECT, "name": "main.py", "content": "print(2)"}),
        ("files/update", {"projectId": PROJECT, "name": "main.py", "newName": "algo.py"}),
        ("files/delete", {"projectId": PROJECT, "name": "algo.py"}),
    ]


def test_reading_a_missing_file_names_it(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("files/read", ok(files=[]))
    with pytest.raises(RequestFailedError, match=r"no file 'nope\.py'"):
        client.read_file(PROJECT, "nope.py")


# ------------------------------------------------------------------------------------------------
# compile and backtests


def test_compile_create_and_read(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("compile/create", ok(compileId=p.COMPILE_ID, state="InQueue", projectId=PROJECT,
                                     signature="abc", signatureOrder=[], parameters=[]))
    adapter.add("compile/read", ok(compileId=p.COMPILE_ID, state="BuildError", logs=["main.py:3 SyntaxError"]))
    started = client.create_compile(PROJECT)
    assert started.compileId == p.COMPILE_ID and started.state is CompileState.IN_QUEUE
    done = client.read_compile(PROJECT, p.COMPILE_ID)
    assert done.state is CompileState.BUILD_ERROR and done.logs == ["main.py:3 SyntaxError"]


def test_create_backtest_sends_backtest_name_and_parameters(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("backtests/create", ok(backtest=p.backtest_queued(), debugging=False),
                ok(backtest=p.backtest_queued()))
    backtest = client.create_backtest(PROJECT, p.COMPILE_ID, "qcloop/H-001/baseline/1",
                                      parameters={"fast": 10, "slow": "50", "width": 0.5})
    client.create_backtest(PROJECT, p.COMPILE_ID, "no-params", parameters={})
    assert adapter.sent[0].json() == {"projectId": PROJECT, "compileId": p.COMPILE_ID,
                                      "backtestName": "qcloop/H-001/baseline/1",
                                      "parameters": {"fast": 10, "slow": "50", "width": 0.5}}
    assert "parameters" not in adapter.sent[1].json()   # only sent when non-empty, like lean-cli
    assert backtest.backtestId == p.BACKTEST_ID and backtest.state is BacktestStatus.IN_QUEUE


def test_read_list_update_delete_backtests(client: QCClient, adapter: ScriptedAdapter) -> None:
    summary = {"backtestId": p.BACKTEST_ID, "status": "Completed.", "name": "bt", "created": "2024-01-03 15:18:27",
               "progress": 1, "parameterSet": [], "tags": [], "sharpeRatio": 1.5, "trades": 12, "psr": 0.6}
    adapter.add("backtests/read", ok(backtest=[p.backtest_finished()]))   # the old spec's array form
    adapter.add("backtests/list", ok(backtests=[summary], count=1))
    adapter.add("backtests/update", ok())
    adapter.add("backtests/delete", ok())
    assert client.read_backtest(PROJECT, p.BACKTEST_ID).finished
    listed = client.list_backtests(PROJECT, include_statistics=True)
    assert listed[0].sharpeRatio == 1.5 and listed[0].trades == 12 and listed[0].state is BacktestStatus.COMPLETED
    client.update_backtest(PROJECT, p.BACKTEST_ID, name="renamed", note="kept")
    client.delete_backtest(PROJECT, p.BACKTEST_ID)
    bodies = [sent.json() for sent in adapter.sent]
    assert bodies[1] == {"projectId": PROJECT, "includeStatistics": True}
    assert bodies[2] == {"projectId": PROJECT, "backtestId": p.BACKTEST_ID, "name": "renamed", "note": "kept"}
    assert bodies[3] == {"projectId": PROJECT, "backtestId": p.BACKTEST_ID}


def test_backtest_orders_are_paged_below_100(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("backtests/orders/read", ok(orders=[p.order(i) for i in range(1, 100)], length=99),
                ok(orders=[p.order(100)], length=1))
    orders = client.list_backtest_orders(PROJECT, p.BACKTEST_ID)
    assert [order.id for order in orders] == list(range(1, 101))
    assert orders[0].status is OrderStatus.FILLED
    spans = [(sent.json()["start"], sent.json()["end"]) for sent in adapter.sent]
    assert spans == [(0, 99), (99, 198)] and all(end - start < 100 for start, end in spans)


def test_backtest_chart_waits_while_loading(client: QCClient, adapter: ScriptedAdapter, clock: FakeClock) -> None:
    chart = {"name": "Strategy Equity", "chartType": 0,
             "series": {"Equity": {"name": "Equity", "unit": "$", "index": 0, "seriesType": 2,
                                   "values": [[1381147200, 100000, 100100, 99900, 100050]]}}}
    adapter.add("backtests/chart/read", ok(progress=0.3, status="loading"), ok(progress=0.9, status="loading"),
                ok(chart=chart))
    result = client.read_backtest_chart(PROJECT, p.BACKTEST_ID, "Strategy Equity", start=0, end=1700000000)
    assert result.series["Equity"].values[0][0] == 1381147200
    assert adapter.sent[0].json() == {"projectId": PROJECT, "backtestId": p.BACKTEST_ID, "name": "Strategy Equity",
                                      "count": 100, "start": 0, "end": 1700000000}
    assert clock.sleeps == [0.25, 0.25]


# ------------------------------------------------------------------------------------------------
# optimizations


PARAMETERS = [OptimizationParameter(name="fast", min=10, max=30, step=10),
              OptimizationParameter(name="slow", min=50, max=100, step=25)]
CONSTRAINT = OptimizationConstraint(target="TotalPerformance.PortfolioStatistics.Drawdown",
                                    operator=ConstraintOperator.LESS_OR_EQUAL, targetValue=0.25)


def test_estimate_and_create_optimization(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("optimizations/estimate", ok(estimate={"estimateId": "E-1", "time": 120, "balance": 30}))
    adapter.add("optimizations/create", ok(optimizations=[{
        "optimizationId": p.OPTIMIZATION_ID, "projectId": PROJECT, "name": "qcloop/H-001/opt/1", "status": "new",
        "nodeType": "O2-8", "criterion": {"target": OptimizationTarget.SHARPE_RATIO.value, "extremum": "max",
                                          "targetValue": None}, "created": "2024-01-03 15:18:27"}]))
    estimate = client.estimate_optimization(PROJECT, p.COMPILE_ID, "qcloop/H-001/opt/1", PARAMETERS,
                                            constraints=[CONSTRAINT])
    assert (estimate.estimateId, estimate.time, estimate.balance) == ("E-1", 120, 30)
    created = client.create_optimization(PROJECT, p.COMPILE_ID, "qcloop/H-001/opt/1", PARAMETERS,
                                         estimated_cost=0.45, node_type=NodeType.O4_12, parallel_nodes=6,
                                         target_value=2.0)
    assert created.optimizationId == p.OPTIMIZATION_ID and created.status is OptimizationStatus.NEW
    common = {"projectId": PROJECT, "compileId": p.COMPILE_ID, "name": "qcloop/H-001/opt/1",
              "target": "TotalPerformance.PortfolioStatistics.SharpeRatio", "targetTo": "max",
              "strategy": GRID_SEARCH,
              "parameters": [{"name": "fast", "min": 10.0, "max": 30.0, "step": 10.0},
                             {"name": "slow", "min": 50.0, "max": 100.0, "step": 25.0}]}
    assert adapter.sent[0].json() == {**common, "constraints": [
        {"target": "TotalPerformance.PortfolioStatistics.Drawdown", "operator": "LessOrEqual", "targetValue": 0.25}]}
    assert adapter.sent[1].json() == {**common, "constraints": [], "targetValue": 2.0, "estimatedCost": 0.45,
                                      "nodeType": "O4-12", "parallelNodes": 6}


def test_read_list_abort_delete_optimization(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("optimizations/read", ok(optimization=p.optimization(backtests=p.optimization_backtests())))
    adapter.add("optimizations/list", ok(optimizations=[]))
    adapter.add("optimizations/abort", ok())
    adapter.add("optimizations/delete", ok())
    optimization = client.read_optimization(p.OPTIMIZATION_ID)
    sharpe = {key: bt.statistics.sharpe_ratio for key, bt in optimization.backtests.items() if bt.statistics}
    assert sharpe == {"bt-a": 1.543, "bt-b": 0.8}
    assert optimization.backtests["bt-a"].parameterSet == {"fast": "10"}
    assert client.list_optimizations(PROJECT) == []
    client.abort_optimization(p.OPTIMIZATION_ID)
    client.delete_optimization(p.OPTIMIZATION_ID)
    assert [sent.json() for sent in adapter.sent] == [
        {"optimizationId": p.OPTIMIZATION_ID}, {"projectId": PROJECT},
        {"optimizationId": p.OPTIMIZATION_ID}, {"optimizationId": p.OPTIMIZATION_ID}]


# ------------------------------------------------------------------------------------------------
# live (paper)


def test_live_endpoints(client: QCClient, adapter: ScriptedAdapter, clock: FakeClock) -> None:
    adapter.add("live/create", ok(responseCode=200, source="api", deployId=p.DEPLOY_ID, versionId=16000,
                                  projectId=PROJECT, live={"deployId": p.DEPLOY_ID}))
    adapter.add("live/read", ok(deployId=p.DEPLOY_ID, status="Running", launched="2024-01-03 15:18:27",
                                brokerage="PaperBrokerage"))
    adapter.add("live/list", ok(live=[{"projectId": PROJECT, "deployId": p.DEPLOY_ID, "status": "Stopped"}]))
    adapter.add("live/update/stop", ok())
    adapter.add("live/update/liquidate", ok())
    adapter.add("live/portfolio/read", ok(portfolio={"holdings": [], "cash": {"USD": {"amount": 100000.0}}}))
    adapter.add("live/orders/read", ok(progress=0.5, status="loading"), ok(orders=[p.order(1)], length=1))

    deployment = client.create_live(PROJECT, p.COMPILE_ID, p.NODE_ID,
                                    brokerage=PaperBrokerage(cash=[CashAmount(amount=100000)]))
    assert deployment.deployId == p.DEPLOY_ID
    assert client.read_live(PROJECT, p.DEPLOY_ID).status is LiveStatus.RUNNING
    assert client.list_live(status="Stopped")[0].status is LiveStatus.STOPPED
    client.stop_live(PROJECT)
    client.liquidate_live(PROJECT)
    assert client.read_live_portfolio(PROJECT).cash["USD"].amount == 100000.0
    assert [order.id for order in client.read_live_orders(PROJECT)] == [1]

    assert adapter.sent[0].json() == {
        "projectId": PROJECT, "compileId": p.COMPILE_ID, "nodeId": p.NODE_ID, "versionId": "-1",
        "brokerage": {"id": "QuantConnectBrokerage", "cash": [{"amount": 100000.0, "currency": "USD"}],
                      "holdings": []},
        "dataProviders": {"QuantConnectBrokerage": {"id": "QuantConnectBrokerage"}}, "automaticRedeploy": False}
    assert adapter.endpoints()[1:] == ["live/read", "live/list", "live/update/stop", "live/update/liquidate",
                                       "live/portfolio/read", "live/orders/read", "live/orders/read"]
    assert adapter.last("live/orders/read").json() == {"projectId": PROJECT, "start": 0, "end": 1000}
    assert adapter.sent[1].json() == {"projectId": PROJECT, "deployId": p.DEPLOY_ID}


# ------------------------------------------------------------------------------------------------
# Object Store


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_set_object_is_multipart_with_the_documented_fields(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("object/set", ok())
    client.set_object("qcloop/results/n1.json", '{"sharpe": 1.2}')
    sent = adapter.sent[0]
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    assert sent.form() == {"organizationId": ORGANIZATION_ID, "key": "qcloop/results/n1.json",
                           "objectData": ("n1.json", b'{"sharpe": 1.2}')}


def test_object_properties_list_delete(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("object/properties", ok(metadata={"key": "a.json", "size": 13, "md5": "x", "mime": "text/plain",
                                                  "preview": "Hello, world!"}))
    adapter.add("object/list", ok(path="qcloop", objects=[{"key": "qcloop/a.json", "name": "a.json",
                                                            "folder": False, "size": 13}], objectStorageUsed=13))
    adapter.add("object/delete", ok())
    assert client.read_object_properties("a.json").size == 13
    assert [item.key for item in client.list_objects("qcloop").objects] == ["qcloop/a.json"]
    client.delete_object("a.json")
    assert [sent.json() for sent in adapter.sent] == [
        {"organizationId": ORGANIZATION_ID, "key": "a.json"},
        {"organizationId": ORGANIZATION_ID, "path": "qcloop"},
        {"organizationId": ORGANIZATION_ID, "key": "a.json"}]


def test_get_object_starts_a_job_polls_for_the_url_and_unpacks_the_download(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    url = "https://objects.qc.test/download/job-7.zip?X-Signature=abc"
    adapter.add("object/get", ok(jobId="job-7", url=None), ok(jobId="job-7", url=None), ok(jobId="job-7", url=url))
    adapter.add(url, Reply(body=zip_of({"qcloop/results/n1.json": b'{"sharpe": 1.2}'}),
                           headers={"Content-Type": "application/zip"}))
    assert client.get_object("qcloop/results/n1.json") == b'{"sharpe": 1.2}'
    requests_made = [(sent.method, sent.endpoint) for sent in adapter.sent]
    assert requests_made[:3] == [("POST", "object/get")] * 3 and requests_made[3][0] == "GET"
    assert adapter.sent[0].json() == {"organizationId": ORGANIZATION_ID, "keys": ["qcloop/results/n1.json"]}
    assert adapter.sent[1].json() == {"organizationId": ORGANIZATION_ID, "jobId": "job-7"}
    assert "Authorization" not in adapter.sent[3].headers
    assert clock.sleeps == [0.25]  # job created (no wait), polled once without a URL, then with one


def test_extract_object_handles_leading_slashes_and_plain_downloads() -> None:
    assert extract_object(zip_of({"/a/b.json": b"1"}), "a/b.json") == b"1"
    assert extract_object(zip_of({"renamed": b"2"}), "a/b.json") == b"2"   # a single entry is the object
    assert extract_object(b"raw bytes", "a/b.json") == b"raw bytes"
    with pytest.raises(TransportError, match="no entry"):
        extract_object(zip_of({"x": b"1", "y": b"2"}), "a/b.json")


def test_object_store_needs_an_organization_id(make_client: Callable[..., QCClient]) -> None:
    client = make_client(credentials=Credentials(user_id=USER_ID, api_token=SecretStr(TOKEN)))
    with pytest.raises(CredentialsError, match="organization id") as caught:
        client.list_objects()
    assert "QC_ORGANIZATION_ID" in str(caught.value)


# ------------------------------------------------------------------------------------------------
# replies of an unexpected shape


def test_a_misshapen_reply_is_a_transport_error_naming_the_field(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("backtests/read", ok(backtest={"name": "no id"}), ok())
    with pytest.raises(TransportError, match=r"'backtest' has an unexpected shape \(backtestId: Field required\)"):
        client.read_backtest(PROJECT, p.BACKTEST_ID)
    with pytest.raises(TransportError, match="the reply has no 'backtest'"):
        client.read_backtest(PROJECT, p.BACKTEST_ID)
