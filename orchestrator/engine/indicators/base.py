"""The indicator machinery shared by every indicator: data points, the update protocol, events.

Semantics follow LEAN's ``IndicatorBase<T>`` (QuantConnect/Lean, ``Indicators/IndicatorBase.cs``):

* ``update(time, value)`` or ``update(data)`` increments ``samples``, computes the next value and, when
  the computation succeeds, sets ``current`` to ``IndicatorDataPoint(end_time, value)`` and fires
  ``updated(sender, point)``. It returns ``is_ready``.
* An input whose end time is earlier than the previous input's is ignored (LEAN logs "This is a forward
  only indicator" and keeps its state); passing the very same object twice is ignored too.
* Before the first update ``current`` is ``IndicatorDataPoint(datetime.min, 0)``.
* A computation that fails (LEAN's ``IndicatorStatus.MathError``, e.g. a division by zero in a ratio)
  counts the sample but leaves ``current`` unchanged and fires no event.

Values are Python floats (LEAN uses C# decimal); the difference is in the last bits only.

Every public member has a PascalCase alias (``IsReady``, ``Current``, ``Update`` ...) because
QuantConnect algorithms use both spellings.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterator
from typing import Any

from orchestrator.engine.rolling import RollingWindow

MIN_TIME = dt.datetime.min

# LEAN keeps the last two indicator values by default (Indicator.DefaultWindowSize).
DEFAULT_WINDOW_SIZE = 2


def format_lean_number(value: float) -> str:
    """A number as C# formats ``decimal`` in names: ``2`` for 2.0, ``2.5`` for 2.5."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class IndicatorDataPoint:
    """One indicator value at a time: ``.value``, ``.time`` (= ``.end_time``), ``.price``.

    Constructors as in LEAN: ``IndicatorDataPoint(time, value)`` and
    ``IndicatorDataPoint(symbol, time, value)``.
    """

    __slots__ = ("symbol", "time", "value")

    def __init__(self, *args: Any) -> None:
        if len(args) == 2:
            self.symbol: Any = None
            self.time, value = args
        elif len(args) == 3:
            self.symbol, self.time, value = args
        elif not args:
            self.symbol, self.time, value = None, MIN_TIME, 0.0
        else:
            raise TypeError("IndicatorDataPoint takes (time, value) or (symbol, time, value)")
        self.value = float(value)

    # A data point has no duration: its end time is its time (LEAN's IndicatorDataPoint).
    @property
    def end_time(self) -> dt.datetime:
        return self.time

    @property
    def price(self) -> float:
        return self.value

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"IndicatorDataPoint({self.time!r}, {self.value!r})"

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} - {format_indicator_value(self.value)}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IndicatorDataPoint):
            return self.time == other.time and self.value == other.value
        if isinstance(other, int | float):
            return self.value == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.time, self.value))

    def __lt__(self, other: object) -> bool:
        return self.value < _as_float(other)

    def __le__(self, other: object) -> bool:
        return self.value <= _as_float(other)

    def __gt__(self, other: object) -> bool:
        return self.value > _as_float(other)

    def __ge__(self, other: object) -> bool:
        return self.value >= _as_float(other)

    # PascalCase aliases (QuantConnect's C#-style names)
    Value = property(lambda self: self.value)
    Time = property(lambda self: self.time)
    EndTime = property(lambda self: self.time)
    Price = property(lambda self: self.value)
    Symbol = property(lambda self: self.symbol)


_new_point = object.__new__


def _point(time: Any, value: float) -> IndicatorDataPoint:
    """``IndicatorDataPoint(time, value)`` without the constructor's overload parsing (the hot path)."""
    point = _new_point(IndicatorDataPoint)
    point.symbol = None
    point.time = time
    point.value = value
    return point


def format_indicator_value(value: float) -> str:
    """LEAN's ``IndicatorBase.ToString`` format ``#######0.0####``: 1 to 5 decimals."""
    text = f"{value:.5f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _as_float(other: object) -> float:
    if isinstance(other, IndicatorBase):
        return other._value
    if isinstance(other, IndicatorDataPoint):
        return other.value
    return float(other)  # type: ignore[arg-type]


