"""Audit events: who changed what, when and why.

Every write that a service makes records one event per changed thing in the same transaction as
the change, so a change without its event (or an event without its change) cannot be committed.
The hash chain that makes the trail tamper-evident comes with the governance work and is computed
over exactly these fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One recorded change.

    Attributes:
        occurred_at: when it was committed (UTC, timezone-aware).
        actor: login of the user who made it.
        action: a verb such as ``cost_centre.create`` or ``period.close``.
        entity: the kind of thing changed (``cost_centre``, ``period`` ...).
        key: which one (its code or id).
        before, after: JSON-ready snapshots (None when created / deleted).
        reason: why, as the user gave it (required for some actions, e.g. reopening a period).
    """

    occurred_at: datetime
    actor: str
    action: str
    entity: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None = None
