"""What ``compile/create`` really checks in a Python project: syntax, and imports that resolve.

QuantConnect builds a Python project by checking it; the emulator does the same with the standard
library's ``ast``: every ``.py`` file must parse, and every absolute import must name a module that is

- in the project's own files (``utils.py`` -> ``utils``, ``signals/momentum.py`` -> ``signals``),
- in Python's standard library, or
- in the QuantConnect research/algorithm environment (``QC_ENVIRONMENT`` below: ``AlgorithmImports``,
  LEAN's namespaces, and the scientific libraries QuantConnect's images install).

An import guarded by ``try: ... except ImportError`` (or a broader handler) is optional and never fails
the build. Relative imports are resolved against the project's files. Findings become ``BuildError``
log lines naming file, line and column. The log wording is the emulator's own: QuantConnect's exact
build log text is not documented.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# Modules an algorithm or notebook may import on QuantConnect besides the standard library. LEAN's
# namespaces (QuantConnect, System, the framework folders) and a selection of the libraries listed on
# QuantConnect's "Supported Libraries" page. Extend with EmulatorBackend(extra_modules=...).
QC_ENVIRONMENT: frozenset[str] = frozenset({
    # LEAN and its Python bridge
    "AlgorithmImports", "QuantConnect", "System", "clr", "Python", "Selection", "Alphas", "Portfolio",
    "Execution", "Risk", "Orders", "Indicators", "Common",
    # data and numerics
    "numpy", "pandas", "scipy", "statsmodels", "sklearn", "numba", "sympy", "cvxpy", "cvxopt",
    "arch", "pykalman", "hmmlearn", "filterpy", "ta", "talib", "pandas_ta", "tsfresh", "pmdarima",
    "quantlib", "QuantLib", "pyfolio", "empyrical", "ffn", "riskfolio", "pypfopt", "mlfinlab",
    # machine learning
    "tensorflow", "keras", "torch", "xgboost", "lightgbm", "catboost", "gym", "stable_baselines3",
    "transformers", "joblib", "tqdm",
    # plotting and notebooks
    "matplotlib", "mpl_toolkits", "seaborn", "plotly", "bokeh", "IPython", "ipywidgets",
    # utilities
    "requests", "dateutil", "pytz", "yaml", "simplejson", "bs4", "lxml", "nltk", "networkx",
})


@dataclass
class Finding:
    file: str
    line: int
    column: int
    message: str

    def log_line(self) -> str:
        return f"Build Error File: {self.file} Line: {self.line} Column: {self.column} - {self.message}"


@dataclass
class BuildReport:
    ok: bool
    logs: list[str]
    findings: list[Finding] = field(default_factory=list)
    detected_parameters: list[dict[str, object]] = field(default_factory=list)
    signature: str = ""


def project_modules(file_names: Iterable[str]) -> set[str]:
    """Top-level module names the project's own files provide."""
    modules: set[str] = set()
    for name in file_names:
        path = PurePosixPath(name)
        if path.suffix != ".py":
            continue
        modules.add(path.parts[0] if len(path.parts) > 1 else path.stem)
    return modules


def _guarded_nodes(tree: ast.AST) -> set[int]:
    """ids of Import nodes inside a ``try`` whose handlers catch a failed import."""
    optional = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        catches = False
        for handler in node.handlers:
            types = handler.type
            names: list[ast.expr] = []
            if types is None:
                catches = True
            elif isinstance(types, ast.Tuple):
                names = list(types.elts)
            else:
                names = [types]
            catches = catches or any(isinstance(n, ast.Name) and n.id in optional for n in names)
        if catches:
            for stmt in node.body:
                guarded.update(id(sub) for sub in ast.walk(stmt))
    return guarded


def _imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, str]]:
    guarded = _guarded_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, node.module


def _relative_import_findings(
    file_name: str, tree: ast.AST, files: Mapping[str, str],
) -> Iterator[Finding]:
    folder = PurePosixPath(file_name).parent
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = folder
        for _ in range(node.level - 1):
            base = base.parent
        target = base.joinpath(*node.module.split(".")) if node.module else base
        candidates = {f"{target}.py", f"{target}/__init__.py"}
        if not node.module:
            candidates |= {f"{target}/{alias.name}.py" for alias in node.names}
        known = {str(PurePosixPath(name)) for name in files}
        has_folder = any(name.startswith(f"{target}/") for name in known)
        if not (candidates & known) and not has_folder:
            yield Finding(file_name, node.lineno, node.col_offset + 1,
                          f"Unable to resolve relative import '{'.' * node.level}{node.module or ''}'")


def _detect_parameters(file_name: str, source: str, tree: ast.AST) -> dict[str, object] | None:
    """LEAN API calls with literal numbers (``self.set_start_date(2024, 1, 3)``): candidates for
    parameters, reported by compile/create as the service's IDE does."""
    found: list[dict[str, object]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not (isinstance(owner, ast.Name) and owner.id == "self"):
            continue
        numbers = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, int | float)
                   and not isinstance(a.value, bool)]
        if not numbers:
            continue
        snippet = ast.get_source_segment(source, node) or node.func.attr
        found.append({
            "line": node.lineno,
            "type": f'{len(numbers)} LEAN API parameters detected near "{snippet}".',
        })
    return {"file": file_name, "parameters": found} if found else None


def check_project(files: Mapping[str, str], *, extra_modules: Iterable[str] = ()) -> BuildReport:
    """Check every Python file of a project; ``files`` maps file name to content."""
    allowed = set(QC_ENVIRONMENT) | set(sys.stdlib_module_names) | set(extra_modules)
    allowed |= project_modules(files)
    findings: list[Finding] = []
    parameters: list[dict[str, object]] = []
    python_files = sorted(name for name in files if name.endswith(".py"))
    for name in python_files:
        source = files[name]
        try:
            tree = ast.parse(source, filename=name)
        except SyntaxError as exc:
            findings.append(Finding(name, exc.lineno or 1, exc.offset or 1, f"SyntaxError: {exc.msg}"))
            continue
        for node, module in _imports(tree):
            top = module.split(".")[0]
            if top not in allowed:
                findings.append(Finding(
                    name, node.lineno, node.col_offset + 1,
                    f"ModuleNotFoundError: No module named '{module}' (not in the project's files, the "
                    "standard library or the QuantConnect environment)",
                ))
        findings.extend(_relative_import_findings(name, tree, files))
        detected = _detect_parameters(name, source, tree)
        if detected:
            parameters.append(detected)
    if "main.py" not in files:
        findings.append(Finding("main.py", 1, 1, "the project has no main.py, the algorithm's entry point"))
    signature = hashlib.md5("".join(f"{n}\0{files[n]}\0" for n in sorted(files)).encode("utf-8")).hexdigest()
    return BuildReport(ok=not findings, logs=[f.log_line() for f in findings], findings=findings,
                       detected_parameters=parameters, signature=signature)
