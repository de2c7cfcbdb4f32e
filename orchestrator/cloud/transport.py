"""HTTP for QuantConnect's API v2: the only module that imports ``requests``.

One call = one POST to ``<base_url>/<endpoint>`` with a JSON body (multipart for ``object/set``),
freshly signed (``auth.py``), with a timeout, read back through the universal envelope
(``reference/qc-api.md`` §2) and translated once into the exception tree of ``orchestrator.errors``.

Which failures are retried, and why
-----------------------------------
Reads and idempotent writes (reading a backtest, updating a file, deleting a project) are retried with
exponential backoff and *full jitter* (a delay drawn uniformly from ``[0, min(max_delay,
base_delay * 2**(n-1)))`` before retry ``n``) on HTTP 5xx, HTTP 429, connection errors and timeouts.
Repeating them cannot do harm: the second call has the same effect as the first.

Calls that *create* something that costs quota or money (``UNSAFE_TO_REPEAT``: projects, files,
backtests, optimizations, live deployments, Object Store writes) are different. Once the
request may have reached the service, a missing answer says nothing about whether the object exists:
a timeout while waiting for the reply, a connection reset after sending, an HTTP 5xx (the service may
have failed after creating the object) or a 200 whose body is not JSON. Repeating the call could start
a second paid backtest or optimization. So for those the transport raises ``OutcomeUnknownError`` at
once, and the caller reconciles: it lists the remote objects by their deterministic name (e.g.
``qcloop/H-007/baseline/1``) and creates only if the object is absent (``workflow.py`` and the
research loop do this).

Two failures of a create call *are* retried, because they prove nothing happened: HTTP 429 (the
service refused the request outright) and a connection that could not be opened at all (refused,
name resolution, connect timeout), where not one byte of the request was sent.

``Retry-After`` on a 429 is honoured in both forms (delta-seconds or an HTTP-date). A wait longer than
``RetryPolicy.max_retry_after`` is not slept through (a command should not hang for an hour): the
transport raises ``RateLimitedError`` carrying the service's delay instead of retrying early.

Authentication failures come in two forms (§1): HTTP 401, and HTTP 200 with ``success:false`` and an
error starting "Hash doesn't match." (or "UserID not valid"). Both raise ``AuthenticationError``. The
service echoes the signature hash in the second form, so every text taken from a reply is scrubbed of
64-hex-digit strings and registered secrets before it goes into an exception or a log line.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random as random_module
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from orchestrator import __version__
from orchestrator.cloud.auth import RequestSigner
from orchestrator.credentials import redact
from orchestrator.errors import (
    AuthenticationError,
    CloudError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestFailedError,
    TransportError,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.quantconnect.com/api/v2/"

# compile/create is not here: a compile costs nothing, cannot be looked up by name afterwards, and a
# second one only yields another compile id, so it is retried like a read.
UNSAFE_TO_REPEAT: frozenset[str] = frozenset({
    "projects/create",
    "files/create",
    "backtests/create",
    "optimizations/create",
    "live/create",
    "object/set",
})

AUTH_ERROR_PREFIXES = ("Hash doesn't match", "UserID not valid")
AUTH_HINT = (
    "check QC_USER_ID and QC_API_TOKEN (or run `lean login` again) and that this computer's clock is "
    "right: each request is signed with the current time and QuantConnect rejects a signature older "
    "than 30 minutes"
)
_HEX_DIGEST = re.compile(r"\b[0-9a-fA-F]{64}\b")

Sleep = Callable[[float], None]
Random = Callable[[], float]
Clock = Callable[[], float]
Session = requests.Session  # re-exported so that no other module needs to import requests


def new_session() -> requests.Session:
    """A plain ``requests.Session`` (connection pooling; no retries of its own: the transport retries)."""
    return requests.Session()


class RetryPolicy(BaseModel):
    """How often and how patiently idempotent calls are repeated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=4, ge=1, description="attempts in all, the first included")
    base_delay: float = Field(default=0.5, ge=0, description="seconds; doubles with every retry")
    max_delay: float = Field(default=30.0, ge=0, description="cap of one backoff delay, in seconds")
    max_retry_after: float = Field(
        default=120.0, ge=0, description="longest Retry-After (seconds) slept through on a 429",
    )

    def backoff(self, retry_number: int, unit_random: float) -> float:
        """Full jitter: ``unit_random`` (in [0, 1)) times the capped exponential ceiling."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return unit_random * ceiling


class _RetryableError(Exception):
    """Internal: this attempt failed in a way that may be repeated. ``error`` is raised if not."""

    def __init__(self, error: CloudError, *, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.retry_after = retry_after


def join_url(base_url: str, endpoint: str) -> str:
    """``base_url`` + ``endpoint`` with exactly one slash between them."""
    return base_url.rstrip("/") + "/" + endpoint.strip("/")


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # asctime dates carry no zone; every HTTP-date is GMT (RFC 7231 7.1.1.1)
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


def scrub(text: str) -> str:
    """Remove secrets from a text that came from the service (it echoes the signature hash)."""
    return _HEX_DIGEST.sub("***", redact(text))


def service_errors(data: Mapping[str, Any]) -> list[str]:
    """The failure texts of an envelope in any of its three shapes: errors, messages, Message."""
    for key in ("errors", "messages"):
        value = data.get(key)
        if isinstance(value, list) and value:
            return [scrub(str(item)) for item in value]
        if isinstance(value, str) and value:
            return [scrub(value)]
    message = data.get("Message")
    if message:
        return [scrub(str(message))]
    return []


def check_envelope(endpoint: str, data: Any, status_code: int) -> dict[str, Any]:
    """Return the body of a successful reply; raise the matching error for a failed one."""
    if not isinstance(data, dict):
        raise TransportError(
            f"the reply is JSON but not an object (HTTP {status_code})", endpoint=endpoint,
            hint="check that the base URL points at QuantConnect's API v2 (…/api/v2/)",
        )
    failed = data.get("success") is False or (
        "success" not in data and bool(data.get("Message") or data.get("errors"))
    )
    if not failed:
        return data
    errors = service_errors(data)
    if any(error.startswith(AUTH_ERROR_PREFIXES) for error in errors):
        raise AuthenticationError("QuantConnect rejected the credentials", endpoint=endpoint,
                                  errors=errors, hint=AUTH_HINT)
    raise RequestFailedError(
        "QuantConnect answered success:false", endpoint=endpoint, errors=errors or ["(no reason given)"],
        status_code=status_code,
        hint="check the ids and fields of this request; the service's message says what it rejected",
    )


def _never_sent(exc: BaseException) -> bool:
    """True when the connection could not be opened, so the service cannot have seen the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, NewConnectionError | ConnectTimeoutError):
            return True
        if isinstance(item, BaseException):
            stack.extend(item.args)
            stack.extend((getattr(item, "reason", None), item.__cause__, item.__context__))
    return False


