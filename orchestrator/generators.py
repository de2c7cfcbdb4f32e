"""Where new hypotheses come from: the queue of files, variants of finished ones, an external command.

* **The queue**: the valid files in ``hypotheses/`` that the loop does not know yet, in id order
  (``pending_hypotheses``). Broken files come back as problems, never as exceptions.
* **Variants** of a finished hypothesis (``propose_variants``): the same idea on another universe,
  the neighbouring parameter ranges (or the range around the best parameters found), and the
  related families. Capped per hypothesis and in total (``generators.variants_per_hypothesis`` and
  ``generators.max_variants_total``); written as new files with ``parent`` set (``write_variants``).
* **An external command** (``generators.command`` in qcloop.yaml), e.g. an LLM agent: it gets the
  workspace's history as JSON on stdin and prints hypothesis YAML (one or more documents) on stdout.
  Its output is validated exactly like a file. Anything wrong (a missing command, a timeout, a
  non-zero exit, output over the size limit, text that is not YAML or uses tags such as
  ``!!python/object/apply``, unknown templates, duplicate ids) becomes a ``Rejection`` with the
  reason; ``run_generator_command`` never raises for what the command does.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from orchestrator import yamlfile
from orchestrator.config import Settings
from orchestrator.credentials import ENV_API_TOKEN, ENV_USER_ID, redact
from orchestrator.hypotheses import (
    ID_PATTERN,
    HypothesisSpec,
    LoadedHypotheses,
    ParameterSpec,
    SweepRange,
    check_hypothesis_document,
    check_hypothesis_text,
    dump_hypothesis,
    existing_ids,
    id_sort_key,
    load_hypotheses,
    next_free_id,
    resolved_parameters,
    spec_fingerprint,
    sweep_grid,
)
from orchestrator.strategies import FamilyRegistry, FamilySchema, Number

MAX_PROPOSALS_PER_RUN = 20  # hypotheses accepted from one run of the external command
MAX_DOCUMENTS = 100  # documents read from one run; the rest are ignored with one rejection
STDERR_TAIL_BYTES = 2_000
_DOCUMENT_MARKER = re.compile(r"^(---|\.\.\.)(\s.*)?$")

# --- the queue ---------------------------------------------------------------------------------


def pending_hypotheses(
    folder: Path, *, registry: FamilyRegistry, known_ids: Collection[str],
    rule_names: Collection[str] | None = None, relative_to: Path | None = None,
) -> LoadedHypotheses:
    """The queue: valid hypotheses in ``folder`` whose ids are not in ``known_ids`` (the loop's
    state), in id order, plus the problems of every invalid file (reported, never raised)."""
    loaded = load_hypotheses(folder, registry=registry, rule_names=rule_names, relative_to=relative_to)
    known = set(known_ids)
    return LoadedHypotheses([spec for spec in loaded.specs if spec.id not in known], loaded.problems)


# --- variants ----------------------------------------------------------------------------------

VariantKind = Literal["universe", "parameters", "family"]


@dataclass(frozen=True)
class Variant:
    """A proposed hypothesis derived from ``spec.parent``, and why it is worth testing."""

    spec: HypothesisSpec
    kind: VariantKind
    reason: str

    def file_text(self) -> str:
        return dump_hypothesis(self.spec, header=[
            f"Variant of {self.spec.parent} ({self.kind}): {self.reason}",
            "Proposed by qcloop's variant generator; edit it freely before the loop picks it up.",
        ])


def variant_budget(parent_id: str, existing: Sequence[HypothesisSpec], settings: Settings) -> int:
    """How many more variants of ``parent_id`` the caps allow (per hypothesis and in total)."""
    variants = [spec for spec in existing if spec.parent is not None]
    of_parent = sum(1 for spec in variants if spec.parent == parent_id)
    per_parent = settings.generators.variants_per_hypothesis - of_parent
    total = settings.generators.max_variants_total - len(variants)
    return max(0, min(per_parent, total))


def propose_variants(
    parent: HypothesisSpec, *, registry: FamilyRegistry, existing: Sequence[HypothesisSpec],
    taken_ids: Collection[str], limit: int, best_parameters: Mapping[str, Number] | None = None,
) -> list[Variant]:
    """Up to ``limit`` variants of ``parent`` that do not repeat an existing experiment.

    Candidates alternate between the kinds (another universe, neighbouring parameters, the next
    family) so that even a small cap explores in different directions. ``best_parameters`` (the
    robust parameters an optimization found) centres the parameter variant on them. Every variant
    is validated like a file before it is returned. Deterministic: the same inputs give the same
    variants.
    """
    if limit <= 0:
        return []
    family = registry.get(parent.template).schema
    seen = {spec_fingerprint(spec, registry.get(spec.template).schema) for spec in existing
            if spec.template in registry}
    seen.add(spec_fingerprint(parent, family))
    taken = set(taken_ids) | {spec.id for spec in existing}
    queues = [
        _universe_candidates(parent, family),
        _parameter_candidates(parent, family, best_parameters),
        _family_candidates(parent, family, registry),
    ]
    variants: list[Variant] = []
    for kind, changes, reason in _interleave(queues):
        if len(variants) >= limit:
            break
        new_id = variant_id(parent.id, taken)
        candidate = _derive(parent, new_id, changes, reason)
        spec, problems = check_hypothesis_text(dump_hypothesis(candidate), source=f"variant {new_id}",
                                               registry=registry)
        if spec is None or problems:
            continue  # e.g. a neighbouring range that breaks the family's constraints
        fingerprint = spec_fingerprint(spec, registry.get(spec.template).schema)
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        taken.add(new_id)
        variants.append(Variant(spec=spec, kind=kind, reason=reason))
    return variants


def write_variants(folder: Path, variants: Iterable[Variant]) -> list[Path]:
    """Write each variant to ``folder/<id>.yaml``; returns the paths written.

    A variant whose id a file in ``folder`` already holds (e.g. a broken file, which is not among the
    valid ids the caller passed as taken) is skipped: the file is never written over.
    """
    folder.mkdir(parents=True, exist_ok=True)
    return [path for variant in variants
            if (path := _write_new(folder, variant.spec.id, variant.file_text())) is not None]


def _write_new(folder: Path, hypothesis_id: str, text: str) -> Path | None:
    """Write ``folder/<id>.yaml`` unless the id is reserved there (a file or a draft); None if it is."""
    if hypothesis_id in existing_ids(folder):
        return None
    path = folder / f"{hypothesis_id}.yaml"
    try:
        with path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except FileExistsError:  # created since the check: it is someone else's
        return None
    return path


def variant_id(parent_id: str, taken: Collection[str]) -> str:
    """``H-007`` -> ``H-007a`` (then b, c, ...); the next free ``H-NNN`` when letters run out."""
    match = ID_PATTERN.match(parent_id)
    if match and len(match[2]) < 4:
        for letter in "abcdefghijklmnopqrstuvwxyz":
            candidate = parent_id + letter
            if candidate not in taken:
                return candidate
    return next_free_id([*taken, parent_id])


Candidate = tuple[VariantKind, dict[str, Any], str]


def _interleave(queues: Sequence[list[Candidate]]) -> Iterable[Candidate]:
    for index in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if index < len(queue):
                yield queue[index]


def _derive(parent: HypothesisSpec, new_id: str, changes: Mapping[str, Any], reason: str) -> HypothesisSpec:
    changes = dict(changes)
    title = changes.pop("title_suffix", "")
    fields: dict[str, Any] = {
        "id": new_id,
        "title": f"{_base_title(parent.title)} — {title}" if title else parent.title,
        "rationale": f"Variant of {parent.id}: {reason} {parent.rationale}",
        "parent": parent.id,
        "tags": tuple(dict.fromkeys((*parent.tags, "variant"))),
        **changes,
    }
    return parent.model_copy(update=fields)


def _base_title(title: str) -> str:
    """A variant of a variant keeps one suffix, not a growing chain of them."""
    return title.split(" — ", maxsplit=1)[0]


def _universe_candidates(parent: HypothesisSpec, family: FamilySchema) -> list[Candidate]:
    current = tuple(parent.universe or family.default_universe)
    candidates: list[Candidate] = []
    for universe in family.variant_universes:
        if tuple(universe) == current:
            continue
        names = ", ".join(universe)
        candidates.append(("universe", {"universe": tuple(universe), "title_suffix": f"on {names}"},
                           f"the same rule on {names} instead of {', '.join(current)}, to see whether the "
                           "effect is specific to one market."))
    return candidates


def _parameter_candidates(
    parent: HypothesisSpec, family: FamilySchema, best: Mapping[str, Number] | None,
) -> list[Candidate]:
    grid = sweep_grid(parent, family)
    values = resolved_parameters(parent, family)
    candidates: list[Candidate] = []
    if best:
        centre = {name: family.parameters[name].coerce(v) for name, v in best.items() if name in family.parameters}
        if centre and any(values[name] != v for name, v in centre.items()):
            shown = ", ".join(f"{name} = {v}" for name, v in centre.items())
            candidates.append(("parameters", _centred_on(parent, family, centre, grid),
                               f"the parameter range around the best values found ({shown})."))
    for direction, word in ((1, "higher"), (-1, "lower")):
        shifted = _shifted(parent, family, grid, direction)
        if shifted is not None:
            shifted["title_suffix"] = f"{word} {'/'.join(grid)}"
            candidates.append(("parameters", shifted,
                               f"the neighbouring, {word} range of {' and '.join(grid)}, to map the edge of "
                               "the parameter plateau."))
    return candidates


def _centred_on(parent: HypothesisSpec, family: FamilySchema, centre: Mapping[str, Number],
                grid: Mapping[str, list[Number]]) -> dict[str, Any]:
    parameters = dict(parent.parameters)
    for name, value in centre.items():
        schema = family.parameters[name]
        span = 3 * schema.step
        low, high = max(schema.min, value - span), min(schema.max, value + span)
        sweep = SweepRange(min=schema.coerce(low), max=schema.coerce(high), step=schema.coerce(schema.step)) \
            if name in grid else None
        parameters[name] = ParameterSpec(default=value, sweep=sweep)
    return {"parameters": parameters, "title_suffix": "around the best parameters"}


def _shifted(parent: HypothesisSpec, family: FamilySchema, grid: Mapping[str, list[Number]],
             direction: int) -> dict[str, Any] | None:
    """Every swept parameter's grid moved by its own width, up or down (None if none can move)."""
    parameters = dict(parent.parameters)
    values = resolved_parameters(parent, family)
    moved = False
    for name, points in grid.items():
        schema = family.parameters[name]
        if not points:
            continue
        low, high = min(points), max(points)
        step = schema.step if len(points) < 2 else (high - low) / (len(points) - 1)
        width = (high - low) + step
        new_low = max(schema.min, min(schema.max, low + direction * width))
        new_high = max(schema.min, min(schema.max, high + direction * width))
        if new_low == low and new_high == high:
            continue
        default = max(new_low, min(new_high, values[name] + direction * width))
        sweep = SweepRange(min=schema.coerce(new_low), max=schema.coerce(new_high),
                           step=schema.coerce(step if schema.type == "float" else max(1, round(step))))
        parameters[name] = ParameterSpec(default=schema.coerce(_on_grid(default, new_low, step)), sweep=sweep)
        moved = True
    return {"parameters": parameters} if moved else None


