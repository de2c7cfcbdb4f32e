"""The files a new project starts with, as the service gives every new project two files.

Python projects get ``main.py`` (a small buy-and-hold algorithm on daily SPY that runs on LEAN's
sample data) and ``research.ipynb`` (a notebook that opens a ``QuantBook``); C# projects get
``Main.cs`` and ``Research.ipynb``. The contents are the emulator's own, not QuantConnect's templates.
"""

from __future__ import annotations

import json
import re


def class_name(project_name: str) -> str:
    """A Python/C# class name derived from a project name ('my first/algo 2' -> 'MyFirstAlgo2')."""
    words = re.findall(r"[A-Za-z0-9]+", project_name)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Algorithm"
    return name if not name[0].isdigit() else f"Algorithm{name}"


def python_main(project_name: str) -> str:
    return f'''# region imports
from AlgorithmImports import *
# endregion


class {class_name(project_name)}(QCAlgorithm):
    """Buys SPY on the first day and holds it: a starting point that runs on LEAN's sample data."""

    def initialize(self) -> None:
        self.set_start_date(2019, 1, 1)
        self.set_end_date(2019, 12, 31)
        self.set_cash(100000)
        self.spy = self.add_equity("SPY", Resolution.DAILY).symbol

    def on_data(self, data: Slice) -> None:
        if not self.portfolio.invested:
            self.set_holdings(self.spy, 1)
'''


def csharp_main(project_name: str) -> str:
    return f'''namespace QuantConnect.Algorithm.CSharp
{{
    public class {class_name(project_name)} : QCAlgorithm
    {{
        public override void Initialize()
        {{
            SetStartDate(2019, 1, 1);
            SetEndDate(2019, 12, 31);
            SetCash(100000);
            AddEquity("SPY", Resolution.Daily);
        }}

        public override void OnData(Slice data)
        {{
            if (!Portfolio.Invested)
            {{
                SetHoldings("SPY", 1);
            }}
        }}
    }}
}}
'''


def research_notebook(language: str) -> str:
    """A two-cell notebook (nbformat 4) that opens a QuantBook and reads a year of SPY."""
    if language == "C#":
        cells = [
            '#load "../Initialize.csx"',
            "var qb = new QuantBook();\nvar spy = qb.AddEquity(\"SPY\");\n"
            "var history = qb.History(qb.Securities.Keys, new DateTime(2019, 1, 1), new DateTime(2019, 12, 31), "
            "Resolution.Daily);",
        ]
        kernel = {"display_name": "C#", "language": "C#", "name": "csharp"}
    else:
        cells = [
            "from AlgorithmImports import *\n\nqb = QuantBook()\nspy = qb.add_equity(\"SPY\").symbol",
            "history = qb.history(spy, datetime(2019, 1, 1), datetime(2019, 12, 31), Resolution.DAILY)\n"
            "history.tail()",
        ]
        kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    code_cells: list[dict[str, object]] = [
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source,
         "id": f"cell-{index}"}
        for index, source in enumerate(cells)
    ]
    notebook = {
        "cells": code_cells,
        "metadata": {"kernelspec": kernel, "language_info": {"name": kernel["language"]}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1) + "\n"


def default_files(project_name: str, language: str) -> dict[str, str]:
    if language == "C#":
        return {"Main.cs": csharp_main(project_name), "Research.ipynb": research_notebook("C#")}
    return {"main.py": python_main(project_name), "research.ipynb": research_notebook("Py")}
