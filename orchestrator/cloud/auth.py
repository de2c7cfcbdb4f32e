"""Request signing for QuantConnect's API v2 (``reference/qc-api.md`` §1).

Every request carries, computed afresh at send time:

* ``Timestamp: <whole Unix seconds>`` (a decimal string, the same value that is hashed);
* ``Authorization: Basic base64("<userId>:<sha256_hex(f'{token}:{timestamp}')>")``: plain SHA-256
  (not HMAC) of the token, a colon and the timestamp, as 64 lowercase hex digits.

The token itself never leaves the process. The hash is as good as a password for the next 30 minutes
(the service rejects timestamps older than 1800 s), so neither value may reach a log line, an exception
or a repr: this module never formats them into text other than the two headers it returns.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable

from pydantic import SecretStr

from orchestrator.credentials import Credentials

Clock = Callable[[], float]


def request_timestamp(clock: Clock) -> str:
    """Whole Unix seconds as a string: ``str(int(clock()))``."""
    return str(int(clock()))


def password_hash(token: SecretStr, timestamp: str) -> str:
    """``sha256(f"{token}:{timestamp}")`` as 64 lowercase hex digits: the Basic-auth password."""
    material = f"{token.get_secret_value()}:{timestamp}".encode()
    return hashlib.sha256(material).hexdigest()


def auth_headers(user_id: str, token: SecretStr, timestamp: str) -> dict[str, str]:
    """The two headers that authenticate one request made at ``timestamp``."""
    pair = f"{user_id}:{password_hash(token, timestamp)}".encode()
    return {
        "Authorization": "Basic " + base64.b64encode(pair).decode("ascii"),
        "Timestamp": timestamp,
    }


class RequestSigner:
    """Signs each request with the credentials and the current time of an injectable clock."""

    def __init__(self, credentials: Credentials, clock: Clock = time.time) -> None:
        self._user_id = credentials.user_id
        self._token = credentials.api_token
        self._clock = clock

    @property
    def user_id(self) -> str:
        return self._user_id

    def headers(self) -> dict[str, str]:
        """Fresh ``Authorization`` and ``Timestamp`` headers for a request sent now."""
        return auth_headers(self._user_id, self._token, request_timestamp(self._clock))

    def __repr__(self) -> str:
        return f"RequestSigner(user_id={self._user_id!r}, token=***)"
