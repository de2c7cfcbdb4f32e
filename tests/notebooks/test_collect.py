"""The collector: channels in a fixed order, the first fresh answer wins and is named, the inbox is
matched by nonce, and when nothing is fresh the most telling classification is reported."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from orchestrator.errors import AuthenticationError, TransportError
from orchestrator.notebooks import (
    ChannelName,
    Guidance,
    InboxChannel,
    LocalExecutionChannel,
    ObjectStoreChannel,
    ProjectFileChannel,
    RunStatus,
    StrategySource,
    collect,
    render_notebook,
    result_key,
)
from orchestrator.notebooks.collect import Channel
from orchestrator.notebooks.render import RenderedNotebook
from tests.notebooks.conftest import NONCE_B, run_by_hand, sweep_record, sweep_spec


class Calls:
    """Records which channel was read, in order (the readers are what a platform would supply)."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def file(self, content: Any):
        def read() -> Any:
            self.order.append("project file")
            return content
        return read

    def store(self, objects: dict[str, str]):
        def read(key: str) -> str | None:
            self.order.append("object store")
            return objects.get(key)
        return read


def _guide(rendered: RenderedNotebook, inbox: Path | None = None) -> Guidance:
    return Guidance(notebook=rendered.filename, inbox=inbox)


def test_channels_are_tried_in_the_fixed_order(tmp_path: Path, rendered_sweep: RenderedNotebook) -> None:
    calls = Calls()
    inbox = tmp_path / "inbox"
    channels: list[Channel] = [InboxChannel(inbox), ObjectStoreChannel(calls.store({})),
                               ProjectFileChannel(calls.file(rendered_sweep.text()))]
    outcome = collect(channels, rendered_sweep.provenance, guidance=_guide(rendered_sweep, inbox))
    assert [a.channel for a in outcome.attempts] == [ChannelName.PROJECT_FILE, ChannelName.OBJECT_STORE,
                                                     ChannelName.INBOX]
    assert calls.order == ["project file", "object store"]
    assert outcome.status is RunStatus.NOT_RUN and not outcome.moves_loop


def test_the_object_store_answers_when_the_file_lost_its_outputs(rendered_sweep: RenderedNotebook) -> None:
    stripped = run_by_hand(rendered_sweep)
    for cell in stripped["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
    record = json.dumps(sweep_record(rendered_sweep))
    calls = Calls()
    outcome = collect([ObjectStoreChannel(calls.store({result_key(rendered_sweep.provenance.nonce): record})),
                       ProjectFileChannel(calls.file(json.dumps(stripped)))], rendered_sweep.provenance)
    assert outcome.status is RunStatus.FRESH and outcome.channel is ChannelName.OBJECT_STORE
    assert [a.status for a in outcome.attempts] == [RunStatus.OUTPUTS_MISSING, RunStatus.FRESH]
    assert outcome.record is not None and outcome.record.nonce == rendered_sweep.provenance.nonce


def test_the_first_fresh_channel_stops_the_search(rendered_sweep: RenderedNotebook) -> None:
    calls = Calls()
    outcome = collect([ProjectFileChannel(calls.file(json.dumps(run_by_hand(rendered_sweep)))),
                       ObjectStoreChannel(calls.store({}))], rendered_sweep.provenance)
    assert outcome.channel is ChannelName.PROJECT_FILE and calls.order == ["project file"]
    assert outcome.notebook_json is not None and "QCLOOP-RESULT" in outcome.notebook_json


def test_the_inbox_matches_by_nonce_and_ignores_other_files(tmp_path: Path, ma_signal: StrategySource,
                                                            rendered_sweep: RenderedNotebook) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "notes.ipynb").write_text("not a notebook")  # someone else's junk: ignored
    other = render_notebook(sweep_spec(ma_signal, hypothesis_id="H-777"), nonce=NONCE_B)
    (inbox / "qcloop_H-777_parameter_sweep.ipynb").write_text(json.dumps(run_by_hand(other)))
    downloaded = inbox / "qcloop_H-900_parameter_sweep (1).ipynb"
    downloaded.write_text(json.dumps(run_by_hand(rendered_sweep)))
    outcome = collect([InboxChannel(inbox)], rendered_sweep.provenance,
                      guidance=_guide(rendered_sweep, inbox))
    assert outcome.status is RunStatus.FRESH and outcome.channel is ChannelName.INBOX
    assert outcome.source == str(downloaded)


