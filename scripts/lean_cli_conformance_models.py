"""Drive the emulator with the lean CLI's own API client and parse every reply with its models.

Run by ``scripts/lean_cli_conformance.sh`` with the lean CLI's Python (``$LEAN_VENV/bin/python``), with
``HOME`` holding the credentials ``lean login`` wrote and ``QC_API=local``. Each call goes through
``lean.components.api`` (its transport, its form/JSON/GET choices) and each reply through the pydantic
models of ``lean.models.api``; a reply that does not fit raises, and the script exits non-zero.

    python scripts/lean_cli_conformance_models.py "Project Name"
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from lean.container import container
from lean.models.api import QCCompileState, QCLanguage, QCOptimization
from lean.models.optimizer import (
    OptimizationConstraint,
    OptimizationExtremum,
    OptimizationParameter,
    OptimizationTarget,
)

GRID_SEARCH = "QuantConnect.Optimizer.Strategies.GridSearchOptimizationStrategy"
checks: list[str] = []


def check(what: str, action: Callable[[], Any]) -> Any:
    result = action()
    checks.append(what)
    print(f"  ok  {what}")
    return result


def wait(what: str, probe: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not finish within {timeout:g} s")
        time.sleep(0.25)


def main(project_name: str) -> int:
    api = container.api_client
    organization = check("organizations/list -> QCMinimalOrganization", api.organizations.get_all)[0]
    check("organizations/read -> QCFullOrganization", lambda: api.organizations.get(organization.id))
    check("account/read -> QCAccount", lambda: api.accounts.get_organization(organization.id))
    check("user/read -> QCUser", lambda: api.users.get_info(organization.id))
    check("lean/environments/read -> QCLeanEnvironment", api.lean.environments)
    projects = check("projects/read (all) -> QCProject", lambda: api.projects.get_all(organization.id))
    project = next(p for p in projects if p.name == project_name)
    check("projects/read (one) -> QCProject", lambda: api.projects.get(project.projectId, organization.id))
    check("files/read (all) -> QCFullFile", lambda: api.files.get_all(project.projectId))
    check("files/read (one) -> QCMinimalFile", lambda: api.files.get(project.projectId, "main.py"))
    check("nodes/read -> QCNodeList", lambda: api.nodes.get_all(organization.id))

    created = check("projects/create -> QCProject", lambda: api.projects.create(
        f"{project_name} models", QCLanguage.Python, organization.id))
    check("files/create, files/update, files/delete", lambda: (
        api.files.create(created.projectId, "extra.py", "x = 1\n"),
        api.files.update(created.projectId, "extra.py", "x = 2\n"),
        api.files.delete(created.projectId, "extra.py")))
    check("projects/delete", lambda: api.projects.delete(created.projectId))

    compiled = check("compile/create -> QCCompile", lambda: api.compiles.create(project.projectId))
    built = wait("compile", lambda: api.compiles.get(project.projectId, compiled.compileId),
                 lambda c: c.state != QCCompileState.InQueue)
    assert built.state == QCCompileState.BuildSuccess, built.logs
    checks.append("compile/read -> QCCompileWithLogs (BuildSuccess)")

    backtests = check("backtests/list", lambda: api.backtests.list(project.projectId))
    backtest = check("backtests/read -> QCBacktest (complete)",
                     lambda: api.backtests.get(project.projectId, backtests[0]["backtestId"]))
    assert backtest.is_complete() and backtest.totalPerformance, "the backtest is not complete"
    check("backtests/orders/read", lambda: api.backtests.read_orders(project.projectId, backtest.backtestId, 0, 100))
    check("backtests/chart/read", lambda: api.backtests.read_chart(
        project.projectId, backtest.backtestId, "Strategy Equity", 0, 2_000_000_000, 50))
    check("backtests/read/log", lambda: api.backtests.read_log(project.projectId, backtest.backtestId, 0, 200))
    check("backtests/create -> QCBacktest", lambda: api.backtests.create(
        project.projectId, built.compileId, "models check", {"period": "10"}))

    target = OptimizationTarget(target="TotalPerformance.PortfolioStatistics.SharpeRatio",
                                extremum=OptimizationExtremum.Maximum)
    parameters = [OptimizationParameter(name="period", min=10, max=30, step=20)]
    constraints = [OptimizationConstraint(**{"target": "TotalPerformance.PortfolioStatistics.Drawdown",
                                             "operator": "less", "target-value": 0.5})]
    check("optimizations/estimate -> QCOptimizationEstimate", lambda: api.optimizations.estimate(
        project.projectId, built.compileId, "models check", GRID_SEARCH, target, parameters, constraints, "O2-8", 2))
    optimization = check("optimizations/create -> QCOptimization", lambda: api.optimizations.create(
        project.projectId, built.compileId, "models check", GRID_SEARCH, target, parameters, constraints, "O2-8", 2))
    finished: QCOptimization = wait("optimization", lambda: api.optimizations.get(optimization.optimizationId),
                                    lambda o: o.status not in ("new", "running", "active"))
    assert finished.status == "completed" and len(finished.backtests) == 2, finished
    assert all(len(b.statistics) == 21 for b in finished.backtests.values())
    checks.append("optimizations/read -> QCOptimization (completed, 21-number statistics)")
    check("optimizations/delete", lambda: api.optimizations.delete(optimization.optimizationId))

    live = check("live/create -> QCMinimalLiveAlgorithm", lambda: api.live.start(
        project.projectId, built.compileId, "N-emulator-live", {"id": "QuantConnectBrokerage"},
        {"QuantConnectBrokerage": {"id": "QuantConnectBrokerage"}}, False, -1, False, False, []))
    wait("live deployment", lambda: api.live.get_project_by_id(project.projectId),
         lambda d: d.status is not None and d.status.value == "Running")
    checks.append("live/read -> QCFullLiveAlgorithm (Running)")
    check("live/update/liquidate -> QCRestResponse", lambda: api.live.liquidate_and_stop(live.projectId))

    print(f"{len(checks)} checks passed with lean-cli's own client and models")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "Conformance Project"))
