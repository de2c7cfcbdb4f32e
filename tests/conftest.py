"""Fixtures shared by every test level.

LEAN's sample data is read from ``../shared/data/lean`` beside the repository (or ``QCLOOP_LEAN_DATA``);
tests that need it use the ``lean_data`` fixture and are skipped, with the reason, where it is absent.
It is third-party data: tests read it in place and never copy it into the repository.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.commands import Context
from orchestrator.main import main

REPO_ROOT = Path(__file__).resolve().parents[1]


def lean_data_path() -> Path:
    return Path(os.environ.get("QCLOOP_LEAN_DATA", REPO_ROOT.parent / "shared" / "data" / "lean")).resolve()


@pytest.fixture(scope="session")
def lean_data() -> Path:
    """LEAN's sample data folder; skips the test with a message when it is absent."""
    path = lean_data_path()
    if not (path / "equity" / "usa" / "daily" / "spy.zip").is_file():
        pytest.skip(f"LEAN sample data not found at {path} (set QCLOOP_LEAN_DATA to its folder)")
    return path


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., CliResult]:
    """Run ``qcloop`` in-process: ``cli(["doctor"], cwd=..., env={...})`` -> CliResult.

    The environment starts empty apart from what the test passes (plus PATH and HOME pointing into
    tmp_path), so a developer's own QC_* variables or ~/.lean never leak into a test.
    """

    def run(argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
            home: Path | None = None) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        fake_home = home if home is not None else tmp_path / "home"
        fake_home.mkdir(exist_ok=True)
        environ = {"PATH": os.environ.get("PATH", ""), "HOME": str(fake_home), **(env or {})}
        ctx = Context(cwd=cwd or tmp_path, environ=environ, home=fake_home, stdout=out, stderr=err)
        code = main(list(argv), ctx=ctx)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic LEAN data folder made once per test session (`qcloop data synth` defaults, seed 7).

    SPY QQQ IWM EEM TLT GLD daily 1998-01-02 .. 2021-03-31, SPY hourly, minute trade and quote bars of
    every symbol for the last 3 trading days (2021-03-29 .. 2021-03-31), map/factor files (QQQ splits
    2-for-1 on 2000-03-20), interest rates, market hours and the `.qcloop-synthetic.json` marker.
    """
    from orchestrator.engine.synth import generate_synthetic_data

    folder = tmp_path_factory.mktemp("synthetic-data")
    generate_synthetic_data(folder, seed=7, minute_days=3)
    return folder
