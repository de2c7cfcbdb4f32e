"""Classify whatever came back for a notebook run, with a message a person can act on.

    result = classify_notebook(content, expected, guidance=Guidance(notebook="qcloop_H-007_...ipynb"))
    result.status        # RunStatus; only FRESH moves the loop
    result.record        # the typed record (FRESH only)
    result.message       # one actionable paragraph

``expected`` is the ``Provenance`` qcloop stored when it rendered the notebook (never the notebook's own
claim). The checks run in this order, and the first that applies decides:

1. MALFORMED: not UTF-8, not JSON, not a notebook, or not nbformat 4.
2. TAMPERED: the qcloop metadata is missing.
3. STALE: the metadata's nonce is another run's (an older upload or download).
   TAMPERED: the metadata is unreadable or inconsistent with its own hash.
4. TAMPERED: same nonce but another provenance hash; the injected cell disagrees with the metadata;
   a qcloop cell was edited, removed or reordered; a code cell was added.
5. FAILED: a cell has an error output (cell index, exception, value, last traceback lines).
6. NOT_RUN: no qcloop code cell has an execution count.
7. NOT_RUN: only part of the notebook ran, cells ran out of order, or not in one pass (a gap in the
   execution counts: something else ran in the kernel in between, e.g. a cell since deleted).
8. OUTPUTS_MISSING: execution counts are set but no cell has any output (the Research quirk).
9. OUTPUTS_MISSING: the result cell ran but its record output is not there.
10. MALFORMED: the record does not match its schema (non-finite numbers included).
11. STALE / TAMPERED: the record's nonce / provenance hash is not this run's.
12. FRESH.

A record read from the Object Store alone goes through ``classify_record`` (steps 10-12). It cannot show
how the run that wrote it went, so a notebook of the same run that shows a tampered notebook, or a
result cell that ran after a failed cell or outside one clean pass, *discredits* it
(``Classification.discredits_record``; the collector then does not take the bare record as FRESH).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.v4.rwbase import rejoin_lines
from pydantic import ValidationError

from orchestrator.errors import MalformedNotebookError
from orchestrator.notebooks.manifest import INJECTED_TAG
from orchestrator.notebooks.provenance import (
    METADATA_KEY,
    Provenance,
    cell_hash,
    normalize_source,
    sources_hash,
)
from orchestrator.notebooks.records import (
    RESULT_LINE_PREFIX,
    RESULT_MIME_TYPE,
    BaselineReviewRecord,
    ParameterSweepRecord,
    WalkForwardRecord,
    parse_record,
)
from orchestrator.notebooks.render import injected_source

Record = BaselineReviewRecord | ParameterSweepRecord | WalkForwardRecord
Expected = Provenance | str  # the rendered provenance, or only the run's nonce
TRACEBACK_LINES = 6
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class RunStatus(StrEnum):
    NOT_RUN = "NOT_RUN"
    FRESH = "FRESH"
    STALE = "STALE"
    FAILED = "FAILED"
    OUTPUTS_MISSING = "OUTPUTS_MISSING"
    TAMPERED = "TAMPERED"
    MALFORMED = "MALFORMED"


@dataclass(frozen=True)
class CellFailure:
    cell_index: int  # 0-based position in the notebook
    cell_id: str | None
    exception: str
    value: str
    traceback_tail: list[str]


@dataclass(frozen=True)
class Guidance:
    """What the messages name: the notebook file, where the person runs it, and the inbox folder."""

    notebook: str = "the notebook"
    where: str = "QuantConnect Research"
    inbox: Path | None = None

    @property
    def inbox_text(self) -> str:
        return f"the workspace inbox ({self.inbox})" if self.inbox is not None else "the workspace's inbox/ folder"


@dataclass(frozen=True)
class Classification:
    status: RunStatus
    message: str
    record: Record | None = None
    failure: CellFailure | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # True when this notebook shows that the run which wrote this run's record cannot be trusted: its
    # cells were changed, or its result cell ran after a failure or outside one clean pass. A bare
    # record of the same run (the Object Store) must then not count as FRESH.
    discredits_record: bool = False

    @property
    def moves_loop(self) -> bool:
        return self.status is RunStatus.FRESH


# --- reading ------------------------------------------------------------------------------------------


def read_notebook(content: str | bytes | Mapping[str, Any], *, source: str = "notebook") -> NotebookNode:
    """Parse notebook content into an nbformat 4 node (sources as text, like ``nbformat.reads``);
    MalformedNotebookError says what is wrong."""
    data: Any = content
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNotebookError("is not UTF-8 text", source=source,
                                         hint="it is not a notebook; use the .ipynb file itself") from exc
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise MalformedNotebookError(f"is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                                         source=source, hint="the file is truncated or not a notebook") from exc
        except RecursionError as exc:
            raise MalformedNotebookError("is JSON nested too deeply to be a notebook", source=source,
                                         hint="the file is damaged or not a notebook") from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("cells"), list) or "nbformat" not in data:
        raise MalformedNotebookError("is JSON but not a Jupyter notebook (no 'cells' list or 'nbformat')",
                                     source=source, hint="drop the .ipynb notebook file, not another file")
    if data.get("nbformat") != 4:
        raise MalformedNotebookError(f"is nbformat {data.get('nbformat')!r}; qcloop reads nbformat 4",
                                     source=source, hint="save it from a current Jupyter or QuantConnect Research")
    if not isinstance(data.get("metadata"), Mapping):
        raise MalformedNotebookError("has no notebook metadata", source=source,
                                     hint="the file was damaged; use the notebook qcloop rendered")
    for index, cell in enumerate(data["cells"]):
        problem = _cell_problem(cell)
        if problem is not None:
            raise MalformedNotebookError(f"{problem} of cell {index}", source=source,
                                         hint="the file was damaged; use the notebook qcloop rendered")
    # Like nbformat.reads: sources and output texts stored as lists of lines become strings (a copy,
    # so the caller's data is never changed), ready for a kernel.
    try:
        return rejoin_lines(nbformat.from_dict(copy.deepcopy(dict(data))))
    except RecursionError as exc:  # copying is recursive: a few hundred nested levels anywhere exhaust it
        raise MalformedNotebookError("is JSON nested too deeply to be a notebook", source=source,
                                     hint="the file is damaged or not a notebook") from exc


def _is_text(value: Any) -> bool:
    """A notebook text field: a string, or a list of strings (lines)."""
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(line, str) for line in value))


def _is_output(output: Any) -> bool:
    """An nbformat output in the shape the reading below relies on (text as text, data as a mapping)."""
    if not isinstance(output, Mapping) or not isinstance(output.get("output_type", ""), str):
        return False
    if output.get("output_type") in ("display_data", "execute_result"):
        return isinstance(output.get("data", {}), Mapping)
    return _is_text(output.get("text", ""))


def _cell_problem(cell: Any) -> str | None:
    """What makes ``cell`` unreadable as an nbformat 4 cell (None if nothing): the shapes the checks
    below rely on, so that a damaged or hostile file is MALFORMED instead of crashing them."""
    if not isinstance(cell, Mapping) or cell.get("cell_type") not in ("code", "markdown", "raw"):
        return "the type"
    if not _is_text(cell.get("source", "")):
        return "the source"
    if not isinstance(cell.get("metadata", {}), Mapping):
        return "the metadata"
    attachments = cell.get("attachments", {})
    if not isinstance(attachments, Mapping) or not all(isinstance(a, Mapping) for a in attachments.values()):
        return "the attachments"
    if cell["cell_type"] != "code":
        return None
    outputs = cell.get("outputs", [])
    if not isinstance(outputs, list) or not all(_is_output(output) for output in outputs):
        return "the outputs"
    count = cell.get("execution_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        return "the execution count"
    return None


def _tags(cell: Mapping[str, Any]) -> list[str]:
    tags = (cell.get("metadata") or {}).get("tags")
    return [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []


def _is_injected(cell: Mapping[str, Any]) -> bool:
    return INJECTED_TAG in _tags(cell) or cell.get("id") == INJECTED_TAG


def _qcloop_meta(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = (cell.get("metadata") or {}).get(METADATA_KEY)
    return meta if isinstance(meta, Mapping) else {}


def _qcloop_cell_id(cell: Mapping[str, Any]) -> str | None:
    """qcloop's id of a cell, from its qcloop metadata (None for a cell qcloop did not render, or
    whose qcloop metadata is not what qcloop writes)."""
    cell_id = _qcloop_meta(cell).get("cell")
    return cell_id if isinstance(cell_id, str) and cell_id else None


def _restore_cell_ids(notebook: NotebookNode) -> None:
    """If a front end dropped every cell's metadata, fall back to the nbformat cell ids, which qcloop
    sets to the same values (so such a notebook is still recognised, and an edit still detected)."""
    if any(_qcloop_cell_id(cell) for cell in notebook.cells):
        return
    for cell in notebook.cells:
        if isinstance(cell.get("id"), str) and cell["id"] and not _is_injected(cell):
            cell.setdefault("metadata", {})[METADATA_KEY] = {"cell": cell["id"]}


def _result_cell(notebook: NotebookNode) -> NotebookNode | None:
    """The result cell: qcloop's last code cell (the manifest puts it last, and the cells' order is
    checked before this is asked; found by position because tags are not hashed and may be lost)."""
    code = [c for c in notebook.cells if c.cell_type == "code" and _qcloop_cell_id(c)]
    return code[-1] if code else None


# --- records in outputs --------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(line for line in value if isinstance(line, str))
    return value if isinstance(value, str) else ""


def _output_texts(outputs: list[Mapping[str, Any]]) -> list[str]:
    """The plain texts of a cell's outputs. Consecutive stream outputs of one stream are joined: a
    kernel flushes a long print in pieces, and a front end may keep each piece as an output."""
    texts: list[str] = []
    stream: Any = None
    for output in outputs:
        if output.get("output_type") == "stream":
            if texts and stream is not None and output.get("name") == stream:
                texts[-1] += _text(output.get("text"))
            else:
                texts.append(_text(output.get("text")))
            stream = output.get("name")
            continue
        stream = None
        data = output.get("data")
        texts.append(_text(data.get("text/plain")) if isinstance(data, Mapping) else "")
    return texts


def _record_candidates(cell: Mapping[str, Any]) -> list[Any]:
    """Record payloads in a cell's outputs, best first: the vendor MIME bundle, then fallback lines."""
    outputs = cell.get("outputs") or []
    rich = [output["data"][RESULT_MIME_TYPE] for output in outputs
            if isinstance(output.get("data"), Mapping) and RESULT_MIME_TYPE in output["data"]]
    lines = [line[len(RESULT_LINE_PREFIX):] for text in _output_texts(outputs) for line in text.splitlines()
             if line.startswith(RESULT_LINE_PREFIX)]
    return rich + lines