def test_an_older_download_in_the_inbox_is_stale(tmp_path: Path, ma_signal: StrategySource,
                                                 rendered_sweep: RenderedNotebook) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    older = render_notebook(sweep_spec(ma_signal), nonce=NONCE_B)
    (inbox / "download.ipynb").write_text(json.dumps(run_by_hand(older)))
    outcome = collect([InboxChannel(inbox)], rendered_sweep.provenance, guidance=_guide(rendered_sweep, inbox))
    assert outcome.status is RunStatus.STALE
    broken = inbox / f"{Path(rendered_sweep.filename).stem} (2).ipynb"
    broken.write_text('{"cells": [')  # truncated download of this very notebook
    os.utime(broken, (1e9, 2e9))
    outcome = collect([InboxChannel(inbox)], rendered_sweep.provenance, guidance=_guide(rendered_sweep, inbox))
    assert outcome.status is RunStatus.MALFORMED and str(broken) in outcome.message


def test_nothing_fresh_reports_the_most_telling_answer(rendered_sweep: RenderedNotebook) -> None:
    failed = run_by_hand(rendered_sweep)
    failed["cells"][-1]["outputs"] = [nbformat.v4.new_output("error", ename="KeyError", evalue="'SPY'",
                                                             traceback=["KeyError: 'SPY'"])]
    outcome = collect([ProjectFileChannel(lambda: json.dumps(failed)), ObjectStoreChannel(lambda key: None)],
                      rendered_sweep.provenance)
    assert outcome.status is RunStatus.FAILED and outcome.channel is ChannelName.PROJECT_FILE
    assert "project file: FAILED; object store: NOT_RUN" in outcome.message


def test_an_unreadable_channel_is_reported_and_skipped(rendered_sweep: RenderedNotebook) -> None:
    def down(key: str) -> str:
        raise TransportError("connection refused", endpoint="object/get")

    record = json.dumps(sweep_record(rendered_sweep))
    outcome = collect([ObjectStoreChannel(down), ProjectFileChannel(lambda: None)], rendered_sweep.provenance)
    assert outcome.status is RunStatus.NOT_RUN
    assert outcome.attempts[1].status is None and "connection refused" in (outcome.attempts[1].error or "")
    only_down = collect([ObjectStoreChannel(down)], rendered_sweep.provenance)
    assert only_down.status is RunStatus.NOT_RUN and "could not read any channel" in only_down.message
    assert collect([ObjectStoreChannel(lambda key: record)], rendered_sweep.provenance).moves_loop


def test_rejected_credentials_are_not_waited_out(rendered_sweep: RenderedNotebook) -> None:
    # A connection problem may pass (the channel is skipped and tried again later); rejected
    # credentials will not, so they reach the loop, which stops and says what to fix.
    def refused(key: str) -> str:
        raise AuthenticationError("Hash doesn't match.", endpoint="object/get")

    with pytest.raises(AuthenticationError):
        collect([ObjectStoreChannel(refused), ProjectFileChannel(lambda: None)], rendered_sweep.provenance)


def test_local_execution_comes_first(rendered_sweep: RenderedNotebook) -> None:
    calls = Calls()

    def run(notebook: Any) -> Any:
        calls.order.append("local execution")
        return nbformat.from_dict(run_by_hand(rendered_sweep))

    outcome = collect([ProjectFileChannel(calls.file(None)), LocalExecutionChannel(rendered_sweep.notebook, run)],
                      rendered_sweep.provenance)
    assert calls.order == ["local execution"] and outcome.channel is ChannelName.LOCAL_EXECUTION
    assert outcome.moves_loop


# --- a bare record is trusted only as far as the run that wrote it ----------------------------------------


