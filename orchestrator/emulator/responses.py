"""One method per endpoint: read the request's fields, call the backend, shape the reply.

``Responses`` methods receive the authenticated user and the merged, typed request fields
(``params.Params``) and return the endpoint-specific part of the reply; ``envelope`` adds
``success: true``. Failures are raised by the backend as ``errors.ServiceError`` and become
``{"success": false, "errors": [...]}`` in ``app.py``. Field names, including the service's
alternatives (``name``/``key`` for optimization parameters, ``targetValue``/``target-value``), are
read here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.emulator import wire
from orchestrator.emulator.backend import EmulatorBackend
from orchestrator.emulator.errors import NotFoundError, require
from orchestrator.emulator.params import Params, as_integer
from orchestrator.emulator.state import UserRecord

Reply = dict[str, Any]
ORDERS_PAGE_LIMIT = 100  # backtests/orders/read: "end - start" at most 100 (lean-cli pages by 100)
LIVE_ORDERS_PAGE_LIMIT = 1000
LOG_PAGE_LIMIT = 250


def envelope(body: Mapping[str, Any] | None = None) -> Reply:
    return {**(body or {}), "success": True}


class Responses:
    """The endpoint handlers. ``download_url`` turns a download token into a URL on this server."""

    def __init__(self, backend: EmulatorBackend, download_url: Callable[[str], str]) -> None:
        self.backend = backend
        self.download_url = download_url

    # -- helpers --------------------------------------------------------------------------------

    def _project_json(self, user: UserRecord, **kwargs: Any) -> list[Reply]:
        projects = self.backend.read_projects(user, **kwargs)
        names = {p.project_id: p.name for p in self.backend.read_projects(user)}
        return [wire.project(p, self.backend.owner_of(p), user, names) for p in projects]

    @staticmethod
    def _parameters(raw: Any) -> dict[str, str]:
        """Project parameters in any of the shapes clients send: ``{name: value}``, a list of
        ``{key|name, value}`` (the lean CLI's form), or ``""`` to clear them."""
        if raw is None or raw in ("", []):
            return {}
        if isinstance(raw, Mapping):
            if all(isinstance(v, Mapping) for v in raw.values()):
                raw = list(raw.values())
            else:
                return {str(k): str(v) for k, v in raw.items()}
        require(isinstance(raw, list), "parameters must be a list of {key, value} or an object")
        result: dict[str, str] = {}
        for entry in raw:
            require(isinstance(entry, Mapping), "every parameter must be a {key, value} object")
            key = entry.get("key", entry.get("name"))
            require(key is not None and str(key) != "", "every parameter needs a key")
            result[str(key)] = str(entry.get("value", ""))
        return result

    # -- authentication and account --------------------------------------------------------------

    def authenticate(self, user: UserRecord, params: Params) -> Reply:
        return envelope()

    def account_read(self, user: UserRecord, params: Params) -> Reply:
        org = self.backend.organization(user, params.text("organizationId"))
        return envelope({"organizationId": org.organization_id, "creditBalance": org.credit_balance, "card": None})

    def _organization_json(self, user: UserRecord, organization_id: str | None) -> Reply:
        org = self.backend.organization(user, organization_id)
        members = self.backend.members(org)
        return {
            "id": org.organization_id, "name": org.name, "seats": len(members), "type": "Emulator",
            "credit": {"movements": [], "balance": org.credit_balance},
            "products": [], "data": {"signedTime": None, "current": False},
            "members": [{"id": m.user_id, "name": m.name, "isAdmin": m.user_id == org.owner_user_id,
                         "email": m.email} for m in members],
        }

    def organizations_read(self, user: UserRecord, params: Params) -> Reply:
        return envelope({"organization": self._organization_json(user, params.text("organizationId"))})

    def organizations_list(self, user: UserRecord, params: Params) -> Reply:
        org = self.backend.organization(user)
        return envelope({"organizations": [{
            "id": org.organization_id, "name": org.name, "type": "Emulator", "ownerName": user.name,
            "members": len(self.backend.members(org)), "preferred": True,
        }]})

    def user_read(self, user: UserRecord, params: Params) -> Reply:
        return envelope({"user": {"name": user.name, "profile": wire.PROFILE_IMAGE, "badge": None,
                                  "email": user.email, "id": user.user_id}})

    def lean_versions_read(self, user: UserRecord, params: Params) -> Reply:
        return envelope({"versions": wire.lean_versions()})

    def lean_environments_read(self, user: UserRecord, params: Params) -> Reply:
        return envelope({"environments": [{"id": 1, "name": "Default", "path": None,
                                           "description": "qcloop embedded engine", "public": True}]})

    def nodes_read(self, user: UserRecord, params: Params) -> Reply:
        def node(kind: str, sku: str) -> Reply:
            return {"id": f"N-emulator-{kind}", "name": f"Emulator {kind} node", "projectName": "",
                    "description": "qcloop emulator", "usedBy": "", "sku": sku, "busy": False,
                    "price": {"monthly": 0, "yearly": 0}, "speed": 1.0, "cpu": 2, "ram": 8.0, "assets": 0,
                    "host": None}
        return envelope({"backtest": [node("backtest", "B2-8")], "research": [node("research", "R2-8")],
                         "live": [node("live", "L-MICRO")]})

    # -- projects ----------------------------------------------------------------------------------

    def projects_create(self, user: UserRecord, params: Params) -> Reply:
        created = self.backend.create_project(
            user, params.text("name", required=True) or "", params.text("language", required=True) or "",
            params.text("organizationId"),
        )
        names = {created.project_id: created.name}
        return envelope({"projects": [wire.project(created, user, user, names)], "versions": wire.lean_versions()})

    def projects_read(self, user: UserRecord, params: Params) -> Reply:
        projects = self._project_json(
            user, project_id=params.integer("projectId"), start=params.integer("start"),
            end=params.integer("end"), organization_id=params.text("organizationId") or None,
        )
        return envelope({"projects": projects, "versions": wire.lean_versions()})

    def projects_update(self, user: UserRecord, params: Params) -> Reply:
        files = params.sequence("files")
        listed = params.sequence("libraries")
        libraries = None if listed is None else [as_integer(f"libraries[{i}]", x) for i, x in enumerate(listed)]
        self.backend.update_project(
            user, params.integer("projectId", required=True) or 0,
            name=params.text("name"), description=params.text("description"),
            parameters=self._parameters(params.raw("parameters")) if params.has("parameters") else None,
            files=files, libraries=libraries,
            lean_version_id=params.integer("versionId"), lean_environment=params.integer("leanEnvironment"),
        )
        return envelope()

    def projects_delete(self, user: UserRecord, params: Params) -> Reply:
        self.backend.delete_project(user, params.integer("projectId", required=True) or 0)
        return envelope()

    def collaboration_lock(self, user: UserRecord, params: Params) -> Reply:
        self.backend.project(user, params.integer("projectId", required=True) or 0)
        return envelope()

    # -- files ---------------------------------------------------------------------------------------

    def files_create(self, user: UserRecord, params: Params) -> Reply:
        project_id = params.integer("projectId", required=True) or 0
        created = self.backend.create_file(user, project_id, params.text("name", required=True) or "",
                                           params.text("content"))
        return envelope({"files": [wire.file(created, project_id)]})

    def files_read(self, user: UserRecord, params: Params) -> Reply:
        project_id = params.integer("projectId", required=True) or 0
        files = self.backend.read_files(user, project_id, params.text("name") or None)
        return envelope({"files": [wire.file(f, project_id) for f in files]})

    def files_update(self, user: UserRecord, params: Params) -> Reply:
        project_id = params.integer("projectId", required=True) or 0
        name = params.text("name", required=True) or ""
        if params.has("newName"):
            self.backend.rename_file(user, project_id, name, params.text("newName", required=True) or "")
            return envelope()
        content = params.text("content")
        require(content is not None, "content is required (or newName, to rename the file)")
        updated = self.backend.update_file(user, project_id, name, content or "")
        return envelope({"files": [wire.file(updated, project_id)]})

    def files_delete(self, user: UserRecord, params: Params) -> Reply:
        self.backend.delete_file(user, params.integer("projectId", required=True) or 0,
                                 params.text("name", required=True) or "")
        return envelope()

    def files_patch(self, user: UserRecord, params: Params) -> Reply:
        self.backend.patch_files(user, params.integer("projectId", required=True) or 0,
                                 params.text("patch", required=True) or "")
        return envelope()

    # -- compile ---------------------------------------------------------------------------------------

    def compile_create(self, user: UserRecord, params: Params) -> Reply:
        record = self.backend.create_compile(user, params.integer("projectId", required=True) or 0)
        return envelope(wire.compile_created(record))

    def compile_read(self, user: UserRecord, params: Params) -> Reply:
        view = self.backend.read_compile(user, params.integer("projectId", required=True) or 0,
                                         params.text("compileId", required=True) or "")
        return envelope(wire.compile_read(view))

    # -- backtests ---------------------------------------------------------------------------------------

    def backtests_create(self, user: UserRecord, params: Params) -> Reply:
        # The field is backtestName (not name, which the result object and backtests/update use).
        name = params.text("backtestName", required=True) or ""
        view = self.backend.create_backtest(
            user, params.integer("projectId", required=True) or 0, params.text("compileId", required=True) or "",
            name, params.mapping("parameters"),
        )
        return envelope({"backtest": wire.backtest(view), "debugging": False})

    def backtests_read(self, user: UserRecord, params: Params) -> Reply:
        view = self.backend.read_backtest(user, params.integer("projectId", required=True) or 0,
                                          params.text("backtestId", required=True) or "")
        return envelope({"backtest": wire.backtest(view), "debugging": False})

    def backtests_list(self, user: UserRecord, params: Params) -> Reply:
        include = params.flag("includeStatistics")
        views = self.backend.list_backtests(user, params.integer("projectId", required=True) or 0)
        backtests = [wire.backtest_summary(v, include) for v in views]
        return envelope({"backtests": backtests, "count": len(backtests)})

    def backtests_update(self, user: UserRecord, params: Params) -> Reply:
        self.backend.update_backtest(user, params.integer("projectId", required=True) or 0,
                                     params.text("backtestId", required=True) or "",
                                     name=params.text("name"), note=params.text("note"))
        return envelope()

    def backtests_delete(self, user: UserRecord, params: Params) -> Reply:
        self.backend.delete_backtest(user, params.integer("projectId", required=True) or 0,
                                     params.text("backtestId", required=True) or "")
        return envelope()

    def _result(self, user: UserRecord, params: Params) -> dict[str, Any] | None:
        return self.backend.finished_result(user, params.integer("projectId", required=True) or 0,
                                            params.text("backtestId", required=True) or "")

    @staticmethod
    def _page(params: Params, limit: int) -> tuple[int, int]:
        start = params.integer("start", required=True) or 0
        end = params.integer("end", required=True) or 0
        require(start >= 0 and end >= start, "start and end must satisfy 0 <= start <= end")
        require(end - start <= limit, f"end - start must be at most {limit}")
        return start, end

    def backtests_orders_read(self, user: UserRecord, params: Params) -> Reply:
        start, end = self._page(params, ORDERS_PAGE_LIMIT)
        result = self._result(user, params)
        orders = list((result or {}).get("orders") or [])
        return envelope({"orders": orders[start:end], "length": len(orders)})

    def backtests_chart_read(self, user: UserRecord, params: Params) -> Reply:
        name = params.text("name", required=True) or ""
        result = self._result(user, params)
        if result is None:
            return envelope({"progress": 0.0, "status": "loading"})
        found = wire.chart(result.get("charts") or {}, name, params.number("start"), params.number("end"),
                           params.integer("count"))
        if found is None:
            raise NotFoundError(f"Chart not found: {name}")
        return envelope({"chart": found})

    def backtests_log_read(self, user: UserRecord, params: Params) -> Reply:
        start, end = self._page(params, LOG_PAGE_LIMIT)
        result = self._result(user, params)
        logs = [str(line) for line in (result or {}).get("logs") or []]
        query = (params.text("query") or "").strip()
        if query:
            logs = [line for line in logs if query in line]
        return envelope({"logs": logs[start:end], "length": len(logs)})

    def backtests_insights_read(self, user: UserRecord, params: Params) -> Reply:
        self._page(params, ORDERS_PAGE_LIMIT)
        self._result(user, params)
        return envelope({"insights": [], "length": 0})

    def backtests_report_read(self, user: UserRecord, params: Params) -> Reply:
        result = self._result(user, params)
        if result is None:
            return envelope({"generating": True})
        rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in (result.get("statistics") or {}).items())
        return envelope({"report": f"<html><body><h1>Backtest report (qcloop emulator)</h1><table>{rows}"
                                   "</table></body></html>"})

    # -- optimizations ------------------------------------------------------------------------------------

    def _optimization_parameters(self, params: Params) -> list[Mapping[str, Any]]:
        raw = params.sequence("parameters")
        require(bool(raw), "parameters is required: the parameters to optimize, with min, max and step")
        assert raw is not None
        require(all(isinstance(p, Mapping) for p in raw), "every parameter must be {name, min, max, step}")
        return list(raw)

    def optimizations_estimate(self, user: UserRecord, params: Params) -> Reply:
        estimate = self.backend.estimate_optimization(
            user, params.integer("projectId", required=True) or 0,
            parameters=self._optimization_parameters(params), target=params.text("target", required=True) or "",
            target_to=params.text("targetTo", required=True) or "",
            strategy=params.text("strategy", required=True) or "",
            node_type=params.text("nodeType") or "O2-8", parallel_nodes=params.integer("parallelNodes"),
        )
        return envelope({"estimate": {"estimateId": f"E-{estimate.backtests}-{estimate.seconds}",
                                      "time": estimate.seconds, "balance": estimate.qcc,
                                      "backtests": estimate.backtests, "costUsd": estimate.usd}})

    def optimizations_create(self, user: UserRecord, params: Params) -> Reply:
        constraints = params.sequence("constraints") or []
        require(all(isinstance(c, Mapping) for c in constraints), "every constraint must be an object")
        target_value = params.raw("targetValue")
        record = self.backend.create_optimization(
            user, params.integer("projectId", required=True) or 0, name=params.text("name", required=True) or "",
            target=params.text("target", required=True) or "",
            target_to=params.text("targetTo", required=True) or "",
            target_value=None if target_value in (None, "") else params.number("targetValue"),
            strategy=params.text("strategy", required=True) or "",
            compile_id=params.text("compileId", required=True) or "",
            parameters=self._optimization_parameters(params), constraints=constraints,
            estimated_cost=params.number("estimatedCost", required=True) or 0.0,
            node_type=params.text("nodeType", required=True) or "",
            parallel_nodes=params.integer("parallelNodes", required=True) or 0,
        )
        view = self.backend.peek_optimization(record)
        return envelope({"optimizations": [wire.optimization_summary(view)]})

    def optimizations_read(self, user: UserRecord, params: Params) -> Reply:
        view = self.backend.read_optimization(user, params.text("optimizationId", required=True) or "")
        return envelope({"optimization": wire.optimization(view)})

    def optimizations_list(self, user: UserRecord, params: Params) -> Reply:
        views = self.backend.list_optimizations(user, params.integer("projectId", required=True) or 0)
        return envelope({"optimizations": [wire.optimization_summary(v) for v in views]})

    def optimizations_update(self, user: UserRecord, params: Params) -> Reply:
        self.backend.update_optimization(user, params.text("optimizationId", required=True) or "",
                                         params.text("name", required=True) or "")
        return envelope()

    def optimizations_abort(self, user: UserRecord, params: Params) -> Reply:
        self.backend.abort_optimization(user, params.text("optimizationId", required=True) or "")
        return envelope()

    def optimizations_delete(self, user: UserRecord, params: Params) -> Reply:
        self.backend.delete_optimization(user, params.text("optimizationId", required=True) or "")
        return envelope()

    # -- Object Store -----------------------------------------------------------------------------------

    def object_set(self, user: UserRecord, params: Params) -> Reply:
        data = params.files.get("objectData")
        require(data is not None, "objectData is required: send it as a multipart/form-data file part")
        assert data is not None
        self.backend.set_object(user, params.text("organizationId"), params.text("key", required=True) or "", data)
        return envelope()

    def object_get(self, user: UserRecord, params: Params) -> Reply:
        organization_id = params.text("organizationId")
        job_id = params.text("jobId")
        if job_id:
            view = self.backend.read_download(user, organization_id, job_id)
            return envelope(wire.download(view, self.download_url(view.job.token)))
        keys = params.sequence("keys")
        require(bool(keys), "keys is required: the Object Store keys to download (or jobId)")
        job = self.backend.request_download(user, organization_id, [str(k) for k in keys or []])
        return envelope({"jobId": job.job_id, "url": None})

    def object_properties(self, user: UserRecord, params: Params) -> Reply:
        stored, preview = self.backend.object_properties(user, params.text("organizationId"),
                                                         params.text("key", required=True) or "")
        return envelope({"metadata": wire.object_properties(stored, preview)})

    def object_list(self, user: UserRecord, params: Params) -> Reply:
        listing = self.backend.list_objects(user, params.text("organizationId"), params.text("path"))
        return envelope(wire.object_list(listing))

    def object_delete(self, user: UserRecord, params: Params) -> Reply:
        self.backend.delete_object(user, params.text("organizationId"), params.text("key", required=True) or "")
        return envelope()

    # -- live -----------------------------------------------------------------------------------------------

    def live_create(self, user: UserRecord, params: Params) -> Reply:
        project_id = params.integer("projectId", required=True) or 0
        version = params.raw("versionId", "-1")
        require(version is not None and str(version).lstrip("-").isdigit(), "versionId must be an integer")
        brokerage = params.mapping("brokerage")
        require(brokerage is not None, "brokerage is required, e.g. {\"id\": \"QuantConnectBrokerage\"}")
        record = self.backend.create_live(
            user, project_id, compile_id=params.text("compileId", required=True) or "",
            node_id=params.text("nodeId", required=True) or "", brokerage=brokerage or {},
            parameters=params.mapping("parameters"),
        )
        views = self.backend.list_live(user, project_id=project_id)
        live = next(wire.live_summary(v) for v in views if v.record.deploy_id == record.deploy_id)
        return envelope({"responseCode": 0, "source": "api", "deployId": record.deploy_id,
                         "versionId": int(str(version)), "projectId": project_id, "status": "InQueue",
                         "live": {**live, "status": "InQueue"}})

    def live_read(self, user: UserRecord, params: Params) -> Reply:
        project_id = params.integer("projectId", required=True) or 0
        view = self.backend.read_live(user, project_id, params.text("deployId") or None)
        files = self.backend.read_files(user, project_id)
        return envelope(wire.live_algorithm(view, files))

    def live_list(self, user: UserRecord, params: Params) -> Reply:
        views = self.backend.list_live(user, project_id=params.integer("projectId"), status=params.text("status"))
        return envelope({"live": [wire.live_summary(v) for v in views]})

    def live_stop(self, user: UserRecord, params: Params) -> Reply:
        self.backend.stop_live(user, params.integer("projectId", required=True) or 0)
        return envelope()

    def live_liquidate(self, user: UserRecord, params: Params) -> Reply:
        self.backend.stop_live(user, params.integer("projectId", required=True) or 0, liquidate=True)
        return envelope()

    def live_portfolio_read(self, user: UserRecord, params: Params) -> Reply:
        return envelope({"portfolio": self.backend.live_portfolio(user, params.integer("projectId", required=True)
                                                                  or 0)})

    def live_orders_read(self, user: UserRecord, params: Params) -> Reply:
        start, end = self._page(params, LIVE_ORDERS_PAGE_LIMIT)
        orders = self.backend.live_orders(user, params.integer("projectId", required=True) or 0)
        return envelope({"orders": orders[start:end], "length": len(orders)})

    def live_logs_read(self, user: UserRecord, params: Params) -> Reply:
        first = params.integer("startLine") or 0
        last = params.integer("endLine")
        logs = self.backend.live_logs(user, params.integer("projectId", required=True) or 0,
                                      params.text("algorithmId") or params.text("deployId") or None)
        last = len(logs) if last is None else last
        require(0 <= first <= last and last - first <= LOG_PAGE_LIMIT,
                f"startLine and endLine must satisfy 0 <= startLine <= endLine, at most {LOG_PAGE_LIMIT} apart")
        return envelope({"logs": logs[first:last], "length": len(logs), "deploymentOffset": 0})

    def live_insights_read(self, user: UserRecord, params: Params) -> Reply:
        self.backend.read_live(user, params.integer("projectId", required=True) or 0)
        return envelope({"insights": [], "length": 0})