def _on_grid(value: float, low: float, step: float) -> float:
    return round(low + round((value - low) / step) * step, 10)


def _family_candidates(parent: HypothesisSpec, family: FamilySchema, registry: FamilyRegistry) -> list[Candidate]:
    current = tuple(parent.universe or family.default_universe)
    candidates: list[Candidate] = []
    for name in family.related:
        if name not in registry:
            continue
        other = registry.get(name).schema
        fits = other.universe_size.min <= len(current) <= other.universe_size.max
        universe = current if fits else tuple(other.default_universe)
        resolution = parent.resolution if parent.resolution in other.resolutions else other.resolution
        candidates.append(("family", {
            "template": name, "universe": universe, "resolution": resolution, "parameters": {},
            "title": f"{other.title} on {', '.join(universe)}",
        }, f"the same market with the related family {name} ({other.title}), to test the idea behind "
           f"{family.name} another way."))
    return candidates


# --- the external command ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """Why (part of) the external command's output was not accepted."""

    reason: str
    document: int | None = None  # 1-based document number in the output, when one is to blame
    hypothesis_id: str | None = None

    def __str__(self) -> str:
        where = f"document {self.document}" if self.document else "output"
        who = f" ({self.hypothesis_id})" if self.hypothesis_id else ""
        return f"{where}{who}: {self.reason}"


