"""Use cases for the asset register: registering assets with their books, and their events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ledger.access import Permission
from ledger.asset import Asset, AssetEvent, AssetEventKind, DepreciationBook, LifecycleStatus
from ledger.books import effective_schedule
from ledger.depreciation import DepreciationError
from ledger.errors import InputError, InputErrors, NotFoundError
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, authorize, record_change
from ledger.staging import Staged, index_unique


def list_assets(*, uow: UnitOfWork) -> list[Asset]:
    authorize(uow, Permission.READ, doing="list assets")
    return uow.assets.list()


def get_asset(*, uow: UnitOfWork, tag: str) -> Asset:
    authorize(uow, Permission.READ, doing="read assets")
    asset = uow.assets.get(tag)
    if asset is None:
        raise NotFoundError(f"asset {tag} does not exist; see: apportion assets list")
    return asset


def register_assets(
    *,
    uow: UnitOfWork,
    assets: Sequence[Staged[Asset]],
    books: Sequence[Staged[DepreciationBook]] = (),
    reason: str | None = None,
) -> Changes:
    """Create or update assets and their depreciation books, all or none.

    Cost centres and GL accounts must exist; a book must belong to an asset in the register or
    in the same batch. Registering the same data again changes nothing.
    """
    authorize(uow, Permission.MANAGE_ASSETS, doing="register assets")
    errors: list[InputError] = []
    incoming = index_unique(assets, lambda a: a.tag, what="asset", field="tag", errors=errors)
    known_centres = {cc.code for cc in uow.cost_centres.list()}
    known_accounts = {a.number for a in uow.accounts.list()}
    for item in incoming.values():
        centre = item.value.cost_centre
        if centre is not None and centre not in known_centres:
            errors.append(item.error(f"cost centre {centre} does not exist", field="cost_centre",
                                     value=centre))
    registered = {a.tag for a in uow.assets.list()}
    book_index = index_unique(books, lambda b: f"{b.asset_tag}/{b.book}", what="book",
                              field="book", errors=errors)
    for item in book_index.values():
        book = item.value
        if book.asset_tag not in incoming and book.asset_tag not in registered:
            errors.append(item.error(f"asset {book.asset_tag} does not exist", field="asset_tag",
                                     value=book.asset_tag))
        for field in ("expense_account", "accumulated_account"):
            if getattr(book, field) not in known_accounts:
                errors.append(item.error(f"GL account {getattr(book, field)} does not exist",
                                         field=field, value=getattr(book, field)))
    if errors:
        raise InputErrors(errors, source=next((i.source for i in (*assets, *books)), None))

    created = updated = unchanged = 0
    existing = {a.tag: a for a in uow.assets.list()}
    for tag in sorted(incoming):
        asset = incoming[tag].value
        before = existing.get(tag)
        if before == asset:
            unchanged += 1
            continue
        uow.assets.save(asset, new=before is None)
        record_change(uow, action=f"asset.{'create' if before is None else 'update'}",
                      entity="asset", key=tag, before=before, after=asset, reason=reason)
        created += before is None
        updated += before is not None
    existing_books = {(b.asset_tag, b.book): b for b in uow.assets.books()}
    for key in sorted(book_index):
        book = book_index[key].value
        before_book = existing_books.get((book.asset_tag, book.book))
        if before_book == book:
            unchanged += 1
            continue
        uow.assets.save_book(book, new=before_book is None)
        verb = "create" if before_book is None else "update"
        record_change(uow, action=f"depreciation_book.{verb}", entity="depreciation_book",
                      key=key, before=before_book, after=book, reason=reason)
        created += before_book is None
        updated += before_book is not None
    return Changes(frozenset({"asset", "depreciation_book"}), created=created, updated=updated,
                   unchanged=unchanged)


def record_asset_event(*, uow: UnitOfWork, event: AssetEvent) -> Changes:
    """Record a transfer, change of estimate, impairment or disposal.

    A transfer moves the asset to the receiving cost centre (the giving one is recorded too); a
    disposal marks it disposed. Depreciation runs from then on take the event into account; runs
    of earlier periods are not changed (rerun them to apply a back-dated event to a draft).
    """
    authorize(uow, Permission.MANAGE_ASSETS, doing="record asset events")
    asset = uow.assets.get(event.asset_tag)
    if asset is None:
        raise InputError(f"asset {event.asset_tag} does not exist", field="asset_tag",
                         value=event.asset_tag)
    if event.book is not None and event.book not in {b.book for b in
                                                     uow.assets.books(event.asset_tag)}:
        raise InputError(f"asset {event.asset_tag} has no book {event.book}", field="book",
                         value=event.book)
    # Refuse now an event the depreciation books cannot take (a date outside the schedule, an
    # impairment below salvage), rather than at month-end when the run would stop on it.
    earlier = uow.assets.events(event.asset_tag)
    for book in uow.assets.books(event.asset_tag):
        if event.book in (None, book.book) and event.kind is not AssetEventKind.TRANSFER:
            try:
                effective_schedule(book, [*earlier, event])
            except DepreciationError as exc:
                raise InputError(exc.message, source=f"asset {asset.tag}",
                                 row=f"book {book.book}", field=exc.field,
                                 value=exc.value) from None
    updated = asset
    if event.kind is AssetEventKind.TRANSFER:
        if uow.cost_centres.get(event.to_cost_centre or "") is None:
            raise InputError(f"cost centre {event.to_cost_centre} does not exist",
                             field="to_cost_centre", value=event.to_cost_centre)
        if event.to_cost_centre == asset.cost_centre:
            raise InputError(f"asset {asset.tag} is already at cost centre {asset.cost_centre}",
                             field="to_cost_centre", value=event.to_cost_centre)
        event = replace(event, from_cost_centre=event.from_cost_centre or asset.cost_centre)
        updated = replace(asset, cost_centre=event.to_cost_centre)
    elif event.kind is AssetEventKind.DISPOSAL:
        updated = replace(asset, status=LifecycleStatus.DISPOSED)
    event_id = uow.assets.add_event(event)
    record_change(uow, action=f"asset.{event.kind.value}", entity="asset", key=asset.tag,
                  before=asset if updated != asset else None, after={"event": event},
                  reason=event.note or None)
    if updated != asset:
        uow.assets.save(updated)
    return Changes(frozenset({"asset", "asset_event"}), created=1,
                   updated=int(updated != asset), ids=(event_id,))