class Transport:
    """Signed, timed, retried POSTs to one API base URL over an injected ``requests.Session``."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        signer: RequestSigner,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        random: Random = random_module.random,
        clock: Clock = time.time,
    ) -> None:
        if urlsplit(base_url).scheme not in ("http", "https"):
            raise CloudError(
                f"the API base URL '{base_url}' is not an http(s) URL",
                hint="use e.g. https://www.quantconnect.com/api/v2/ or http://127.0.0.1:5612/api/v2/",
            )
        self.session = session
        self.base_url = base_url
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._signer = signer
        self._sleep = sleep
        self._random = random
        self._clock = clock

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, timeout={self.timeout})"

    # ------------------------------------------------------------------------------------------
    # public

    def call(
        self,
        endpoint: str,
        payload: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        object_name: str | None = None,
    ) -> dict[str, Any]:
        """POST ``payload`` to ``endpoint`` and return the reply's JSON object.

        ``files`` switches to multipart/form-data (``payload`` becomes the form fields).
        ``object_name`` names what a create call makes, for the message of ``OutcomeUnknownError``.
        """
        endpoint = endpoint.strip("/")
        return self._with_retries(
            endpoint, lambda: self._attempt(endpoint, payload or {}, files, object_name),
        )

    def download(self, url: str) -> bytes:
        """GET a pre-signed download URL (no QuantConnect credentials are sent to it)."""
        where = "object download (" + urlsplit(url).netloc + ")"
        return self._with_retries(where, lambda: self._download_attempt(where, url))

    # ------------------------------------------------------------------------------------------
    # retry loop

    def _with_retries(self, endpoint: str, attempt: Callable[[], Any]) -> Any:
        policy = self.retry
        for number in range(1, policy.max_attempts + 1):
            try:
                return attempt()
            except _RetryableError as failure:
                if number == policy.max_attempts:
                    raise failure.error from failure.__cause__
                delay = self._delay_before_retry(failure, number)
                log.warning(
                    "%s: %s; retrying in %.2f s (attempt %d of %d)",
                    endpoint, failure.reason, delay, number + 1, policy.max_attempts,
                )
                self._sleep(delay)
        raise AssertionError("unreachable: the last attempt either returns or raises")

    def _delay_before_retry(self, failure: _RetryableError, number: int) -> float:
        if failure.retry_after is None:
            return self.retry.backoff(number, self._random())
        if failure.retry_after > self.retry.max_retry_after:
            raise failure.error from failure.__cause__
        return failure.retry_after

    # ------------------------------------------------------------------------------------------
    # one attempt

    def _headers(self) -> dict[str, str]:
        return {**self._signer.headers(), "Accept": "application/json", "User-Agent": f"qcloop/{__version__}"}

    def _attempt(
        self, endpoint: str, payload: Mapping[str, Any],
        files: Mapping[str, tuple[str, bytes, str]] | None, object_name: str | None,
    ) -> dict[str, Any]:
        unsafe = endpoint in UNSAFE_TO_REPEAT
        url = join_url(self.base_url, endpoint)
        started = self._clock()
        try:
            if files is not None:
                response = self.session.post(url, data=dict(payload), files=dict(files),
                                             headers=self._headers(), timeout=self.timeout)
            else:
                response = self.session.post(url, json=dict(payload), headers=self._headers(),
                                             timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise self._translate(endpoint, url, exc, unsafe, object_name) from exc
        if log.isEnabledFor(logging.DEBUG):
            log.debug("POST %s %s -> HTTP %d in %.0f ms", endpoint, dumps_for_log(payload),
                      response.status_code, (self._clock() - started) * 1000)
        return self._interpret(endpoint, response, unsafe, object_name)

    def _download_attempt(self, where: str, url: str) -> bytes:
        try:
            response = self.session.get(url, timeout=self.timeout,
                                        headers={"User-Agent": f"qcloop/{__version__}"})
        except requests.exceptions.RequestException as exc:
            raise self._translate(where, url, exc, False, None) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise _RetryableError(
                RequestFailedError(f"the download failed with HTTP {response.status_code}", endpoint=where,
                                   status_code=response.status_code),
                reason=f"HTTP {response.status_code}",
                retry_after=parse_retry_after(response.headers.get("Retry-After"), self._clock()),
            )
        if not 200 <= response.status_code < 300:
            raise RequestFailedError(
                f"the download failed with HTTP {response.status_code}", endpoint=where,
                status_code=response.status_code,
                hint="the download link may have expired; request the object again",
            )
        return response.content

    # ------------------------------------------------------------------------------------------
    # translation of failures

    def _translate(
        self, endpoint: str, url: str, exc: requests.exceptions.RequestException, unsafe: bool,
        object_name: str | None,
    ) -> Exception:
        """The error (or retry signal) for an exception ``requests`` raised while requesting ``url``."""
        host = urlsplit(url).netloc  # the API's host, or a download's (never the signed URL itself)
        if isinstance(exc, requests.exceptions.SSLError):
            return TransportError(
                f"TLS error talking to {host}", endpoint=endpoint,
                hint="check the system's CA certificates and any HTTPS proxy",
            )
        if _never_sent(exc):
            error = TransportError(
                f"could not connect to {host}", endpoint=endpoint,
                hint="check the network, the base URL, and that the service (or the emulator) is running",
            )
            return _RetryableError(error, reason="could not connect")
        if isinstance(exc, requests.exceptions.Timeout):
            what = f"no reply within {self.timeout:g} s"
        elif isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.ChunkedEncodingError):
            what = "the connection broke before the reply was complete"
        else:
            return TransportError(f"the request could not be made ({type(exc).__name__})", endpoint=endpoint,
                                  hint="check the base URL")
        if unsafe:
            return OutcomeUnknownError(what, endpoint=endpoint, name=object_name)
        return _RetryableError(
            TransportError(what, endpoint=endpoint, hint="check the network and try again"), reason=what,
        )

    def _interpret(
        self, endpoint: str, response: requests.Response, unsafe: bool, object_name: str | None,
    ) -> dict[str, Any]:
        status = response.status_code
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
            raise _RetryableError(RateLimitedError(endpoint=endpoint, retry_after=retry_after),
                             reason="rate limited (HTTP 429)", retry_after=retry_after)
        if status == 401:
            raise AuthenticationError(
                "QuantConnect rejected the credentials (HTTP 401)", endpoint=endpoint,
                errors=self._errors_in(response), hint=AUTH_HINT,
            )
        if status >= 500:
            if unsafe:
                raise OutcomeUnknownError(f"the service failed with HTTP {status}", endpoint=endpoint,
                                          name=object_name)
            raise _RetryableError(
                RequestFailedError(f"the service failed with HTTP {status}", endpoint=endpoint,
                                   errors=self._errors_in(response), status_code=status,
                                   hint="QuantConnect may be having problems; try again later"),
                reason=f"HTTP {status}",
            )
        if not 200 <= status < 300:
            raise self._client_error(endpoint, response)
        try:
            data = response.json()
        except ValueError as exc:
            if unsafe:
                raise OutcomeUnknownError("the reply was not JSON", endpoint=endpoint,
                                          name=object_name) from exc
            raise TransportError(
                f"the reply was not JSON (HTTP {status}, {response.headers.get('Content-Type', 'no type')})",
                endpoint=endpoint, hint="check that the base URL points at QuantConnect's API v2 (…/api/v2/)",
            ) from exc
        return check_envelope(endpoint, data, status)

    def _client_error(self, endpoint: str, response: requests.Response) -> RequestFailedError:
        status = response.status_code
        if status == 413:
            hint = "the uploaded content exceeds QuantConnect's size limit; make the file smaller"
        elif status == 404:
            hint = "check the base URL (it must end in /api/v2/) and the endpoint name"
        else:
            hint = "check the ids and fields of this request"
        return RequestFailedError(f"HTTP {status}", endpoint=endpoint, errors=self._errors_in(response),
                                  status_code=status, hint=hint)

    @staticmethod
    def _errors_in(response: requests.Response) -> list[str]:
        """The service's error texts from a non-2xx reply, if its body is an envelope."""
        try:
            data = response.json()
        except ValueError:
            return []
        return service_errors(data) if isinstance(data, dict) else []


def dumps_for_log(payload: Mapping[str, Any]) -> str:
    """A short, secret-free rendering of a request payload for debug logs (content fields elided)."""
    shown = {key: (f"<{len(value)} chars>" if key in ("content", "objectData") and isinstance(value, str)
                   else value) for key, value in payload.items()}
    return scrub(json.dumps(shown, default=str)[:500])
