"""Strategy families (``templates/strategies/<family>/``) and rendering a hypothesis into algorithm code.

A family folder holds ``family.yaml`` (what the family is, its parameters and their bounds),
``signal.py.j2`` (the decision logic, written once: ``class Signal``) and ``main.py.j2`` (the
QuantConnect algorithm, which embeds the rendered signal). Folders whose name starts with ``_`` hold
shared template parts (``_base/main.py.j2``), not families.

A workspace may override a built-in family file by file: ``<workspace>/templates/strategies/<family>/``
is searched before the built-in folder, so a workspace can replace just ``signal.py.j2`` or add a
family of its own.

Rendering is deterministic (same inputs, same bytes): no clocks, no versions, sorted iteration.
``render_signal_source`` gives the exact signal code that the algorithm embeds, for the research
notebooks (DESIGN.md §4: one source of strategy logic), and ``strategy_code_hash`` fingerprints the
rendered files for provenance.

jinja2 is imported here and in ``notebooks/`` only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import orchestrator
from orchestrator import yamlfile
from orchestrator.errors import TemplateError

if TYPE_CHECKING:
    from orchestrator.hypotheses import HypothesisSpec

# The repository's (or installed tree's) templates folder; a workspace's templates/ comes first.
BUILTIN_TEMPLATES = orchestrator.BUILTIN_TEMPLATES
STRATEGIES_SUBFOLDER = "strategies"
FAMILY_FILE = "family.yaml"
SIGNAL_TEMPLATE = "signal.py.j2"
MAIN_TEMPLATE = "main.py.j2"

Resolution = Literal["daily", "hour", "minute"]
ParameterType = Literal["int", "float"]
Number = int | float

# QuantConnect's enum members for each resolution (snake_case era names).
RESOLUTION_ENUM: dict[str, str] = {"daily": "Resolution.DAILY", "hour": "Resolution.HOUR",
                                   "minute": "Resolution.MINUTE"}
UNIVERSE_SIZE_NAME = "universe_size"  # usable on the right-hand side of a family constraint
# Far above any price, cash amount, parameter or threshold: a larger number is a typo, and one too large
# for a float (a 400-digit int) or not finite (.inf, .nan) would break the arithmetic of every check.
MAX_NUMBER = 1e15
_CONSTRAINT = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(<=|>=|<|>)\s*([a-z_][a-z0-9_]*)\s*$")
_TICKER = re.compile(r"^[A-Z][A-Z0-9.]{0,9}\Z")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterSchema(_Model):
    """One tunable parameter of a family: its type, default, the bounds a hypothesis may use, and
    the grid step a sweep uses."""

    type: ParameterType
    default: Number
    min: Number
    max: Number
    step: Number = Field(gt=0)
    description: str = Field(min_length=1)

    @field_validator("default", "min", "max", "step", mode="before")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        # YAML's .inf, .nan, 1.0e+400 or a 400-digit int would break the arithmetic of the checks below
        # (int(inf) and float(10**400) raise) and of every hypothesis of the family.
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        if isinstance(value, int | float) and abs(value) > MAX_NUMBER:
            raise ValueError(f"{str(value)[:24]} is too large (numbers here are at most {MAX_NUMBER:.0e} in size)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ParameterSchema:
        if not self.min <= self.default <= self.max:
            raise ValueError(f"default {self.default} is outside min..max ({self.min}..{self.max})")
        if self.type == "int":
            for name in ("default", "min", "max", "step"):
                if float(getattr(self, name)) != int(getattr(self, name)):
                    raise ValueError(f"{name} must be a whole number for an int parameter")
        return self

    def allowed(self) -> str:
        """The allowed range as people write it, e.g. ``5..200`` or ``0.5..4.0``."""
        return f"{format_number(self.min)}..{format_number(self.max)}"

    def coerce(self, value: Number) -> Number:
        return int(value) if self.type == "int" else float(value)


class UniverseSize(_Model):
    min: int = Field(default=1, ge=1)
    max: int = Field(default=10, ge=1)


class Constraint(_Model):
    """A relation between two parameters (or a parameter and the universe size), e.g. ``fast < slow``."""

    left: str
    op: Literal["<", "<=", ">", ">="]
    right: str

    def holds(self, values: Mapping[str, Number]) -> bool:
        left, right = values[self.left], values[self.right]
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[self.op]

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


class FamilySchema(_Model):
    """The contents of ``family.yaml`` (docs/architecture.md §2)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    idea: str = Field(min_length=1)
    default_universe: tuple[str, ...] = Field(min_length=1)
    universe_size: UniverseSize = Field(default_factory=UniverseSize)
    resolution: Resolution = "daily"
    resolutions: tuple[Resolution, ...] = ("daily",)
    parameters: dict[str, ParameterSchema] = Field(min_length=1)
    sweep: tuple[str, str]
    constraints: tuple[Constraint, ...] = ()
    related: tuple[str, ...] = ()  # families that test the same idea another way ("the next family")
    variant_universes: tuple[tuple[str, ...], ...] = ()  # other universes worth trying

    @field_validator("constraints", mode="before")
    @classmethod
    def _parse_constraints(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        parsed = []
        for item in value:
            if not isinstance(item, str):
                parsed.append(item)
                continue
            match = _CONSTRAINT.match(item)
            if not match:
                raise ValueError(f"constraint {item!r} is not of the form 'name < other'")
            parsed.append({"left": match[1], "op": match[2], "right": match[3]})
        return parsed

    @model_validator(mode="after")
    def _consistent(self) -> FamilySchema:
        names = set(self.parameters)
        for swept in self.sweep:
            if swept not in names:
                raise ValueError(f"sweep names '{swept}', which is not a parameter")
        for constraint in self.constraints:
            for side in (constraint.left, constraint.right):
                if side not in names and side != UNIVERSE_SIZE_NAME:
                    raise ValueError(f"constraint '{constraint}' names '{side}', which is not a parameter")
        if self.resolution not in self.resolutions:
            raise ValueError(f"resolution '{self.resolution}' is not in resolutions {list(self.resolutions)}")
        for ticker in (*self.default_universe, *(t for u in self.variant_universes for t in u)):
            if not _TICKER.match(ticker):
                raise ValueError(f"'{ticker}' is not an upper-case ticker")
        if not self.universe_size.min <= len(self.default_universe) <= self.universe_size.max:
            raise ValueError("default_universe does not fit universe_size")
        return self

    def default_parameters(self) -> dict[str, Number]:
        return {name: schema.coerce(schema.default) for name, schema in self.parameters.items()}


@dataclass(frozen=True)
class Family:
    """A loaded family: its schema and the folders its templates are searched in (first wins)."""

    schema: FamilySchema
    search_path: tuple[Path, ...]

    @property
    def name(self) -> str:
        return self.schema.name

    def template_file(self, name: str) -> Path:
        for folder in self.search_path:
            if (folder / name).is_file():
                return folder / name
        raise TemplateError(f"template '{name}' not found in {', '.join(map(str, self.search_path))}")


class FamilyRegistry:
    """The strategy families known to a workspace, by name."""

    def __init__(self, families: Mapping[str, Family], roots: tuple[Path, ...]) -> None:
        self._families = dict(sorted(families.items()))
        self.roots = roots  # strategy-template roots, most specific first

    @classmethod
    def load(cls, roots: Iterable[Path]) -> FamilyRegistry:
        """Read every family under ``roots`` (most specific first; missing roots are skipped)."""
        root_list = tuple(root for root in roots if root.is_dir())
        names = sorted({child.name for root in root_list for child in root.iterdir()
                        if child.is_dir() and not child.name.startswith(("_", "."))})
        families = {}
        for name in names:
            search = tuple(root / name for root in root_list if (root / name).is_dir())
            schema = _load_schema(name, search)
            families[name] = Family(schema=schema, search_path=(*search, *root_list))
        if not families:
            raise TemplateError(f"no strategy families found in {', '.join(map(str, root_list)) or 'any folder'}")
        return cls(families, root_list)

    def names(self) -> list[str]:
        return list(self._families)

    def families(self) -> list[Family]:
        return list(self._families.values())

    def __contains__(self, name: object) -> bool:
        return name in self._families

    def get(self, name: str) -> Family:
        """The family called ``name``; a TemplateError with a suggestion if there is none."""
        if name not in self._families:
            raise TemplateError(unknown_template_message(name, self.names()))
        return self._families[name]


def unknown_template_message(name: str, known: list[str]) -> str:
    message = f"unknown template '{name}' (allowed: {', '.join(known)}"
    guess = did_you_mean(name, known)
    return message + (f"; did you mean {guess}?)" if guess else ")")


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _load_schema(name: str, search: tuple[Path, ...]) -> FamilySchema:
    path = next((folder / FAMILY_FILE for folder in search if (folder / FAMILY_FILE).is_file()), None)
    if path is None:
        raise TemplateError(f"strategy family '{name}' has no {FAMILY_FILE} in {search[0]}",
                            hint="every family folder needs family.yaml, signal.py.j2 and main.py.j2")
    try:
        doc = yamlfile.load(path)
    except yamlfile.YamlError as exc:
        raise TemplateError(str(exc)) from exc
    try:
        schema = FamilySchema.model_validate(doc.data)
    except ValidationError as exc:
        problem = yamlfile.describe_validation_error(exc, doc)[0]
        raise TemplateError(
            f"{path}:{problem.line or 1}: field '{problem.field}': {problem.message.removeprefix('Value error, ')}",
            hint="fix the family definition (docs/hypotheses.md describes family.yaml)",
        ) from exc
    if schema.name != name:
        raise TemplateError(f"{path}: name '{schema.name}' does not match its folder '{name}'",
                            hint=f"set name: {name}, or rename the folder")
    return schema


def template_roots(workspace: Path | None = None) -> tuple[Path, ...]:
    """Strategy-template roots for a workspace: its own templates/strategies first, then the built-in."""
    roots = []
    if workspace is not None:
        roots.append(workspace / "templates" / STRATEGIES_SUBFOLDER)
    builtin = BUILTIN_TEMPLATES / STRATEGIES_SUBFOLDER
    if builtin not in roots:
        roots.append(builtin)
    return tuple(dict.fromkeys(path.resolve() for path in roots))


def load_registry(workspace: Path | None = None) -> FamilyRegistry:
    return FamilyRegistry.load(template_roots(workspace))


# --- rendering --------------------------------------------------------------------------------


def format_number(value: Number) -> str:
    """A number as it is written in YAML and Python source: ints plain, floats with a decimal point.

    Python writes small and large floats with an exponent and no point (``5e-05``), which YAML 1.1
    (PyYAML) reads as a *string*; ``5.0e-05`` is a float in both languages.
    """
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    mantissa, exponent_mark, exponent = text.partition("e")
    if exponent_mark and "." not in mantissa:
        return f"{mantissa}.0e{exponent}"
    return text


def _python_literal(value: Any) -> str:
    """A deterministic Python literal for template output (numbers, strings, lists, tuples)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, str):
        return json.dumps(value)  # double quotes, as QuantConnect's examples write strings
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_python_literal(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")


def _comment(text: str) -> str:
    """Text that is safe inside a ``#`` comment or a docstring line: one line, no quotes closing."""
    return " ".join(str(text).split()).replace('"""', "'''")


def _wrap(text: str, width: int, first: str, rest: str | None = None) -> str:
    """Re-flow text into lines of at most ``width`` characters, each starting with a prefix."""
    import textwrap

    return textwrap.fill(" ".join(str(text).split()), width=width, initial_indent=first,
                         subsequent_indent=first if rest is None else rest,
                         break_long_words=False, break_on_hyphens=False).replace('"""', "'''")


def template_environment(search_path: Iterable[str | Path], filters: Mapping[str, Any]) -> jinja2.Environment:
    """The jinja2 environment of every qcloop template (strategies and notebook cells): templates
    looked up in ``search_path`` (first match wins), a missing variable is an error (StrictUndefined),
    no HTML escaping (the output is Python and Markdown), block tags leave no blank lines."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(path) for path in search_path]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,  # an included part keeps its final newline
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters)
    return env


def _environment(family: Family) -> jinja2.Environment:
    return template_environment(family.search_path, {"py": _python_literal, "comment": _comment, "wrap": _wrap})


def _render(family: Family, template_name: str, context: Mapping[str, Any]) -> str:
    try:
        template = _environment(family).get_template(template_name)
        text = template.render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or template_name}:{exc.lineno}: {exc.message}",
                            hint="fix the template syntax") from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"family '{family.name}': template '{exc.name}' not found",
                            hint=f"add it to templates/strategies/{family.name}/") from exc
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"family '{family.name}', {template_name}: {exc.message}",
                            hint="the template uses a variable that rendering does not provide") from exc
    return text.rstrip() + "\n"


def _family_context(family: Family) -> dict[str, Any]:
    schema = family.schema
    return {
        "family": schema,
        "parameters": [
            {"name": name, "type": p.type, "default": p.coerce(p.default), "min": p.coerce(p.min),
             "max": p.coerce(p.max), "description": p.description}
            for name, p in schema.parameters.items()
        ],
    }


def render_signal_source(family: str | Family, *, registry: FamilyRegistry | None = None) -> str:
    """The ``class Signal`` source of a family, exactly as the algorithm embeds it.

    It depends on the family only (the tickers and parameters reach ``Signal`` at run time), so a
    notebook that executes this source evaluates the same logic as every backtest of the family.
    The source expects QuantConnect's indicator classes in scope (``from AlgorithmImports import *``,
    or ``from orchestrator.engine.algorithm_imports import *`` outside QuantConnect).
    """
    resolved = _resolve_family(family, registry)
    return _render(resolved, SIGNAL_TEMPLATE, _family_context(resolved))


def _resolve_family(family: str | Family, registry: FamilyRegistry | None) -> Family:
    if isinstance(family, Family):
        return family
    return (registry if registry is not None else load_registry()).get(family)


@dataclass(frozen=True)
class RenderedStrategy:
    """The files of one hypothesis's QuantConnect project, plus what they were rendered from."""

    hypothesis_id: str
    family: str
    files: dict[str, str]  # file name -> source; main.py always, helper files if a family adds any
    signal_source: str
    code_hash: str

    @property
    def main_py(self) -> str:
        return self.files["main.py"]

    def write(self, folder: Path) -> list[Path]:
        """Write every file into ``folder`` (created if needed); returns the paths written."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in sorted(self.files.items()):
            path = folder / name
            path.write_text(text, encoding="utf-8", newline="\n")
            written.append(path)
        return written


def strategy_code_hash(files: Mapping[str, str], signal_source: str) -> str:
    """sha256 over the rendered files (sorted by name) and the signal source, each framed by its
    name and length so that no two different inputs can collide by concatenation."""
    digest = hashlib.sha256()
    for name, text in [*sorted(files.items()), ("<signal>", signal_source)]:
        data = text.encode("utf-8")
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def algorithm_class_name(hypothesis_id: str, family: str) -> str:
    """A Python class name for the algorithm, e.g. ``H001MaCrossover`` for H-001 / ma_crossover."""
    prefix = re.sub(r"[^A-Za-z0-9]", "", hypothesis_id)
    return prefix + "".join(part.capitalize() for part in family.split("_"))


def render_strategy(spec: HypothesisSpec, registry: FamilyRegistry) -> RenderedStrategy:
    """Render the algorithm for a validated hypothesis (see ``orchestrator.hypotheses``)."""
    from orchestrator.hypotheses import resolved_parameters

    family = registry.get(spec.template)
    signal_source = render_signal_source(family)
    values = resolved_parameters(spec, family.schema)
    context = {
        **_family_context(family),
        "hypothesis": spec,
        "class_name": algorithm_class_name(spec.id, family.name),
        "universe": list(spec.universe or family.schema.default_universe),
        "resolution_enum": RESOLUTION_ENUM[spec.resolution or family.schema.resolution],
        "values": values,
        "signal_source": signal_source.rstrip(),
    }
    files = {"main.py": _render(family, MAIN_TEMPLATE, context)}
    return RenderedStrategy(
        hypothesis_id=spec.id, family=family.name, files=files, signal_source=signal_source,
        code_hash=strategy_code_hash(files, signal_source),
    )
