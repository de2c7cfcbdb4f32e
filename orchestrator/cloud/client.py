"""``QCClient``: one typed method per QuantConnect API v2 endpoint the research loop needs.

Every method sends a JSON POST (``object/set`` is multipart) through ``Transport`` and returns a
model from ``schemas.py``; failures raise the ``CloudError`` family (see ``transport.py`` for which
failures are retried and why create calls never are). Point it at QuantConnect or at the emulator::

    client = QCClient(credentials)                                          # QuantConnect
    client = QCClient(credentials, base_url="http://127.0.0.1:5612/api/v2/")  # the emulator

Field spellings follow ``reference/qc-api.md`` §3 exactly (``backtestName`` on create, ``newName``
on a file rename, ``{name, min, max, step}`` optimization parameters, ``targetValue`` ...).
"""

from __future__ import annotations

import io
import logging
import random as random_module
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from orchestrator.cloud import polling
from orchestrator.cloud.auth import RequestSigner
from orchestrator.cloud.schemas import (
    GRID_SEARCH,
    Backtest,
    BacktestSummary,
    Chart,
    Compile,
    Language,
    LiveAlgorithm,
    LiveDeployment,
    LiveSummary,
    NodeType,
    ObjectDownloadJob,
    ObjectListing,
    ObjectProperties,
    Optimization,
    OptimizationConstraint,
    OptimizationEstimate,
    OptimizationParameter,
    OptimizationSummary,
    OptimizationTarget,
    Order,
    PaperBrokerage,
    Portfolio,
    Project,
    ProjectFile,
    TargetDirection,
)
from orchestrator.cloud.transport import DEFAULT_BASE_URL, RetryPolicy, Session, Transport, new_session
from orchestrator.credentials import Credentials, register_secret
from orchestrator.errors import CredentialsError, RequestFailedError, TransportError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
ParameterValue = str | int | float

PROJECT_PAGE_SIZE = 100
BACKTEST_ORDERS_PAGE = 99     # the service wants end - start < 100
LIVE_ORDERS_PAGE = 1000       # the service wants end - start <= 1000
DEFAULT_OBJECT_TIMEOUT = 180.0
DEFAULT_LOADING_TIMEOUT = 120.0
PAPER_DATA_PROVIDERS = {"QuantConnectBrokerage": {"id": "QuantConnectBrokerage"}}


def fields(**values: Any) -> dict[str, Any]:
    """A request's fields, leaving out the optional ones not given (``None``)."""
    return {key: value for key, value in values.items() if value is not None}


