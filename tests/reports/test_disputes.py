"""Disputes: raised by a cost owner, decided by another analyst, the correction approved by an
approver, and the dispute rate moving with them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.access import Role
from ledger.errors import ConflictError, InputError, PermissionDeniedError
from ledger.journal import JournalStatus
from ledger.services import disputes, journals, reports, users
from tests.reports.report_support import as_user


def _shared_line(app, period, cost_centre="1010"):
    with app.uow(read_only=True) as uow:
        run = reports.current_run(uow, period)
        return next(li for li in uow.allocation_runs.lines(run.id)
                    if li.cost_centre == cost_centre and li.kind == "shared")


def _open(app, period, line, login="frank"):
    with as_user(app, login)() as uow:
        changes = disputes.open_dispute(uow=uow, period=period, cost_centre=line.cost_centre,
                                        pool=line.pool, rule=line.rule,
                                        reason="we moved 12 people to Sales in October")
        uow.commit()
    return int(changes.ids[0])


def _rate(app, period):
    with app.uow(read_only=True) as uow:
        return reports.kpis(uow=uow, period=period)["values"]["dispute_rate"]


def test_an_accepted_dispute_is_corrected_by_an_approved_journal_and_moves_the_rate(allocated):
    app, period = allocated
    line = _shared_line(app, period)
    assert _rate(app, period) == 0
    dispute_id = _open(app, period, line)
    raised = _rate(app, period)
    assert raised > 0
    with as_user(app, "carol")() as uow:
        disputes.review(uow=uow, dispute_id=dispute_id)
        changes = disputes.accept(uow=uow, dispute_id=dispute_id, correction="100.00",
                                  answer="headcount corrected from October")
        uow.commit()
    journal_id = int(next(i for i in changes.ids if i != dispute_id))
    with as_user(app, "bob")() as uow:
        journals.approve_journal(uow=uow, journal_id=journal_id)
        uow.commit()
    with app.uow(read_only=True) as uow:
        journal = uow.journals.load(journal_id)
        report = disputes.dispute_report(uow=uow, period=period)
    assert journal.status is JournalStatus.APPROVED
    assert (journal.created_by, journal.approved_by) == ("carol", "bob")
    credit = next(li for li in journal.entry.lines if li.side == "credit")
    assert (credit.cost_centre, credit.amount, credit.account) == ("1010", Decimal("100.00"),
                                                                   line.account)
    assert report["journal_status"] == {dispute_id: "approved"}
    by_period = next(r for r in report["rates"] if r.dimension == "period")
    assert (by_period.disputed, by_period.accepted) == (1, 1)
    assert by_period.rate == Decimal(1) / by_period.lines
    assert raised == by_period.rate.quantize(Decimal("0.0001"))
    assert next(r for r in report["rates"] if r.key == line.rule).accepted == 1


def test_who_raised_a_dispute_cannot_decide_it_and_a_decided_one_stays_decided(allocated):
    app, period = allocated
    line = _shared_line(app, period)
    with app.uow() as uow:
        users.grant_role(uow=uow, login="gina", role=Role.COST_ANALYST)
        uow.commit()
    dispute_id = _open(app, period, line, login="gina")
    with as_user(app, "gina")() as uow, pytest.raises(PermissionDeniedError, match="raised"):
        disputes.reject(uow=uow, dispute_id=dispute_id, answer="no")
    with as_user(app, "carol")() as uow:
        disputes.reject(uow=uow, dispute_id=dispute_id, answer="the driver is right")
        uow.commit()
    with as_user(app, "carol")() as uow, pytest.raises(ConflictError, match="rejected"):
        disputes.accept(uow=uow, dispute_id=dispute_id, correction="1.00", answer="changed mind")


def test_a_correction_above_the_line_or_a_dispute_of_nothing_is_refused(allocated):
    app, period = allocated
    line = _shared_line(app, period)
    dispute_id = _open(app, period, line)
    too_much = line.amount * 10
    with as_user(app, "carol")() as uow, pytest.raises(InputError, match="more than"):
        disputes.accept(uow=uow, dispute_id=dispute_id, correction=too_much, answer="x")
    with as_user(app, "frank")() as uow, pytest.raises(Exception, match="nothing"):
        disputes.open_dispute(uow=uow, period=period, cost_centre="1010", pool="nope",
                              rule="X", reason="what is this")
    with as_user(app, "erin")() as uow, pytest.raises(PermissionDeniedError):
        disputes.open_dispute(uow=uow, period=period, cost_centre="1010", pool=line.pool,
                              rule=line.rule, reason="auditors raise nothing")


def test_a_showback_line_can_be_disputed_but_not_corrected_by_a_journal(allocated):
    app, period = allocated
    with app.uow(read_only=True) as uow:
        run = reports.current_run(uow, period)
        showback = next(li for li in uow.allocation_runs.lines(run.id) if not li.charged)
    dispute_id = _open(app, period, showback)
    with as_user(app, "carol")() as uow, pytest.raises(ConflictError, match="showback"):
        disputes.accept(uow=uow, dispute_id=dispute_id, correction="1.00", answer="x")


def test_the_dispute_flow_on_each_database(app):
    """Small company (SQLite and PostgreSQL): dave disputes, carol accepts, bob approves."""
    from tests.services.allocation_support import AllocationCompany, manual, rules

    company = AllocationCompany(app)
    company.save_rules(rules())
    company.activate(1)
    company.run(costs=[manual("1000.00")])
    with company.as_("dave")() as uow:
        dispute_id = int(disputes.open_dispute(uow=uow, period="2026-10", cost_centre="2010",
                                               pool="cloud", rule="S1",
                                               reason="Sales left the cloud").ids[0])
        uow.commit()
    with company.as_("carol")() as uow:
        journal_id = int(disputes.accept(uow=uow, dispute_id=dispute_id, correction="400.00",
                                         answer="all of it").ids[-1])
        uow.commit()
    company.approve(journal_id)
    with app.uow(read_only=True) as uow:
        dispute = uow.disputes.get(dispute_id)
        journal = uow.journals.load(journal_id)
    assert (dispute.amount, dispute.correction, dispute.status.value) == (
        Decimal("400.00"), Decimal("400.00"), "accepted")
    assert journal.status is JournalStatus.APPROVED
    with app.uow(read_only=True) as uow:
        found = reports.kpis(uow=uow, period="2026-10")
    assert found["values"]["dispute_rate"] == Decimal("0.5000")  # 1 of the lines 1010, 2010
    assert found["values"]["dispute_amount_rate"] == Decimal("0.4000")  # 400 of 1,000.00
    assert sum(found["shares"]["USD"]["percent"].values()) == 100
    assert {(li.side, li.account, li.cost_centre, li.amount) for li in journal.entry.lines} == {
        ("debit", "7990", "6010", Decimal("400.00")), ("credit", "6900", "2010",
                                                      Decimal("400.00"))}


def test_the_status_counts_disputes_waiting_for_a_decision(allocated):
    from ledger.services.status import status_summary

    app, period = allocated
    line = _shared_line(app, period)
    _open(app, period, line)
    second = _open(app, period, line, login="dave")
    with as_user(app, "carol")() as uow:
        disputes.review(uow=uow, dispute_id=second)
        uow.commit()
    with app.uow(read_only=True) as uow:
        assert status_summary(uow=uow)["open_disputes"] == 2
        assert [d.status.value for d in disputes.list_disputes(uow=uow, period=period)] == [
            "open", "under_review"]


def test_dispute_rates_by_amount_weigh_each_line_by_what_it_charged():
    """Two small lines and a large one; the large one disputed (twice) and accepted in part,
    a small one disputed and rejected: 1 of 3 lines vs 900 of 1,000.00 by amount."""
    from datetime import UTC, datetime

    from ledger.allocation.stored import StoredLine
    from ledger.reports.disputes import Dispute, DisputeStatus, dispute_rates

    def line(centre, pool, rule, amount):
        return StoredLine(centre, "6900", pool, rule, "shared", "USD", Decimal(amount), True)

    def dispute(number, centre, pool, rule, amount, status, correction=None):
        return Dispute(number, "2026-10", 1, centre, pool, rule, "USD", Decimal(amount), "why",
                       status, "frank", datetime(2026, 11, 2, tzinfo=UTC),
                       correction=Decimal(correction) if correction else None)

    lines = [line("1010", "cloud", "S1", "850.00"), line("1010", "cloud", "S1", "50.00"),
             line("2010", "cloud", "S1", "40.00"), line("2010", "network", "S2", "60.00")]
    found = dispute_rates({"2026-10": lines}, [
        dispute(1, "1010", "cloud", "S1", "900.00", DisputeStatus.ACCEPTED, "300.00"),
        dispute(2, "1010", "cloud", "S1", "900.00", DisputeStatus.OPEN),
        dispute(3, "2010", "network", "S2", "60.00", DisputeStatus.REJECTED),
        dispute(4, "3010", "cloud", "S1", "5.00", DisputeStatus.OPEN)])  # not a charge line
    rates = {(r.dimension, r.key): r for r in found}
    period = rates[("period", "2026-10")]
    assert (period.lines, period.disputed, period.rate) == (3, 2, Decimal(2) / 3)
    assert period.amounts == (("USD", Decimal("1000.00"), Decimal("960.00"),
                               Decimal("300.00")),)
    assert period.amount_rate() == Decimal("0.96") and period.corrected_rate() == Decimal("0.3")
    cloud = rates[("pool", "cloud")]
    assert cloud.amount_rate("USD") == Decimal("900.00") / Decimal("940.00")
    assert cloud.amount_rate("EUR") is None
    assert rates[("rule", "S2")].amounts_json()[0]["amount_rate"] == "1.000000"
