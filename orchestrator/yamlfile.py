"""Read YAML safely and keep line numbers, so that errors can say ``file:line: field``.

Only YAML's safe subset is accepted: tags such as ``!!python/object`` raise an error instead of
running code, and anchors/aliases (``&name``/``*name``) are refused before the document is read, since
nested aliases expand exponentially (a "billion laughs": ten lines that take hours to read) and no
qcloop file needs them. ``LocatedYaml.line_of(("parameters", "fast", "default"))`` gives the 1-based line where
that value (or the nearest existing parent) was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class LocatedYaml:
    data: Any
    source: str
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, location: Sequence[str | int]) -> int | None:
        """The line of the deepest existing prefix of ``location`` (None if the document is empty)."""
        loc = tuple(location)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())


class YamlError(ValueError):
    """Raised with a one-line message that names the source and line."""

    def __init__(self, message: str, *, source: str, line: int | None = None) -> None:
        super().__init__(f"{source}{f':{line}' if line else ''}: {message}")
        self.source = source
        self.line = line
        self.reason = message


def _collect_lines(node: yaml.Node, prefix: Location, out: dict[Location, int]) -> None:
    out.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            path = (*prefix, key)
            out[path] = key_node.start_mark.line + 1
            _collect_lines(value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            out[path] = item.start_mark.line + 1
            _collect_lines(item, path, out)


ALIASES_REFUSED = "YAML anchors and aliases (&name, *name) are not allowed"


def alias_line(text: str) -> int | None:
    """The line of the first YAML alias (``*name``) in ``text``, or None.

    The scan reads parser events, which never expand an alias. Text that does not parse gives None:
    the reader then reports the syntax error.
    """
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                return event.start_mark.line + 1 if event.start_mark is not None else 1
    except yaml.YAMLError:
        return None
    return None


def loads(text: str, *, source: str = "<string>", max_bytes: int = 1_000_000) -> LocatedYaml:
    """Parse one YAML document with the safe loader, keeping a line for every key and item."""
    if len(text.encode("utf-8", errors="replace")) > max_bytes:
        raise YamlError(f"document is larger than {max_bytes} bytes", source=source)
    alias = alias_line(text)
    if alias is not None:
        raise YamlError(ALIASES_REFUSED + "; write each value out in full", source=source, line=alias)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)  # SafeLoader: no code execution
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in str(exc):
            problem = f"unsafe or unknown YAML tag ({exc.problem}); only plain YAML is allowed"
        raise YamlError(problem, source=source, line=line) from exc
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", source=source) from exc
    lines: dict[Location, int] = {}
    if node is not None:
        _collect_lines(node, (), lines)
    return LocatedYaml(data=data, source=source, lines=lines)


def load(path: Path) -> LocatedYaml:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError("is not UTF-8 text", source=str(path)) from exc
    except OSError as exc:
        raise YamlError(f"cannot read ({exc.strerror})", source=str(path)) from exc
    return loads(text, source=str(path))


@dataclass(frozen=True)
class FieldProblem:
    """One validation problem, ready to print: ``file:line: field 'a.b': message``."""

    field: str
    line: int | None
    message: str


def describe_validation_error(exc: ValidationError, doc: LocatedYaml) -> list[FieldProblem]:
    """Turn pydantic's errors into problems with dotted field names and YAML lines."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        dotted = ".".join(str(part) for part in loc) or "(document)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "required field is missing"
        problems.append(FieldProblem(field=dotted, line=doc.line_of(loc), message=message))
    return problems
