"""Use cases for the audit trail: verify the hash chain, read, search and export it.

Searching by one thing's key (an asset tag) finds the events about it alone and the chunk
events of register loads that concern it among a thousand others (``asset.register``, keyed
``FIRST..LAST (N)``): those are found through the index written with them
(:mod:`ledger.persistence.audit_index`), and each is shown with that thing's own before and
after taken out of the event. What is hashed is never changed: the index and the narrowing are
reading aids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.access import Permission
from ledger.audit import ChainedEvent, ChainHead, ChainProblem, verify_chain
from ledger.errors import NotFoundError
from ledger.ports import UnitOfWork
from ledger.services.base import authorize


def verify_audit(*, uow: UnitOfWork, recorded_head: ChainHead | None = None
                 ) -> tuple[list[ChainProblem], ChainHead]:
    """Check every link of the chain (and, given a head recorded at a period close, that
    nothing was cut off the end). Returns the problems, each naming the event, and the head."""
    authorize(uow, Permission.READ_AUDIT, doing="verify the audit trail")
    problems, head = verify_chain(uow.audit.chain(), recorded_head=recorded_head)
    stored = uow.audit.head()
    if not problems and stored != head:
        problems.append(ChainProblem(head.sequence, None, "truncated",
                                     f"the chain ends at #{head.sequence} but its head says "
                                     f"#{stored.sequence}: events were removed from the end"))
    return problems, head


def audit_log(*, uow: UnitOfWork, since: datetime | None = None,
              limit: int | None = None, entity: str | None = None,
              action: str | None = None, actor: str | None = None) -> list[ChainedEvent]:
    """Events in chain order, optionally of one entity kind, action or actor."""
    authorize(uow, Permission.READ_AUDIT, doing="read the audit trail")
    if entity is None and action is None and actor is None:
        return uow.audit.since(since, limit)
    return uow.audit_keys.find(entity=entity, action=action, actor=actor, since=since,
                               limit=limit)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An event as it concerns one thing.

    Attributes:
        chained: the stored event (its hashes and full content, as verified).
        key: the thing's key (an asset tag).
        before, after: that thing's values before and after the change (None: it did not
            exist / was removed); for a chunk event, its entry among the others.
        in_batch: the event concerns several things (its key is ``FIRST..LAST (N)``).
    """

    chained: ChainedEvent
    key: str
    before: Any
    after: Any
    in_batch: bool

    def changed(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) of each value that differs, in the after's order."""
        before = self.before if isinstance(self.before, dict) else {}
        after = self.after if isinstance(self.after, dict) else {}
        names = list(after) + [n for n in before if n not in after]
        return [(n, before.get(n), after.get(n)) for n in names
                if before.get(n) != after.get(n)]


def entry_for(chained: ChainedEvent, key: str) -> AuditEntry:
    """``chained`` as it concerns ``key``: a chunk event narrowed to that key's entries."""
    event = chained.event
    if event.key != key and isinstance(event.after, dict) and key in event.after:
        before = event.before.get(key) if isinstance(event.before, dict) else None
        return AuditEntry(chained, key, before, event.after[key], True)
    return AuditEntry(chained, key, event.before, event.after, False)


def audit_find(*, uow: UnitOfWork, key: str, entity: str | None = None,
               action: str | None = None, actor: str | None = None,
               since: datetime | None = None, limit: int | None = None) -> list[AuditEntry]:
    """Every event about the thing ``key`` (of ``entity`` if given), in chain order: its own
    events and the chunk events that concern it, each with that thing's values."""
    authorize(uow, Permission.READ_AUDIT, doing="read the audit trail")
    key = key.strip()
    found = uow.audit_keys.find(key=key, entity=entity, action=action, actor=actor,
                                since=since, limit=limit)
    return [entry_for(chained, key) for chained in found]


def audit_event(*, uow: UnitOfWork, sequence: int, key: str | None = None) -> AuditEntry:
    """The event at ``sequence`` (as it concerns ``key`` when that is one of its things)."""
    authorize(uow, Permission.READ_AUDIT, doing="read the audit trail")
    chained = uow.audit_keys.by_sequence(sequence)
    if chained is None:
        raise NotFoundError(f"audit event #{sequence} does not exist")
    return entry_for(chained, key.strip() if key else chained.event.key)


def audit_head(*, uow: UnitOfWork) -> ChainHead:
    """The chain's head, as recorded at a period close."""
    return uow.audit.head()