@dataclass(frozen=True)
class GeneratorResult:
    """What one run of the external command produced: accepted specs and every rejection."""

    command: tuple[str, ...]
    accepted: list[HypothesisSpec] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    exit_code: int | None = None
    stderr_tail: str = ""

    def summary(self) -> str:
        text = f"generator {' '.join(self.command)}: {len(self.accepted)} accepted"
        if self.rejections:
            text += f", {len(self.rejections)} rejected (" + "; ".join(map(str, self.rejections[:3]))
            text += ", ..." if len(self.rejections) > 3 else ""
            text += ")"
        return text


def build_generator_input(
    history: Sequence[Mapping[str, Any]], *, registry: FamilyRegistry, taken_ids: Collection[str],
) -> dict[str, Any]:
    """The JSON document the external command reads on stdin.

    ``history`` is the loop's account of each hypothesis (its spec, stage, metrics and decisions).
    The templates and the id rules are included so that an agent can write valid files.
    """
    return {
        "schema_version": 1,
        "kind": "qcloop.generator-input",
        "instructions": (
            "Print one or more hypothesis YAML documents on stdout, separated by '---' lines. Fields: "
            "id, title, rationale, template, universe, start, end, cash, resolution, parameters "
            "({name: {default: N, sweep: {min, max, step}}}), rules, parent, tags. Use a template and "
            "parameters from 'templates'; use new ids (next_free_id, or leave id out to get one)."
        ),
        "next_free_id": next_free_id(taken_ids),
        "taken_ids": sorted(taken_ids, key=id_sort_key),
        "templates": [_template_summary(family.schema) for family in registry.families()],
        "hypotheses": [dict(item) for item in history],
    }


