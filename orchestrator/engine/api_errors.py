"""Errors the engine raises from attribute lookups on QuantConnect-shaped objects.

Python's ``hasattr(x, name)`` and ``getattr(x, name, default)`` treat only ``AttributeError`` as
"absent": any other exception escapes them. QuantConnect API names that qcloop does not implement
must still say so (an ``UnsupportedApiError`` naming the API, which the CLI turns into an actionable
message), so the error raised for them is both.
"""

from __future__ import annotations

from orchestrator.errors import UnsupportedApiError


class UnsupportedApiAttributeError(UnsupportedApiError, AttributeError):
    """A QuantConnect attribute qcloop's engine does not implement (``QCAlgorithm.add_forex`` ...).

    It is an ``UnsupportedApiError`` (the message names the API and what to do instead) and an
    ``AttributeError`` (so ``hasattr`` is False and ``getattr(x, name, default)`` returns the default).
    """

    def __init__(self, owner: str, name: str) -> None:
        super().__init__(f"{owner}.{name}")
        # AttributeError's own fields: tracebacks and tools use them to name what was looked up
        self.name = name
