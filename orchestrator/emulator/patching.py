"""Apply a ``git diff`` style unified patch to a project's files (``files/patch``).

Supports what ``git diff`` emits for text files: ``diff --git`` headers, ``--- a/x`` / ``+++ b/x``
(``/dev/null`` for created and deleted files) and ``@@ -l,s +l,s @@`` hunks whose context must match
exactly. Anything that does not apply raises ``ValueError`` naming the file and line, and nothing is
changed (the caller applies the result only when every file patched cleanly).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class _FilePatch:
    old: str | None
    new: str | None
    hunks: list[tuple[int, list[str]]] = field(default_factory=list)


def _strip_prefix(path: str) -> str | None:
    path = path.split("\t", maxsplit=1)[0].strip()
    if path == "/dev/null":
        return None
    return path[2:] if path[:2] in ("a/", "b/") else path


def _parse(patch: str) -> list[_FilePatch]:
    files: list[_FilePatch] = []
    current: _FilePatch | None = None
    hunk: list[str] | None = None
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            current, hunk = None, None
        elif line.startswith("--- "):
            current = _FilePatch(_strip_prefix(line[4:]), None)
            files.append(current)
            hunk = None
        elif line.startswith("+++ ") and current is not None and hunk is None:
            current.new = _strip_prefix(line[4:])
        elif (match := _HUNK.match(line)) and current is not None:
            hunk = []
            current.hunks.append((int(match.group(1)), hunk))
        elif hunk is not None and line[:1] in (" ", "+", "-"):
            hunk.append(line)
        elif hunk is not None and line == "":
            hunk.append(" ")  # an empty context line whose leading space was trimmed
        elif line.startswith("\\"):
            continue  # "\ No newline at end of file"
    if not files:
        raise ValueError("the patch holds no file changes (expected '--- a/<file>' and '+++ b/<file>' lines)")
    return files


def _apply_hunks(name: str, text: str, hunks: list[tuple[int, list[str]]]) -> str:
    lines = text.splitlines()
    out: list[str] = []
    position = 0
    for start, body in hunks:
        begin = max(start - 1, 0)
        if begin < position:
            raise ValueError(f"{name}: overlapping hunks at line {start}")
        out.extend(lines[position:begin])
        position = begin
        for entry in body:
            kind, content = entry[0], entry[1:]
            if kind in (" ", "-"):
                if position >= len(lines) or lines[position] != content:
                    raise ValueError(f"{name}: line {position + 1} does not match the patch's context")
                position += 1
                if kind == " ":
                    out.append(content)
            else:
                out.append(content)
    out.extend(lines[position:])
    return "\n".join(out) + ("\n" if out else "")


def apply_patch(files: Mapping[str, str], patch: str) -> dict[str, str]:
    """The project's files after ``patch``; raises ValueError when it does not apply cleanly."""
    result = dict(files)
    for change in _parse(patch):
        if change.old is None and change.new is None:
            raise ValueError("a file change has neither an old nor a new name")
        if change.old is None:
            assert change.new is not None
            if change.new in result:
                raise ValueError(f"{change.new}: the patch creates it but it already exists")
            result[change.new] = _apply_hunks(change.new, "", change.hunks)
            continue
        if change.old not in result:
            raise ValueError(f"{change.old}: no such file in the project")
        if change.new is None:
            del result[change.old]
            continue
        patched = _apply_hunks(change.old, result.pop(change.old), change.hunks)
        result[change.new] = patched
    return result
