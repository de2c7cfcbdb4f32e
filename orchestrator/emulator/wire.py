"""The JSON shapes of the service's replies, built from the backend's records and views.

Shapes follow ``reference/qc-api.md`` §3 and satisfy the ``lean`` CLI's response models (its
``QCProject`` needs more fields than the spec requires). Two habits of the real service are kept on
purpose: times are ``"YYYY-MM-DD HH:MM:SS"`` (as seen in real replies quoted in lean-cli issues), and
empty maps are sent as empty JSON arrays ``[]`` where the service does so (``parameterSet``,
``statistics`` while a backtest runs, an optimization's ``backtests`` and ``runtimeStatistics``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.emulator import optimization_rules as opt_rules
from orchestrator.emulator.backend import (
    BacktestView,
    CompileView,
    DownloadView,
    LiveView,
    ObjectList,
    OptimizationView,
)
from orchestrator.emulator.object_rules import human_size
from orchestrator.emulator.state import (
    CompileRecord,
    FileRecord,
    OptimizationPoint,
    OptimizationRecord,
    ProjectRecord,
    StoredObject,
    UserRecord,
)

PROFILE_IMAGE = "https://cdn.quantconnect.com/web/i/users/profile/default.jpg"


def stamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def map_or_list(value: Mapping[str, Any] | None) -> Any:
    """A map, or ``[]`` when it is empty (the service's PHP heritage)."""
    return dict(value) if value else []


# ----------------------------------------------------------------------------------------------
# projects and files


def project(
    p: ProjectRecord, owner: UserRecord, viewer: UserRecord, library_names: Mapping[int, str],
) -> dict[str, Any]:
    return {
        "projectId": p.project_id,
        "organizationId": p.organization_id,
        "name": p.name,
        "modified": stamp(p.modified),
        "created": stamp(p.created),
        "ownerId": p.owner_id,
        "language": p.language,
        "collaborators": [{
            "uid": owner.user_id, "liveControl": True, "permission": "write", "profileImage": PROFILE_IMAGE,
            "name": owner.name, "owner": True,
        }],
        "leanVersionId": p.lean_version_id,
        "leanPinnedToMaster": True,
        "owner": viewer.user_id == p.owner_id,
        "description": p.description,
        "channelId": f"P{p.project_id}",
        "parameters": [{"key": k, "value": v} for k, v in p.parameters.items()],
        "libraries": [{"projectId": lib, "libraryName": library_names.get(lib, ""), "ownerName": owner.name,
                       "access": True} for lib in p.libraries],
        "grid": None,
        "liveGrid": None,
        "paperEquity": None,
        "lastLiveDeployment": None,
        "liveForm": None,
        "encrypted": False,
        "codeRunning": False,
        "leanEnvironment": p.lean_environment,
        "encryptionKey": None,
    }


def lean_versions() -> list[dict[str, Any]]:
    return [{"id": 17000, "created": "2024-01-01 00:00:00", "description": "qcloop embedded engine",
             "leanHash": "", "leanCloudHash": "", "name": "qcloop emulator", "ref": None, "public": 1}]


def file(f: FileRecord, project_id: int) -> dict[str, Any]:
    return {"id": f.file_id, "projectId": project_id, "name": f.name, "content": f.content,
            "modified": stamp(f.modified), "open": False, "isLibrary": False}


# ----------------------------------------------------------------------------------------------
# compile


def compile_created(c: CompileRecord) -> dict[str, Any]:
    return {"compileId": c.compile_id, "state": "InQueue", "projectId": c.project_id,
            "signature": c.signature, "signatureOrder": sorted(c.files), "parameters": c.detected_parameters}


def compile_read(view: CompileView) -> dict[str, Any]:
    c = view.record
    logs = c.logs if view.state.value != "InQueue" else ["Build request queued."]
    return {"compileId": c.compile_id, "state": view.state.value, "logs": logs, "projectId": c.project_id,
            "signature": c.signature, "signatureOrder": sorted(c.files)}


# ----------------------------------------------------------------------------------------------
# backtests


def chart_summaries(charts: Any) -> Any:
    """``backtests/read`` lists charts by name only; ``backtests/chart/read`` serves the series."""
    if not isinstance(charts, Mapping) or not charts:
        return []
    return {name: {"name": name} for name in charts}


def backtest(view: BacktestView) -> dict[str, Any]:
    b = view.record
    result = view.result if view.finished else None
    body: dict[str, Any] = {
        "backtestId": b.backtest_id,
        "projectId": b.project_id,
        "organizationId": b.organization_id,
        "name": b.name,
        "note": b.note,
        "created": stamp(b.created),
        "status": view.status,
        "completed": view.finished,
        "progress": 1.0 if view.finished else round(view.progress, 4),
        "optimizationId": None,
        "snapshotId": 0,
        "nodeName": "Emulator Backtest Node",
        "parameterSet": map_or_list(b.parameter_set),
        "error": None,
        "stacktrace": None,
        "hasInitializeError": False,
        "statistics": [],
        "runtimeStatistics": None,
        "totalPerformance": None,
        "charts": [],
        "rollingWindow": [],
        "tradeableDates": 0,
        "backtestStart": None,
        "backtestEnd": None,
        "researchGuide": {"minutes": 0, "backtestCount": 0, "parameters": 0},
        "outOfSampleMaxEndDate": None,
        "outOfSampleDays": 0,
        "tags": b.tags,
    }
    if result is not None:
        body.update({
            "error": result.get("error") or None,
            "stacktrace": result.get("stacktrace") or None,
            "hasInitializeError": bool(result.get("hasInitializeError")),
            "statistics": dict(result.get("statistics") or {}),
            "runtimeStatistics": dict(result.get("runtimeStatistics") or {}),
            "totalPerformance": result.get("totalPerformance"),
            "charts": chart_summaries(result.get("charts")),
            "rollingWindow": map_or_list(result.get("rollingWindow")),
            "tradeableDates": int(result.get("tradeableDates") or 0),
            "backtestStart": result.get("backtestStart"),
            "backtestEnd": result.get("backtestEnd"),
        })
        if result.get("dataSource"):  # qcloop's label ("synthetic" or "lean"): not a QuantConnect field
            body["dataSource"] = result["dataSource"]
    return body


def backtest_summary(view: BacktestView, include_statistics: bool) -> dict[str, Any]:
    b = view.record
    body: dict[str, Any] = {
        "backtestId": b.backtest_id, "status": view.status, "name": b.name, "note": b.note,
        "created": stamp(b.created), "progress": 1.0 if view.finished else round(view.progress, 4),
        "optimizationId": None, "tradeableDates": int((view.result or {}).get("tradeableDates") or 0),
        "parameterSet": map_or_list(b.parameter_set), "snapshotId": 0, "tags": b.tags,
    }
    if include_statistics:
        body.update(list_statistics(view))
    return body


def list_statistics(view: BacktestView) -> dict[str, Any]:
    """The numbers ``backtests/list?includeStatistics=true`` adds: portfolio statistics as fractions,
    counts as integers, ``None`` until the backtest has finished."""
    result = view.result or {}
    stats = (result.get("totalPerformance") or {}).get("portfolioStatistics") or {}
    summary = result.get("statistics") or {}
    finished = view.finished and bool(stats)

    def number(key: str) -> float | None:
        return float(stats[key]) if finished and stats.get(key) is not None else None

    return {
        "sharpeRatio": number("sharpeRatio"), "alpha": number("alpha"), "beta": number("beta"),
        "compoundingAnnualReturn": number("compoundingAnnualReturn"), "drawdown": number("drawdown"),
        "lossRate": number("lossRate"), "netProfit": number("totalNetProfit"),
        "parameters": len(view.record.parameter_set), "psr": number("probabilisticSharpeRatio"),
        "securityTypes": 1 if finished else None, "sortinoRatio": number("sortinoRatio"),
        "trades": int(opt_rules.statistic_number(summary.get("Total Orders"))) if finished else None,
        "treynorRatio": number("treynorRatio"), "winRate": number("winRate"),
    }


def chart(charts: Mapping[str, Any], name: str, start: float | None, end: float | None, count: int | None) -> Any:
    """One chart with its series cut to ``[start, end]`` (Unix seconds) and thinned to ``count`` points."""
    found = charts.get(name) if isinstance(charts, Mapping) else None
    if not isinstance(found, Mapping):
        return None
    series_out: dict[str, Any] = {}
    for series_name, series in (found.get("series") or {}).items():
        if not isinstance(series, Mapping):
            continue
        values = [v for v in series.get("values") or [] if _within(_point_time(v), start, end)]
        if count and count > 0 and len(values) > count:
            stride = len(values) / count
            values = [values[int(i * stride)] for i in range(count - 1)] + [values[-1]]
        series_out[series_name] = {**series, "values": values}
    return {**found, "name": found.get("name", name), "series": series_out}


def _point_time(point: Any) -> float | None:
    if isinstance(point, Mapping):
        return float(point["x"]) if "x" in point else None
    if isinstance(point, list | tuple) and point:
        return float(point[0])
    return None


def _within(t: float | None, start: float | None, end: float | None) -> bool:
    if t is None:
        return True
    return (start is None or t >= start) and (end is None or t <= end)


# ----------------------------------------------------------------------------------------------
# optimizations


def _best(record: OptimizationRecord, points: Sequence[OptimizationPoint]) -> OptimizationPoint | None:
    """The best successful point by the target, among the points that meet every constraint."""
    key = opt_rules.portfolio_key(record.target)
    eligible = [p for p in points if p.exit_code == 0 and p.portfolio_statistics.get(key) is not None]
    for constraint in record.constraints:
        ckey = opt_rules.portfolio_key(constraint.target)
        eligible = [p for p in eligible if p.portfolio_statistics.get(ckey) is None or opt_rules.constraint_holds(
            constraint.operator, float(p.portfolio_statistics[ckey]), constraint.target_value)]
    if not eligible:
        return None
    pick = max if record.target_to == "max" else min
    return pick(eligible, key=lambda p: float(p.portfolio_statistics[key]))


def _criterion(o: OptimizationRecord) -> dict[str, Any]:
    return {"target": o.target, "extremum": o.target_to, "targetValue": o.target_value}


def _parameters(o: OptimizationRecord) -> list[dict[str, Any]]:
    return [{"name": p.name, "min": p.min, "max": p.max, "step": p.step, "minStep": p.step} for p in o.parameters]


def optimization_summary(view: OptimizationView) -> dict[str, Any]:
    o = view.record
    best = _best(o, view.points)
    return {
        "optimizationId": o.optimization_id, "projectId": o.project_id, "name": o.name,
        "status": view.status.value, "nodeType": o.node_type, "criterion": _criterion(o),
        "created": stamp(o.created), "psr": _stat(best, "probabilisticSharpeRatio"),
        "sharpeRatio": _stat(best, "sharpeRatio"),
        "trades": int(opt_rules.statistic_number(best.statistics.get("Total Orders"))) if best else 0,
        "cloneId": None, "outOfSampleDays": 0, "outOfSampleMaxEndDate": None, "parameters": _parameters(o),
    }


def _stat(point: OptimizationPoint | None, key: str) -> float:
    if point is None or point.portfolio_statistics.get(key) is None:
        return 0.0
    return float(point.portfolio_statistics[key])


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _runtime_statistics(view: OptimizationView) -> Any:
    o = view.record
    shown = view.points
    total = len(o.points)
    completed = sum(p.exit_code == 0 for p in shown)
    failed = len(shown) - completed
    running = 0 if view.finished else min(1, total - len(shown))
    runtime = sum(p.runtime_seconds for p in shown)
    node = opt_rules.NODE_TYPES.get(o.node_type)
    consumed = runtime / 3600.0 * (node.usd_per_hour if node else 0.0)
    return {
        "Completed": str(completed), "Failed": str(failed), "Running": str(running),
        "In Queue": str(max(total - len(shown) - running, 0)) if view.status.value != "aborted" else "0",
        "Average Length": _clock(runtime / len(shown)) if shown else "00:00:00",
        "Total Runtime": _clock(runtime), "Total": str(total), "Consumed": f"${consumed:.2f}",
    }


def optimization_backtest(point: OptimizationPoint) -> dict[str, Any]:
    return {
        "name": point.name, "id": point.backtest_id, "progress": 1.0, "exitCode": point.exit_code,
        "statistics": opt_rules.positional_statistics(point.statistics) if point.exit_code == 0 else [],
        "parameterSet": dict(point.parameter_set), "equity": point.equity, "startDate": point.start_date,
        "endDate": point.end_date, "outOfSampleDays": 0, "outOfSampleMaxEndDate": None,
    }


def optimization(view: OptimizationView) -> dict[str, Any]:
    o = view.record
    backtests = {p.backtest_id: optimization_backtest(p) for p in view.points}
    return {
        "optimizationId": o.optimization_id, "snapshotId": 0, "projectId": o.project_id, "name": o.name,
        "status": view.status.value, "nodeType": o.node_type, "parallelNodes": o.parallel_nodes,
        "criterion": _criterion(o), "runtimeStatistics": _runtime_statistics(view) if view.points or
        view.status.value != "new" else [],
        "constraints": [{"target": c.target, "operator": c.operator, "targetValue": c.target_value}
                        for c in o.constraints],
        "parameters": _parameters(o), "backtests": backtests or [], "strategy": o.strategy,
        "requested": stamp(o.created), "optimizationTarget": o.target, "targetValue": o.target_value,
        "gridLayout": [], "outOfSampleMaxEndDate": None, "outOfSampleDays": 0,
        "estimatedCost": o.estimated_cost, "created": stamp(o.created),
    }


# ----------------------------------------------------------------------------------------------
# Object Store


def object_properties(obj: StoredObject, preview: str) -> dict[str, Any]:
    return {"key": obj.key, "modified": stamp(obj.modified), "created": stamp(obj.created), "size": obj.size,
            "md5": obj.md5, "mime": obj.mime, "preview": preview}


def object_list(listing: ObjectList) -> dict[str, Any]:
    objects = []
    for child, stored, size in listing.entries:
        objects.append({
            "key": child.key, "name": child.name,
            "modified": stamp(stored.modified) if stored else None,
            "mime": "directory" if child.folder else (stored.mime if stored else "application/octet-stream"),
            "folder": child.folder, "isFolder": child.folder, "size": size,
        })
    return {"path": listing.path, "objects": objects, "objectStorageUsed": listing.used_bytes,
            "objectStorageUsedHuman": human_size(listing.used_bytes)}


def download(view: DownloadView, url: str | None) -> dict[str, Any]:
    return {"jobId": view.job.job_id, "url": url if view.ready else None}


# ----------------------------------------------------------------------------------------------
# live


def live_algorithm(view: LiveView, files: Sequence[FileRecord] = ()) -> dict[str, Any]:
    d = view.record
    result = view.result or {}
    return {
        "projectId": d.project_id, "deployId": d.deploy_id, "status": view.status.value,
        "message": d.error or "", "error": d.error, "cloneId": None, "launched": stamp(d.launched),
        "stopped": stamp(d.stopped), "brokerage": "PaperBrokerage", "securityTypes": "Equity",
        "projectName": view.project_name, "datacenter": "NY7", "isPublicStreaming": False, "public": False,
        "nodeId": d.node_id, "compileId": d.compile_id,
        "files": [file(f, d.project_id) for f in files],
        "runtimeStatistics": dict(result.get("runtimeStatistics") or {}) if result else [],
        "charts": chart_summaries(result.get("charts")) if result else [],
        "replay": {"start": d.replay_start, "end": d.replay_end},
    }


def live_summary(view: LiveView) -> dict[str, Any]:
    d = view.record
    holdings_value = sum(h.quantity * h.price for h in d.holdings)
    return {
        "projectId": d.project_id, "deployId": d.deploy_id, "status": view.status.value,
        "launched": stamp(d.launched), "stopped": stamp(d.stopped), "brokerage": "PaperBrokerage",
        "subscription": "QuantConnect", "equity": round(d.cash + holdings_value, 2), "environment": "Paper",
        "description": view.project_name, "error": d.error, "leagues": [],
    }
