"""Seeded fault injection for the sandbox ERP's posting endpoints.

Faults apply to the requests that book (the SAP SOAP post and Business Central's
``Microsoft.NAV.post``); reads are never disturbed, so reconciliation can always look. Each
posting request gets its own ``random.Random`` seeded from (seed, request number), so a run with
the same seed and the same order of requests meets the same faults. Faults can also be forced for
the next N posting requests (``POST /sandbox/faults``), which is what deterministic tests use;
forced faults come before random ones.
"""

from __future__ import annotations

import enum
import random
import threading
from collections import deque
from collections.abc import Mapping


class FaultKind(enum.StrEnum):
    ERROR_BEFORE_COMMIT = "error_before_commit"      # HTTP 503, nothing booked
    COMMIT_THEN_ERROR = "commit_then_error"          # booked, then HTTP 500
    COMMIT_THEN_TIMEOUT = "commit_then_timeout"      # booked, then no reply for hang_seconds
    SLOW_REPLY = "slow_reply"                        # slow_seconds delay, then normal
    MALFORMED_REPLY = "malformed_reply"              # booked, then a truncated body
    XML_BOMB = "xml_bomb"                            # booked, then a billion-laughs reply
    SOAP_FAULT = "soap_fault"                        # SOAP fault / JSON error with a log message


class FaultPlan:
    """Which fault, if any, the next posting request meets."""

    def __init__(self, *, seed: int = 0, fault_rate: float = 0.0,
                 rates: Mapping[str, float] | None = None) -> None:
        """Args:
            seed: drives the per-request random draws.
            fault_rate: total probability of a fault, spread evenly over all kinds.
            rates: per-kind probabilities; when given, ``fault_rate`` is ignored.
        """
        if rates is None:
            share = fault_rate / len(FaultKind)
            rates = {kind.value: share for kind in FaultKind} if fault_rate else {}
        self.rates = {FaultKind(kind): float(rate) for kind, rate in rates.items() if rate}
        if sum(self.rates.values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        self.seed = seed
        self._counter = 0
        self._forced: deque[FaultKind] = deque()
        self._lock = threading.Lock()
        self.history: list[tuple[int, str | None]] = []

    def force(self, kind: str, count: int = 1) -> None:
        with self._lock:
            self._forced.extend([FaultKind(kind)] * count)

    def clear(self) -> None:
        with self._lock:
            self._forced.clear()

    def set_rates(self, rates: Mapping[str, float]) -> None:
        new = {FaultKind(kind): float(rate) for kind, rate in rates.items() if rate}
        if sum(new.values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        with self._lock:
            self.rates = new

    def draw(self) -> FaultKind | None:
        with self._lock:
            self._counter += 1
            number = self._counter
            if self._forced:
                kind: FaultKind | None = self._forced.popleft()
            else:
                roll = random.Random(f"{self.seed}:{number}").random()
                kind = None
                cumulative = 0.0
                for candidate, rate in self.rates.items():
                    cumulative += rate
                    if roll < cumulative:
                        kind = candidate
                        break
            self.history.append((number, kind.value if kind else None))
            return kind

    def state(self) -> dict[str, object]:
        with self._lock:
            return {
                "seed": self.seed,
                "requests": self._counter,
                "rates": {k.value: str(v) for k, v in self.rates.items()},
                "forced": [k.value for k in self._forced],
            }
