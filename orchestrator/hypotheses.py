"""The hypothesis spec: one YAML file per hypothesis in ``hypotheses/``, validated against its family.

Validation happens in two passes. ``HypothesisSpec`` (pydantic, ``extra="forbid"``) checks the shape
of the file on its own; then ``check_against_family`` checks what depends on the strategy family:
the template exists, every parameter is declared by it, values have its types and lie in its bounds,
sweeps fit, the family's constraints hold (``fast < slow``), the universe size and resolution are
supported. Every problem becomes a ``SpecError`` naming the file, the line, the field and what is
allowed, so that a person can fix the file without reading code.

Rule-set overrides (``rules:``) are a mapping of rule name -> number (every rule is a threshold). The rule names
belong to the decision rules (``decide.py``); pass ``rule_names`` to validate them here, otherwise
the loop validates them when it applies the overrides.

Hypothesis ids are ``H-`` + at least three digits (``H-001``); a variant may add lower-case letters
(``H-001a``, a variant of H-001; ``H-001ab``, a variant of H-001a). The file name must be the id.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from orchestrator import yamlfile
from orchestrator.errors import SpecError
from orchestrator.strategies import (
    MAX_NUMBER,
    UNIVERSE_SIZE_NAME,
    FamilyRegistry,
    FamilySchema,
    Number,
    ParameterSchema,
    Resolution,
    did_you_mean,
    format_number,
)

# \Z, not $: "$" also matches before a final newline, and "H-001\n" must not pass for an id
ID_PATTERN = re.compile(r"^H-(\d{3,6})([a-z]{0,4})\Z")
ID_ALLOWED = ("'H-' and three to six digits, optionally followed by lower-case letters for a variant, "
              "e.g. H-007 or H-007a")
TICKER_PATTERN = re.compile(r"^[A-Z][A-Z0-9.]{0,9}\Z")
SUFFIXES = (".yaml", ".yml")
MAX_SWEEP_VALUES = 200  # per parameter; a notebook sweep evaluates the product of all swept grids
# The sweep notebooks map one or two parameters (a line or a heatmap, and the plateau on it):
# orchestrator.notebooks.specs.MAX_GRID_AXES, which a test keeps equal to this.
MAX_SWEPT_PARAMETERS = 2
MAX_FILE_BYTES = 200_000

# What people may write for fields whose pydantic message alone would not say it.
_ALLOWED: dict[str, str] = {
    "id": ID_ALLOWED,
    "resolution": "daily, hour, minute",
    "start": "a date written YYYY-MM-DD",
    "end": "a date written YYYY-MM-DD",
    "cash": "a positive number of dollars",
    "universe": "a list of tickers, e.g. [SPY] or [SPY, QQQ]",
    "parent": ID_ALLOWED,
    "tags": "a list of short words",
}
_TOP_FIELDS = ("id", "title", "rationale", "template", "universe", "start", "end", "cash", "resolution",
               "parameters", "rules", "parent", "tags")


def _number(value: Any) -> Any:
    """Accept YAML ints and floats; reject booleans and strings, which pydantic would coerce."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    if abs(value) > MAX_NUMBER:
        shown = str(value) if len(str(value)) <= 24 else f"{str(value)[:12]}... ({len(str(value))} digits)"
        raise ValueError(f"{shown} is too large (numbers here are at most {MAX_NUMBER:.0e} in size)")
    return value


StrictNumber = Annotated[int | float, BeforeValidator(_number)]