def _template_summary(family: FamilySchema) -> dict[str, Any]:
    return {
        "name": family.name, "title": family.title, "idea": " ".join(family.idea.split()),
        "default_universe": list(family.default_universe),
        "universe_size": family.universe_size.model_dump(), "resolutions": list(family.resolutions),
        "parameters": {name: p.model_dump() for name, p in family.parameters.items()},
        "constraints": [str(c) for c in family.constraints], "sweep": list(family.sweep),
    }


def run_configured_generator(
    settings: Settings, history: Sequence[Mapping[str, Any]], *, registry: FamilyRegistry,
    taken_ids: Collection[str], rule_names: Collection[str] | None = None,
) -> GeneratorResult | None:
    """Run ``generators.command`` from qcloop.yaml in the workspace; None when none is configured."""
    command = settings.generators.command
    if not command:
        return None
    payload = build_generator_input(history, registry=registry, taken_ids=taken_ids)
    return run_generator_command(
        command, payload, registry=registry, taken_ids=taken_ids, cwd=settings.workspace,
        timeout_seconds=settings.generators.command_timeout_seconds,
        max_output_bytes=settings.generators.max_output_bytes, rule_names=rule_names,
    )


def run_generator_command(
    command: Sequence[str], payload: Mapping[str, Any], *, registry: FamilyRegistry,
    taken_ids: Collection[str], cwd: Path, timeout_seconds: float, max_output_bytes: int,
    rule_names: Collection[str] | None = None, environ: Mapping[str, str] | None = None,
) -> GeneratorResult:
    """Run the command with ``payload`` as JSON on stdin and validate what it prints.

    Never raises for the command's behaviour: every failure is a Rejection in the result. The
    QuantConnect credentials are removed from the command's environment.
    """
    run = _run_bounded(list(command), json.dumps(payload, default=str).encode("utf-8"), cwd=cwd,
                       timeout=timeout_seconds, max_output=max_output_bytes, environ=environ)
    base = GeneratorResult(command=tuple(command), exit_code=run.exit_code, stderr_tail=run.stderr_tail)
    if run.failure is not None:
        return _with(base, rejections=[Rejection(run.failure)])
    try:
        text = run.stdout.decode("utf-8")
    except UnicodeDecodeError:
        return _with(base, rejections=[Rejection("the output is not UTF-8 text")])
    accepted, rejections = parse_generator_output(text, registry=registry, taken_ids=taken_ids,
                                                  rule_names=rule_names)
    return _with(base, accepted=accepted, rejections=rejections)


def _with(result: GeneratorResult, **changes: Any) -> GeneratorResult:
    return GeneratorResult(**{**result.__dict__, **changes})


