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


#: Assets per keyed read, per executemany and per audit event of a register load.
CHUNK = 1000


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

    Only the assets being saved are read (by tag, :data:`CHUNK` at a time) and they are written
    in bulk, so one edit costs the same in a register of ten assets or of a million. The audit
    trail records every asset's before and after: a single change as its own event
    (``asset.create`` / ``asset.update``), a load of several as one hash-chained
    ``asset.register`` event per chunk whose ``before`` and ``after`` map each changed tag to
    its values (a tag absent from ``before`` was created), see :func:`record_chunk`.
    """
    authorize(uow, Permission.MANAGE_ASSETS, doing="register assets")
    incoming, book_index = _validated(uow, assets, books)
    created = updated = unchanged = 0
    tags = sorted(incoming)
    pending: list[tuple[Asset | None, Asset]] = []
    for start in range(0, len(tags), CHUNK):
        chunk = tags[start:start + CHUNK]
        existing = uow.assets.get_many(chunk)
        for tag in chunk:
            before, asset = existing.get(tag), incoming[tag].value
            if before == asset:
                unchanged += 1
            else:
                pending.append((before, asset))
        while len(pending) >= CHUNK:
            full, pending = pending[:CHUNK], pending[CHUNK:]
            _save_chunk(uow, full, reason=reason, alone=False)
            created, updated = _counted(full, created, updated)
    if pending:
        _save_chunk(uow, pending, reason=reason, alone=not created + updated
                    and len(pending) == 1)
        created, updated = _counted(pending, created, updated)
    books_changed = _save_books(uow, book_index, reason=reason)
    return Changes(frozenset({"asset", "depreciation_book"}),
                   created=created + books_changed[0], updated=updated + books_changed[1],
                   unchanged=unchanged + books_changed[2])


def _validated(uow: UnitOfWork, assets: Sequence[Staged[Asset]],
               books: Sequence[Staged[DepreciationBook]]
               ) -> tuple[dict[str, Staged[Asset]], dict[str, Staged[DepreciationBook]]]:
    """Every error of the batch at once (before anything is written), or the indexed batch."""
    errors: list[InputError] = []
    incoming = index_unique(assets, lambda a: a.tag, what="asset", field="tag", errors=errors)
    known_centres = {cc.code for cc in uow.cost_centres.list()}
    known_accounts = {a.number for a in uow.accounts.list()}
    for item in incoming.values():
        centre = item.value.cost_centre
        if centre is not None and centre not in known_centres:
            errors.append(item.error(f"cost centre {centre} does not exist", field="cost_centre",
                                     value=centre))
    book_index = index_unique(books, lambda b: f"{b.asset_tag}/{b.book}", what="book",
                              field="book", errors=errors)
    outside = {b.value.asset_tag for b in book_index.values()} - incoming.keys()
    registered = set(uow.assets.get_many(outside)) if outside else set()
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
    return incoming, book_index


def _counted(pairs: Sequence[tuple[Asset | None, Asset]], created: int, updated: int
             ) -> tuple[int, int]:
    news = sum(before is None for before, _ in pairs)
    return created + news, updated + len(pairs) - news


def _save_chunk(uow: UnitOfWork, pairs: Sequence[tuple[Asset | None, Asset]], *,
                reason: str | None, alone: bool) -> None:
    """Write one chunk in bulk and record it: per asset when it is the only change."""
    uow.assets.save_many([after for _, after in pairs],
                         new={after.tag for before, after in pairs if before is None})
    if alone:
        before, after = pairs[0]
        record_change(uow, action=f"asset.{'create' if before is None else 'update'}",
                      entity="asset", key=after.tag, before=before, after=after, reason=reason)
    else:
        record_chunk(uow, entity="asset", pairs=[(a.tag, b, a) for b, a in pairs],
                     reason=reason)


def record_chunk(uow: UnitOfWork, *, entity: str,
                 pairs: Sequence[tuple[str, object | None, object]], reason: str | None) -> None:
    """One audit event for a chunk of changes, in the caller's transaction.

    Its key is ``FIRST..LAST (N)``; ``before`` maps each updated key to its old values and
    ``after`` each changed key to its new ones, so the hash chain covers every change of the
    chunk (editing one asset's values in the stored event breaks the chain like any edit).
    """
    keys = [key for key, _, _ in pairs]
    record_change(uow, action=f"{entity}.register", entity=entity,
                  key=f"{keys[0]}..{keys[-1]} ({len(keys)})",
                  before={key: before for key, before, _ in pairs if before is not None},
                  after={key: after for key, _, after in pairs}, reason=reason)
    uow.audit_keys.index_last(entity, keys)  # so the trail is searched by one key


def _save_books(uow: UnitOfWork, book_index: dict[str, Staged[DepreciationBook]], *,
                reason: str | None) -> tuple[int, int, int]:
    """Create or update the books (read by their assets' tags); (created, updated, unchanged)."""
    existing = {(b.asset_tag, b.book): b
                for b in uow.assets.books_of({i.value.asset_tag for i in book_index.values()})}
    changed: list[tuple[str, DepreciationBook | None, DepreciationBook]] = []
    for key in sorted(book_index):
        book = book_index[key].value
        before = existing.get((book.asset_tag, book.book))
        if before != book:
            uow.assets.save_book(book, new=before is None)
            changed.append((key, before, book))
    if len(changed) == 1:
        key, before, book = changed[0]
        verb = "create" if before is None else "update"
        record_change(uow, action=f"depreciation_book.{verb}", entity="depreciation_book",
                      key=key, before=before, after=book, reason=reason)
    for start in range(0, len(changed) if len(changed) > 1 else 0, CHUNK):
        record_chunk(uow, entity="depreciation_book", pairs=changed[start:start + CHUNK],
                     reason=reason)
    news = sum(before is None for _, before, _ in changed)
    return news, len(changed) - news, len(book_index) - len(changed)


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
