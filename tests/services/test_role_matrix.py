"""Every role against every write operation, without any UI: a denied call raises and changes
nothing; an allowed call is never refused for lack of permission."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from ledger.access import ROLE_PERMISSIONS, Permission, Role
from ledger.asset import Asset, AssetEvent, AssetEventKind
from ledger.erp import ErpProfile
from ledger.errors import ApportionError, PermissionDeniedError
from ledger.journal import JournalEntry, JournalLine
from ledger.persistence.unit_of_work import UnitOfWorkFactory
from ledger.reference import AccountType, Company, CostCentre, DriverQuantity, FxRate, GlAccount
from ledger.services import (
    assets,
    depreciation,
    erp_profiles,
    journals,
    periods,
    reference_data,
    users,
)
from ledger.services.audit import verify_audit
from ledger.staging import staged

D = Decimal
ENTRY = JournalEntry(date(2026, 10, 31), "Matrix", (
    JournalLine.debit("6900", D("1.00"), "USD", cost_centre="1010"),
    JournalLine.credit("7990", D("1.00"), "USD", cost_centre="6010")))

#: operation -> (the permission it needs, the call). Journal 1 is submitted by carol.
OPERATIONS: dict[str, tuple[Permission, Callable]] = {
    "set company": (Permission.MANAGE_REFERENCE_DATA, lambda uow: reference_data.set_company(
        uow=uow, company=Company("MRD1", "Meridian Components plc", "USD"))),
    "import cost centres": (Permission.MANAGE_REFERENCE_DATA,
                            lambda uow: reference_data.import_cost_centres(
                                uow=uow, cost_centres=staged([CostCentre("1099", "New")]))),
    "import accounts": (Permission.MANAGE_REFERENCE_DATA,
                        lambda uow: reference_data.import_accounts(
                            uow=uow, accounts=staged([GlAccount("6999", "New",
                                                                AccountType.EXPENSE)]))),
    "set fx rates": (Permission.MANAGE_REFERENCE_DATA, lambda uow: reference_data.set_fx_rates(
        uow=uow, rates=[FxRate("USD", "EUR", date(2026, 1, 1), D("0.9"))])),
    "set drivers": (Permission.MANAGE_DRIVERS, lambda uow: reference_data.set_driver_quantities(
        uow=uow, quantities=staged([DriverQuantity("headcount", "1010", "2026-10", D(5))]))),
    "close period": (Permission.CLOSE_PERIODS, lambda uow: periods.close_period(
        uow=uow, period="2026-01")),
    "reopen period": (Permission.REOPEN_PERIODS, lambda uow: periods.reopen_period(
        uow=uow, period="2026-02", reason="late invoice")),
    "draft journal": (Permission.DRAFT_JOURNALS, lambda uow: journals.draft_journal(
        uow=uow, entry=ENTRY)),
    "submit journal": (Permission.DRAFT_JOURNALS, lambda uow: journals.submit_journal(
        uow=uow, journal_id=2)),
    "approve journal": (Permission.APPROVE_JOURNALS, lambda uow: journals.approve_journal(
        uow=uow, journal_id=1)),
    "grant role": (Permission.MANAGE_USERS, lambda uow: users.grant_role(
        uow=uow, login="zoe", role=Role.VIEWER)),
    "register asset": (Permission.MANAGE_ASSETS, lambda uow: assets.register_assets(
        uow=uow, assets=staged([Asset("LT-9", "Laptop", "laptop", "1010")]))),  # type: ignore[arg-type]
    "record asset event": (Permission.MANAGE_ASSETS, lambda uow: assets.record_asset_event(
        uow=uow, event=AssetEvent("LT-1", AssetEventKind.TRANSFER, date(2026, 3, 1),
                                  to_cost_centre="6010"))),
    "run depreciation": (Permission.DRAFT_JOURNALS, lambda uow: depreciation.run_depreciation(
        uow=uow, period="2026-10")),
    "configure erp": (Permission.MANAGE_REFERENCE_DATA, lambda uow: erp_profiles.save_profile(
        uow=uow, profile=ErpProfile("sap", "sap-soap", "http://127.0.0.1:9", "MRD1", "demo"))),
    "verify audit": (Permission.READ_AUDIT, lambda uow: verify_audit(uow=uow)),
}


@pytest.fixture
def company(ledger):
    """The posting tests' company, a laptop, journal 1 submitted and journal 2 drafted."""
    app = ledger.app
    with app.uow() as uow:
        assets.register_assets(uow=uow, assets=staged([Asset("LT-1", "Laptop", "laptop",  # type: ignore[arg-type]
                                                             "1010")]))
        periods.extend_calendar(uow=uow, first=date(2026, 1, 1), last=date(2026, 12, 31))
        periods.close_period(uow=uow, period="2026-02")
        uow.commit()
    ledger.draft()
    ledger.draft(submit=False)
    return app


def _state(app) -> tuple[int, dict[str, int]]:
    with app.uow(read_only=True) as uow:
        return uow.audit.count(), uow.journals.count_by_status()


@pytest.mark.parametrize("role", list(Role))
def test_each_role_can_do_exactly_what_its_permissions_say(company, role) -> None:
    login = f"matrix-{role.value}"
    with company.uow() as uow:
        users.grant_role(uow=uow, login=login, role=role)
        uow.commit()
    factory = UnitOfWorkFactory(company.engine, login, company.uow.clock)
    granted = ROLE_PERMISSIONS[role]
    for name, (permission, call) in OPERATIONS.items():
        before = _state(company)
        with factory() as uow:
            if permission in granted:
                try:
                    call(uow)
                except PermissionDeniedError as exc:
                    # Only maker-checker and approval limits may still refuse an allowed role.
                    assert "cannot also approve" in str(exc) or "limit" in str(exc), (name, exc)
                except ApportionError:
                    pass  # refused for a reason other than the role: not this test's concern
                continue
            with pytest.raises(PermissionDeniedError):
                call(uow)
            uow.commit()  # even a commit after the refusal writes nothing
        assert _state(company) == before, f"{role.value} denied {name} but something changed"
