"""QuantConnect credentials: where they come from, and keeping the token out of everything else.

Sources, first match wins (the order is part of the contract, `qcloop doctor` reports the winner):

1. the environment: ``QC_USER_ID``, ``QC_API_TOKEN``, optional ``QC_ORGANIZATION_ID``;
2. a ``.env`` file in the workspace (``KEY=value`` lines, ``#`` comments, optional quotes, ``export``);
3. the ``lean`` CLI's credentials file ``~/.lean/credentials`` (JSON: ``user-id``, ``api-token``),
   with the organization from ``~/.lean/config`` or a ``lean.json`` if one is at hand.

A source counts only when it supplies both the user id and the token: mixing halves from two places
would produce the hardest kind of authentication error to debug.

The token is a ``pydantic.SecretStr`` everywhere: its repr and str are masked, it is never written to
state, logs or git, and every string that leaves the process through the error boundary or a log file
goes through ``redact()``, which masks any value registered with ``register_secret()``.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from orchestrator.errors import CredentialsError

ENV_USER_ID = "QC_USER_ID"
ENV_API_TOKEN = "QC_API_TOKEN"
ENV_ORGANIZATION_ID = "QC_ORGANIZATION_ID"
MASK = "***"


class CredentialsSource(StrEnum):
    ENVIRONMENT = "environment"
    DOTENV = ".env file"
    LEAN_CLI = "lean CLI credentials"
    EXPLICIT = "explicit"


class Credentials(BaseModel):
    """A QuantConnect user id and API token. ``repr`` and ``str`` never show the token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str
    api_token: SecretStr
    organization_id: str | None = None
    source: CredentialsSource = CredentialsSource.EXPLICIT
    source_path: Path | None = None

    def describe(self) -> str:
        """One line for `qcloop doctor`: where the credentials came from, never the token."""
        where = f" ({self.source_path})" if self.source_path else ""
        org = f", organization {self.organization_id}" if self.organization_id else ""
        return f"user {self.user_id} from the {self.source.value}{where}{org}"


# --------------------------------------------------------------------------------------------------
# redaction


_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | SecretStr | None) -> None:
    """Remember a secret so that ``redact`` masks it wherever it appears (min. 4 characters)."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw and len(raw) >= 4:
        with _secrets_lock:
            _secrets.add(raw)


# Basic auth headers and the SHA-256 hex the API uses as a password are secrets derived from the token.
_AUTH_HEADER = re.compile(r"(Authorization['\"]?\s*[:=]\s*['\"]?Basic\s+)[A-Za-z0-9+/=]+", re.IGNORECASE)


def redact(text: str) -> str:
    """Mask every registered secret and any Basic-auth header value in ``text``."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return _AUTH_HEADER.sub(r"\1" + MASK, text)


# --------------------------------------------------------------------------------------------------
# sources


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse ``KEY=value`` lines: ``#`` comments, blank lines, ``export KEY=...``, single/double quotes."""
    values: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:  # an unquoted value may carry a trailing comment
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def _from_mapping(values: Mapping[str, str], source: CredentialsSource, path: Path | None) -> Credentials | None:
    user_id = (values.get(ENV_USER_ID) or "").strip()
    token = (values.get(ENV_API_TOKEN) or "").strip()
    if not user_id and not token:
        return None
    label = f"{source.value}" + (f" {path}" if path else "")
    if not user_id or not token:
        missing = ENV_USER_ID if not user_id else ENV_API_TOKEN
        raise CredentialsError(
            f"the {label} sets only one of {ENV_USER_ID} and {ENV_API_TOKEN}; {missing} is missing",
            hint=f"set both {ENV_USER_ID} and {ENV_API_TOKEN} in the same place",
        )
    return Credentials(
        user_id=user_id,
        api_token=SecretStr(token),
        organization_id=(values.get(ENV_ORGANIZATION_ID) or "").strip() or None,
        source=source,
        source_path=path,
    )


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CredentialsError(
            f"cannot read {path}: {type(exc).__name__}",
            hint="fix or delete the file, or run `lean login` again",
        ) from exc
    if not isinstance(data, dict):
        raise CredentialsError(f"{path} is not a JSON object", hint="run `lean login` again")
    return data


def _from_lean_cli(lean_dir: Path) -> Credentials | None:
    path = lean_dir / "credentials"
    if not path.is_file():
        return None
    data = _read_json(path)
    user_id = str(data.get("user-id") or "").strip()
    token = str(data.get("api-token") or "").strip()
    if not user_id or not token:
        raise CredentialsError(
            f"{path} lacks 'user-id' or 'api-token'", hint="run `lean login` to write it again",
        )
    organization: str | None = None
    config = lean_dir / "config"
    if config.is_file():
        org = _read_json(config).get("organization-id")
        organization = str(org) if org else None
    return Credentials(
        user_id=user_id, api_token=SecretStr(token), organization_id=organization,
        source=CredentialsSource.LEAN_CLI, source_path=path,
    )


def find_credentials(
    workspace: Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Credentials | None:
    """The first complete set of credentials in the documented order, or None when there is none."""
    env = os.environ if environ is None else environ
    found = _from_mapping(env, CredentialsSource.ENVIRONMENT, None)
    if found is None and workspace is not None:
        dotenv = workspace / ".env"
        if dotenv.is_file():
            try:
                text = dotenv.read_text(encoding="utf-8")
            except OSError as exc:
                raise CredentialsError(f"cannot read {dotenv}: {exc.strerror}") from exc
            found = _from_mapping(parse_dotenv(text), CredentialsSource.DOTENV, dotenv)
    if found is None:
        lean_dir = (home if home is not None else Path.home()) / ".lean"
        found = _from_lean_cli(lean_dir)
    if found is not None:
        register_secret(found.api_token)
    return found


def require_credentials(
    workspace: Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Credentials:
    """Like ``find_credentials`` but a missing set is an error that says how to provide one."""
    found = find_credentials(workspace, environ=environ, home=home)
    if found is None:
        raise CredentialsError(
            "no QuantConnect credentials found",
            hint=(
                f"set {ENV_USER_ID} and {ENV_API_TOKEN} in the environment or in the workspace's .env file, "
                "or run `lean login`; the local platform (the default) needs none"
            ),
        )
    return found
