"""The outbox: approved journals reach the ERP exactly once, and the ERP is reconciled.

The poster runs alone (a lease in the database with expiry; a killed poster's lease runs out and
another takes over). For each journal it commits ``posting`` and an attempt row *before* it
sends, then commits the outcome:

- the ERP's document: ``posted``, and any line the ERP added itself (a round-off) raises an alert;
- a clear refusal: ``failed`` (nothing was booked; fix the cause and queue it again);
- an ambiguous outcome (timeout, 5xx, garbage): ``unknown``. An unknown journal, or one found in
  ``posting`` (the poster died mid-send), is looked up by its external reference before anything
  is sent again: found means posted; not found means it is sent again with the same keys;
- an unreachable ERP: back to ``approved``, nothing was sent; the run stops.

The external reference and idempotency key were fixed at approval, so every retry is the same
request and the ERP never holds two documents for one journal.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from ledger.access import Permission
from ledger.erp import (
    ErpAmbiguousError,
    ErpDocument,
    ErpError,
    ErpProfile,
    ErpRejectedError,
    ErpUnavailableError,
    JournalPosting,
)
from ledger.journal import Journal, JournalStatus
from ledger.ports import ErpGateway, UnitOfWork
from ledger.services.base import authorize, record_change
from ledger.services.journals import EXTERNAL_REFERENCE
from ledger.services.periods import posting_anchor

POSTER_LEASE = "poster"
LEASE_SECONDS = 300


@dataclass
class PostingReport:
    """What one poster run did.

    Attributes:
        posted: journals the ERP now holds (sent now, or found by reference after an unknown).
        failed: journals the ERP refused, with its message.
        unknown: journals whose outcome is still unknown (reconcile again later).
        alerts: discrepancies between a journal and the ERP's document (e.g. a round-off line).
        blocked: why the run could not start or stopped early (another poster, ERP unreachable).
    """

    posted: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    held_back: list[tuple[int, str]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    blocked: str | None = None


def compare_document(journal: Journal, document: ErpDocument) -> list[str]:
    """Differences between what we posted and what the ERP holds, per account, cost centre and
    currency (debit positive). An ERP that 'fixes' rounding shows up here, as an extra line."""
    ours: dict[tuple[str, str | None, str], Decimal] = defaultdict(Decimal)
    for line in journal.entry.lines:
        ours[(line.account, line.cost_centre, line.currency)] += line.signed_amount
    theirs: dict[tuple[str, str | None, str], Decimal] = defaultdict(Decimal)
    for erp_line in document.lines:
        theirs[(erp_line.account, erp_line.cost_centre, erp_line.currency)] += erp_line.amount
    problems = []
    for key in sorted(set(ours) | set(theirs), key=str):
        if ours.get(key, Decimal(0)) != theirs.get(key, Decimal(0)):
            account, centre, currency = key
            where = f"account {account}" + (f" / cost centre {centre}" if centre else "")
            problems.append(f"journal {journal.id} ({journal.external_reference}) vs ERP document "
                            f"{document.document_number}: {where} is {ours.get(key, 0)} "
                            f"{currency} here and {theirs.get(key, 0)} in the ERP")
    return problems


def _posting(journal: Journal, profile: ErpProfile, anchor: str | None = None
             ) -> JournalPosting:
    assert journal.external_reference and journal.idempotency_key
    entry = journal.entry
    if anchor:
        # The audit head of the latest close leads the header text (SAP keeps 25 characters).
        entry = dataclasses.replace(entry, description=f"{anchor} {entry.description}")
    return JournalPosting(entry, profile.company_code, journal.external_reference,
                          journal.idempotency_key)


def post_approved(
    *,
    uow_factory: Callable[[], UnitOfWork],
    gateway: ErpGateway,
    profile: ErpProfile,
    holder: str,
    journal_ids: Sequence[int] | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> PostingReport:
    """Send every approved journal (or only ``journal_ids``) to the ERP, exactly once each.

    ``holder`` names this poster in the lease (host and process). Each step commits on its own,
    so a crash at any point leaves a state the next run resolves.
    """
    report = PostingReport()
    with uow_factory() as uow:
        authorize(uow, Permission.POST_JOURNALS, doing="post journals")
        other = uow.leases.acquire(POSTER_LEASE, holder, uow.clock.now(), lease_seconds)
        uow.commit()
    if other is not None:
        report.blocked = f"another poster ({other}) is running; try again when it has finished"
        return report
    try:
        _recover_interrupted(uow_factory, holder, lease_seconds)
        wanted = set(journal_ids) if journal_ids is not None else None
        with uow_factory() as uow:
            queue = [i for i in uow.journals.ids(statuses=[JournalStatus.UNKNOWN,
                                                            JournalStatus.APPROVED])
                     if wanted is None or i in wanted]
        for journal_id in queue:
            # Loaded one at a time, fresh: its state may have moved since the queue was read.
            with uow_factory() as uow:
                journal = uow.journals.load(journal_id)
            if journal is None or journal.status not in (JournalStatus.UNKNOWN,
                                                         JournalStatus.APPROVED):
                continue
            if not _post_one(uow_factory, gateway, profile, holder, lease_seconds, journal,
                             report):
                break
    except (Exception, KeyboardInterrupt, SystemExit):
        _release(uow_factory, holder)
        raise
    # A process that is killed outright releases nothing: its lease simply runs out.
    _release(uow_factory, holder)
    return report


def _release(uow_factory: Callable[[], UnitOfWork], holder: str) -> None:
    with uow_factory() as uow:
        uow.leases.release(POSTER_LEASE, holder)
        uow.commit()


def _recover_interrupted(uow_factory: Callable[[], UnitOfWork], holder: str,
                         lease_seconds: float) -> None:
    """A journal left in ``posting`` was being sent when a poster died: its outcome is unknown."""
    with uow_factory() as uow:
        for journal in uow.journals.list(statuses=[JournalStatus.POSTING]):
            uow.journals.transition(journal.id, expected=JournalStatus.POSTING,
                                    to=JournalStatus.UNKNOWN,
                                    message="the poster stopped during the send; the ERP is "
                                            "checked by reference before any resend")
            record_change(uow, action="journal.unknown", entity="journal", key=str(journal.id),
                          reason="interrupted send found by the next poster")
        uow.leases.acquire(POSTER_LEASE, holder, uow.clock.now(), lease_seconds)
        uow.commit()


def _post_one(uow_factory: Callable[[], UnitOfWork], gateway: ErpGateway, profile: ErpProfile,
              holder: str, lease_seconds: float, journal: Journal,
              report: PostingReport) -> bool:
    """Resolve or send one journal; False when the run must stop (ERP unreachable)."""
    posting = _posting(journal, profile)
    if journal.status is JournalStatus.UNKNOWN:
        try:
            found = gateway.find_by_reference(profile.company_code, posting.external_reference)
        except ErpError as exc:
            report.unknown.append(journal.id)
            report.blocked = f"cannot look journal {journal.id} up in the ERP: {exc}"
            return False
        if found is not None:
            _record_posted(uow_factory, journal, JournalStatus.UNKNOWN, found, report)
            return True
    with uow_factory() as uow:
        period = uow.periods.get(journal.period)
        if period is not None and not period.is_open:
            report.held_back.append((journal.id, f"period {journal.period} is closed"))
            return True
        uow.journals.transition(journal.id, expected=journal.status, to=JournalStatus.POSTING,
                                erp_profile=profile.name)
        posting = _posting(journal, profile, posting_anchor(uow, journal.id))
        attempt = uow.posting_log.start(journal.id, profile.name, uow.clock.now())
        uow.leases.acquire(POSTER_LEASE, holder, uow.clock.now(), lease_seconds)
        uow.commit()

    try:
        document = gateway.post_journal(posting)
    except ErpRejectedError as exc:
        _finish(uow_factory, journal, attempt, JournalStatus.FAILED, "rejected", str(exc))
        report.failed.append((journal.id, str(exc)))
        return True
    except ErpUnavailableError as exc:
        _finish(uow_factory, journal, attempt, JournalStatus.APPROVED, "unreachable", str(exc))
        report.blocked = f"the ERP cannot be reached: {exc}"
        return False
    except ErpAmbiguousError as exc:
        _finish(uow_factory, journal, attempt, JournalStatus.UNKNOWN, "ambiguous", str(exc))
        report.unknown.append(journal.id)
        return True
    with uow_factory() as uow:
        uow.posting_log.finish(attempt, "posted", document.document_number, uow.clock.now())
        uow.commit()
    _record_posted(uow_factory, journal, JournalStatus.POSTING, document, report)
    return True


def _finish(uow_factory: Callable[[], UnitOfWork], journal: Journal, attempt: int,
            to: JournalStatus, outcome: str, message: str) -> None:
    with uow_factory() as uow:
        uow.journals.transition(journal.id, expected=JournalStatus.POSTING, to=to,
                                message=message[:2000])
        uow.posting_log.finish(attempt, outcome, message[:2000], uow.clock.now())
        record_change(uow, action=f"journal.{to.value}", entity="journal", key=str(journal.id),
                      after={"status": to, "message": message[:500]})
        uow.commit()


def _record_posted(uow_factory: Callable[[], UnitOfWork], journal: Journal,
                   expected: JournalStatus, document: ErpDocument,
                   report: PostingReport) -> None:
    problems = compare_document(journal, document)
    with uow_factory() as uow:
        uow.journals.transition(journal.id, expected=expected, to=JournalStatus.POSTED,
                                erp_document=document.document_number,
                                posted_at=uow.clock.now(),
                                message="; ".join(problems)[:2000] or None)
        record_change(uow, action="journal.posted", entity="journal", key=str(journal.id),
                      after={"status": JournalStatus.POSTED,
                             "erp_document": document.document_number})
        for problem in problems:
            record_change(uow, action="journal.erp_discrepancy", entity="journal",
                          key=str(journal.id), after={"alert": problem})
        if journal.reversal_of is not None:
            uow.journals.transition(journal.reversal_of, expected=JournalStatus.POSTED,
                                    to=JournalStatus.REVERSED,
                                    message=f"reversed by journal {journal.id}")
            record_change(uow, action="journal.reversed", entity="journal",
                          key=str(journal.reversal_of), after={"reversed_by": journal.id})
        uow.commit()
    report.posted.append(journal.id)
    report.alerts.extend(problems)


@dataclass
class ReconciliationReport:
    """Posted journals compared with the ERP's documents by external reference.

    Attributes:
        matched: journals whose document agrees line by line.
        missing: posted here, absent from the ERP.
        extra: ERP documents carrying a reference we did not post (or a second document for one
            journal: a duplicate).
        different: journals whose document differs (amounts, accounts, an added round-off).
    """

    first: date
    last: date
    matched: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.different)


def reconcile_postings(*, uow: UnitOfWork, gateway: ErpGateway, profile: ErpProfile,
                       first: date | None = None, last: date | None = None
                       ) -> ReconciliationReport:
    """Compare journals posted to ``profile`` between ``first`` and ``last`` (default: the last
    35 days) with what the ERP holds, and record the outcome in the audit trail."""
    authorize(uow, Permission.POST_JOURNALS, doing="reconcile postings")
    today = uow.clock.now().date()
    last = last or today
    first = first or last - timedelta(days=35)
    report = ReconciliationReport(first, last)
    posted = [j for j in uow.journals.list(statuses=[JournalStatus.POSTED,
                                                      JournalStatus.REVERSED])
              if j.erp_profile == profile.name and first <= j.entry.entry_date <= last]
    documents: dict[str, list[ErpDocument]] = defaultdict(list)
    for document in gateway.documents_between(profile.company_code, first, last):
        if EXTERNAL_REFERENCE.match(document.external_reference or ""):
            documents[document.external_reference].append(document)
    ours = {j.external_reference: j for j in posted}
    for reference, journal in sorted(ours.items(), key=lambda item: item[1].id):
        found = documents.get(reference or "", [])
        if not found:
            report.missing.append(journal.id)
            continue
        problems = compare_document(journal, found[0])
        if problems:
            report.different.extend(problems)
        else:
            report.matched.append(journal.id)
        for duplicate in found[1:]:
            report.extra.append(f"ERP document {duplicate.document_number} repeats journal "
                                f"{journal.id}'s reference {reference}: a duplicate posting")
    for reference, found in sorted(documents.items()):
        if reference not in ours:
            known = uow.journals.by_reference(reference)
            if known is None or known.status not in (JournalStatus.POSTED,
                                                     JournalStatus.REVERSED):
                numbers = ", ".join(d.document_number for d in found)
                report.extra.append(f"ERP document(s) {numbers} carry reference {reference}, "
                                    "which no posted journal here has")
    record_change(uow, action="erp.reconcile", entity="erp_profile", key=profile.name,
                  after={"first": first, "last": last, "matched": len(report.matched),
                         "missing": report.missing, "extra": report.extra,
                         "different": report.different})
    return report
