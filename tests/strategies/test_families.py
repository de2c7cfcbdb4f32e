"""The template library: every family loads, renders valid, deterministic, QuantConnect-shaped code."""

from __future__ import annotations

import ast
import datetime as dt
import py_compile
import re
from pathlib import Path

import pytest

from orchestrator.errors import TemplateError
from orchestrator.hypotheses import (
    HypothesisSpec,
    ParameterSpec,
    SweepRange,
    check_hypothesis_text,
    dump_hypothesis,
    load_hypotheses,
    sweep_grid,
)
from orchestrator.strategies import (
    FamilyRegistry,
    load_registry,
    render_signal_source,
    render_strategy,
    strategy_code_hash,
)

REPO = Path(__file__).resolve().parents[2]
REQUIRED = {"momentum_breakout", "ma_crossover", "rsi_reversion", "bollinger_reversion", "dual_momentum",
            "vol_target_trend", "macd_trend"}
FAMILIES = sorted(REQUIRED)


def spec_for(family: str, registry: FamilyRegistry, **changes: object) -> HypothesisSpec:
    schema = registry.get(family).schema
    base = HypothesisSpec(id="H-100", title=f"{schema.title} test", rationale="A test.", template=family,
                          universe=schema.default_universe, start=dt.date(2010, 1, 1), end=dt.date(2012, 12, 31),
                          resolution=schema.resolution)
    return base.model_copy(update=changes)


def test_the_library_has_the_required_families(registry: FamilyRegistry) -> None:
    assert set(registry.names()) >= REQUIRED
    for family in registry.families():
        schema = family.schema
        assert schema.idea and schema.title and len(schema.sweep) == 2
        # the defaults satisfy the family's own constraints
        values = {**schema.default_parameters(), "universe_size": len(schema.default_universe)}
        assert all(c.holds(values) for c in schema.constraints), family.name
        assert all(p.description for p in schema.parameters.values())


def test_dual_momentum_defaults_to_four_etfs(registry: FamilyRegistry) -> None:
    assert registry.get("dual_momentum").schema.default_universe == ("SPY", "QQQ", "IWM", "EEM")


@pytest.mark.parametrize("family", FAMILIES)
def test_renders_code_that_compiles_and_reads_every_parameter(family: str, registry: FamilyRegistry,
                                                              tmp_path: Path) -> None:
    rendered = render_strategy(spec_for(family, registry), registry)
    path = tmp_path / "main.py"
    path.write_text(rendered.main_py)
    py_compile.compile(str(path), doraise=True)
    code = rendered.main_py
    assert "from AlgorithmImports import *" in code
    assert re.search(r"^class H100\w+\(QCAlgorithm\):$", code, re.MULTILINE)
    assert rendered.signal_source.rstrip() in code  # the one source of the strategy logic, verbatim
    for name, schema in registry.get(family).schema.parameters.items():
        default = re.escape(str(schema.coerce(schema.default)))
        assert re.search(rf'"{name}": {schema.type}\(self\.get_parameter\("{name}", {default}\)\)', code), name
    # The period is read from the start/end parameters, defaulting to the hypothesis's dates, so that
    # the loop can run a walk-forward window or the holdout without regenerating the code.
    assert 'self.get_parameter("start", "2010-01-01")' in code
    assert 'self.get_parameter("end", "2012-12-31")' in code
    assert "self.set_holdings(portfolio_targets)" in code and "Resolution.DAILY" in code


