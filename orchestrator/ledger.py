"""The git ledger (DESIGN.md §6): one commit per step, trailers that tell the story, tags for acceptances.

The only module that imports GitPython. A step's commit holds exactly the files the step changed
(``git commit --only -- <paths>``, so whatever else the researcher has staged is left alone), has a
subject like ``H-007 baseline: Sharpe 1.21, 38 trades -> optimize`` and trailers
(``Hypothesis``, ``Stage``, ``Step``, ``Decision``, ``Rules``, ``Backtest-Id``, ``Trials`` ...).
``history`` rebuilds every hypothesis's timeline from those trailers alone, so it works on a fresh
clone that has no ``state/``.

Commits never depend on the machine's git identity: qcloop is the author and committer (overridable
in qcloop.yaml, ``git.author_name`` / ``git.author_email``). Hooks are skipped and signing is off,
because a loop that waits on a passphrase prompt or a linter hook would hang unattended. Git runs in a
session of its own, so that Ctrl-C in the terminal (which signals the whole foreground process group)
reaches qcloop, which finishes the step's commit before it stops, and not the git in the middle of it.
Commit messages pass through ``credentials.redact``.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import git

from orchestrator.credentials import redact
from orchestrator.errors import LedgerError, WorkspaceError

TRAILER_HYPOTHESIS = "Hypothesis"
TRAILER_STAGE = "Stage"
TRAILER_STEP = "Step"
_FIELD = "\x1f"
_RECORD = "\x1e"
_TRAILER_SEP = "\x1d"


@dataclass(frozen=True)
class HistoryEntry:
    """One ledger commit, read back from git."""

    sha: str
    date: dt.datetime
    author: str
    subject: str
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def hypothesis(self) -> str:
        return self.trailers.get(TRAILER_HYPOTHESIS, "")

    @property
    def stage(self) -> str:
        return self.trailers.get(TRAILER_STAGE, "")

    @property
    def seq(self) -> int | None:
        value = self.trailers.get(TRAILER_STEP, "")
        return int(value) if value.isdigit() else None


def _clean(value: str) -> str:
    """Trailer values are one line: newlines would end the trailer block."""
    return " ".join(str(value).split())


def format_message(subject: str, trailers: Sequence[tuple[str, str]], body: str = "") -> str:
    lines = [_clean(subject), ""]
    if body.strip():
        lines += [body.rstrip(), ""]
    lines += [f"{key}: {_clean(value)}" for key, value in trailers if _clean(value)]
    return redact("\n".join(lines) + "\n")


class Ledger:
    """The workspace's git repository, seen through the loop's eyes."""

    def __init__(
        self, workspace: Path, *, author_name: str = "qcloop", author_email: str = "qcloop@localhost",
        tag_prefix: str = "accepted/",
    ) -> None:
        self.workspace = workspace.resolve()
        try:
            self.repo = git.Repo(self.workspace, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise WorkspaceError(
                f"{self.workspace} is not inside a git repository, so qcloop has nowhere to record steps",
                hint=f"run `git init` in {self.workspace} (or make the workspace with `qcloop init`)",
            ) from exc
        if self.repo.working_tree_dir is None:
            raise WorkspaceError(f"{self.workspace} is in a bare git repository", hint="use a normal clone")
        self.root = Path(self.repo.working_tree_dir).resolve()
        self.tag_prefix = tag_prefix
        self._env = {
            "GIT_AUTHOR_NAME": author_name, "GIT_AUTHOR_EMAIL": author_email,
            "GIT_COMMITTER_NAME": author_name, "GIT_COMMITTER_EMAIL": author_email,
        }
        self._started = time.time()

    @staticmethod
    def init(workspace: Path) -> None:
        """Make ``workspace`` a git repository (the default branch is git's own default)."""
        try:
            git.Repo.init(workspace)
        except git.GitCommandError as exc:
            raise LedgerError(f"`git init {workspace}` failed: {exc.stderr.strip()}") from exc

    # ------------------------------------------------------------------------------------ helpers

    def _repo_path(self, workspace_relative: str) -> str:
        return (self.workspace / workspace_relative).resolve().relative_to(self.root).as_posix()

    def _git(self, *args: str) -> str:
        try:
            out: str = self.repo.git.execute(["git", *args], env={**os.environ, **self._env},
                                             start_new_session=True)
            return out
        except git.GitCommandError as exc:
            stderr = (exc.stderr or "").strip().replace("\n", " ")
            raise LedgerError(
                f"`git {' '.join(args[:2])}` failed in {self.root}: {stderr or exc}",
                hint="check `git status` in the workspace; qcloop retries the commit on the next run",
            ) from exc

    def wait_for_index_lock(self, timeout: float = 10.0) -> None:
        """A killed run may leave a git child finishing its commit; wait for it, then clear a stale lock.

        The lock is removed only when it is older than this Ledger and outlived the wait. qcloop's own
        commits happen under the workspace's write lock (``Store.writing``), which every caller holds, so
        no live qcloop process can be writing it.
        """
        lock = Path(self.repo.git_dir) / "index.lock"
        deadline = time.monotonic() + timeout
        while lock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if lock.exists():
            try:
                if lock.stat().st_mtime < self._started:
                    lock.unlink()
            except OSError:
                pass

    def head_sha(self) -> str | None:
        try:
            return self.repo.head.commit.hexsha
        except ValueError:  # no commits yet
            return None

    def committed_text(self, path: Path) -> str | None:
        """``path``'s content at HEAD (absolute, or relative to the workspace); None if not committed."""
        absolute = path if path.is_absolute() else self.workspace / path
        try:
            relative = absolute.resolve().relative_to(self.root).as_posix()
            blob = self.repo.head.commit.tree / relative
        except (ValueError, KeyError):  # outside the repository, no commit yet, or not in HEAD
            return None
        data: bytes = blob.data_stream.read()
        return data.decode("utf-8", errors="replace")

    # ------------------------------------------------------------------------------------ write

    def commit(
        self, subject: str, trailers: Sequence[tuple[str, str]], files: Sequence[str], *, body: str = "",
    ) -> str:
        """Commit exactly ``files`` (workspace-relative) with the subject and trailers; return the sha."""
        paths = [self._repo_path(f) for f in files if (self.workspace / f).exists() or self._tracked(f)]
        if not paths:
            raise LedgerError(f"nothing to commit for '{subject}': none of {list(files)} exists")
        self.wait_for_index_lock()
        # A step's own files are committed even if a .gitignore rule of the researcher's matches them
        # (otherwise every run would stop at this step); folders are added without -f, so that
        # ignored clutter inside them (checkpoints, caches) stays out.
        files_only = [p for p in paths if (self.root / p).is_file()]
        folders = [p for p in paths if p not in files_only]
        if files_only:
            self._git("add", "-A", "-f", "--", *files_only)
        if folders:
            self._git("add", "-A", "--", *folders)
        message = format_message(subject, trailers, body)
        self._git(
            "-c", "commit.gpgsign=false", "commit", "--no-verify", "--allow-empty", "--only",
            "-m", message, "--", *paths,
        )
        sha = self.head_sha()
        assert sha is not None
        return sha

    def _tracked(self, workspace_relative: str) -> bool:
        return bool(self._git("ls-files", "--", self._repo_path(workspace_relative)).strip())

    def tag(self, name: str, message: str, sha: str | None = None) -> str:
        """Create the annotated tag ``tag_prefix + name`` at ``sha`` (HEAD); idempotent for the same commit."""
        full = self.tag_prefix + name
        target = sha or self.head_sha()
        existing = self._git("tag", "--list", full).strip()
        if existing:
            current = self._git("rev-list", "-n", "1", full).strip()
            if current == target:
                return full
            raise LedgerError(
                f"tag {full} already exists at {current[:10]}, not at {str(target)[:10]}",
                hint=f"delete it with `git tag -d {full}` if it is stale",
            )
        self._git("-c", "tag.gpgsign=false", "tag", "-a", full, "-m", message, str(target))
        return full

    # ------------------------------------------------------------------------------------ read

    def history(self, hypothesis: str | None = None) -> list[HistoryEntry]:
        """Every ledger commit (those with a ``Hypothesis:`` trailer), oldest first."""
        if self.head_sha() is None:
            return []
        fmt = _FIELD.join(["%H", "%aI", "%an", "%s", "%(trailers:only,unfold,separator=%x1d)"]) + _RECORD
        out = self._git("log", "--reverse", f"--format={fmt}", f"--grep=^{TRAILER_HYPOTHESIS}: ")
        entries = []
        for chunk in out.split(_RECORD):
            raw = chunk.strip("\n")
            if not raw:
                continue
            sha, date, author, subject, trailer_text = (raw.split(_FIELD) + [""] * 5)[:5]
            trailers = _parse_trailers(trailer_text)
            if TRAILER_HYPOTHESIS not in trailers:
                continue
            if hypothesis and trailers[TRAILER_HYPOTHESIS] != hypothesis:
                continue
            entries.append(HistoryEntry(sha, dt.datetime.fromisoformat(date), author, subject, trailers))
        return entries

    def committed_seqs(self) -> dict[str, int]:
        """The highest ``Step:`` committed per hypothesis (what the ledger has seen of each)."""
        seqs: dict[str, int] = {}
        for entry in self.history():
            if entry.seq is not None:
                seqs[entry.hypothesis] = max(seqs.get(entry.hypothesis, 0), entry.seq)
        return seqs

    def tags(self) -> list[str]:
        return [t.name for t in self.repo.tags if t.name.startswith(self.tag_prefix)]


def _parse_trailers(text: str) -> dict[str, str]:
    trailers: dict[str, str] = {}
    for item in text.split(_TRAILER_SEP):
        key, sep, value = item.strip().partition(": ")
        if sep and key:
            trailers[key] = value.strip()
    return trailers