def _first_valid_record(candidates: list[Any]) -> tuple[Record | None, str | None]:
    first_error: str | None = None
    for candidate in candidates:
        try:
            return parse_record(candidate), None
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "(record)"
            first_error = first_error or f"{where}: {problem['msg']}"
    return None, first_error


# --- the classification --------------------------------------------------------------------------------


def _short(nonce: str) -> str:
    return nonce[:8]


def expected_nonce(expected: Expected) -> str:
    return expected if isinstance(expected, str) else expected.nonce


def classify_notebook(content: str | bytes | Mapping[str, Any] | None, expected: Expected, *,
                      guidance: Guidance | None = None) -> Classification:
    """Classify a notebook read back from a channel (see the module docstring for the order).

    ``expected`` is the ``Provenance`` qcloop rendered (strongest: every hash is compared with what
    qcloop stored), or just the run's nonce (then the notebook's own provenance must be intact and
    its cells must match it).
    """
    guide = guidance or Guidance()
    if content is None:
        return not_run(guide)
    try:
        notebook = read_notebook(content, source=guide.notebook)
    except MalformedNotebookError as exc:
        return Classification(RunStatus.MALFORMED, f"{exc} -- {exc.hint} Replace it with the notebook qcloop "
                              f"rendered or a fresh download from {guide.where}.")
    _restore_cell_ids(notebook)
    verdict, provenance = _check_metadata(notebook, expected, guide)
    if verdict is not None or provenance is None:
        return verdict or tampered(guide, "its qcloop metadata is unreadable")
    for check in (_check_cells, _check_execution):
        verdict = check(notebook, provenance, guide)
        if verdict is not None:
            return verdict
    return _check_record(notebook, provenance, guide)


