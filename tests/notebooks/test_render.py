"""Rendering: templates as data, nbformat validity, papermill's parameter cells, provenance, determinism."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from orchestrator.errors import TemplateError
from orchestrator.notebooks import NotebookKind, StrategySource, reinject, render_notebook
from orchestrator.notebooks.manifest import BUILTIN_NOTEBOOK_TEMPLATES, load_template_set
from orchestrator.notebooks.render import python_literal
from orchestrator.notebooks.specs import AnySpec
from tests.notebooks.conftest import NONCE_A, NONCE_B, STATS, baseline_spec, sweep_spec, walk_forward_spec


@pytest.fixture(params=[k.value for k in NotebookKind])
def any_spec(request: pytest.FixtureRequest, ma_signal: StrategySource) -> AnySpec:
    makers: dict[str, Callable[[], AnySpec]] = {
        "baseline_review": baseline_spec, "parameter_sweep": lambda: sweep_spec(ma_signal),
        "walk_forward": lambda: walk_forward_spec(ma_signal)}
    return makers[request.param]()


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def test_every_kind_renders_a_valid_notebook_in_manifest_order(any_spec: AnySpec) -> None:
    rendered = render_notebook(any_spec, nonce=NONCE_A)
    nbformat.validate(rendered.notebook)  # raises if invalid
    manifest = load_template_set(any_spec.kind).manifest
    ids = [cell.id for cell in rendered.notebook.cells]
    expected = [cell.id for cell in manifest.cells]
    expected.insert(manifest.parameters_index + 1, "injected-parameters")
    assert ids == expected
    # papermill's convention: the injected cell directly follows the parameters cell
    position = ids.index("parameters")
    assert "parameters" in _tags(rendered.notebook.cells[position])
    assert _tags(rendered.notebook.cells[position + 1]) == ["injected-parameters"]
    assert "qcloop-result" in _tags(rendered.notebook.cells[-1])
    assert rendered.filename == f"qcloop_{any_spec.hypothesis_id}_{any_spec.kind.value}.ipynb"
    # every code cell is valid Python (a broken template would only show up in a kernel otherwise)
    for cell in rendered.notebook.cells:
        if cell.cell_type == "code":
            compile(cell.source, cell.id, "exec")


def test_same_inputs_give_byte_identical_notebooks_except_for_the_nonce(any_spec: AnySpec) -> None:
    first = render_notebook(any_spec, nonce=NONCE_A).text()
    second = render_notebook(any_spec, nonce=NONCE_B).text()
    assert first != second
    assert first.count(NONCE_A) == 3  # the injected variable, the injected provenance, the metadata
    assert first.replace(NONCE_A, "<nonce>") == second.replace(NONCE_B, "<nonce>")


def test_a_fresh_nonce_each_render(ma_signal: StrategySource) -> None:
    spec = sweep_spec(ma_signal)
    assert render_notebook(spec).provenance.nonce != render_notebook(spec).provenance.nonce


def test_provenance_is_in_metadata_and_in_the_injected_cell(ma_signal: StrategySource) -> None:
    spec = sweep_spec(ma_signal)
    rendered = render_notebook(spec, nonce=NONCE_A)
    meta = rendered.notebook.metadata["qcloop"]
    provenance = rendered.provenance
    assert meta == provenance.model_dump(mode="json")
    assert provenance.is_intact()
    assert (provenance.hypothesis_id, provenance.stage, provenance.nonce) == ("H-900", "optimize", NONCE_A)
    assert provenance.parameters["grid"] == {"fast": [10, 20, 30], "slow": [40, 60]}
    assert provenance.strategy_code_hash == ma_signal.code_hash
    assert provenance.signal_source_hash == ma_signal.signal_hash
    injected = next(c for c in rendered.notebook.cells if c.id == "injected-parameters")
    namespace: dict = {}
    exec(injected.source, namespace)
    assert namespace["qcloop_provenance"] == meta
    # the injected cell also assigns every parameter as a variable the cells use
    assert namespace["grid"] == spec.notebook_parameters()["grid"]
    assert namespace["nonce"] == NONCE_A
    assert namespace["provenance_hash"] == provenance.provenance_hash


def test_the_provenance_hash_covers_parameters_and_sources_but_not_the_nonce(ma_signal: StrategySource) -> None:
    base = render_notebook(sweep_spec(ma_signal), nonce=NONCE_A).provenance
    assert render_notebook(sweep_spec(ma_signal), nonce=NONCE_B).provenance.provenance_hash == base.provenance_hash
    other_grid = render_notebook(sweep_spec(ma_signal, grid={"fast": [10, 20]}), nonce=NONCE_A).provenance
    assert other_grid.provenance_hash != base.provenance_hash
    edited = StrategySource(family="ma_crossover", signal_source=ma_signal.signal_source + "\n# edited\n",
                            code_hash=ma_signal.code_hash)
    other_code = render_notebook(sweep_spec(edited), nonce=NONCE_A).provenance
    assert other_code.sources_hash != base.sources_hash
    assert other_code.provenance_hash != base.provenance_hash
    tampered = base.model_copy(update={"stage": "validate"})
    assert not tampered.is_intact()


def test_one_source_of_strategy_logic_and_statistics(ma_signal: StrategySource) -> None:
    for spec in (sweep_spec(ma_signal), walk_forward_spec(ma_signal)):
        cells = {c.id: c for c in render_notebook(spec, nonce=NONCE_A).notebook.cells}
        assert cells["signal"].source == ma_signal.signal_source
        assert cells["stats"].source == STATS.read_text(encoding="utf-8")


def test_the_baseline_review_embeds_the_backtest_it_reviews() -> None:
    spec = baseline_spec()
    cell = next(c for c in render_notebook(spec, nonce=NONCE_A).notebook.cells if c.id == "backtest")
    namespace: dict = {}
    exec(cell.source, namespace)
    assert namespace["baseline_backtest"] == spec.backtest.model_dump(mode="json")


def test_reinject_replaces_the_injected_cell_and_clears_outputs(ma_signal: StrategySource) -> None:
    rendered = render_notebook(sweep_spec(ma_signal), nonce=NONCE_A)
    notebook = rendered.notebook
    notebook.cells[-1].outputs = [nbformat.v4.new_output("stream", text="old\n")]
    notebook.cells[-1].execution_count = 9
    again = reinject(reinject(notebook, rendered.provenance.with_nonce(NONCE_B)),
                     rendered.provenance.with_nonce(NONCE_B))
    injected = [c for c in again.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert NONCE_B in injected[0].source and NONCE_A not in injected[0].source
    assert again.metadata["qcloop"]["nonce"] == NONCE_B
    assert again.cells[-1].outputs == [] and again.cells[-1].execution_count is None
    assert len(again.cells) == len(notebook.cells)


def test_python_literals_round_trip() -> None:
    import ast

    value = {"a": [1, 2.5, "x'y"], "b": {"c": None, "d": True}, "e": -0.1}
    for indent in (None, 4):
        assert ast.literal_eval(python_literal(value, indent=indent)) == value
    with pytest.raises(TemplateError, match="non-finite"):
        python_literal(float("nan"))


def _override_root(tmp_path: Path, kind: str) -> Path:
    root = tmp_path / "templates" / "notebooks"
    shutil.copytree(BUILTIN_NOTEBOOK_TEMPLATES / kind, root / kind)
    return root


def test_a_workspace_override_wins_and_strict_undefined_fails_loudly(tmp_path: Path,
                                                                     ma_signal: StrategySource) -> None:
    root = _override_root(tmp_path, "parameter_sweep")
    (root / "parameter_sweep" / "grid_intro.md.j2").write_text("## My grid for {{ spec.hypothesis_id }}\n")
    roots = (root, BUILTIN_NOTEBOOK_TEMPLATES)
    cells = {c.id: c for c in render_notebook(sweep_spec(ma_signal), nonce=NONCE_A, roots=roots).notebook.cells}
    assert cells["grid-intro"].source == "## My grid for H-900"
    (root / "parameter_sweep" / "grid_intro.md.j2").write_text("{{ no_such_variable }}\n")
    with pytest.raises(TemplateError, match="no_such_variable"):
        render_notebook(sweep_spec(ma_signal), nonce=NONCE_A, roots=roots)


@pytest.mark.parametrize(("edit", "message"), [
    ("  - {id: parameters, type: code, template: parameters.py.j2, tags: [parameters]}\n", "exactly one cell"),
    ("  - {id: result, type: code, template: result.py.j2, tags: [qcloop-result]}\n", "last cell"),
])
def test_manifest_mistakes_name_file_and_field(tmp_path: Path, ma_signal: StrategySource,
                                               edit: str, message: str) -> None:
    root = _override_root(tmp_path, "parameter_sweep")
    manifest = root / "parameter_sweep" / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace(edit, ""))
    with pytest.raises(TemplateError, match=message) as caught:
        render_notebook(sweep_spec(ma_signal), nonce=NONCE_A, roots=(root, BUILTIN_NOTEBOOK_TEMPLATES))
    assert "manifest.yaml" in str(caught.value)


def test_spec_validation_catches_a_grid_over_an_unknown_parameter(ma_signal: StrategySource) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not parameters of the strategy"):
        sweep_spec(ma_signal, grid={"period": [1, 2]})


def test_universe_size_in_a_constraint_is_the_number_of_tickers(ma_signal: StrategySource,
                                                                lib: dict[str, Any]) -> None:
    """dual_momentum's 'top <= universe_size': the notebook has no parameter of that name, so the spec
    writes the universe's size in (a top of 3 of 2 tickers is not a trial)."""
    spec = sweep_spec(ma_signal, tickers=["SPY", "QQQ"], baseline_parameters={"fast": 20, "slow": 60, "top": 1},
                      grid={"top": [1, 2, 3]}, constraints=["fast < slow", "top <= universe_size"])
    constraints = spec.notebook_parameters()["constraints"]
    assert constraints == ["fast < slow", "top <= 2"]
    kept = [top for top in (1, 2, 3) if lib["satisfies"]({"fast": 20, "slow": 60, "top": top}, constraints)]
    assert kept == [1, 2]


@pytest.mark.parametrize("change", [{"absolute_tolerance": float("inf")},
                                    {"grid": {"fast": [10.0, float("nan")], "slow": [40, 60]}},
                                    {"baseline_parameters": {"fast": 20, "slow": float("inf")}}])
def test_a_spec_with_a_non_finite_number_is_refused_when_made(ma_signal: StrategySource,
                                                              change: dict[str, Any]) -> None:
    """Not a ValueError deep inside rendering (the provenance hash is canonical JSON, which has no NaN)."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="finite number"):
        sweep_spec(ma_signal, **change)
