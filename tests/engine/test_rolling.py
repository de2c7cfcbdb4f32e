"""RollingWindow with LEAN's semantics: index 0 is the most recent item."""

from __future__ import annotations

import pytest

from orchestrator.engine.rolling import RollingWindow


class TradeBar:  # stands in for the engine's TradeBar in the generic-subscript syntax
    pass


def test_index_zero_is_most_recent_and_iteration_goes_back_in_time() -> None:
    window = RollingWindow(3)
    for value in [1, 2, 3, 4]:
        window.add(value)
    assert [window[0], window[1], window[2]] == [4, 3, 2]
    assert list(window) == [4, 3, 2]
    assert window.most_recently_removed == 1
    assert (window.count, window.size, window.samples, window.is_ready) == (3, 3, 4, True)


def test_readiness_and_counts_while_filling() -> None:
    window = RollingWindow[float](3)
    window.add(1.0)
    assert (window.count, window.samples, window.is_ready) == (1, 1, False)
    with pytest.raises(IndexError, match="no items have been removed"):
        _ = window.most_recently_removed
    with pytest.raises(IndexError, match=r"valid indices 0\.\.0"):
        _ = window[1]
    window.add(2.0)
    window.add(3.0)
    assert window.is_ready and window.count == 3


def test_generic_subscript_pascal_case_and_reset() -> None:
    window = RollingWindow[TradeBar](2)
    bars = [TradeBar(), TradeBar(), TradeBar()]
    for bar in bars:
        window.Add(bar)
    assert window[0] is bars[2] and window.MostRecentlyRemoved is bars[0]
    assert (window.Count, window.Size, window.Samples, window.IsReady) == (2, 2, 3, True)
    window.Reset()
    assert (window.count, window.samples, window.is_ready) == (0, 0, False)
    with pytest.raises(IndexError, match="empty"):
        _ = window[0]


def test_resizing_and_assignment_beyond_the_end() -> None:
    window = RollingWindow(3)
    for value in [1, 2, 3]:
        window.add(value)
    window.size = 2  # keeps the newest
    assert list(window) == [3, 2] and window.most_recently_removed == 1
    window[0] = 30
    window[3] = 99  # grows to size 4, filling with None
    assert list(window) == [30, 2, None, 99] and window.size == 4


def test_invalid_sizes_and_indices() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RollingWindow(0)
    window = RollingWindow(2)
    window.add(1)
    with pytest.raises(IndexError, match="negative"):
        _ = window[-1]
