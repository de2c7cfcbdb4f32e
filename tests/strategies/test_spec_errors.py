"""A broken hypothesis file gets a message a person can act on: file, line, field and what is allowed.

Each case is a small file whose offending line is known by counting; the expected bounds come from the
family's family.yaml (templates/strategies/<family>/family.yaml).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.errors import SpecError
from orchestrator.hypotheses import load_hypotheses, load_hypothesis
from orchestrator.strategies import FamilyRegistry

HEADER = """\
id: {id}
title: A test hypothesis
rationale: Something we expect.
template: {template}
start: 2004-01-01
end: 2020-12-31
"""  # six lines: whatever a case appends starts on line 7


def _file(hypothesis_id: str, body: str, template: str = "ma_crossover") -> str:
    return HEADER.format(id=hypothesis_id, template=template) + body


# (file name, text, line, field, allowed fragment, message fragment)
CASES = [
    ("H-003.yaml", _file("H-003", "parameters:\n  fast: {default: 500}\n"),
     8, "parameters.fast.default", "5..150", "500 is above the template's maximum 150"),
    ("H-004.yaml", _file("H-004", "", template="ma_cross"),
     4, "template", "bollinger_reversion, dual_momentum, ma_crossover, macd_trend",
     "unknown template 'ma_cross'; did you mean ma_crossover?"),
    ("H-005.yaml", _file("H-005", "parameters:\n  fastt: 10\n"),
     8, "parameters.fastt", None, "not declared by template ma_crossover (declared: fast, slow); did you mean 'fast'"),
    ("H-006.yaml", _file("H-006", "parameters:\n  fast: {default: 12.5}\n"),
     8, "parameters.fast.default", "whole numbers 5..150", "12.5 is not a whole number"),
    ("H-007.yaml", _file("H-007", "resolution: weekly\n"),
     7, "resolution", "daily, hour, minute", "'weekly' is not allowed"),
    ("H-008.yaml", _file("H-008", "univers: [SPY]\n"),
     7, "univers", "universe", "did you mean 'universe'?"),
    ("H-009.yaml", _file("H-009", "parameters:\n  fast: {default: 100}\n  slow: {default: 50}\n"),
     8, "parameters.fast", "fast < slow", "requires fast < slow, but fast = 100, slow = 50"),
    ("H-010.yaml", _file("H-010", "universe: [SPY]\n", template="dual_momentum"),
     7, "universe", "2..10 tickers", "trades 2 to 10 tickers, this universe has 1"),
    ("H-011.yaml", _file("H-011", "resolution: hour\n", template="vol_target_trend"),
     7, "resolution", "daily", "does not support resolution 'hour'"),
    ("H-012.yaml", _file("H-012", "parameters:\n  fast:\n    default: 20\n    sweep: {min: 1, max: 30, step: 5}\n"),
     10, "parameters.fast.sweep.min", "5..150", "1 is below the template's minimum 5"),
    ("H-013.yaml", _file("H-013", "parameters:\n  fast:\n    default: 20\n    sweep: {min: 10, max: 30}\n"),
     10, "parameters.fast.sweep.step", "{min: A, max: B, step: C}", "required field is missing"),
    ("H-014.yaml", _file("H-014", "parameters:\n  slow: {default: \"200\"}\n"),
     8, "parameters.slow.default", "a number, written without quotes", "'200' is not a number"),
    ("H-015.yaml", _file("H-015", "cash: -5\n"),
     7, "cash", "a positive number of dollars", "cash must be positive"),
    ("H-016.yaml", _file("H-016", "parameters:\n  top: 5\n", template="dual_momentum"),
     8, "parameters.top", "top <= universe_size", "requires top <= universe_size, but top = 5, universe_size = 4"),
    # every decision rule is a threshold: true/false is not an override
    ("H-017.yaml", _file("H-017", "rules:\n  min_sharpe: true\n"),
     8, "rules.min_sharpe", "a number per rule", "True is not a number"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_message_names_file_line_field_and_allowed(
    write_hypothesis: Callable[[str, str], Path], registry: FamilyRegistry,
    case: tuple[str, str, int, str, str | None, str],
) -> None:
    name, text, line, field, allowed, says = case
    path = write_hypothesis(name, text)
    with pytest.raises(SpecError) as caught:
        load_hypothesis(path, registry=registry, display_path=f"hypotheses/{name}")
    error = caught.value
    message = str(error)
    assert message.startswith(f"hypotheses/{name}:{line}, field '{field}': "), message
    assert says in message
    if allowed is not None:
        assert error.allowed is not None and allowed in error.allowed, message
        assert f"(allowed: {error.allowed})" in message
    assert (error.line, error.field) == (line, field)


def test_the_id_must_match_the_file_name(write_hypothesis: Callable[[str, str], Path],
                                         registry: FamilyRegistry) -> None:
    path = write_hypothesis("H-020.yaml", _file("H-021", ""))
    with pytest.raises(SpecError) as caught:
        load_hypothesis(path, registry=registry, display_path="hypotheses/H-020.yaml")
    message = str(caught.value)
    assert message.startswith("hypotheses/H-020.yaml:1, field 'id': the id 'H-021' does not match")
    assert "rename the file to H-021.yaml or set id: H-020" in message


def test_end_before_start(write_hypothesis: Callable[[str, str], Path], registry: FamilyRegistry) -> None:
    text = _file("H-022", "").replace("end: 2020-12-31", "end: 2003-12-31")
    with pytest.raises(SpecError, match="end 2003-12-31 must be after start 2004-01-01"):
        load_hypothesis(write_hypothesis("H-022.yaml", text), registry=registry)


def test_yaml_syntax_error_names_the_line(write_hypothesis: Callable[[str, str], Path],
                                          registry: FamilyRegistry) -> None:
    path = write_hypothesis("H-023.yaml", "id: H-023\ntitle: t\n  rationale: indented by mistake\n")
    with pytest.raises(SpecError) as caught:
        load_hypothesis(path, registry=registry, display_path="hypotheses/H-023.yaml")
    assert str(caught.value).startswith("hypotheses/H-023.yaml:3: ")
    assert "fix the YAML syntax" in str(caught.value)


def test_code_execution_tags_are_refused_not_run(write_hypothesis: Callable[[str, str], Path],
                                                 registry: FamilyRegistry, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write_hypothesis("H-024.yaml", f'!!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(SpecError, match="unsafe or unknown YAML tag"):
        load_hypothesis(path, registry=registry)
    assert not marker.exists()


def test_unknown_rule_names_when_the_loop_passes_them(write_hypothesis: Callable[[str, str], Path],
                                                     registry: FamilyRegistry) -> None:
    path = write_hypothesis("H-025.yaml", _file("H-025", "rules: {min_sharp: 0.5}\n"))
    with pytest.raises(SpecError) as caught:
        load_hypothesis(path, registry=registry, rule_names=["min_sharpe", "max_drawdown"],
                        display_path="hypotheses/H-025.yaml")
    message = str(caught.value)
    assert message.startswith("hypotheses/H-025.yaml:7, field 'rules.min_sharp': unknown rule 'min_sharp'")
    assert "did you mean 'min_sharpe'?" in message and "(allowed: max_drawdown, min_sharpe)" in message
    # Without the names (the loop validates them later) the same file is valid.
    assert load_hypothesis(path, registry=registry).rules == {"min_sharp": 0.5}


def test_several_problems_are_all_mentioned(write_hypothesis: Callable[[str, str], Path],
                                            registry: FamilyRegistry) -> None:
    path = write_hypothesis("H-026.yaml", _file("H-026", "cash: 0\nresolution: weekly\n"))
    with pytest.raises(SpecError) as caught:
        load_hypothesis(path, registry=registry, display_path="hypotheses/H-026.yaml")
    message = str(caught.value)
    assert message.startswith("hypotheses/H-026.yaml:7, field 'cash'")
    assert "also: line 8: " in message and "'weekly' is not allowed" in message


def test_one_broken_file_does_not_stop_the_others(write_hypothesis: Callable[[str, str], Path],
                                                  registry: FamilyRegistry, tmp_path: Path) -> None:
    write_hypothesis("H-030.yaml", _file("H-030", ""))
    write_hypothesis("H-031.yaml", _file("H-031", "", template="nope"))
    write_hypothesis("H-032.yaml", "::: not yaml")
    write_hypothesis("_H-033.yaml", "a draft that is ignored")
    write_hypothesis("H-002.yaml", _file("H-002", ""))
    loaded = load_hypotheses(tmp_path / "hypotheses", registry=registry, relative_to=tmp_path)
    assert [spec.id for spec in loaded.specs] == ["H-002", "H-030"]
    assert {str(p.file) for p in loaded.problems} == {"hypotheses/H-031.yaml", "hypotheses/H-032.yaml"}


def test_a_valid_file_gets_the_family_defaults(write_hypothesis: Callable[[str, str], Path],
                                               registry: FamilyRegistry) -> None:
    spec = load_hypothesis(write_hypothesis("H-040.yaml", _file("H-040", "parameters:\n  fast: 30\n")),
                           registry=registry)
    # family.yaml of ma_crossover: default universe [SPY], resolution daily
    assert spec.universe == ("SPY",) and spec.resolution == "daily"
    assert spec.parameters["fast"].default == 30 and spec.cash == 100_000


# --- hostile or impossible files: a problem each, never a crash or a hang -------------------------------


@pytest.mark.parametrize(("body", "field", "says"), [
    # k (a float, bounds 0.5..4.0): 3.0 / 1e-320 overflows a float; the count of values is "more than 200"
    ("parameters:\n  k:\n    default: 2.0\n    sweep: {min: 1.0, max: 4.0, step: 1.0e-320}\n",
     "parameters.k.sweep", "the sweep has millions of values, more than 200"),
    ("parameters:\n  k:\n    default: 2.0\n    sweep: {min: 1.0, max: 1.0e+300, step: 1.0}\n",
     "parameters.k.sweep.max", "1e+300 is too large"),
    ("parameters:\n  period: {default: " + "9" * 400 + "}\n", "parameters.period.default", "too large"),
    ("cash: " + "1" * 30 + "\n", "cash", "too large"),
])
def test_enormous_numbers_are_problems(write_hypothesis: Callable[[str, str], Path], registry: FamilyRegistry,
                                       body: str, field: str, says: str) -> None:
    path = write_hypothesis("H-060.yaml", _file("H-060", body, template="bollinger_reversion"))
    with pytest.raises(SpecError) as caught:
        load_hypothesis(path, registry=registry)
    assert caught.value.field == field and says in str(caught.value), str(caught.value)


def test_a_yaml_alias_bomb_is_refused_at_once(write_hypothesis: Callable[[str, str], Path],
                                              registry: FamilyRegistry) -> None:
    """Nine levels of nine aliases expand to 9**9 (387 million) strings; read naively, they hang the loop."""
    lines = ["x0: &a0 [t, t, t, t, t, t, t, t, t]"]
    lines += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = write_hypothesis("H-061.yaml", _file("H-061", "\n".join(lines) + "\ntags: *a8\n"))
    started = time.monotonic()
    with pytest.raises(SpecError, match="aliases") as caught:
        load_hypothesis(path, registry=registry)
    assert time.monotonic() - started < 5
    assert caught.value.line == 8  # the first alias (*a0, on the line of x1)


def test_at_most_two_parameters_are_swept(write_hypothesis: Callable[[str, str], Path],
                                          registry: FamilyRegistry) -> None:
    """The sweep notebooks map one or two parameters (a line or a heatmap, the plateau on it); a third
    swept parameter validated before, then failed when the loop prepared the sweep."""
    from orchestrator.hypotheses import MAX_SWEPT_PARAMETERS
    from orchestrator.notebooks.specs import MAX_GRID_AXES

    assert MAX_SWEPT_PARAMETERS == MAX_GRID_AXES
    body = ("parameters:\n  fast: {default: 12, sweep: [10, 12]}\n  slow: {default: 26, sweep: [20, 26]}\n"
            "  signal: {default: 9, sweep: [5, 9]}\n")
    path = write_hypothesis("H-062.yaml", _file("H-062", body, template="macd_trend"))
    with pytest.raises(SpecError) as caught:
        load_hypothesis(path, registry=registry)
    assert caught.value.field == "parameters" and caught.value.line == 7
    assert "3 parameters have a sweep (fast, signal, slow)" in str(caught.value)


def test_a_sweep_with_no_point_inside_the_constraints(write_hypothesis: Callable[[str, str], Path],
                                                      registry: FamilyRegistry) -> None:
    # every fast in [100, 120] is above every slow in [50, 60]: fast < slow never holds
    body = "parameters:\n  fast: {default: 20, sweep: [100, 120]}\n  slow: {default: 60, sweep: [50, 60]}\n"
    path = write_hypothesis("H-063.yaml", _file("H-063", body))
    with pytest.raises(SpecError) as caught:
        load_hypothesis(path, registry=registry)
    assert caught.value.field == "parameters" and "no combination of the sweep values meets fast < slow" \
        in str(caught.value)
