"""The single path every write takes: check the permission, change, record the audit event.

Services call :func:`authorize` first and :func:`record_change` for every thing they change, in
the same unit of work, so that the change and its audit event commit (or roll back) together.
The governance work (hash chain, scopes) changes these two functions and nothing else.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.access import Permission
from ledger.audit import AuditEvent
from ledger.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Changes:
    """What a write did, so that front ends refresh only what is concerned.

    Attributes:
        entities: kinds of thing touched (``cost_centre``, ``period``, ``journal`` ...).
        created, updated, deleted, unchanged: counts of things.
        ids: identifiers of created things where callers need them (journal ids).
    """

    entities: frozenset[str] = frozenset()
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    ids: tuple[int | str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def __add__(self, other: Changes) -> Changes:
        return Changes(self.entities | other.entities, self.created + other.created,
                       self.updated + other.updated, self.deleted + other.deleted,
                       self.unchanged + other.unchanged, self.ids + other.ids)


def authorize(uow: UnitOfWork, permission: Permission, *, doing: str) -> None:
    """Raise PermissionDeniedError unless the unit of work's actor may do this."""
    uow.actor.require(permission, doing=doing)


def snapshot(value: Any) -> Any:
    """A JSON-ready copy of a domain value for the audit trail (decimals and dates as text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: snapshot(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.init}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | frozenset | set):
        items = [snapshot(v) for v in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    if isinstance(value, dict):
        return {str(k): snapshot(v) for k, v in value.items()}
    return value


def record_change(
    uow: UnitOfWork,
    *,
    action: str,
    entity: str,
    key: str,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
) -> None:
    """Append the audit event for one change, in the caller's transaction."""
    uow.audit.append(AuditEvent(
        occurred_at=uow.clock.now(),
        actor=uow.actor.login,
        action=action,
        entity=entity,
        key=key,
        before=snapshot(before) if before is not None else None,
        after=snapshot(after) if after is not None else None,
        reason=reason,
    ))