class IndicatorEvent:
    """LEAN's ``Updated`` event: ``indicator.updated += handler``; handlers get ``(sender, point)``."""

    __slots__ = ("_handlers",)

    def __init__(self) -> None:
        self._handlers: list[Callable[[Any, IndicatorDataPoint], Any]] = []

    def __iadd__(self, handler: Callable[[Any, IndicatorDataPoint], Any]) -> IndicatorEvent:
        if not callable(handler):
            raise TypeError(f"an event handler must be callable, got {type(handler).__name__}")
        self._handlers.append(handler)
        return self

    def __isub__(self, handler: Callable[[Any, IndicatorDataPoint], Any]) -> IndicatorEvent:
        # C# removes the last subscription of that handler; removing an absent one is a no-op
        for index in range(len(self._handlers) - 1, -1, -1):
            if self._handlers[index] == handler:
                del self._handlers[index]
                break
        return self

    def __call__(self, sender: Any, point: IndicatorDataPoint) -> None:
        for handler in list(self._handlers):
            handler(sender, point)

    def __len__(self) -> int:
        return len(self._handlers)

    def __bool__(self) -> bool:
        return bool(self._handlers)


class MovingAverageType(enum.Enum):
    """LEAN's moving-average kinds; both ``EXPONENTIAL`` and ``Exponential`` spellings work.

    qcloop implements Simple, Exponential and Wilders; the others raise UnsupportedApiError when used.
    """

    SIMPLE = 0
    EXPONENTIAL = 1
    WILDERS = 2
    LINEAR_WEIGHTED_MOVING_AVERAGE = 3
    DOUBLE_EXPONENTIAL = 4
    TRIPLE_EXPONENTIAL = 5
    TRIANGULAR = 6
    T3 = 7
    KAMA = 8
    HULL = 9
    ALMA = 10
    ZLEMA = 11
    MGD = 12

    # LEAN's C# names, as aliases of the same members
    Simple = 0
    Exponential = 1
    Wilders = 2
    LinearWeightedMovingAverage = 3
    DoubleExponential = 4
    TripleExponential = 5
    Triangular = 6
    Kama = 8
    Hull = 9
    Alma = 10
    Zlema = 11


def data_value(data: Any) -> float:
    """The number a data-point indicator takes from an input: ``.value`` if present, else ``.close``."""
    value = getattr(data, "value", None)
    if value is None:
        value = getattr(data, "close", None)
        if value is None:
            value = getattr(data, "Value", None)
            if value is None:
                raise TypeError(
                    f"cannot update an indicator with a {type(data).__name__}: it has neither .value nor "
                    ".close; use update(time, value) or pass a bar or IndicatorDataPoint"
                )
    return float(value)


def data_end_time(data: Any) -> Any:
    """When an input ends: ``.end_time`` if present, else ``.time`` (bars and data points)."""
    end = getattr(data, "end_time", None)
    if end is None:
        end = getattr(data, "time", None)
        if end is None:
            end = getattr(data, "EndTime", None) or getattr(data, "Time", None)
    return end


_UNSET: Any = object()


