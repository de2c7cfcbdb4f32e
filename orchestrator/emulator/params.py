"""Request fields as the service receives them: three encodings merged into one typed view.

Clients send the same request as a JSON body, as a form (``application/x-www-form-urlencoded`` or
``multipart/form-data``) with PHP-style bracket keys (``parameters[0][key]``, ``files[3][content]``),
or as a GET query string (``reference/qc-api.md`` §2). The emulator merges all of them (query, then
form, then JSON; later wins), expands bracket keys into nested lists and dicts, and coerces values
when a handler asks for a type, because form and query values are always strings.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.emulator.errors import InvalidArgumentError

_BRACKET_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_INTEGER = re.compile(r"[-+]?\d+")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def expand_brackets(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``[("a[0][k]", "x"), ("b", "y")]`` -> ``{"a": [{"k": "x"}], "b": "y"}`` (PHP's rules: last
    value wins, ``a[]`` appends, dicts whose keys are all indexes become lists in index order)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _BRACKET_KEY.match(key)
        if match is None:
            root[key] = value
            continue
        parts = [match.group(1), *_SEGMENT.findall(match.group(2))]
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        last = parts[-1] or str(len(node))
        node[last] = value
    listified = _listify(root)
    assert isinstance(listified, dict)
    return listified


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(isinstance(k, str) and k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def merge(
    query: Iterable[tuple[str, Any]], form: Iterable[tuple[str, Any]], body: bytes, is_json: bool,
) -> dict[str, Any]:
    merged = expand_brackets(list(query))
    merged.update(expand_brackets(list(form)))
    if body and (is_json or body.lstrip()[:1] in (b"{",)):
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            if is_json:
                raise InvalidArgumentError(f"The request body is not valid JSON: {exc}") from exc
            decoded = None
        if isinstance(decoded, dict):
            merged.update(decoded)
        elif is_json and decoded is not None:
            raise InvalidArgumentError("The JSON request body must be an object")
    return merged


def as_integer(name: str, value: Any) -> int:
    """``value`` as an integer (forms and query strings send ``"123"``; JSON may send ``123.0``);
    ``InvalidArgumentError`` naming the field ``name`` otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())  # exact, also beyond float precision
    if isinstance(value, str | float):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if number.is_integer():
            return int(number)
    raise InvalidArgumentError(f"{name} must be an integer, not {value!r}")


class Params:
    """Typed access to the merged request fields; a bad or missing field is ``InvalidArgumentError``."""

    def __init__(self, data: Mapping[str, Any], files: Mapping[str, bytes] | None = None) -> None:
        self.data = dict(data)
        self.files = dict(files or {})

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def _present(self, name: str, required: bool) -> Any:
        """The field's value, or None when it is absent or empty (an error if it is required)."""
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise InvalidArgumentError(f"{name} is required")
            return None
        return value

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self._present(name, required)
        return None if value is None else as_integer(name, value)

    def number(self, name: str, *, required: bool = False) -> float | None:
        value = self._present(name, required)
        if value is None:
            return None
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"{name} must be a number, not {value!r}") from exc

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise InvalidArgumentError(f"{name} is required")
            return None
        if isinstance(value, dict | list):
            raise InvalidArgumentError(f"{name} must be a string")
        if required and str(value).strip() == "":
            raise InvalidArgumentError(f"{name} is required")
        return str(value)

    def flag(self, name: str, *, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidArgumentError(f"{name} must be true or false, not {value!r}")

    def mapping(self, name: str) -> dict[str, Any] | None:
        """A JSON object, or a form dict; a JSON string holding an object is decoded too."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            if value.strip() == "":
                return {}
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise InvalidArgumentError(f"{name} must be an object") from exc
        if isinstance(value, list) and not value:
            return {}
        if not isinstance(value, dict):
            raise InvalidArgumentError(f"{name} must be an object")
        return value

    def sequence(self, name: str) -> list[Any] | None:
        """A JSON array or a form list; ``""`` (how forms send an empty list) is ``[]``."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            if value.strip() == "":
                return []
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise InvalidArgumentError(f"{name} must be a list") from exc
        if isinstance(value, dict):
            return list(value.values())
        if not isinstance(value, list):
            raise InvalidArgumentError(f"{name} must be a list")
        return value
