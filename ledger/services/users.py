"""Use cases for who holds which role. Scopes by business unit come with governance."""

from __future__ import annotations

from ledger.access import Actor, Permission, Role
from ledger.errors import ConflictError
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, authorize, record_change


def list_users(*, uow: UnitOfWork) -> dict[str, frozenset[Role]]:
    authorize(uow, Permission.READ, doing="list users")
    return uow.users.list()


def grant_role(*, uow: UnitOfWork, login: str, role: Role, reason: str | None = None) -> Changes:
    authorize(uow, Permission.MANAGE_USERS, doing="grant roles")
    before = uow.users.roles_of(login)
    if role in before:
        return Changes(frozenset({"user"}), unchanged=1)
    uow.users.grant(login, role)
    record_change(uow, action="role.grant", entity="user", key=login, before=sorted(before),
                  after=sorted(before | {role}), reason=reason)
    return Changes(frozenset({"user"}), updated=1)


def revoke_role(*, uow: UnitOfWork, login: str, role: Role, reason: str | None = None) -> Changes:
    authorize(uow, Permission.MANAGE_USERS, doing="revoke roles")
    before = uow.users.roles_of(login)
    if role not in before:
        return Changes(frozenset({"user"}), unchanged=1)
    if role is Role.ADMINISTRATOR:
        admins = [u for u, roles in uow.users.list().items() if Role.ADMINISTRATOR in roles]
        if admins == [login]:
            raise ConflictError(f"{login} is the last administrator; grant the role to someone "
                                "else first")
    uow.users.revoke(login, role)
    record_change(uow, action="role.revoke", entity="user", key=login, before=sorted(before),
                  after=sorted(before - {role}), reason=reason)
    return Changes(frozenset({"user"}), updated=1)


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
