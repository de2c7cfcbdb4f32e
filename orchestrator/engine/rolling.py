"""``RollingWindow``: a fixed-size window of recent items, index 0 being the most recent.

LEAN semantics (``Common/Indicators/RollingWindow.cs``):

* ``RollingWindow(size)`` (also ``RollingWindow[TradeBar](size)``): ``add(item)`` puts the item at
  index 0 and, when the window is full, drops the oldest, which becomes ``most_recently_removed``.
* ``count`` items are held (at most ``size``); ``samples`` counts every ``add`` ever; ``is_ready``
  once the window is full.
* Iteration goes from the most recent to the oldest.
* ``most_recently_removed`` raises until something has been dropped.
* Reading an index that does not exist raises IndexError naming the valid range (loudly, rather
  than returning None). Assigning to an index beyond the size grows the window, filling with None
  (QuantConnect's documented behaviour). Setting ``size`` resizes, keeping the newest items.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class RollingWindow(Generic[T]):
    """``RollingWindow(size)``; ``RollingWindow[float](size)`` works too."""

    __slots__ = ("_has_removed", "_items", "_removed", "_samples", "_size")

    def __class_getitem__(cls, item: Any) -> Any:
        # RollingWindow[TradeBar](5): the element type is documentation only, as in Python LEAN
        return cls

    def __init__(self, size: int) -> None:
        self._size = self._check_size(size)
        # appendleft keeps index 0 = most recent; deque ends are O(1)
        self._items: deque[T] = deque()
        self._samples = 0
        self._removed: T | None = None
        self._has_removed = False

    @staticmethod
    def _check_size(size: Any) -> int:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"RollingWindow must have a size of at least 1, got {size!r}")
        return size

    def add(self, item: T) -> None:
        items = self._items
        self._samples += 1
        if len(items) == self._size:
            self._removed = items.pop()
            self._has_removed = True
        items.appendleft(item)

    @property
    def size(self) -> int:
        return self._size

    @size.setter
    def size(self, value: int) -> None:
        value = self._check_size(value)
        while len(self._items) > value:
            self._removed = self._items.pop()
            self._has_removed = True
        self._size = value

    @property
    def count(self) -> int:
        return len(self._items)

    @property
    def samples(self) -> int:
        return self._samples

    @property
    def is_ready(self) -> bool:
        return len(self._items) >= self._size

    @property
    def most_recently_removed(self) -> T:
        if not self._has_removed:
            raise IndexError("RollingWindow: no items have been removed yet")
        return self._removed  # type: ignore[return-value]

    def reset(self) -> None:
        self._items.clear()
        self._samples = 0
        self._removed = None
        self._has_removed = False

    def _check_index(self, index: Any) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"RollingWindow indices are integers, got {type(index).__name__}")
        if index < 0:
            raise IndexError(
                f"RollingWindow index {index} is negative: index 0 is the most recent item and "
                f"{len(self._items) - 1} the oldest"
            )
        return index

    def __getitem__(self, index: int) -> T:
        index = self._check_index(index)
        if index >= len(self._items):
            if not self._items:
                raise IndexError(f"RollingWindow index {index}: the window is empty")
            raise IndexError(
                f"RollingWindow index {index} does not exist yet: it holds {len(self._items)} of "
                f"{self._size} items (valid indices 0..{len(self._items) - 1})"
            )
        return self._items[index]

    def __setitem__(self, index: int, value: T) -> None:
        index = self._check_index(index)
        if index >= self._size:
            self._size = index + 1
        while len(self._items) <= index:
            self._items.append(None)  # type: ignore[arg-type]
        self._items[index] = value

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"RollingWindow(size={self._size}, count={len(self._items)}, samples={self._samples})"

    # PascalCase aliases (QuantConnect's C#-style names)
    def Add(self, item: T) -> None:
        self.add(item)

    def Reset(self) -> None:
        self.reset()

    Size = property(lambda self: self.size, lambda self, value: setattr(self, "size", value))
    Count = property(lambda self: self.count)
    Samples = property(lambda self: self.samples)
    IsReady = property(lambda self: self.is_ready)
    MostRecentlyRemoved = property(lambda self: self.most_recently_removed)
