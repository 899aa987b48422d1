"""The single path every write takes: check the permission, change, record the audit event.

Services call :func:`authorize` first and :func:`record_change` for every thing they change, in
the same unit of work, so that the change and its audit event commit (or roll back) together.
The governance work (hash chain, scopes) changes these two functions and nothing else.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.access import SCOPED_PERMISSIONS, Permission, Role, require_within
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


def authorize(uow: UnitOfWork, permission: Permission, *, doing: str,
              business_units: Collection[str | None] | None = None) -> frozenset[Role]:
    """Raise PermissionDeniedError unless the unit of work's actor may do this.

    With ``business_units`` (what the operation touches, see :func:`business_units_of`), a
    grant scoped to other units does not count. Returns the actor's roles that allow it, so
    that callers apply the limits of those roles only.
    """
    uow.actor.require(permission, doing=doing)
    if business_units is None or permission not in SCOPED_PERMISSIONS:
        return frozenset(uow.actor.roles)
    scopes = uow.role_scopes.scopes_of(uow.actor.login)
    return require_within(uow.actor, scopes, permission, doing=doing,
                          business_units=business_units)


def business_units_of(uow: UnitOfWork, cost_centres: Iterable[str | None]
                      ) -> frozenset[str | None]:
    """The business units of ``cost_centres``: each centre's own, else its nearest ancestor's
    (None when no ancestor has one). Lines without a cost centre concern no unit."""
    by_code = {cc.code: cc for cc in uow.cost_centres.list()}
    units: set[str | None] = set()
    for code in {c for c in cost_centres if c}:
        seen: set[str] = set()
        node = by_code.get(code)
        unit = None
        while node is not None and node.code not in seen:
            seen.add(node.code)
            if node.business_unit:
                unit = node.business_unit
                break
            node = by_code.get(node.parent) if node.parent else None
        units.add(unit)
    return frozenset(units)


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
