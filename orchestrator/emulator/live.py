"""Paper live deployments: a replay of the newest data, then a portfolio that waits (docs/emulator.md).

Only QuantConnect's paper brokerage is emulated. A deployment replays the compile's snapshot over the
last ``live_replay_days`` of the data folder and keeps the replay's final portfolio
(``live_rules.py``) until it is stopped or liquidated.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.emulator import live_rules
from orchestrator.emulator import optimization_rules as opt_rules
from orchestrator.emulator.core import COMPLETED, BackendCore, as_parameter, new_hex
from orchestrator.emulator.errors import ConflictError, NotFoundError, UnsupportedRequestError, require
from orchestrator.emulator.runner import RunRequest, daily_close, latest_daily_date, run_project
from orchestrator.emulator.state import JobPhase, LiveRecord, LiveStatus, UserRecord, utc_now

PAPER_BROKERAGE = "QuantConnectBrokerage"
ACTIVE = (LiveStatus.IN_QUEUE, LiveStatus.INITIALIZING, LiveStatus.RUNNING)


@dataclass
class LiveView:
    record: LiveRecord
    status: LiveStatus
    result: dict[str, Any] | None
    project_name: str


def _starting_cash(cash: Any) -> float:
    if isinstance(cash, list):
        for entry in cash:
            if isinstance(entry, Mapping) and str(entry.get("currency", "USD")).upper() == "USD":
                try:
                    return float(entry.get("amount", 0))
                except (TypeError, ValueError):
                    break
    return 100_000.0


class LiveMixin(BackendCore):
    """live/*."""

    def create_live(
        self, user: UserRecord, project_id: int, *, compile_id: str, node_id: str, brokerage: Mapping[str, Any],
        parameters: Mapping[str, Any] | None = None,
    ) -> LiveRecord:
        project = self._project(user, project_id)
        build = self._buildable(project, compile_id)
        require(bool((node_id or "").strip()), "nodeId is required: the live node to deploy on")
        require(isinstance(brokerage, Mapping) and bool(brokerage.get("id")), "brokerage.id is required")
        if brokerage.get("id") != PAPER_BROKERAGE:
            raise UnsupportedRequestError(
                f"The qcloop emulator only paper-trades: brokerage id '{brokerage.get('id')}' is not emulated, "
                f"use '{PAPER_BROKERAGE}'")
        data_folder = self._require_data()
        cash = _starting_cash(brokerage.get("cash"))
        record = LiveRecord(
            deploy_id=f"L-{new_hex()}", project_id=project.project_id, organization_id=project.organization_id,
            compile_id=build.compile_id, node_id=node_id, brokerage=dict(brokerage),
            parameters={**project.parameters, **{str(k): as_parameter(v) for k, v in (parameters or {}).items()}},
            launched=utc_now(), starting_cash=cash, cash=cash,
        )
        with self._mutating() as state:  # checked and added at once: two racing creates, one deployment
            if any(d.project_id == project.project_id and d.status in ACTIVE for d in state.live):
                raise ConflictError("The project already has a running live algorithm: stop it first")
            state.live.append(record)
        self._start_live(record, build.files, data_folder)
        return record

    def _start_live(self, record: LiveRecord, files: Mapping[str, str], data_folder: Path) -> None:
        end = latest_daily_date(data_folder)
        start = end - dt.timedelta(days=self.live_replay_days) if end else None

        def work() -> None:
            with self._mutating():
                record.phase = JobPhase.RUNNING
                record.status = LiveStatus.INITIALIZING if record.status is LiveStatus.IN_QUEUE else record.status
                record.replay_start = start.isoformat() if start else None
                record.replay_end = end.isoformat() if end else None
            request = RunRequest(Path("."), data_folder, dict(record.parameters), start=start, end=end,
                                 cash=record.starting_cash)
            result = run_project(self.runner, files, request, lambda _: None)
            if not self._save_result(record.deploy_id, result):
                return
            with self._mutating():
                record.phase = JobPhase.DONE
                if result.get("status") != COMPLETED:
                    record.status, record.error = LiveStatus.RUNTIME_ERROR, str(result.get("error") or "")
                    return
                self._settle_portfolio(record, result, data_folder, end)
                if record.status is LiveStatus.INITIALIZING:
                    record.status = LiveStatus.RUNNING

        self._submit(record.deploy_id, work, self.timing)

    def _settle_portfolio(self, record: LiveRecord, result: Mapping[str, Any], data_folder: Path,
                          end: dt.date | None) -> None:
        held = live_rules.positions(result.get("orders") or [])
        for holding in held.values():
            close = daily_close(data_folder, holding.symbol, end) if end else None
            if close is not None:
                holding.price = close
        performance = result.get("totalPerformance") or {}
        equity = (performance.get("portfolioStatistics") or {}).get("endEquity")
        if equity is None:
            summary = result.get("statistics") or {}
            equity = opt_rules.statistic_number(summary.get("End Equity", record.starting_cash))
        record.holdings = list(held.values())
        record.cash = float(equity) - sum(h.quantity * h.price for h in held.values())

    def _deployment(self, user: UserRecord, project_id: int, deploy_id: str | None = None) -> LiveRecord:
        project = self._project(user, project_id)
        with self._lock:
            candidates = [d for d in self._state.live if d.project_id == project.project_id
                          and (deploy_id is None or d.deploy_id == deploy_id)]
        if not candidates:
            raise NotFoundError("No live algorithm found for this project" + (f": {deploy_id}" if deploy_id else ""))
        return candidates[-1]  # the newest: deployments are appended in the order they were made

    def read_live(self, user: UserRecord, project_id: int, deploy_id: str | None = None) -> LiveView:
        record = self._deployment(user, project_id, deploy_id)
        with self._lock:
            record.reads += 1
            reads = record.reads
        view = self._gate_view(record.deploy_id, reads, 0.5 if record.phase is JobPhase.RUNNING else 0.0)
        return self._live_view(record, view.finished)

    def _live_view(self, record: LiveRecord, finished: bool) -> LiveView:
        project_name = next((p.name for p in self._state.projects if p.project_id == record.project_id), "")
        if record.status in (LiveStatus.STOPPED, LiveStatus.LIQUIDATED):
            return LiveView(record, record.status, self.store.load_result(record.deploy_id), project_name)
        if not finished:
            status = LiveStatus.IN_QUEUE if record.phase is JobPhase.QUEUED else LiveStatus.INITIALIZING
            return LiveView(record, status, None, project_name)
        return LiveView(record, record.status, self.store.load_result(record.deploy_id), project_name)

    def list_live(
        self, user: UserRecord, *, project_id: int | None = None, status: str | None = None,
    ) -> list[LiveView]:
        with self._lock:
            records = [d for d in self._state.live if d.organization_id == user.organization_id
                       and (project_id is None or d.project_id == project_id)]
        views = [self._live_view(d, self._gate_released(d.deploy_id, d.reads)) for d in records]
        if status:
            views = [v for v in views if v.status.value == status]
        return sorted(views, key=lambda v: v.record.launched)

    def stop_live(self, user: UserRecord, project_id: int, *, liquidate: bool = False) -> LiveRecord:
        record = self._deployment(user, project_id)
        if record.status not in ACTIVE:
            raise ConflictError(f"The live algorithm is not running (status {record.status.value})")
        # Stopping waits for the replay: its holdings are what a liquidation sells.
        self._done.get(record.deploy_id, threading.Event()).wait(600)
        now = utc_now()
        with self._mutating():
            if liquidate and record.status is not LiveStatus.RUNTIME_ERROR:
                first_id = len(self._live_orders(record)) + 1
                record.extra_orders.extend(live_rules.liquidation_orders(record.holdings, first_id, now))
                record.cash += sum(h.quantity * h.price for h in record.holdings)
                record.holdings = []
            if record.status is not LiveStatus.RUNTIME_ERROR:
                record.status = LiveStatus.LIQUIDATED if liquidate else LiveStatus.STOPPED
            record.stopped = now
            return record

    def _live_orders(self, record: LiveRecord) -> list[dict[str, Any]]:
        result = self.store.load_result(record.deploy_id) or {}
        return [*(result.get("orders") or []), *record.extra_orders]

    def live_portfolio(self, user: UserRecord, project_id: int) -> dict[str, Any]:
        record = self._deployment(user, project_id)
        return live_rules.portfolio(record.holdings, record.cash)

    def live_orders(self, user: UserRecord, project_id: int) -> list[dict[str, Any]]:
        record = self._deployment(user, project_id)
        if record.phase is not JobPhase.DONE:
            return []
        return self._live_orders(record)

    def live_logs(self, user: UserRecord, project_id: int, deploy_id: str | None) -> list[str]:
        record = self._deployment(user, project_id, deploy_id)
        result = self.store.load_result(record.deploy_id) or {}
        return [str(line) for line in result.get("logs") or []]
