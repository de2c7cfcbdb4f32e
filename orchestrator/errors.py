"""The exception tree of qcloop.

Every error a user can cause or fix is a ``QcloopError``: it carries structured fields and renders as
one actionable sentence (what went wrong, where, and what to do). Anything else is a bug, and the error
boundary in ``main.py`` writes its traceback to a log file instead of showing it.

    QcloopError                       expected; exit code 1
    ├── ConfigError                   qcloop.yaml / environment (file, field)
    ├── CredentialsError              QuantConnect user id / token missing or unusable
    ├── WorkspaceError                not a workspace, missing folders, git problems
    ├── SpecError                     a hypothesis file is invalid (file, line, field, allowed)
    ├── TemplateError                 a strategy or notebook template is missing or broken
    ├── DataError                     market data missing or malformed (the path it looked for)
    ├── AlgorithmError                an algorithm failed in the embedded engine (file, line)
    │   └── UnsupportedApiError       the algorithm used QuantConnect API the engine lacks (its name)
    ├── CloudError                    the QuantConnect API v2 (endpoint, the service's errors)
    │   ├── AuthenticationError       bad credentials, either 401 or "Hash doesn't match."
    │   ├── RequestFailedError        the service answered success:false or a non-2xx status
    │   │   └── RateLimitedError      HTTP 429 (retry_after seconds)
    │   ├── TransportError            connection refused/reset, request timeout, invalid JSON
    │   │   └── OutcomeUnknownError   a create call may or may not have happened: reconcile by name
    │   ├── CompileFailedError        the project did not build (BuildError; the build logs)
    │   └── WaitTimeoutError          compile/backtest/optimization did not finish in time
    ├── NotebookError                 rendering or reading back a research notebook
    │   └── MalformedNotebookError    not a notebook, not JSON, wrong nbformat
    ├── StateError                    a state file is invalid, or a state transition is not allowed
    ├── LedgerError                   a git commit/tag/read failed
    └── BudgetError                   a paid operation exceeds quota or budget, or lacks approval

Outside libraries' exceptions are translated once, at the module that imports the library, with
``raise SomeError(...) from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


class QcloopError(Exception):
    """An expected failure with an actionable message.

    ``hint`` says what the person should do next; it is appended to the message after " -- ".
    Subclasses keep their structured fields as attributes so that callers can branch on them.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} -- {self.hint}"
        return self.message


class ConfigError(QcloopError):
    def __init__(
        self, message: str, *, file: Path | str | None = None, field: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if file is not None:
            where = f"{file}"
            if field:
                where += f", field '{field}'"
            where += ": "
        elif field:
            where = f"setting '{field}': "
        super().__init__(where + message, hint=hint)
        self.file = Path(file) if file is not None else None
        self.field = field


class CredentialsError(QcloopError):
    pass


class WorkspaceError(QcloopError):
    pass


class SpecError(QcloopError):
    """A hypothesis file is invalid. The message names file, line (when known) and field."""

    def __init__(
        self, message: str, *, file: Path | str | None = None, line: int | None = None,
        field: str | None = None, allowed: str | None = None, hint: str | None = None,
    ) -> None:
        parts = []
        if file is not None:
            parts.append(str(file) + (f":{line}" if line else ""))
        if field:
            parts.append(f"field '{field}'")
        prefix = (", ".join(parts) + ": ") if parts else ""
        text = prefix + message
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text, hint=hint)
        self.file = Path(file) if file is not None else None
        self.line = line
        self.field = field
        self.allowed = allowed


class TemplateError(QcloopError):
    pass


class DataError(QcloopError):
    def __init__(self, message: str, *, path: Path | str | None = None, hint: str | None = None) -> None:
        super().__init__(message + (f" (looked for {path})" if path is not None else ""), hint=hint)
        self.path = Path(path) if path is not None else None