def not_run(guide: Guidance) -> Classification:
    return Classification(RunStatus.NOT_RUN, f"{guide.notebook} has not been run yet: open it in {guide.where}, "
                          "run all cells (Kernel > Restart Kernel and Run All Cells) and save it.")


def tampered(guide: Guidance, what: str, *, notebook: bool = True) -> Classification:
    """``notebook``: the notebook itself was changed, so no record of its run is trusted (False for a
    record that carries another hash: that says nothing about the stored record)."""
    return Classification(
        RunStatus.TAMPERED,
        f"{guide.notebook} was changed after qcloop rendered it ({what}), so qcloop does not trust its "
        f"results. Run the notebook exactly as qcloop uploaded it (qcloop uploads it again on the next "
        f"`qcloop run`); to explore, work in a copy under another name.",
        details={"tampered": what}, discredits_record=notebook,
    )


def stale(guide: Guidance, found: str, expected: str, what: str = "holds run") -> Classification:
    return Classification(
        RunStatus.STALE,
        f"{guide.notebook} {what} {_short(found)}, not the current run {_short(expected)}: it is an older "
        f"copy. Open the current {guide.notebook} in {guide.where}, run all cells and save it (or drop a "
        f"fresh download into {guide.inbox_text}).",
        details={"found_nonce": found, "expected_nonce": expected},
    )


