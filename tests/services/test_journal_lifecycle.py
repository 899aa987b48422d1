"""Journals from draft to the general ledger: maker-checker, the outbox, exactly-once posting."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from ledger.access import Role
from ledger.errors import ConflictError, PeriodClosedError, PermissionDeniedError
from ledger.journal import JournalStatus, Side
from ledger.services import journals, periods
from ledger.services.posting import reconcile_postings
from ledger.services.users import grant_role
from tests.services.fakes import FakeErpGateway, PosterKilled
from tests.services.ledger_support import PROFILE, Ledger, approved_batch

D = Decimal
def test_the_maker_cannot_approve_their_own_journal_even_as_an_approver(ledger) -> None:
    with ledger.app.uow() as uow:
        grant_role(uow=uow, login="carol", role=Role.APPROVER)
        uow.commit()
    journal_id = ledger.draft()
    with pytest.raises(PermissionDeniedError, match="carol created journal"):
        ledger.approve(journal_id, "carol")


def test_the_submitter_cannot_approve_what_they_submitted(ledger) -> None:
    with ledger.app.uow() as uow:  # gina analyses costs and approves other people's journals
        grant_role(uow=uow, login="gina", role=Role.COST_ANALYST)
        grant_role(uow=uow, login="gina", role=Role.APPROVER)
        uow.commit()
    journal_id = ledger.draft(submit=False)
    with ledger.as_("gina")() as uow:
        journals.submit_journal(uow=uow, journal_id=journal_id)
        uow.commit()
    with pytest.raises(PermissionDeniedError, match="gina submitted journal"):
        ledger.approve(journal_id, "gina")
    ledger.approve(journal_id, "erin")
    assert ledger.journal(journal_id).status is JournalStatus.APPROVED


def test_an_approval_above_the_approvers_limit_needs_a_controller(ledger) -> None:
    journal_id = ledger.draft("250000.01")
    with pytest.raises(PermissionDeniedError, match="above your approval limit"):
        ledger.approve(journal_id, "bob")
    ledger.approve(journal_id, "dave")
    approved = ledger.journal(journal_id)
    assert approved.approved_by == "dave"
    assert approved.external_reference.startswith("AP") and approved.idempotency_key


def test_a_journal_in_a_closed_period_is_not_approved(ledger) -> None:
    journal_id = ledger.draft()
    with ledger.app.uow() as uow:
        periods.close_period(uow=uow, period="2026-10")
        uow.commit()
    with pytest.raises(PeriodClosedError):
        ledger.approve(journal_id)


def test_two_approvers_at_once_the_second_gets_a_conflict_and_nothing_is_lost(ledger) -> None:
    journal_id = ledger.draft()
    with ledger.as_("erin")(read_only=True) as uow:
        stale = uow.journals.load(journal_id)
    ledger.approve(journal_id, "bob")
    with ledger.as_("erin")() as uow, pytest.raises(ConflictError, match="no longer submitted"):
        uow.journals.transition(stale.id, expected=stale.status, to=JournalStatus.APPROVED)
    assert ledger.journal(journal_id).approved_by == "bob"


def test_an_approved_journal_is_posted_once_with_the_erp_document_number(ledger) -> None:
    journal_id = ledger.draft()
    ledger.approve(journal_id)
    erp = FakeErpGateway()
    report = ledger.post(erp)
    assert report.posted == [journal_id]
    posted = ledger.journal(journal_id)
    assert posted.status is JournalStatus.POSTED
    assert posted.erp_document == erp.documents[0].document_number
    assert ledger.post(erp).posted == []  # nothing left to send
    assert len(erp.documents) == 1


def test_a_refused_journal_fails_and_can_be_queued_again_once_fixed(ledger) -> None:
    journal_id = ledger.draft()
    ledger.approve(journal_id)
    erp = FakeErpGateway(faults=["reject"])
    report = ledger.post(erp)
    assert report.failed and "6999 is not defined" in report.failed[0][1]
    assert ledger.journal(journal_id).status is JournalStatus.FAILED
    with ledger.as_("bob")() as uow:
        journals.requeue_failed(uow=uow, journal_id=journal_id, reason="account created in SAP")
        uow.commit()
    assert ledger.post(erp).posted == [journal_id]
    assert len(erp.documents) == 1


@pytest.mark.parametrize("fault", ["lost_before", "lost_after"])
def test_an_ambiguous_reply_is_reconciled_by_reference_before_any_resend(ledger, fault) -> None:
    journal_id = ledger.draft()
    ledger.approve(journal_id)
    erp = FakeErpGateway(faults=[fault])
    assert ledger.post(erp).unknown == [journal_id]
    assert ledger.journal(journal_id).status is JournalStatus.UNKNOWN
    assert ledger.post(erp).posted == [journal_id]
    assert len(erp.documents) == 1
    assert erp.sends == (2 if fault == "lost_before" else 1)


def test_an_unreachable_erp_leaves_the_journal_approved_and_stops(ledger) -> None:
    first, second = ledger.draft(), ledger.draft("5.00")
    ledger.approve(first)
    ledger.approve(second)
    report = ledger.post(FakeErpGateway(faults=["unavailable"]))
    assert "cannot be reached" in report.blocked
    assert ledger.journal(first).status is JournalStatus.APPROVED
    assert ledger.journal(second).status is JournalStatus.APPROVED


def test_a_poster_killed_mid_send_is_resolved_by_the_next_one(ledger, clock) -> None:
    journal_id = ledger.draft()
    ledger.approve(journal_id)
    erp = FakeErpGateway(faults=["kill_after"])
    with pytest.raises(PosterKilled):
        ledger.post(erp, holder="poster-1")
    assert ledger.journal(journal_id).status is JournalStatus.POSTING
    # Another poster waits for the dead one's lease to run out, then takes over.
    assert "another poster (poster-1)" in ledger.post(erp, holder="poster-2").blocked
    clock.current += timedelta(minutes=10)
    assert ledger.post(erp, holder="poster-2").posted == [journal_id]
    assert len(erp.documents) == 1


def test_a_round_off_line_added_by_the_erp_raises_an_alert(ledger) -> None:
    journal_id = ledger.draft()
    ledger.approve(journal_id)
    report = ledger.post(FakeErpGateway(round_off_account="8100"))
    assert report.posted == [journal_id]
    assert any("account 8100" in alert for alert in report.alerts)
    with ledger.app.uow(read_only=True) as uow:
        assert uow.audit.has("journal.erp_discrepancy", str(journal_id))


def test_a_posted_journal_is_corrected_only_by_an_approved_posted_reversal(ledger) -> None:
    journal_id = ledger.draft()
    ledger.approve(journal_id)
    erp = FakeErpGateway()
    ledger.post(erp)
    with ledger.as_("carol")() as uow:
        reversal_id = journals.reverse_journal(uow=uow, journal_id=journal_id,
                                               reason="wrong cost centre")
        journals.submit_journal(uow=uow, journal_id=reversal_id)
        uow.commit()
    reversal = ledger.journal(reversal_id)
    assert [(li.account, li.side) for li in reversal.entry.lines] == [
        ("6900", Side.CREDIT), ("7990", Side.DEBIT)]
    assert reversal.reversal_of == journal_id
    assert ledger.journal(journal_id).status is JournalStatus.POSTED  # until the reversal posts
    ledger.approve(reversal_id)
    ledger.post(erp)
    assert ledger.journal(journal_id).status is JournalStatus.REVERSED
    assert sum(line.amount for doc in erp.documents for line in doc.lines) == 0


def test_reconciliation_finds_missing_duplicate_and_different_documents(ledger, clock) -> None:
    ids = [ledger.draft(f"{n}.00") for n in (10, 20, 30)]
    for journal_id in ids:
        ledger.approve(journal_id)
    erp = FakeErpGateway()
    ledger.post(erp)
    kept, _lost, doubled = erp.documents
    erp.documents = [kept, doubled, doubled]  # one lost, one booked twice
    with ledger.as_("bob")() as uow:
        report = reconcile_postings(uow=uow, gateway=erp, profile=PROFILE,
                                    first=date(2026, 10, 1), last=date(2026, 10, 31))
        uow.commit()
    assert report.matched == [ids[0], ids[2]]
    assert report.missing == [ids[1]]
    assert len(report.extra) == 1 and "duplicate" in report.extra[0]
    assert not report.clean


def _simulate(ledger: Ledger, erp: FakeErpGateway, count: int, *, fresh_keys: bool) -> None:
    approved_batch(ledger, count)
    if fresh_keys:
        # The control: a naive poster that sends again with a new reference after any error.
        with ledger.app.uow(read_only=True) as uow:
            approved = uow.journals.list(statuses=[JournalStatus.APPROVED])
        from ledger.erp import ErpError, JournalPosting

        for n, journal in enumerate(approved):
            for attempt in range(10):
                try:
                    erp.post_journal(JournalPosting(journal.entry, "MRD1",
                                                    f"{journal.external_reference}-{attempt}",
                                                    f"{n}-{attempt}"))
                    break
                except (ErpError, PosterKilled):
                    continue
        return
    unsettled = [JournalStatus.APPROVED, JournalStatus.UNKNOWN, JournalStatus.POSTING,
                 JournalStatus.FAILED]
    for restart in range(300):
        try:
            ledger.post(erp, holder=f"poster-{restart}")
        except PosterKilled:
            ledger.app.uow.clock.current += timedelta(minutes=10)  # its lease runs out
        with ledger.as_("bob")() as uow:
            if not uow.journals.ids(statuses=unsettled):
                return
            for journal_id in uow.journals.ids(statuses=[JournalStatus.FAILED]):
                # The cause was fixed in the ERP: queue it again.
                journals.requeue_failed(uow=uow, journal_id=journal_id, reason="fixed")
            uow.commit()
    raise AssertionError("the simulation did not settle")


def test_a_seeded_fault_storm_leaves_exactly_one_erp_document_per_journal(ledger) -> None:
    count = 1000 if ledger.app.is_sqlite else 250
    erp = FakeErpGateway(rng=random.Random(20261127), rates={
        "lost_before": 0.05, "unavailable": 0.02, "reject": 0.03,  # 10 % before the commit
        "lost_after": 0.03, "kill_after": 0.01, "kill_before": 0.01})  # 5 % after, with kills
    _simulate(ledger, erp, count, fresh_keys=False)
    with ledger.app.uow(read_only=True) as uow:
        posted = uow.journals.list(statuses=[JournalStatus.POSTED])
    assert len(posted) == count
    assert set(erp.by_reference().values()) == {1}
    assert len(erp.documents) == count
    ours = sum(j.entry.total("USD") for j in posted)
    theirs = sum(line.amount for doc in erp.documents for line in doc.lines if line.amount > 0)
    assert ours == theirs


def test_the_control_with_a_fresh_key_per_retry_does_post_duplicates(ledger) -> None:
    erp = FakeErpGateway(rng=random.Random(20261127), rates={"lost_after": 0.05})
    _simulate(ledger, erp, 200, fresh_keys=True)
    assert len(erp.documents) > 200, "the control must show why the outbox keys matter"
