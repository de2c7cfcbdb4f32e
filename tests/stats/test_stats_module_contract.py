"""stats.py is embedded verbatim into research notebooks that run where qcloop is not installed."""

import ast
import math
from pathlib import Path

from orchestrator import stats

SOURCE = Path(stats.__file__).read_text(encoding="utf-8")
ALLOWED_TOP_LEVEL = {"math", "numpy", "scipy"}


def test_stats_imports_only_math_numpy_and_scipy() -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(SOURCE)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports would break the embedded copy"
            imported.add((node.module or "").split(".")[0])
    assert imported <= ALLOWED_TOP_LEVEL, imported - ALLOWED_TOP_LEVEL


def test_the_source_runs_on_its_own_outside_the_package() -> None:
    # What a notebook does: exec the file's text in a fresh namespace, without importing orchestrator.
    namespace: dict[str, object] = {"__name__": "qcloop_stats_embedded"}
    exec(compile(SOURCE, "qcloop_stats_embedded.py", "exec"), namespace)
    dsr = namespace["deflated_sharpe_ratio"]
    assert callable(dsr)
    value = dsr(2.5 / math.sqrt(250), 1250, -3.0, 10.0, 100, 0.5 / 250)
    assert round(value, 4) == 0.9004  # the DSR paper's example, through the embedded copy
    error = namespace["StatsInputError"]
    assert isinstance(error, type) and issubclass(error, ValueError)


def test_every_public_function_documents_formula_conventions_and_source() -> None:
    # The brief: each statistic's docstring states its formula, its conventions and the paper it comes from.
    statistics = [
        stats.probabilistic_sharpe_ratio, stats.min_track_record_length, stats.expected_max_sharpe,
        stats.deflated_sharpe_threshold, stats.deflated_sharpe_ratio, stats.effective_trials,
        stats.haircut_sharpe_ratio, stats.walk_forward_efficiency, stats.sample_moments, stats.sharpe_ratio,
    ]
    for function in statistics:
        doc = function.__doc__ or ""
        assert "Convention" in doc, function.__name__
        assert "Source" in doc, function.__name__
        assert "Formula" in doc or "Steps" in doc or "Algorithm" in doc, function.__name__
    assert "Algorithm" in (stats.probability_of_backtest_overfitting.__doc__ or "")
    assert set(stats.__all__) <= set(dir(stats))
