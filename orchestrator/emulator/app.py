"""The WSGI application: path -> fault -> authentication -> fields -> handler -> JSON envelope.

Order of a request's life, and why:

1. The path is normalized (repeated slashes collapsed) and looked up in ``urls.ROUTES``; an unknown
   path answers HTTP 404 with ``success: false`` naming it, before anything else happens.
2. The fault plan is asked whether this call of this endpoint misbehaves (``faults.py``): injected
   faults stand for the network and the service's front end, so they happen before authentication.
3. The signature is verified (``auth.py``); a failure answers HTTP 200 ``Hash doesn't match. ...``
   (the service's observed behaviour) or, with ``auth_failure_status=401``, the documented 401 form.
4. Query string, form (with bracket keys) and JSON body are merged (``params.py``) and the handler
   runs; ``errors.ServiceError`` becomes ``{"success": false, "errors": [...]}`` with its status.

Two paths live outside ``/api/v2/``: the Object Store download URLs (``/downloads/object-store/...``,
unauthenticated like a pre-signed URL) and the simulated person's control endpoint
(``/emulator/operator/run-notebook``, authenticated, used by ``qcloop emulator run-notebook``).

Logs record method, endpoint, status and duration: never headers, bodies or query strings.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from orchestrator.emulator import urls
from orchestrator.emulator.auth import parse_signature, verify
from orchestrator.emulator.backend import EmulatorBackend
from orchestrator.emulator.errors import AuthenticationFailedError, ServiceError, UnknownEndpointError
from orchestrator.emulator.faults import Fault, FaultKind, FaultPlan
from orchestrator.emulator.params import Params, merge
from orchestrator.emulator.responses import Responses
from orchestrator.emulator.state import UserRecord

log = logging.getLogger("orchestrator.emulator")

OperatorHook = Callable[[UserRecord, Mapping[str, Any]], dict[str, Any]]
Handler = Callable[[UserRecord, Params], dict[str, Any]]
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class ConnectionDroppedError(ConnectionError):
    """Raised out of the WSGI app to make werkzeug drop the connection without a response."""


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    payload = json.dumps(body, default=str, separators=(",", ":"))
    return Response(payload, status=status, headers=dict(headers or {}), mimetype="application/json")


class EmulatorApp:
    """A WSGI callable serving the emulated API for one backend."""

    def __init__(
        self, backend: EmulatorBackend, *, auth_failure_status: int = 200, faults: FaultPlan | None = None,
        operator: OperatorHook | None = None, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if auth_failure_status not in (200, 401):
            raise ValueError("auth_failure_status must be 200 or 401")
        self.backend = backend
        self.auth_failure_status = auth_failure_status
        self.faults = faults
        self.operator = operator
        self.sleep = sleep
        self._local = threading.local()
        self.responses = Responses(backend, self._download_url)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        started = time.monotonic()
        response = self.dispatch(request)
        shown = urls.normalize_path(request.path)
        if shown.startswith(urls.DOWNLOAD_PREFIX):  # the URL's secret part is a download capability
            shown = urls.DOWNLOAD_PREFIX + "<secret>"
        log.info("%s %s -> %s (%.0f ms)", request.method, shown, response.status_code,
                 (time.monotonic() - started) * 1000)
        return response(environ, start_response)

    # ------------------------------------------------------------------------------------------

    def _download_url(self, token: str) -> str:
        base = getattr(self._local, "host_url", "http://127.0.0.1/")
        return f"{base.rstrip('/')}{urls.DOWNLOAD_PREFIX}{token}.zip"

    def dispatch(self, request: Request) -> Response:
        path = urls.normalize_path(request.path)
        self._local.host_url = request.host_url
        if path.startswith(urls.DOWNLOAD_PREFIX):
            return self._download(path[len(urls.DOWNLOAD_PREFIX):])
        if path.rstrip("/") == urls.OPERATOR_PATH:
            return self._operator(request)
        endpoint = urls.endpoint_of(path)
        if endpoint is None or endpoint not in urls.ROUTES:
            error = UnknownEndpointError(path)
            return json_response(error.body(), error.status)
        fault = self.faults.decide(endpoint) if self.faults is not None else None
        if fault is not None and fault.kind is not FaultKind.DROP_AFTER:
            early = self._inject(fault, request)
            if early is not None:
                return early
        response = self._serve(endpoint, request)
        if fault is not None and fault.kind is FaultKind.DROP_AFTER:
            self._drop(request)
        return response

    def _serve(self, endpoint: str, request: Request) -> Response:
        handler: Handler = getattr(self.responses, urls.ROUTES[endpoint])
        return self._answer(endpoint, request, handler)

    def _answer(self, what: str, request: Request, handler: Handler) -> Response:
        """Authenticate, parse the fields, run ``handler``: every failure in its wire form."""
        try:
            user = self._authenticate(request)
            return json_response(handler(user, self._params(request)))
        except AuthenticationFailedError as exc:
            if self.auth_failure_status == 401:
                return json_response(exc.body(), 401, {"WWW-Authenticate": 'Basic realm="QuantConnect API"'})
            return json_response(exc.body(), exc.status, exc.headers)
        except ServiceError as exc:
            return json_response(exc.body(), exc.status, exc.headers)
        except Exception:
            log.exception("the emulator failed on %s (a bug in the emulator)", what)
            return json_response({"success": False, "errors": [
                f"Internal error in the qcloop emulator while serving {what}: see its log"]}, 500)

    def _authenticate(self, request: Request) -> UserRecord:
        signature = parse_signature(request.headers.get("Authorization"), request.headers.get("Timestamp"))
        user_id = verify(signature, self.backend.token_of, self.backend.wall_clock())
        return self.backend.user(user_id)

    @staticmethod
    def _params(request: Request) -> Params:
        form: list[tuple[str, Any]] = []
        files: dict[str, bytes] = {}
        body = b""
        if request.mimetype in FORM_TYPES:
            form = list(request.form.items(multi=True))
            files = {name: storage.read() for name, storage in request.files.items()}
        else:
            body = request.get_data()
        data = merge(request.args.items(multi=True), form, body, request.mimetype == "application/json")
        return Params(data, files)

    # -- faults ---------------------------------------------------------------------------------

    def _inject(self, fault: Fault, request: Request) -> Response | None:
        """The faulty answer, or None when the request should go on (a slow fault, after its wait)."""
        if fault.kind is FaultKind.SLOW:
            self.sleep(fault.seconds)
            return None
        if fault.kind is FaultKind.DROP:
            self._drop(request)
        if fault.kind is FaultKind.MALFORMED:
            return Response('{"success": true, "projects": [{"projectId": 1, "name": "trunc',
                            status=200, mimetype="application/json")
        if fault.status == 429:
            return json_response(
                {"success": False, "errors": ["Too many requests: slow down (fault injected by the qcloop emulator)"]},
                429, {"Retry-After": f"{fault.retry_after:g}"})
        if fault.status == 500:
            body = {"success": False, "Message": "Internal Error (fault injected by the qcloop emulator)"}
            return json_response(body, 500)
        reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(fault.status, "Error")
        return Response(f"<html><body><h1>{fault.status} {reason}</h1><p>fault injected by the qcloop emulator"
                        "</p></body></html>", status=fault.status, mimetype="text/html")

    @staticmethod
    def _drop(request: Request) -> None:
        connection = request.environ.get("werkzeug.socket")
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionDroppedError("connection dropped by an injected fault")

    # -- outside /api/v2/ -------------------------------------------------------------------------

    def _download(self, name: str) -> Response:
        token = name.removesuffix(".zip")
        archive = self.backend.download(token) if token else None
        if archive is None:
            return Response("Not Found", status=404, mimetype="text/plain")
        return Response(archive, mimetype="application/zip",
                        headers={"Content-Disposition": 'attachment; filename="object-store.zip"'})

    def _operator(self, request: Request) -> Response:
        def run(user: UserRecord, params: Params) -> dict[str, Any]:
            if self.operator is None:
                raise UnknownEndpointError(urls.OPERATOR_PATH)
            return {**self.operator(user, params.data), "success": True}

        return self._answer(urls.OPERATOR_PATH, request, run)
