"""Licences: entitlements, installations seen by discovery, seat assignments and the position.

The discovery import (``ledger.services.inventory``) calls :func:`record_installations` with the
devices it stored, in the same unit of work, so installations follow every import.
The allocation engine calls :func:`seat_costs` for the cost of assigned seats per cost centre.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from ledger.access import Permission
from ledger.calendar import parse_period_key
from ledger.discovery import DiscoveredDevice
from ledger.errors import InputError, InputErrors, NotFoundError
from ledger.licence import (
    AssigneeKind,
    Entitlement,
    Installation,
    ProductPosition,
    SeatAssignment,
    SeatCost,
    compliance_position,
    seat_costs_for,
)
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, authorize, record_change
from ledger.staging import Staged, index_unique


def list_entitlements(*, uow: UnitOfWork) -> list[Entitlement]:
    authorize(uow, Permission.READ, doing="list licence entitlements")
    return uow.licences.entitlements()


def list_assignments(*, uow: UnitOfWork, entitlement: str | None = None,
                     ) -> list[SeatAssignment]:
    authorize(uow, Permission.READ, doing="list seat assignments")
    return uow.licences.assignments(entitlement)


def import_entitlements(
    *,
    uow: UnitOfWork,
    entitlements: Sequence[Staged[Entitlement]],
    assignments: Sequence[Staged[SeatAssignment]] | None = None,
    reason: str | None = None,
) -> Changes:
    """Create or update entitlements, all or none; importing the same again changes nothing.

    When ``assignments`` is given (a Snipe-IT export lists who holds each seat), the seats of
    the imported entitlements become exactly those: seats no longer listed are released.
    """
    authorize(uow, Permission.MANAGE_LICENCES, doing="import licence entitlements")
    errors: list[InputError] = []
    incoming = index_unique(entitlements, lambda e: e.key, what="entitlement", field="key",
                            errors=errors)
    seats = _check_seats(uow, assignments or (), set(incoming), errors)
    if errors:
        raise InputErrors(errors, source=next((i.source for i in entitlements), None))
    changes = Changes(frozenset({"licence_entitlement"}))
    existing = {e.key: e for e in uow.licences.entitlements()}
    for key in sorted(incoming):
        entitlement = incoming[key].value
        before = existing.get(key)
        if before == entitlement:
            changes += Changes(unchanged=1)
            continue
        uow.licences.save_entitlement(entitlement, new=before is None)
        verb = "create" if before is None else "update"
        record_change(uow, action=f"licence_entitlement.{verb}", entity="licence_entitlement",
                      key=key, before=before, after=entitlement, reason=reason)
        changes += Changes(created=int(before is None), updated=int(before is not None))
    if assignments is not None:
        changes += _replace_seats(uow, set(incoming), seats, reason)
    return changes


def _check_seats(uow: UnitOfWork, assignments: Sequence[Staged[SeatAssignment]],
                 incoming: set[str], errors: list[InputError]) -> list[SeatAssignment]:
    known = incoming | {e.key for e in uow.licences.entitlements()}
    centres = {cc.code for cc in uow.cost_centres.list()}
    index = index_unique(assignments, lambda s: "/".join(s.ident), what="seat",
                         field="assignee", errors=errors)
    devices: set[str] | None = None
    for item in index.values():
        seat = item.value
        if seat.entitlement not in known:
            errors.append(item.error(f"entitlement {seat.entitlement} does not exist",
                                     field="entitlement", value=seat.entitlement))
        if seat.cost_centre is not None and seat.cost_centre not in centres:
            errors.append(item.error(f"cost centre {seat.cost_centre} does not exist",
                                     field="cost_centre", value=seat.cost_centre))
        if seat.assignee_kind is AssigneeKind.DEVICE:
            devices = devices if devices is not None else {a.tag for a in uow.assets.list()}
            if seat.assignee not in devices:
                errors.append(item.error(f"asset {seat.assignee} is not in the register",
                                         field="assignee", value=seat.assignee))
    return [item.value for item in index.values()]


def _replace_seats(uow: UnitOfWork, entitlements: set[str], seats: Sequence[SeatAssignment],
                   reason: str | None) -> Changes:
    wanted = {seat.ident: seat for seat in seats}
    held = {seat.ident: seat for seat in uow.licences.assignments()
            if seat.entitlement in entitlements}
    created = updated = deleted = 0
    for ident in sorted(held.keys() - wanted.keys()):
        uow.licences.remove_assignment(held[ident])
        record_change(uow, action="licence_seat.release", entity="licence_seat",
                      key="/".join(ident), before=held[ident], reason=reason)
        deleted += 1
    for ident in sorted(wanted):
        seat, before = wanted[ident], held.get(ident)
        if before == seat:
            continue
        if before is not None:
            uow.licences.remove_assignment(before)
        uow.licences.add_assignment(seat)
        record_change(uow, action="licence_seat.assign" if before is None
                      else "licence_seat.update", entity="licence_seat", key="/".join(ident),
                      before=before, after=seat, reason=reason)
        created += before is None
        updated += before is not None
    return Changes(frozenset({"licence_seat"}), created=created, updated=updated,
                   deleted=deleted, unchanged=len(wanted) - created - updated)


def assign_seat(*, uow: UnitOfWork, seat: SeatAssignment, reason: str | None = None) -> Changes:
    """Give one seat to a user or a device; giving the same seat again changes nothing."""
    authorize(uow, Permission.MANAGE_LICENCES, doing="assign licence seats")
    errors: list[InputError] = []
    _check_seats(uow, [Staged(seat, "assignment", 1)], set(), errors)
    if errors:
        raise InputErrors(errors)
    before = next((s for s in uow.licences.assignments(seat.entitlement)
                   if s.ident == seat.ident), None)
    if before == seat:
        return Changes(frozenset({"licence_seat"}), unchanged=1)
    if before is not None:
        uow.licences.remove_assignment(before)
    uow.licences.add_assignment(seat)
    record_change(uow, action="licence_seat.assign" if before is None else "licence_seat.update",
                  entity="licence_seat", key="/".join(seat.ident), before=before, after=seat,
                  reason=reason)
    return Changes(frozenset({"licence_seat"}), created=int(before is None),
                   updated=int(before is not None))


def release_seat(*, uow: UnitOfWork, entitlement: str, assignee_kind: str, assignee: str,
                 reason: str | None = None) -> Changes:
    """Take a seat back from a user or a device."""
    authorize(uow, Permission.MANAGE_LICENCES, doing="release licence seats")
    probe = SeatAssignment(entitlement, assignee_kind, assignee)  # type: ignore[arg-type]
    before = next((s for s in uow.licences.assignments(entitlement) if s.ident == probe.ident),
                  None)
    if before is None:
        raise NotFoundError(f"{assignee} holds no seat of {entitlement}; see: apportion "
                            f"licences seats {entitlement}")
    uow.licences.remove_assignment(before)
    record_change(uow, action="licence_seat.release", entity="licence_seat",
                  key="/".join(before.ident), before=before, reason=reason)
    return Changes(frozenset({"licence_seat"}), deleted=1)


def record_installations(uow: UnitOfWork, *, source: str,
                         devices: Sequence[DiscoveredDevice],
                         hardware: Mapping[str, tuple[int | None, int | None]] | None = None,
                         ) -> Changes:
    """Replace the installations ``source`` reported for ``devices`` with their software lists.

    Devices whose list did not change are left alone, so a re-import writes nothing. A partial
    inventory (GLPI sends only changed sections) with no software section keeps what is stored.
    One audit event summarises the import's effect on installations. ``hardware`` gives
    ``(cores, processors)`` per record id where the source reports them (per-core metrics).
    """
    authorize(uow, Permission.IMPORT_INVENTORY, doing="record software installations")
    stored = uow.licences.installations_of(source, [d.record_id for d in devices])
    changed = removed = added = 0
    for device in devices:
        if device.partial and not device.software:
            continue
        wanted = _installations(source, device, (hardware or {}).get(device.record_id))
        before = stored.get(device.record_id, [])
        if _as_set(before) == _as_set(wanted):
            continue
        uow.licences.replace_installations(source, device.record_id, wanted)
        changed += 1
        removed += len(before)
        added += len(wanted)
    if changed:
        record_change(uow, action="software_installations.record", entity="software_installations",
                      key=source, after={"devices_changed": changed, "installations_added": added,
                                         "installations_removed": removed})
    return Changes(frozenset({"software_installation"}), created=added, deleted=removed,
                   unchanged=len(devices) - changed)


def _installations(source: str, device: DiscoveredDevice,
                   counts: tuple[int | None, int | None] | None) -> list[Installation]:
    cores, processors = counts or (getattr(device, "cores", None),
                                   getattr(device, "processors", None))
    seen: dict[tuple[str, str | None, str | None], Installation] = {}
    for software in device.software:
        if not software.product or not software.product.strip():
            continue
        key = (software.product.strip(), software.publisher, software.version)
        seen.setdefault(key, Installation(
            source, device.record_id, software.product.strip(), software.publisher,
            software.version, device.hostname, device.owner, device.asset_tag, cores,
            processors))
    return list(seen.values())


def _as_set(installations: Sequence[Installation]) -> set[Installation]:
    return set(installations)


def licence_position(*, uow: UnitOfWork, on: date | None = None) -> list[ProductPosition]:
    """The compliance position per product and metric on ``on`` (default: today)."""
    authorize(uow, Permission.READ, doing="read the licence position")
    return compliance_position(uow.licences.entitlements(), uow.licences.installations(),
                               uow.licences.assignments(), on=on or uow.clock.now().date())


def seat_costs(uow: UnitOfWork, period: str) -> list[SeatCost]:
    """The cost of assigned licence seats in ``period`` (``YYYY-MM``) per cost centre and product.

    Returns a list of :class:`ledger.licence.SeatCost` ``(cost_centre, product, amount,
    currency, seats)`` sorted by cost centre, product and currency, for the allocation engine's
    cost pools:

    - ``amount`` is a positive Decimal in ``currency``, rounded once to its minor unit after
      summing the seats exactly;
    - a seat costs its entitlement's unit cost per month (monthly basis) or a twelfth of it
      (annual basis); perpetual licences cost nothing here (they reach cost pools through
      depreciation when capitalised);
    - a seat counts when its entitlement's term overlaps the month and it was assigned on or
      before the month's last day;
    - the cost centre is the seat's own, else (device seats) the register asset's; seats with
      neither are left out.
    """
    authorize(uow, Permission.READ, doing="read licence seat costs")
    year, month = parse_period_key(period)
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
    centres = {a.tag: a.cost_centre for a in uow.assets.list()}
    seats = [(seat, seat.cost_centre or (centres.get(seat.assignee)
                                         if seat.assignee_kind is AssigneeKind.DEVICE else None))
             for seat in uow.licences.assignments()]
    return seat_costs_for(uow.licences.entitlements(), seats, first=first,
                          last=date.fromordinal(last))
