"""Shared helpers for the strategy, hypothesis and generator tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.strategies import FamilyRegistry, load_registry

VALID = """\
id: {id}
title: SPY trend
rationale: Trends persist.
template: ma_crossover
universe: [SPY]
start: 2004-01-01
end: 2020-12-31
cash: 100000
resolution: daily
parameters:
  fast: {{default: 50, sweep: {{min: 20, max: 80, step: 10}}}}
  slow: {{default: 200}}
parent: null
"""


@pytest.fixture(scope="session")
def registry() -> FamilyRegistry:
    return load_registry()


@pytest.fixture
def write_hypothesis(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write hypotheses/<name> in a tmp workspace and return its path."""

    def write(name: str, text: str) -> Path:
        folder = tmp_path / "hypotheses"
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