def parse_generator_output(
    text: str, *, registry: FamilyRegistry, taken_ids: Collection[str],
    rule_names: Collection[str] | None = None, source: str = "<generator output>",
) -> tuple[list[HypothesisSpec], list[Rejection]]:
    """Validate every YAML document in ``text`` like a hypothesis file (ids must be new)."""
    accepted: list[HypothesisSpec] = []
    rejections: list[Rejection] = []
    taken = set(taken_ids)
    for number, doc_or_error in enumerate(_documents(text, source), start=1):
        if number > MAX_DOCUMENTS:
            rejections.append(Rejection(f"more than {MAX_DOCUMENTS} documents; the rest were not read",
                                        document=number))
            break
        if isinstance(doc_or_error, Rejection):
            rejections.append(Rejection(doc_or_error.reason, document=number))
            continue
        if len(accepted) >= MAX_PROPOSALS_PER_RUN:
            rejections.append(Rejection(f"more than {MAX_PROPOSALS_PER_RUN} hypotheses in one run", document=number))
            continue
        spec, problem = _accept_document(doc_or_error, registry=registry, taken=taken, rule_names=rule_names)
        if spec is None:
            assert problem is not None
            rejections.append(Rejection(problem[0], document=number, hypothesis_id=problem[1]))
            continue
        taken.add(spec.id)
        accepted.append(spec)
    return accepted, rejections


def _accept_document(
    doc: yamlfile.LocatedYaml, *, registry: FamilyRegistry, taken: set[str], rule_names: Collection[str] | None,
) -> tuple[HypothesisSpec | None, tuple[str, str | None] | None]:
    data = doc.data
    if isinstance(data, dict) and "id" not in data:
        data = {"id": next_free_id(taken), **data}  # an agent may leave numbering to qcloop
        doc = yamlfile.LocatedYaml(data=data, source=doc.source, lines=doc.lines)
    claimed = data.get("id") if isinstance(data, dict) else None
    claimed_id = claimed if isinstance(claimed, str) else None
    if claimed_id is not None and claimed_id in taken:
        return None, (f"id '{claimed_id}' is already used; the next free id is {next_free_id(taken)}", claimed_id)
    spec, problems = check_hypothesis_document(doc, registry=registry, rule_names=rule_names)
    if spec is None:
        return None, ("; ".join(str(p) for p in problems[:3]) + (" ..." if len(problems) > 3 else ""), claimed_id)
    return spec, None


def _documents(text: str, source: str) -> Iterator[yamlfile.LocatedYaml | Rejection]:
    """Split a YAML stream at its document markers and parse each part safely, one at a time.

    Line numbers are shifted so that messages name lines of the whole output. A document that is a
    list is taken as a list of hypotheses (JSON arrays are YAML too).
    """
    current: list[str] = []
    start = 0
    for index, line in enumerate(text.splitlines()):
        if not _DOCUMENT_MARKER.match(line):
            current.append(line)
            continue
        yield from _parse_part(current, start, source)
        current, start = [], index + 1
        rest = line[3:].strip()
        if line.startswith("---") and rest:  # `--- {id: H-009, ...}`: content on the marker line
            current, start = [rest], index
    yield from _parse_part(current, start, source)


def _parse_part(lines: list[str], offset: int, source: str) -> Iterator[yamlfile.LocatedYaml | Rejection]:
    if all(not line.strip() or line.lstrip().startswith("#") for line in lines):
        return
    try:
        doc = yamlfile.loads("\n".join(lines), source=source)
    except yamlfile.YamlError as exc:
        yield Rejection(f"not valid YAML at line {exc.line + offset}: {exc.reason}" if exc.line
                        else f"not valid YAML: {exc.reason}")
        return
    doc = yamlfile.LocatedYaml(data=doc.data, source=source,
                               lines={key: line + offset for key, line in doc.lines.items()})
    if isinstance(doc.data, list):
        yield from _list_items(doc)
    else:
        yield doc


def _list_items(doc: yamlfile.LocatedYaml) -> list[yamlfile.LocatedYaml | Rejection]:
    items: list[yamlfile.LocatedYaml | Rejection] = []
    for index, item in enumerate(doc.data):
        lines = {key[1:]: line for key, line in doc.lines.items() if key[:1] == (index,)}
        items.append(yamlfile.LocatedYaml(data=item, source=doc.source, lines=lines))
    return items


