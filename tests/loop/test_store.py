"""The state store: validated files, atomic compare-and-swap writes, the workspace's locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestrator.errors import StateError
from orchestrator.models import SCHEMA_VERSION, HypothesisState, Stage
from orchestrator.store import StateConflictError, Store, WorkspaceBusyError, atomic_write_text


def _state(hypothesis_id: str = "H-001") -> HypothesisState:
    return HypothesisState(id=hypothesis_id, family="ma_crossover", spec_path=f"hypotheses/{hypothesis_id}.yaml",
                           spec_sha256="0" * 64)


def test_save_then_load_round_trips_and_counts_revisions(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = store.save(_state(), expected_revision=None)
    assert first.revision == 1
    second = store.save(first.model_copy(update={"stage": Stage.GENERATED}), expected_revision=1)
    assert second.revision == 2
    loaded = store.load("H-001")
    assert loaded.stage is Stage.GENERATED and loaded.revision == 2
    raw = json.loads((tmp_path / "state" / "H-001.json").read_text())
    assert raw["schema_version"] == SCHEMA_VERSION


def test_a_stale_writer_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path)
    written = store.save(_state(), expected_revision=None)
    store.save(written.model_copy(update={"title": "changed by approve"}), expected_revision=1)
    with pytest.raises(StateConflictError, match="expected revision 1, found 2"):
        store.save(written.model_copy(update={"title": "stale"}), expected_revision=1)
    assert store.load("H-001").title == "changed by approve"


def test_creating_an_existing_state_is_a_conflict(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save(_state(), expected_revision=None)
    with pytest.raises(StateConflictError):
        store.save(_state(), expected_revision=None)


def test_an_invalid_state_file_names_the_file_and_field(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save(_state(), expected_revision=None)
    path = tmp_path / "state" / "H-001.json"
    raw = json.loads(path.read_text())
    raw["stage"] = "finished"
    path.write_text(json.dumps(raw))
    with pytest.raises(StateError, match=r"H-001\.json, field 'stage'"):
        store.load("H-001")
    path.write_text("{not json")
    with pytest.raises(StateError, match="not readable JSON"):
        store.load("H-001")


def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save(_state(), expected_revision=None)
    path = tmp_path / "state" / "H-001.json"
    raw = json.loads(path.read_text())
    raw["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(raw))
    with pytest.raises(StateError, match="schema_version"):
        store.load("H-001")


def test_atomic_write_leaves_no_temporary_file_and_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "state" / "x.json"
    atomic_write_text(path, "first")
    atomic_write_text(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_temporary_files_of_a_killed_writer_are_cleaned(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save(_state(), expected_revision=None)
    leftover = tmp_path / "state" / ".H-001.json.tmp-12345"
    leftover.write_text("half a file")
    assert store.clean_temporary_files() == [leftover]
    assert store.ids() == ["H-001"]


def test_temporary_artifacts_of_a_killed_writer_are_cleaned_too(tmp_path: Path) -> None:
    results = tmp_path / "runs" / "H-001" / "results"
    atomic_write_text(results / "baseline.json", "{}")
    leftover = results / ".sweep.json.tmp-12345"  # SIGKILLed in the middle of write_artifact
    leftover.write_text("half a record")
    assert Store(tmp_path).clean_temporary_files(tmp_path / "runs", tmp_path / "strategies") == [leftover]
    assert [p.name for p in results.iterdir()] == ["baseline.json"]


def _hold_run_lock_in_child(workspace: Path) -> subprocess.Popen[str]:
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from orchestrator.store import Store
        store = Store(Path({str(workspace)!r}))
        store.acquire_run_lock("qcloop run (child)")
        print("locked", flush=True)
        sys.stdin.read()
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    return child


def test_a_second_run_in_the_same_workspace_refuses_and_names_the_holder(tmp_path: Path) -> None:
    child = _hold_run_lock_in_child(tmp_path)
    try:
        with pytest.raises(WorkspaceBusyError, match=rf"pid {child.pid}.*qcloop run \(child\)"):
            Store(tmp_path).acquire_run_lock()
    finally:
        child.kill()
        child.wait()
    # The kernel releases a dead process's flock: the workspace is free again at once.
    store = Store(tmp_path)
    store.acquire_run_lock()
    assert f"pid {os.getpid()}" in (tmp_path / ".qcloop" / "run.lock").read_text()
    store.release_run_lock()


def test_the_write_lock_is_reentrant_and_exclusive_between_stores(tmp_path: Path) -> None:
    first, second = Store(tmp_path), Store(tmp_path, write_lock_timeout=0.2)
    with first.writing(), first.writing():
        first.save(_state(), expected_revision=None)
        with pytest.raises(WorkspaceBusyError, match="could not lock"), second.writing():
            pass
    with second.writing():
        assert second.load("H-001").revision == 1


def test_cleaning_temporary_files_waits_for_a_live_writer(tmp_path: Path) -> None:
    # `qcloop approve` holds the write lock while its temporary file exists; a run starting right then
    # must not delete that file from under it.
    writer, run = Store(tmp_path), Store(tmp_path, write_lock_timeout=0.2)
    with writer.writing():
        live = tmp_path / "state" / f".H-001.json.tmp-{os.getpid()}"
        live.parent.mkdir(parents=True)
        live.write_text("being written")
        with pytest.raises(WorkspaceBusyError):
            run.clean_temporary_files()
        assert live.exists()
    assert run.clean_temporary_files() == [live]


def test_a_registered_secret_never_reaches_a_state_file(tmp_path: Path) -> None:
    from orchestrator.credentials import register_secret
    from orchestrator.models import Failure

    secret = "s3cr3t-token-for-the-store-test-0123456789"
    register_secret(secret)
    failure = Failure(stage=Stage.BASELINE, reason=f"backtests/read failed for token {secret}",
                      evidence=f"Traceback ...\nValueError: {secret}", retry="qcloop retry H-001")
    Store(tmp_path).save(_state().model_copy(update={"stage": Stage.FAILED, "failure": failure}),
                         expected_revision=None)
    text = (tmp_path / "state" / "H-001.json").read_text()
    assert secret not in text and "ValueError: ***" in text
    assert Store(tmp_path).load("H-001").failure is not None  # still a valid state file
