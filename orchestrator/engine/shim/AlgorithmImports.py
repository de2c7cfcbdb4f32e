"""``from AlgorithmImports import *`` outside the engine (a Jupyter kernel with this folder on PYTHONPATH)."""

from orchestrator.engine.algorithm_imports import *  # noqa: F403