class IndicatorBase:
    """The base of every indicator. Subclasses implement ``_compute(time, data)``.

    ``_compute`` receives the input's end time and either a float (data-point indicators, the
    default) or the bar itself (``takes_bars = True``), and returns the new value, or None for
    LEAN's MathError (sample counted, value kept).
    """

    takes_bars = False

    def __init__(self, name: str) -> None:
        self._name = name
        self._samples = 0
        self._value = 0.0
        self._time: Any = MIN_TIME
        self._prev_value = 0.0
        self._prev_time: Any = MIN_TIME
        self._has_prev = False
        self._last_input: Any = None
        self._last_end: Any = None
        self._updated: IndicatorEvent | None = None
        self._window: RollingWindow | None = None
        # ``current`` as a data point, built on first read after each update (LEAN keeps one object)
        self._current: IndicatorDataPoint | None = None

    # -- the update protocol ---------------------------------------------------------------------

    def update(self, data: Any = _UNSET, value: Any = _UNSET, *, time: Any = _UNSET, input: Any = _UNSET) -> bool:
        """``update(time, value)`` or ``update(bar_or_point)``; returns ``is_ready``.

        The keyword spellings ``update(time=..., value=...)`` and ``update(input=bar)`` work too.
        """
        if value is not _UNSET and data is not _UNSET and not self.takes_bars:
            # update(time, value): the form strategies use by hand on every bar, kept short
            last = self._last_end
            if last is None or data is None or not data < last:
                self._last_input = None
                self._last_end = data
                self._push(data, float(value))
            return self.is_ready
        if data is _UNSET:
            data = time if time is not _UNSET else input
            if data is _UNSET:
                raise TypeError("update() needs a bar or data point, or a time and a value")
        if value is not _UNSET:
            if self.takes_bars:
                raise TypeError(
                    f"{type(self).__name__} does not support update(time, value); "
                    "update it with a bar (anything with .open/.high/.low/.close and .end_time)"
                )
            end = data
            payload: Any = float(value)
        else:
            if data is self._last_input:
                return self.is_ready
            end = data_end_time(data)
            payload = data if self.takes_bars else data_value(data)
        if self._last_end is not None and end is not None and end < self._last_end:
            # LEAN: "This is a forward only indicator ... It will not be updated with this input."
            return self.is_ready
        self._last_input = data if value is _UNSET else None
        self._last_end = end
        self._push(end, payload)
        return self.is_ready

    def update_value(self, end: Any, value: float) -> None:
        """The engine's automatic update with a bar's end time and close: ``update(end, value)`` without
        the argument handling (``value`` is already a float). Returns nothing: the engine ignores it."""
        last = self._last_end
        if last is not None and end < last:
            return  # LEAN's forward-only rule
        self._last_input = None
        self._last_end = end
        # _push, written out (one call less on the path every bar of a backtest takes)
        self._samples += 1
        result = self._compute(end, value)
        if result is None:
            return
        self._prev_value = self._value
        self._prev_time = self._time
        self._has_prev = True
        self._value = result
        self._time = end
        self._current = None
        if self._window is not None or self._updated is not None:
            self._announce(end, result)

    def _push(self, time: Any, payload: Any) -> None:
        """Count a sample, compute, store and announce; used directly for internal sub-indicators."""
        self._samples += 1
        result = self._compute(time, payload)
        if result is None:
            return
        self._prev_value = self._value
        self._prev_time = self._time
        self._has_prev = True
        self._value = result
        self._time = time
        self._current = None
        if self._window is not None or self._updated is not None:
            self._announce(time, result)

    def _announce(self, time: Any, value: float) -> None:
        """The new point into the window and to the ``updated`` handlers (one object, as in LEAN)."""
        point = self._current = _point(time, value)
        if self._window is not None:
            self._window.add(point)
        if self._updated:
            self._updated(self, point)

    def _compute(self, time: Any, payload: Any) -> float | None:
        raise NotImplementedError

    def reset(self) -> None:
        """Back to the state before the first update (handlers stay subscribed, as in LEAN)."""
        self._samples = 0
        self._value = 0.0
        self._time = MIN_TIME
        self._prev_value, self._prev_time, self._has_prev = 0.0, MIN_TIME, False
        self._last_input = None
        self._last_end = None
        self._current = None
        if self._window is not None:
            self._window.reset()
            self._window.add(IndicatorDataPoint(MIN_TIME, 0.0))
        self._reset_state()

    def _reset_state(self) -> None:
        """Subclasses reset their own state here."""

    # -- state ------------------------------------------------------------------------------------

    @property
    def is_ready(self) -> bool:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self._name

    @property
    def samples(self) -> int:
        return self._samples

    @property
    def current(self) -> IndicatorDataPoint:
        point = self._current
        if point is None:  # _point, written out: strategies read current on every bar
            point = self._current = _new_point(IndicatorDataPoint)
            point.symbol = None
            point.time = self._time
            point.value = self._value
        return point

    @property
    def previous(self) -> IndicatorDataPoint:
        if not self._has_prev:
            return IndicatorDataPoint(MIN_TIME, 0.0)
        return IndicatorDataPoint(self._prev_time, self._prev_value)

    @property
    def warm_up_period(self) -> int:
        raise NotImplementedError

    @property
    def window(self) -> RollingWindow:
        """The recent values (index 0 = current); LEAN keeps 2 by default, resize with ``.size``."""
        if self._window is None:
            # Built on first use from what is kept anyway, so updates stay allocation-free until then.
            window: RollingWindow = RollingWindow(DEFAULT_WINDOW_SIZE)
            if self._has_prev:
                window.add(IndicatorDataPoint(self._prev_time, self._prev_value))
            window.add(self.current)
            self._window = window
        return self._window

    @property
    def updated(self) -> IndicatorEvent:
        if self._updated is None:
            self._updated = IndicatorEvent()
        return self._updated

    @updated.setter
    def updated(self, event: IndicatorEvent) -> None:
        # only `indicator.updated += handler` / `-= handler` reach here, with our own event back
        if not isinstance(event, IndicatorEvent):
            raise TypeError("subscribe with `indicator.updated += handler`; the event cannot be replaced")
        self._updated = event

    def __getitem__(self, index: int) -> IndicatorDataPoint:
        return self.window[index]

    def __iter__(self) -> Iterator[IndicatorDataPoint]:
        return iter(self.window)

    # -- numbers and comparisons (LEAN converts indicators to their current value) ---------------

    def __float__(self) -> float:
        return self._value

    def __int__(self) -> int:
        return int(self._value)

    def __lt__(self, other: object) -> bool:
        return self._value < _as_float(other)

    def __le__(self, other: object) -> bool:
        return self._value <= _as_float(other)

    def __gt__(self, other: object) -> bool:
        return self._value > _as_float(other)

    def __ge__(self, other: object) -> bool:
        return self._value >= _as_float(other)

    def __eq__(self, other: object) -> bool:
        # LEAN: two indicators are equal only if they are the same object; against a number the
        # current value is compared.
        if isinstance(other, IndicatorBase):
            return self is other
        if isinstance(other, int | float):
            return self._value == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = object.__hash__

    def __add__(self, other: object) -> float:
        return self._value + _as_float(other)

    def __radd__(self, other: object) -> float:
        return _as_float(other) + self._value

    def __sub__(self, other: object) -> float:
        return self._value - _as_float(other)

    def __rsub__(self, other: object) -> float:
        return _as_float(other) - self._value

    def __mul__(self, other: object) -> float:
        return self._value * _as_float(other)

    def __rmul__(self, other: object) -> float:
        return _as_float(other) * self._value

    def __truediv__(self, other: object) -> float:
        return self._value / _as_float(other)

    def __rtruediv__(self, other: object) -> float:
        return _as_float(other) / self._value

    def __neg__(self) -> float:
        return -self._value

    def __abs__(self) -> float:
        return abs(self._value)

    def __str__(self) -> str:
        return format_indicator_value(self._value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name}: {format_indicator_value(self._value)}" + (
            ">" if self.is_ready else " (not ready)>"
        )

    def to_detailed_string(self) -> str:
        return f"{self._name} - {self}"

    # -- PascalCase aliases -----------------------------------------------------------------------

    def Update(self, data: Any = _UNSET, value: Any = _UNSET, *, time: Any = _UNSET, input: Any = _UNSET) -> bool:
        return self.update(data, value, time=time, input=input)

    def Reset(self) -> None:
        self.reset()

    def ToDetailedString(self) -> str:
        return self.to_detailed_string()

    IsReady = property(lambda self: self.is_ready)
    Current = property(lambda self: self.current)
    Previous = property(lambda self: self.previous)
    Samples = property(lambda self: self.samples)
    Name = property(lambda self: self.name)
    WarmUpPeriod = property(lambda self: self.warm_up_period)
    Window = property(lambda self: self.window)
    Updated = property(lambda self: self.updated, lambda self, event: setattr(self, "updated", event))


