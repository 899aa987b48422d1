"""Reference-data services: all-or-nothing imports, idempotence, and the audit trail."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.errors import InputErrors, PermissionDeniedError
from ledger.persistence.unit_of_work import UnitOfWorkFactory
from ledger.reference import AccountType, Company, CostCentre, DriverQuantity, FxRate, GlAccount
from ledger.services import reference_data
from ledger.staging import Staged, staged


def tree() -> list[Staged[CostCentre]]:
    return staged([
        CostCentre("1000", "Operations", business_unit="OPS"),
        CostCentre("1010", "Manufacturing", parent="1000", business_unit="OPS",
                   owner="amara.berg@meridian.example", valid_from=date(2026, 1, 1)),
        CostCentre("1020", "Logistics", parent="1000", business_unit="OPS"),
    ], "cost_centres.csv")


def test_importing_a_cost_centre_tree_creates_it_with_one_audit_event_each(app) -> None:
    with app.uow() as uow:
        changes = reference_data.import_cost_centres(uow=uow, cost_centres=tree(),
                                                     reason="initial load")
        uow.commit()
    assert (changes.created, changes.updated) == (3, 0)
    with app.uow(read_only=True) as uow:
        stored = reference_data.list_cost_centres(uow=uow)
        events = uow.audit.latest(3)
    assert [cc.code for cc in stored] == ["1000", "1010", "1020"]
    assert stored[1].valid_from == date(2026, 1, 1)
    assert {e.action for e in events} == {"cost_centre.create"}
    assert {e.reason for e in events} == {"initial load"}
    assert all(e.actor == app.login for e in events)


def test_importing_the_same_cost_centres_again_changes_nothing(app) -> None:
    for _ in range(2):
        with app.uow() as uow:
            changes = reference_data.import_cost_centres(uow=uow, cost_centres=tree())
            uow.commit()
    assert (changes.created, changes.updated, changes.unchanged) == (0, 0, 3)
    with app.uow(read_only=True) as uow:
        assert uow.audit.count() == 1 + 3  # the administrator grant, then three creations


def test_a_changed_owner_is_an_update_with_before_and_after(app) -> None:
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=tree())
        uow.commit()
    moved = staged([CostCentre("1020", "Logistics", parent="1000", business_unit="OPS",
                               owner="new.owner@meridian.example")])
    with app.uow() as uow:
        changes = reference_data.import_cost_centres(uow=uow, cost_centres=moved)
        uow.commit()
        event = uow.audit.latest(1)[0]
    assert changes.updated == 1
    assert (event.before["owner"], event.after["owner"]) == (None, "new.owner@meridian.example")


def test_an_import_with_a_missing_parent_or_a_cycle_writes_nothing(app) -> None:
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=tree())
        uow.commit()
    bad = [
        Staged(CostCentre("2000", "Sales", business_unit="SAL"), "cc.csv", 2),
        Staged(CostCentre("2010", "Inside Sales", parent="2999"), "cc.csv", 3),
        Staged(CostCentre("1000", "Operations", parent="1010"), "cc.csv", 4),
    ]
    with app.uow() as uow, pytest.raises(InputErrors) as raised:
        reference_data.import_cost_centres(uow=uow, cost_centres=bad)
    assert [(e.source, e.row, e.field) for e in raised.value.errors] == [
        ("cc.csv", 3, "parent"), ("cc.csv", 4, "parent")]
    assert "cycle" in str(raised.value.errors[1])
    with app.uow(read_only=True) as uow:
        assert [cc.code for cc in uow.cost_centres.list()] == ["1000", "1010", "1020"]


def test_a_cost_centre_twice_in_one_file_is_refused_with_both_rows(app) -> None:
    twice = [Staged(CostCentre("1000", "Operations"), "cc.csv", 2),
             Staged(CostCentre("1000", "Ops"), "cc.csv", 7)]
    with app.uow() as uow, pytest.raises(InputErrors, match="first at row 2") as raised:
        reference_data.import_cost_centres(uow=uow, cost_centres=twice)
    assert raised.value.errors[0].row == 7


def test_a_viewer_cannot_change_reference_data(app) -> None:
    viewer = UnitOfWorkFactory(app.engine, "frank", app.uow.clock)
    with viewer() as uow, pytest.raises(PermissionDeniedError, match="frank has no role"):
        reference_data.import_cost_centres(uow=uow, cost_centres=tree())


def test_accounts_fx_rates_and_drivers_round_trip_exactly(app) -> None:
    with app.uow() as uow:
        reference_data.set_company(uow=uow, company=Company("MRD1", "Meridian", "USD"))
        reference_data.import_cost_centres(uow=uow, cost_centres=tree())
        reference_data.import_accounts(uow=uow, accounts=staged([
            GlAccount("6900", "IT chargeback expense", AccountType.EXPENSE)]))
        reference_data.set_fx_rates(uow=uow, rates=[
            FxRate("USD", "EUR", date(2026, 1, 1), Decimal("0.9234567891")),
            FxRate("USD", "EUR", date(2026, 2, 1), Decimal("0.91"))])
        reference_data.set_driver_quantities(uow=uow, quantities=staged([
            DriverQuantity("headcount", "1010", "2026-01", Decimal("12.5"))]))
        uow.commit()
    with app.uow(read_only=True) as uow:
        assert uow.fx_rates.rate_on("USD", "EUR", date(2026, 1, 31)).rate == Decimal(
            "0.9234567891")
        assert uow.fx_rates.rate_on("USD", "EUR", date(2026, 3, 5)).rate == Decimal("0.91")
        assert uow.fx_rates.rate_on("USD", "EUR", date(2025, 12, 31)) is None
        assert uow.drivers.for_period("headcount", "2026-01")[0].quantity == Decimal("12.5")
        assert reference_data.list_accounts(uow=uow)[0].type is AccountType.EXPENSE


def test_driver_quantities_for_unknown_cost_centres_are_refused(app) -> None:
    with app.uow() as uow, pytest.raises(InputErrors, match="cost centre 9999 does not exist"):
        reference_data.set_driver_quantities(uow=uow, quantities=staged([
            DriverQuantity("headcount", "9999", "2026-01", Decimal(3))], "headcount.csv"))
