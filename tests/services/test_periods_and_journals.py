"""Periods open and close; journals are drafted only into open periods and replace their own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.errors import InputError, InputErrors, PeriodClosedError, PermissionDeniedError
from ledger.journal import JournalEntry, JournalLine
from ledger.persistence.unit_of_work import UnitOfWorkFactory
from ledger.services import journals, periods
from ledger.services.status import status_summary

D = Decimal


def chargeback(day: date, amount: str = "100.00", reference: str = "IT shared 2026-10"):
    return JournalEntry(day, "IT chargeback", (
        JournalLine.debit("6900", D(amount), "USD", cost_centre="1010"),
        JournalLine.credit("7990", D(amount), "USD", cost_centre="6010"),
    ), source="allocation", reference=reference)


def test_the_calendar_extends_itself_to_cover_new_dates_and_says_so(demo_app) -> None:
    with demo_app.uow() as uow:
        changes = periods.extend_calendar(uow=uow, first=date(2026, 12, 31),
                                          last=date(2027, 2, 3))
        uow.commit()
    assert changes.ids == ("2027-01", "2027-02")
    with demo_app.uow(read_only=True) as uow:
        assert [p.key for p in periods.list_periods(uow=uow)][-3:] == ["2026-12", "2027-01",
                                                                       "2027-02"]


def test_a_closed_period_refuses_journals_and_is_not_reopened_by_new_data(demo_app) -> None:
    with demo_app.uow() as uow:
        periods.close_period(uow=uow, period="2026-10", reason="month-end done")
        uow.commit()
    with demo_app.uow() as uow:
        periods.extend_calendar(uow=uow, first=date(2026, 10, 1), last=date(2026, 10, 31))
        with pytest.raises(PeriodClosedError, match="2026-10 is closed"):
            journals.draft_journal(uow=uow, entry=chargeback(date(2026, 10, 31)))
    with demo_app.uow(read_only=True) as uow:
        assert not uow.periods.get("2026-10").is_open
        assert uow.journals.count_by_status() == {}


def test_reopening_needs_a_reason_and_the_controller(demo_app) -> None:
    with demo_app.uow() as uow:
        periods.close_period(uow=uow, period="2026-10")
        uow.commit()
    with demo_app.uow() as uow, pytest.raises(InputError, match="needs a reason"):
        periods.reopen_period(uow=uow, period="2026-10", reason=" ")
    cost_analyst = UnitOfWorkFactory(demo_app.engine, "carol", demo_app.uow.clock)
    with cost_analyst() as uow, pytest.raises(PermissionDeniedError, match="controller"):
        periods.reopen_period(uow=uow, period="2026-10", reason="late invoice")
    controller = UnitOfWorkFactory(demo_app.engine, "dave", demo_app.uow.clock)
    with controller() as uow:
        changes = periods.reopen_period(uow=uow, period="2026-10", reason="late invoice")
        uow.commit()
        event = uow.audit.latest(1)[0]
    assert changes.updated == 1
    assert (event.action, event.actor, event.reason) == ("period.reopen", "dave", "late invoice")


def test_closing_a_closed_period_changes_nothing(demo_app) -> None:
    for expected in (1, 0):
        with demo_app.uow() as uow:
            assert periods.close_period(uow=uow, period="2026-01").updated == expected
            uow.commit()


def test_a_draft_journal_keeps_every_cent(demo_app) -> None:
    with demo_app.uow() as uow:
        journal_id = journals.draft_journal(uow=uow, entry=chargeback(date(2026, 10, 31),
                                                                      "123456789.01"))
        uow.commit()
    with demo_app.uow(read_only=True) as uow:
        stored = journals.get_journal(uow=uow, journal_id=journal_id)
        assert stored.total("USD") == D("123456789.01")
        assert status_summary(uow=uow)["journals"]["draft"] == 1


def test_a_journal_naming_an_unknown_account_or_cost_centre_is_refused(demo_app) -> None:
    entry = JournalEntry(date(2026, 10, 31), "Bad refs", (
        JournalLine.debit("6999", D("1.00"), "USD", cost_centre="1010"),
        JournalLine.credit("7990", D("1.00"), "USD", cost_centre="9999"),
    ))
    with demo_app.uow() as uow, pytest.raises(InputErrors) as raised:
        journals.draft_journal(uow=uow, entry=entry)
    assert [(e.row, e.field) for e in raised.value.errors] == [("line 1", "account"),
                                                               ("line 2", "cost_centre")]


def test_running_the_same_producer_twice_replaces_its_draft_and_never_doubles(demo_app) -> None:
    ids = []
    for amount in ("100.00", "250.00"):
        with demo_app.uow() as uow:
            changes = journals.replace_drafts(uow=uow, source="allocation",
                                              reference="IT shared 2026-10",
                                              entries=[chargeback(date(2026, 10, 31), amount)])
            uow.commit()
        ids.extend(changes.ids)
    with demo_app.uow(read_only=True) as uow:
        assert uow.journals.count_by_status() == {"draft": 1}
        assert uow.journals.get(ids[0]) is None
        assert uow.journals.get(ids[1]).total("USD") == D("250.00")
    assert ids[1] > ids[0], "a replaced draft's id is never reused"


def test_a_viewer_cannot_draft_journals(demo_app) -> None:
    viewer = UnitOfWorkFactory(demo_app.engine, "frank", demo_app.uow.clock)
    with viewer() as uow, pytest.raises(PermissionDeniedError, match="frank \\(viewer\\)"):
        journals.draft_journal(uow=uow, entry=chargeback(date(2026, 10, 31)))
