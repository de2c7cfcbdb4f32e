"""The git ledger on real repositories: exactly the step's files, trailers, history, tags, no identity."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestrator.errors import LedgerError, WorkspaceError
from orchestrator.ledger import Ledger, format_message


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _repo(tmp_path: Path) -> Ledger:
    Ledger.init(tmp_path)
    return Ledger(tmp_path, author_name="qcloop bot", author_email="bot@example.invalid")


def _step(ledger: Ledger, workspace: Path, seq: int, stage: str, decision: str | None = None) -> str:
    path = workspace / "state" / "H-007.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f'{{"seq": {seq}}}\n')
    trailers = [("Hypothesis", "H-007"), ("Stage", stage), ("Step", str(seq))]
    if decision:
        trailers.append(("Decision", decision))
    return ledger.commit(f"H-007 {stage}: step {seq}", trailers, ["state/H-007.json"], body="why\nand how")


def test_commits_without_any_git_identity_using_the_configured_author(tmp_path: Path) -> None:
    # conftest removed every identity: a bare `git commit` here would fail with "Please tell me who you are".
    bare = subprocess.run(["git", "-C", str(tmp_path), "init", "-q"], capture_output=True, text=True, check=False)
    assert bare.returncode == 0
    (tmp_path / "f").write_text("x")
    git(tmp_path, "add", "f")
    refused = subprocess.run(["git", "-C", str(tmp_path), "commit", "-qm", "m"], capture_output=True, text=True,
                             check=False)
    assert refused.returncode != 0
    ledger = Ledger(tmp_path, author_name="qcloop bot", author_email="bot@example.invalid")
    _step(ledger, tmp_path, 1, "generate")
    assert git(tmp_path, "log", "-1", "--format=%an <%ae> / %cn <%ce>").strip() == \
        "qcloop bot <bot@example.invalid> / qcloop bot <bot@example.invalid>"


def test_a_commit_holds_exactly_the_listed_files(tmp_path: Path) -> None:
    ledger = _repo(tmp_path)
    (tmp_path / "notes.txt").write_text("the researcher's own file, staged")
    git(tmp_path, "add", "notes.txt")
    (tmp_path / "scratch.txt").write_text("untracked")
    _step(ledger, tmp_path, 1, "generate")
    assert git(tmp_path, "show", "--name-only", "--format=", "HEAD").split() == ["state/H-007.json"]
    # What the researcher staged is still staged, untouched; the untracked file still untracked.
    assert git(tmp_path, "diff", "--cached", "--name-only").split() == ["notes.txt"]
    assert "?? scratch.txt" in git(tmp_path, "status", "--porcelain")


def test_subject_and_trailers_are_what_git_log_shows(tmp_path: Path) -> None:
    ledger = _repo(tmp_path)
    _step(ledger, tmp_path, 1, "baseline", "optimize")
    message = git(tmp_path, "log", "-1", "--format=%B")
    assert message.startswith("H-007 baseline: step 1\n\nwhy\nand how\n\n")
    parsed = git(tmp_path, "log", "-1", "--format=%(trailers:only,unfold)")
    assert parsed.split("\n")[:4] == ["Hypothesis: H-007", "Stage: baseline", "Step: 1", "Decision: optimize"]


def test_trailer_values_are_kept_on_one_line() -> None:
    text = format_message("subject", [("Reason", "line one\nline two"), ("Empty", "  ")])
    assert text.endswith("Reason: line one line two\n")
    assert "Empty" not in text


def test_history_is_rebuilt_from_trailers_on_a_fresh_clone(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    ledger = _repo(origin)
    _step(ledger, origin, 1, "generate")
    (origin / "README").write_text("not a loop step")
    git(origin, "add", "README")
    subprocess.run(["git", "-C", str(origin), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm",
                    "a human commit without trailers"], check=True)
    _step(ledger, origin, 2, "baseline", "reject")
    subprocess.run(["git", "clone", "-q", str(origin), str(tmp_path / "clone")], check=True)
    clone = Ledger(tmp_path / "clone")
    entries = clone.history()
    assert [(e.hypothesis, e.stage, e.seq) for e in entries] == [("H-007", "generate", 1), ("H-007", "baseline", 2)]
    assert entries[1].trailers["Decision"] == "reject"
    assert clone.committed_seqs() == {"H-007": 2}
    assert clone.history("H-999") == []


def test_tags_are_annotated_idempotent_and_never_moved(tmp_path: Path) -> None:
    ledger = _repo(tmp_path)
    first = _step(ledger, tmp_path, 1, "validate", "accept")
    assert ledger.tag("H-007", "H-007 accepted") == "accepted/H-007"
    assert ledger.tag("H-007", "H-007 accepted", first) == "accepted/H-007"
    assert git(tmp_path, "cat-file", "-t", "accepted/H-007").strip() == "tag"
    _step(ledger, tmp_path, 2, "retry")
    with pytest.raises(LedgerError, match="already exists"):
        ledger.tag("H-007", "again")
    assert ledger.tags() == ["accepted/H-007"]


def test_a_stale_index_lock_from_a_killed_run_is_removed(tmp_path: Path) -> None:
    Ledger.init(tmp_path)
    lock = tmp_path / ".git" / "index.lock"
    lock.write_text("")  # left by a git process killed before this Ledger (this process) started
    import os
    import time

    old = time.time() - 60
    os.utime(lock, (old, old))
    ledger = Ledger(tmp_path)
    ledger.wait_for_index_lock(timeout=0.1)
    assert not lock.exists()
    _step(ledger, tmp_path, 1, "generate")


def test_a_folder_outside_git_is_an_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="git init"):
        Ledger(tmp_path / "nowhere")


def test_committed_text_is_the_version_at_head_not_the_one_on_disk(tmp_path: Path) -> None:
    ledger = _repo(tmp_path)
    assert ledger.committed_text(Path("state/H-007.json")) is None  # no commit yet
    _step(ledger, tmp_path, 1, "generate")
    (tmp_path / "state" / "H-007.json").write_text('{"seq": 99}\n')  # edited, not committed
    assert ledger.committed_text(Path("state/H-007.json")) == '{"seq": 1}\n'
    assert ledger.committed_text(tmp_path / "state" / "H-007.json") == '{"seq": 1}\n'  # absolute path too
    assert ledger.committed_text(Path("state/never-committed.json")) is None
    assert ledger.committed_text(tmp_path.parent / "outside.txt") is None


def test_a_registered_secret_never_reaches_a_commit_message(tmp_path: Path) -> None:
    from orchestrator.credentials import register_secret

    secret = "s3cr3t-token-for-the-ledger-test-0123456789"
    register_secret(secret)
    ledger = _repo(tmp_path)
    (tmp_path / "f").write_text("x")
    ledger.commit(f"H-007 fail: token {secret} rejected", [("Hypothesis", "H-007"), ("Reason", secret)], ["f"],
                  body=f"Traceback: {secret}")
    message = git(tmp_path, "log", "-1", "--format=%B")
    assert secret not in message and message.startswith("H-007 fail: token *** rejected")


SLOW_GIT = """#!/bin/sh
# git, but a commit takes a while: long enough for Ctrl-C to arrive in the middle of it
case " $* " in *" commit "*) touch "$QCLOOP_TEST_MARK"; sleep 1 ;; esac
exec {git} "$@"
"""


def test_ctrl_c_in_the_terminal_during_a_commit_lets_the_commit_finish(tmp_path: Path) -> None:
    """The terminal sends SIGINT to the whole foreground process group: qcloop *and* its git child."""
    import os
    import shutil
    import signal
    import sys
    import textwrap
    import time

    Ledger.init(tmp_path / "ws")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(SLOW_GIT.format(git=shutil.which("git")))
    wrapper.chmod(0o755)
    mark = tmp_path / "committing"
    code = textwrap.dedent(f"""
        from pathlib import Path
        from orchestrator.loop.context import Bookkeeping
        from orchestrator.loop.journal import commit_step, save
        from orchestrator.ledger import Ledger
        from orchestrator.models import HypothesisState, Stage, Step
        from orchestrator.store import Store
        ws = Path({str(tmp_path / "ws")!r})
        books = Bookkeeping(store=Store(ws), ledger=Ledger(ws), say=print)
        state = save(books, HypothesisState(id="H-001", family="f", spec_path="h", spec_sha256="0" * 64))
        try:
            commit_step(books, state.model_copy(update={{"stage": Stage.GENERATED}}), step=Step.GENERATE,
                        subject="code")
        except KeyboardInterrupt:
            print("interrupted after the commit")
    """)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "QCLOOP_TEST_MARK": str(mark),
           "GIT_PYTHON_GIT_EXECUTABLE": str(wrapper)}
    # A process group of its own, like a shell's foreground job.
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    deadline = time.monotonic() + 30
    while not mark.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert mark.exists(), child.communicate()
    os.killpg(child.pid, signal.SIGINT)  # Ctrl-C
    out, err = child.communicate(timeout=30)
    assert "interrupted after the commit" in out, err
    assert Ledger(tmp_path / "ws").committed_seqs() == {"H-001": 1}


def test_a_steps_files_are_committed_even_when_a_gitignore_rule_matches_them(tmp_path: Path) -> None:
    ledger = _repo(tmp_path)
    (tmp_path / ".gitignore").write_text("state/\n*.json\n")  # a researcher's broad rule
    _step(ledger, tmp_path, 1, "generate")
    assert git(tmp_path, "show", "--name-only", "--format=", "HEAD").split() == ["state/H-007.json"]
