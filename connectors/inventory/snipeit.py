"""Snipe-IT assets CSV (the import format of snipe/snipe-it ``sample_csvs``).

Snipe-IT lets a user map any column in its import screen, so its files use several spellings of
one field; the ones accepted are listed in :data:`COLUMNS` (matched without regard to case,
spaces read as underscores). Only ``Asset Tag`` is required.

The rule, as for every import: all or nothing. Every row's problems are reported together, each
naming the file, the row (as a spreadsheet counts it; the header is row 1) and the column, and
then nothing is staged. A row is refused for a missing or repeated asset tag, or a purchase
date or cost that cannot be read. The file as a whole is refused for bytes that are not UTF-8,
NUL bytes, blank or repeated column names, unknown columns and ragged rows: Snipe-IT's
``assets-sample-BAD.csv`` (repeated ``Category`` and ``Company``, Mac Roman bytes) and
``assets-sample-BLANKS.csv`` (unnamed columns, the same bytes) fail this way.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from connectors.inventory.reading import parse_time, read_csv, stage_rows
from connectors.tabular import Row
from ledger.discovery import DiscoveredDevice, SourceKind
from ledger.errors import InputError, InputErrors
from ledger.staging import Staged, index_unique

#: Accepted header spellings per field (first is the canonical one).
COLUMNS: dict[str, tuple[str, ...]] = {
    "asset_tag": ("Asset Tag",),
    "name": ("Name", "Item Name", "Asset Name"),
    "serial": ("Serial", "Serial Number"),
    "manufacturer": ("Manufacturer",),
    "model": ("Model", "Model Name"),
    "model_number": ("Model Number",),
    "category": ("Category",),
    "company": ("Company",),
    "location": ("Location", "Default Location"),
    "supplier": ("Supplier",),
    "order_number": ("Order Number",),
    "purchase_date": ("Purchase Date",),
    "purchase_cost": ("Purchase Cost",),
    "status": ("Status",),
    "warranty": ("Warranty", "Warranty Months"),
    "notes": ("Notes", "Asset Notes", "Model Notes"),
    "eol": ("Asset EOL Date", "EOL Date"),
    "checkout_type": ("Checkout Type",),
    "username": ("Checked Out To: Username", "Username"),
    "email": ("Checked Out To: Email", "Email"),
    "full_name": ("Full Name",),
    "first_name": ("Checked Out To: First Name", "First Name"),
    "last_name": ("Checked Out To: Last Name", "Last Name"),
    "checkout_location": ("Checked Out To: Location",),
    "last_audit": ("Last Audit Date",),
    "next_audit": ("Next Audit Date",),
    "image": ("Image",),
    "requestable": ("Requestable",),
}


def _key(header: str) -> str:
    return header.strip().lower().replace(" ", "_").replace("-", "_")


def _first(row: Row, field: str) -> str | None:
    for spelling in COLUMNS[field]:
        value = row.get(_key(spelling))
        if value:
            return value
    return None


def read_snipeit_assets(path: Path) -> list[Staged[DiscoveredDevice]]:
    """The assets of a Snipe-IT assets CSV, or :class:`InputErrors` naming every bad row."""
    source = str(path)
    optional = [spelling for spellings in COLUMNS.values() for spelling in spellings
                if spelling != "Asset Tag"]
    rows = read_csv(path, source=source, required=["Asset Tag"], optional=optional)
    made = stage_rows(rows, lambda row: _asset(row, source), source=source)
    staged = [Staged(device, source, number) for number, device in made]
    errors: list[InputError] = []
    index_unique(staged, lambda d: d.record_id.upper(), what="asset tag", field="Asset Tag",
                 errors=errors)
    if errors:
        raise InputErrors(errors, source=source)
    return staged


def _asset(row: Row, source: str) -> DiscoveredDevice:
    tag = _first(row, "asset_tag")
    if tag is None:
        raise InputError("every asset needs an asset tag", field="Asset Tag")
    for field in ("purchase_date", "last_audit"):
        text = _first(row, field)
        if text is not None:
            parse_time(text, source=source, row=row.number, field=COLUMNS[field][0])
    cost = _first(row, "purchase_cost")
    if cost is not None:
        try:
            Decimal(cost.replace(",", ""))
        except InvalidOperation:
            raise InputError("the purchase cost is not a number", field="Purchase Cost",
                             value=cost) from None
    last_audit = _first(row, "last_audit")
    owner = _first(row, "username") or _first(row, "email")
    return DiscoveredDevice(
        source=SourceKind.SNIPEIT.value,
        record_id=tag,
        seen_at=(parse_time(last_audit, source=source, row=row.number, field="Last Audit Date")
                 if last_audit else None),
        serial=_first(row, "serial"),
        manufacturer=_first(row, "manufacturer"),
        model=_first(row, "model"),
        owner=owner,
        location=_first(row, "checkout_location") or _first(row, "location"),
        asset_tag=tag,
    )
