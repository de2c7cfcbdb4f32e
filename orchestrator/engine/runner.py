"""``run_backtest``: load an algorithm file, run it, and return a cloud-shaped result.

The algorithm module is executed with ``sys.modules["AlgorithmImports"]`` set to qcloop's API module, so
``from AlgorithmImports import *`` works. Exceptions raised by the algorithm become the result's
``error`` and ``stacktrace`` (naming the algorithm file and line); a failure inside ``initialize`` is
prefixed with LEAN's "During the algorithm initialization, the following exception has occurred:".
A security whose data files exist but hold nothing inside the backtest window runs without data, as in
LEAN, with a warning in ``logs`` and ``warnings``; a security without any data file of its resolution
is not an algorithm error: it raises ``DataError`` naming the file looked for.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import importlib.util
import json
import sys
import threading
import time
import traceback
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.engine.algorithm import QCAlgorithm
from orchestrator.engine.manager import BacktestEngine
from orchestrator.engine.report import build_report
from orchestrator.errors import AlgorithmError, DataError, QcloopError

INITIALIZE_PREFIX = "During the algorithm initialization, the following exception has occurred:"
SYNTHETIC_MARKER = ".qcloop-synthetic.json"


@dataclass
class BacktestResult:
    """The outcome of one backtest; ``to_cloud()`` gives the ``backtests/read`` ``backtest`` object."""

    status: str
    error: str | None
    stacktrace: str | None
    has_initialize_error: bool
    statistics: dict[str, str]
    runtime_statistics: dict[str, str]
    total_performance: dict[str, Any]
    charts_source: Callable[[], dict[str, Any]] = field(repr=False)
    orders_source: Callable[[], list[dict[str, Any]]] = field(repr=False)
    logs: list[str] = field(default_factory=list)
    # data problems the run worked around (e.g. a security without data in the window); also in ``logs``
    warnings: list[str] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    backtest_start: dt.datetime | None = None
    backtest_end: dt.datetime | None = None
    tradeable_dates: int = 0
    algorithm_file: str = ""
    synthetic: bool = False
    data_points: int = 0
    duration_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return True

    @functools.cached_property
    def charts(self) -> dict[str, Any]:
        """The charts (built on first use: thousands of points that statistics-only callers never read)."""
        return self.charts_source()

    @functools.cached_property
    def orders(self) -> list[dict[str, Any]]:
        """Every order in the API's wire shape (built on first use)."""
        return self.orders_source()

    def to_cloud(self) -> dict[str, Any]:
        with gc_paused():
            return self._cloud()

    def _cloud(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "completed": True,
            "progress": 1.0,
            "error": self.error,
            "stacktrace": self.stacktrace,
            "hasInitializeError": self.has_initialize_error,
            "statistics": self.statistics,
            "runtimeStatistics": self.runtime_statistics,
            "totalPerformance": self.total_performance,
            "charts": self.charts,
            "orders": self.orders,
            "logs": self.logs,
            "parameterSet": dict(self.parameters) if self.parameters else [],
            "backtestStart": self.backtest_start.strftime("%Y-%m-%d %H:%M:%S") if self.backtest_start else None,
            "backtestEnd": self.backtest_end.strftime("%Y-%m-%d %H:%M:%S") if self.backtest_end else None,
            "tradeableDates": self.tradeable_dates,
            "rollingWindow": {},
            "dataSource": "synthetic" if self.synthetic else "lean",
        }

    def to_json(self) -> str:
        return json.dumps(self.to_cloud(), indent=2, default=str)


