"""Who may do what: roles, permissions and the acting user.

The services check permissions (never only the UI). This module is the one table of which role
grants which permission; the governance issue extends it with business-unit scopes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from ledger.errors import PermissionDeniedError


class Permission(enum.StrEnum):
    READ = "read"
    MANAGE_REFERENCE_DATA = "reference.manage"
    MANAGE_DRIVERS = "drivers.manage"
    IMPORT_COSTS = "costs.import"
    REVIEW_FINDINGS = "findings.review"
    DRAFT_JOURNALS = "journals.draft"
    APPROVE_JOURNALS = "journals.approve"
    POST_JOURNALS = "journals.post"
    CLOSE_PERIODS = "periods.close"
    REOPEN_PERIODS = "periods.reopen"
    MANAGE_ASSETS = "assets.manage"
    MANAGE_USERS = "users.manage"
    READ_AUDIT = "audit.read"


class Role(enum.StrEnum):
    VIEWER = "viewer"
    ASSET_MANAGER = "asset_manager"
    COST_ANALYST = "cost_analyst"
    APPROVER = "approver"
    CONTROLLER = "controller"
    ADMINISTRATOR = "administrator"
    AUDITOR = "auditor"


_P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({_P.READ}),
    Role.ASSET_MANAGER: frozenset({_P.READ, _P.MANAGE_ASSETS, _P.REVIEW_FINDINGS}),
    Role.COST_ANALYST: frozenset({_P.READ, _P.MANAGE_DRIVERS, _P.IMPORT_COSTS,
                                  _P.DRAFT_JOURNALS, _P.REVIEW_FINDINGS}),
    Role.APPROVER: frozenset({_P.READ, _P.APPROVE_JOURNALS, _P.POST_JOURNALS}),
    Role.CONTROLLER: frozenset({_P.READ, _P.CLOSE_PERIODS, _P.REOPEN_PERIODS,
                                _P.MANAGE_REFERENCE_DATA, _P.APPROVE_JOURNALS,
                                _P.POST_JOURNALS}),
    Role.ADMINISTRATOR: frozenset(set(Permission) - {_P.APPROVE_JOURNALS}),
    Role.AUDITOR: frozenset({_P.READ, _P.READ_AUDIT}),
}


#: The largest journal (debit total, in any one currency) each role may approve; None means no
#: limit. A role not listed cannot approve at all. Amounts above an approver's limit go to a
#: controller.
APPROVAL_LIMITS: dict[Role, Decimal | None] = {
    Role.APPROVER: Decimal("250000.00"),
    Role.CONTROLLER: None,
}


def approval_limit(roles: frozenset[Role]) -> Decimal | None:
    """The highest limit among ``roles`` (None: unlimited); raises if none may approve."""
    limits = [APPROVAL_LIMITS[r] for r in roles if r in APPROVAL_LIMITS]
    if not limits:
        raise PermissionDeniedError("none of your roles may approve journals")
    return None if any(limit is None for limit in limits) else max(limits)  # type: ignore[type-var]


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise PermissionDeniedError(f"unknown role {text!r}; roles are {allowed}") from None


@dataclass(frozen=True, slots=True)
class Actor:
    """The user on whose behalf a unit of work runs.

    Attributes:
        login: the database login on PostgreSQL; the OS login (or APPORTION_USER) on SQLite.
        roles: the roles granted to that login in this database.
    """

    login: str
    roles: frozenset[Role] = field(default_factory=frozenset)

    @property
    def permissions(self) -> frozenset[Permission]:
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS[role]
        return frozenset(granted)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission, *, doing: str) -> None:
        """Raise :class:`PermissionDeniedError` unless the actor holds ``permission``."""
        if self.can(permission):
            return
        if not self.roles:
            raise PermissionDeniedError(
                f"{self.login} has no role in this database and cannot {doing}; an administrator "
                f"can grant one with: apportion users grant {self.login} ROLE"
            )
        holders = sorted(r.value for r, perms in ROLE_PERMISSIONS.items() if permission in perms)
        raise PermissionDeniedError(
            f"{self.login} ({', '.join(sorted(r.value for r in self.roles))}) cannot {doing}; "
            f"that needs the role {' or '.join(holders)}"
        )
