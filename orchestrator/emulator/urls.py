"""The route table: API path (after ``/api/v2/``) -> the ``Responses`` method that serves it.

Every route answers GET and POST alike (the ``lean`` CLI reads with GET and a query string, other
clients POST). Paths the table does not hold answer HTTP 404 with ``success: false`` naming the path.
Both spellings of the backtest orders path are served: ``backtests/orders/read`` (current spec) and
``backtests/read/orders`` (older spec).
"""

from __future__ import annotations

import re

API_PREFIX = "/api/v2/"
DOWNLOAD_PREFIX = "/downloads/object-store/"
OPERATOR_PATH = "/emulator/operator/run-notebook"

ROUTES: dict[str, str] = {
    "authenticate": "authenticate",
    # account and organization (the lean CLI asks for these)
    "account/read": "account_read",
    "organizations/read": "organizations_read",
    "organizations/list": "organizations_list",
    "user/read": "user_read",
    "lean/versions/read": "lean_versions_read",
    "lean/environments/read": "lean_environments_read",
    "nodes/read": "nodes_read",
    "projects/nodes/read": "nodes_read",
    # projects
    "projects/create": "projects_create",
    "projects/read": "projects_read",
    "projects/update": "projects_update",
    "projects/delete": "projects_delete",
    "projects/collaboration/lock/acquire": "collaboration_lock",
    # files
    "files/create": "files_create",
    "files/read": "files_read",
    "files/update": "files_update",
    "files/delete": "files_delete",
    "files/patch": "files_patch",
    # compile
    "compile/create": "compile_create",
    "compile/read": "compile_read",
    # backtests
    "backtests/create": "backtests_create",
    "backtests/read": "backtests_read",
    "backtests/list": "backtests_list",
    "backtests/update": "backtests_update",
    "backtests/delete": "backtests_delete",
    "backtests/orders/read": "backtests_orders_read",
    "backtests/read/orders": "backtests_orders_read",
    "backtests/chart/read": "backtests_chart_read",
    "backtests/read/log": "backtests_log_read",
    "backtests/read/insights": "backtests_insights_read",
    "backtests/read/report": "backtests_report_read",
    # optimizations
    "optimizations/estimate": "optimizations_estimate",
    "optimizations/create": "optimizations_create",
    "optimizations/read": "optimizations_read",
    "optimizations/list": "optimizations_list",
    "optimizations/update": "optimizations_update",
    "optimizations/abort": "optimizations_abort",
    "optimizations/delete": "optimizations_delete",
    # Object Store
    "object/set": "object_set",
    "object/get": "object_get",
    "object/properties": "object_properties",
    "object/list": "object_list",
    "object/delete": "object_delete",
    # live (paper) trading
    "live/create": "live_create",
    "live/read": "live_read",
    "live/list": "live_list",
    "live/update/stop": "live_stop",
    "live/update/liquidate": "live_liquidate",
    "live/portfolio/read": "live_portfolio_read",
    "live/orders/read": "live_orders_read",
    "live/logs/read": "live_logs_read",
    "live/insights/read": "live_insights_read",
}

_SLASHES = re.compile(r"/{2,}")


def normalize_path(path: str) -> str:
    """Collapse repeated slashes: the docs' own examples request ``/api/v2//authenticate``."""
    return _SLASHES.sub("/", path or "/")


def endpoint_of(path: str) -> str | None:
    """``/api/v2//backtests/read/`` -> ``backtests/read``; None outside the API prefix."""
    clean = normalize_path(path)
    if not (clean + "/").startswith(API_PREFIX):
        return None
    return clean[len(API_PREFIX):].strip("/")
