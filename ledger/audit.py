"""Audit events: who changed what, when and why.

Every write that a service makes records one event per changed thing in the same transaction as
the change, so a change without its event (or an event without its change) cannot be committed.

Events form a hash chain: each stores the sha256 of the previous event's hash and its own
canonical form, so an edit, a deletion or a reordering breaks the chain at that event, and
truncation shows against a head recorded outside the database at period close.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
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


#: The first link of every chain: the hash "before" the first event.
GENESIS = "0" * 64
#: Changing how events are hashed would break every chain: this names the format.
HASH_FORMAT = "apportion-audit-v1"


def canonical(event: AuditEvent, sequence: int) -> bytes:
    """The bytes that are hashed for an event: its fields as canonical JSON (sorted keys, no
    spaces, UTC timestamps with microseconds, decimals already as text in the snapshots)."""
    body = {
        "format": HASH_FORMAT,
        "sequence": sequence,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "key": event.key,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def chain_hash(previous: str, event: AuditEvent, sequence: int) -> str:
    """sha256 over the previous event's hash and this event's canonical form."""
    return hashlib.sha256(previous.encode("ascii") + canonical(event, sequence)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """An event as stored: its place in the chain and the hashes that link it."""

    id: int
    sequence: int
    event: AuditEvent
    previous_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last link: recorded outside the database at each period close to catch truncation."""

    sequence: int
    hash: str

    def __str__(self) -> str:
        return f"{self.sequence}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> ChainHead:
        sequence, _, digest = text.strip().partition(":")
        if not sequence.isdigit() or len(digest) != 64:
            raise ValueError(f"{text!r} is not an audit head (SEQUENCE:SHA256)")
        return cls(int(sequence), digest)


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """What verification found wrong, naming the event."""

    sequence: int
    event_id: int | None
    kind: str  # edited, deleted, reordered, truncated
    message: str


def verify_chain(events: Iterable[ChainedEvent], *, recorded_head: ChainHead | None = None
                 ) -> tuple[list[ChainProblem], ChainHead]:
    """Walk the chain in sequence order and report every break.

    - an event whose content no longer matches its hash: edited;
    - a missing sequence number, or a link to a hash that is not the previous event's: deleted;
    - sequence numbers out of storage order: reordered;
    - fewer events than a head recorded earlier, or a different hash at that place: truncated.
    """
    problems: list[ChainProblem] = []
    previous_hash, expected_sequence = GENESIS, 1
    last_sequence, last_hash = 0, GENESIS
    seen_hashes: dict[int, str] = {}
    for stored in events:
        if stored.sequence < expected_sequence:
            problems.append(ChainProblem(stored.sequence, stored.id, "reordered",
                                         f"event {stored.id} (#{stored.sequence}) is out of order"))
        elif stored.sequence > expected_sequence:
            problems.append(ChainProblem(expected_sequence, None, "deleted",
                                         f"events #{expected_sequence} to #{stored.sequence - 1} "
                                         "are missing"))
        if chain_hash(stored.previous_hash, stored.event, stored.sequence) != stored.hash:
            problems.append(ChainProblem(stored.sequence, stored.id, "edited",
                                         f"event {stored.id} (#{stored.sequence}, "
                                         f"{stored.event.action} {stored.event.key}) was changed "
                                         "after it was recorded"))
        elif stored.previous_hash != previous_hash and not problems:
            problems.append(ChainProblem(stored.sequence, stored.id, "deleted",
                                         f"event {stored.id} (#{stored.sequence}) does not follow "
                                         "the event before it: one was removed or replaced"))
        previous_hash = stored.hash
        expected_sequence = max(expected_sequence, stored.sequence) + 1
        last_sequence, last_hash = stored.sequence, stored.hash
        seen_hashes[stored.sequence] = stored.hash
    head = ChainHead(last_sequence, last_hash)
    if recorded_head is not None:
        if recorded_head.sequence > last_sequence:
            problems.append(ChainProblem(last_sequence + 1, None, "truncated",
                                         f"the chain ends at #{last_sequence} but #"
                                         f"{recorded_head.sequence} was recorded: events were cut "
                                         "off the end"))
        elif seen_hashes.get(recorded_head.sequence) != recorded_head.hash:
            problems.append(ChainProblem(recorded_head.sequence, None, "truncated",
                                         f"event #{recorded_head.sequence} is not the one recorded "
                                         "at close: the chain was rewritten"))
    return problems, head