# Every rule of the decision rule sets is a threshold (decide.py), so an override is a number.
RuleValue = StrictNumber


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SweepRange(_Spec):
    """``{min: 20, max: 80, step: 10}``: min, min+step, ... up to max."""

    min: StrictNumber
    max: StrictNumber
    step: StrictNumber

    @model_validator(mode="after")
    def _ordered(self) -> SweepRange:
        if self.step <= 0:
            raise ValueError(f"step must be positive, got {format_number(self.step)}")
        if self.max < self.min:
            raise ValueError(f"max {format_number(self.max)} is below min {format_number(self.min)}")
        return self

    def count(self) -> float:
        """How many values the range has (math.inf when a tiny step makes them too many to count)."""
        ratio = (self.max - self.min) / self.step
        return math.floor(ratio + 1e-9) + 1 if math.isfinite(ratio) else math.inf

    def values(self) -> list[Number]:
        points = [self.min + i * self.step for i in range(int(self.count()))]
        if all(isinstance(v, int) for v in (self.min, self.step)):
            return [int(p) for p in points]
        return [round(float(p), 10) for p in points]


def _sweep_kind(value: Any) -> str | None:
    """Which form a sweep is written in, so that an error names that form only."""
    if isinstance(value, dict | SweepRange):
        return "range"
    if isinstance(value, list):
        return "values"
    return None


SweepSpec = Annotated[
    Annotated[SweepRange, Tag("range")] | Annotated[list[StrictNumber], Tag("values")],
    Discriminator(_sweep_kind, custom_error_type="sweep_form",
                  custom_error_message="is neither a range nor a list of values"),
]


class ParameterSpec(_Spec):
    """A parameter's value for this hypothesis, and optionally the values a sweep tries."""

    default: StrictNumber
    sweep: SweepSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `fast: 50` is short for `fast: {default: 50}`.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"default": value}
        return value

    @field_validator("sweep")
    @classmethod
    def _non_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("a sweep list needs at least one value")
        return value

    def sweep_values(self) -> list[Number] | None:
        if self.sweep is None:
            return None
        if isinstance(self.sweep, SweepRange):
            return self.sweep.values()
        return sorted(set(self.sweep))


def _check_id(value: str, *, what: str) -> str:
    if not ID_PATTERN.match(value):
        raise ValueError(f"'{value}' is not a valid {what}")
    return value


