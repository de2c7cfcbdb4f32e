"""Test doubles for the cloud client: a scripted transport adapter, a fake clock, real tiny servers.

``ScriptedAdapter`` is a ``requests.adapters.BaseAdapter`` mounted on a real ``requests.Session``:
the client's own code (signing, JSON encoding, retries, envelope parsing) runs unchanged; only the
network is replaced by replies scripted per endpoint. ``requests`` itself is never patched.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

BASE_URL = "https://qc.test/api/v2/"


@dataclass
class Reply:
    """A scripted HTTP reply. ``body`` (raw bytes) wins over ``json``."""

    json: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def content(self) -> bytes:
        if self.body is not None:
            return self.body
        return json.dumps(self.json).encode()


def ok(**fields: Any) -> Reply:
    """A successful envelope ``{"success": true, **fields}``."""
    return Reply({"success": True, **fields})


def failed(*errors: str) -> Reply:
    return Reply({"success": False, "errors": list(errors)})


Script = Reply | BaseException | Callable[["Sent"], "Reply | BaseException"]


@dataclass
class Sent:
    """One request as it reached the adapter."""

    method: str
    url: str
    headers: CaseInsensitiveDict[str]
    body: bytes
    timeout: Any

    @property
    def endpoint(self) -> str:
        return self.url.split("/api/v2/", 1)[-1]

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, Any]:
        """Fields and files of a multipart/form-data body: name -> str, or (filename, bytes)."""
        message: Message = BytesParser().parsebytes(
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + self.body)
        fields: dict[str, Any] = {}
        parts: list[Any] = message.get_payload()  # type: ignore[assignment]
        for part in parts:
            name = str(part.get_param("name", header="content-disposition"))
            payload: bytes = part.get_payload(decode=True)
            filename = part.get_filename()
            fields[name] = (filename, payload) if filename else payload.decode()
        return fields


class ScriptedAdapter(BaseAdapter):
    """Answers each request with the next scripted reply for its endpoint (or a catch-all URL)."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: dict[str, deque[Script]] = defaultdict(deque)
        self.sent: list[Sent] = []

    def add(self, endpoint: str, *replies: Script) -> ScriptedAdapter:
        self.scripts[endpoint.strip("/")].extend(replies)
        return self

    def endpoints(self) -> list[str]:
        return [sent.endpoint for sent in self.sent]

    def last(self, endpoint: str) -> Sent:
        return [sent for sent in self.sent if sent.endpoint == endpoint][-1]

    def send(  # noqa: PLR0917 (the signature of BaseAdapter.send)
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
        verify: Any = True, cert: Any = None, proxies: Any = None,
    ) -> requests.Response:
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        sent = Sent(request.method or "", request.url or "", CaseInsensitiveDict(request.headers), body, timeout)
        self.sent.append(sent)
        key = sent.endpoint if "/api/v2/" in sent.url else sent.url
        queue = self.scripts.get(key)
        if not queue:
            raise AssertionError(f"no scripted reply left for {key!r}")
        script = queue.popleft()
        if callable(script) and not isinstance(script, Reply | BaseException):
            script = script(sent)
        if isinstance(script, BaseException):
            raise script
        return self._response(request, script)

    @staticmethod
    def _response(request: requests.PreparedRequest, reply: Reply) -> requests.Response:
        response = requests.Response()
        response.status_code = reply.status
        response._content = reply.content()
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **reply.headers})
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def scripted_session(adapter: ScriptedAdapter) -> requests.Session:
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class FakeClock:
    """A clock whose ``sleep`` advances time instantly and records each delay."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# ------------------------------------------------------------------------------------------------
# real sockets on 127.0.0.1, for the failures a fake adapter can only imitate


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def misbehaving_server(mode: str) -> Iterator[tuple[int, list[bytes]]]:
    """A one-thread TCP server on 127.0.0.1 that reads each request and then either closes the
    connection without replying (``"hangup"``) or keeps it open silently (``"silent"``).
    Yields (port, the raw requests received)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    received: list[bytes] = []
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.settimeout(1.0)
            with suppress(OSError):
                received.append(conn.recv(65536))
            if mode == "hangup":
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1]), received
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()
