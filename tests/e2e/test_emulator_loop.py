"""The loop on the cloud path: `qcloop run --api-url` against the emulator, with its simulated person.

The emulator is a real HTTP server on 127.0.0.1 running the embedded engine; its operator does what a
person does in QuantConnect Research (Run All), including the field's quirks. The scenario:

    H-201  sweep run cleanly; walk-forward saved with empty outputs (the Research quirk), recovered from
           the Object Store; accepted
    H-202  rejected at the baseline
    H-203  its sweep notebook raises in Research: FAILED with the cell's exception
    H-204  its sweep raises, `qcloop retry` uploads a fresh notebook, the person runs the *old* one
           (STALE: the loop keeps waiting and says so), then the new one: it goes on to the end

Throughout, other hypotheses keep moving while some wait, and the emulator ends with no duplicate
backtest.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.emulator import EmulatorBackend, EmulatorServer, Timing
from orchestrator.emulator.operator import run_notebook
from orchestrator.models import Stage, Step
from tests.e2e.conftest import Workspace, hypothesis_yaml, steps_of

# Each module plays one scenario in a session-scoped fixture: run with `-n 2 --dist loadfile` so that one
# worker runs a whole module and plays its scenario once.
pytestmark = [pytest.mark.kernel, pytest.mark.slow]

USER_ID = 5151
TOKEN = "e2e-emulator-token-0123456789abcdef"
SCENARIOS = {
    "H-201": hypothesis_yaml("H-201", "Accepted on the cloud path"),
    "H-202": hypothesis_yaml("H-202", "Rejected at the baseline", rules={"min_sharpe": 50}),
    "H-203": hypothesis_yaml("H-203", "Its notebook raises in Research"),
    "H-204": hypothesis_yaml("H-204", "Retried after a failure, then run stale", rules={"min_oos_sharpe": 50}),
}
FAST_POLLS = "notebooks:\n  poll_initial_seconds: 0.05\n  poll_max_seconds: 0.2\n"


class Cloud:
    """The emulator, the workspace pointed at it, and the simulated person."""

    def __init__(self, backend: EmulatorBackend, server: EmulatorServer, ws: Workspace) -> None:
        self.backend, self.server, self.ws = backend, server, ws
        self.log: list[str] = []

    def run(self, *extra: str) -> str:
        code, out, err = self.ws.run("run", "--api-url", self.server.url, "--until-idle", *extra)
        assert code == 0, err + out
        self.log.append(out)
        return out

    def project(self, hypothesis_id: str) -> int:
        return int(self.ws.state(hypothesis_id).project.project_id)

    def person_runs(self, hypothesis_id: str, step: Step, mode: str = "kept") -> Any:
        run = self.ws.state(hypothesis_id).notebooks[step.value]
        return run_notebook(self.backend, self.project(hypothesis_id), run.file_name, mode=mode, timeout=300)

    def backtest_names(self) -> list[str]:
        user = self.backend.user(USER_ID)
        names = []
        for hypothesis in SCENARIOS:
            state = self.ws.state(hypothesis)
            if state.project is not None:
                names += [b.record.name for b in self.backend.list_backtests(user, int(state.project.project_id))]
        return names


@pytest.fixture(scope="session")
def cloud(make_workspace, synthetic_data: Path) -> Iterator[Cloud]:  # type: ignore[no-untyped-def]
    backend = EmulatorBackend(data_folder=synthetic_data, timing=Timing.after_polls(2))
    user, _ = backend.register_user(USER_ID, TOKEN)
    ws = make_workspace(SCENARIOS, name="emulator-loop", settings=FAST_POLLS)
    ws.env.update({"QC_USER_ID": str(USER_ID), "QC_API_TOKEN": TOKEN, "QC_ORGANIZATION_ID": user.organization_id})
    with EmulatorServer(backend) as server:
        yield Cloud(backend, server, ws)
    backend.close()


@pytest.fixture(scope="session")
def scenario(cloud: Cloud) -> dict[str, Any]:
    """Play the whole scenario once; the tests below check what it left."""
    seen: dict[str, Any] = {}
    cloud.run()
    seen["first_stop"] = {h: (cloud.ws.state(h).stage, cloud.ws.state(h).awaiting) for h in SCENARIOS}
    code, seen["status_waiting"], _ = cloud.ws.run("status")
    cloud.person_runs("H-201", Step.OPTIMIZE)
    cloud.person_runs("H-203", Step.OPTIMIZE, mode="raises")
    cloud.person_runs("H-204", Step.OPTIMIZE, mode="raises")
    cloud.run()
    seen["h201_after_sweep"] = cloud.ws.state("H-201").stage
    cloud.person_runs("H-201", Step.VALIDATE, mode="stripped")
    cloud.run()
    # H-204: retry, then the person runs the notebook of the failed attempt again (a stale copy).
    old_text = (cloud.ws.path / cloud.ws.state("H-204").notebooks[Step.OPTIMIZE.value].path).read_text()
    code, seen["retry_out"], err = cloud.ws.run("retry", "H-204")
    assert code == 0, err
    cloud.run()
    new_text = (cloud.ws.path / cloud.ws.state("H-204").notebooks[Step.OPTIMIZE.value].path).read_text()
    file_name = cloud.ws.state("H-204").notebooks[Step.OPTIMIZE.value].file_name
    user = cloud.backend.user(USER_ID)
    cloud.backend.update_file(user, cloud.project("H-204"), file_name, old_text)
    cloud.person_runs("H-204", Step.OPTIMIZE)
    out = cloud.run()
    seen["stale_state"] = cloud.ws.state("H-204")
    code, seen["status_stale"], _ = cloud.ws.run("status")
    cloud.backend.update_file(user, cloud.project("H-204"), file_name, new_text)
    cloud.person_runs("H-204", Step.OPTIMIZE)
    cloud.run()
    cloud.person_runs("H-204", Step.VALIDATE)
    out = cloud.run()
    seen["last_out"] = out
    return seen


def test_the_first_run_stops_when_only_people_can_move_things(cloud: Cloud, scenario: dict[str, Any]) -> None:
    first = scenario["first_stop"]
    assert first["H-202"] == (Stage.REJECTED, None)  # decided while the others waited
    for hypothesis in ("H-201", "H-203", "H-204"):
        assert first[hypothesis] == (Stage.AWAITING_RESULTS, Step.OPTIMIZE)
    status = scenario["status_waiting"]
    for hypothesis in ("H-201", "H-203", "H-204"):
        state_file = f"qcloop_{hypothesis}_parameter_sweep.ipynb"
        assert f"Open the notebook {state_file} in Research" in status
        assert f"Open the project 'qcloop/{hypothesis}' in QuantConnect" in status
    assert "waiting" in status and "for you" in status


def test_the_accepted_hypothesis_survived_the_outputs_stripped_quirk(cloud: Cloud, scenario: dict[str, Any]) -> None:
    state = cloud.ws.state("H-201")
    assert scenario["h201_after_sweep"] is Stage.AWAITING_RESULTS  # validating: the walk-forward waits
    assert state.stage is Stage.ACCEPTED
    walk_forward = state.notebooks[Step.VALIDATE.value]
    assert walk_forward.channel == "object store"  # files/read came back without outputs
    assert state.notebooks[Step.OPTIMIZE.value].channel == "project file"
    assert cloud.ws.git("tag", "--list").split() == ["accepted/H-201"]


def test_a_notebook_that_raises_in_research_fails_with_the_cell_and_exception(cloud: Cloud,
                                                                               scenario: dict[str, Any]) -> None:
    state = cloud.ws.state("H-203")
    assert state.stage is Stage.FAILED and state.failure is not None
    assert "FAILED" in state.failure.reason and "RuntimeError" in state.failure.evidence
    assert state.failure.retry == "qcloop retry H-203"


def test_a_stale_notebook_keeps_the_wait_and_says_so_until_the_right_one_runs(cloud: Cloud,
                                                                              scenario: dict[str, Any]) -> None:
    stale = scenario["stale_state"]
    assert stale.stage is Stage.AWAITING_RESULTS and stale.attempt == 2
    assert stale.notebooks[Step.OPTIMIZE.value].last_classification == "STALE"
    assert stale.waiting is not None and stale.waiting.for_person
    assert any("older run" in line for line in stale.waiting.instructions)
    assert "older run" in scenario["status_stale"]
    final = cloud.ws.state("H-204")
    assert final.stage is Stage.REJECTED  # min_oos_sharpe 50: rejected at the walk-forward
    assert [d.step for d in final.decisions][-1] is Step.VALIDATE
    assert "qcloop/H-204/baseline/1" in final.jobs and "qcloop/H-204/validate/2/confirmation" in final.jobs


def test_no_backtest_was_created_twice_and_the_ledger_is_consistent(cloud: Cloud, scenario: dict[str, Any]) -> None:
    names = cloud.backtest_names()
    duplicates = [name for name, count in collections.Counter(names).items() if count > 1]
    assert duplicates == []
    expected = {job.name for h in SCENARIOS for job in cloud.ws.state(h).jobs.values() if job.kind.value == "backtest"}
    assert set(names) == expected
    for hypothesis in SCENARIOS:
        assert steps_of(cloud.ws, hypothesis) == list(range(1, cloud.ws.state(hypothesis).seq + 1))


def test_the_daily_backtest_quota_holds_the_rest_until_tomorrow(cloud: Cloud, make_workspace) -> None:  # type: ignore[no-untyped-def]
    ws = make_workspace({"H-211": hypothesis_yaml("H-211", "First of the day", rules={"min_sharpe": 50}),
                         "H-212": hypothesis_yaml("H-212", "Over the quota", rules={"min_sharpe": 50})},
                        name="quota", settings="budget:\n  daily_backtests: 1\n")
    ws.env.update({k: cloud.ws.env[k] for k in ("QC_USER_ID", "QC_API_TOKEN", "QC_ORGANIZATION_ID")})
    code, _, err = ws.run("run", "--api-url", cloud.server.url, "--until-idle", "--max-steps", "10")
    assert code == 0, err
    assert ws.state("H-211").stage is Stage.REJECTED
    held = ws.state("H-212")
    assert held.stage is Stage.BASELINE and held.waiting is not None and not held.waiting.for_person
    assert "daily backtest quota (1, budget.daily_backtests) is used up" in held.waiting.what
    # Quotas reset at midnight UTC: the next look is then, not sooner.
    assert held.waiting.next_check_at > held.updated_at
    assert (held.waiting.next_check_at.hour, held.waiting.next_check_at.minute) == (0, 0)
    assert "qcloop/H-212/baseline/1" not in [j for j, job in held.jobs.items() if job.status.value != "intended"]
    code, status, _ = ws.run("status")
    assert "daily backtest quota" in status