class AlgorithmError(QcloopError):
    """The algorithm raised. ``file`` and ``line`` point into the user's algorithm."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None,
        stacktrace: str | None = None, hint: str | None = None,
    ) -> None:
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(where + message, hint=hint)
        self.file = file
        self.line = line
        self.stacktrace = stacktrace


class UnsupportedApiError(AlgorithmError):
    def __init__(self, api_name: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(
            f"'{api_name}' is not supported by qcloop's embedded engine",
            file=file, line=line,
            hint="run this algorithm on QuantConnect (--platform cloud) or use a supported equivalent",
        )
        self.api_name = api_name


class CloudError(QcloopError):
    """A failure talking to QuantConnect's API. ``endpoint`` is e.g. 'backtests/create'."""

    def __init__(
        self, message: str, *, endpoint: str | None = None, errors: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        text = (f"{endpoint}: " if endpoint else "") + message
        if errors:
            text += ": " + "; ".join(errors)
        super().__init__(text, hint=hint)
        self.endpoint = endpoint
        self.errors = list(errors)


class AuthenticationError(CloudError):
    pass


class RequestFailedError(CloudError):
    def __init__(
        self, message: str, *, endpoint: str | None = None, errors: Sequence[str] = (),
        status_code: int | None = None, hint: str | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, errors=errors, hint=hint)
        self.status_code = status_code


class RateLimitedError(RequestFailedError):
    def __init__(self, *, endpoint: str | None = None, retry_after: float | None = None) -> None:
        after = f"; the service asks to retry after {retry_after:g} s" if retry_after is not None else ""
        super().__init__(
            "rate limited (HTTP 429)" + after, endpoint=endpoint, status_code=429,
            hint="wait and run the command again; qcloop already retried with backoff",
        )
        self.retry_after = retry_after


class TransportError(CloudError):
    pass


class OutcomeUnknownError(TransportError):
    """A call that creates something (and may cost quota or money) got no usable answer.

    The request was sent, but the connection dropped, timed out, the service answered 5xx, or the
    reply was not JSON: the object may exist or not. Never repeat the call blindly; list the remote
    objects by the deterministic ``name`` first (the research loop does) and create only if absent.
    """

    def __init__(self, message: str, *, endpoint: str, name: str | None = None) -> None:
        what = f" '{name}'" if name else ""
        super().__init__(
            message + "; QuantConnect may or may not have created it", endpoint=endpoint,
            hint=f"look for the object{what} by name (qcloop does this on resume) before creating it again",
        )
        self.name = name


class CompileFailedError(CloudError):
    """The project did not build. ``logs`` holds the compiler output the service returned."""

    def __init__(self, *, project_id: int, compile_id: str, logs: Sequence[str] = ()) -> None:
        tail = [line for line in logs if line.strip()][-5:]
        super().__init__(
            f"project {project_id} did not compile (compile {compile_id})",
            endpoint="compile/read", errors=tail,
            hint="fix the errors in the build log and run again",
        )
        self.project_id = project_id
        self.compile_id = compile_id
        self.logs = list(logs)


class WaitTimeoutError(CloudError):
    def __init__(self, what: str, *, waited_seconds: float, last_status: str | None = None) -> None:
        status = f" (last status: {last_status})" if last_status else ""
        super().__init__(
            f"{what} did not finish within {waited_seconds:.0f} s{status}",
            hint="it may still finish; run the command again to resume waiting, or raise the timeout",
        )
        self.what = what
        self.waited_seconds = waited_seconds
        self.last_status = last_status


class NotebookError(QcloopError):
    pass


class MalformedNotebookError(NotebookError):
    def __init__(self, message: str, *, source: str | None = None, hint: str | None = None) -> None:
        super().__init__((f"{source}: " if source else "") + message, hint=hint)
        self.source = source


class StateError(QcloopError):
    pass


class LedgerError(QcloopError):
    pass


class BudgetError(QcloopError):
    def __init__(self, message: str, *, details: dict[str, Any] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.details = details or {}
