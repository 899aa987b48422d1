"""Waiting out a loaded server: HTTP 429 / 503, ``Retry-After``, bounded jittered back-off.

A pull that meets "too many requests" or "service unavailable" should wait and ask again a few
times rather than fail a nightly job, but never forever and never in lock-step with every other
client that was refused at the same moment. :class:`Backoff` says how long to wait before the
next attempt: what the server asked for in ``Retry-After`` (seconds or an HTTP date) when it
says, else an exponentially growing delay with "equal jitter" (half fixed, half random, as the
scheduler's :func:`client.scheduler.backoff_delay` does for whole jobs); it gives up (None) after
``retries`` waits or when the server asks for longer than ``max_wait``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Statuses that mean "loaded, ask later" rather than "wrong".
BUSY_STATUSES = frozenset({429, 503})


def retry_after_seconds(value: str | None, *, now: Callable[[], datetime] | None = None
                        ) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP date), or None
    when it is absent or unreadable. A date in the past asks for no wait."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now() if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass
class Backoff:
    """The waits of one request's retries.

    Attributes:
        retries: waits allowed before giving up.
        base: the first delay (seconds) when the server does not say how long.
        max_wait: the longest single wait; a server asking for more is not waited for.
        rng: the jitter's source (seeded in tests).
    """

    retries: int = 4
    base: float = 1.0
    max_wait: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_wait(self, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None: give up."""
        if self.attempts >= self.retries:
            return None
        ceiling = min(self.max_wait, self.base * 2 ** self.attempts)
        jittered = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            if retry_after > self.max_wait:
                return None
            # What the server asked for, and a little more so refused clients spread out.
            jittered = retry_after + self.rng.uniform(0, min(1.0, ceiling / 2))
        self.attempts += 1
        return min(jittered, self.max_wait)
