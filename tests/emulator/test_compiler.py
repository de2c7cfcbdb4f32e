"""compile/create really checks Python: syntax errors and unresolvable imports, with file and line."""

from __future__ import annotations

from orchestrator.emulator.compiler import check_project

MAIN = "from AlgorithmImports import *\nimport numpy as np\nimport json\n\nclass A(QCAlgorithm):\n    pass\n"


def test_a_clean_project_builds() -> None:
    report = check_project({"main.py": MAIN, "research.ipynb": "{}"})
    assert report.ok and report.logs == []


def test_a_syntax_error_names_file_line_and_column() -> None:
    report = check_project({"main.py": MAIN, "helpers/util.py": "def f(:\n    pass\n"})
    assert not report.ok
    assert report.logs == ["Build Error File: helpers/util.py Line: 1 Column: 7 - SyntaxError: invalid syntax"]


def test_an_import_that_resolves_nowhere_is_a_build_error_at_its_line() -> None:
    report = check_project({"main.py": MAIN + "\nimport definitely_not_a_module.sub\n"})
    assert not report.ok
    (finding,) = report.findings
    assert (finding.file, finding.line, finding.column) == ("main.py", 8, 1)
    assert "No module named 'definitely_not_a_module.sub'" in finding.message


def test_project_modules_standard_library_and_quantconnect_environment_resolve() -> None:
    files = {
        "main.py": MAIN + "from signals.momentum import score\nimport utils\nfrom scipy import stats\n"
                          "from QuantConnect.Indicators import *\nimport collections.abc\n",
        "signals/momentum.py": "from .helpers import x\ndef score():\n    return 1\n",
        "signals/helpers.py": "x = 1\n",
        "utils.py": "import pandas as pd\n",
    }
    assert check_project(files).ok


def test_an_import_guarded_by_except_import_error_is_optional() -> None:
    source = MAIN + "try:\n    import not_installed_anywhere\nexcept ImportError:\n    pass\n"
    assert check_project({"main.py": source}).ok


def test_a_relative_import_of_a_missing_file_fails() -> None:
    report = check_project({"main.py": MAIN, "pkg/a.py": "from .missing import y\n"})
    assert [f.message for f in report.findings] == ["Unable to resolve relative import '.missing'"]


def test_a_project_without_main_py_fails() -> None:
    report = check_project({"algo.py": MAIN})
    assert not report.ok and "no main.py" in report.logs[0]


def test_extra_modules_extend_the_environment() -> None:
    files = {"main.py": MAIN + "import house_library\n"}
    assert not check_project(files).ok
    assert check_project(files, extra_modules=["house_library"]).ok


def test_literal_numbers_in_lean_api_calls_are_reported_as_parameter_candidates() -> None:
    source = MAIN + "    def initialize(self):\n        self.set_start_date(2024, 1, 3)\n"
    report = check_project({"main.py": source})
    assert report.detected_parameters == [{"file": "main.py", "parameters": [
        {"line": 8, "type": '3 LEAN API parameters detected near "self.set_start_date(2024, 1, 3)".'}]}]
