"""Use cases for who holds which role, and where: grants may be scoped to business units.

A grant without a scope is global. A scoped grant names one or more business units (the
``business_unit`` of the cost centres, see :func:`ledger.services.base.business_units_of`):
granting the same role again with another unit widens it, granting it without a scope makes it
global, revoking a unit narrows it, and revoking the last unit (or the role without a scope)
takes the role away.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ledger.access import Actor, Permission, Role
from ledger.errors import ConflictError, InputError
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, authorize, record_change

#: How an unscoped grant shows in listings and in the audit trail.
GLOBAL = "all business units"


@dataclass(frozen=True, slots=True)
class Grant:
    """One role of one login; ``scope`` empty means every business unit."""

    login: str
    role: Role
    scope: frozenset[str] = frozenset()


def list_users(*, uow: UnitOfWork) -> dict[str, frozenset[Role]]:
    authorize(uow, Permission.READ, doing="list users")
    return uow.users.list()


def list_grants(*, uow: UnitOfWork) -> list[Grant]:
    """Every grant, by login then role, with its scope."""
    authorize(uow, Permission.READ, doing="list users")
    scopes = uow.role_scopes.all()
    return [Grant(login, role, scopes.get(login, {}).get(role, frozenset()))
            for login, roles in sorted(uow.users.list().items())
            for role in sorted(roles)]


def _grants_of(uow: UnitOfWork, login: str) -> dict[str, object]:
    """A login's roles and their scopes, as the audit trail records them."""
    scopes = uow.role_scopes.scopes_of(login)
    return {role.value: sorted(scopes[role]) if role in scopes else GLOBAL
            for role in sorted(uow.users.roles_of(login))}


def _known_units(uow: UnitOfWork, scope: Collection[str]) -> frozenset[str]:
    units = frozenset(u.strip() for u in scope if u and u.strip())
    known = {cc.business_unit for cc in uow.cost_centres.list() if cc.business_unit}
    unknown = sorted(units - known)
    if unknown:
        raise InputError(f"unknown business unit(s) {', '.join(unknown)}; the cost centres "
                         f"name {', '.join(sorted(known)) or 'none yet'}", field="scope",
                         value=", ".join(unknown))
    return units


def grant_role(*, uow: UnitOfWork, login: str, role: Role, reason: str | None = None,
               scope: Collection[str] = ()) -> Changes:
    """Grant ``role`` to ``login``, for every business unit or only for ``scope``."""
    authorize(uow, Permission.MANAGE_USERS, doing="grant roles")
    units = _known_units(uow, scope)
    before = _grants_of(uow, login)
    held = role in uow.users.roles_of(login)
    current = uow.role_scopes.scopes_of(login).get(role)  # None: global (if held)
    if held and current is None and units:
        raise ConflictError(f"{login} already holds {role.value} for every business unit; "
                            f"revoke it first to limit it to {', '.join(sorted(units))}")
    if held and (current is None or (units and units <= current)):
        return Changes(frozenset({"user"}), unchanged=1)
    if not held:
        uow.users.grant(login, role)
    uow.role_scopes.set_scope(login, role, (current or frozenset()) | units if units
                              else frozenset())
    record_change(uow, action="role.grant", entity="user", key=login, before=before,
                  after=_grants_of(uow, login), reason=reason)
    return Changes(frozenset({"user"}), updated=1)


def revoke_role(*, uow: UnitOfWork, login: str, role: Role, reason: str | None = None,
                scope: Collection[str] = ()) -> Changes:
    """Revoke ``role`` from ``login``: entirely, or only for the business units in ``scope``."""
    authorize(uow, Permission.MANAGE_USERS, doing="revoke roles")
    if role not in uow.users.roles_of(login):
        return Changes(frozenset({"user"}), unchanged=1)
    units = frozenset(u.strip() for u in scope if u and u.strip())
    current = uow.role_scopes.scopes_of(login).get(role)
    before = _grants_of(uow, login)
    if units and current is None:
        raise ConflictError(f"{login} holds {role.value} for every business unit; revoke it "
                            "without --scope, then grant it again for the units that remain")
    if units and not units & current:  # type: ignore[operator]
        return Changes(frozenset({"user"}), unchanged=1)
    remaining = (current - units) if units and current else frozenset()
    if remaining:
        uow.role_scopes.set_scope(login, role, remaining)
    else:
        _check_last_administrator(uow, login, role)
        uow.role_scopes.set_scope(login, role, frozenset())
        uow.users.revoke(login, role)
    record_change(uow, action="role.revoke", entity="user", key=login, before=before,
                  after=_grants_of(uow, login), reason=reason)
    return Changes(frozenset({"user"}), updated=1)


def _check_last_administrator(uow: UnitOfWork, login: str, role: Role) -> None:
    if role is Role.ADMINISTRATOR:
        admins = [u for u, roles in uow.users.list().items() if Role.ADMINISTRATOR in roles]
        if admins == [login]:
            raise ConflictError(f"{login} is the last administrator; grant the role to someone "
                                "else first")


def bootstrap_administrator(*, uow: UnitOfWork) -> Changes:
    """Make the current user the first administrator of a database that has no users yet.

    This is the one write that needs no permission: whoever creates a database owns it. Once any
    user holds a role it changes nothing.
    """
    if uow.users.list():
        return Changes(frozenset({"user"}), unchanged=1)
    uow.users.grant(uow.actor.login, Role.ADMINISTRATOR)
    record_change(uow, action="role.grant", entity="user", key=uow.actor.login, before=[],
                  after=[Role.ADMINISTRATOR], reason="created the database")
    # The actor's roles were read when the unit of work began; refresh them for this work.
    uow.actor = Actor(uow.actor.login, frozenset({Role.ADMINISTRATOR}))
    return Changes(frozenset({"user"}), updated=1)
