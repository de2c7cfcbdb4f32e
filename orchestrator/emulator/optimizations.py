"""Optimizations: a grid of real engine backtests under the cloud optimizer's rules.

The rules and numbers (grid search only, node types and their limits, at most two parameters, the
estimate, the 21-number statistics arrays) live in ``optimization_rules.py``; this mixin holds the
records and runs the grid points one after another in a background worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.emulator import optimization_rules as opt_rules
from orchestrator.emulator.core import COMPLETED, BackendCore, new_hex
from orchestrator.emulator.errors import ConflictError, InvalidArgumentError, NotFoundError, require
from orchestrator.emulator.runner import RunRequest, run_project
from orchestrator.emulator.state import (
    JobPhase,
    OptimizationConstraint,
    OptimizationParameter,
    OptimizationPoint,
    OptimizationRecord,
    OptimizationStatus,
    ProjectRecord,
    UserRecord,
    utc_now,
)
from orchestrator.emulator.timing import TimingKind, View

DEFAULT_SECONDS_PER_BACKTEST = 30.0


@dataclass
class OptimizationView:
    record: OptimizationRecord
    finished: bool
    status: OptimizationStatus
    points: list[OptimizationPoint]


class OptimizationsMixin(BackendCore):
    """optimizations/*."""

    def _optimization_inputs(
        self, project: ProjectRecord, parameters: Sequence[Mapping[str, Any]], target: str, target_to: str,
        strategy: str,
    ) -> list[OptimizationParameter]:
        require(bool(parameters), "At least one optimization parameter is required")
        require(len(parameters) <= opt_rules.MAX_PARAMETERS,
                f"You can optimize up to {opt_rules.MAX_PARAMETERS} parameters in the cloud")
        require(target in opt_rules.TARGETS,
                f"Target '{target}' is not supported: use one of {', '.join(opt_rules.TARGETS)}")
        require(target_to in ("min", "max"), "targetTo must be 'min' or 'max'")
        require(strategy == opt_rules.GRID_SEARCH,
                f"Strategy '{strategy}' is not supported in the cloud: use {opt_rules.GRID_SEARCH}")
        parsed = []
        for entry in parameters:
            name = str(entry.get("name") or entry.get("key") or "").strip()
            require(bool(name), "Every optimization parameter needs a name")
            try:
                low, high, step = (float(entry[k]) for k in ("min", "max", "step"))
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidArgumentError(f"Parameter '{name}' needs numeric min, max and step") from exc
            require(step > 0, f"Parameter '{name}': step must be positive")
            require(high >= low, f"Parameter '{name}': max must not be less than min")
            parsed.append(OptimizationParameter(name=name, min=low, max=high, step=step))
        return parsed

    def _seconds_per_backtest(self, project: ProjectRecord) -> float:
        """The mean runtime of the project's earlier grid backtests, else a default: the estimate only
        needs the right order of magnitude."""
        with self._lock:
            runtimes = [p.runtime_seconds for o in self._state.optimizations if o.project_id == project.project_id
                        for p in o.points if p.phase is JobPhase.DONE and p.runtime_seconds > 0]
        return sum(runtimes) / len(runtimes) if runtimes else DEFAULT_SECONDS_PER_BACKTEST

    def estimate_optimization(
        self, user: UserRecord, project_id: int, *, parameters: Sequence[Mapping[str, Any]], target: str,
        target_to: str, strategy: str, node_type: str = "O2-8", parallel_nodes: int | None = None,
    ) -> opt_rules.Estimate:
        project = self._project(user, project_id)
        params = self._optimization_inputs(project, parameters, target, target_to, strategy)
        node = self._node(node_type)
        points = opt_rules.grid_size([(p.min, p.max, p.step) for p in params])
        parallel = min(parallel_nodes or node.max_parallel, node.max_parallel)
        return opt_rules.estimate(points, node, parallel, self._seconds_per_backtest(project))

    def _node(self, node_type: str) -> opt_rules.NodeType:
        node = opt_rules.NODE_TYPES.get(node_type)
        if node is None:
            raise InvalidArgumentError(f"Node type '{node_type}' is not available: use one of "
                                  f"{', '.join(opt_rules.NODE_TYPES)}")
        return node

    def create_optimization(
        self, user: UserRecord, project_id: int, *, name: str, target: str, target_to: str,
        target_value: float | None, strategy: str, compile_id: str, parameters: Sequence[Mapping[str, Any]],
        constraints: Sequence[Mapping[str, Any]], estimated_cost: float, node_type: str, parallel_nodes: int,
    ) -> OptimizationRecord:
        project = self._project(user, project_id)
        require(bool((name or "").strip()), "Optimization name is required")
        params = self._optimization_inputs(project, parameters, target, target_to, strategy)
        node = self._node(node_type)
        require(1 <= parallel_nodes <= node.max_parallel,
                f"Node type {node.name} allows 1 to {node.max_parallel} parallel nodes, not {parallel_nodes}")
        build = self._buildable(project, compile_id)
        data_folder = self._require_data()
        parsed_constraints = [self._constraint(c) for c in constraints]
        grid = opt_rules.grid_points([p.name for p in params], [(p.min, p.max, p.step) for p in params])
        record = OptimizationRecord(
            optimization_id=f"O-{new_hex()}", project_id=project.project_id,
            organization_id=project.organization_id, compile_id=build.compile_id, name=name.strip(),
            created=utc_now(), target=target, target_to=target_to, target_value=target_value, strategy=strategy,
            node_type=node.name, parallel_nodes=parallel_nodes, estimated_cost=float(estimated_cost),
            parameters=params, constraints=parsed_constraints,
            points=[OptimizationPoint(backtest_id=new_hex(), name=f"{name.strip()} #{i + 1}", parameter_set=p)
                    for i, p in enumerate(grid)],
        )
        with self._mutating() as state:
            state.optimizations.append(record)
        self._start_optimization(record, build.files, project.parameters, data_folder)
        return record

    def _constraint(self, raw: Mapping[str, Any]) -> OptimizationConstraint:
        target = str(raw.get("target") or "")
        operator = opt_rules.normalize_operator(str(raw.get("operator") or ""))
        value = raw.get("targetValue", raw.get("target-value"))
        require(bool(target), "Every constraint needs a target")
        require(operator is not None, f"Constraint operator '{raw.get('operator')}' is not one of "
                f"{', '.join(opt_rules.CONSTRAINT_OPERATORS)}")
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"Constraint on '{target}' needs a numeric targetValue") from exc
        assert operator is not None
        return OptimizationConstraint(target=target, operator=operator, target_value=number)

    def _start_optimization(
        self, record: OptimizationRecord, files: Mapping[str, str], project_parameters: Mapping[str, str],
        data_folder: Path,
    ) -> None:
        abort = threading.Event()
        self._aborts[record.optimization_id] = abort

        def work() -> None:
            with self._mutating():
                if record.status is OptimizationStatus.NEW:
                    record.status = OptimizationStatus.RUNNING
                    record.started = utc_now()
            for point in record.points:
                if abort.is_set() or self._closed:
                    break
                if point.phase is JobPhase.DONE:
                    continue
                self._run_point(point, files, {**project_parameters, **point.parameter_set}, data_folder)
            with self._mutating():
                if record.status is OptimizationStatus.RUNNING and not abort.is_set():
                    record.status = OptimizationStatus.COMPLETED
                record.finished = record.finished or utc_now()

        self._submit(record.optimization_id, work, self.timing)

    def _run_point(
        self, point: OptimizationPoint, files: Mapping[str, str], parameters: dict[str, str], data_folder: Path,
    ) -> None:
        started = time.monotonic()
        result = run_project(self.runner, files, RunRequest(Path("."), data_folder, parameters), lambda _: None)
        performance = result.get("totalPerformance") or {}
        with self._mutating():
            point.phase = JobPhase.DONE
            point.exit_code = 0 if result.get("status") == COMPLETED else 1
            point.statistics = {str(k): str(v) for k, v in (result.get("statistics") or {}).items()}
            point.portfolio_statistics = dict(performance.get("portfolioStatistics") or {})
            point.equity = _equity_candles(result.get("charts") or {})
            point.start_date = _date_text(result.get("backtestStart"))
            point.end_date = _date_text(result.get("backtestEnd"))
            point.runtime_seconds = round(time.monotonic() - started, 3)

    def _optimization(self, user: UserRecord, optimization_id: str | None) -> OptimizationRecord:
        require(bool(optimization_id and str(optimization_id).strip()), "Optimization id is required")
        with self._lock:
            found = next((o for o in self._state.optimizations if o.optimization_id == optimization_id), None)
        if found is None or found.organization_id != user.organization_id:
            raise NotFoundError(f"Optimization not found: {optimization_id}")
        return found

    def read_optimization(self, user: UserRecord, optimization_id: str) -> OptimizationView:
        record = self._optimization(user, optimization_id)
        with self._lock:
            record.reads += 1
            reads = record.reads
        if record.status is OptimizationStatus.ABORTED:
            return OptimizationView(record, True, record.status, [p for p in record.points if p.phase is JobPhase.DONE])
        done_points = sum(p.phase is JobPhase.DONE for p in record.points)
        total = max(len(record.points), 1)
        view = self._gate_view(record.optimization_id, reads, done_points / total)
        return self._optimization_view(record, view)

    def _optimization_view(self, record: OptimizationRecord, view: View) -> OptimizationView:
        done = [p for p in record.points if p.phase is JobPhase.DONE]
        if view.finished:
            return OptimizationView(record, True, record.status, done)
        shown = done[: int(view.progress * len(record.points))]
        status = OptimizationStatus.RUNNING if (view.progress > 0 or shown) else OptimizationStatus.NEW
        return OptimizationView(record, False, status, shown)

    def peek_optimization(self, record: OptimizationRecord) -> OptimizationView:
        """What a list shows (no read counted, no waiting)."""
        done = [p for p in record.points if p.phase is JobPhase.DONE]
        if record.status is OptimizationStatus.ABORTED:
            return OptimizationView(record, True, record.status, done)
        if record.status is OptimizationStatus.COMPLETED and self._gate_released(record.optimization_id, record.reads):
            return OptimizationView(record, True, record.status, done)
        gate = self._gates.get(record.optimization_id)
        real = gate is None or gate.timing.kind is TimingKind.REAL
        started = record.reads > 0 or (real and record.status is not OptimizationStatus.NEW)
        return OptimizationView(record, False, OptimizationStatus.RUNNING if started else OptimizationStatus.NEW,
                                done if real else [])

    def list_optimizations(self, user: UserRecord, project_id: int) -> list[OptimizationView]:
        project = self._project(user, project_id)
        with self._lock:
            records = [o for o in self._state.optimizations if o.project_id == project.project_id]
        return [self.peek_optimization(o) for o in sorted(records, key=lambda o: o.created)]

    def abort_optimization(self, user: UserRecord, optimization_id: str) -> None:
        record = self._optimization(user, optimization_id)
        visible = self.peek_optimization(record)
        if visible.finished:
            raise ConflictError(
                f"Optimization {optimization_id} has already {record.status.value}: it cannot be aborted")
        self._aborts.get(record.optimization_id, threading.Event()).set()
        with self._mutating():
            record.status = OptimizationStatus.ABORTED
            record.finished = utc_now()

    def update_optimization(self, user: UserRecord, optimization_id: str, name: str) -> None:
        record = self._optimization(user, optimization_id)
        require(bool((name or "").strip()), "Optimization name is required")
        with self._mutating():
            record.name = name.strip()

    def delete_optimization(self, user: UserRecord, optimization_id: str) -> None:
        record = self._optimization(user, optimization_id)
        self._aborts.get(record.optimization_id, threading.Event()).set()
        with self._mutating() as state:
            state.optimizations = [o for o in state.optimizations if o.optimization_id != record.optimization_id]


def _date_text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _equity_candles(charts: Mapping[str, Any]) -> list[list[float]]:
    """``[time, open, high, low, close]`` rows from the result's Strategy Equity chart, whatever the
    engine's point shape (candles, ``[t, v]`` pairs or ``{x, y}`` objects)."""
    chart = charts.get("Strategy Equity") if isinstance(charts, Mapping) else None
    series = (chart or {}).get("series") or {} if isinstance(chart, Mapping) else {}
    equity = series.get("Equity") if isinstance(series, Mapping) else None
    values = (equity or {}).get("values") or [] if isinstance(equity, Mapping) else []
    rows: list[list[float]] = []
    for point in values:
        if isinstance(point, Mapping) and "x" in point:
            y = float(point.get("y") or 0)
            rows.append([float(point["x"]), y, y, y, y])
        elif isinstance(point, list | tuple) and len(point) >= 5:
            rows.append([float(v) for v in point[:5]])
        elif isinstance(point, list | tuple) and len(point) == 2:
            rows.append([float(point[0]), *([float(point[1])] * 4)])
    return rows
