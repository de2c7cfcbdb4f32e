"""`qcloop emulator serve` as a user runs it: a real process, its banner, credentials, shutdown."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator.emulator import EmulatorServer
from tests.conftest import CliResult
from tests.emulator.helpers import USER_ID, Api

TOKEN = "cli-test-token-abcdef0123"


class Served:
    def __init__(self, process: subprocess.Popen[str], lines: list[str]) -> None:
        self.process = process
        self.lines = lines

    @property
    def url(self) -> str:
        match = re.search(r"QuantConnect API v2 at (\S+)", "\n".join(self.lines))
        assert match, self.lines
        return match.group(1)

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        self.process.send_signal(signum)
        out, _ = self.process.communicate(timeout=20)
        return self.process.returncode, out


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(*args: str) -> Served:
        env = {**os.environ, "HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "emulator", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
        lines: list[str] = []
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if "press Ctrl-C" in line:
                break
        served = Served(process, lines)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(timeout=10)


def test_serve_with_given_credentials_never_prints_the_token(serve: Callable[..., Served], tmp_path: Path) -> None:
    served = serve("--user-id", "77", "--token", TOKEN, "--state-dir", str(tmp_path / "state"))
    assert served.url.startswith("http://127.0.0.1:") and served.url.endswith("/api/v2/")
    assert Api(served.url, user_id=77, token=TOKEN).get("authenticate") == {"success": True}
    code, rest = served.stop()
    output = "\n".join(served.lines) + rest
    assert code == 0 and "stopping" in rest
    assert TOKEN not in output
    assert "QC_API=local lean login -u 77" in output


def test_generated_credentials_are_shown_once_and_kept_in_the_state_dir(serve: Callable[..., Served],
                                                                         tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = serve("--state-dir", str(state))
    banner = "\n".join(first.lines)
    match = re.search(r"user id: (\d+),.*\n.*generated API token \(shown once.*\): ([0-9a-f]{64})", banner)
    assert match, banner
    user_id, token = int(match.group(1)), match.group(2)
    assert Api(first.url, user_id=user_id, token=token).get("authenticate") == {"success": True}
    code, rest = first.stop(signal.SIGTERM)  # how scripts stop a background server
    assert code == 0 and "stopping" in rest
    saved = state / "credentials.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600

    second = serve("--state-dir", str(state))
    again = "\n".join(second.lines)
    assert token not in again and "the one saved in" in again
    assert Api(second.url, user_id=user_id, token=token).get("authenticate") == {"success": True}
    second.stop()


def test_half_credentials_and_bad_fault_specs_are_actionable_errors(cli: Callable[..., CliResult]) -> None:
    half = cli(["emulator", "serve", "--port", "0", "--user-id", "5"])
    assert half.code == 1 and "give both --user-id and --token" in half.stderr
    faults = cli(["emulator", "serve", "--port", "0", "--faults", "backtests/create: 404 @ 1"])
    assert faults.code == 1 and "bad fault rule 'backtests/create: 404 @ 1'" in faults.stderr


def test_run_notebook_needs_a_reachable_emulator(cli: Callable[..., CliResult]) -> None:
    result = cli(["emulator", "run-notebook", "1", "--url", "http://127.0.0.1:9/"],
                 env={"QC_USER_ID": "1", "QC_API_TOKEN": "token-xyz"})
    assert result.code == 1 and "cannot reach the emulator at http://127.0.0.1:9/" in result.stderr
    assert "token-xyz" not in result.stderr


def test_run_notebook_with_a_wrong_token_names_the_credentials_and_never_shows_the_hash(
    server: EmulatorServer, cli: Callable[..., CliResult],
) -> None:
    # The emulator's answer quotes the hash it received ("Hash doesn't match. ... Hash: <64 hex>"), as
    # the service does: that hash is a password for 30 minutes and must not reach the terminal.
    result = cli(["emulator", "run-notebook", "1", "--url", server.url],
                 env={"QC_USER_ID": str(USER_ID), "QC_API_TOKEN": "not-the-emulators-token"})
    assert result.code == 1
    assert "Hash doesn't match." in result.stderr and "QC_API_TOKEN" in result.stderr
    assert re.search(r"[0-9a-fA-F]{64}", result.stderr) is None, result.stderr
