"""Fixtures of the cloud client's tests: credentials with a known fake token, a fake clock, a
scripted adapter on a real ``requests.Session``, and a client wired to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from orchestrator.cloud.client import QCClient
from orchestrator.cloud.transport import RetryPolicy
from orchestrator.credentials import Credentials

from .fakes import BASE_URL, FakeClock, ScriptedAdapter, scripted_session

USER_ID = "123456"
TOKEN = "qc-test-token-5f2b8c"          # a fake token; the secrecy tests grep for it
ORGANIZATION_ID = "5cad178b20a1d52567b534553413b691"


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(user_id=USER_ID, api_token=SecretStr(TOKEN), organization_id=ORGANIZATION_ID)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def adapter() -> ScriptedAdapter:
    return ScriptedAdapter()


@pytest.fixture
def make_client(credentials: Credentials, clock: FakeClock, adapter: ScriptedAdapter) -> Callable[..., QCClient]:
    """``make_client(**overrides)``: a QCClient on the scripted adapter, fake clock, jitter 0.5."""

    def make(**overrides: Any) -> QCClient:
        creds = overrides.pop("credentials", credentials)
        options: dict[str, Any] = {
            "base_url": BASE_URL, "session": scripted_session(adapter), "timeout": 12.5,
            "retry": RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=30.0, max_retry_after=60.0),
            "sleep": clock.sleep, "clock": clock.time, "random": lambda: 0.5,
        }
        options.update(overrides)
        return QCClient(creds, **options)

    return make


@pytest.fixture
def client(make_client: Callable[..., QCClient]) -> QCClient:
    return make_client()
