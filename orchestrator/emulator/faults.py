"""Seeded, reproducible fault injection: the network and the service misbehaving on purpose.

A ``FaultPlan`` is a list of rules. Each rule names an endpoint (``backtests/create``, or ``*`` for
all), a fault, and when it fires: on given call numbers of that endpoint ("the 2nd and 3rd call"), or
with a probability drawn from a random generator seeded per endpoint, so that the same plan and the
same sequence of calls to an endpoint give the same faults whatever other endpoints do. The first
rule that fires wins; calls are counted per endpoint, faulted or not.

Faults:

============== =====================================================================================
``429``        HTTP 429 with ``Retry-After`` (seconds; default 1) and a JSON error body
``500``        HTTP 500 with an ASP.NET-style JSON body ``{"success": false, "Message": ...}``
``502`` ...    HTTP 502/503/504 with an HTML body, as a gateway sends it (the request is not processed)
``slow(S)``    wait S seconds, then process and answer normally (client timeouts fire)
``drop``       close the connection without any response; the request is not processed
``drop-after`` process the request, then close the connection without a response (the reply is lost:
               the case that makes blind retries of create calls duplicate objects)
``malformed``  HTTP 200 with a truncated, invalid JSON body; the request is not processed
============== =====================================================================================

The same plan can be written as text (``qcloop emulator serve --faults SPEC``)::

    seed=7; backtests/create: 503 @ 2,3; *: 429(retry-after=2) @ p=0.05; files/read: slow(1.5) @ p=0.2

Rules are separated by ``;``; ``seed=N`` sets the seed; a call list may hold ranges (``2-4``).
"""

from __future__ import annotations

import random
import re
import threading
import zlib
from dataclasses import dataclass, field
from enum import StrEnum

from orchestrator.errors import ConfigError


class FaultKind(StrEnum):
    STATUS = "status"
    SLOW = "slow"
    DROP = "drop"
    DROP_AFTER = "drop-after"
    MALFORMED = "malformed"


STATUS_CODES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 0
    retry_after: float = 1.0
    seconds: float = 0.0

    def describe(self) -> str:
        if self.kind is FaultKind.STATUS:
            return f"HTTP {self.status}" + (f" (Retry-After {self.retry_after:g})" if self.status == 429 else "")
        if self.kind is FaultKind.SLOW:
            return f"slow ({self.seconds:g} s)"
        return self.kind.value


@dataclass(frozen=True)
class FaultRule:
    endpoint: str
    fault: Fault
    calls: frozenset[int] = frozenset()
    probability: float = 0.0

    def matches(self, endpoint: str) -> bool:
        return self.endpoint in ("*", endpoint)


@dataclass
class FaultPlan:
    """Rules plus their per-endpoint call counters and random generators. Thread-safe."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    _counts: dict[str, int] = field(default_factory=dict, repr=False)
    _rngs: dict[str, random.Random] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    log: list[tuple[str, int, str]] = field(default_factory=list, repr=False)  # (endpoint, call, fault)

    # -- building from Python -------------------------------------------------------------------

    def on_calls(self, endpoint: str, fault: Fault, *calls: int) -> FaultPlan:
        self.rules.append(FaultRule(endpoint, fault, calls=frozenset(calls)))
        return self

    def with_probability(self, endpoint: str, fault: Fault, probability: float) -> FaultPlan:
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        self.rules.append(FaultRule(endpoint, fault, probability=probability))
        return self

    # -- deciding -------------------------------------------------------------------------------

    def decide(self, endpoint: str) -> Fault | None:
        """Count this call of ``endpoint`` and return the fault to inject, if any."""
        with self._lock:
            call = self._counts.get(endpoint, 0) + 1
            self._counts[endpoint] = call
            rng = self._rngs.get(endpoint)
            if rng is None:
                rng = random.Random(self.seed * 1_000_003 + zlib.crc32(endpoint.encode()))
                self._rngs[endpoint] = rng
            matching = [rule for rule in self.rules if rule.matches(endpoint)]
            # Draw for every probabilistic rule before deciding, so that one rule firing does not
            # shift the random sequence the others see on later calls.
            draws = [None if rule.calls else rng.random() for rule in matching]
            for rule, draw in zip(matching, draws, strict=True):
                fires = call in rule.calls if draw is None else draw < rule.probability
                if fires:
                    self.log.append((endpoint, call, rule.fault.describe()))
                    return rule.fault
            return None

    def calls(self, endpoint: str) -> int:
        with self._lock:
            return self._counts.get(endpoint, 0)


# ------------------------------------------------------------------------------------------------
# the text form


def _fault(text: str) -> Fault:
    token = text.strip().lower().replace(" ", "")
    if match := re.fullmatch(r"(\d{3})(?:\(retry-after=([\d.]+)\))?", token):
        status = int(match.group(1))
        if status not in STATUS_CODES:
            raise ValueError(f"status {status} is not one of {', '.join(map(str, STATUS_CODES))}")
        if match.group(2) and status != 429:
            raise ValueError("retry-after applies to 429 only")
        return Fault(FaultKind.STATUS, status=status, retry_after=float(match.group(2) or 1.0))
    if match := re.fullmatch(r"slow\(([\d.]+)\)", token):
        return Fault(FaultKind.SLOW, seconds=float(match.group(1)))
    for kind in (FaultKind.DROP_AFTER, FaultKind.DROP, FaultKind.MALFORMED):
        if token == kind.value:
            return Fault(kind)
    raise ValueError(f"unknown fault '{text.strip()}' (use 429, 429(retry-after=S), 500, 502, 503, 504, "
                     "slow(S), drop, drop-after or malformed)")


def _calls(text: str) -> frozenset[int]:
    numbers: set[int] = set()
    for raw in text.split(","):
        part = raw.strip()
        if match := re.fullmatch(r"(\d+)-(\d+)", part):
            low, high = int(match.group(1)), int(match.group(2))
            numbers.update(range(low, high + 1))
        elif part.isdigit() and int(part) > 0:
            numbers.add(int(part))
        else:
            raise ValueError(f"'{part}' is not a call number (1, 2, ...) or a range (2-4)")
    return frozenset(numbers)


def parse_fault_spec(spec: str) -> FaultPlan:
    """Parse the text form (module docstring); raises ``ConfigError`` naming the bad part."""
    plan = FaultPlan()
    for raw in spec.split(";"):
        item = raw.strip()
        if not item:
            continue
        try:
            if item.lower().startswith("seed="):
                plan.seed = int(item[5:])
                continue
            endpoint, sep, rest = item.partition(":")
            fault_text, at, when = rest.partition("@")
            if not sep or not at or not endpoint.strip():
                raise ValueError("expected ENDPOINT: FAULT @ CALLS or ENDPOINT: FAULT @ p=PROBABILITY")
            name = endpoint.strip().strip("/")
            fault = _fault(fault_text)
            when = when.strip()
            if when.lower().startswith("p="):
                plan.with_probability(name, fault, float(when[2:]))
            else:
                plan.rules.append(FaultRule(name, fault, calls=_calls(when)))
        except ValueError as exc:
            raise ConfigError(f"bad fault rule '{item}': {exc}", field="--faults",
                              hint="see `qcloop emulator serve --help` for the fault syntax") from exc
    return plan
