"""Use case: the methodology document of a period, from what the system runs (read only)."""

from __future__ import annotations

from decimal import Decimal

from ledger.access import APPROVAL_LIMITS, PROVISIONING_LIMITS, ROLE_PERMISSIONS, Permission
from ledger.allocation.stored import RegisteredException
from ledger.calendar import parse_period_key
from ledger.methodology import (
    AuditAnchor,
    ExceptionLine,
    Governance,
    Methodology,
    audit_section,
    book_policies,
    cloud_section,
    depreciation_section,
    drivers_section,
    exceptions_section,
    governance_section,
    policy_section,
    ruleset_sections,
)
from ledger.ports import UnitOfWork
from ledger.services.allocation import resolve
from ledger.services.base import authorize
from ledger.services.policy import active_policy


def period_key(period: str) -> str:
    year, month = parse_period_key(period)
    return f"{year:04d}-{month:02d}"


def audit_anchor(uow: UnitOfWork, period: str) -> AuditAnchor:
    """The head recorded at the period's (latest) close, else the chain's current head."""
    heads = uow.close_heads.list(period)
    stored = uow.periods.get(period)
    if heads and stored is not None and not stored.is_open:
        _, head, at, by = heads[-1]
        return AuditAnchor(str(head), True, at, by)
    return AuditAnchor(str(uow.audit.head()), False)


def _exception_line(entry: RegisteredException, period: str, uow: UnitOfWork) -> ExceptionLine:
    e = entry.exception
    today = uow.clock.now().date()
    if e.applies(period, today):
        status = "applies"
    elif entry.status.value == "approved" and today > e.expires_on:
        status = "expired"
    elif entry.status.value == "approved":
        status = "approved, other periods"
    else:
        status = entry.status.value
    scope = e.cost_centre + (f", service {e.service}" if e.service else "") + (
        f", pool {e.pool}" if e.pool else "")
    effect = (f"{format(e.share_percent.normalize(), 'f')} %" if e.share_percent is not None
              else f"up to {e.amount}") + f" to {e.target_cost_centre or 'the central centre'}"
    return ExceptionLine(e.id, e.title, status, scope, effect, f"{e.period_from}..{e.period_to}",
                         e.expires_on.isoformat(), e.approved_by or "-")


def _governance(uow: UnitOfWork) -> Governance:
    scoped = [(login, role.value, ", ".join(sorted(units)))
              for login, scopes in sorted(uow.role_scopes.all().items())
              for role, units in sorted(scopes.items())]
    return Governance(
        {role.value: [p.value for p in perms] for role, perms in ROLE_PERMISSIONS.items()},
        {role.value: limit for role, limit in APPROVAL_LIMITS.items()},
        {role.value: limit for role, limit in PROVISIONING_LIMITS.items()},
        scoped,
    )


def _driver_quantities(uow: UnitOfWork, names: set[str], period: str
                       ) -> dict[str, tuple[int, Decimal, int | None]]:
    found: dict[str, tuple[int, Decimal, int | None]] = {}
    for name in names:
        quantities = uow.driver_revisions.quantities(driver=name, period=period)
        revision = uow.driver_revisions.latest(name)
        found[name] = (len(quantities), sum((q.quantity for q in quantities), Decimal(0)),
                       revision.revision if revision else None)
    return found


def build_methodology(*, uow: UnitOfWork, period: str, ruleset: str | None = None
                      ) -> Methodology:
    """The methodology of ``period``: the rule set effective then (or ``ruleset``), the drivers,
    depreciation policies, exceptions and governance, tied to the period's audit head."""
    authorize(uow, Permission.READ, doing="generate the methodology document")
    period = period_key(period)
    version = resolve(uow, ruleset, period)
    rules = version.ruleset()
    company = uow.company.get()
    sections = ruleset_sections(rules, status=version.status.value, author=version.author,
                                activated_by=version.activated_by,
                                content_hash=version.content_hash)
    drivers = {s.driver for s in rules.shared if s.driver}
    sections.append(drivers_section(rules, period, _driver_quantities(uow, drivers, period)))
    sections.append(depreciation_section(book_policies(uow.assets.books())))
    sections.append(exceptions_section(
        [_exception_line(e, period, uow) for e in uow.allocation_exceptions.list()], period))
    cloud = cloud_section(rules)
    if cloud is not None:
        sections.insert(4, cloud)  # after the rule set's summary, pools, mapping, shared rules
    sections.append(policy_section(active_policy(uow)))
    sections.append(governance_section(_governance(uow)))
    anchor = audit_anchor(uow, period)
    sections.append(audit_section(anchor, period))
    return Methodology(company.name if company else "(no company)", period, version.label,
                       version.content_hash, uow.clock.now(), uow.actor.login, anchor,
                       tuple(sections))
