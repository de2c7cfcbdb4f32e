"""Optimizations: the cloud's rules, real engine backtests per grid point, statuses, abort, delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.emulator import EmulatorBackend, Timing, wire
from orchestrator.emulator import optimization_rules as rules
from orchestrator.emulator.errors import ConflictError, InvalidArgumentError, NotFoundError
from orchestrator.emulator.state import UserRecord
from tests.emulator.helpers import TOKEN, USER_ID
from tests.emulator.test_backtests import compiled_project

pytestmark = pytest.mark.usefixtures("engine_available")

SHARPE = "TotalPerformance.PortfolioStatistics.SharpeRatio"
GRID = [{"name": "weight", "min": 0.5, "max": 1.0, "step": 0.5}, {"key": "start_month", "min": 1, "max": 2, "step": 1}]


def build(lean_data: Path, timing: Timing) -> tuple[EmulatorBackend, UserRecord]:
    backend = EmulatorBackend(data_folder=lean_data, timing=timing)
    user, _ = backend.register_user(USER_ID, TOKEN)
    return backend, user


@pytest.fixture
def polled(lean_data: Path) -> Iterator[tuple[EmulatorBackend, UserRecord]]:
    backend, user = build(lean_data, Timing.after_polls(2))
    yield backend, user
    backend.close()


def create(backend: EmulatorBackend, user: UserRecord, pid: int, cid: str, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "name": "grid", "target": SHARPE, "target_to": "max", "target_value": None, "strategy": rules.GRID_SEARCH,
        "compile_id": cid, "parameters": GRID, "constraints": [], "estimated_cost": 0.5, "node_type": "O2-8",
        "parallel_nodes": 4,
    }
    options.update(overrides)
    return backend.create_optimization(user, pid, **options)


def test_the_services_limits_are_enforced(polled: tuple[EmulatorBackend, UserRecord]) -> None:
    backend, user = polled
    pid, cid = compiled_project(backend, user)
    three = [*GRID, {"name": "x", "min": 1, "max": 2, "step": 1}]
    cases = [
        ({"parameters": three}, "up to 2 parameters"),
        ({"parameters": []}, "At least one"),
        ({"strategy": "QuantConnect.Optimizer.Strategies.EulerSearchOptimizationStrategy"}, "not supported"),
        ({"node_type": "O16-32"}, "not available"),
        ({"node_type": "O8-16", "parallel_nodes": 7}, "1 to 6 parallel nodes"),
        ({"target": "TotalPerformance.PortfolioStatistics.Beta"}, "not supported"),
        ({"constraints": [{"target": SHARPE, "operator": "bigger", "targetValue": 1}]}, "operator"),
    ]
    for overrides, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            create(backend, user, pid, cid, **overrides)


def test_estimate_cost_is_the_node_price_times_node_hours(polled: tuple[EmulatorBackend, UserRecord]) -> None:
    backend, user = polled
    pid, _ = compiled_project(backend, user)
    estimate = backend.estimate_optimization(user, pid, parameters=GRID, target=SHARPE, target_to="max",
                                             strategy=rules.GRID_SEARCH, node_type="O4-12", parallel_nodes=2)
    # 2 x 2 = 4 points at the default 30 s each: 2 batches of 2 -> 60 s; 4 x 30 s = 1/30 node-hour x $0.30
    assert (estimate.backtests, estimate.seconds) == (4, 60)
    assert estimate.usd == pytest.approx(0.01) and estimate.qcc == 1


def test_a_grid_runs_real_backtests_and_reports_21_number_statistics(polled: tuple[EmulatorBackend,
                                                                                   UserRecord]) -> None:
    backend, user = polled
    pid, cid = compiled_project(backend, user)
    record = create(backend, user, pid, cid,
                    constraints=[{"target": "TotalPerformance.PortfolioStatistics.Drawdown",
                                  "operator": "less", "target-value": 0.9}])
    assert wire.optimization_summary(backend.peek_optimization(record))["status"] == "new"
    first = wire.optimization(backend.read_optimization(user, record.optimization_id))
    assert first["status"] == "running"
    final = wire.optimization(backend.read_optimization(user, record.optimization_id))
    assert final["status"] == "completed"
    assert final["runtimeStatistics"]["Completed"] == "4" and final["runtimeStatistics"]["Total"] == "4"
    grid = sorted((b["parameterSet"]["weight"], b["parameterSet"]["start_month"]) for b in final["backtests"].values())
    assert grid == [("0.5", "1"), ("0.5", "2"), ("1", "1"), ("1", "2")]
    for point in final["backtests"].values():
        assert point["exitCode"] == 0 and len(point["statistics"]) == 21
        assert all(isinstance(x, float) for x in point["statistics"])
        assert point["equity"] and len(point["equity"][0]) == 5
    # The best point by Sharpe is what the summary reports.
    best = max(final["backtests"].values(), key=lambda b: b["statistics"][15])
    summary = wire.optimization_summary(backend.list_optimizations(user, pid)[0])
    assert summary["sharpeRatio"] == pytest.approx(best["statistics"][15], abs=5e-4)
    with pytest.raises(ConflictError, match="cannot be aborted"):
        backend.abort_optimization(user, record.optimization_id)
    backend.delete_optimization(user, record.optimization_id)
    with pytest.raises(NotFoundError):
        backend.read_optimization(user, record.optimization_id)


def test_a_running_optimization_can_be_aborted(lean_data: Path) -> None:
    backend, user = build(lean_data, Timing.after_polls(50))
    pid, cid = compiled_project(backend, user)
    record = create(backend, user, pid, cid)
    assert wire.optimization(backend.read_optimization(user, record.optimization_id))["status"] == "running"
    backend.abort_optimization(user, record.optimization_id)
    assert wire.optimization(backend.read_optimization(user, record.optimization_id))["status"] == "aborted"
    backend.close()
