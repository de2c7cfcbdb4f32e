"""Object Store shapes and rules, free of state and HTTP.

Facts from QuantConnect's docs, LEAN's C# response classes (``Api/ObjectStoreResponse.cs``) and the
official MCP server's live tests:

- ``object/properties`` returns ``metadata {key, modified, created, size, md5, mime, preview}``; a
  13-byte "Hello, world!" is ``text/plain`` with that text as preview.
- ``object/list`` returns the direct children of ``path`` (``/`` when none was given): files and
  folders, each ``{key, name, modified, mime, folder, size}`` (folders have mime ``directory``), plus
  ``objectStorageUsed`` (bytes) and ``objectStorageUsedHuman``. Keys carry no leading slash.
- ``object/get`` answers a ``jobId`` first; asked again with that job id it answers a ``url``; the URL
  serves a zip archive holding each requested key under its own name.
- ``object/delete`` of a folder key deletes everything under it.
"""

from __future__ import annotations

import io
import json
import mimetypes
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from orchestrator.emulator.errors import InvalidArgumentError

PREVIEW_CHARS = 1000


def normalize_key(key: str) -> str:
    return "/".join(part for part in key.strip().split("/") if part)


def valid_key(key: str) -> str:
    """The normalized key of an object being set; refuses an empty key and ``.``/``..`` segments
    (a key is also a path: the simulated person sees each object as a file under a folder)."""
    clean = normalize_key(key)
    if not clean:
        raise InvalidArgumentError("key is required")
    if any(part in (".", "..") for part in clean.split("/")):
        raise InvalidArgumentError(f"Invalid Object Store key '{key}': a key may not hold '.' or '..' segments")
    return clean


def guess_mime(key: str, data: bytes) -> str:
    guessed, _ = mimetypes.guess_type(key)
    if guessed:
        return guessed
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    try:
        json.loads(text)
        stripped = text.lstrip()
        if stripped.startswith(("{", "[")):
            return "application/json"
    except ValueError:
        pass
    return "text/plain"


def preview(data: bytes) -> str:
    try:
        return data.decode("utf-8")[:PREVIEW_CHARS]
    except UnicodeDecodeError:
        return ""


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


@dataclass(frozen=True)
class Child:
    key: str
    name: str
    folder: bool


def children(keys: Iterable[str], path: str) -> list[Child]:
    """Direct children of ``path`` among ``keys``: files, and folders inferred from deeper keys."""
    prefix = f"{path}/" if path else ""
    found: dict[str, Child] = {}
    for key in sorted(keys):
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        head, sep, _ = rest.partition("/")
        if not head:
            continue
        child_key = prefix + head
        if sep:
            found.setdefault(child_key, Child(child_key, head, True))
        else:
            found[child_key] = Child(child_key, head, False)
    return list(found.values())


def under(keys: Iterable[str], key: str) -> list[str]:
    """The stored keys ``key`` names: itself, or everything below it when it is a folder."""
    return [k for k in keys if k == key or k.startswith(f"{key}/")]


def zip_archive(objects: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, data in objects.items():
            archive.writestr(key, data)
    return buffer.getvalue()