def write_generated(folder: Path, specs: Iterable[HypothesisSpec], command: Sequence[str]) -> list[Path]:
    """Write accepted proposals to ``folder/<id>.yaml``; returns the paths written (their names are the ids).

    A proposal whose id a file in ``folder`` already holds (e.g. a broken file, which is not among the
    valid ids the caller passed as taken) is written under the next free id instead: the file on disk
    is never written over, and the proposal is not lost.
    """
    folder.mkdir(parents=True, exist_ok=True)
    header = [f"Proposed by the external generator ({' '.join(command)})."]
    written: list[Path] = []
    for spec in specs:
        proposal = spec
        while (path := _write_new(folder, proposal.id, dump_hypothesis(proposal, header=header))) is None:
            taken = existing_ids(folder, [proposal.id, *(p.stem for p in written)])
            proposal = proposal.model_copy(update={"id": next_free_id(taken)})
        written.append(path)
    return written


# --- running a command within limits ------------------------------------------------------------


@dataclass
class _Run:
    stdout: bytes = b""
    stderr_tail: str = ""
    exit_code: int | None = None
    failure: str | None = None


def _child_environment(environ: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    for name in (ENV_API_TOKEN, ENV_USER_ID):  # a proposer never needs the QuantConnect account
        env.pop(name, None)
    return env


def _run_bounded(command: list[str], stdin: bytes, *, cwd: Path, timeout: float, max_output: int,
                 environ: Mapping[str, str] | None) -> _Run:
    """Run ``command`` with a wall-clock limit and an output limit, killing its process group when
    either is exceeded (the group is the command's own: it is started in a new session)."""
    shown = " ".join(command)
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
            env=_child_environment(environ), start_new_session=True,
        )
    except FileNotFoundError:
        return _Run(failure=f"command not found: {command[0]} (check generators.command in qcloop.yaml)")
    except PermissionError:
        return _Run(failure=f"command is not executable: {command[0]} (chmod +x it, or run it via its interpreter)")
    except OSError as exc:
        return _Run(failure=f"could not start {shown}: {exc.strerror or exc}")
    out = _Reader(process.stdout, limit=max_output, on_overflow=lambda: _kill_group(process))
    err = _Reader(process.stderr, limit=STDERR_TAIL_BYTES, keep_tail=True)
    writer = threading.Thread(target=_feed, args=(process, stdin), daemon=True)
    for thread in (out, err, writer):
        thread.start()
    failure = None
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.wait()
        failure = f"timed out after {timeout:g} s (generators.command_timeout_seconds) and was stopped"
    for thread in (out, err, writer):
        thread.join(timeout=5)  # a grandchild that left the group could hold a pipe open
    tail = redact(err.data.decode("utf-8", errors="replace").strip())
    if failure is None and out.overflowed:
        failure = f"printed more than {max_output} bytes (generators.max_output_bytes) and was stopped"
    if failure is None and process.returncode != 0:
        last = tail.splitlines()[-1] if tail else "no error output"
        failure = f"exited with code {process.returncode}: {last}"
    return _Run(stdout=out.data, stderr_tail=tail, exit_code=process.returncode, failure=failure)


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(data)
        process.stdin.close()
    except (BrokenPipeError, OSError):
        pass  # the command does not read its input, or has already exited: its choice


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class _Reader(threading.Thread):
    """Drain a pipe in the background, keeping at most ``limit`` bytes (the head, or the tail)."""

    def __init__(self, pipe: Any, *, limit: int, keep_tail: bool = False,
                 on_overflow: Any = None) -> None:
        super().__init__(daemon=True)
        self.pipe = pipe
        self.limit = limit
        self.keep_tail = keep_tail
        self.on_overflow = on_overflow
        self.data = b""
        self.overflowed = False

    def run(self) -> None:
        while True:
            chunk = self.pipe.read1(65536) if hasattr(self.pipe, "read1") else self.pipe.read(65536)
            if not chunk:
                break
            if self.keep_tail:
                self.data = (self.data + chunk)[-self.limit:]
                continue
            if len(self.data) + len(chunk) > self.limit:
                self.overflowed = True
                self.data += chunk[: self.limit - len(self.data)]
                if self.on_overflow is not None:
                    self.on_overflow()
                break
            self.data += chunk
        with contextlib.suppress(OSError):
            self.pipe.close()
