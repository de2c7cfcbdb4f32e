"""Shared helpers of the emulator's tests: the test user, and a signed HTTP caller.

``Api`` signs requests exactly as QuantConnect's clients do (sha256 of ``token:timestamp`` as the
Basic password, the same seconds in a ``Timestamp`` header) so that the server tests exercise the
wire, not a shortcut. The cloud client's own end-to-end tests use ``orchestrator.cloud`` instead.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import requests

from orchestrator.emulator import EmulatorBackend, EmulatorServer

USER_ID = 4242
TOKEN = "emulator-test-token-0123456789"


@dataclass
class Api:
    """A minimal signed HTTP caller for the wire tests."""

    url: str
    user_id: int = USER_ID
    token: str = TOKEN

    def headers(self, timestamp: int | None = None) -> dict[str, str]:
        return {"Timestamp": str(int(time.time()) if timestamp is None else timestamp)}

    def auth(self, timestamp: str) -> tuple[str, str]:
        return str(self.user_id), hashlib.sha256(f"{self.token}:{timestamp}".encode()).hexdigest()

    def raw(self, method: str, endpoint: str, *, timestamp: int | None = None, **kwargs: Any) -> requests.Response:
        headers = self.headers(timestamp)
        return requests.request(method, self.url + endpoint, auth=self.auth(headers["Timestamp"]),
                                headers=headers, timeout=60, **kwargs)

    def post(self, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        response = self.raw("POST", endpoint, **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        response = self.raw("GET", endpoint, params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def ok(self, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        body = self.post(endpoint, **kwargs)
        assert body["success"] is True, body
        return body


def start_server(backend: EmulatorBackend, **kwargs: Any) -> EmulatorServer:
    server = EmulatorServer(backend, **kwargs)
    server.start()
    return server
