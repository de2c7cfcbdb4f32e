"""Fault plans: scripted and seeded, reproducible per endpoint, and their text form."""

from __future__ import annotations

import pytest

from orchestrator.emulator.faults import Fault, FaultKind, FaultPlan, parse_fault_spec
from orchestrator.errors import ConfigError

FAIL_503 = Fault(FaultKind.STATUS, status=503)


def test_scripted_calls_fail_exactly_on_those_call_numbers() -> None:
    plan = FaultPlan().on_calls("backtests/create", FAIL_503, 2, 3)
    outcomes = [plan.decide("backtests/create") for _ in range(5)]
    assert outcomes == [None, FAIL_503, FAIL_503, None, None]
    assert plan.decide("backtests/read") is None  # other endpoints have their own count


def test_probabilistic_rules_are_reproducible_with_the_same_seed() -> None:
    def run(seed: int) -> list[bool]:
        plan = FaultPlan(seed=seed).with_probability("*", FAIL_503, 0.3)
        return [plan.decide("files/read") is not None for _ in range(200)]

    assert run(5) == run(5)
    assert run(5) != run(6)
    # 200 draws at p=0.3: the count is 60 +- a few standard deviations (sd = sqrt(200*0.3*0.7) = 6.5)
    assert 30 < sum(run(5)) < 90


def test_an_endpoints_sequence_does_not_depend_on_other_endpoints_traffic() -> None:
    quiet = FaultPlan(seed=3).with_probability("*", FAIL_503, 0.5)
    busy = FaultPlan(seed=3).with_probability("*", FAIL_503, 0.5)
    a = [quiet.decide("compile/read") for _ in range(30)]
    b = []
    for _ in range(30):
        busy.decide("projects/read")
        b.append(busy.decide("compile/read"))
    assert a == b


def test_the_text_form() -> None:
    plan = parse_fault_spec(
        "seed=7; backtests/create: 503 @ 2,3; *: 429(retry-after=2.5) @ p=0.05; files/read: slow(1.5) @ 4-5;"
        " compile/read: drop @ 1; projects/read: malformed @ 2; object/set: drop-after @ 1")
    assert plan.seed == 7
    rules = {(r.endpoint, r.fault.describe()): (sorted(r.calls), r.probability) for r in plan.rules}
    assert rules == {
        ("backtests/create", "HTTP 503"): ([2, 3], 0.0),
        ("*", "HTTP 429 (Retry-After 2.5)"): ([], 0.05),
        ("files/read", "slow (1.5 s)"): ([4, 5], 0.0),
        ("compile/read", "drop"): ([1], 0.0),
        ("projects/read", "malformed"): ([2], 0.0),
        ("object/set", "drop-after"): ([1], 0.0),
    }


@pytest.mark.parametrize("spec", ["backtests/create: 404 @ 1", "x: 503", "x: 503 @ 0", "x: slow @ 1",
                                  "x: 500(retry-after=1) @ 1", "seed=abc"])
def test_bad_specs_are_config_errors_naming_the_rule(spec: str) -> None:
    with pytest.raises(ConfigError, match="bad fault rule"):
        parse_fault_spec(spec)
