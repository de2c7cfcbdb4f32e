"""qcloop's client of QuantConnect's REST API v2 (also pointed at the local emulator).

Modules, one job each (see docs/cloud-client.md):

* ``auth``      request signing (SHA-256 of ``token:timestamp``, Basic auth, ``Timestamp`` header);
* ``transport`` the only ``requests`` user: timeouts, retries with backoff, the envelope, errors;
* ``schemas``   tolerant pydantic models of the service's replies;
* ``metrics``   ``BacktestMetrics`` parsed from statistics strings (independent of the client);
* ``client``    ``QCClient``: one typed method per endpoint;
* ``polling``   ``wait_for_compile`` / ``wait_for_backtest`` / ``wait_for_optimization``;
* ``workflow``  ``CloudWorkflow``: project by name, upload, compile, backtest, metrics.
"""

from orchestrator.cloud.client import QCClient
from orchestrator.cloud.metrics import (
    BacktestMetrics,
    metrics_from_backtest,
    metrics_from_optimization,
    metrics_from_statistics,
)
from orchestrator.cloud.polling import BacktestOutcome, wait_for_backtest, wait_for_compile, wait_for_optimization
from orchestrator.cloud.transport import DEFAULT_BASE_URL, RetryPolicy
from orchestrator.cloud.workflow import BacktestRun, CloudWorkflow

__all__ = [
    "DEFAULT_BASE_URL",
    "BacktestMetrics",
    "BacktestOutcome",
    "BacktestRun",
    "CloudWorkflow",
    "QCClient",
    "RetryPolicy",
    "metrics_from_backtest",
    "metrics_from_optimization",
    "metrics_from_statistics",
    "wait_for_backtest",
    "wait_for_compile",
    "wait_for_optimization",
]
