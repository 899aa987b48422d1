"""The monthly depreciation run and per-asset depreciation views.

The run turns every in-service asset's depreciation for a period into (a) stored charges per
asset, book and cost centre, which the allocation engine picks up as the depreciation cost pool,
and (b) draft journals (debit depreciation expense per cost centre, credit accumulated
depreciation). Running a period again replaces its own charges and drafts, never doubling them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.access import Permission
from ledger.asset import AssetEvent, LifecycleStatus
from ledger.books import BookSchedule, PeriodCharge, effective_schedule, holders, period_charges
from ledger.calendar import parse_period_key
from ledger.depreciation import DepreciationError, schedule_as_dict
from ledger.errors import InputError, InputErrors, NotFoundError
from ledger.journal import JournalEntry, JournalLine
from ledger.ports import UnitOfWork
from ledger.services.base import authorize
from ledger.services.journals import replace_drafts
from ledger.services.periods import require_open_period
from ledger.services.policy import active_policy, capitalised
from ledger.services.reference_data import fiscal_calendar

SOURCE = "depreciation"
NOT_YET_IN_SERVICE = (LifecycleStatus.ON_ORDER, LifecycleStatus.IN_STOCK)


@dataclass(frozen=True, slots=True)
class BookRun:
    """What the run did for one book.

    Attributes:
        book: the book's name.
        assets: how many assets were depreciated in the period.
        total: the period's depreciation per currency (= the journals' totals).
        journal_ids: the new draft journals (none for a book that does not post).
        replaced_drafts: earlier drafts of the same period and book that were replaced.
    """

    book: str
    assets: int
    total: dict[str, Decimal]
    journal_ids: tuple[int | str, ...]
    replaced_drafts: int
    posts_to_ledger: bool
    #: (asset tag, cost) of assets below the policy's capitalisation threshold: expensed, not
    #: depreciated (ledger.policy).
    expensed: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class DepreciationRun:
    period: str
    books: tuple[BookRun, ...]


def journal_reference(period: str, book: str) -> str:
    return f"{period} {book}"


def run_depreciation(*, uow: UnitOfWork, period: str, book: str | None = None) -> DepreciationRun:
    """Depreciate every in-service asset for ``period`` in ``book`` (default: every book).

    Refuses a closed period. Any asset whose schedule cannot be computed stops the whole run with
    an error naming it; nothing is written then.
    """
    authorize(uow, Permission.DRAFT_JOURNALS, doing="run depreciation")
    year, month = parse_period_key(period)
    target = require_open_period(uow=uow, day=date(year, month, 1))
    names = [book.upper()] if book else uow.assets.book_names()
    if book and book.upper() not in uow.assets.book_names():
        raise NotFoundError(f"no asset has a book named {book}; books: "
                            f"{', '.join(uow.assets.book_names()) or 'none yet'}")
    assets = {a.tag: a for a in uow.assets.list()}
    policy = active_policy(uow)
    events: dict[str, list[AssetEvent]] = defaultdict(list)
    for event in uow.assets.events():
        events[event.asset_tag].append(event)

    results = []
    for name in names:
        charges: list[PeriodCharge] = []
        errors: list[InputError] = []
        expensed: list[tuple[str, Decimal]] = []
        books = uow.assets.books(book=name)
        for entry in books:
            asset = assets[entry.asset_tag]
            if asset.status in NOT_YET_IN_SERVICE:
                continue
            if not capitalised(policy, entry.terms.cost):
                expensed.append((asset.tag, entry.terms.cost))
                continue
            try:
                charges.extend(period_charges(asset, entry, events[asset.tag], target))
            except DepreciationError as exc:
                errors.append(InputError(exc.message, source=f"asset {asset.tag}",
                                         row=f"book {name}", field=exc.field, value=exc.value))
        if errors:
            raise InputErrors(errors, source=f"depreciation run {period} {name}")
        posts = any(b.posts_to_ledger for b in books)
        uow.depreciation_charges.replace(target.key, name, charges)
        entries = _journal_entries(charges, period=target.key, book=name,
                                   entry_date=target.end) if posts else []
        changes = replace_drafts(uow=uow, source=SOURCE,
                                 reference=journal_reference(target.key, name), entries=entries)
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for charge in charges:
            totals[charge.currency] += charge.amount
        results.append(BookRun(name, len({c.asset_tag for c in charges}), dict(totals),
                               changes.ids, changes.deleted, posts, tuple(expensed)))
    return DepreciationRun(target.key, tuple(results))


def _journal_entries(charges: Sequence[PeriodCharge], *, period: str, book: str,
                     entry_date: date) -> list[JournalEntry]:
    """One balanced entry per currency: expense per (account, cost centre), accumulated
    depreciation per account. Both sides sum the same exact charges, so they balance."""
    by_currency: dict[str, list[PeriodCharge]] = defaultdict(list)
    for charge in charges:
        by_currency[charge.currency].append(charge)
    entries = []
    for currency, group in sorted(by_currency.items()):
        debits: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        credits: dict[str, Decimal] = defaultdict(Decimal)
        for charge in group:
            debits[(charge.expense_account, charge.cost_centre)] += charge.amount
            credits[charge.accumulated_account] += charge.amount
        source_ref = f"depreciation:{period}:{book}"
        lines = [JournalLine.debit(account, amount, currency, cost_centre=centre,
                                   memo=f"Depreciation {book} {period}", source_ref=source_ref)
                 for (account, centre), amount in sorted(debits.items())]
        lines += [JournalLine.credit(account, amount, currency,
                                     memo=f"Accumulated depreciation {book} {period}",
                                     source_ref=source_ref)
                  for account, amount in sorted(credits.items())]
        entries.append(JournalEntry(entry_date, f"Depreciation {book} {period}", tuple(lines),
                                    source=SOURCE, reference=journal_reference(period, book)))
    return entries


def asset_depreciation(*, uow: UnitOfWork, tag: str, book: str) -> dict[str, Any]:
    """An asset's schedule in one book: the rows to date (``actual``) and after (``forecast``),
    its holders, and the disposal outcome if any. JSON-ready."""
    authorize(uow, Permission.READ, doing="read asset depreciation")
    asset = uow.assets.get(tag)
    if asset is None:
        raise NotFoundError(f"asset {tag} does not exist; see: apportion assets list")
    books = uow.assets.books(tag, book.upper())
    if not books:
        names = ", ".join(b.book for b in uow.assets.books(tag)) or "none"
        raise NotFoundError(f"asset {tag} has no book {book}; its books: {names}")
    events = uow.assets.events(tag)
    result: BookSchedule = effective_schedule(books[0], events)
    today = uow.clock.now().date()
    data = schedule_as_dict(result.schedule)
    for row in data["schedule"]:  # type: ignore[union-attr]
        row["kind"] = "actual" if date.fromisoformat(row["period_end"]) <= today else "forecast"
    calendar = fiscal_calendar(uow=uow)
    current = calendar.period_containing(today)
    return {
        "asset": tag, "book": books[0].book, "currency": books[0].terms.currency,
        "cost": format(books[0].terms.cost, "f"),
        "method": books[0].terms.method.value,
        "cost_centres": [{"from": when.isoformat() if when != date.min else None,
                          "cost_centre": centre} for when, centre in holders(asset, events)],
        "to_date": format(sum((r.amount for r in result.schedule.rows
                               if r.period_end <= current.end), Decimal(0)), "f"),
        "disposal": None if result.disposal is None else {
            "date": result.disposal.disposed_on.isoformat(),
            "proceeds": format(result.disposal.proceeds, "f"),
            "net_book_value": format(result.disposal.net_book_value, "f"),
            "gain_or_loss": format(result.disposal.gain_or_loss, "f"),
        },
        **data,
    }