# LEAN's `Indicator` is IndicatorBase<IndicatorDataPoint>; algorithms sometimes name it.
Indicator = IndicatorBase


class Identity(IndicatorBase):
    """The input value itself (LEAN's ``Identity``); ready after one sample."""

    def __init__(self, name: str = "Identity") -> None:
        super().__init__(name)

    def _compute(self, time: Any, payload: Any) -> float | None:
        return payload

    @property
    def is_ready(self) -> bool:
        return self._samples > 0

    @property
    def warm_up_period(self) -> int:
        return 1


class _Component(IndicatorBase):
    """A value a parent indicator computes (MACD's histogram, a Bollinger band) exposed as an indicator.

    The parent pushes values with ``_push``; readiness is whatever the parent says it is.
    """

    def __init__(self, name: str, ready: Callable[[], bool], warm_up: int) -> None:
        super().__init__(name)
        self._ready = ready
        self._warm_up = warm_up

    def _compute(self, time: Any, payload: Any) -> float | None:
        return payload

    @property
    def is_ready(self) -> bool:
        return self._ready()

    @property
    def warm_up_period(self) -> int:
        return self._warm_up


def split_name(args: tuple[Any, ...], cls_name: str, count: int) -> tuple[str | None, tuple[Any, ...]]:
    """LEAN overloads take an optional leading name: ``X(period)`` or ``X(name, period)``."""
    if args and isinstance(args[0], str):
        name, rest = args[0], args[1:]
    else:
        name, rest = None, args
    if len(rest) < count:
        raise TypeError(f"{cls_name} needs {count} argument(s) after the optional name, got {len(rest)}")
    return name, rest


