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
    hunk: list[str] = []
    old_left = new_left = 0  # lines the current hunk still holds, by its header's counts
    for line in patch.splitlines():
        if old_left > 0 or new_left > 0:
            # Inside a hunk every line is a hunk line, even one that reads like a header ("--- x"
            # removes the line "-- x"): the header's counts, not the text, say where the hunk ends.
            if line.startswith("\\"):
                continue  # "\ No newline at end of file"
            entry = line or " "  # an empty context line whose leading space was trimmed
            if entry[0] not in " +-":
                name = (current.new or current.old) if current is not None else "?"
                raise ValueError(f"{name}: a hunk ends early at '{line}' (its @@ header counts more lines)")
            hunk.append(entry)
            old_left -= entry[0] in " -"
            new_left -= entry[0] in " +"
        elif line.startswith("--- "):
            current = _FilePatch(_strip_prefix(line[4:]), None)
            files.append(current)
        elif line.startswith("+++ ") and current is not None:
            current.new = _strip_prefix(line[4:])
        elif (match := _HUNK.match(line)) and current is not None:
            hunk = []
            current.hunks.append((int(match.group(1)), hunk))
            old_left = int(match.group(2) or 1)
            new_left = int(match.group(4) or 1)
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