@pytest.mark.parametrize("family", FAMILIES)
def test_signal_uses_only_its_own_state(family: str, registry: FamilyRegistry) -> None:
    """No algorithm calls inside Signal: every ``self.x`` it reads is something it defines itself."""
    tree = ast.parse(render_signal_source(family, registry=registry))
    signal = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Signal")
    defined = {node.name for node in signal.body if isinstance(node, ast.FunctionDef)}
    defined |= {t.id for node in signal.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    assigned: set[str] = set()
    used: set[str] = set()
    for node in ast.walk(signal):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            (assigned if isinstance(node.ctx, ast.Store) else used).add(node.attr)
    assert used <= assigned | defined, used - assigned - defined
    assert {"update", "plot_values", "__init__"} <= defined and "warmup_bars" in assigned


def test_rendering_is_deterministic_and_the_hash_tracks_the_inputs(registry: FamilyRegistry) -> None:
    spec = spec_for("ma_crossover", registry)
    first, second = render_strategy(spec, registry), render_strategy(spec, registry)
    assert first.files == second.files and first.code_hash == second.code_hash
    assert first.code_hash == strategy_code_hash(first.files, first.signal_source)
    changed = spec.model_copy(update={"parameters": {"fast": ParameterSpec(default=30)}})
    other = render_strategy(changed, registry)
    assert other.code_hash != first.code_hash
    assert '"fast": int(self.get_parameter("fast", 30))' in other.main_py
    # The signal depends on the family only: notebooks and every backtest share it.
    assert other.signal_source == first.signal_source == render_signal_source("ma_crossover", registry=registry)


def test_hour_resolution_and_several_tickers(registry: FamilyRegistry) -> None:
    spec = spec_for("macd_trend", registry, resolution="hour", universe=("SPY", "QQQ"))
    code = render_strategy(spec, registry).main_py
    assert 'self.tickers = ["SPY", "QQQ"]' in code and "Resolution.HOUR" in code


def test_a_workspace_overrides_a_family_file_by_file(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "strategies" / "ma_crossover"
    folder.mkdir(parents=True)
    builtin = load_registry().get("ma_crossover").template_file("signal.py.j2").read_text()
    (folder / "signal.py.j2").write_text(builtin.replace("Strictly above", "Workspace override: strictly above"))
    registry = load_registry(tmp_path)
    assert "Workspace override" in render_signal_source("ma_crossover", registry=registry)
    # family.yaml and main.py.j2 still come from the built-in folder
    assert registry.get("ma_crossover").schema.title == "Moving-average crossover trend"
    assert "Workspace override" in render_strategy(spec_for("ma_crossover", registry), registry).main_py


def test_a_broken_family_file_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "strategies" / "my_family"
    folder.mkdir(parents=True)
    (folder / "family.yaml").write_text("name: my_family\ntitle: Mine\nidea: x\ndefault_universe: [SPY]\n"
                                        "parameters:\n  n: {type: integer, default: 1, min: 1, max: 2, step: 1,"
                                        " description: d}\nsweep: [n, n]\n")
    with pytest.raises(TemplateError) as caught:
        load_registry(tmp_path)
    assert f"{folder / 'family.yaml'}:6: field 'parameters.n.type'" in str(caught.value)


def test_a_template_using_an_undefined_variable_fails_loudly(tmp_path: Path) -> None:
    builtin = load_registry().get("bollinger_reversion")
    folder = tmp_path / "templates" / "strategies" / "bollinger_reversion"
    folder.mkdir(parents=True)
    (folder / "signal.py.j2").write_text("class Signal:\n    X = {{ no_such_variable }}\n")
    registry = load_registry(tmp_path)
    with pytest.raises(TemplateError, match="no_such_variable"):
        render_signal_source("bollinger_reversion", registry=registry)
    assert builtin.schema.name == "bollinger_reversion"


def test_sweep_grid(registry: FamilyRegistry) -> None:
    family = registry.get("ma_crossover").schema
    explicit = spec_for("ma_crossover", registry, parameters={
        "fast": ParameterSpec(default=50, sweep=SweepRange(min=20, max=80, step=10))})
    assert sweep_grid(explicit, family) == {"fast": [20, 30, 40, 50, 60, 70, 80]}
    # Nothing swept in the file: the family's pair, default +/- 3 steps inside the bounds
    # (fast: 50 +/- 3 * 10, bounds 5..150; slow: 200 +/- 3 * 20, bounds 20..400).
    assert sweep_grid(spec_for("ma_crossover", registry), family) == {
        "fast": [20, 30, 40, 50, 60, 70, 80], "slow": [140, 160, 180, 200, 220, 240, 260]}
    rsi = registry.get("rsi_reversion").schema  # entry 10 +/- 3 * 5 clipped at the minimum 1.0
    assert sweep_grid(spec_for("rsi_reversion", registry), rsi)["entry"] == [5.0, 10.0, 15.0, 20.0, 25.0]


def test_the_example_hypotheses_are_valid_and_round_trip(registry: FamilyRegistry) -> None:
    loaded = load_hypotheses(REPO / "hypotheses", registry=registry)
    assert loaded.problems == [] and len(loaded.specs) >= 3
    assert {"ma_crossover", "rsi_reversion", "dual_momentum"} <= {s.template for s in loaded.specs}
    for spec in loaded.specs:
        again, problems = check_hypothesis_text(dump_hypothesis(spec), source=spec.id, registry=registry)
        assert problems == [] and again == spec


@pytest.mark.parametrize("bound", [".inf", ".nan", "1.0e+400", "1" * 400])
def test_a_family_with_a_non_finite_number_is_refused_with_its_line(tmp_path: Path, bound: str) -> None:
    """``max: .inf`` made the whole-number check raise OverflowError (int(inf), float(10**400)) and stopped
    the registry."""
    folder = tmp_path / "templates" / "strategies" / "my_family"
    folder.mkdir(parents=True)
    (folder / "family.yaml").write_text("name: my_family\ntitle: Mine\nidea: x\ndefault_universe: [SPY]\n"
                                        f"parameters:\n  n: {{type: int, default: 1, min: 1, max: {bound}, step: 1,"
                                        " description: d}\nsweep: [n, n]\n")
    with pytest.raises(TemplateError) as caught:
        load_registry(tmp_path)
    assert f"{folder / 'family.yaml'}:6: field 'parameters.n.max'" in str(caught.value)


def test_any_tag_round_trips_through_a_written_file(registry: FamilyRegistry) -> None:
    """Tags are free text; written into a flow list unquoted, 'a, b' came back as two tags and 'a]' as a
    file that no longer parses (a generator's proposal written by write_generated was lost that way)."""
    tags = ("a, b", "a]", "?x", "{q", "plain", "#hash", "x: y", 'say "hi"', "naïve")
    spec = spec_for("ma_crossover", registry, tags=tags, rules={"min_sharpe": 0.5})
    again, problems = check_hypothesis_text(dump_hypothesis(spec), source="round trip", registry=registry)
    assert problems == [] and again is not None and again.tags == tags and again == spec


def test_small_floats_are_written_as_yaml_floats(registry: FamilyRegistry) -> None:
    """Python writes 0.00005 as '5e-05', which YAML 1.1 (PyYAML) reads as a string: a file written with it
    said "'5e-05' is not a number". macd_trend's tolerance allows 0.00005 (bounds 0.0..0.02)."""
    spec = spec_for("macd_trend", registry, parameters={"tolerance": ParameterSpec(default=0.00005)})
    text = dump_hypothesis(spec)
    assert "tolerance: {default: 5.0e-05}" in text
    again, problems = check_hypothesis_text(text, source="round trip", registry=registry)
    assert problems == [] and again == spec
    code = render_strategy(spec, registry).main_py
    assert 'self.get_parameter("tolerance", 5.0e-05)' in code