def resolve_algorithm_file(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / "main.py"
    if not path.is_file():
        raise AlgorithmError(f"algorithm file not found: {path}", hint="pass a .py file or a folder holding main.py")
    return path


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a backtest allocates millions of short-lived objects next to
    large long-lived caches, and each full collection would rescan them all. Memory is reclaimed by
    reference counting meanwhile; cycles are collected once the collector runs again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _ImportScope:
    """``AlgorithmImports`` and algorithm folders importable while backtests run, in any number of threads.

    The emulator's workers and the research loop run backtests side by side in one process. A plain
    save-and-restore would let the first run to finish remove ``AlgorithmImports`` while another run
    is about to import it; so installations are counted: the first run in installs the module, the
    last one out restores what was there before, and a folder stays on ``sys.path`` while any run
    uses it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0
        self._previous: types.ModuleType | None = None
        self._folders: dict[str, int] = {}  # folder -> runs using it
        self._added: set[str] = set()  # folders this scope put on sys.path

    @contextmanager
    def active(self, folder: Path) -> Iterator[None]:
        from orchestrator.engine import algorithm_imports

        key = str(folder)
        with self._lock:
            if self._runs == 0:
                self._previous = sys.modules.get("AlgorithmImports")
            self._runs += 1
            sys.modules["AlgorithmImports"] = algorithm_imports
            if self._folders.get(key, 0) == 0 and key not in sys.path:
                sys.path.insert(0, key)
                self._added.add(key)
            self._folders[key] = self._folders.get(key, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                if self._runs == 0:
                    if self._previous is None:
                        sys.modules.pop("AlgorithmImports", None)
                    else:
                        sys.modules["AlgorithmImports"] = self._previous
                    self._previous = None
                self._folders[key] -= 1
                if self._folders[key] == 0:
                    del self._folders[key]
                    if key in self._added:
                        self._added.discard(key)
                        if key in sys.path:
                            sys.path.remove(key)


_IMPORT_SCOPE = _ImportScope()


def _algorithm_imports(folder: Path) -> Any:
    """``AlgorithmImports`` and the algorithm's folder importable while the module loads and runs."""
    return _IMPORT_SCOPE.active(folder)


def load_algorithm_class(path: Path) -> type[QCAlgorithm]:
    """Execute the file and return the QCAlgorithm subclass it defines."""
    name = f"qcloop_algorithm_{uuid.uuid4().hex[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AlgorithmError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return _find_algorithm_class(module, path)


def _find_algorithm_class(module: types.ModuleType, path: Path) -> type[QCAlgorithm]:
    candidates = [value for value in vars(module).values()
                  if isinstance(value, type) and issubclass(value, QCAlgorithm) and value is not QCAlgorithm
                  and value.__module__ == module.__name__]
    if not candidates:
        raise AlgorithmError(f"{path} defines no class deriving from QCAlgorithm",
                             hint="write `class MyAlgorithm(QCAlgorithm):` with an initialize() method")
    # a base class shared by others is not the algorithm: prefer the most derived
    leaves = [c for c in candidates if not any(other is not c and issubclass(other, c) for other in candidates)]
    return leaves[-1]


def format_stacktrace(exc: BaseException, algorithm_file: Path) -> tuple[str, str, int | None]:
    """LEAN-like error text: ``(error, stacktrace, line)`` pointing into the algorithm file."""
    frames = traceback.extract_tb(exc.__traceback__)
    target = str(algorithm_file.resolve())
    own = [f for f in frames if Path(f.filename).resolve().as_posix() == Path(target).as_posix()]
    lines = []
    # the algorithm's frames, LEAN-style; when the failure is inside qcloop, its innermost frames too
    if own:
        after = frames[frames.index(own[-1]) + 1:]  # what the algorithm's last line called into
        shown = own + after[-3:]
    else:
        shown = frames[-3:]
    for frame in shown:
        lines.append(f"  at {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
        lines.append(f" in {Path(frame.filename).name}: line {frame.lineno}")
    name = type(exc).__name__
    text = str(exc)
    lines.append(f" {name} : {text}")
    line = own[-1].lineno if own else None
    where = f" (in {algorithm_file.name}: line {line})" if line else ""
    error = f"{name} : {text}{where}"
    return error, "\n".join(lines), line


def is_synthetic(folder: Path) -> bool:
    return (Path(folder) / SYNTHETIC_MARKER).is_file()


def run_backtest(algorithm: Path | str, data_folder: Path | str, parameters: dict[str, Any] | None = None,  # noqa: PLR0917 - mirrors QuantConnect's positional signature
                 start: dt.date | None = None, end: dt.date | None = None, cash: float | None = None,
                 progress: Callable[[float], None] | None = None) -> BacktestResult:
    """Run ``algorithm`` (a .py file or a folder with main.py) on the LEAN data in ``data_folder``."""
    path = resolve_algorithm_file(Path(algorithm))
    folder = Path(data_folder)
    if not folder.is_dir():
        raise DataError("the data folder does not exist", path=folder,
                        hint="pass --data-folder with a LEAN data folder, or create one with `qcloop data synth`")
    params = {str(k): str(v) for k, v in (parameters or {}).items()}
    clock = time.perf_counter()
    engine = BacktestEngine(folder, params, start=start, end=end, cash=cash)
    error: str | None = None
    stacktrace: str | None = None
    initialize_error = False
    with _algorithm_imports(path.parent), gc_paused():
        try:
            cls = load_algorithm_class(path)
            instance = cls.__new__(cls)
            instance._qc_attach(engine)
            if cls.__init__ is not object.__init__:
                cls.__init__(instance)
            engine.initialize(instance)
        except QcloopError as exc:
            if isinstance(exc, DataError):
                raise
            error, stacktrace, _ = format_stacktrace(exc, path)
            error = f"{INITIALIZE_PREFIX} {error}"
            initialize_error = True
        except Exception as exc:
            error, stacktrace, _ = format_stacktrace(exc, path)
            error = f"{INITIALIZE_PREFIX} {error}"
            initialize_error = True
        if error is None:
            engine.prepare_run()  # DataError for missing data propagates: it is not the algorithm's fault
            try:
                engine.run_loop(progress)
            except Exception as exc:
                error, stacktrace, _ = format_stacktrace(exc, path)
                engine.log(f"Runtime Error: {error}")
                engine.finish_after_error()
        result = build_report(engine, path, error, stacktrace, initialize_error, is_synthetic(folder),
                              time.perf_counter() - clock, BacktestResult)
    if progress is not None:
        progress(1.0)
    return result
