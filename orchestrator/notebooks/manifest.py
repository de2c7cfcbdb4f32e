"""Notebook templates as data: ``templates/notebooks/<kind>/manifest.yaml``.

A manifest lists a kind's cells in order. Each cell has an ``id`` (also the nbformat cell id), a
``type`` (code or markdown), optional ``tags``, and exactly one source:

- ``template: name.py.j2`` -- a jinja2 template (StrictUndefined), looked up in the kind's folder and
  then in ``_lib/cells/`` (cells shared by several kinds);
- ``lib: simulate.py`` -- a file of ``_lib/`` embedded verbatim (code shared by cells; plain Python
  that the tests also import directly);
- ``embed: stats`` (the source of ``orchestrator/stats.py``) or ``embed: signal`` (the strategy's
  ``class Signal`` source, exactly as the algorithm embeds it).

Exactly one cell is tagged ``parameters`` (papermill's convention); qcloop inserts the
``injected-parameters`` cell right after it. The last cell is tagged ``qcloop-result`` and emits the
result record.

Template roots are searched most specific first: a workspace's ``templates/notebooks`` can override a
kind's folder or a ``_lib`` file of the built-in ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

import orchestrator
from orchestrator import yamlfile
from orchestrator.errors import TemplateError
from orchestrator.notebooks.records import NotebookKind

MANIFEST_FILE = "manifest.yaml"
LIB_FOLDER = "_lib"
SHARED_CELLS_FOLDER = "cells"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
RESULT_TAG = "qcloop-result"
BUILTIN_NOTEBOOK_TEMPLATES = orchestrator.BUILTIN_TEMPLATES / "notebooks"


class CellEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")
    type: Literal["code", "markdown"]
    template: str | None = None
    lib: str | None = None
    embed: Literal["stats", "signal"] | None = None
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> CellEntry:
        given = [name for name in ("template", "lib", "embed") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"cell '{self.id}' needs exactly one of template, lib, embed (has {given or 'none'})")
        if self.type == "markdown" and self.template is None:
            raise ValueError(f"markdown cell '{self.id}' must be a template")
        return self


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: NotebookKind
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    cells: list[CellEntry] = Field(min_length=3)

    @model_validator(mode="after")
    def _conventions(self) -> Manifest:
        ids = [cell.id for cell in self.cells]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"cell ids must be unique; repeated: {duplicates}")
        if INJECTED_TAG in ids or any(INJECTED_TAG in cell.tags for cell in self.cells):
            raise ValueError(f"'{INJECTED_TAG}' is reserved: qcloop inserts that cell itself")
        tagged = [cell.id for cell in self.cells if PARAMETERS_TAG in cell.tags]
        if len(tagged) != 1:
            raise ValueError(f"exactly one cell must be tagged '{PARAMETERS_TAG}' (found {tagged})")
        last = self.cells[-1]
        if RESULT_TAG not in last.tags or last.type != "code":
            raise ValueError(f"the last cell must be a code cell tagged '{RESULT_TAG}' (it is '{last.id}')")
        return self

    @property
    def parameters_index(self) -> int:
        return next(i for i, cell in enumerate(self.cells) if PARAMETERS_TAG in cell.tags)


@dataclass(frozen=True)
class TemplateSet:
    """A kind's manifest and the folders its files are looked up in (first match wins)."""

    manifest: Manifest
    kind_folders: tuple[Path, ...]
    lib_folders: tuple[Path, ...]

    @property
    def jinja_search_path(self) -> list[str]:
        return [str(p) for p in (*self.kind_folders, *(f / SHARED_CELLS_FOLDER for f in self.lib_folders))]

    def lib_file(self, name: str) -> Path:
        for folder in self.lib_folders:
            if (folder / name).is_file():
                return folder / name
        searched = ", ".join(str(f) for f in self.lib_folders)
        raise TemplateError(f"notebook library file '{name}' not found in {searched}",
                            hint="restore it from qcloop's templates/notebooks/_lib/")


def default_roots(workspace: Path | None = None) -> tuple[Path, ...]:
    """Notebook-template roots: the workspace's templates/notebooks (if any), then the built-in ones."""
    roots = [workspace / "templates" / "notebooks"] if workspace is not None else []
    roots.append(BUILTIN_NOTEBOOK_TEMPLATES)
    return tuple(dict.fromkeys(root.resolve() for root in roots if root.is_dir()))


def load_template_set(kind: NotebookKind, roots: Sequence[Path] | None = None) -> TemplateSet:
    """Read and validate the manifest of ``kind``; TemplateError names the file, line and field."""
    search = tuple(roots) if roots is not None else default_roots()
    kind_folders = tuple(root / kind.value for root in search if (root / kind.value).is_dir())
    manifest_path = next((f / MANIFEST_FILE for f in kind_folders if (f / MANIFEST_FILE).is_file()), None)
    if manifest_path is None:
        raise TemplateError(
            f"no notebook template for '{kind.value}' ({MANIFEST_FILE} not found under "
            f"{', '.join(str(r) for r in search) or 'any template folder'})",
            hint="restore templates/notebooks/ from qcloop, or remove a broken workspace override",
        )
    try:
        doc = yamlfile.load(manifest_path)
    except yamlfile.YamlError as exc:
        raise TemplateError(str(exc), hint="fix the manifest's YAML") from exc
    try:
        manifest = Manifest.model_validate(doc.data)
    except ValidationError as exc:
        problem = yamlfile.describe_validation_error(exc, doc)[0]
        raise TemplateError(
            f"{manifest_path}:{problem.line or 1}: field '{problem.field}': "
            f"{problem.message.removeprefix('Value error, ')}",
            hint="docs/notebooks.md describes the manifest format",
        ) from exc
    if manifest.kind != kind:
        raise TemplateError(f"{manifest_path}: kind '{manifest.kind.value}' does not match its folder "
                            f"'{kind.value}'", hint=f"set kind: {kind.value}")
    lib_folders = tuple(root / LIB_FOLDER for root in search if (root / LIB_FOLDER).is_dir())
    return TemplateSet(manifest=manifest, kind_folders=kind_folders, lib_folders=lib_folders)
