"""The monthly depreciation run: draft journals and charges per cost centre, exact, rerunnable."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from client.demo import generate
from ledger.asset import Asset, AssetEvent, AssetEventKind, DepreciationBook, LifecycleStatus
from ledger.books import effective_schedule
from ledger.calendar import FiscalCalendar
from ledger.depreciation import DepreciationTerms
from ledger.errors import InputError, InputErrors, PeriodClosedError, PermissionDeniedError
from ledger.journal import Side
from ledger.persistence.unit_of_work import UnitOfWorkFactory
from ledger.reference import AccountType, CostCentre, GlAccount
from ledger.services import assets as asset_services
from ledger.services import periods, reference_data
from ledger.services.depreciation import asset_depreciation, run_depreciation
from ledger.staging import staged

D = Decimal


def run(app, period: str, book: str | None = None):
    with app.uow() as uow:
        result = run_depreciation(uow=uow, period=period, book=book)
        uow.commit()
    return result


def test_the_demo_run_drafts_a_balanced_journal_equal_to_the_schedules(demo_app) -> None:
    demo = generate()
    period = FiscalCalendar().period("2026-10")
    events = {}
    for event in demo.asset_events:
        events.setdefault(event.asset_tag, []).append(event)
    expected = Decimal(0)
    for book in demo.books:
        if book.book == "IFRS":
            row = effective_schedule(book, events.get(book.asset_tag, [])).row_for(period)
            expected += row.amount if row else 0

    first = run(demo_app, "2026-10")
    second = run(demo_app, "2026-10")

    ifrs = next(b for b in second.books if b.book == "IFRS")
    assert ifrs.total == {"USD": expected}
    assert next(b for b in first.books if b.book == "IFRS").total == ifrs.total
    assert ifrs.replaced_drafts == 1
    with demo_app.uow(read_only=True) as uow:
        assert uow.journals.count_by_status() == {"draft": 1}
        entry = uow.journals.get(ifrs.journal_ids[0])
        charges = uow.depreciation_charges.for_period("2026-10", "IFRS")
    assert entry.total("USD") == expected
    assert sum((c.amount for c in charges), D(0)) == expected
    debits = [li for li in entry.lines if li.side is Side.DEBIT]
    assert {li.account for li in debits} == {"6800"}
    assert all(li.cost_centre for li in debits)
    assert [li.account for li in entry.lines if li.side is Side.CREDIT] == ["1590"]


def test_a_tax_book_is_computed_but_never_posted(demo_app) -> None:
    tax = next(b for b in run(demo_app, "2026-10").books if b.book == "TAX")
    assert not tax.posts_to_ledger and tax.journal_ids == ()
    with demo_app.uow(read_only=True) as uow:
        assert sum((c.amount for c in uow.depreciation_charges.for_period("2026-10", "TAX")),
                   D(0)) == tax.total["USD"]


def test_a_closed_period_is_refused(demo_app) -> None:
    with demo_app.uow() as uow:
        periods.close_period(uow=uow, period="2026-09")
        uow.commit()
    with pytest.raises(PeriodClosedError, match="2026-09 is closed"):
        run(demo_app, "2026-09")


def test_a_viewer_cannot_run_depreciation(demo_app) -> None:
    viewer = UnitOfWorkFactory(demo_app.engine, "frank", demo_app.uow.clock)
    with viewer() as uow, pytest.raises(PermissionDeniedError):
        run_depreciation(uow=uow, period="2026-10")


@pytest.fixture
def laptop_app(app):
    """One laptop costing 3,600 over 36 months, straight line, at cost centre 1010."""
    with app.uow() as uow:
        reference_data.import_accounts(uow=uow, accounts=staged([
            GlAccount("6800", "Depreciation", AccountType.EXPENSE),
            GlAccount("1590", "Accumulated depreciation", AccountType.ACCUMULATED_DEPRECIATION)]))
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing"), CostCentre("1020", "Logistics")]))
        terms = DepreciationTerms(cost=D("3600.00"), placed_in_service=date(2026, 1, 10),
                                  method="straight_line", currency="USD",  # type: ignore[arg-type]
                                  convention="full_month", life_months=36)  # type: ignore[arg-type]
        asset_services.register_assets(
            uow=uow, assets=staged([Asset("LT-1", "Laptop", "laptop", "1010",  # type: ignore[arg-type]
                                          purchase_cost=D("3600.00"))]),
            books=staged([DepreciationBook("LT-1", "IFRS", terms, "6800", "1590")]))
        uow.commit()
    return app


def charges(app, period: str) -> dict[str, Decimal]:
    with app.uow(read_only=True) as uow:
        return {c.cost_centre: c.amount for c in uow.depreciation_charges.for_period(period)}


def test_a_transfer_mid_month_splits_that_month_by_days(laptop_app) -> None:
    with laptop_app.uow() as uow:
        asset_services.record_asset_event(uow=uow, event=AssetEvent(
            "LT-1", AssetEventKind.TRANSFER, date(2026, 3, 11), to_cost_centre="1020"))
        uow.commit()
        assert uow.assets.get("LT-1").cost_centre == "1020"
    for period in ("2026-02", "2026-03", "2026-04"):
        run(laptop_app, period)
    assert charges(laptop_app, "2026-02") == {"1010": D("100.00")}
    # 10 of March's 31 days at 1010, 21 at 1020.
    assert charges(laptop_app, "2026-03") == {"1010": D("32.26"), "1020": D("67.74")}
    assert charges(laptop_app, "2026-04") == {"1020": D("100.00")}


def test_a_disposal_stops_depreciation_and_reports_the_loss(laptop_app) -> None:
    with laptop_app.uow() as uow:
        asset_services.record_asset_event(uow=uow, event=AssetEvent(
            "LT-1", AssetEventKind.DISPOSAL, date(2026, 4, 15), proceeds=D("2500.00")))
        uow.commit()
        assert uow.assets.get("LT-1").status is LifecycleStatus.DISPOSED
    run(laptop_app, "2026-04")
    run(laptop_app, "2026-05")
    assert charges(laptop_app, "2026-04") == {"1010": D("50.00")}  # 15 of 30 days
    assert charges(laptop_app, "2026-05") == {}
    with laptop_app.uow(read_only=True) as uow:
        view = asset_depreciation(uow=uow, tag="LT-1", book="ifrs")
    assert view["disposal"] == {"date": "2026-04-15", "proceeds": "2500.00",
                                "net_book_value": "3250.00", "gain_or_loss": "-750.00"}


def test_a_change_of_estimate_applies_from_its_period_on(laptop_app) -> None:
    run(laptop_app, "2026-05")
    with laptop_app.uow() as uow:
        # After five months (500.00 depreciated), 3,100 remain over a new life of 10 months.
        asset_services.record_asset_event(uow=uow, event=AssetEvent(
            "LT-1", AssetEventKind.CHANGE_OF_ESTIMATE, date(2026, 6, 1), book="IFRS",
            remaining_life_months=10))
        uow.commit()
    run(laptop_app, "2026-06")
    assert charges(laptop_app, "2026-05") == {"1010": D("100.00")}
    assert charges(laptop_app, "2026-06") == {"1010": D("310.00")}


def test_an_event_the_books_cannot_take_is_refused_when_recorded(laptop_app) -> None:
    with laptop_app.uow() as uow, pytest.raises(InputError, match="asset LT-1") as raised:
        asset_services.record_asset_event(uow=uow, event=AssetEvent(
            "LT-1", AssetEventKind.IMPAIRMENT, date(2026, 2, 10), book="IFRS",
            amount=D("9999.00")))
    assert raised.value.field == "amount"
    with laptop_app.uow(read_only=True) as uow:
        assert uow.assets.events("LT-1") == []


def test_an_event_the_schedule_cannot_take_stops_the_run_naming_the_asset(laptop_app) -> None:
    # An event stored before its book changed (or by an older version) still cannot slip by.
    with laptop_app.uow() as uow:
        uow.assets.add_event(AssetEvent("LT-1", AssetEventKind.IMPAIRMENT, date(2026, 2, 10),
                                        book="IFRS", amount=D("9999.00")))
        uow.commit()
    with pytest.raises(InputErrors, match="asset LT-1") as raised:
        run(laptop_app, "2026-03")
    assert raised.value.errors[0].field == "amount"
    assert charges(laptop_app, "2026-03") == {}


def test_the_asset_view_marks_actual_and_forecast_rows(laptop_app) -> None:
    with laptop_app.uow(read_only=True) as uow:  # the test clock says 2026-11-27
        view = asset_depreciation(uow=uow, tag="LT-1", book="IFRS")
    kinds = [row["kind"] for row in view["schedule"]]
    assert kinds[:10] == ["actual"] * 10 and set(kinds[10:]) == {"forecast"}
    assert view["to_date"] == "1100.00"
    assert view["total"] == "3600.00"
