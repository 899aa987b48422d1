"""Findings: something a person should look at (an anomaly, a missing tag, a misallocated
asset), and the ticket that tracks it in the organisation's service desk.

A finding has a stable key, so the ticket sink keeps exactly one ticket per finding: opened
once, updated while the finding lasts, closed when it clears.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing to fix.

    Attributes:
        key: stable identity, e.g. ``anomaly:cost-spike:2010:AmazonEC2:2026-11-03``; the ticket
            sink stores it on the ticket and finds the ticket by it.
        title: one line, for the ticket's summary.
        description: what was found and what to do, in plain words.
        severity: low to critical.
        evidence: the figures behind it (JSON-ready: amounts as strings).
        cost_centre: the cost centre concerned, if any.
        owner_email: who should hear of it (the cost centre's owner), if known.
    """

    key: str
    title: str
    description: str
    severity: Severity = Severity.MEDIUM
    evidence: dict[str, Any] = field(default_factory=dict)
    cost_centre: str | None = None
    owner_email: str | None = None


@dataclass(frozen=True, slots=True)
class TicketRef:
    """A ticket in a service desk: which system, its id, and a link for people."""

    system: str
    id: str
    url: str | None = None


class FindingStatus(enum.StrEnum):
    """open: needs a look; acknowledged: someone is on it; dismissed: looked at, not a
    problem (with the reason); cleared: the condition went away by itself."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    DISMISSED = "dismissed"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class StoredFinding:
    """A finding as Apportion keeps it, with its review and its ticket."""

    id: int
    finding: Finding
    kind: str
    status: FindingStatus
    first_seen_at: datetime
    last_seen_at: datetime
    reviewed_by: str | None = None
    reason: str | None = None
    ticket: TicketRef | None = None
    ticket_evidence: dict[str, Any] | None = None
