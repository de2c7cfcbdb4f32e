"""The ``qcloop`` subcommands: one module each, plain functions that receive their dependencies.

A command module defines:

    NAME = "doctor"                 # the subcommand
    GROUP = "workspace"             # where --help lists it: see GROUPS
    HELP = "one line for the command list"
    DESCRIPTION = "what it does, with examples (shown by `qcloop NAME --help`)"
    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace, ctx: Context) -> int: ...   # returns the exit code

``main.py`` discovers the modules in this package, so adding a command is adding a file. A command
with subcommands of its own (``qcloop data synth``) adds a subparser set in ``add_arguments`` and
stores the handler in ``args.handler``; ``run`` then dispatches. Module imports must stay cheap
(no pandas, no engine at import time) so that ``qcloop --help`` is instant.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from orchestrator.config import Settings, load_settings, require_workspace

# (group id, heading) in the order --help shows them
GROUPS: tuple[tuple[str, str], ...] = (
    ("loop", "Research loop"),
    ("hypotheses", "Hypotheses and strategies"),
    ("engine", "Backtests and data (embedded engine)"),
    ("cloud", "QuantConnect cloud and emulator"),
    ("workspace", "Workspace"),
)


@dataclass
class Context:
    """What a command may touch of the outside world; tests build one with a tmp dir and StringIO."""

    cwd: Path = field(default_factory=Path.cwd)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    home: Path = field(default_factory=Path.home)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    workspace_arg: Path | None = None
    interactive: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    def workspace(self) -> Path:
        """The workspace folder (from --workspace or by walking up from cwd); an error if there is none."""
        return require_workspace(self.workspace_arg, self.cwd)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.workspace(), environ=self.environ)
        return self._settings

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        print(text, file=self.stderr)


def iso_date(text: str) -> dt.date:
    """An argparse ``type`` for dates written YYYY-MM-DD (argparse turns the error into a usage message)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date written YYYY-MM-DD, e.g. 2021-03-31") from None


def add_workspace_argument(parser: argparse.ArgumentParser) -> None:
    """Commands that work in a workspace accept -w/--workspace after their name too."""
    parser.add_argument(
        "-w", "--workspace", type=Path, default=argparse.SUPPRESS,
        help="the workspace folder (default: the nearest folder with a qcloop.yaml)",
    )