def _describe_validation(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "(top level)"
    return f"{where}: {first.get('msg', 'invalid')}"


def parse_model(model: type[M], value: Any, *, endpoint: str, key: str) -> M:
    """Validate one object of a reply; a missing or misshapen object is a ``TransportError``."""
    if value is None:
        raise TransportError(f"the reply has no '{key}'", endpoint=endpoint,
                             hint="check that the base URL points at QuantConnect's API v2")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise TransportError(f"the reply's '{key}' has an unexpected shape ({_describe_validation(exc)})",
                             endpoint=endpoint, hint="the API may have changed; report this to qcloop") from exc


def parse_models(model: type[M], value: Any, *, endpoint: str, key: str) -> list[M]:
    """Validate a list in a reply; a missing list is an empty one."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TransportError(f"the reply's '{key}' is not a list", endpoint=endpoint)
    return [parse_model(model, item, endpoint=endpoint, key=f"{key}[{index}]") for index, item in enumerate(value)]


def extract_object(archive: bytes, key: str) -> bytes:
    """The object ``key`` from a downloaded Object Store archive (a zip named by key), or the bytes
    themselves when the download is not a zip."""
    if not zipfile.is_zipfile(io.BytesIO(archive)):
        return archive
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        names = bundle.namelist()
        for candidate in (key, key.lstrip("/"), "/" + key.lstrip("/")):
            if candidate in names:
                return bundle.read(candidate)
        if len(names) == 1:
            return bundle.read(names[0])
    raise TransportError(f"the downloaded archive has no entry '{key}' (entries: {', '.join(names[:5])})",
                         endpoint="object/get")


class QCClient:
    """A typed client of QuantConnect's API v2 (see the module docstring and docs/cloud-client.md)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str = DEFAULT_BASE_URL,
        session: Session | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: polling.Sleep = time.sleep,
        clock: polling.Clock = time.time,
        random: polling.Clock = random_module.random,
    ) -> None:
        register_secret(credentials.api_token)  # so that redact() masks it wherever it might appear
        self.credentials = credentials
        self.sleep = sleep
        self.clock = clock
        self.transport = Transport(
            session if session is not None else new_session(), base_url, RequestSigner(credentials, clock),
            timeout=timeout, retry=retry, sleep=sleep, random=random, clock=clock,
        )

    def __repr__(self) -> str:
        return f"QCClient(user_id={self.credentials.user_id!r}, base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def _call(self, endpoint: str, payload: Mapping[str, Any] | None = None, *,
              object_name: str | None = None) -> dict[str, Any]:
        return self.transport.call(endpoint, payload, object_name=object_name)

    def _organization(self, organization_id: str | None) -> str:
        found = organization_id or self.credentials.organization_id
        if not found:
            raise CredentialsError(
                "this request needs a QuantConnect organization id and none is configured",
                hint="set QC_ORGANIZATION_ID (the 32-hex id on quantconnect.com/organization) or pass it",
            )
        return found

    # ==============================================================================================
    # authentication

    def authenticate(self) -> bool:
        """Check the credentials (``authenticate``); raises ``AuthenticationError`` when they fail."""
        self._call("authenticate", {})
        return True

    # ==============================================================================================
    # projects

    def create_project(self, name: str, *, language: Language = Language.PYTHON,
                       organization_id: str | None = None) -> Project:
        """``projects/create``. Not retried when the outcome is unknown: reconcile by name."""
        payload = fields(name=name, language=Language(language).value,
                         organizationId=organization_id or self.credentials.organization_id or None)
        data = self._call("projects/create", payload, object_name=name)
        projects = parse_models(Project, data.get("projects"), endpoint="projects/create", key="projects")
        if not projects:
            raise TransportError("the reply lists no project", endpoint="projects/create")
        if projects[0].name != name.lstrip("/"):
            log.warning("QuantConnect named the new project '%s' instead of '%s'", projects[0].name, name)
        return projects[0]

    def read_project(self, project_id: int) -> Project:
        data = self._call("projects/read", {"projectId": project_id})
        projects = parse_models(Project, data.get("projects"), endpoint="projects/read", key="projects")
        if not projects:
            raise RequestFailedError(f"no project {project_id}", endpoint="projects/read",
                                     hint="check the project id")
        return projects[0]

    def list_projects(self, *, start: int | None = None, end: int | None = None) -> list[Project]:
        """``projects/read`` without an id: all projects, or those in ``[start, end)``."""
        data = self._call("projects/read", fields(start=start, end=end))
        return parse_models(Project, data.get("projects"), endpoint="projects/read", key="projects")

    def iter_projects(self, *, page_size: int = PROJECT_PAGE_SIZE) -> Iterator[Project]:
        """Every project, read ``page_size`` at a time with ``start``/``end``.

        Stops at a short page, or at a page with no new project (a server that ignores paging).
        """
        seen: set[int] = set()
        start = 0
        while True:
            page = self.list_projects(start=start, end=start + page_size)
            fresh = [project for project in page if project.projectId not in seen]
            yield from fresh
            seen.update(project.projectId for project in fresh)
            if len(page) < page_size or not fresh:
                return
            start += len(page)

    def update_project(
        self, project_id: int, *, name: str | None = None, description: str | None = None,
        parameters: Mapping[str, ParameterValue] | None = None,
    ) -> None:
        """``projects/update``. ``parameters`` replaces the project's parameters (``{}`` clears them);
        they are sent as ``[{key, value}]``, the JSON twin of lean-cli's ``parameters[i][key]`` form."""
        listed = None if parameters is None else [{"key": key, "value": str(value)}
                                                  for key, value in parameters.items()]
        self._call("projects/update", fields(projectId=project_id, name=name, description=description,
                                             parameters=listed))

    def delete_project(self, project_id: int) -> None:
        self._call("projects/delete", {"projectId": project_id})

    # ==============================================================================================
    # files

    def create_file(self, project_id: int, name: str, content: str) -> ProjectFile | None:
        """``files/create``; the new file when the reply lists it (older replies do, newer may not)."""
        data = self._call("files/create", {"projectId": project_id, "name": name, "content": content},
                          object_name=f"{name} in project {project_id}")
        files = parse_models(ProjectFile, data.get("files"), endpoint="files/create", key="files")
        return files[0] if files else None

    def read_file(self, project_id: int, name: str) -> ProjectFile:
        data = self._call("files/read", {"projectId": project_id, "name": name})
        files = parse_models(ProjectFile, data.get("files"), endpoint="files/read", key="files")
        for file in files:
            if file.name == name:
                return file
        if len(files) == 1:
            return files[0]
        raise RequestFailedError(f"project {project_id} has no file '{name}'", endpoint="files/read",
                                 hint="check the file name (names include folders, e.g. 'lib/x.py')")

    def list_files(self, project_id: int) -> list[ProjectFile]:
        data = self._call("files/read", {"projectId": project_id})
        return parse_models(ProjectFile, data.get("files"), endpoint="files/read", key="files")

    def update_file(self, project_id: int, name: str, content: str) -> None:
        """``files/update`` with new ``content`` (the service rejects empty content)."""
        self._call("files/update", {"projectId": project_id, "name": name, "content": content})

    def rename_file(self, project_id: int, name: str, new_name: str) -> None:
        """``files/update`` with ``newName``."""
        self._call("files/update", {"projectId": project_id, "name": name, "newName": new_name})

    def delete_file(self, project_id: int, name: str) -> None:
        self._call("files/delete", {"projectId": project_id, "name": name})

    # ==============================================================================================
    # compile

    def create_compile(self, project_id: int) -> Compile:
        data = self._call("compile/create", {"projectId": project_id},
                          object_name=f"compile of project {project_id}")
        return parse_model(Compile, data, endpoint="compile/create", key="compileId")

    def read_compile(self, project_id: int, compile_id: str) -> Compile:
        data = self._call("compile/read", {"projectId": project_id, "compileId": compile_id})
        return parse_model(Compile, data, endpoint="compile/read", key="compileId")

    def wait_for_compile(self, project_id: int, compile_id: str, *,
                         timeout: float = polling.DEFAULT_COMPILE_TIMEOUT,
                         progress: polling.ProgressCallback | None = None) -> Compile:
        return polling.wait_for_compile(self, project_id, compile_id, timeout=timeout, progress=progress,
                                        sleep=self.sleep, clock=self.clock)

    # ==============================================================================================
    # backtests

    def create_backtest(
        self, project_id: int, compile_id: str, name: str, *,
        parameters: Mapping[str, ParameterValue] | None = None,
    ) -> Backtest:
        """``backtests/create`` (``backtestName``; ``parameters`` override the project's).

        Never repeated when the outcome is unknown (``OutcomeUnknownError``): find it by ``name``."""
        payload: dict[str, Any] = {"projectId": project_id, "compileId": compile_id, "backtestName": name}
        if parameters:
            payload["parameters"] = dict(parameters)
        data = self._call("backtests/create", payload, object_name=name)
        return self._backtest(data, "backtests/create")

    @staticmethod
    def _backtest(data: Mapping[str, Any], endpoint: str) -> Backtest:
        value = data.get("backtest")
        if isinstance(value, list):  # the old spec returned a one-element array
            value = value[0] if value else None
        return parse_model(Backtest, value, endpoint=endpoint, key="backtest")

    def read_backtest(self, project_id: int, backtest_id: str) -> Backtest:
        data = self._call("backtests/read", {"projectId": project_id, "backtestId": backtest_id})
        return self._backtest(data, "backtests/read")

    def list_backtests(self, project_id: int, *, include_statistics: bool = False) -> list[BacktestSummary]:
        data = self._call("backtests/list", {"projectId": project_id, "includeStatistics": include_statistics})
        return parse_models(BacktestSummary, data.get("backtests"), endpoint="backtests/list", key="backtests")

    def update_backtest(self, project_id: int, backtest_id: str, *, name: str | None = None,
                        note: str | None = None) -> None:
        self._call("backtests/update", fields(projectId=project_id, backtestId=backtest_id, name=name, note=note))

    def delete_backtest(self, project_id: int, backtest_id: str) -> None:
        self._call("backtests/delete", {"projectId": project_id, "backtestId": backtest_id})

    def read_backtest_orders(self, project_id: int, backtest_id: str, *, start: int = 0,
                             end: int = BACKTEST_ORDERS_PAGE) -> list[Order]:
        """One page of ``backtests/orders/read`` (``end - start`` must stay below 100)."""
        data = self._call("backtests/orders/read",
                          {"projectId": project_id, "backtestId": backtest_id, "start": start, "end": end})
        return parse_models(Order, data.get("orders"), endpoint="backtests/orders/read", key="orders")

    def list_backtest_orders(self, project_id: int, backtest_id: str) -> list[Order]:
        """Every order of a backtest, paging through ``backtests/orders/read``."""
        return self._all_orders(
            lambda start, end: self.read_backtest_orders(project_id, backtest_id, start=start, end=end),
            BACKTEST_ORDERS_PAGE)

    @staticmethod
    def _all_orders(read_page: Any, page_size: int) -> list[Order]:
        orders: list[Order] = []
        seen: set[int] = set()
        start = 0
        while True:
            page = read_page(start, start + page_size)
            fresh = [order for order in page if order.id not in seen]
            orders.extend(fresh)
            seen.update(order.id for order in fresh)
            if len(page) < page_size or not fresh:
                return orders
            start += len(page)

    def read_backtest_chart(
        self, project_id: int, backtest_id: str, name: str, *, start: int = 0, end: int | None = None,
        count: int = 100, timeout: float = DEFAULT_LOADING_TIMEOUT,
    ) -> Chart:
        """``backtests/chart/read``, waiting while the service answers ``status: "loading"``.

        ``start``/``end`` are Unix seconds (``end`` defaults to now); ``count`` caps the points."""
        payload = {"projectId": project_id, "backtestId": backtest_id, "name": name, "count": count,
                   "start": start, "end": int(self.clock()) if end is None else end}
        data = self._until_loaded("backtests/chart/read", payload, "chart", timeout)
        return parse_model(Chart, data.get("chart"), endpoint="backtests/chart/read", key="chart")

    def _until_loaded(self, endpoint: str, payload: Mapping[str, Any], key: str, timeout: float) -> dict[str, Any]:
        """Repeat a read while the service answers with its ``LoadingResponse``."""
        def loading(data: dict[str, Any]) -> bool:
            return key not in data and (str(data.get("status", "")).lower() == "loading" or "progress" in data)

        def describe(data: dict[str, Any]) -> tuple[float, str]:
            progress = data.get("progress")
            fraction = float(progress) if isinstance(progress, int | float) else 0.0
            return (1.0, "loaded") if not loading(data) else (fraction, "loading")

        return polling.poll_until(
            lambda: self._call(endpoint, payload), lambda data: not loading(data),
            what=f"{endpoint} ({key})", timeout=timeout, describe=describe, sleep=self.sleep, clock=self.clock,
        )

    def wait_for_backtest(self, project_id: int, backtest_id: str, *,
                          timeout: float = polling.DEFAULT_BACKTEST_TIMEOUT,
                          progress: polling.ProgressCallback | None = None) -> polling.BacktestOutcome:
        return polling.wait_for_backtest(self, project_id, backtest_id, timeout=timeout, progress=progress,
                                         sleep=self.sleep, clock=self.clock)

    # ==============================================================================================
    # optimizations

    @staticmethod
    def _optimization_payload(
        *, project_id: int, compile_id: str | None, name: str, parameters: Sequence[OptimizationParameter],
        target: OptimizationTarget | str, target_to: TargetDirection | str, target_value: float | None,
        constraints: Sequence[OptimizationConstraint], strategy: str,
    ) -> dict[str, Any]:
        return fields(
            projectId=project_id, compileId=compile_id, name=name,
            target=OptimizationTarget(target).value, targetTo=TargetDirection(target_to).value,
            targetValue=target_value, strategy=strategy,
            parameters=[parameter.model_dump() for parameter in parameters],
            constraints=[constraint.model_dump(mode="json") for constraint in constraints],
        )

    def estimate_optimization(
        self, project_id: int, compile_id: str | None, name: str, parameters: Sequence[OptimizationParameter],
        *, target: OptimizationTarget | str = OptimizationTarget.SHARPE_RATIO,
        target_to: TargetDirection | str = TargetDirection.MAX, target_value: float | None = None,
        constraints: Sequence[OptimizationConstraint] = (), strategy: str = GRID_SEARCH,
    ) -> OptimizationEstimate:
        """``optimizations/estimate``: time (s) and cost (QCC) of a grid before paying for it."""
        payload = self._optimization_payload(
            project_id=project_id, compile_id=compile_id, name=name, parameters=parameters, target=target,
            target_to=target_to, target_value=target_value, constraints=constraints, strategy=strategy)
        data = self._call("optimizations/estimate", payload)
        return parse_model(OptimizationEstimate, data.get("estimate"), endpoint="optimizations/estimate",
                           key="estimate")

    def create_optimization(
        self, project_id: int, compile_id: str, name: str, parameters: Sequence[OptimizationParameter],
        *, estimated_cost: float, node_type: NodeType | str = NodeType.O2_8, parallel_nodes: int = 4,
        target: OptimizationTarget | str = OptimizationTarget.SHARPE_RATIO,
        target_to: TargetDirection | str = TargetDirection.MAX, target_value: float | None = None,
        constraints: Sequence[OptimizationConstraint] = (), strategy: str = GRID_SEARCH,
    ) -> OptimizationSummary:
        """``optimizations/create`` (costs money). Never repeated when the outcome is unknown."""
        payload = self._optimization_payload(
            project_id=project_id, compile_id=compile_id, name=name, parameters=parameters, target=target,
            target_to=target_to, target_value=target_value, constraints=constraints, strategy=strategy)
        payload.update(estimatedCost=estimated_cost, nodeType=NodeType(node_type).value,
                       parallelNodes=parallel_nodes)
        data = self._call("optimizations/create", payload, object_name=name)
        created = parse_models(OptimizationSummary, data.get("optimizations"), endpoint="optimizations/create",
                               key="optimizations")
        if not created:
            raise TransportError("the reply lists no optimization", endpoint="optimizations/create")
        return created[0]

    def read_optimization(self, optimization_id: str) -> Optimization:
        data = self._call("optimizations/read", {"optimizationId": optimization_id})
        return parse_model(Optimization, data.get("optimization"), endpoint="optimizations/read",
                           key="optimization")

    def list_optimizations(self, project_id: int) -> list[OptimizationSummary]:
        data = self._call("optimizations/list", {"projectId": project_id})
        return parse_models(OptimizationSummary, data.get("optimizations"), endpoint="optimizations/list",
                            key="optimizations")

    def abort_optimization(self, optimization_id: str) -> None:
        """``optimizations/abort`` (fails once the optimization has completed)."""
        self._call("optimizations/abort", {"optimizationId": optimization_id})

    def delete_optimization(self, optimization_id: str) -> None:
        self._call("optimizations/delete", {"optimizationId": optimization_id})

    def wait_for_optimization(self, optimization_id: str, *,
                              timeout: float = polling.DEFAULT_OPTIMIZATION_TIMEOUT,
                              progress: polling.ProgressCallback | None = None) -> Optimization:
        return polling.wait_for_optimization(self, optimization_id, timeout=timeout, progress=progress,
                                             sleep=self.sleep, clock=self.clock)

    # ==============================================================================================
    # live trading (paper)

    def create_live(
        self, project_id: int, compile_id: str, node_id: str, *, brokerage: PaperBrokerage | None = None,
        version_id: str = "-1", parameters: Mapping[str, ParameterValue] | None = None,
        automatic_redeploy: bool = False,
    ) -> LiveDeployment:
        """``live/create`` on the paper brokerage. Never repeated when the outcome is unknown."""
        payload: dict[str, Any] = {
            "projectId": project_id, "compileId": compile_id, "nodeId": node_id, "versionId": version_id,
            "brokerage": (brokerage or PaperBrokerage()).model_dump(),
            "dataProviders": PAPER_DATA_PROVIDERS, "automaticRedeploy": automatic_redeploy,
        }
        if parameters:
            payload["parameters"] = dict(parameters)
        data = self._call("live/create", payload, object_name=f"live deployment of project {project_id}")
        return parse_model(LiveDeployment, data, endpoint="live/create", key="deployId")

    def read_live(self, project_id: int, deploy_id: str | None = None) -> LiveAlgorithm:
        data = self._call("live/read", fields(projectId=project_id, deployId=deploy_id))
        return parse_model(LiveAlgorithm, data, endpoint="live/read", key="live")

    def list_live(self, *, status: str | None = None, project_id: int | None = None) -> list[LiveSummary]:
        """``live/list``; ``status`` is one of Running, Stopped, RuntimeError, Liquidated."""
        data = self._call("live/list", fields(status=status, projectId=project_id))
        return parse_models(LiveSummary, data.get("live"), endpoint="live/list", key="live")

    def stop_live(self, project_id: int) -> None:
        self._call("live/update/stop", {"projectId": project_id})

    def liquidate_live(self, project_id: int) -> None:
        """``live/update/liquidate``: liquidate the holdings, then stop."""
        self._call("live/update/liquidate", {"projectId": project_id})

    def read_live_portfolio(self, project_id: int) -> Portfolio:
        data = self._call("live/portfolio/read", {"projectId": project_id})
        return parse_model(Portfolio, data.get("portfolio"), endpoint="live/portfolio/read", key="portfolio")

    def read_live_orders(self, project_id: int, *, start: int = 0, end: int = LIVE_ORDERS_PAGE,
                         timeout: float = DEFAULT_LOADING_TIMEOUT) -> list[Order]:
        """``live/orders/read`` (``end - start`` at most 1000), waiting while it is loading."""
        data = self._until_loaded("live/orders/read", {"projectId": project_id, "start": start, "end": end},
                                  "orders", timeout)
        return parse_models(Order, data.get("orders"), endpoint="live/orders/read", key="orders")

    # ==============================================================================================
    # Object Store (organization-wide key/value files)

    def set_object(self, key: str, data: bytes | str, *, organization_id: str | None = None) -> None:
        """``object/set``: multipart/form-data with ``organizationId``, ``key`` and the file ``objectData``."""
        content = data.encode("utf-8") if isinstance(data, str) else data
        filename = key.rstrip("/").rsplit("/", 1)[-1] or "object"
        self.transport.call(
            "object/set", {"organizationId": self._organization(organization_id), "key": key},
            files={"objectData": (filename, content, "application/octet-stream")}, object_name=key,
        )

    def read_object_properties(self, key: str, *, organization_id: str | None = None) -> ObjectProperties:
        """``object/properties`` (not for folders)."""
        data = self._call("object/properties", {"organizationId": self._organization(organization_id), "key": key})
        return parse_model(ObjectProperties, data.get("metadata"), endpoint="object/properties", key="metadata")

    def list_objects(self, path: str = "", *, organization_id: str | None = None) -> ObjectListing:
        data = self._call("object/list", {"organizationId": self._organization(organization_id), "path": path})
        return parse_model(ObjectListing, data, endpoint="object/list", key="objects")

    def delete_object(self, key: str, *, organization_id: str | None = None) -> None:
        """``object/delete`` (a folder key deletes the folder)."""
        self._call("object/delete", {"organizationId": self._organization(organization_id), "key": key})

    def create_object_download(self, keys: Sequence[str], *, organization_id: str | None = None) -> ObjectDownloadJob:
        """``object/get`` with ``keys``: starts a download job and returns its ``jobId``."""
        data = self._call("object/get", {"organizationId": self._organization(organization_id), "keys": list(keys)})
        return parse_model(ObjectDownloadJob, data, endpoint="object/get", key="jobId")

    def read_object_download(self, job_id: str, *, organization_id: str | None = None) -> ObjectDownloadJob:
        """``object/get`` with ``jobId``: the job, whose ``url`` is set once the archive is ready."""
        data = self._call("object/get", {"organizationId": self._organization(organization_id), "jobId": job_id})
        return parse_model(ObjectDownloadJob, data, endpoint="object/get", key="url")

    def get_object(self, key: str, *, organization_id: str | None = None,
                   timeout: float = DEFAULT_OBJECT_TIMEOUT) -> bytes:
        """An object's bytes: start a job, poll for the download URL, download the archive, unpack it.

        QuantConnect allows downloads only for organizations with derived-data export enabled
        (Institution tier); others get a ``RequestFailedError`` saying so."""
        organization = self._organization(organization_id)
        job = self.create_object_download([key], organization_id=organization)
        if not job.url:
            if not job.jobId:
                raise TransportError("the reply has neither a job id nor a URL", endpoint="object/get")
            job_id = job.jobId
            job = polling.poll_until(
                lambda: self.read_object_download(job_id, organization_id=organization),
                lambda current: bool(current.url), what=f"the download of Object Store key '{key}'",
                timeout=timeout, describe=lambda current: ((1.0, "ready") if current.url else (0.0, "preparing")),
                sleep=self.sleep, clock=self.clock,
            )
        if not job.url:  # unreachable: poll_until returns only once the URL is set
            raise TransportError("the download job ended without a URL", endpoint="object/get")
        return extract_object(self.transport.download(job.url), key)
