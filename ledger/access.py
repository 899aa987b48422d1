"""Who may do what: roles, permissions and the acting user.

The services check permissions (never only the UI). This module is the one table of which role
grants which permission, and of how a grant scoped to business units narrows it.

Scopes: a grant of a role may be limited to one or more business units (the ``business_unit`` of
a cost centre, inherited down the cost-centre hierarchy). A scoped grant acts only wholly inside
its units: an approver for BU ``MFG`` cannot approve a journal that also hits a cost centre of
BU ``RND``. An unscoped grant is global. Reading is never scoped: viewers and auditors read
everything (an auditor still changes nothing: its role holds no write permission).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
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
    MANAGE_RULES = "rules.manage"
    ACTIVATE_RULES = "rules.activate"
    RUN_ALLOCATION = "allocation.run"
    MANAGE_EXCEPTIONS = "exceptions.manage"
    APPROVE_EXCEPTIONS = "exceptions.approve"
    REQUEST_PROVISIONING = "provisioning.request"
    APPROVE_PROVISIONING = "provisioning.approve"
    MANAGE_BUDGETS = "budgets.manage"
    MANAGE_CONTRACTS = "contracts.manage"
    MANAGE_LICENCES = "licences.manage"
    MANAGE_QUALITY_RULES = "quality.manage"
    IMPORT_INVENTORY = "inventory.import"
    RECONCILE_INVENTORY = "inventory.reconcile"
    REVIEW_RULES = "rules.review"
    RAISE_DISPUTES = "disputes.raise"
    REVIEW_DISPUTES = "disputes.review"
    MANAGE_BENCHMARKS = "benchmarks.manage"
    MANAGE_CATALOGUE = "catalogue.manage"
    RECORD_SAVINGS = "savings.manage"


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
    Role.ASSET_MANAGER: frozenset({_P.READ, _P.MANAGE_ASSETS, _P.REVIEW_FINDINGS,
                                   _P.REQUEST_PROVISIONING, _P.MANAGE_CONTRACTS,
                                   _P.MANAGE_LICENCES, _P.MANAGE_QUALITY_RULES,
                                   _P.IMPORT_INVENTORY, _P.RECONCILE_INVENTORY}),
    Role.COST_ANALYST: frozenset({_P.READ, _P.MANAGE_DRIVERS, _P.IMPORT_COSTS,
                                  _P.DRAFT_JOURNALS, _P.REVIEW_FINDINGS,
                                  _P.REQUEST_PROVISIONING, _P.MANAGE_BUDGETS}),
    Role.APPROVER: frozenset({_P.READ, _P.APPROVE_JOURNALS, _P.POST_JOURNALS,
                              _P.APPROVE_PROVISIONING}),
    Role.CONTROLLER: frozenset({_P.READ, _P.CLOSE_PERIODS, _P.REOPEN_PERIODS,
                                _P.MANAGE_REFERENCE_DATA, _P.APPROVE_JOURNALS,
                                _P.POST_JOURNALS, _P.APPROVE_PROVISIONING, _P.MANAGE_BUDGETS,
                                _P.MANAGE_CONTRACTS}),
    # Administrators run the system; approving money (journals, new spend) is for approvers
    # and controllers, so that whoever grants roles cannot also wave spending through.
    Role.ADMINISTRATOR: frozenset(set(Permission) - {_P.APPROVE_JOURNALS,
                                                     _P.APPROVE_PROVISIONING}),
    Role.AUDITOR: frozenset({_P.READ, _P.READ_AUDIT}),
}


# Allocation: analysts write rule sets, run allocations and propose exceptions; a controller
# activates rule sets and approves exceptions (maker-checker); an administrator may activate a
# rule set but, as with journals, approves no exception.
ROLE_PERMISSIONS[Role.COST_ANALYST] |= {_P.MANAGE_RULES, _P.RUN_ALLOCATION, _P.MANAGE_EXCEPTIONS}
ROLE_PERMISSIONS[Role.CONTROLLER] |= {_P.ACTIVATE_RULES, _P.RUN_ALLOCATION,
                                      _P.APPROVE_EXCEPTIONS}
ROLE_PERMISSIONS[Role.ADMINISTRATOR] -= {_P.APPROVE_EXCEPTIONS}

# Allocation policy: analysts import policy versions (MANAGE_RULES), controllers activate them
# (ACTIVATE_RULES); analysts and controllers complete the rule reviews of the calendar.
ROLE_PERMISSIONS[Role.COST_ANALYST] |= {_P.REVIEW_RULES}
ROLE_PERMISSIONS[Role.CONTROLLER] |= {_P.REVIEW_RULES}

# Reports: cost-centre owners (viewers), analysts and controllers raise disputes of their
# charges; cost analysts review them (an accepted one drafts a correcting journal that an
# approver approves); analysts and controllers keep the KPI benchmarks. An auditor raises none.
ROLE_PERMISSIONS[Role.VIEWER] |= {_P.RAISE_DISPUTES}
ROLE_PERMISSIONS[Role.COST_ANALYST] |= {_P.RAISE_DISPUTES, _P.REVIEW_DISPUTES,
                                        _P.MANAGE_BENCHMARKS}
ROLE_PERMISSIONS[Role.CONTROLLER] |= {_P.RAISE_DISPUTES, _P.MANAGE_BENCHMARKS}
ROLE_PERMISSIONS[Role.APPROVER] |= {_P.RAISE_DISPUTES}

# Service catalogue and savings: analysts and controllers keep the catalogue and change a cost
# centre's tier (after seeing its cost); analysts, asset managers and controllers record
# optimisations (their realised saving is measured from billing, never entered).
ROLE_PERMISSIONS[Role.COST_ANALYST] |= {_P.MANAGE_CATALOGUE, _P.RECORD_SAVINGS}
ROLE_PERMISSIONS[Role.CONTROLLER] |= {_P.MANAGE_CATALOGUE, _P.RECORD_SAVINGS}
ROLE_PERMISSIONS[Role.ASSET_MANAGER] |= {_P.RECORD_SAVINGS}


#: The largest journal (debit total, in any one currency) each role may approve; None means no
#: limit. A role not listed cannot approve at all. Amounts above an approver's limit go to a
#: controller.
APPROVAL_LIMITS: dict[Role, Decimal | None] = {
    Role.APPROVER: Decimal("250000.00"),
    Role.CONTROLLER: None,
}


#: The largest expected monthly cost of a provisioning request each role may approve (None: no
#: limit). A request above it, or one that breaks its budget or quota, is escalated to a
#: controller.
PROVISIONING_LIMITS: dict[Role, Decimal | None] = {
    Role.APPROVER: Decimal("5000.00"),
    Role.CONTROLLER: None,
}


def approval_limit(roles: Collection[Role],
                   limits: Mapping[Role, Decimal | None] = APPROVAL_LIMITS) -> Decimal | None:
    """The highest limit among ``roles`` (None: unlimited); raises if none may approve."""
    found = [limits[r] for r in roles if r in limits]
    if not found:
        raise PermissionDeniedError("none of your roles may approve this")
    return None if any(limit is None for limit in found) else max(found)  # type: ignore[type-var]


#: Permissions whose use a business-unit scope narrows: those that act on one unit's money.
#: Reading is never scoped; company-wide acts (closing a period, users, reference data) need
#: an unscoped grant in any case, because they are checked without a business unit.
SCOPED_PERMISSIONS: frozenset[Permission] = frozenset({
    Permission.APPROVE_JOURNALS, Permission.APPROVE_PROVISIONING,
    Permission.REQUEST_PROVISIONING, Permission.MANAGE_BUDGETS,
})
#: How a cost centre without a business unit is named in messages.
NO_BUSINESS_UNIT = "(no business unit)"

#: login's scopes: role -> the business units it is limited to; a role absent is global.
Scopes = Mapping[Role, frozenset[str]]


def roles_within(roles: Collection[Role], scopes: Scopes, permission: Permission,
                 business_units: Collection[str | None]) -> frozenset[Role]:
    """The roles among ``roles`` that grant ``permission`` for every one of ``business_units``.

    A role without a scope is global; a scoped role counts only when all the units are inside
    its scope (a unit of None, a cost centre that belongs to no unit, is inside no scope).
    """
    units = set(business_units)
    return frozenset(
        role for role in roles if permission in ROLE_PERMISSIONS[role]
        and (role not in scopes or units <= set(scopes[role]))
    )


def require_within(actor: Actor, scopes: Scopes, permission: Permission, *, doing: str,
                   business_units: Collection[str | None]) -> frozenset[Role]:
    """Raise :class:`PermissionDeniedError` naming the business units outside the actor's scope
    unless some role of the actor grants ``permission`` for all of ``business_units``; return
    the roles that do (their limits apply)."""
    actor.require(permission, doing=doing)
    applicable = roles_within(actor.roles, scopes, permission, business_units)
    if applicable:
        return applicable
    covered: set[str] = set()
    for role in actor.roles:
        if permission in ROLE_PERMISSIONS[role]:
            covered |= set(scopes.get(role, ()))
    outside = sorted(NO_BUSINESS_UNIT if unit is None else unit
                     for unit in set(business_units) if unit not in covered)
    raise PermissionDeniedError(
        f"{actor.login} may {doing} only for business unit(s) {', '.join(sorted(covered))}; "
        f"this concerns business unit(s) {', '.join(outside)}"
    )


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
