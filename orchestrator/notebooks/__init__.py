"""Research notebooks: render them, run them, collect and classify what comes back (docs/notebooks.md).

    from orchestrator.notebooks import render_notebook, ParameterSweepSpec, StrategySource
    rendered = render_notebook(ParameterSweepSpec(...))      # validated notebook + provenance
    executed = execute_notebook(rendered.notebook, data_folder=..., timeout=900)
    verdict = classify_notebook(executed, rendered.provenance)   # FRESH -> verdict.record

Modules (one job each): ``specs`` (what to render), ``manifest`` (templates as data), ``render``,
``provenance``, ``records`` (the typed result records: the contract with the loop), ``execute``
(nbclient), ``classify``, ``collect`` (the channels), ``baseline_data`` (a backtest result condensed),
``parity``. nbformat, jinja2 and nbclient are imported in this package only (jinja2 also in
``strategies.py``). ``execute`` is imported lazily here, so that reading records does not load nbclient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.notebooks.baseline_data import BaselineData
from orchestrator.notebooks.classify import (
    CellFailure,
    Classification,
    Guidance,
    RunStatus,
    classify_notebook,
    classify_record,
    read_notebook,
)
from orchestrator.notebooks.collect import (
    ChannelName,
    CollectionResult,
    InboxChannel,
    LocalExecutionChannel,
    ObjectStoreChannel,
    ProjectFileChannel,
    collect,
)
from orchestrator.notebooks.parity import ParityCheck, ParityTolerance, check_parity
from orchestrator.notebooks.provenance import Provenance, new_nonce
from orchestrator.notebooks.records import (
    RESULT_LINE_PREFIX,
    RESULT_MIME_TYPE,
    BaselineReviewRecord,
    Figures,
    NotebookKind,
    ParameterSweepRecord,
    WalkForwardRecord,
    parse_record,
    result_key,
)
from orchestrator.notebooks.render import RenderedNotebook, notebook_filename, reinject, render_notebook
from orchestrator.notebooks.specs import (
    BaselineReviewSpec,
    ParameterSweepSpec,
    StrategySource,
    WalkForwardSpec,
)

if TYPE_CHECKING:
    from orchestrator.notebooks.execute import execute_notebook

__all__ = [
    "RESULT_LINE_PREFIX",
    "RESULT_MIME_TYPE",
    "BaselineData",
    "BaselineReviewRecord",
    "BaselineReviewSpec",
    "CellFailure",
    "ChannelName",
    "Classification",
    "CollectionResult",
    "Figures",
    "Guidance",
    "InboxChannel",
    "LocalExecutionChannel",
    "NotebookKind",
    "ObjectStoreChannel",
    "ParameterSweepRecord",
    "ParameterSweepSpec",
    "ParityCheck",
    "ParityTolerance",
    "ProjectFileChannel",
    "Provenance",
    "RenderedNotebook",
    "RunStatus",
    "StrategySource",
    "WalkForwardRecord",
    "WalkForwardSpec",
    "check_parity",
    "classify_notebook",
    "classify_record",
    "collect",
    "execute_notebook",
    "new_nonce",
    "notebook_filename",
    "parse_record",
    "read_notebook",
    "reinject",
    "render_notebook",
    "result_key",
]


def __getattr__(name: str) -> Any:
    if name == "execute_notebook":
        from orchestrator.notebooks.execute import execute_notebook

        return execute_notebook
    raise AttributeError(f"module 'orchestrator.notebooks' has no attribute {name!r}")
