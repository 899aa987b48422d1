"""Every role against every allocation write, without any UI: a denied call raises and leaves
the database unchanged; an allowed call is never refused for lack of permission."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from ledger.access import ROLE_PERMISSIONS, Permission, Role
from ledger.allocation import ManualCost
from ledger.allocation.exceptions import AllocationException
from ledger.allocation.stored import InvoiceLine
from ledger.errors import ApportionError, PermissionDeniedError
from ledger.reference import DriverQuantity
from ledger.services import allocation
from ledger.services.users import grant_role
from ledger.staging import staged
from tests.services.allocation_support import AllocationCompany, manual, rules

SPIKE = AllocationException(id=0, title="spike", owner="ann", cost_centre="1010",
                            period_from="2026-10", period_to="2026-10",
                            expires_on=date(2026, 12, 31), share_percent=Decimal(100))

OPERATIONS: dict[str, tuple[Permission, Callable]] = {
    "import rules": (Permission.MANAGE_RULES, lambda uow: allocation.import_ruleset(
        uow=uow, text=rules(2, share="80"), reason="matrix")),
    "activate rules": (Permission.ACTIVATE_RULES, lambda uow: allocation.activate(
        uow=uow, name="it", version=2)),
    "roll back rules": (Permission.ACTIVATE_RULES, lambda uow: allocation.rollback(
        uow=uow, name="it", to_version=1, reason="matrix")),
    "allocate": (Permission.RUN_ALLOCATION, lambda uow: allocation.allocate(
        uow=uow, store=None, period="2026-10",
        extra_sources=[allocation.manual_source([manual("10.00")])])),
    "import drivers": (Permission.MANAGE_DRIVERS, lambda uow: allocation.import_drivers(
        uow=uow, rows=staged([DriverQuantity("headcount", "1010", "2026-10", Decimal(3))]))),
    "import manual costs": (Permission.IMPORT_COSTS, lambda uow: allocation.import_manual_costs(
        uow=uow, costs=staged([ManualCost("M-1", "2026-10", "cloud", Decimal(5), "USD")]))),
    "import invoices": (Permission.IMPORT_COSTS, lambda uow: allocation.import_invoices(
        uow=uow, file_name="inv.csv", sha256="0" * 64,
        lines=staged([InvoiceLine("INV-1", "ACC-1", "2026-10", "USD", Decimal(1))]))),
    "propose exception": (Permission.MANAGE_EXCEPTIONS, lambda uow: allocation.propose_exception(
        uow=uow, exception=SPIKE, reason="matrix")),
    "approve exception": (Permission.APPROVE_EXCEPTIONS, lambda uow: allocation.approve_exception(
        uow=uow, exception_id=1)),
}


@pytest.fixture
def company(app) -> AllocationCompany:
    company = AllocationCompany(app)
    company.save_rules(rules())
    company.save_rules(rules(share="70"))
    with company.as_("carol")() as uow:
        allocation.propose_exception(uow=uow, exception=SPIKE, reason="matrix")
        uow.commit()
    with app.uow() as uow:
        for role in Role:
            grant_role(uow=uow, login=f"u_{role.value}", role=role)
        uow.commit()
    return company


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_each_role_may_do_exactly_what_its_permissions_say(company, name) -> None:
    permission, call = OPERATIONS[name]
    for role in Role:
        with company.app.uow(read_only=True) as uow:
            events = uow.audit.count()
        allowed = permission in ROLE_PERMISSIONS[role]
        with company.as_(f"u_{role.value}")() as uow:
            if allowed:
                try:
                    call(uow)
                except PermissionDeniedError:
                    pytest.fail(f"{role.value} was refused {name}")
                except ApportionError:
                    pass  # allowed, refused for another reason (not the matrix's concern)
                uow.rollback()
            else:
                with pytest.raises(PermissionDeniedError):
                    call(uow)
        with company.app.uow(read_only=True) as uow:
            assert uow.audit.count() == events, f"{role.value} {name} left a trace"
