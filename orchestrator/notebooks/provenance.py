"""Provenance of a rendered notebook: what it computes, for whom, and which run it is.

A ``Provenance`` lives in the notebook metadata (``metadata.qcloop``) and, as a Python literal, in the
``injected-parameters`` cell; the record a run emits echoes its ``nonce`` and ``provenance_hash``.

``provenance_hash`` is a sha256 over every field except the nonce (and itself), serialized as
canonical JSON. It identifies *what* the notebook computes (kind, hypothesis, stage, parameters,
strategy code, the cells' types and sources, qcloop's version); the nonce identifies *which run*. Keeping the
nonce out of the hash is deliberate: rendering the same inputs twice yields the same hash and notebooks
that differ only in the nonce. A run is checked on both: the nonce must be the one the loop is
waiting for (else STALE) and the hash must be the one it rendered (else TAMPERED).

The hash detects edits (a changed parameter, an edited cell, rewritten metadata), not an adversary:
anyone can recompute a sha256. What makes it useful is that the loop compares against the hash it
stored in its state when it rendered the notebook, not against the notebook's own claim.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.notebooks.records import NotebookKind

PROVENANCE_SCHEMA_VERSION: Literal[1] = 1
METADATA_KEY = "qcloop"
NONCE_BYTES = 16


def new_nonce() -> str:
    """A fresh run nonce: 32 hex characters from the OS's random source."""
    return secrets.token_hex(NONCE_BYTES)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_source(source: str | list[str]) -> str:
    """A cell source as text, with line endings and trailing whitespace normalized.

    Notebook front ends may store sources as lists of lines, convert line endings, or trim trailing
    spaces; none of that is an edit, so none of it may change a hash.
    """
    text = "".join(source) if isinstance(source, list) else source
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def cell_hash(cell_id: str, cell_type: str, source: str | list[str]) -> str:
    """The hash of one qcloop cell: its id, its type (a code cell turned into markdown no longer runs)
    and its normalized source."""
    return sha256_text(canonical_json([cell_id, cell_type, normalize_source(source)]))


def sources_hash(cell_hashes: list[tuple[str, str]]) -> str:
    """One hash over the ordered (cell id, cell hash) pairs of qcloop's cells."""
    return sha256_text(canonical_json([list(pair) for pair in cell_hashes]))


class Provenance(BaseModel):
    """What a rendered notebook is (see the module docstring for the two identities)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = PROVENANCE_SCHEMA_VERSION
    kind: NotebookKind
    hypothesis_id: str
    stage: str
    parameters: dict[str, Any]
    strategy_family: str | None
    strategy_code_hash: str
    signal_source_hash: str | None
    sources_hash: str = Field(min_length=64, max_length=64)
    qcloop_version: str
    nonce: str = Field(min_length=8)
    provenance_hash: str = Field(default="", max_length=64)

    def content(self) -> dict[str, Any]:
        """The fields the provenance hash covers (all but the nonce and the hash itself)."""
        return self.model_dump(mode="json", exclude={"nonce", "provenance_hash"})

    def expected_hash(self) -> str:
        return sha256_text(canonical_json(self.content()))

    def sealed(self) -> Provenance:
        """This provenance with its hash filled in."""
        return self.model_copy(update={"provenance_hash": self.expected_hash()})

    def is_intact(self) -> bool:
        """Whether the stored hash matches the fields (False after any edit of the metadata)."""
        return bool(self.provenance_hash) and self.provenance_hash == self.expected_hash()

    def with_nonce(self, nonce: str) -> Provenance:
        """The same computation, another run (the hash does not depend on the nonce)."""
        return self.model_copy(update={"nonce": nonce})
