"""The emulated QuantConnect: state and rules, and nothing of HTTP.

``EmulatorBackend`` holds users, organizations, projects and their files, compiles, backtests,
optimizations, the Object Store and live (paper) deployments, and enforces the service's rules
(``reference/qc-api.md`` §3). It is assembled from one mixin per area of the service, all built on
``core.BackendCore``:

=================== =====================================================================
``projects.py``     projects, files, compile
``backtests.py``    backtests on the embedded engine
``optimizations.py`` grid-search optimizations (rules in ``optimization_rules.py``)
``object_store.py`` the Object Store (rules in ``object_rules.py``)
``live.py``         paper live deployments (rules in ``live_rules.py``)
=================== =====================================================================

Its methods take plain Python values and return records or views; failures are
``errors.ServiceError`` subclasses carrying the service's wording. ``responses.py`` parses and
serializes; ``wire.py`` knows the JSON shapes. With a ``state_dir`` every change is saved atomically
and survives a restart; jobs that were unfinished at shutdown run again on start.
"""

from __future__ import annotations

from orchestrator.emulator.backtests import BacktestsMixin, BacktestView
from orchestrator.emulator.live import LiveMixin, LiveView
from orchestrator.emulator.object_store import DownloadView, ObjectList, ObjectStoreMixin
from orchestrator.emulator.optimizations import OptimizationsMixin, OptimizationView
from orchestrator.emulator.projects import CompileView, ProjectsMixin
from orchestrator.emulator.state import JobPhase, OptimizationStatus

__all__ = [
    "BacktestView",
    "CompileView",
    "DownloadView",
    "EmulatorBackend",
    "LiveView",
    "ObjectList",
    "OptimizationView",
]


class EmulatorBackend(ProjectsMixin, BacktestsMixin, OptimizationsMixin, ObjectStoreMixin, LiveMixin):
    """All of the emulated service's state and rules (see the module docstring)."""

    def _after_load(self) -> None:
        """Run again what was unfinished when the emulator last stopped (a state dir was loaded)."""
        if self.data_folder is None:
            return
        compiles = {c.compile_id: c for c in self._state.compiles}
        projects = {p.project_id: p for p in self._state.projects}
        for backtest in self._state.backtests:
            build = compiles.get(backtest.compile_id)
            finished = backtest.phase is JobPhase.DONE and self.store.load_result(backtest.backtest_id) is not None
            if build is not None and not finished:
                backtest.phase = JobPhase.QUEUED
                self._start_backtest(backtest, build.files, self.data_folder)
        for opt in self._state.optimizations:
            build, project = compiles.get(opt.compile_id), projects.get(opt.project_id)
            if opt.status in (OptimizationStatus.NEW, OptimizationStatus.RUNNING) and build and project:
                self._start_optimization(opt, build.files, project.parameters, self.data_folder)
        for deployment in self._state.live:
            build = compiles.get(deployment.compile_id)
            if deployment.phase is not JobPhase.DONE and build is not None:
                self._start_live(deployment, build.files, self.data_folder)