def _code(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def _error(ename: str = "ValueError") -> Any:
    return nbformat.v4.new_output("error", ename=ename, evalue="boom", traceback=[f"{ename}: boom"])


def _edited_signal(rendered: RenderedNotebook) -> dict[str, Any]:
    notebook = run_by_hand(rendered)
    signal = next(c for c in notebook["cells"] if c.get("id") == "signal")
    signal["source"] = "".join(signal["source"]).replace("class Signal", "class Signal  # mine")
    return notebook


def _ran_on_after_a_failure(rendered: RenderedNotebook) -> dict[str, Any]:
    """Run All stopped at a failing display cell; the person then ran the remaining cells one by one."""
    notebook = run_by_hand(rendered)
    failing = next(c for c in notebook["cells"] if c.get("id") == "stability-map")
    failing["outputs"] = [_error()]
    return notebook


def _result_re_run_after_a_deleted_cell(rendered: RenderedNotebook) -> dict[str, Any]:
    """Run All, then a cell added, run (it changed the figures) and deleted, then the result cell re-run."""
    notebook = run_by_hand(rendered)
    _code(notebook)[-1]["execution_count"] += 2
    return notebook


def _stripped_after_a_deleted_cell(rendered: RenderedNotebook) -> dict[str, Any]:
    """The same, read back with the Research quirk: execution counts kept, every output gone."""
    notebook = _result_re_run_after_a_deleted_cell(rendered)
    for cell in _code(notebook):
        cell["outputs"] = []
    return notebook


@pytest.mark.parametrize(("make", "status"), [
    (_edited_signal, RunStatus.TAMPERED),
    (_ran_on_after_a_failure, RunStatus.FAILED),
    (_result_re_run_after_a_deleted_cell, RunStatus.NOT_RUN),
    (_stripped_after_a_deleted_cell, RunStatus.NOT_RUN),
])
def test_the_object_store_does_not_vouch_for_a_discredited_run(rendered_sweep: RenderedNotebook,
                                                               make: Callable[[RenderedNotebook], dict[str, Any]],
                                                               status: RunStatus) -> None:
    # The record that run saved carries this run's nonce and hash: on its own it would be FRESH.
    store = {result_key(rendered_sweep.provenance.nonce): json.dumps(sweep_record(rendered_sweep))}
    outcome = collect([ProjectFileChannel(lambda: json.dumps(make(rendered_sweep))),
                       ObjectStoreChannel(store.get)], rendered_sweep.provenance)
    assert [a.status for a in outcome.attempts] == [status, RunStatus.FRESH]
    assert outcome.status is status and not outcome.moves_loop
    assert outcome.channel is ChannelName.PROJECT_FILE and "Object Store" in outcome.message


def test_the_object_store_answers_for_a_run_still_saving_or_an_earlier_clean_run(
        rendered_sweep: RenderedNotebook) -> None:
    store = {result_key(rendered_sweep.provenance.nonce): json.dumps(sweep_record(rendered_sweep))}
    # Saved while Run All was still going: the result cell has not run in this copy.
    saving = run_by_hand(rendered_sweep)
    for cell in _code(saving)[8:]:
        cell["execution_count"], cell["outputs"] = None, []
    # A clean Run All (counts 1..n, record stored), then a second Run All that failed in cell 3.
    second = run_by_hand(rendered_sweep)
    count = len(_code(second))
    for offset, cell in enumerate(_code(second)[:3], start=1):
        cell["execution_count"] = count + offset
    _code(second)[2]["outputs"] = [_error()]
    for notebook, status in ((saving, RunStatus.NOT_RUN), (second, RunStatus.FAILED)):
        outcome = collect([ProjectFileChannel(lambda nb=notebook: json.dumps(nb)), ObjectStoreChannel(store.get)],
                          rendered_sweep.provenance)
        assert [a.status for a in outcome.attempts] == [status, RunStatus.FRESH]
        assert outcome.moves_loop and outcome.channel is ChannelName.OBJECT_STORE


def test_an_inbox_file_with_unreadable_qcloop_metadata_is_ignored(tmp_path: Path,
                                                                  rendered_sweep: RenderedNotebook) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    notebook = run_by_hand(rendered_sweep)
    notebook["metadata"]["qcloop"] = "not a mapping"
    (inbox / "download.ipynb").write_text(json.dumps(notebook))
    outcome = collect([InboxChannel(inbox)], rendered_sweep.provenance, guidance=_guide(rendered_sweep, inbox))
    assert outcome.status is RunStatus.NOT_RUN
