"""Fixtures for the emulator's tests: a backend, a real server on 127.0.0.1, a signed caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.emulator import EmulatorBackend, EmulatorServer, FaultPlan, Timing
from tests.emulator.helpers import TOKEN, USER_ID, Api, start_server


@pytest.fixture
def backend() -> Iterator[EmulatorBackend]:
    """An in-memory backend without market data (no backtests): projects, files, compile, objects."""
    created = EmulatorBackend(timing=Timing.immediate())
    created.register_user(USER_ID, TOKEN)
    yield created
    created.close()


@pytest.fixture
def user(backend: EmulatorBackend) -> Any:
    return backend.user(USER_ID)


@pytest.fixture
def server(backend: EmulatorBackend) -> Iterator[EmulatorServer]:
    running = start_server(backend)
    yield running
    running.stop()


@pytest.fixture
def api(server: EmulatorServer) -> Api:
    return Api(server.url)


@pytest.fixture
def faulty(backend: EmulatorBackend) -> Iterator[tuple[Api, FaultPlan]]:
    """A server whose fault plan the test fills in before calling."""
    plan = FaultPlan(seed=11)
    running = start_server(backend, faults=plan)
    yield Api(running.url), plan
    running.stop()


@pytest.fixture(scope="module")
def engine_available() -> None:
    """Skip when the embedded engine cannot run a backtest yet (it is built alongside)."""
    try:
        from orchestrator.engine import run_backtest  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the embedded engine is not available yet: {exc}")
