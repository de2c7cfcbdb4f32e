"""Render a notebook spec into a validated nbformat notebook with provenance.

    rendered = render_notebook(spec)              # a fresh nonce each call
    rendered.notebook, rendered.provenance, rendered.filename, rendered.text()

Rendering is deterministic: the same spec and templates give the same notebook except for the nonce
(cell ids come from the manifest, JSON keys are sorted, nothing reads a clock). The nonce appears only
in the ``injected-parameters`` cell and in ``metadata.qcloop``.

Re-rendering for a new run keeps everything and swaps the injected cell: ``reinject(notebook, p)``
(papermill's convention: the ``injected-parameters`` cell follows the ``parameters`` cell and is
replaced, never edited).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import nbformat
from nbformat import NotebookNode

import orchestrator
from orchestrator.errors import MalformedNotebookError, TemplateError
from orchestrator.notebooks.manifest import (
    INJECTED_TAG,
    PARAMETERS_TAG,
    CellEntry,
    TemplateSet,
    load_template_set,
)
from orchestrator.notebooks.provenance import (
    METADATA_KEY,
    Provenance,
    cell_hash,
    new_nonce,
    sources_hash,
)
from orchestrator.notebooks.specs import AnySpec, BaselineReviewSpec
from orchestrator.strategies import template_environment

STATS_MODULE = Path(orchestrator.__file__).resolve().parent / "stats.py"
PROVENANCE_VARIABLE = "qcloop_provenance"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


@dataclass(frozen=True)
class RenderedNotebook:
    notebook: NotebookNode
    provenance: Provenance
    filename: str

    def text(self) -> str:
        """The notebook as .ipynb JSON (nbformat's deterministic serialization)."""
        return notebook_text(self.notebook)

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.filename
        path.write_text(self.text(), encoding="utf-8", newline="\n")
        return path


def notebook_text(notebook: NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def notebook_filename(hypothesis_id: str, kind: str) -> str:
    """The project/workspace file name of a hypothesis's notebook of one kind."""
    return f"qcloop_{hypothesis_id}_{kind}.ipynb"


# --- Python literals for generated cells -------------------------------------------------------------


def python_literal(value: Any, indent: int | None = None, _level: int = 0) -> str:
    """A deterministic Python literal (``ast.literal_eval`` reads it back): dict keys sorted, so the
    text never depends on insertion order (nbformat sorts the metadata it writes, and the injected cell
    is compared with one regenerated from it). ``indent`` pretty-prints dicts one key per line."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TemplateError(f"cannot write the non-finite number {value} into a notebook")
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(python_literal(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = [(python_literal(str(k)), python_literal(v, indent, _level + 1))
                 for k, v in sorted(value.items(), key=lambda item: str(item[0]))]
        if indent is None or not items:
            return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
        pad, closing = " " * indent * (_level + 1), " " * indent * _level
        return "{\n" + "".join(f"{pad}{k}: {v},\n" for k, v in items) + closing + "}"
    if hasattr(value, "isoformat"):
        return repr(value.isoformat())
    raise TemplateError(f"cannot write a {type(value).__name__} into a notebook cell")


def injected_source(provenance: Provenance) -> str:
    """The ``injected-parameters`` cell: every parameter as a variable, plus the provenance."""
    lines = [
        "# Parameters injected by qcloop for this run (papermill's injected-parameters cell).",
        "# Do not edit: qcloop matches results to this run by its nonce and checks the provenance hash.",
        f"hypothesis_id = {python_literal(provenance.hypothesis_id)}",
        f"stage = {python_literal(provenance.stage)}",
        f"nonce = {python_literal(provenance.nonce)}",
        f"provenance_hash = {python_literal(provenance.provenance_hash)}",
    ]
    lines += [f"{name} = {python_literal(value)}" for name, value in sorted(provenance.parameters.items())]
    lines.append(f"{PROVENANCE_VARIABLE} = {python_literal(provenance.model_dump(mode='json'), indent=4)}")
    return "\n".join(lines)


# --- rendering ------------------------------------------------------------------------------------


def _environment(templates: TemplateSet) -> jinja2.Environment:
    return template_environment(templates.jinja_search_path, {
        "py": python_literal,
        "pct": lambda value, digits=1: f"{100 * float(value):.{digits}f}%",
    })


def _render_template(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    try:
        return env.get_template(name).render(**context).rstrip("\n")
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"notebook cell template '{exc.name}' not found",
                            hint="check the manifest's template names") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or name}:{exc.lineno}: {exc.message}",
                            hint="fix the template syntax") from exc
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"notebook cell template '{name}': {exc.message}",
                            hint="the template uses a variable that rendering does not provide") from exc


def read_stats_source() -> str:
    try:
        return STATS_MODULE.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read {STATS_MODULE} ({exc.strerror}), which notebooks embed",
                            hint="restore orchestrator/stats.py") from exc


def _cell_source(entry: CellEntry, templates: TemplateSet, env: jinja2.Environment, *,
                 context: Mapping[str, Any], spec: AnySpec, stats_source: str | None) -> str:
    if entry.template is not None:
        return _render_template(env, entry.template, context)
    if entry.lib is not None:
        return templates.lib_file(entry.lib).read_text(encoding="utf-8")
    if entry.embed == "stats":
        return stats_source if stats_source is not None else read_stats_source()
    if isinstance(spec, BaselineReviewSpec):
        raise TemplateError(f"the {spec.kind.value} template embeds a strategy signal, which a "
                            f"baseline review does not have", hint="remove the 'embed: signal' cell")
    return spec.strategy.signal_source


def _context(spec: AnySpec, templates: TemplateSet) -> dict[str, Any]:
    manifest = templates.manifest
    context: dict[str, Any] = {
        "spec": spec, "kind": manifest.kind.value, "title": manifest.title,
        "description": manifest.description, "parameters": spec.notebook_parameters(),
        "qcloop_version": orchestrator.__version__,
    }
    if isinstance(spec, BaselineReviewSpec):
        context["baseline_backtest_literal"] = python_literal(spec.backtest.model_dump(mode="json"), indent=4)
    return context


def _new_cell(entry_id: str, cell_type: str, source: str, tags: Sequence[str]) -> NotebookNode:
    metadata: dict[str, Any] = {METADATA_KEY: {"cell": entry_id, "sha256": cell_hash(entry_id, cell_type, source)}}
    if tags:
        metadata["tags"] = list(tags)
    if cell_type == "markdown":
        return nbformat.v4.new_markdown_cell(source, id=entry_id, metadata=metadata)
    return nbformat.v4.new_code_cell(source, id=entry_id, metadata=metadata)


def render_notebook(spec: AnySpec, *, nonce: str | None = None, roots: Sequence[Path] | None = None,
                    stats_source: str | None = None) -> RenderedNotebook:
    """Render ``spec`` into a notebook; ``nonce`` defaults to a fresh one (pass one only in tests).

    ``roots`` are the notebook-template roots (default: the built-in templates); ``stats_source`` is
    the statistics code to embed (default: orchestrator/stats.py).
    """
    templates = load_template_set(spec.kind, roots)
    env = _environment(templates)
    context = _context(spec, templates)
    cells = [
        _new_cell(entry.id, entry.type, _cell_source(entry, templates, env, context=context, spec=spec,
                                                          stats_source=stats_source),
                  entry.tags)
        for entry in templates.manifest.cells
    ]
    provenance = Provenance(
        kind=spec.kind, hypothesis_id=spec.hypothesis_id, stage=spec.stage,
        parameters=spec.notebook_parameters(), strategy_family=spec.family,
        strategy_code_hash=spec.code_hash,
        signal_source_hash=None if isinstance(spec, BaselineReviewSpec) else spec.strategy.signal_hash,
        sources_hash=sources_hash([(c.metadata[METADATA_KEY]["cell"], c.metadata[METADATA_KEY]["sha256"])
                                   for c in cells]),
        qcloop_version=orchestrator.__version__, nonce=nonce or new_nonce(),
    ).sealed()
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    })
    notebook = reinject(notebook, provenance)
    return RenderedNotebook(notebook=notebook, provenance=provenance,
                            filename=notebook_filename(spec.hypothesis_id, spec.kind.value))


def reinject(notebook: NotebookNode, provenance: Provenance) -> NotebookNode:
    """A copy of ``notebook`` for the run ``provenance`` describes: the injected-parameters cell is
    replaced (or inserted after the ``parameters`` cell), outputs and execution counts are cleared,
    and the metadata carries the provenance. The result is validated with nbformat."""
    result = copy.deepcopy(notebook)
    result.cells = [cell for cell in result.cells if INJECTED_TAG not in cell.get("metadata", {}).get("tags", [])]
    position = next((i for i, cell in enumerate(result.cells)
                     if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", [])), None)
    if position is None:
        raise TemplateError("the notebook has no cell tagged 'parameters'",
                            hint="re-render it from its template instead of re-injecting")
    injected = nbformat.v4.new_code_cell(injected_source(provenance), id=INJECTED_TAG,
                                         metadata={"tags": [INJECTED_TAG]})
    result.cells.insert(position + 1, injected)
    for cell in result.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    result.metadata[METADATA_KEY] = provenance.model_dump(mode="json")
    validate_notebook(result, source="rendered notebook")
    return result


def validate_notebook(notebook: NotebookNode, *, source: str) -> None:
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        raise MalformedNotebookError(f"not a valid nbformat 4 notebook: {exc.message}", source=source,
                                     hint="re-render it with qcloop") from exc
