"""The CLI skeleton: help that teaches, and the one error boundary (DESIGN.md §9)."""

from __future__ import annotations

import argparse
import io
import types
from pathlib import Path

import pytest

from orchestrator.commands import Context
from orchestrator.credentials import register_secret
from orchestrator.errors import DataError
from orchestrator.main import EXIT_INTERRUPTED, EXIT_UNEXPECTED, discover_commands, main


def _command(name: str, behaviour: BaseException | int) -> types.ModuleType:
    """A throwaway command module following the protocol of orchestrator/commands/__init__.py."""
    module = types.ModuleType(f"fake_{name}")
    module.NAME = name  # type: ignore[attr-defined]
    module.GROUP = "workspace"  # type: ignore[attr-defined]
    module.HELP = f"the {name} command"  # type: ignore[attr-defined]

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--flag", action="store_true")

    def run(args: argparse.Namespace, ctx: Context) -> int:
        if isinstance(behaviour, BaseException):
            raise behaviour
        return behaviour

    module.add_arguments = add_arguments  # type: ignore[attr-defined]
    module.run = run  # type: ignore[attr-defined]
    return module


def _run(argv: list[str], tmp_path: Path, *commands: types.ModuleType) -> tuple[int, str, str, Context]:
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(cwd=tmp_path, environ={}, home=tmp_path / "home", stdout=out, stderr=err)
    code = main(argv, ctx=ctx, commands=list(commands) or None)
    return code, out.getvalue(), err.getvalue(), ctx


def test_help_lists_every_discovered_command_under_its_group(tmp_path: Path) -> None:
    code, out, _, _ = _run(["--help"], tmp_path)
    assert code == 0
    assert "Start here:" in out
    for module in discover_commands():
        assert f"  {module.NAME}" in out, f"{module.NAME} missing from qcloop --help"


def test_no_command_prints_help_and_succeeds(tmp_path: Path) -> None:
    code, out, _, _ = _run([], tmp_path, _command("alpha", 0))
    assert code == 0
    assert "alpha" in out and "the alpha command" in out


def test_every_command_has_teaching_help(tmp_path: Path) -> None:
    for module in discover_commands():
        code, out, _, _ = _run([module.NAME, "--help"], tmp_path)
        assert code == 0, module.NAME
        assert module.NAME in out
        # A description beyond the one-line summary: what it does, usually with examples.
        assert len(getattr(module, "DESCRIPTION", "")) > len(module.HELP), f"{module.NAME} needs a DESCRIPTION"


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err, _ = _run(["no-such-command"], tmp_path, _command("alpha", 0))
    assert code == 2
    assert "invalid choice" in err


def test_command_exit_code_is_returned(tmp_path: Path) -> None:
    code, *_ = _run(["alpha"], tmp_path, _command("alpha", 3))
    assert code == 3


def test_expected_error_prints_one_actionable_line_and_exits_1(tmp_path: Path) -> None:
    failure = DataError("no daily data for XYZ", path="/data/equity/usa/daily/xyz.zip", hint="import it")
    code, out, err, _ = _run(["alpha"], tmp_path, _command("alpha", failure))
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert lines == ["qcloop: error: no daily data for XYZ (looked for /data/equity/usa/daily/xyz.zip) -- import it"]


def test_ctrl_c_exits_130_with_a_reassuring_message(tmp_path: Path) -> None:
    code, _, err, _ = _run(["alpha"], tmp_path, _command("alpha", KeyboardInterrupt()))
    assert code == EXIT_INTERRUPTED == 130
    assert "interrupted" in err and "resume" in err


def test_unexpected_error_writes_a_redacted_traceback_log_and_says_where(tmp_path: Path) -> None:
    secret = "tok-" + "9f8e7d6c5b4a"
    register_secret(secret)
    boom = RuntimeError(f"connection to api failed with token {secret}")
    code, _, err, _ = _run(["alpha"], tmp_path, _command("alpha", boom))
    assert code == EXIT_UNEXPECTED
    assert "unexpected error (RuntimeError)" in err
    log_path = Path(err.split("the traceback is in ")[1].split(". Please")[0])
    # No workspace here, so the log goes to the user cache folder under the (fake) home.
    assert log_path.is_relative_to(tmp_path / "home" / ".cache" / "qcloop" / "logs")
    text = log_path.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError" in text
    assert secret not in text and "***" in text
    assert secret not in err


def test_crash_log_goes_into_the_workspace_when_there_is_one(tmp_path: Path) -> None:
    (tmp_path / "qcloop.yaml").write_text("")
    code, _, err, _ = _run(["alpha"], tmp_path, _command("alpha", ValueError("bug")))
    assert code == EXIT_UNEXPECTED
    logs = list((tmp_path / ".qcloop" / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err


@pytest.mark.parametrize("argv", [["--version"], ["-w", "x", "--version"]])
def test_version(tmp_path: Path, argv: list[str]) -> None:
    code, out, _, _ = _run(argv, tmp_path)
    assert code == 0
    assert out.startswith("qcloop 0.")


def test_closed_stdout_pipe_is_not_a_crash(tmp_path: Path) -> None:
    # `qcloop history | head`: the reader goes away, the write raises BrokenPipeError.
    code, _, err, _ = _run(["alpha"], tmp_path, _command("alpha", BrokenPipeError()))
    assert code == 0
    assert err == ""
    assert not (tmp_path / "home" / ".cache" / "qcloop" / "logs").exists()