def _check_metadata(notebook: NotebookNode, expected: Expected,
                    guide: Guidance) -> tuple[Classification | None, Provenance | None]:
    """(a verdict, or None and the provenance the rest of the checks compare against)."""
    raw = notebook.metadata.get(METADATA_KEY)
    if not isinstance(raw, Mapping):
        return tampered(guide, "its qcloop metadata is missing"), None
    # Another run's notebook is stale whatever else it holds (e.g. the provenance schema of an older qcloop).
    if isinstance(raw.get("nonce"), str) and raw["nonce"] != expected_nonce(expected):
        return stale(guide, raw["nonce"], expected_nonce(expected)), None
    try:
        found = Provenance.model_validate(dict(raw))
    except ValidationError:
        return tampered(guide, "its qcloop metadata is unreadable"), None
    if not found.is_intact():
        return tampered(guide, "its qcloop metadata does not match its own provenance hash"), None
    provenance = found if isinstance(expected, str) else expected
    if found.provenance_hash != provenance.provenance_hash:
        return tampered(guide, "its provenance hash is not the one qcloop rendered for this run"), None
    injected = [c for c in notebook.cells if _is_injected(c)]
    if len(injected) != 1:
        return tampered(guide, f"it has {len(injected)} injected-parameters cells instead of one"), None
    # The whole cell, not just the provenance literal: an edited variable changes what the cells compute.
    if normalize_source(injected[0].source) != normalize_source(injected_source(provenance)):
        return tampered(guide, "the injected-parameters cell was edited"), None
    return None, provenance


def _check_cells(notebook: NotebookNode, expected: Provenance, guide: Guidance) -> Classification | None:
    pairs, added = [], []
    for index, cell in enumerate(notebook.cells):
        if _is_injected(cell):
            continue
        cell_id = _qcloop_cell_id(cell)
        if cell_id is None:
            if cell.cell_type == "code":
                added.append(index)
            continue
        pairs.append((cell_id, cell_hash(cell_id, cell.cell_type, cell.source)))
    if added:
        return tampered(guide, f"code cell(s) at position {', '.join(map(str, added))} were added")
    if sources_hash(pairs) != expected.sources_hash:
        recorded = {_qcloop_cell_id(c): _qcloop_meta(c).get("sha256") for c in notebook.cells if _qcloop_cell_id(c)}
        edited = [cid for cid, digest in pairs if recorded.get(cid) != digest]
        what = f"cell(s) {', '.join(edited)} were edited" if edited else "cells were removed or reordered"
        return tampered(guide, what)
    return None


def _failure(notebook: NotebookNode) -> CellFailure | None:
    for index, cell in enumerate(notebook.cells):
        outputs = cell.get("outputs") or [] if cell.cell_type == "code" else []
        for output in outputs:
            if output.get("output_type") == "error":
                lines = [_ANSI.sub("", line) for entry in output.get("traceback") or []
                         for line in str(entry).splitlines() if line.strip()]
                return CellFailure(index, _qcloop_cell_id(cell) or cell.get("id"), str(output.get("ename", "")),
                                   str(output.get("evalue", "")), lines[-TRACEBACK_LINES:])
    return None


def _check_execution(notebook: NotebookNode, expected: Provenance, guide: Guidance) -> Classification | None:
    result = _result_cell(notebook)
    result_count = result.get("execution_count") if result is not None else None
    failure = _failure(notebook)
    if failure is not None:
        tail = "\n".join(failure.traceback_tail)
        failed_count = notebook.cells[failure.cell_index].get("execution_count")
        return Classification(
            RunStatus.FAILED,
            f"{guide.notebook} failed in cell {failure.cell_index} ({failure.cell_id}): {failure.exception}: "
            f"{failure.value}. Fix the cause (the traceback's last lines are below: missing data, a wrong "
            f"date range, or a bug to report), then run all cells again and save.\n{tail}",
            failure=failure,
            # the result cell ran after the failure (in the same kernel): its record misses that cell's work
            discredits_record=result_count is not None and (failed_count is None or result_count >= failed_count),
        )
    code = [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code"
            and (_qcloop_cell_id(c) is not None or _is_injected(c))]
    counts = [(i, c.get("execution_count")) for i, c in code]
    ran = [(i, n) for i, n in counts if n is not None]
    if not ran:
        return not_run(guide)
    # Before the outputs: the Research quirk strips outputs but keeps the counts, which still tell.
    irregular = _irregular_run(guide, counts, ran)
    if irregular is not None:
        # A result cell that ran outside one clean pass wrote a record nobody can vouch for.
        return Classification(irregular.status, irregular.message, details=irregular.details,
                              discredits_record=result_count is not None)
    if not any(c.get("outputs") for c in notebook.cells if c.cell_type == "code"):
        return outputs_missing(guide, "every cell has an execution count but no cell has any output")
    return None


