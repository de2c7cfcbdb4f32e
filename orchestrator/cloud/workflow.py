"""The convenience workflow over ``QCClient``: project by name, upload, compile, backtest, metrics.

A thin facade: each step is one or two client calls plus the reconciliation that makes paid
operations exactly-once. Objects are identified by deterministic *names* (a project
``qcloop/H-007``, a backtest ``qcloop/H-007/baseline/1``): before creating, look the name up; when a
create call ends with ``OutcomeUnknownError`` (sent, but no usable answer), look it up again and use
what exists rather than creating a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from orchestrator.cloud import polling
from orchestrator.cloud.client import ParameterValue, QCClient
from orchestrator.cloud.metrics import BacktestMetrics, metrics_from_backtest
from orchestrator.cloud.schemas import Backtest, BacktestSummary, Compile, CompileState, Language, Project
from orchestrator.errors import CompileFailedError, OutcomeUnknownError, RequestFailedError

log = logging.getLogger(__name__)

MAIN_FILE = "main.py"


def same_name(remote: str | None, wanted: str) -> bool:
    """QuantConnect strips a leading ``/`` from project names; compare without it."""
    return remote is not None and remote.strip("/") == wanted.strip("/")


@dataclass(frozen=True)
class BacktestRun:
    """A finished backtest run through the workflow. ``metrics`` is None when the backtest failed."""

    project: Project
    outcome: polling.BacktestOutcome
    metrics: BacktestMetrics | None

    @property
    def backtest(self) -> Backtest:
        return self.outcome.backtest


class CloudWorkflow:
    """Project-by-name, upload, compile, backtest and metrics on top of a ``QCClient``."""

    def __init__(self, client: QCClient, *, language: Language = Language.PYTHON) -> None:
        self.client = client
        self.language = language

    # ---------------------------------------------------------------------------------- projects

    def list_projects(self) -> list[Project]:
        """Every project of the account (paged)."""
        return list(self.client.iter_projects())

    def find_project(self, name: str) -> Project | None:
        """The project called ``name``, paging through all projects; None if there is none."""
        for project in self.client.iter_projects():
            if same_name(project.name, name):
                return project
        return None

    def ensure_project(self, name: str) -> Project:
        """The project called ``name``: the existing one, or a new one (exactly once)."""
        existing = self.find_project(name)
        if existing is not None:
            return existing
        try:
            return self.client.create_project(name, language=self.language)
        except OutcomeUnknownError:
            found = self.find_project(name)
            if found is None:
                raise
            log.info("projects/create had no clear answer, but project '%s' exists (id %d): using it",
                     name, found.projectId)
            return found

    # ------------------------------------------------------------------------------------- files

    def upload_file(self, project_id: int, content: str, name: str = MAIN_FILE) -> None:
        """Put ``content`` into file ``name`` (default ``main.py``): update it, or create it if absent."""
        try:
            self.client.update_file(project_id, name, content)
            return
        except RequestFailedError:
            if self._has_file(project_id, name):
                raise  # the file exists, so the update failed for another reason
        try:
            self.client.create_file(project_id, name, content)
        except OutcomeUnknownError:
            if not self._has_file(project_id, name):
                raise
            self.client.update_file(project_id, name, content)  # it exists now; make sure of its content

    def _has_file(self, project_id: int, name: str) -> bool:
        return any(file.name == name for file in self.client.list_files(project_id))

    # ----------------------------------------------------------------------------------- compile

    def compile(self, project_id: int, *, timeout: float = polling.DEFAULT_COMPILE_TIMEOUT,
                progress: polling.ProgressCallback | None = None) -> Compile:
        """Compile the project and wait; ``CompileFailedError`` (with the build log) on BuildError."""
        started = self.client.create_compile(project_id)
        result = started if started.finished else self.client.wait_for_compile(
            project_id, started.compileId, timeout=timeout, progress=progress)
        if result.state is CompileState.BUILD_ERROR:
            raise CompileFailedError(project_id=project_id, compile_id=result.compileId, logs=result.logs)
        return result

    # --------------------------------------------------------------------------------- backtests

    def find_backtest(self, project_id: int, name: str) -> BacktestSummary | None:
        """The newest backtest of the project called ``name``, or None."""
        matches = [summary for summary in self.client.list_backtests(project_id) if summary.name == name]
        if not matches:
            return None
        return max(matches, key=lambda summary: summary.created.timestamp() if summary.created else float("-inf"))

    def start_backtest(
        self, project_id: int, name: str, *, parameters: Mapping[str, ParameterValue] | None = None,
        compile_timeout: float = polling.DEFAULT_COMPILE_TIMEOUT, reuse_existing: bool = True,
    ) -> Backtest:
        """Compile and create backtest ``name`` (exactly once: an existing one is reused by default)."""
        if reuse_existing:
            existing = self.find_backtest(project_id, name)
            if existing is not None:
                log.info("backtest '%s' already exists (%s): reusing it", name, existing.backtestId)
                return self.client.read_backtest(project_id, existing.backtestId)
        compiled = self.compile(project_id, timeout=compile_timeout)
        try:
            return self.client.create_backtest(project_id, compiled.compileId, name, parameters=parameters)
        except OutcomeUnknownError:
            found = self.find_backtest(project_id, name)
            if found is None:
                raise
            log.info("backtests/create had no clear answer, but backtest '%s' exists: using it", name)
            return self.client.read_backtest(project_id, found.backtestId)

    def run_backtest(
        self, project: Project, name: str, *, parameters: Mapping[str, ParameterValue] | None = None,
        timeout: float = polling.DEFAULT_BACKTEST_TIMEOUT, progress: polling.ProgressCallback | None = None,
        on_created: Callable[[Backtest], None] | None = None, reuse_existing: bool = True,
    ) -> BacktestRun:
        """Start backtest ``name`` and wait for it. ``on_created`` receives the backtest before the
        wait, so that the caller can record its id (a crash while waiting must not re-run it)."""
        backtest = self.start_backtest(project.projectId, name, parameters=parameters,
                                       reuse_existing=reuse_existing)
        if on_created is not None:
            on_created(backtest)
        outcome = self.client.wait_for_backtest(project.projectId, backtest.backtestId, timeout=timeout,
                                                progress=progress)
        return BacktestRun(project, outcome, None if outcome.failed else self.metrics(outcome.backtest))

    def backtest_code(
        self, project_name: str, code: str, backtest_name: str, *,
        parameters: Mapping[str, ParameterValue] | None = None,
        timeout: float = polling.DEFAULT_BACKTEST_TIMEOUT, progress: polling.ProgressCallback | None = None,
        on_created: Callable[[Backtest], None] | None = None,
    ) -> BacktestRun:
        """The whole path: project by name, ``main.py`` uploaded, compiled, backtested, metrics parsed."""
        project = self.ensure_project(project_name)
        self.upload_file(project.projectId, code, MAIN_FILE)
        return self.run_backtest(project, backtest_name, parameters=parameters, timeout=timeout,
                                 progress=progress, on_created=on_created)

    @staticmethod
    def metrics(backtest: Backtest) -> BacktestMetrics:
        return metrics_from_backtest(backtest)
