"""A rendered notebook run by the emulator's operator (the simulated person clicking Run All) and
collected back through the project file and the Object Store, in the modes seen in the field: outputs
kept, outputs stripped (the Research quirk), a cell that raises, and a person who never ran it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.notebooks import (
    ChannelName,
    Guidance,
    ObjectStoreChannel,
    ProjectFileChannel,
    RenderedNotebook,
    RunStatus,
    StrategySource,
    collect,
    render_notebook,
)
from tests.notebooks.conftest import baseline_spec, sweep_spec

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

USER_ID, TOKEN = 4343, "notebook-channel-test-token-000000"
World = tuple[Any, Any, int]  # (EmulatorBackend, UserRecord, project id)


@pytest.fixture(autouse=True)
def _needs_engine_and_emulator() -> None:
    pytest.importorskip("orchestrator.emulator.operator", reason="the emulator's operator is not available yet")
    pytest.importorskip("orchestrator.engine.quantbook", reason="the engine's QuantBook is not available yet")


@pytest.fixture
def world(lean_data: Path) -> Iterator[World]:
    from orchestrator.emulator import EmulatorBackend, Timing

    backend = EmulatorBackend(data_folder=lean_data, timing=Timing.immediate())
    user, _ = backend.register_user(USER_ID, TOKEN)
    project = backend.create_project(user, "H-900 research", "Py")
    yield backend, user, project.project_id
    backend.close()


def _channels(world: World, rendered: RenderedNotebook) -> list[Any]:
    backend, user, project_id = world

    def read_file() -> str | None:
        files = backend.read_files(user, project_id, rendered.filename)
        return files[0].content if files else None

    def read_object(key: str) -> bytes | None:
        return backend.object_bytes(user.organization_id, key)

    return [ProjectFileChannel(read_file), ObjectStoreChannel(read_object)]


def _put_and_run(world: World, rendered: RenderedNotebook, mode: str) -> None:
    from orchestrator.emulator.operator import run_notebook

    backend, user, project_id = world
    backend.create_file(user, project_id, rendered.filename, rendered.text())
    run_notebook(backend, project_id, rendered.filename, mode=mode, timeout=180)


def test_kept_outputs_come_back_through_the_file_and_the_object_store(
        world: World, ma_signal: StrategySource) -> None:
    rendered = render_notebook(sweep_spec(ma_signal, grid={"fast": [10, 20], "slow": [60]}))
    _put_and_run(world, rendered, "kept")
    file_channel, store_channel = _channels(world, rendered)
    guide = Guidance(notebook=rendered.filename)
    by_file = collect([file_channel], rendered.provenance, guidance=guide)
    by_store = collect([store_channel], rendered.provenance, guidance=guide)
    assert by_file.status is RunStatus.FRESH, by_file.message
    assert by_store.status is RunStatus.FRESH, by_store.message
    assert by_file.record == by_store.record
    assert collect([store_channel, file_channel], rendered.provenance).channel is ChannelName.PROJECT_FILE
    # A newer render the person has not run yet: what the project holds is now stale.
    newer = render_notebook(sweep_spec(ma_signal, grid={"fast": [10, 20], "slow": [60]}))
    assert collect([file_channel], newer.provenance).status is RunStatus.STALE


def test_stripped_outputs_fall_back_to_the_object_store(world: World) -> None:
    rendered = render_notebook(baseline_spec())
    _put_and_run(world, rendered, "stripped")
    outcome = collect(_channels(world, rendered), rendered.provenance)
    assert [a.status for a in outcome.attempts] == [RunStatus.OUTPUTS_MISSING, RunStatus.FRESH]
    assert outcome.status is RunStatus.FRESH and outcome.channel is ChannelName.OBJECT_STORE


def test_a_raising_cell_is_failed_and_nothing_is_stored(world: World) -> None:
    rendered = render_notebook(baseline_spec())
    _put_and_run(world, rendered, "raises")  # the operator makes the last code cell (the result) raise
    outcome = collect(_channels(world, rendered), rendered.provenance)
    assert outcome.status is RunStatus.FAILED and outcome.channel is ChannelName.PROJECT_FILE
    assert outcome.classification.failure is not None
    assert outcome.classification.failure.cell_id == "result"
    assert outcome.attempts[1].status is RunStatus.NOT_RUN  # no record under the nonce's key


def test_a_person_who_never_ran_it(world: World) -> None:
    rendered = render_notebook(baseline_spec())
    _put_and_run(world, rendered, "stale")
    outcome = collect(_channels(world, rendered), rendered.provenance)
    assert outcome.status is RunStatus.NOT_RUN and "has not been run yet" in outcome.message
