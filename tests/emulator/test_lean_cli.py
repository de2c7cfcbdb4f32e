"""The official `lean` CLI against the emulator (scripts/lean_cli_conformance.sh), when it is installed.

The script needs the lean CLI in a virtual environment of its own (``LEAN_VENV``, default
/tmp/leanvenv: ``python3 -m venv /tmp/leanvenv && /tmp/leanvenv/bin/pip install lean``) and the port
the CLI is hard-wired to (5612). Without them the test is skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_lean_login_push_pull_and_cloud_backtest(lean_data: Path, engine_available: None) -> None:
    lean_venv = Path(os.environ.get("LEAN_VENV", "/tmp/leanvenv"))
    if not (lean_venv / "bin" / "lean").is_file():
        pytest.skip(f"the lean CLI is not installed in {lean_venv} (pip install lean into that venv)")
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 5612)) == 0:
            pytest.skip("port 5612 is in use, and the lean CLI can only reach the emulator there")
    env = {**os.environ, "LEAN_VENV": str(lean_venv), "QCLOOP_LEAN_DATA": str(lean_data)}
    run = subprocess.run([str(REPO_ROOT / "scripts" / "lean_cli_conformance.sh")], env=env, capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "PASS: lean login, cloud push, cloud pull and cloud backtest" in run.stdout
    assert "checks passed with lean-cli's own client and models" in run.stdout
