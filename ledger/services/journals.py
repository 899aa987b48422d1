"""Use cases for journal entries. Approval and posting come with the posting work."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.access import Permission
from ledger.errors import ConflictError, InputError, InputErrors
from ledger.journal import JournalEntry
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, authorize, record_change
from ledger.services.periods import require_open_period

DRAFT = "draft"


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