def check_period(period: Any, what: str = "period") -> int:
    if isinstance(period, bool) or not isinstance(period, int | float) or int(period) != period or period < 1:
        raise ValueError(f"{what} must be a whole number of at least 1, got {period!r}")
    return int(period)


class PythonIndicator(IndicatorBase):
    """The base of custom indicators written in Python, as QuantConnect's ``PythonIndicator``.

    A subclass sets ``self.value`` in its own ``update(self, input) -> bool`` (or ``Update``); qcloop
    wraps that method so that ``current``, ``samples``, ``is_ready`` (the last return value, unless the
    subclass defines ``is_ready`` itself), ``updated`` handlers and the window behave as for built-in
    indicators. ``name`` and ``warm_up_period`` may be assigned.
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name or type(self).__name__)
        self.value: float = 0.0
        self._custom_ready = False
        self._custom_warm_up = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        user_update = cls.__dict__.get("update") or cls.__dict__.get("Update")
        if user_update is None or getattr(user_update, "_qcloop_wrapped", False):
            return

        def update(self: PythonIndicator, data: Any = _UNSET, value: Any = _UNSET, *,
                   time: Any = _UNSET, input: Any = _UNSET) -> bool:
            if data is _UNSET:
                data = time if time is not _UNSET else input
            if value is not _UNSET:
                data = IndicatorDataPoint(data, value)
            ready = user_update(self, data)
            self._custom_ready = bool(ready)
            self._samples += 1
            self._prev_value, self._prev_time, self._has_prev = self._value, self._time, True
            self._value = float(self.value)
            self._time = data_end_time(data)
            self._current = None
            if self._window is not None or self._updated is not None:
                self._announce(self._time, self._value)
            return bool(self.is_ready)

        update._qcloop_wrapped = True  # type: ignore[attr-defined]
        cls.update = update  # type: ignore[method-assign,assignment]
        cls.Update = update  # type: ignore[method-assign,assignment]

    def _compute(self, time: Any, payload: Any) -> float | None:
        raise NotImplementedError(f"{type(self).__name__} must define update(self, input) -> bool")

    @property
    def is_ready(self) -> bool:
        return self._custom_ready

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def warm_up_period(self) -> int:
        return self._custom_warm_up

    @warm_up_period.setter
    def warm_up_period(self, value: int) -> None:
        self._custom_warm_up = int(value)

    def _reset_state(self) -> None:
        self.value = 0.0
        self._custom_ready = False

    Name = property(lambda self: self.name, lambda self, value: setattr(self, "name", value))
    WarmUpPeriod = property(lambda self: self.warm_up_period,
                            lambda self, value: setattr(self, "warm_up_period", value))
