"""Backtests on the embedded engine: lifecycle and timing, parameters, parity, failures, concurrency."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from orchestrator.emulator import EmulatorBackend, EmulatorServer, Timing, wire
from orchestrator.emulator.state import UserRecord
from tests.conftest import CliResult
from tests.emulator.algorithms import RAISES, WEIGHTED_SPY
from tests.emulator.helpers import TOKEN, USER_ID, Api

pytestmark = pytest.mark.usefixtures("engine_available")


def build(lean_data: Path, **options: Any) -> tuple[EmulatorBackend, UserRecord]:
    backend = EmulatorBackend(data_folder=lean_data, **{"timing": Timing.immediate(), **options})
    user, _ = backend.register_user(USER_ID, TOKEN)
    return backend, user


@pytest.fixture
def engine(lean_data: Path) -> Iterator[tuple[EmulatorBackend, UserRecord]]:
    backend, user = build(lean_data)
    yield backend, user
    backend.close()


def compiled_project(backend: EmulatorBackend, user: UserRecord, source: str = WEIGHTED_SPY,
                     parameters: dict[str, str] | None = None) -> tuple[int, str]:
    project = backend.create_project(user, "Engine", "Py")
    backend.update_project(user, project.project_id, files=[{"name": "main.py", "content": source}],
                           parameters=parameters or {})
    build_ = backend.create_compile(user, project.project_id)
    return project.project_id, build_.compile_id


def direct_run(lean_data: Path, tmp_path: Path, parameters: dict[str, str]) -> dict[str, Any]:
    from orchestrator.engine import run_backtest

    folder = tmp_path / f"direct-{'-'.join(f'{k}{v}' for k, v in sorted(parameters.items())) or 'none'}"
    folder.mkdir()
    (folder / "main.py").write_text(WEIGHTED_SPY, encoding="utf-8")
    result: dict[str, Any] = run_backtest(folder, data_folder=lean_data, parameters=parameters).to_cloud()
    return result


def test_create_is_queued_and_the_first_read_shows_the_whole_result(engine: tuple[EmulatorBackend,
                                                                                   UserRecord]) -> None:
    backend, user = engine
    pid, cid = compiled_project(backend, user)
    created = wire.backtest(backend.create_backtest(user, pid, cid, "first"))
    assert (created["status"], created["completed"], created["progress"]) == ("In Queue...", False, 0.0)
    assert created["parameterSet"] == [] and created["statistics"] == [] and created["name"] == "first"
    done = wire.backtest(backend.read_backtest(user, pid, created["backtestId"]))
    assert (done["status"], done["completed"], done["progress"]) == ("Completed.", True, 1.0)
    assert done["error"] is None and done["stacktrace"] is None
    assert int(done["statistics"]["Total Orders"]) >= 1
    assert done["runtimeStatistics"] and done["totalPerformance"]["portfolioStatistics"]
    assert "Strategy Equity" in done["charts"]


def test_after_polls_the_backtest_runs_until_the_nth_read(lean_data: Path) -> None:
    backend, user = build(lean_data, timing=Timing.after_polls(3))
    pid, cid = compiled_project(backend, user)
    backtest_id = backend.create_backtest(user, pid, cid, "polled").record.backtest_id
    reads = [wire.backtest(backend.read_backtest(user, pid, backtest_id)) for _ in range(3)]
    assert [r["status"] for r in reads] == ["Running: 33%", "Running: 66%", "Completed."]
    assert [r["statistics"] for r in reads[:2]] == [[], []]
    assert reads[0]["totalPerformance"] is None and reads[0]["runtimeStatistics"] is None
    assert reads[2]["completed"] is True and reads[2]["statistics"]["Total Orders"]
    backend.close()


def test_after_seconds_the_backtest_runs_until_the_time_has_passed(lean_data: Path) -> None:
    now = [1000.0]
    backend, user = build(lean_data, timing=Timing.after_seconds(10), clock=lambda: now[0])
    pid, cid = compiled_project(backend, user)
    backtest_id = backend.create_backtest(user, pid, cid, "timed").record.backtest_id
    now[0] += 2.5
    assert backend.read_backtest(user, pid, backtest_id).status == "Running: 25%"
    now[0] += 7.5
    assert backend.read_backtest(user, pid, backtest_id).status == "Completed."
    backend.close()


def test_create_parameters_override_the_projects_and_match_the_engine(engine: tuple[EmulatorBackend, UserRecord],
                                                                      lean_data: Path, tmp_path: Path) -> None:
    backend, user = engine
    pid, cid = compiled_project(backend, user, parameters={"weight": "0.5", "start_month": "2"})
    plain = backend.create_backtest(user, pid, cid, "project parameters")
    override = backend.create_backtest(user, pid, cid, "override", {"weight": 1})
    plain_view = backend.read_backtest(user, pid, plain.record.backtest_id)
    override_view = backend.read_backtest(user, pid, override.record.backtest_id)
    assert wire.backtest(plain_view)["parameterSet"] == []
    assert wire.backtest(override_view)["parameterSet"] == {"weight": 1}
    # Parity: the same algorithm on the same data gives exactly the engine's own statistics.
    expected_plain = direct_run(lean_data, tmp_path, {"weight": "0.5", "start_month": "2"})
    expected_override = direct_run(lean_data, tmp_path, {"weight": "1", "start_month": "2"})
    assert plain_view.result and override_view.result
    assert plain_view.result["statistics"] == expected_plain["statistics"]
    assert override_view.result["statistics"] == expected_override["statistics"]
    assert plain_view.result["statistics"] != override_view.result["statistics"]
    assert (plain_view.result["totalPerformance"]["portfolioStatistics"]
            == expected_plain["totalPerformance"]["portfolioStatistics"])


def test_an_algorithm_that_raises_ends_as_runtime_error(engine: tuple[EmulatorBackend, UserRecord]) -> None:
    backend, user = engine
    pid, cid = compiled_project(backend, user, RAISES)
    backtest_id = backend.create_backtest(user, pid, cid, "raises").record.backtest_id
    shown = wire.backtest(backend.read_backtest(user, pid, backtest_id))
    assert shown["status"] == "Runtime Error" and shown["completed"] is True
    assert "boom in on_data" in shown["error"]
    assert "main.py" in shown["stacktrace"]


def test_list_update_delete(engine: tuple[EmulatorBackend, UserRecord]) -> None:
    backend, user = engine
    pid, cid = compiled_project(backend, user)
    backtest_id = backend.create_backtest(user, pid, cid, "listed", {"weight": "0.8"}).record.backtest_id
    result = backend.read_backtest(user, pid, backtest_id).result
    assert result is not None
    (summary,) = [wire.backtest_summary(v, True) for v in backend.list_backtests(user, pid)]
    portfolio = result["totalPerformance"]["portfolioStatistics"]
    assert summary["sharpeRatio"] == portfolio["sharpeRatio"]
    assert summary["drawdown"] == portfolio["drawdown"]
    assert summary["trades"] == int(result["statistics"]["Total Orders"])
    assert summary["parameters"] == 1 and summary["status"] == "Completed."
    backend.update_backtest(user, pid, backtest_id, name="renamed", note="a note")
    assert wire.backtest(backend.read_backtest(user, pid, backtest_id))["note"] == "a note"
    backend.delete_backtest(user, pid, backtest_id)
    assert backend.list_backtests(user, pid) == []


def test_wire_reads_of_orders_charts_and_logs(lean_data: Path) -> None:
    backend, user = build(lean_data, timing=Timing.after_polls(2))
    pid, cid = compiled_project(backend, user)
    with EmulatorServer(backend) as server:
        api = Api(server.url)
        created = api.ok("backtests/create", json={"projectId": pid, "compileId": cid, "backtestName": "wire"})
        backtest_id = created["backtest"]["backtestId"]
        pending = api.ok("backtests/chart/read", json={"projectId": pid, "backtestId": backtest_id,
                                                       "name": "Strategy Equity", "count": 10, "start": 0,
                                                       "end": 2_000_000_000})
        assert pending["status"] == "loading"
        running = api.get("backtests/read", projectId=pid, backtestId=backtest_id)["backtest"]
        assert running["statistics"] == [] and running["completed"] is False
        done = api.get("backtests/read", projectId=pid, backtestId=backtest_id)["backtest"]
        assert done["completed"] is True
        orders = api.ok("backtests/read/orders", json={"projectId": pid, "backtestId": backtest_id,
                                                       "start": 0, "end": 100})
        assert orders["length"] >= 1 and len(orders["orders"]) == orders["length"]
        refused = api.post("backtests/orders/read", json={"projectId": pid, "backtestId": backtest_id,
                                                          "start": 0, "end": 101})
        assert refused["success"] is False and "at most 100" in refused["errors"][0]
        chart = api.ok("backtests/chart/read", json={"projectId": pid, "backtestId": backtest_id,
                                                     "name": "Strategy Equity", "count": 10, "start": 0,
                                                     "end": 2_000_000_000})["chart"]
        assert chart["name"] == "Strategy Equity" and chart["series"]
        assert all(len(s["values"]) <= 10 for s in chart["series"].values())
        assert api.ok("backtests/read/log", json={"projectId": pid, "backtestId": backtest_id, "start": 0,
                                                  "end": 10})["length"] >= 0
    backend.close()


def test_concurrent_clients_creating_backtests_lose_and_duplicate_nothing(lean_data: Path) -> None:
    backend, user = build(lean_data, timing=Timing.real(), workers=2)
    pid, cid = compiled_project(backend, user)
    with EmulatorServer(backend) as server:
        clients = [Api(server.url) for _ in range(4)]

        def create(index: int) -> str:
            body = clients[index % 4].ok("backtests/create", json={
                "projectId": pid, "compileId": cid, "backtestName": f"c{index}", "parameters": {"weight": "0.9"}})
            return str(body["backtest"]["backtestId"])

        with ThreadPoolExecutor(max_workers=4) as pool:
            ids = list(pool.map(create, range(8)))
        assert len(set(ids)) == 8
        assert backend.wait_idle(120)
        listed = clients[0].ok("backtests/list", json={"projectId": pid})["backtests"]
        assert sorted(b["backtestId"] for b in listed) == sorted(ids)
        assert {b["status"] for b in listed} == {"Completed."}
        assert sorted(b["name"] for b in listed) == sorted(f"c{i}" for i in range(8))
    backend.close()


def test_unfinished_backtests_run_again_after_a_restart(lean_data: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first, user = build(lean_data, state_dir=state, timing=Timing.real(), workers=1)
    pid, cid = compiled_project(first, user)
    ids = [first.create_backtest(user, pid, cid, f"r{i}").record.backtest_id for i in range(3)]
    first.close()  # the queued ones are cancelled mid-flight
    second, user = build(lean_data, state_dir=state, timing=Timing.real())
    assert second.wait_idle(120)
    assert [second.read_backtest(user, pid, b).status for b in ids] == ["Completed."] * 3
    second.close()


def test_an_emulator_backtest_equals_qcloop_backtest_of_the_same_algorithm(
        engine: tuple[EmulatorBackend, UserRecord], lean_data: Path, tmp_path: Path,
        cli: Callable[..., CliResult]) -> None:
    backend, user = engine
    pid, cid = compiled_project(backend, user)
    backtest_id = backend.create_backtest(user, pid, cid, "parity", {"weight": "0.75"}).record.backtest_id
    emulated = backend.read_backtest(user, pid, backtest_id).result
    algorithm = tmp_path / "main.py"
    algorithm.write_text(WEIGHTED_SPY, encoding="utf-8")
    output = tmp_path / "result.json"
    ran = cli(["backtest", str(algorithm), "--data-folder", str(lean_data), "--parameter", "weight", "0.75",
               "--output", str(output), "--quiet"])
    assert ran.code == 0, ran.stderr
    local = json.loads(output.read_text(encoding="utf-8"))
    assert emulated is not None
    assert emulated["statistics"] == local["statistics"]
    assert emulated["runtimeStatistics"] == local["runtimeStatistics"]
    assert emulated["totalPerformance"]["portfolioStatistics"] == local["totalPerformance"]["portfolioStatistics"]
