"""The service's request signature, checked exactly (``reference/qc-api.md`` §1).

A request carries ``Authorization: Basic base64("<userId>:<sha256hex('<token>:<timestamp>')>")`` and a
``Timestamp: <unix seconds>`` header with the same seconds that were hashed. The emulator recomputes
the hash with the user's token and compares in constant time; the timestamp must be within
``AUTH_WINDOW_SECONDS`` of the emulator's clock (LEAN's client documents 1800 s for old timestamps;
no source gives a limit for future ones, so the emulator uses the same window both ways).

Every failure is worded as the service words a bad hash, because clients (the ``lean`` CLI among
them) recognise an authentication failure by the prefix ``Hash doesn't match.``. The message echoes
what the client sent (user id, hash, timestamp), never the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.emulator.errors import AuthenticationFailedError

AUTH_WINDOW_SECONDS = 1800


@dataclass(frozen=True)
class Signature:
    """What a request presented: the raw strings, unvalidated."""

    user_id: str
    hashed: str
    timestamp: str


def signature_hash(token: str, timestamp: str) -> str:
    return hashlib.sha256(f"{token}:{timestamp}".encode()).hexdigest()


def parse_signature(authorization: str | None, timestamp: str | None) -> Signature:
    """Read the Basic credentials and the Timestamp header; missing parts become empty strings."""
    user_id, hashed = "", ""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user_id, _, hashed = decoded.partition(":")
    return Signature(user_id.strip(), hashed.strip(), (timestamp or "").strip())


def failure(signature: Signature) -> AuthenticationFailedError:
    shown_ts = signature.timestamp or "''"
    return AuthenticationFailedError(
        f"Hash doesn't match. UID: {signature.user_id} Hash: {signature.hashed} Timestamp: {shown_ts}"
    )


def verify(
    signature: Signature, token_of: Callable[[int], str | None], now: float,
    window: int = AUTH_WINDOW_SECONDS,
) -> int:
    """The authenticated user id; raises ``AuthenticationFailedError`` in the service's words otherwise."""
    if not signature.user_id.isdigit() or not signature.timestamp.isdigit():
        raise failure(signature)
    token = token_of(int(signature.user_id))
    if token is None:
        raise failure(signature)
    expected = signature_hash(token, signature.timestamp)
    if not hmac.compare_digest(expected.encode(), signature.hashed.encode()):
        raise failure(signature)
    if abs(now - int(signature.timestamp)) > window:
        raise failure(signature)
    return int(signature.user_id)
