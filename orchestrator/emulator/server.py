"""A real HTTP server around the emulator: werkzeug's threaded server on a loopback address.

    backend = EmulatorBackend(data_folder=..., timing=Timing.immediate())
    backend.register_user(12345, "secret-token")
    with EmulatorServer(backend) as server:          # port 0: a free port is chosen
        client = QCClient(..., base_url=server.url)   # "http://127.0.0.1:PORT/api/v2/"

Each request is served on its own thread; ``stop()`` shuts the listener down and waits for it. The
server only binds loopback addresses unless told otherwise, because the emulator has no TLS and its
download URLs are unauthenticated.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from orchestrator.emulator.app import EmulatorApp, OperatorHook
from orchestrator.emulator.backend import EmulatorBackend
from orchestrator.emulator.faults import FaultPlan

log = logging.getLogger("orchestrator.emulator.server")


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its own access log: ``app.py`` logs what is safe to log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return

    def log(self, type: str, message: str, *args: Any) -> None:  # werkzeug's signature
        log.debug(message, *args)


class EmulatorServer:
    """Serve ``backend`` over HTTP on ``host:port`` in a background thread."""

    def __init__(
        self, backend: EmulatorBackend, host: str = "127.0.0.1", port: int = 0, *,
        auth_failure_status: int = 200, faults: FaultPlan | None = None, operator: OperatorHook | None = None,
    ) -> None:
        self.backend = backend
        self.host = host
        self.requested_port = port
        if operator is None:  # the simulated person is part of every emulator (run-notebook asks for it)
            from orchestrator.emulator.operator import operator_hook

            operator = operator_hook(backend)
        self.app = EmulatorApp(backend, auth_failure_status=auth_failure_status, faults=faults, operator=operator)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator server is not started")
        return int(self._server.server_port)

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def url(self) -> str:
        """The API base URL, with the trailing slash clients join endpoints onto."""
        return f"{self.root_url}api/v2/"

    def start(self) -> str:
        """Bind, start serving in a daemon thread, and return the API base URL."""
        if self._server is not None:
            return self.url
        self._server = make_server(self.host, self.requested_port, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="qcloop-emulator-http", daemon=True)
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the ``serve`` command)."""
        if self._server is None:
            self._server = make_server(self.host, self.requested_port, self.app, threaded=True,
                                       request_handler=_QuietHandler)
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._server is None:
            return
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