def _irregular_run(guide: Guidance, counts: list[tuple[int, int | None]],
                   ran: list[tuple[int, int]]) -> Classification | None:
    """NOT_RUN unless every code cell ran, in notebook order, in one pass (consecutive counts)."""
    skipped = [i for i, n in counts if n is None]
    if skipped:
        return Classification(RunStatus.NOT_RUN, f"{guide.notebook} was only partly run (cells "
                              f"{', '.join(map(str, skipped))} did not run): restart the kernel, run all cells "
                              "and save.", details={"skipped_cells": skipped})
    disorder = [(a, b) for (a, m), (b, n) in itertools.pairwise(ran) if n <= m]
    if disorder:
        a, b = disorder[0]
        return Classification(RunStatus.NOT_RUN, f"{guide.notebook}'s cells ran out of order (cell {b} ran "
                              f"before cell {a}): restart the kernel, run all cells in order and save.",
                              details={"out_of_order": disorder})
    # Run All numbers the cells it runs consecutively; a gap means something else ran in the kernel in
    # between (a cell since deleted, a console attached to the kernel) and may have changed its state.
    gaps = [(a, b) for (a, m), (b, n) in itertools.pairwise(ran) if n != m + 1]
    if gaps:
        a, b = gaps[0]
        return Classification(RunStatus.NOT_RUN, f"{guide.notebook}'s cells did not run in one pass (something "
                              f"else ran in the kernel between cell {a} and cell {b}): restart the kernel, run "
                              "all cells and save.", details={"gaps": gaps})
    return None


def outputs_missing(guide: Guidance, what: str) -> Classification:
    return Classification(
        RunStatus.OUTPUTS_MISSING,
        f"{guide.notebook} was run but its outputs are missing ({what}). This is a known QuantConnect "
        f"Research quirk when a notebook is read back through the API. qcloop also looks in the Object "
        f"Store and in {guide.inbox_text}; if the result is in neither, open the notebook in "
        f"{guide.where}, download it (File > Download) and put the .ipynb into {guide.inbox_text}.",
        details={"missing": what},
    )


def _check_record(notebook: NotebookNode, expected: Provenance, guide: Guidance) -> Classification:
    result = _result_cell(notebook)
    candidates = _record_candidates(result) if result is not None else []
    if not candidates:
        return outputs_missing(guide, "the result cell ran but shows no QCLOOP-RESULT record")
    return _judge_record(candidates, expected, guide)


def _judge_record(candidates: list[Any], expected: Expected, guide: Guidance) -> Classification:
    record, error = _first_valid_record(candidates)
    if record is None:
        return Classification(RunStatus.MALFORMED, f"{guide.notebook}'s result record is not valid ({error}). "
                              "The notebook and this qcloop disagree on the record format: re-render the "
                              "notebook with this qcloop and run it again.", details={"record_error": error})
    if record.nonce != expected_nonce(expected):
        return stale(guide, record.nonce, expected_nonce(expected), what="has outputs of run")
    if isinstance(expected, Provenance) and record.provenance_hash != expected.provenance_hash:
        return tampered(guide, "its result record carries another provenance hash", notebook=False)
    return Classification(RunStatus.FRESH, f"{guide.notebook}: fresh {record.kind.value} result for run "
                          f"{_short(record.nonce)}.", record=record)


def classify_record(content: str | bytes | Mapping[str, Any] | None, expected: Expected, *,
                    guidance: Guidance | None = None) -> Classification:
    """Classify a bare record (e.g. from the Object Store): NOT_RUN, MALFORMED, STALE, TAMPERED or FRESH.

    With only a nonce expected, the provenance hash cannot be compared (the record is trusted on its
    nonce, which only this run's notebook knows)."""
    guide = guidance or Guidance()
    nonce = expected_nonce(expected)
    if content is None:
        return Classification(RunStatus.NOT_RUN, f"no result record for run {_short(nonce)} yet.")
    data: Any = content
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, RecursionError) as exc:
            problem = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            return Classification(RunStatus.MALFORMED, f"the stored result record for run "
                                  f"{_short(nonce)} is not JSON ({problem}); run the notebook again.")
    return _judge_record([data], expected, guide)
