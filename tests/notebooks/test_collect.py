"""The collector: channels in a fixed order, the first fresh answer wins and is named, the inbox is
matched by nonce, and when nothing is fresh the most telling classification is reported."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import nbformat

from orchestrator.errors import TransportError
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


def test_local_execution_comes_first(rendered_sweep: RenderedNotebook) -> None:
    calls = Calls()

    def run(notebook: Any) -> Any:
        calls.order.append("local execution")
        return nbformat.from_dict(run_by_hand(rendered_sweep))

    outcome = collect([ProjectFileChannel(calls.file(None)), LocalExecutionChannel(rendered_sweep.notebook, run)],
                      rendered_sweep.provenance)
    assert calls.order == ["local execution"] and outcome.channel is ChannelName.LOCAL_EXECUTION
    assert outcome.moves_loop
