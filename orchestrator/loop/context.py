"""What every stage function receives: the workspace's parts, the platform, the rules, the clock.

Stages take a ``LoopContext`` instead of reaching for globals, so tests build one around a temporary
workspace and inject a clock, a notifier and crash points (``checkpoint``) of their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.ledger import Ledger
from orchestrator.models import utcnow
from orchestrator.store import Store

if TYPE_CHECKING:
    from orchestrator.config import Settings
    from orchestrator.decide import RuleSet
    from orchestrator.notify import Notifier
    from orchestrator.platforms.base import Platform
    from orchestrator.strategies import FamilyRegistry


def _no_checkpoint(name: str) -> None:
    """Production code passes named crash points through here; tests raise at the one they target."""


@dataclass
class LoopContext:
    workspace: Path
    settings: Settings
    store: Store
    ledger: Ledger
    platform: Platform
    rules: RuleSet
    registry: FamilyRegistry
    notifier: Notifier
    say: Callable[[str], None] = print
    clock: Callable[[], dt.datetime] = utcnow
    checkpoint: Callable[[str], None] = _no_checkpoint
    # (digest of the uploaded code, compile id) of this process, by hypothesis: compiling is free and
    # quick, so it is not persisted; a resumed run compiles again before its first create call.
    compiled: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def rel(self, path: Path) -> str:
        """A workspace-relative POSIX path (how state and commits name files)."""
        return path.resolve().relative_to(self.workspace.resolve()).as_posix()

    def runs_dir(self, hypothesis_id: str) -> Path:
        return self.workspace / RUNS_DIR / hypothesis_id


RUNS_DIR = "runs"


@dataclass
class Bookkeeping:
    """Just enough to write states and commit steps, for commands that run no stage (approve, retry)."""

    store: Store
    ledger: Ledger
    say: Callable[[str], None] = print
    clock: Callable[[], dt.datetime] = utcnow
    checkpoint: Callable[[str], None] = _no_checkpoint