class HypothesisSpec(_Spec):
    """One hypothesis (docs/architecture.md §3). After ``load_hypothesis`` the universe and the
    resolution are filled in from the family when the file leaves them out."""

    id: str
    title: str = Field(min_length=1, max_length=200)
    rationale: str = Field(min_length=1)
    template: str = Field(min_length=1)
    universe: tuple[str, ...] | None = None
    start: dt.date
    end: dt.date
    cash: StrictNumber = 100_000
    resolution: Resolution | None = None
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    rules: dict[str, RuleValue] = Field(default_factory=dict)
    parent: str | None = None
    tags: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_id(value, what="hypothesis id")

    @field_validator("parent")
    @classmethod
    def _parent(cls, value: str | None) -> str | None:
        return None if value is None else _check_id(value, what="parent id")

    @field_validator("universe", mode="before")
    @classmethod
    def _tickers(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            return value
        tickers = []
        for item in value:
            if not isinstance(item, str) or not TICKER_PATTERN.match(item.upper()):
                raise ValueError(f"{item!r} is not a ticker")
            tickers.append(item.upper())  # QuantConnect tickers are case-insensitive
        if not tickers:
            raise ValueError("the universe needs at least one ticker")
        if len(set(tickers)) != len(tickers):
            raise ValueError("the universe lists a ticker twice")
        return tickers

    @field_validator("start", "end", mode="before")
    @classmethod
    def _plain_date(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            raise ValueError("give a date without a time (YYYY-MM-DD)")
        return value

    @field_validator("cash")
    @classmethod
    def _positive_cash(cls, value: Number) -> Number:
        if value <= 0:
            raise ValueError(f"cash must be positive, got {format_number(value)}")
        return value

    @model_validator(mode="after")
    def _dates_ordered(self) -> HypothesisSpec:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    def parameter_values(self) -> dict[str, Number]:
        """The parameters this file sets (family defaults are not included: see resolved_parameters)."""
        return {name: param.default for name, param in self.parameters.items()}


def resolved_parameters(spec: HypothesisSpec, family: FamilySchema) -> dict[str, Number]:
    """Every parameter of the family: the hypothesis's value where it gives one, else the family's
    default, converted to the declared type (family order)."""
    values = {}
    for name, schema in family.parameters.items():
        given = spec.parameters.get(name)
        values[name] = schema.coerce(given.default if given is not None else schema.default)
    return values


def sweep_grid(spec: HypothesisSpec, family: FamilySchema, *, default_steps: int = 3) -> dict[str, list[Number]]:
    """The values a parameter sweep tries, per swept parameter.

    Parameters with an explicit ``sweep`` in the file are swept over it. If the file sweeps nothing,
    the family's default pair (``sweep:`` in family.yaml) is swept over the default +/- ``default_steps``
    grid steps, clipped to the family's bounds.
    """
    explicit = {name: param.sweep_values() for name, param in spec.parameters.items() if param.sweep is not None}
    if explicit:
        return {name: [family.parameters[name].coerce(v) for v in values or []]
                for name, values in explicit.items()}
    values = resolved_parameters(spec, family)
    grid = {}
    for name in family.sweep:
        schema = family.parameters[name]
        centre = values[name]
        points = [centre + k * schema.step for k in range(-default_steps, default_steps + 1)]
        grid[name] = [schema.coerce(round(p, 10)) for p in points if schema.min <= p <= schema.max]
    return grid


# --- loading -----------------------------------------------------------------------------------


class LoadedHypotheses(NamedTuple):
    """``load_hypotheses`` result: the valid specs in id order, and one SpecError per problem."""

    specs: list[HypothesisSpec]
    problems: list[SpecError]


def id_sort_key(hypothesis_id: str) -> tuple[int, str, str]:
    """Natural id order: H-002 < H-010 < H-010a < H-010b < H-011."""
    match = ID_PATTERN.match(hypothesis_id)
    if not match:
        return (10**9, "", hypothesis_id)
    return (int(match[1]), match[2], hypothesis_id)


def load_hypothesis(
    path: Path, *, registry: FamilyRegistry, rule_names: Collection[str] | None = None,
    display_path: str | None = None,
) -> HypothesisSpec:
    """Read and validate one hypothesis file; raises the first SpecError (file, line, field, allowed).

    ``display_path`` is how the file is named in messages (default: ``path`` as given).
    """
    spec, problems = check_hypothesis_file(path, registry=registry, rule_names=rule_names,
                                           display_path=display_path)
    if problems:
        raise _with_others(problems)
    assert spec is not None
    return spec


def _with_others(problems: Sequence[SpecError]) -> SpecError:
    """The first problem, with a hint that counts the others (people fix files top to bottom)."""
    first = problems[0]
    if len(problems) == 1:
        return first
    rest = "; ".join(f"line {p.line}: {p.message}" if p.line else p.message for p in problems[1:4])
    more = f" (+{len(problems) - 4} more)" if len(problems) > 4 else ""
    hint = (first.hint + "; " if first.hint else "") + f"also: {rest}{more}"
    return SpecError(first.message, file=first.file, line=first.line, field=first.field,
                     allowed=first.allowed, hint=hint)


def check_hypothesis_file(
    path: Path, *, registry: FamilyRegistry, rule_names: Collection[str] | None = None,
    display_path: str | None = None,
) -> tuple[HypothesisSpec | None, list[SpecError]]:
    """Every problem of one file (empty when it is valid) and the spec when there are none."""
    label = display_path if display_path is not None else str(path)
    if path.suffix not in SUFFIXES:
        return None, [SpecError(f"a hypothesis file must end in .yaml (got '{path.name}')", file=label)]
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None, [SpecError(f"file is larger than {MAX_FILE_BYTES} bytes", file=label)]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [SpecError("is not UTF-8 text", file=label)]
    except OSError as exc:
        return None, [SpecError(f"cannot be read ({exc.strerror})", file=label)]
    spec, problems = check_hypothesis_text(text, source=label, registry=registry, rule_names=rule_names)
    if spec is not None and spec.id != path.stem:
        line = _line(yamlfile.loads(text, source=label), ("id",))
        problems.append(SpecError(
            f"the id '{spec.id}' does not match the file name '{path.name}'", file=label, line=line,
            field="id", hint=f"rename the file to {spec.id}{path.suffix} or set id: {path.stem}",
        ))
        spec = None
    return spec, problems


def check_hypothesis_text(
    text: str, *, source: str, registry: FamilyRegistry, rule_names: Collection[str] | None = None,
) -> tuple[HypothesisSpec | None, list[SpecError]]:
    """Validate one YAML document (a file's text, or one document of a generator's output)."""
    try:
        doc = yamlfile.loads(text, source=source, max_bytes=MAX_FILE_BYTES)
    except yamlfile.YamlError as exc:
        return None, [SpecError(exc.reason, file=source, line=exc.line,
                                hint="fix the YAML syntax (indentation, colons, quotes)")]
    return check_hypothesis_document(doc, registry=registry, rule_names=rule_names)




def check_hypothesis_document(
    doc: yamlfile.LocatedYaml, *, registry: FamilyRegistry, rule_names: Collection[str] | None = None,
) -> tuple[HypothesisSpec | None, list[SpecError]]:
    """Both validation passes over a parsed document; the spec is returned only when it is valid."""
    source = doc.source
    if not isinstance(doc.data, dict):
        found = "an empty document" if doc.data is None else f"a {type(doc.data).__name__}"
        return None, [SpecError(f"a hypothesis must be a mapping of fields, found {found}", file=source,
                                line=_line(doc, ()), allowed=", ".join(_TOP_FIELDS))]
    try:
        spec = HypothesisSpec.model_validate(doc.data)
    except ValidationError as exc:
        described = sorted(_describe(exc, doc), key=lambda problem: problem.line or 0)
        problems = [_pydantic_problem(problem, source) for problem in described]
        problems.extend(_template_problem(doc, registry) or [])
        return None, _unique(problems)
    problems = check_against_family(spec, doc, registry=registry, rule_names=rule_names)
    if problems:
        return None, problems
    family = registry.get(spec.template).schema
    return spec.model_copy(update={
        "universe": spec.universe or family.default_universe,
        "resolution": spec.resolution or family.resolution,
    }), []


def _unique(problems: list[SpecError]) -> list[SpecError]:
    unique: dict[str, SpecError] = {}
    for problem in problems:
        unique.setdefault(str(problem), problem)
    return list(unique.values())


def _line(doc: yamlfile.LocatedYaml, location: Sequence[str | int]) -> int | None:
    return doc.line_of(tuple(location))


_BRANCH_TAGS = {"range", "values"}


def _describe(exc: ValidationError, doc: yamlfile.LocatedYaml) -> list[yamlfile.FieldProblem]:
    """pydantic's errors with locations as written in the file (no union-branch labels)."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"]
                    if not (isinstance(part, str) and ("[" in part or part in _BRANCH_TAGS)))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "literal_error":
            message = f"{error['input']!r} is not allowed"
        dotted = ".".join(str(part) for part in loc) or "(document)"
        problems.append(yamlfile.FieldProblem(field=dotted, line=doc.line_of(loc), message=message))
    return problems


def _pydantic_problem(problem: yamlfile.FieldProblem, source: str) -> SpecError:
    message = problem.message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    top = problem.field.split(".")[0]
    allowed = _ALLOWED.get(top)
    if message == "unknown field" and "." not in problem.field:
        guess = did_you_mean(problem.field, _TOP_FIELDS)
        message = f"unknown field '{problem.field}'" + (f" (did you mean '{guess}'?)" if guess else "")
        allowed = ", ".join(_TOP_FIELDS)
    elif problem.field.startswith("parameters.") and message == "unknown field":
        allowed = "default, sweep"
    elif problem.field.startswith("parameters.") and problem.field.endswith(".default"):
        allowed = "a number, written without quotes"
    elif ".sweep" in problem.field:
        allowed = "{min: A, max: B, step: C} or a list of values"
    elif top == "rules":
        allowed = "a number per rule"
    field = problem.field if problem.field != "(document)" else None
    return SpecError(message, file=source, line=problem.line, field=field, allowed=allowed)


def _template_problem(doc: yamlfile.LocatedYaml, registry: FamilyRegistry) -> list[SpecError] | None:
    """Also report an unknown template when the shape check failed (it is the most common slip)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    name = data.get("template")
    if isinstance(name, str) and name not in registry:
        guess = did_you_mean(name, registry.names())
        return [SpecError(f"unknown template '{name}'" + (f"; did you mean {guess}?" if guess else ""),
                          file=doc.source, line=_line(doc, ("template",)), field="template",
                          allowed=", ".join(registry.names()), hint="`qcloop templates` describes the families")]
    return None


def check_against_family(
    spec: HypothesisSpec, doc: yamlfile.LocatedYaml, *, registry: FamilyRegistry,
    rule_names: Collection[str] | None = None,
) -> list[SpecError]:
    """The second pass: everything that depends on the strategy family (and on the rule names)."""
    source = doc.source
    problems = _template_problem(doc, registry)
    if problems:
        return problems
    family = registry.get(spec.template).schema
    problems = []
    problems += _check_universe(spec, family, doc)
    problems += _check_resolution(spec, family, doc)
    problems += _check_parameters(spec, family, doc)
    if not problems:
        problems += _check_constraints(spec, family, doc) or _check_sweep_grid(spec, family, doc)
    problems += _check_rules(spec, doc, rule_names)
    for problem in problems:
        if problem.file is None:  # pragma: no cover - every check passes the source
            problem.file = Path(source)
    return problems


def _check_universe(spec: HypothesisSpec, family: FamilySchema, doc: yamlfile.LocatedYaml) -> list[SpecError]:
    if spec.universe is None:
        return []
    size = family.universe_size
    if size.min <= len(spec.universe) <= size.max:
        return []
    return [SpecError(
        f"template {family.name} trades {size.min} to {size.max} tickers, this universe has {len(spec.universe)}",
        file=doc.source, line=_line(doc, ("universe",)), field="universe",
        allowed=f"{size.min}..{size.max} tickers, e.g. [{', '.join(family.default_universe)}]",
    )]


def _check_resolution(spec: HypothesisSpec, family: FamilySchema, doc: yamlfile.LocatedYaml) -> list[SpecError]:
    if spec.resolution is None or spec.resolution in family.resolutions:
        return []
    return [SpecError(f"template {family.name} does not support resolution '{spec.resolution}'",
                      file=doc.source, line=_line(doc, ("resolution",)), field="resolution",
                      allowed=", ".join(family.resolutions))]


def _check_parameters(spec: HypothesisSpec, family: FamilySchema, doc: yamlfile.LocatedYaml) -> list[SpecError]:
    problems = []
    declared = ", ".join(family.parameters)
    for name, param in spec.parameters.items():
        schema = family.parameters.get(name)
        if schema is None:
            guess = did_you_mean(name, family.parameters)
            problems.append(SpecError(
                f"parameter '{name}' is not declared by template {family.name} (declared: {declared})"
                + (f"; did you mean '{guess}'?" if guess else ""),
                file=doc.source, line=_line(doc, ("parameters", name)), field=f"parameters.{name}",
                hint="`qcloop templates " + family.name + "` describes each parameter",
            ))
            continue
        problems += _check_value(param.default, schema, family, doc, ("parameters", name, "default"))
        problems += _check_sweep(param, schema, family, doc, name)
    return problems


def _check_value(
    value: Number, schema: ParameterSchema, family: FamilySchema, doc: yamlfile.LocatedYaml,
    location: tuple[str | int, ...], *, what: str = "",
) -> list[SpecError]:
    field = ".".join(str(part) for part in location)
    line = _line(doc, location)
    shown = format_number(value)
    if schema.type == "int" and float(value) != int(value):
        return [SpecError(f"{what}{shown} is not a whole number; this parameter is an int", file=doc.source,
                          line=line, field=field, allowed=f"whole numbers {schema.allowed()}")]
    if value < schema.min:
        return [SpecError(f"{what}{shown} is below the template's minimum {format_number(schema.min)}",
                          file=doc.source, line=line, field=field, allowed=schema.allowed())]
    if value > schema.max:
        return [SpecError(f"{what}{shown} is above the template's maximum {format_number(schema.max)}",
                          file=doc.source, line=line, field=field, allowed=schema.allowed())]
    return []


def _check_sweep(
    param: ParameterSpec, schema: ParameterSchema, family: FamilySchema, doc: yamlfile.LocatedYaml, name: str,
) -> list[SpecError]:
    sweep = param.sweep
    if sweep is None:
        return []
    base: tuple[str | int, ...] = ("parameters", name, "sweep")
    problems: list[SpecError] = []
    if isinstance(sweep, SweepRange):
        for key in ("min", "max", "step"):
            value = getattr(sweep, key)
            if key == "step":
                if schema.type == "int" and float(value) != int(value):
                    problems.append(SpecError(
                        f"step {format_number(value)} is not a whole number; this parameter is an int",
                        file=doc.source, line=_line(doc, (*base, key)), field=".".join(map(str, (*base, key))),
                        allowed="a positive whole number",
                    ))
            else:
                problems += _check_value(value, schema, family, doc, (*base, key))
        count = sweep.count()
    else:
        for index, value in enumerate(sweep):
            problems += _check_value(value, schema, family, doc, (*base, index))
        count = len(sweep)
    if count > MAX_SWEEP_VALUES:
        shown = f"{count:,}" if count <= 1_000_000 else "millions of"
        problems.append(SpecError(f"the sweep has {shown} values, more than {MAX_SWEEP_VALUES}", file=doc.source,
                                  line=_line(doc, base), field=".".join(map(str, base)),
                                  allowed=f"at most {MAX_SWEEP_VALUES} values: widen the step"))
    return problems


def _check_constraints(spec: HypothesisSpec, family: FamilySchema, doc: yamlfile.LocatedYaml) -> list[SpecError]:
    values: dict[str, Number] = dict(resolved_parameters(spec, family))
    values[UNIVERSE_SIZE_NAME] = len(spec.universe or family.default_universe)
    problems = []
    for constraint in family.constraints:
        if constraint.holds(values):
            continue
        subject = constraint.left if constraint.left in spec.parameters else constraint.right
        location: tuple[str, ...] = ("parameters", subject) if subject in spec.parameters else ("template",)
        shown = ", ".join(f"{n} = {format_number(values[n])}" for n in (constraint.left, constraint.right))
        problems.append(SpecError(
            f"template {family.name} requires {constraint}, but {shown}", file=doc.source,
            line=_line(doc, location), field=".".join(location), allowed=str(constraint),
        ))
    return problems


def _check_sweep_grid(spec: HypothesisSpec, family: FamilySchema, doc: yamlfile.LocatedYaml) -> list[SpecError]:
    """What a sweep notebook needs: at most two swept parameters, and one grid point inside the
    family's constraints (otherwise the file validates but its sweep has nothing to run)."""
    swept = sorted(name for name, param in spec.parameters.items() if param.sweep is not None)
    line = _line(doc, ("parameters",))
    if len(swept) > MAX_SWEPT_PARAMETERS:
        return [SpecError(
            f"{len(swept)} parameters have a sweep ({', '.join(swept)}); a sweep maps at most "
            f"{MAX_SWEPT_PARAMETERS} of them", file=doc.source, line=line, field="parameters",
            allowed=f"a sweep on at most {MAX_SWEPT_PARAMETERS} parameters; give the others a default only",
        )]
    if not family.constraints:
        return []
    values: dict[str, Number] = {**resolved_parameters(spec, family),
                                 UNIVERSE_SIZE_NAME: len(spec.universe or family.default_universe)}
    grid = sweep_grid(spec, family)
    for point in itertools.product(*grid.values()):
        candidate = {**values, **dict(zip(grid, point, strict=True))}
        if all(constraint.holds(candidate) for constraint in family.constraints):
            return []
    rules = ", ".join(str(c) for c in family.constraints)
    return [SpecError(f"no combination of the sweep values meets {rules}, so the sweep would have nothing to run",
                      file=doc.source, line=line, field="parameters", allowed=rules)]


def _check_rules(
    spec: HypothesisSpec, doc: yamlfile.LocatedYaml, rule_names: Collection[str] | None,
) -> list[SpecError]:
    if rule_names is None:
        return []
    allowed = ", ".join(sorted(rule_names))
    problems = []
    for name in spec.rules:
        if name in rule_names:
            continue
        guess = did_you_mean(name, rule_names)
        problems.append(SpecError(
            f"unknown rule '{name}'" + (f" (did you mean '{guess}'?)" if guess else ""), file=doc.source,
            line=_line(doc, ("rules", name)), field=f"rules.{name}", allowed=allowed,
        ))
    return problems


def hypothesis_files(folder: Path) -> list[Path]:
    """The hypothesis files of a folder, skipping drafts whose names start with '_' or '.'."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir()
                   if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith(("_", "."))),
                  key=lambda p: id_sort_key(p.stem))


def load_hypotheses(
    folder: Path, *, registry: FamilyRegistry, rule_names: Collection[str] | None = None,
    relative_to: Path | None = None,
) -> LoadedHypotheses:
    """Every valid hypothesis in ``folder`` (id order) and the problems of the invalid ones.

    One broken file never stops the loop: its problems are returned, the other files still load.
    ``relative_to`` (e.g. the workspace) shortens the file names shown in messages.
    """
    specs: list[HypothesisSpec] = []
    problems: list[SpecError] = []
    seen: dict[str, Path] = {}
    for path in hypothesis_files(folder):
        label = _display(path, relative_to)
        spec, file_problems = check_hypothesis_file(path, registry=registry, rule_names=rule_names,
                                                    display_path=label)
        problems += file_problems
        if spec is None:
            continue
        if spec.id in seen:
            problems.append(SpecError(f"id '{spec.id}' is also used by {_display(seen[spec.id], relative_to)}",
                                      file=label, field="id", hint="remove or rename one of the two files"))
            continue
        seen[spec.id] = path
        specs.append(spec)
    return LoadedHypotheses(sorted(specs, key=lambda s: id_sort_key(s.id)), problems)


def _display(path: Path, relative_to: Path | None) -> str:
    if relative_to is not None:
        try:
            return str(path.resolve().relative_to(relative_to.resolve()))
        except ValueError:
            pass
    return str(path)


# --- writing -----------------------------------------------------------------------------------


def yaml_scalar(value: Any) -> str:
    """One YAML flow scalar (quoted only where YAML needs it)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    if value is None:
        return "null"
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def yaml_flow(value: Any) -> str:
    """A value as YAML flow text (``{a: 1}``, ``[x, y]``) that reads back as the same value."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow_string(str(key))}: {yaml_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_flow(item) for item in value) + "]"
    return _flow_string(value) if isinstance(value, str) else yaml_scalar(value)


def _flow_string(text: str) -> str:
    """A string inside a flow collection: plain where it reads back unchanged there, else double-quoted.

    yaml_scalar quotes for block context, where ``a, b`` or ``a]`` are plain text; inside ``[...]`` the
    comma and bracket are syntax. A JSON string is a valid YAML double-quoted scalar.
    """
    plain = yaml_scalar(text)
    try:
        if yaml.safe_load(f"[{plain}]") == [text] and yaml.safe_load(f"{{{plain}: 0}}") == {text: 0}:
            return plain
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def yaml_text_field(key: str, text: str) -> str:
    """A long text as a folded block (``>-``) when that reads back identically, else a quoted scalar."""
    import textwrap

    if len(text) <= 80 and "\n" not in text:
        return f"{key}: {yaml_scalar(text)}"
    wrapped = textwrap.fill(text, width=96, break_long_words=False, break_on_hyphens=False)
    candidate = f"{key}: >-\n" + textwrap.indent(wrapped, "  ")
    try:
        if yaml.safe_load(candidate) == {key: text}:
            return candidate
    except yaml.YAMLError:
        pass
    return f"{key}: {yaml_scalar(text)}"


def parameter_entry(param: ParameterSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {"default": param.default}
    if isinstance(param.sweep, SweepRange):
        entry["sweep"] = {"min": param.sweep.min, "max": param.sweep.max, "step": param.sweep.step}
    elif param.sweep is not None:
        entry["sweep"] = list(param.sweep)
    return entry


def dump_hypothesis(spec: HypothesisSpec, *, header: Iterable[str] = ()) -> str:
    """The spec as a hypothesis file (comments from ``header`` first); it loads back to the same spec."""
    lines = [f"# {line}".rstrip() for line in header]
    lines += [f"id: {spec.id}", yaml_text_field("title", spec.title), yaml_text_field("rationale", spec.rationale),
              f"template: {spec.template}"]
    if spec.universe is not None:
        lines.append(f"universe: {yaml_flow(list(spec.universe))}")
    lines += [f"start: {yaml_scalar(spec.start)}", f"end: {yaml_scalar(spec.end)}", f"cash: {yaml_scalar(spec.cash)}"]
    if spec.resolution is not None:
        lines.append(f"resolution: {spec.resolution}")
    if spec.parameters:
        lines.append("parameters:")
        lines += [f"  {name}: {yaml_flow(parameter_entry(param))}" for name, param in spec.parameters.items()]
    if spec.rules:
        lines.append(f"rules: {yaml_flow(dict(spec.rules))}")
    lines.append(f"parent: {yaml_scalar(spec.parent)}")
    if spec.tags:
        lines.append(f"tags: {yaml_flow(list(spec.tags))}")
    return "\n".join(lines) + "\n"


def spec_fingerprint(spec: HypothesisSpec, family: FamilySchema) -> tuple[Any, ...]:
    """What makes two hypotheses the same experiment (ids, titles and texts aside)."""
    return (spec.template, tuple(spec.universe or family.default_universe), spec.start, spec.end,
            float(spec.cash), spec.resolution or family.resolution,
            tuple(sorted(resolved_parameters(spec, family).items())))


def existing_ids(folder: Path, extra: Iterable[str] = ()) -> set[str]:
    """Ids already taken: the hypothesis files' names (valid or not) plus ``extra`` (e.g. state files)."""
    taken = {path.stem for path in hypothesis_files(folder)}
    if folder.is_dir():  # drafts (_H-004.yaml) reserve their id too
        taken |= {path.stem.lstrip("_.") for path in folder.iterdir() if path.suffix in SUFFIXES}
    return taken | set(extra)


def next_free_id(taken: Iterable[str]) -> str:
    """The next ``H-NNN`` after the highest number in use (letters of variants ignored)."""
    numbers = [int(match[1]) for match in (ID_PATTERN.match(i) for i in taken) if match]
    return f"H-{max(numbers, default=0) + 1:03d}"
