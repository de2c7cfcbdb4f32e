"""`qcloop doctor` reports each prerequisite and fails with a fix for what is missing."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "qcloop.yaml").write_text("")
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    return ws


def _checks(result: CliResult) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_fresh_local_workspace_passes_with_warnings(cli: Cli, workspace: Path) -> None:
    result = cli(["doctor", "--json"], cwd=workspace)
    checks = _checks(result)
    assert result.code == 0, result.stdout
    assert checks["credentials"]["status"] == "warn"  # the local platform needs none
    assert checks["workspace"]["status"] == "ok"
    assert checks["git"]["status"] == "ok"
    assert checks["data"]["status"] == "warn" and "synthetic" in checks["data"]["fix"]
    assert checks["kernel"]["status"] == "ok"


def test_cloud_platform_without_credentials_fails_with_the_fix(cli: Cli, workspace: Path) -> None:
    (workspace / "qcloop.yaml").write_text("loop:\n  platform: cloud\n")
    result = cli(["doctor"], cwd=workspace)
    assert result.code == 1
    assert "[FAIL] credentials" in result.stdout and "lean login" in result.stdout
    assert "fix the lines marked FAIL" in result.stderr


def test_credentials_source_is_reported_without_the_token(cli: Cli, workspace: Path) -> None:
    token = "0123456789abcdef" * 4
    (workspace / ".env").write_text(f"QC_USER_ID=4242\nQC_API_TOKEN={token}\n")
    result = cli(["doctor"], cwd=workspace)
    assert "user 4242 from the .env file" in result.stdout
    assert token not in result.stdout + result.stderr


def test_not_a_git_repository_fails(cli: Cli, tmp_path: Path) -> None:
    ws = tmp_path / "plain"
    ws.mkdir()
    (ws / "qcloop.yaml").write_text("")
    checks = _checks(cli(["doctor", "--json"], cwd=ws))
    assert checks["git"]["status"] == "FAIL" and "git init" in checks["git"]["fix"]


def test_configured_data_folder_that_is_not_lean_fails(cli: Cli, workspace: Path, tmp_path: Path) -> None:
    (workspace / "qcloop.yaml").write_text(f"data:\n  folder: {tmp_path / 'nowhere'}\n")
    result = cli(["doctor", "--json"], cwd=workspace)
    assert result.code == 1
    assert "not a LEAN data folder" in _checks(result)["data"]["detail"]


def test_real_lean_data_is_recognised(cli: Cli, workspace: Path, lean_data: Path) -> None:
    (workspace / "qcloop.yaml").write_text(f"data:\n  folder: {lean_data}\n")
    detail = _checks(cli(["doctor", "--json"], cwd=workspace))["data"]["detail"]
    assert detail.startswith("LEAN data in") and "SPY" in detail and "SYNTHETIC" not in detail


def test_synthetic_data_is_labelled(cli: Cli, workspace: Path) -> None:
    daily = workspace / "data" / "equity" / "usa" / "daily"
    daily.mkdir(parents=True)
    (daily / "spy.zip").write_bytes(b"")
    (workspace / "data" / ".qcloop-synthetic.json").write_text(json.dumps({"seed": 11}))
    detail = _checks(cli(["doctor", "--json"], cwd=workspace))["data"]["detail"]
    assert detail.startswith("SYNTHETIC data (seed 11)")


def test_missing_kernel_is_a_failure(cli: Cli, workspace: Path) -> None:
    (workspace / "qcloop.yaml").write_text("notebooks:\n  kernel_name: no-such-kernel\n")
    checks = _checks(cli(["doctor", "--json"], cwd=workspace))
    assert checks["kernel"]["status"] == "FAIL" and "ipykernel install" in checks["kernel"]["fix"]


def test_outside_a_workspace_fails_and_explains(cli: Cli, tmp_path: Path) -> None:
    result = cli(["doctor"], cwd=tmp_path)
    assert result.code == 1
    assert "qcloop init" in result.stdout
