"""Classification of what comes back, on notebooks written by hand to be fresh, not run, partial, stale,
failed, stripped (the Research quirk), tampered and malformed."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.notebooks import (
    Guidance,
    ParameterSweepRecord,
    RunStatus,
    StrategySource,
    classify_notebook,
    classify_record,
    render_notebook,
)
from orchestrator.notebooks.render import RenderedNotebook
from tests.notebooks.conftest import NONCE_B, run_by_hand, sweep_record, sweep_spec

GUIDE = Guidance(notebook="qcloop_H-900_parameter_sweep.ipynb")
HandRun = Callable[..., dict[str, Any]]


def _code_cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def _cell(notebook: dict[str, Any], cell_id: str) -> dict[str, Any]:
    return next(c for c in notebook["cells"] if c.get("id") == cell_id)


def _classify(notebook: Any, rendered: RenderedNotebook, expected: Any = None):
    content = json.dumps(notebook) if isinstance(notebook, dict) else notebook
    return classify_notebook(content, expected if expected is not None else rendered.provenance, guidance=GUIDE)


def test_fresh(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    verdict = _classify(hand_run(), rendered_sweep)
    assert verdict.status is RunStatus.FRESH and verdict.moves_loop
    assert isinstance(verdict.record, ParameterSweepRecord)
    assert verdict.record.nonce == rendered_sweep.provenance.nonce


def test_fresh_from_the_plain_text_line_when_rich_output_is_lost(rendered_sweep: RenderedNotebook,
                                                                 hand_run: HandRun) -> None:
    assert _classify(hand_run(rich=False), rendered_sweep).status is RunStatus.FRESH


def test_fresh_with_only_the_nonce_known(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    verdict = _classify(hand_run(), rendered_sweep, expected=rendered_sweep.provenance.nonce)
    assert verdict.status is RunStatus.FRESH


def test_fresh_when_a_front_end_dropped_cell_metadata(rendered_sweep: RenderedNotebook,
                                                      hand_run: HandRun) -> None:
    notebook = hand_run()
    result_cell = notebook["cells"][-1]
    for cell in notebook["cells"]:
        cell["metadata"] = {}
    assert result_cell["metadata"] == {}
    assert _classify(notebook, rendered_sweep).status is RunStatus.FRESH


def test_not_run(rendered_sweep: RenderedNotebook) -> None:
    for content in (None, rendered_sweep.text()):
        verdict = classify_notebook(content, rendered_sweep.provenance, guidance=GUIDE)
        assert verdict.status is RunStatus.NOT_RUN and not verdict.moves_loop
        assert "run all cells" in verdict.message and GUIDE.notebook in verdict.message


def test_partly_run_and_out_of_order_are_not_a_run(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    partial = hand_run()
    for cell in _code_cells(partial)[5:]:
        cell["execution_count"], cell["outputs"] = None, []
    verdict = _classify(partial, rendered_sweep)
    assert verdict.status is RunStatus.NOT_RUN and "partly run" in verdict.message
    shuffled = hand_run()
    cells = _code_cells(shuffled)
    cells[3]["execution_count"], cells[4]["execution_count"] = cells[4]["execution_count"], cells[3]["execution_count"]
    verdict = _classify(shuffled, rendered_sweep)
    assert verdict.status is RunStatus.NOT_RUN and "out of order" in verdict.message


def test_stale_notebook_from_another_run(ma_signal: StrategySource, rendered_sweep: RenderedNotebook) -> None:
    older = render_notebook(sweep_spec(ma_signal), nonce=NONCE_B)
    verdict = _classify(run_by_hand(older), rendered_sweep)
    assert verdict.status is RunStatus.STALE
    assert NONCE_B[:8] in verdict.message and "older copy" in verdict.message


def test_stale_outputs_under_current_metadata(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    # Re-uploaded with the new nonce but never re-run: the outputs still hold the old run's record.
    notebook = hand_run(record=sweep_record(rendered_sweep, nonce=NONCE_B))
    verdict = _classify(notebook, rendered_sweep)
    assert verdict.status is RunStatus.STALE and "has outputs of run" in verdict.message


def test_failed_reports_cell_exception_and_traceback(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    notebook = hand_run()
    cells = notebook["cells"]
    index = next(i for i, c in enumerate(cells) if c.get("id") == "grid")
    cells[index]["outputs"] = [{
        "output_type": "error", "ename": "ValueError", "evalue": "no trading days between 2011 and 2012",
        "traceback": ["\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
                      "\x1b[0;31mValueError\x1b[0m   Traceback (most recent call last)",
                      "Cell \x1b[0;32mIn[16], line 1\x1b[0m\n----> 1 points = run_sweep(...)",
                      "\x1b[0;31mValueError\x1b[0m: no trading days between 2011 and 2012"],
    }]
    for cell in _code_cells(notebook):
        if cells.index(cell) > index:
            cell["execution_count"], cell["outputs"] = None, []
    verdict = _classify(notebook, rendered_sweep)
    assert verdict.status is RunStatus.FAILED
    assert verdict.failure is not None
    failure = verdict.failure
    assert (failure.cell_index, failure.cell_id, failure.exception) == (index, "grid", "ValueError")
    assert verdict.failure.traceback_tail[-1] == "ValueError: no trading days between 2011 and 2012"
    assert "\x1b" not in verdict.message and f"cell {index} (grid)" in verdict.message


def test_outputs_missing_is_the_research_quirk(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    stripped = hand_run()
    for cell in _code_cells(stripped):
        cell["outputs"] = []  # counts kept, outputs gone: what files/read sometimes returns
    verdict = _classify(stripped, rendered_sweep)
    assert verdict.status is RunStatus.OUTPUTS_MISSING
    assert "Object Store" in verdict.message and "inbox" in verdict.message
    no_record = hand_run()
    no_record["cells"][-1]["outputs"] = []
    assert _classify(no_record, rendered_sweep).status is RunStatus.OUTPUTS_MISSING


@pytest.mark.parametrize(("tamper", "what"), [
    (lambda nb: _cell(nb, "signal").__setitem__("source", "class Signal:\n    pass\n"), "signal were edited"),
    (lambda nb: _cell(nb, "injected-parameters").__setitem__(
        "source", "".join(_cell(nb, "injected-parameters")["source"]).replace("= 'sharpe'", "= 'cagr'")),
     "injected-parameters"),
    (lambda nb: nb["metadata"]["qcloop"]["parameters"].__setitem__("cash", 1.0), "its own provenance hash"),
    (lambda nb: nb["metadata"].pop("qcloop"), "metadata is missing"),
    (lambda nb: nb["cells"].insert(5, {"cell_type": "code", "id": "mine", "metadata": {}, "source": "x = 1",
                                       "outputs": [], "execution_count": 4}), "were added"),
    (lambda nb: nb["cells"].pop(6), "removed or reordered"),
])
def test_tampered(rendered_sweep: RenderedNotebook, hand_run: HandRun,
                  tamper: Callable[[dict[str, Any]], Any], what: str) -> None:
    notebook = hand_run()
    tamper(notebook)
    verdict = _classify(notebook, rendered_sweep)
    assert verdict.status is RunStatus.TAMPERED, verdict.message
    assert what in verdict.message and "does not trust" in verdict.message


def test_tampered_when_metadata_is_rehashed_consistently(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    """Rewriting parameters and recomputing the hash still fails: qcloop compares with what it stored."""
    from orchestrator.notebooks import Provenance

    notebook = hand_run()
    forged = Provenance.model_validate(notebook["metadata"]["qcloop"])
    forged = forged.model_copy(update={"parameters": {**forged.parameters, "cash": 1.0}}).sealed()
    notebook["metadata"]["qcloop"] = forged.model_dump(mode="json")
    verdict = _classify(notebook, rendered_sweep)
    assert verdict.status is RunStatus.TAMPERED and "not the one qcloop rendered" in verdict.message


def test_tampered_record(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    notebook = hand_run(record=sweep_record(rendered_sweep, provenance_hash="e" * 64))
    assert _classify(notebook, rendered_sweep).status is RunStatus.TAMPERED


@pytest.mark.parametrize(("content", "reason"), [
    (b"\xff\xfe not text", "not UTF-8"),
    ("{ this is not json", "is not JSON"),
    (json.dumps({"name": "a notebook? no"}), "not a Jupyter notebook"),
    (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "cells": [], "metadata": {}}), "nbformat 3"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ["text"]}), "cell 0"),
])
def test_malformed(rendered_sweep: RenderedNotebook, content: Any, reason: str) -> None:
    verdict = classify_notebook(content, rendered_sweep.provenance, guidance=GUIDE)
    assert verdict.status is RunStatus.MALFORMED
    assert reason in verdict.message and GUIDE.notebook in verdict.message


def test_malformed_record(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    bad = sweep_record(rendered_sweep)
    bad["baseline"] = {**bad["baseline"], "max_drawdown": -0.5}
    verdict = _classify(hand_run(record=bad), rendered_sweep)
    assert verdict.status is RunStatus.MALFORMED and "baseline.max_drawdown" in verdict.message


def test_bare_records_from_the_object_store(rendered_sweep: RenderedNotebook) -> None:
    expected = rendered_sweep.provenance
    good = json.dumps(sweep_record(rendered_sweep))
    assert classify_record(good, expected).status is RunStatus.FRESH
    assert classify_record(None, expected).status is RunStatus.NOT_RUN
    assert classify_record("not json", expected).status is RunStatus.MALFORMED
    assert classify_record(json.dumps(sweep_record(rendered_sweep, nonce=NONCE_B)), expected).status is RunStatus.STALE
    forged = json.dumps(sweep_record(rendered_sweep, provenance_hash="e" * 64))
    assert classify_record(forged, expected).status is RunStatus.TAMPERED
    assert classify_record(forged, expected.nonce).status is RunStatus.FRESH  # nonce only: hash unknown


def test_classification_does_not_change_its_input(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    notebook = hand_run()
    before = copy.deepcopy(notebook)
    classify_notebook(notebook, rendered_sweep.provenance)
    assert notebook == before


def test_read_notebook_gives_text_sources(rendered_sweep: RenderedNotebook) -> None:
    from orchestrator.notebooks import read_notebook

    stored = json.loads(rendered_sweep.text())  # .ipynb files keep multi-line sources as lists of lines
    assert isinstance(stored["cells"][2]["source"], list)
    notebook = read_notebook(stored)
    assert all(isinstance(cell.source, str) for cell in notebook.cells)
    assert notebook.cells[2].source == rendered_sweep.notebook.cells[2].source
    assert isinstance(stored["cells"][2]["source"], list)  # the caller's data is left alone


def test_another_runs_notebook_is_stale_even_in_an_older_format(rendered_sweep: RenderedNotebook,
                                                                hand_run: HandRun) -> None:
    notebook = hand_run()
    notebook["metadata"]["qcloop"] = {"schema_version": 0, "nonce": NONCE_B, "hypothesis": "H-900"}
    assert _classify(notebook, rendered_sweep).status is RunStatus.STALE


# --- hostile and damaged notebooks (review of the handshake) -------------------------------------------


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda nb: nb.pop("metadata"), "metadata"),
    (lambda nb: _cell(nb, "grid").__setitem__("metadata", "tags"), "metadata of cell"),
    (lambda nb: _cell(nb, "grid").__setitem__("outputs", "none"), "outputs of cell"),
    (lambda nb: _cell(nb, "grid").__setitem__("outputs", ["text"]), "outputs of cell"),
    (lambda nb: _cell(nb, "grid").__setitem__("execution_count", "7"), "execution count of cell"),
    (lambda nb: _cell(nb, "grid").__setitem__("cell_type", ["code"]), "type of cell"),
    (lambda nb: _cell(nb, "grid").__setitem__("outputs", [{"output_type": ["stream"], "text": "x"}]),
     "outputs of cell"),
    (lambda nb: _cell(nb, "grid").__setitem__("outputs", [{"output_type": "stream", "text": [1, 2]}]),
     "outputs of cell"),
    (lambda nb: _cell(nb, "grid").__setitem__("outputs", [{"output_type": "display_data", "data": 5}]),
     "outputs of cell"),
    (lambda nb: _cell(nb, "grid-intro").__setitem__("attachments", {"a.png": "x"}), "attachments of cell"),
])
def test_a_damaged_structure_is_malformed_not_a_crash(rendered_sweep: RenderedNotebook, hand_run: HandRun,
                                                      damage: Callable[[dict[str, Any]], Any], reason: str) -> None:
    notebook = hand_run()
    damage(notebook)
    verdict = _classify(notebook, rendered_sweep)
    assert verdict.status is RunStatus.MALFORMED, verdict.message
    assert reason in verdict.message


@pytest.mark.parametrize("mark", ["grid", {"cell": ["grid"]}, {"cell": 7}])
def test_unreadable_qcloop_cell_metadata_is_not_a_qcloop_cell(rendered_sweep: RenderedNotebook, hand_run: HandRun,
                                                              mark: Any) -> None:
    notebook = hand_run()
    _cell(notebook, "grid")["metadata"]["qcloop"] = mark
    verdict = _classify(notebook, rendered_sweep)
    assert verdict.status is RunStatus.TAMPERED and "were added" in verdict.message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_in_a_record_are_malformed(rendered_sweep: RenderedNotebook, value: float) -> None:
    record = sweep_record(rendered_sweep, baseline={**sweep_record(rendered_sweep)["baseline"], "sharpe": value})
    text = json.dumps(record)  # Python writes NaN / Infinity, which JSON does not have
    assert "NaN" in text or "Infinity" in text
    verdict = _classify(run_by_hand(rendered_sweep, record), rendered_sweep)
    assert verdict.status is RunStatus.MALFORMED and "baseline.sharpe" in verdict.message
    assert classify_record(text, rendered_sweep.provenance).status is RunStatus.MALFORMED
    assert classify_record(record, rendered_sweep.provenance).status is RunStatus.MALFORMED


def test_the_fallback_line_split_across_stream_outputs_is_read(rendered_sweep: RenderedNotebook,
                                                                hand_run: HandRun) -> None:
    """ipykernel flushes a long print in pieces; each piece may be a stream output of its own."""
    notebook = hand_run(rich=False)
    outputs = notebook["cells"][-1]["outputs"]
    line = "".join(outputs[-1]["text"])
    third = len(line) // 3
    outputs[-1:] = [{"output_type": "stream", "name": "stdout", "text": piece}
                    for piece in (line[:third], line[third:2 * third], line[2 * third:])]
    verdict = _classify(notebook, rendered_sweep)
    assert verdict.status is RunStatus.FRESH, verdict.message


def test_a_gap_in_the_execution_counts_is_not_one_run(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    """Run All (counts 1..n), then a cell added, run and deleted again, then the result cell re-run: the
    counts still rise, but count n and n + 1 are missing from the notebook."""
    notebook = hand_run()
    _code_cells(notebook)[-1]["execution_count"] += 2
    verdict = _classify(notebook, rendered_sweep)
    assert verdict.status is RunStatus.NOT_RUN and "one pass" in verdict.message


@pytest.mark.parametrize(("cell_id", "becomes"), [("stability-map", "markdown"), ("grid-intro", "code"),
                                                  ("grid", "raw")])
def test_a_cell_whose_type_changed_is_tampered(rendered_sweep: RenderedNotebook, hand_run: HandRun,
                                               cell_id: str, becomes: str) -> None:
    notebook = hand_run()
    cell = _cell(notebook, cell_id)
    cell["cell_type"] = becomes
    if becomes == "code":
        cell.update(outputs=[], execution_count=None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    verdict = _classify(notebook, rendered_sweep)
    assert verdict.status is RunStatus.TAMPERED and cell_id in verdict.message, verdict.message


def test_json_nested_too_deeply_is_malformed(rendered_sweep: RenderedNotebook, hand_run: HandRun) -> None:
    """json.loads raises RecursionError (not a JSONDecodeError) on very deep nesting; copying a notebook
    (recursive) does so already at a few hundred levels."""
    deep = "[" * 200_000 + "]" * 200_000
    assert classify_notebook(deep, rendered_sweep.provenance).status is RunStatus.MALFORMED
    assert classify_record(deep, rendered_sweep.provenance).status is RunStatus.MALFORMED
    notebook = hand_run()
    notebook["metadata"]["deep"] = json.loads("{\"a\": " * 600 + "0" + "}" * 600)
    assert _classify(notebook, rendered_sweep).status is RunStatus.MALFORMED
