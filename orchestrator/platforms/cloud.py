"""The cloud platform: QuantConnect's API v2 (or the emulator, with ``--api-url``), and a person who
runs the research notebooks in QuantConnect Research.

Built on the API client's workflow (``cloud/workflow.py``): projects and backtests are found by their
deterministic names before anything is created, and a create call whose outcome is unknown is never
repeated blindly. Backtests are created and then polled by the loop (nothing here waits for one to
finish), so other hypotheses move meanwhile.

A finished backtest's ``backtests/read`` reply carries chart summaries only; the daily equity the loop
needs (Sharpe ratio, return moments) is read with ``backtests/chart/read``.

Notebooks are uploaded as project files. Their results come back through three channels: the
notebook read back from the project (which QuantConnect sometimes returns with empty outputs), the
record the notebook saved to the Object Store, and the workspace's ``inbox/`` folder.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.cloud.client import QCClient
from orchestrator.cloud.metrics import metrics_from_optimization
from orchestrator.cloud.schemas import Backtest, CompileState, OptimizationParameter
from orchestrator.cloud.transport import RetryPolicy
from orchestrator.cloud.workflow import CloudWorkflow, same_name
from orchestrator.config import Settings
from orchestrator.credentials import require_credentials
from orchestrator.errors import CloudError, RequestFailedError
from orchestrator.platforms.base import (
    BacktestWindow,
    CompileOutcome,
    NotebookOutcome,
    NotebookPlacement,
    OptimizationEstimate,
    OptimizationPoint,
    ProjectHandle,
    RemoteBacktest,
    RemoteOptimization,
    collect_outcome,
)

log = logging.getLogger(__name__)

EQUITY_CHART = "Strategy Equity"  # the daily equity every figure is computed from: required
EQUITY_CHARTS = (EQUITY_CHART, "Benchmark")
CHART_POINTS = 100_000            # ask for every daily point of a long backtest
NODE_TYPE = "O2-8"
NODE_USD_PER_HOUR = 0.15          # lean-cli's figure for O2-8 nodes (reference/qc-api.md §3.6)
PARALLEL_NODES = 4
QCC_PER_USD = 100.0
WINDOW_PARAMETERS = ("start", "end")  # ISO dates the algorithm reads with get_parameter (holdout split)


class CloudPlatform:
    name = "cloud"
    person_runs_notebooks = True
    supports_optimizations = True
    metered = True

    def __init__(self, client: QCClient, settings: Settings) -> None:
        self.client = client
        self.workflow = CloudWorkflow(client)
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Settings, *, api_url: str | None = None,
                      environ: Mapping[str, str] | None = None, home: Path | None = None) -> CloudPlatform:
        credentials = require_credentials(settings.workspace, environ=environ, home=home)
        cloud = settings.cloud
        base_url = api_url or cloud.api_url
        client = QCClient(credentials, base_url=base_url if base_url.endswith("/") else base_url + "/",
                          timeout=cloud.request_timeout_seconds, retry=RetryPolicy(max_attempts=cloud.max_retries + 1))
        return cls(client, settings)

    # ------------------------------------------------------------------------------------ projects

    def _handle(self, name: str, project_id: int) -> ProjectHandle:
        url = self.settings.cloud.research_url.format(project_id=project_id)
        return ProjectHandle(name=name, project_id=str(project_id), url=url)

    def find_project(self, name: str) -> ProjectHandle | None:
        found = self.workflow.find_project(name)
        return self._handle(name, found.projectId) if found is not None else None

    def ensure_project(self, name: str) -> ProjectHandle:
        project = self.workflow.ensure_project(name)
        return self._handle(name, project.projectId)

    def put_files(self, project: ProjectHandle, files: Mapping[str, str]) -> None:
        for name, text in sorted(files.items()):
            self.workflow.upload_file(int(project.project_id), text, name)

    def compile(self, project: ProjectHandle) -> CompileOutcome:
        project_id = int(project.project_id)
        started = self.client.create_compile(project_id)
        result = started if started.finished else self.client.wait_for_compile(
            project_id, started.compileId, timeout=self.settings.cloud.compile_timeout_seconds)
        ok = result.state is CompileState.BUILD_SUCCESS
        return CompileOutcome(ok=ok, compile_id=result.compileId if ok else None, logs=list(result.logs))

    # ------------------------------------------------------------------------------------ backtests

    def _remote(self, project: ProjectHandle, backtest: Backtest) -> RemoteBacktest:
        finished = backtest.finished
        result = None
        if finished and not backtest.failed:
            result = self._with_equity(project, backtest.model_dump(mode="json"))
        return RemoteBacktest(
            backtest_id=backtest.backtestId, name=backtest.name or "", completed=finished,
            progress=1.0 if finished else backtest.progress, error=backtest.error or None,
            stacktrace=backtest.stacktrace or None, result=result,
        )

    def _with_equity(self, project: ProjectHandle, result: dict[str, Any]) -> dict[str, Any]:
        """Fill in the full equity and benchmark series (``backtests/read`` may carry summaries only).

        A failure to read the equity chart propagates (the loop tries again later): without it the
        figures would silently fall back to LEAN's own Sharpe ratio, another convention. The benchmark
        is for display only; a failure to read it is logged.
        """
        charts = dict(result.get("charts") or {})
        end = int(dt.datetime.now(dt.UTC).timestamp())
        for name in EQUITY_CHARTS:
            series = (charts.get(name) or {}).get("series") or {}
            if any((s or {}).get("values") for s in series.values()):
                continue
            try:
                chart = self.client.read_backtest_chart(int(project.project_id), result["backtestId"], name,
                                                        start=0, end=end, count=CHART_POINTS)
            except CloudError as exc:
                if name == EQUITY_CHART:
                    raise
                log.warning("could not read chart %s of backtest %s: %s", name, result["backtestId"], exc)
                continue
            charts[name] = chart.model_dump(mode="json")
        return {**result, "charts": charts}

    def find_backtest(self, project: ProjectHandle, name: str) -> RemoteBacktest | None:
        summary = self.workflow.find_backtest(int(project.project_id), name)
        if summary is None:
            return None
        return self._remote(project, self.client.read_backtest(int(project.project_id), summary.backtestId))

    def create_backtest(
        self, project: ProjectHandle, *, compile_id: str | None, name: str, parameters: Mapping[str, str],
        window: BacktestWindow | None,
    ) -> RemoteBacktest:
        values = dict(parameters)
        if window is not None:
            values.update(zip(WINDOW_PARAMETERS, (window.start.isoformat(), window.end.isoformat()), strict=True))
        if compile_id is None:
            raise RequestFailedError("a cloud backtest needs a compile id", endpoint="backtests/create")
        backtest = self.client.create_backtest(int(project.project_id), compile_id, name, parameters=values)
        return self._remote(project, backtest)

    def read_backtest(self, project: ProjectHandle, backtest_id: str) -> RemoteBacktest:
        return self._remote(project, self.client.read_backtest(int(project.project_id), backtest_id))

    # ------------------------------------------------------------------------------------ optimizations

    @staticmethod
    def _parameters(grid: Mapping[str, list[float]]) -> list[OptimizationParameter]:
        result = []
        for name, values in sorted(grid.items()):
            ordered = sorted(values)
            step = min((b - a for a, b in itertools.pairwise(ordered)), default=1.0) or 1.0
            result.append(OptimizationParameter(name=name, min=ordered[0], max=ordered[-1], step=step))
        return result

    def estimate_optimization(
        self, project: ProjectHandle, *, compile_id: str | None, name: str, grid: Mapping[str, list[float]],
        parameters: Mapping[str, str],
    ) -> OptimizationEstimate:
        estimate = self.client.estimate_optimization(int(project.project_id), compile_id, name,
                                                     self._parameters(grid))
        seconds = float(estimate.time or 0)
        # The reply's `balance` is read as the cost in QuantConnect Credit (100 QCC per dollar); without
        # it, node-hours at the O2-8 price. Neither is documented precisely, so the estimate errs high:
        # never below one cent, since a paid operation is never free.
        if estimate.balance:
            cost = float(estimate.balance) / QCC_PER_USD
        else:
            cost = seconds / 3600.0 * NODE_USD_PER_HOUR * PARALLEL_NODES
        return OptimizationEstimate(cost_usd=max(round(cost, 2), 0.01), seconds=seconds,
                                    estimate_id=estimate.estimateId)

    def find_optimization(self, project: ProjectHandle, name: str) -> RemoteOptimization | None:
        for summary in self.client.list_optimizations(int(project.project_id)):
            if same_name(summary.name, name):
                return self.read_optimization(project, summary.optimizationId)
        return None

    def create_optimization(
        self, project: ProjectHandle, *, compile_id: str | None, name: str, grid: Mapping[str, list[float]],
        parameters: Mapping[str, str], estimate: OptimizationEstimate,
    ) -> RemoteOptimization:
        if compile_id is None:
            raise RequestFailedError("a cloud optimization needs a compile id", endpoint="optimizations/create")
        created = self.client.create_optimization(
            int(project.project_id), compile_id, name, self._parameters(grid), estimated_cost=estimate.cost_usd,
            node_type=NODE_TYPE, parallel_nodes=PARALLEL_NODES)
        return RemoteOptimization(optimization_id=created.optimizationId, name=name)

    def read_optimization(self, project: ProjectHandle, optimization_id: str) -> RemoteOptimization:
        optimization = self.client.read_optimization(optimization_id)
        points = []
        for backtest in optimization.backtests.values():
            if not backtest.succeeded or backtest.statistics is None:
                continue
            metrics = metrics_from_optimization(backtest.statistics)
            if metrics.sharpe_ratio is None:
                continue
            points.append(OptimizationPoint(
                parameters={k: float(v) for k, v in backtest.parameterSet.items()}, sharpe=metrics.sharpe_ratio,
                trades=metrics.total_orders, total_return=metrics.net_profit, drawdown=metrics.drawdown))
        status = optimization.status
        return RemoteOptimization(
            optimization_id=optimization_id, name=optimization.name or "", completed=status.finished,
            progress=optimization.progress or 0.0, failed=status.value == "aborted", detail=status.value,
            points=points,
        )

    # ------------------------------------------------------------------------------------ notebooks

    def put_notebook(self, project: ProjectHandle, file_name: str, notebook_json: str) -> NotebookPlacement:
        self.workflow.upload_file(int(project.project_id), notebook_json, file_name)
        return NotebookPlacement(file_name=file_name, url=project.url, instructions=[
            f"Open the project '{project.name}' in QuantConnect: {project.url}",
            f"Open the notebook {file_name} in Research and click Run All; wait for the last cell's "
            "QCLOOP-RESULT line (the notebook also saves it to the Object Store).",
            "qcloop reads the result back by itself. If it cannot, download the run notebook and drop it "
            f"into {self.settings.inbox}.",
        ])

    def collect_notebook(
        self, project: ProjectHandle, file_name: str, provenance: Mapping[str, Any],
    ) -> NotebookOutcome:
        from orchestrator.notebooks.collect import Channel, InboxChannel, ObjectStoreChannel, ProjectFileChannel

        project_id = int(project.project_id)
        channels: list[Channel] = [
            ProjectFileChannel(read=lambda: self.client.read_file(project_id, file_name).content),
            ObjectStoreChannel(read=self._read_object),
            InboxChannel(self.settings.inbox),
        ]
        return collect_outcome(channels, file_name, provenance, where="QuantConnect Research",
                               inbox=self.settings.inbox)

    def _read_object(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(key)
        except RequestFailedError:
            return None  # not there (yet): the notebook has not saved its record

    def close(self) -> None:
        session = getattr(self.client.transport, "session", None)
        close = getattr(session, "close", None)
        if callable(close):
            close()
