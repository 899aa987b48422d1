"""Use cases for journal entries. Approval and posting come with the posting work."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from datetime import date

from ledger.access import Permission, approval_limit
from ledger.errors import (
    ConflictError,
    InputError,
    InputErrors,
    NotFoundError,
    PeriodClosedError,
    PermissionDeniedError,
)
from ledger.journal import Journal, JournalEntry, JournalStatus, reversal_of
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, authorize, business_units_of, record_change
from ledger.services.periods import require_open_period

DRAFT = "draft"
#: The shape of the external references approval gives (``AP`` + journal id + 6 hex), 16
#: characters: it fits SAP's reference fields, and marks documents in an ERP as Apportion's.
EXTERNAL_REFERENCE = re.compile(r"^AP\d{7,}[0-9a-f]{6}$")


def _check_references(uow: UnitOfWork, entry: JournalEntry) -> None:
    errors: list[InputError] = []
    for number, line in enumerate(entry.lines, start=1):
        if uow.accounts.get(line.account) is None:
            errors.append(InputError(f"GL account {line.account} does not exist",
                                     row=f"line {number}", field="account", value=line.account))
        if line.cost_centre is not None:
            cost_centre = uow.cost_centres.get(line.cost_centre)
            if cost_centre is None:
                errors.append(InputError(f"cost centre {line.cost_centre} does not exist",
                                         row=f"line {number}", field="cost_centre",
                                         value=line.cost_centre))
            elif not cost_centre.is_valid_on(entry.entry_date):
                errors.append(InputError(
                    f"cost centre {line.cost_centre} is not valid on {entry.entry_date}",
                    row=f"line {number}", field="cost_centre", value=line.cost_centre))
    if errors:
        raise InputErrors(errors, source=f"journal {entry.reference or entry.description!r}")


def draft_journal(*, uow: UnitOfWork, entry: JournalEntry) -> int:
    """Store ``entry`` as a draft in its (open) period and return its id."""
    authorize(uow, Permission.DRAFT_JOURNALS, doing="draft journals")
    require_open_period(uow=uow, day=entry.entry_date)
    _check_references(uow, entry)
    journal_id = uow.journals.add(entry, status=DRAFT, created_by=uow.actor.login,
                                  created_at=uow.clock.now())
    record_change(uow, action="journal.draft", entity="journal", key=str(journal_id),
                  after={"entry": entry, "status": DRAFT})
    return journal_id


def replace_drafts(*, uow: UnitOfWork, source: str, reference: str,
                   entries: Sequence[JournalEntry]) -> Changes:
    """Replace the drafts a producer made earlier for ``(source, reference)`` with ``entries``.

    Producers (a depreciation or allocation run for a period) call this so that running the same
    thing twice replaces its own draft output and never doubles it. Journals that left the draft
    state are never touched.
    """
    authorize(uow, Permission.DRAFT_JOURNALS, doing="draft journals")
    for entry in entries:
        if (entry.source, entry.reference) != (source, reference):
            raise InputError(f"entry {entry.description!r} belongs to {entry.source}/"
                             f"{entry.reference}, not {source}/{reference}", field="reference")
    beyond_draft = {i: s for i, s in uow.journals.statuses_for(source, reference).items()
                    if s != DRAFT}
    if beyond_draft:
        listed = ", ".join(f"{i} ({s})" for i, s in sorted(beyond_draft.items()))
        raise ConflictError(
            f"{source} {reference} already has journals beyond draft: {listed}; a new run would "
            "count it twice. Reverse those journals first, or leave the run as it is."
        )
    old = uow.journals.drafts_for(source, reference)
    for journal_id in old:
        uow.journals.delete_draft(journal_id)
        record_change(uow, action="journal.delete_draft", entity="journal", key=str(journal_id),
                      reason=f"replaced by a new run of {source} {reference}")
    new_ids = tuple(draft_journal(uow=uow, entry=entry) for entry in entries)
    return Changes(frozenset({"journal"}), created=len(new_ids), deleted=len(old), ids=new_ids)


def get_journal(*, uow: UnitOfWork, journal_id: int) -> JournalEntry | None:
    authorize(uow, Permission.READ, doing="read journals")
    return uow.journals.get(journal_id)


def list_journals(*, uow: UnitOfWork, statuses: Sequence[str] = (),
                  period: str | None = None) -> list[Journal]:
    authorize(uow, Permission.READ, doing="list journals")
    for status in statuses:
        _status(status)
    return uow.journals.list(statuses=statuses, period=period)


def _status(text: str) -> JournalStatus:
    try:
        return JournalStatus(text.strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in JournalStatus)
        raise InputError(f"unknown journal status {text!r}; use one of {allowed}",
                         field="status", value=text) from None


def load_journal(uow: UnitOfWork, journal_id: int) -> Journal:
    journal = uow.journals.load(journal_id)
    if journal is None:
        raise NotFoundError(f"journal {journal_id} does not exist; see: apportion journals list")
    return journal


def _units(uow: UnitOfWork, journal: Journal) -> frozenset[str | None]:
    return business_units_of(uow, (line.cost_centre for line in journal.entry.lines))


def _move(uow: UnitOfWork, journal: Journal, to: JournalStatus, *, action: str,
          reason: str | None = None, **fields: object) -> Changes:
    if not journal.can_become(to):
        raise ConflictError(f"journal {journal.id} is {journal.status.value} and cannot become "
                            f"{to.value}")
    uow.journals.transition(journal.id, expected=journal.status, to=to, **fields)
    record_change(uow, action=action, entity="journal", key=str(journal.id),
                  before={"status": journal.status}, after={"status": to, **fields},
                  reason=reason)
    return Changes(frozenset({"journal"}), updated=1, ids=(journal.id,))


def submit_journal(*, uow: UnitOfWork, journal_id: int) -> Changes:
    """Send a draft for approval. Whoever submits it may not approve it."""
    authorize(uow, Permission.DRAFT_JOURNALS, doing="submit journals")
    journal = load_journal(uow, journal_id)
    return _move(uow, journal, JournalStatus.SUBMITTED, action="journal.submit",
                 submitted_by=uow.actor.login)


def approve_journal(*, uow: UnitOfWork, journal_id: int, company_code: str | None = None
                    ) -> Changes:
    """Approve a submitted journal (maker-checker) and fix its outbox keys.

    Refused when the approver made or submitted it, when its total is above the approver's
    limit, or when its period is closed. The external reference and the idempotency key are
    committed with the approval and reused on every send, so a resend can never book twice.
    """
    authorize(uow, Permission.APPROVE_JOURNALS, doing="approve journals")
    journal = load_journal(uow, journal_id)
    # A grant scoped to business units counts only when every line is inside them.
    applicable = authorize(uow, Permission.APPROVE_JOURNALS, doing="approve journals",
                           business_units=_units(uow, journal))
    me = uow.actor.login
    if me in (journal.created_by, journal.submitted_by):
        role = "created" if me == journal.created_by else "submitted"
        raise PermissionDeniedError(
            f"{me} {role} journal {journal.id} and cannot also approve it (maker-checker); "
            "ask another approver")
    limit = approval_limit(applicable)
    largest = max(journal.entry.totals.values())
    if limit is not None and largest > limit:
        raise PermissionDeniedError(
            f"journal {journal.id} totals {largest:,}, above your approval limit of {limit:,}; "
            "a controller must approve it")
    period = uow.periods.get(journal.period)
    if period is not None and not period.is_open:
        raise PeriodClosedError(f"journal {journal.id} falls in closed period {journal.period}")
    company = uow.company.get()
    code = company_code or (company.code if company else "AP")
    reference = f"AP{journal.id:07d}{secrets.token_hex(3)}"
    return _move(uow, journal, JournalStatus.APPROVED, action="journal.approve",
                 approved_by=me, approved_at=uow.clock.now(), external_reference=reference,
                 idempotency_key=f"{code}-{uuid.uuid4()}")


def reject_journal(*, uow: UnitOfWork, journal_id: int, reason: str) -> Changes:
    """Send a submitted journal back to its maker as a draft, with the reason."""
    authorize(uow, Permission.APPROVE_JOURNALS, doing="reject journals")
    if not reason or not reason.strip():
        raise InputError("rejecting a journal needs a reason", field="reason")
    journal = load_journal(uow, journal_id)
    authorize(uow, Permission.APPROVE_JOURNALS, doing="reject journals",
              business_units=_units(uow, journal))
    return _move(uow, journal, JournalStatus.DRAFT, action="journal.reject",
                 reason=reason.strip(), message=f"rejected: {reason.strip()}",
                 submitted_by=None)


def requeue_failed(*, uow: UnitOfWork, journal_id: int, reason: str) -> Changes:
    """Queue a journal the ERP refused again, once the cause is fixed in the ERP (a missing
    account, a locked period). The ERP booked nothing, so the same keys are reused."""
    authorize(uow, Permission.APPROVE_JOURNALS, doing="queue journals again")
    journal = load_journal(uow, journal_id)
    return _move(uow, journal, JournalStatus.APPROVED, action="journal.requeue",
                 reason=reason, message=None)


def reverse_journal(*, uow: UnitOfWork, journal_id: int, reason: str,
                    entry_date: date | None = None) -> int:
    """Draft the reversal of a posted journal (it goes through approval and posting like any
    journal); the original is marked reversed when the reversal is posted."""
    authorize(uow, Permission.DRAFT_JOURNALS, doing="reverse journals")
    if not reason or not reason.strip():
        raise InputError("a reversal needs a reason (--reason \"...\")", field="reason")
    journal = load_journal(uow, journal_id)
    if journal.status is not JournalStatus.POSTED:
        raise ConflictError(f"journal {journal.id} is {journal.status.value}; only a posted "
                            "journal is reversed (a draft is simply replaced or left unapproved)")
    pending = [j.id for j in uow.journals.reversals_of(journal.id)
               if j.status is not JournalStatus.FAILED]
    if pending:
        raise ConflictError(f"journal {journal.id} already has reversal {pending[0]}")
    day = entry_date or uow.clock.now().date()
    reversal = reversal_of(journal.entry, entry_date=day, reason=reason.strip())
    new_id = draft_journal(uow=uow, entry=reversal)
    uow.journals.set_reversal_of(new_id, journal.id)
    return new_id
