"""The status summary: what is in the database and which period is being worked on."""

from __future__ import annotations

from typing import Any

from ledger.access import Permission
from ledger.calendar import PeriodStatus, current_period
from ledger.journal import JournalStatus
from ledger.ports import UnitOfWork
from ledger.services.base import authorize


def status_summary(*, uow: UnitOfWork) -> dict[str, Any]:
    """Counts of the main things, JSON-ready. Later work adds its own keys; keys never vanish."""
    authorize(uow, Permission.READ, doing="read the status")
    periods = uow.periods.list()
    period = current_period(periods, uow.clock.now().date())
    company = uow.company.get()
    journals = dict.fromkeys((s.value for s in JournalStatus), 0)
    journals.update(uow.journals.count_by_status())
    return {
        "company": company.code if company else None,
        "functional_currency": company.functional_currency if company else None,
        "current_period": period.key if period else None,
        "periods": {
            "open": sum(1 for p in periods if p.status is PeriodStatus.OPEN),
            "closed": sum(1 for p in periods if p.status is PeriodStatus.CLOSED),
        },
        "cost_centres": uow.cost_centres.count(),
        "gl_accounts": uow.accounts.count(),
        "fx_rates": uow.fx_rates.count(),
        "driver_quantities": uow.drivers.count(),
        "allocation_runs": uow.allocation_runs.count(),
        "assets": uow.assets.count(),
        "discovery_records": uow.inventory.count(),
        "journals": journals,
        "users": len(uow.users.list()),
        "audit_events": uow.audit.count(),
        "licence_entitlements": uow.licences.count_entitlements(),
        "software_installations": uow.licences.count_installations(),
        "overdue_reviews": _overdue_reviews(uow),
        # disputes waiting for a cost analyst (open or under review)
        "open_disputes": sum(len(uow.disputes.list(status=s)) for s in ("open", "under_review")),
    }


def _overdue_reviews(uow: UnitOfWork) -> int:
    """Rule reviews past their due date (ledger.services.reviews): the dashboard shows them."""
    from ledger.services.reviews import overdue_count

    return overdue_count(uow)
