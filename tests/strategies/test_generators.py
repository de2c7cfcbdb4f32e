"""Generators: the queue, variants of a finished hypothesis, and the external command (good and hostile)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.config import GeneratorSettings, Settings
from orchestrator.generators import (
    GeneratorResult,
    build_generator_input,
    parse_generator_output,
    pending_hypotheses,
    propose_variants,
    run_configured_generator,
    run_generator_command,
    variant_budget,
    variant_id,
    write_generated,
    write_variants,
)
from orchestrator.hypotheses import HypothesisSpec, ParameterSpec, SweepRange, load_hypothesis
from orchestrator.strategies import FamilyRegistry

from .conftest import VALID

GOOD_DOC = """\
id: {id}
title: Proposed trend test
rationale: An agent thinks so.
template: macd_trend
universe: [QQQ]
start: 2010-01-01
end: 2015-12-31
"""


def parent_spec() -> HypothesisSpec:
    return HypothesisSpec(
        id="H-001", title="SPY trend", rationale="Trends persist.", template="ma_crossover", universe=("SPY",),
        start=dt.date(2004, 1, 1), end=dt.date(2020, 12, 31), resolution="daily",
        parameters={"fast": ParameterSpec(default=50, sweep=SweepRange(min=20, max=80, step=10)),
                    "slow": ParameterSpec(default=200, sweep=SweepRange(min=120, max=260, step=20))},
    )


# --- the queue ---------------------------------------------------------------------------------


def test_queue_is_in_id_order_and_skips_known_ids(write_hypothesis: Callable[[str, str], Path],
                                                  registry: FamilyRegistry, tmp_path: Path) -> None:
    for hypothesis_id in ("H-010", "H-002", "H-010a", "H-003"):
        write_hypothesis(f"{hypothesis_id}.yaml", VALID.format(id=hypothesis_id))
    write_hypothesis("H-011.yaml", "id: H-011\n")  # broken: reported, not raised
    queue = pending_hypotheses(tmp_path / "hypotheses", registry=registry, known_ids={"H-003"},
                               relative_to=tmp_path)
    assert [spec.id for spec in queue.specs] == ["H-002", "H-010", "H-010a"]
    assert {str(p.file) for p in queue.problems} == {"hypotheses/H-011.yaml"}


# --- variants ----------------------------------------------------------------------------------


def test_variants_alternate_kinds_and_are_valid_files(registry: FamilyRegistry, tmp_path: Path) -> None:
    parent = parent_spec()
    variants = propose_variants(parent, registry=registry, existing=[parent], taken_ids={"H-001"}, limit=3)
    assert [(v.spec.id, v.kind) for v in variants] == [("H-001a", "universe"), ("H-001b", "parameters"),
                                                       ("H-001c", "family")]
    assert all(v.spec.parent == "H-001" for v in variants)
    # family.yaml of ma_crossover: the first variant universe is [QQQ]; the first related family is macd_trend
    assert variants[0].spec.universe == ("QQQ",) and variants[0].spec.parameters == parent.parameters
    assert variants[2].spec.template == "macd_trend" and variants[2].spec.universe == ("SPY",)
    # The neighbouring range above: fast 20..80 (7 values, width 70) -> 90..160 clipped to the maximum 150,
    # default 50 + 70 = 120; slow 120..260 (8 values, width 160) -> 280..420 clipped to 400, default 360.
    shifted = variants[1].spec.parameters
    assert shifted["fast"] == ParameterSpec(default=120, sweep=SweepRange(min=90, max=150, step=10))
    assert shifted["slow"] == ParameterSpec(default=360, sweep=SweepRange(min=280, max=400, step=20))
    paths = write_variants(tmp_path, variants)
    for variant, path in zip(variants, paths, strict=True):
        assert path.name == f"{variant.spec.id}.yaml"
        assert path.read_text().startswith(f"# Variant of H-001 ({variant.kind}): ")
        assert load_hypothesis(path, registry=registry) == variant.spec
    # Deterministic: the same inputs propose the same variants.
    again = propose_variants(parent, registry=registry, existing=[parent], taken_ids={"H-001"}, limit=3)
    assert again == variants


def test_variants_skip_experiments_that_exist_and_respect_the_limit(registry: FamilyRegistry) -> None:
    parent = parent_spec()
    on_qqq = parent.model_copy(update={"id": "H-007", "universe": ("QQQ",)})
    variants = propose_variants(parent, registry=registry, existing=[parent, on_qqq],
                                taken_ids={"H-001", "H-007", "H-001a"}, limit=1)
    # The first candidate (the same rule on QQQ) is H-007 already, so the next kind comes first; H-001a is taken.
    assert [(v.spec.id, v.kind) for v in variants] == [("H-001b", "parameters")]
    assert propose_variants(parent, registry=registry, existing=[parent], taken_ids=set(), limit=0) == []


def test_variants_centre_on_the_best_parameters(registry: FamilyRegistry) -> None:
    parent = parent_spec()
    variants = propose_variants(parent, registry=registry, existing=[parent], taken_ids={"H-001"}, limit=2,
                                best_parameters={"fast": 30, "slow": 160})
    centred = variants[1].spec.parameters
    # default +/- 3 grid steps (family steps: fast 10, slow 20), inside the bounds 5..150 and 20..400
    assert centred["fast"] == ParameterSpec(default=30, sweep=SweepRange(min=5, max=60, step=10))
    assert centred["slow"] == ParameterSpec(default=160, sweep=SweepRange(min=100, max=220, step=20))


def test_variant_budget_caps_per_hypothesis_and_in_total() -> None:
    parent = parent_spec()
    settings = Settings(generators=GeneratorSettings(variants_per_hypothesis=2, max_variants_total=3))
    one = parent.model_copy(update={"id": "H-001a", "parent": "H-001"})
    other = parent.model_copy(update={"id": "H-002a", "parent": "H-002"})
    assert variant_budget("H-001", [parent], settings) == 2
    assert variant_budget("H-001", [parent, one], settings) == 1
    assert variant_budget("H-001", [parent, one, other], settings) == 1
    assert variant_budget("H-003", [parent, one, other, other.model_copy(update={"id": "H-002b"})], settings) == 0


def test_variant_ids() -> None:
    assert variant_id("H-001", {"H-001", "H-001a"}) == "H-001b"
    assert variant_id("H-001a", set()) == "H-001aa"
    assert variant_id("H-001abcd", {"H-001", "H-004"}) == "H-005"  # no room for a fifth letter


# --- the external command -----------------------------------------------------------------------


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "proposer.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def run_script(tmp_path: Path, registry: FamilyRegistry, body: str, *, timeout: float = 20,
               max_output: int = 100_000, taken: frozenset[str] = frozenset({"H-001", "H-002"}),
               environ: dict[str, str] | None = None) -> GeneratorResult:
    payload = build_generator_input([{"id": "H-001", "stage": "REJECTED"}], registry=registry, taken_ids=taken)
    return run_generator_command(script(tmp_path, body), payload, registry=registry, taken_ids=taken, cwd=tmp_path,
                                 timeout_seconds=timeout, max_output_bytes=max_output, environ=environ)


def test_good_output_several_documents(tmp_path: Path, registry: FamilyRegistry) -> None:
    body = f"""
        import json, sys
        history = json.load(sys.stdin)
        print({GOOD_DOC.format(id="H-010")!r})
        print("---")
        # no id: qcloop numbers it; the title proves the command read its input
        print({GOOD_DOC.replace("id: {id}", "").strip()!r}.replace("Proposed trend test",
              "after " + history["hypotheses"][0]["id"] + " next " + history["next_free_id"]))
    """
    result = run_script(tmp_path, registry, body)
    assert result.rejections == [] and result.exit_code == 0
    assert [spec.id for spec in result.accepted] == ["H-010", "H-011"]
    assert result.accepted[1].title == "after H-001 next H-003"
    assert result.accepted[0].universe == ("QQQ",) and result.accepted[0].template == "macd_trend"


def test_a_json_array_is_a_list_of_hypotheses(tmp_path: Path, registry: FamilyRegistry) -> None:
    docs = [{"id": "H-020", "title": "a", "rationale": "r", "template": "ma_crossover", "start": "2005-01-01",
             "end": "2006-01-01"},
            {"id": "H-021", "title": "b", "rationale": "r", "template": "ma_crossovr", "start": "2005-01-01",
             "end": "2006-01-01"}]
    result = run_script(tmp_path, registry, f"print({json.dumps(json.dumps(docs))})")
    assert [spec.id for spec in result.accepted] == ["H-020"]
    assert len(result.rejections) == 1 and result.rejections[0].hypothesis_id == "H-021"
    assert "unknown template 'ma_crossovr'; did you mean ma_crossover?" in result.rejections[0].reason


def test_non_yaml_output_is_rejected(tmp_path: Path, registry: FamilyRegistry) -> None:
    result = run_script(tmp_path, registry, 'print("Sure! Here is a hypothesis:\\n  title: [unclosed")')
    assert result.accepted == []
    assert len(result.rejections) == 1 and "not valid YAML at line" in result.rejections[0].reason


def test_code_execution_tags_are_rejected_and_never_run(tmp_path: Path, registry: FamilyRegistry) -> None:
    marker = tmp_path / "pwned"
    body = f"""
        print({GOOD_DOC.format(id="H-030")!r})
        print("---")
        print('!!python/object/apply:os.system ["touch {marker}"]')
        print("--- !!python/object/new:os.system [touch {marker}]")
    """
    result = run_script(tmp_path, registry, body)
    assert [spec.id for spec in result.accepted] == ["H-030"]
    assert [r.document for r in result.rejections] == [2, 3]
    assert all("unsafe or unknown YAML tag" in r.reason for r in result.rejections)
    assert not marker.exists()


def test_huge_output_is_cut_off(tmp_path: Path, registry: FamilyRegistry) -> None:
    body = """
        import sys
        while True:  # an endless stream
            sys.stdout.write("x" * 65536)
    """
    started = time.monotonic()
    result = run_script(tmp_path, registry, body, max_output=100_000)
    assert time.monotonic() - started < 15
    assert result.accepted == []
    assert [r.reason for r in result.rejections] == [
        "printed more than 100000 bytes (generators.max_output_bytes) and was stopped"]


def test_a_command_that_hangs_is_stopped_at_the_timeout(tmp_path: Path, registry: FamilyRegistry) -> None:
    body = """
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # a child holding the pipes
        time.sleep(120)
    """
    started = time.monotonic()
    result = run_script(tmp_path, registry, body, timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed  # the whole process group was stopped, so the pipes closed
    assert [r.reason for r in result.rejections] == [
        "timed out after 1 s (generators.command_timeout_seconds) and was stopped"]


def test_a_missing_command_is_rejected(tmp_path: Path, registry: FamilyRegistry) -> None:
    result = run_generator_command(["/nonexistent/qcloop-proposer"], {}, registry=registry, taken_ids=set(),
                                   cwd=tmp_path, timeout_seconds=5, max_output_bytes=1000)
    assert result.accepted == []
    assert result.rejections[0].reason == (
        "command not found: /nonexistent/qcloop-proposer (check generators.command in qcloop.yaml)")


def test_a_failing_command_is_rejected_with_its_error(tmp_path: Path, registry: FamilyRegistry) -> None:
    body = f"""
        import sys
        print({GOOD_DOC.format(id="H-040")!r})
        print("rate limit reached", file=sys.stderr)
        sys.exit(3)
    """
    result = run_script(tmp_path, registry, body)
    assert result.accepted == [] and result.exit_code == 3
    assert result.rejections[0].reason == "exited with code 3: rate limit reached"


def test_duplicate_ids_and_bad_specs_are_rejected(tmp_path: Path, registry: FamilyRegistry) -> None:
    body = f"""
        print({GOOD_DOC.format(id="H-001")!r})
        print("---")
        print({GOOD_DOC.format(id="H-050")!r})
        print("---")
        print({GOOD_DOC.format(id="H-050")!r})
        print("---")
        print({GOOD_DOC.format(id="H-051").replace("macd_trend", "ma_cross")!r})
        print("---")
        print({(GOOD_DOC.format(id="H-052") + "parameters: {{fast: 999}}").replace("{{", "{").replace("}}", "}")!r})
    """
    result = run_script(tmp_path, registry, body)
    assert [spec.id for spec in result.accepted] == ["H-050"]
    reasons = {r.document: r.reason for r in result.rejections}
    assert reasons[1] == "id 'H-001' is already used; the next free id is H-003"
    assert reasons[3].startswith("id 'H-050' is already used")
    assert "unknown template 'ma_cross'" in reasons[4]
    # The line is a line of the command's output: each document is 7 lines plus the empty line print adds,
    # then a '---' line, so document 5 starts on line 4 * 9 + 1 = 37 and its `parameters` line is line 44.
    assert "<generator output>:44, field 'parameters.fast.default': 999 is above the template's maximum 60" \
        in reasons[5]


def test_output_that_is_not_utf8_is_rejected(tmp_path: Path, registry: FamilyRegistry) -> None:
    result = run_script(tmp_path, registry, 'import sys; sys.stdout.buffer.write(b"id: \\xff\\xfe")')
    assert [r.reason for r in result.rejections] == ["the output is not UTF-8 text"]


def test_the_command_never_sees_the_quantconnect_token(tmp_path: Path, registry: FamilyRegistry) -> None:
    body = f"""
        import os
        print({GOOD_DOC.format(id="H-060")!r}.replace("Proposed trend test", os.environ.get("QC_API_TOKEN", "absent")))
    """
    result = run_script(tmp_path, registry, body, environ={"PATH": "/usr/bin:/bin", "QC_API_TOKEN": "s3cret"})
    assert result.accepted[0].title == "absent"


def test_no_configured_command_means_no_run(tmp_path: Path, registry: FamilyRegistry) -> None:
    settings = Settings(workspace=tmp_path)
    assert run_configured_generator(settings, [], registry=registry, taken_ids=set()) is None


def test_configured_command_runs_in_the_workspace(tmp_path: Path, registry: FamilyRegistry) -> None:
    command = script(tmp_path, "print(open('seed.yaml').read())\n")
    (tmp_path / "seed.yaml").write_text(GOOD_DOC.format(id="H-070"))
    settings = Settings(workspace=tmp_path, generators=GeneratorSettings(command=command, command_timeout_seconds=20))
    result = run_configured_generator(settings, [], registry=registry, taken_ids={"H-001"})
    assert result is not None and [spec.id for spec in result.accepted] == ["H-070"]
    assert result.summary() == f"generator {' '.join(command)}: 1 accepted"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n---\n"])
def test_empty_output_proposes_nothing(tmp_path: Path, registry: FamilyRegistry, text: str) -> None:
    result = run_script(tmp_path, registry, f"print({text!r}, end='')")
    assert result.accepted == [] and result.rejections == []


def test_a_flood_of_documents_is_capped(tmp_path: Path, registry: FamilyRegistry) -> None:
    body = f"""
        for n in range(300):
            print({GOOD_DOC.format(id="H-9{n:03d}")!r}.replace("H-9{{n:03d}}", "H-9%03d" % n))
            print("---")
    """
    result = run_script(tmp_path, registry, body, max_output=1_000_000)
    # 20 accepted (MAX_PROPOSALS_PER_RUN), documents 21..100 rejected one by one, then one rejection for the rest
    assert len(result.accepted) == 20 and result.accepted[0].id == "H-9000"
    assert len(result.rejections) == 81
    assert result.rejections[-1].reason == "more than 100 documents; the rest were not read"


# --- hostile output: look-alike ids, alias bombs, files already on disk -------------------------------


def test_look_alike_ids_and_tickers_are_rejected(registry: FamilyRegistry) -> None:
    """'H-005\\n' matched the id pattern (its '$' also matches before a final newline): it slipped past
    the taken H-005 and would have been written as a file named 'H-005\\n.yaml'."""
    documents = [GOOD_DOC.format(id='"H-005\\n"'), GOOD_DOC.format(id="H-006").replace("[QQQ]", '["QQQ\\n"]')]
    accepted, rejections = parse_generator_output("---\n".join(documents), registry=registry, taken_ids={"H-005"})
    assert accepted == []
    assert [r.document for r in rejections] == [1, 2]
    assert "not a valid hypothesis id" in rejections[0].reason and "is not a ticker" in rejections[1].reason


def test_an_alias_bomb_in_the_output_is_rejected_at_once(registry: FamilyRegistry) -> None:
    bomb = ["x0: &a0 [t, t, t, t, t, t, t, t, t]"]
    bomb += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    text = GOOD_DOC.format(id="H-010") + "---\n" + GOOD_DOC.format(id="H-011") + "\n".join(bomb) + "\ntags: *a8\n"
    started = time.monotonic()
    accepted, rejections = parse_generator_output(text, registry=registry, taken_ids=set())
    assert time.monotonic() - started < 5
    assert [spec.id for spec in accepted] == ["H-010"]
    # document 2 starts on line 9 (7 lines, the '---'); x0 is its line 8, so *a0 (on x1's line) is line 17
    assert [(r.document, r.reason) for r in rejections] == [
        (2, "not valid YAML at line 17: YAML anchors and aliases (&name, *name) are not allowed; "
            "write each value out in full")]


def test_writing_never_clobbers_or_crashes_on_a_file_already_there(registry: FamilyRegistry,
                                                                   tmp_path: Path) -> None:
    """A broken H-003.yaml is not among the valid ids the loop passes as taken, so a proposal may get
    its id; the file on disk wins and the proposal is written under the next free id."""
    folder = tmp_path / "hypotheses"
    folder.mkdir()
    (folder / "H-003.yaml").write_text("id: H-003\ntitle: [broken\n")
    (folder / "_H-004.yaml").write_text("a draft reserves its id\n")
    accepted, rejections = parse_generator_output(GOOD_DOC.replace("id: {id}\n", ""), registry=registry,
                                                  taken_ids={"H-001", "H-002"})
    assert rejections == [] and [spec.id for spec in accepted] == ["H-003"]
    written = write_generated(folder, accepted, ["proposer"])
    assert [path.name for path in written] == ["H-005.yaml"]
    assert (folder / "H-003.yaml").read_text().startswith("id: H-003\ntitle: [broken")
    assert load_hypothesis(written[0], registry=registry).id == "H-005"
    # A variant whose file exists (a broken H-001a.yaml) is not written over, and nothing raises.
    (folder / "H-001a.yaml").write_text("broken: [\n")
    variants = propose_variants(parent_spec(), registry=registry, existing=[parent_spec()], taken_ids={"H-001"},
                                limit=2)
    paths = write_variants(folder, variants)
    assert [path.name for path in paths] == ["H-001b.yaml"]
    assert (folder / "H-001a.yaml").read_text() == "broken: [\n"
