"""What the loop commands share: opening a workspace's store and ledger, building a LoopContext, and the
locked read-modify-commit of the commands that change one hypothesis (approve, retry)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.commands import Context

if TYPE_CHECKING:
    from orchestrator.config import Settings
    from orchestrator.ledger import Ledger
    from orchestrator.loop.context import Bookkeeping, LoopContext
    from orchestrator.models import HypothesisState
    from orchestrator.store import Store


@dataclass
class Workspace:
    path: Path
    settings: Settings
    store: Store

    def ledger(self) -> Ledger:
        from orchestrator.ledger import Ledger

        git = self.settings.git
        return Ledger(self.path, author_name=git.author_name, author_email=git.author_email,
                      tag_prefix=git.tag_prefix)


def open_workspace(ctx: Context) -> Workspace:
    from orchestrator.store import Store

    path = ctx.workspace()
    settings = ctx.settings()
    return Workspace(path=path, settings=settings, store=Store(path))


@contextlib.contextmanager
def changing(ctx: Context, hypothesis_id: str) -> Iterator[tuple[Workspace, Bookkeeping, HypothesisState]]:
    """Hold the workspace's write lock and load ``hypothesis_id``, for a command that commits a step of it.

    A commit that a killed run owes is made first, so that the ledger keeps every step in order: the
    command's own step would otherwise take the next Step number and the owed one would never be made.
    """
    from orchestrator.loop.context import Bookkeeping
    from orchestrator.loop.journal import recover_owed_commits

    workspace = open_workspace(ctx)
    books = Bookkeeping(store=workspace.store, ledger=workspace.ledger(), say=ctx.out)
    with workspace.store.writing():
        for subject in recover_owed_commits(books):
            ctx.out(f"recovered the commit a previous run owed: {subject}")
        yield workspace, books, workspace.store.load(hypothesis_id)


def build_loop_context(ctx: Context, workspace: Workspace, args: argparse.Namespace | None = None) -> LoopContext:
    """A LoopContext for ``workspace``; ``args`` may carry --platform, --api-url and --manual."""
    from orchestrator.decide import rules_for_workspace
    from orchestrator.loop.context import LoopContext
    from orchestrator.notify import Notifier
    from orchestrator.platforms import make_platform
    from orchestrator.strategies import load_registry

    settings = workspace.settings
    platform_name = getattr(args, "platform", None) or settings.loop.platform
    api_url = getattr(args, "api_url", None)
    if api_url and getattr(args, "platform", None) is None:
        platform_name = "cloud"  # --api-url only means something for the cloud platform
    platform = make_platform(settings, name=platform_name, api_url=api_url,
                             manual=bool(getattr(args, "manual", False)), environ=ctx.environ, home=ctx.home)
    return LoopContext(
        workspace=workspace.path, settings=settings, store=workspace.store, ledger=workspace.ledger(),
        platform=platform, rules=rules_for_workspace(workspace.path, settings.rules.file),
        registry=load_registry(workspace.path), notifier=Notifier(settings.notify, environ=ctx.environ),
        say=ctx.out,
    )
