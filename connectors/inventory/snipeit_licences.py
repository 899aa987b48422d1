"""Snipe-IT licences CSV (the import format of snipe/snipe-it ``sample_csvs/licenses-sample.csv``)
to licence entitlements and the seats checked out of them.

One row is one licence; when the row names a user (``Username``, ``Email``) or an asset
(``Asset Tag``), one of its seats is checked out to them, as Snipe-IT's importer does. Several
rows may name the same licence (same serial, or same name without a serial) to check out
several seats; they must agree on everything else.

How Snipe-IT's fields become an :class:`~ledger.licence.Entitlement`:

- key: ``snipeit:`` and the serial number (a licence key), else the item name;
- publisher: ``manufacturer``; product: ``Item name``;
- metric: subscription seat: Snipe-IT counts seats checked out, not installations;
- quantity: ``seats`` (a whole number above zero, required);
- unit cost: Snipe-IT keeps one ``purchase cost`` for the whole licence, so the price of one seat
  is that divided by the seats, kept to 6 decimal places (a true-up rounds to the cent);
- term: open until ``expiration date``. The purchase date is checked but is no term start:
  Snipe-IT's own sample has licences bought after they expired (a renewal recorded late);
  cost basis perpetual (a one-off price);
- ``maintained`` and ``reassignable`` are not kept (Snipe-IT reads any unknown word there,
  "sometimes" in its sample, as false).

The rule, as for every import: all or nothing, every bad row named with its column. Files that
are not UTF-8, carry NUL bytes, repeat or leave blank a column name, or have ragged rows are
refused whole (Snipe-IT's own ``assets-sample-BAD.csv`` fails that way).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from connectors.inventory.generic import parse_decimal
from connectors.inventory.reading import parse_time, read_csv, stage_rows
from connectors.tabular import Row
from ledger.errors import InputError, InputErrors
from ledger.licence import AssigneeKind, CostBasis, Entitlement, LicenceMetric, SeatAssignment
from ledger.staging import Staged

#: Accepted header spellings per field (matched without regard to case; spaces as underscores).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("Item name", "Name", "License Name", "Licence Name"),
    "serial": ("serial number", "Serial", "Product Key"),
    "manufacturer": ("manufacturer",),
    "category": ("Category",),
    "purchase_date": ("purchase date",),
    "purchase_cost": ("purchase cost",),
    "purchase_order": ("purchase order",),
    "order_number": ("order number",),
    "licensed_to_name": ("Licensed To Name",),
    "licensed_to_email": ("Licensed to Email",),
    "expiration_date": ("expiration date",),
    "maintained": ("maintained",),
    "reassignable": ("reassignable",),
    "seats": ("seats",),
    "company": ("company",),
    "supplier": ("supplier",),
    "notes": ("notes",),
    "full_name": ("Full Name",),
    "email": ("Email",),
    "username": ("Username",),
    "asset_tag": ("Asset Tag",),
}
UNIT_COST_PLACES = Decimal("0.000001")


def _key(header: str) -> str:
    return header.strip().lower().replace(" ", "_").replace("-", "_")


def _first(row: Row, field: str) -> str | None:
    for spelling in COLUMNS[field]:
        value = row.get(_key(spelling))
        if value:
            return value
    return None


@dataclass(frozen=True, slots=True)
class SnipeItLicences:
    """What a Snipe-IT licences file holds: entitlements and the seats checked out of them."""

    entitlements: list[Staged[Entitlement]]
    seats: list[Staged[SeatAssignment]]


def read_snipeit_licences(path: Path, *, currency: str = "USD") -> SnipeItLicences:
    """The licences of a Snipe-IT licences CSV, or :class:`InputErrors` naming every bad row."""
    source = str(path)
    optional = [s for spellings in COLUMNS.values() for s in spellings if s != "Item name"]
    rows = read_csv(path, source=source, required=["Item name"], optional=optional)
    made = stage_rows(rows, lambda row: _licence(row, source, currency), source=source)
    errors: list[InputError] = []
    entitlements: dict[str, Staged[Entitlement]] = {}
    seats: list[Staged[SeatAssignment]] = []
    for number, (entitlement, seat) in made:
        first = entitlements.get(entitlement.key)
        if first is None:
            entitlements[entitlement.key] = Staged(entitlement, source, number)
        elif first.value != entitlement:
            errors.append(InputError(
                f"licence {entitlement.key} appears at row {first.row} with other details "
                "(seats, cost, dates or manufacturer); one licence, one set of details",
                source=source, row=number, field="Item name", value=entitlement.product))
        if seat is not None:
            seats.append(Staged(seat, source, number))
    if errors:
        raise InputErrors(errors, source=source)
    return SnipeItLicences(list(entitlements.values()), seats)


def _licence(row: Row, source: str, currency: str) -> tuple[Entitlement, SeatAssignment | None]:
    name = _first(row, "name")
    if name is None:
        raise InputError("every licence needs a name", field="Item name")
    serial = _first(row, "serial")
    seats_text = _first(row, "seats")
    if seats_text is None:
        raise InputError("every licence needs its number of seats", field="seats")
    try:
        seats = int(seats_text)
    except ValueError:
        raise InputError("the seats are not a whole number", field="seats",
                         value=seats_text) from None
    if seats <= 0:
        raise InputError("a licence needs at least one seat", field="seats", value=seats_text)
    cost_text = _first(row, "purchase_cost")
    try:
        total = parse_decimal(cost_text) if cost_text else Decimal(0)
    except InputError as exc:
        raise InputError(exc.message, field="purchase cost", value=cost_text) from None
    dates = {}
    for field in ("purchase_date", "expiration_date"):
        text = _first(row, field)
        moment = parse_time(text, source=source, row=row.number, field=COLUMNS[field][0]) \
            if text else None
        dates[field] = moment.date() if moment else None
    entitlement = Entitlement(
        key=f"snipeit:{serial or name}"[:200], publisher=_first(row, "manufacturer"),
        product=name, metric=LicenceMetric.SUBSCRIPTION_SEAT, quantity=seats,
        unit_cost=(total / seats).quantize(UNIT_COST_PLACES, ROUND_HALF_UP),
        currency=currency, cost_basis=CostBasis.PERPETUAL, term_start=None,
        term_end=dates["expiration_date"], source=source)
    holder = _first(row, "username") or _first(row, "email")
    tag = _first(row, "asset_tag")
    seat = None
    if holder is not None:
        seat = SeatAssignment(entitlement.key, AssigneeKind.USER, holder)
    elif tag is not None:
        seat = SeatAssignment(entitlement.key, AssigneeKind.DEVICE, tag)
    return entitlement, seat
