"""Typed failures of the emulated service, each carrying its wire form.

The backend raises these; ``responses.py`` turns them into HTTP replies without knowing which one it
caught. QuantConnect answers most failures with HTTP 200 and ``{"success": false, "errors": [...]}``
(``reference/qc-api.md`` §2), so that is the default status; the few exceptions (an unknown path, the
optional 401 form of an authentication failure) set their own.

These never leave the emulator as Python exceptions: a client only ever sees their wire form. Errors
a *person running the emulator* can cause (a bad ``--faults`` spec, an unreadable state dir) are
``orchestrator.errors`` classes instead.
"""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    """A handled failure: ``errors`` are the strings the client sees, ``status`` the HTTP status."""

    status: int = 200

    def __init__(self, *errors: str, status: int | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        return {"success": False, "errors": self.errors}


class InvalidArgumentError(ServiceError):
    """A request field is missing, of the wrong type, or out of range."""


class NotFoundError(ServiceError):
    """An id or name that does not exist (or belongs to someone else: the service does not say which)."""


class ConflictError(ServiceError):
    """The request contradicts the current state: a duplicate name, aborting a finished job, ..."""


class AuthenticationFailedError(ServiceError):
    """A missing or wrong signature, an unknown user, or a timestamp outside the window."""


class UnknownEndpointError(ServiceError):
    """A path the emulator does not serve. Loud on purpose: HTTP 404, never a silent success."""

    status = 404

    def __init__(self, path: str) -> None:
        super().__init__(
            f"Unknown API endpoint '{path}': the qcloop emulator does not implement it "
            "(see docs/emulator.md for the endpoints it serves)."
        )
        self.path = path


class UnsupportedRequestError(ServiceError):
    """A request the real service accepts but the emulator deliberately does not emulate."""


def require(condition: bool, message: str) -> None:
    """Raise ``InvalidArgumentError(message)`` unless ``condition`` holds (keeps validation one line each)."""
    if not condition:
        raise InvalidArgumentError(message)
