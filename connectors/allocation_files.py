"""Readers for allocation's input files: driver quantities and vendor invoice lines.

Both take CSV (strict, see :mod:`connectors.tabular`) or XLSX (the first sheet, read with
openpyxl; a header row, then data). Every bad row is reported (not only the first), each naming
the file, row and field, and nothing is returned then: the services store all or nothing.

Drivers: ``period,cost_centre,driver,value[,unit]``; ``unit`` ``%`` marks fixed percentages,
which must total 100 per driver and period (the service checks it).
Invoices: ``invoice_id,billing_account_id,billing_period,amount,currency``.
Manual costs: ``id,period,pool,amount,currency[,description,cost_centre]`` (no cost centre: the
amount joins the pool's shared amount).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from connectors.tabular import Row, read_rows
from ledger.allocation.engine import ManualCost
from ledger.allocation.stored import InvoiceLine
from ledger.errors import InputError, InputErrors
from ledger.money import MoneyError, normalise_currency, to_decimal
from ledger.reference import DriverQuantity
from ledger.staging import Staged

T = TypeVar("T")

DRIVER_COLUMNS = ("period", "cost_centre", "driver", "value")
DRIVER_OPTIONAL = ("unit",)
INVOICE_COLUMNS = ("invoice_id", "billing_account_id", "billing_period", "amount", "currency")
MANUAL_COLUMNS = ("id", "period", "pool", "amount", "currency")
MANUAL_OPTIONAL = ("description", "cost_centre")
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _key(header: object) -> str:
    return str(header or "").strip().lower().replace(" ", "_").replace("-", "_")


def _xlsx_rows(path: Path, *, required: Sequence[str], optional: Sequence[str]
               ) -> Iterator[Row]:
    from openpyxl import load_workbook

    source = str(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"not a readable XLSX workbook: {exc}", source=source) from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [_key(h) for h in next(rows, ())]
        allowed = {*map(_key, required), *map(_key, optional)}
        for position, name in enumerate(header, start=1):
            if name and name not in allowed:
                raise InputError(f"unknown column {name!r}; the columns are "
                                 f"{', '.join(sorted(allowed))}", source=source, row=1,
                                 field=name or f"column {position}")
        missing = [c for c in map(_key, required) if c not in header]
        if missing:
            raise InputError(f"required column(s) missing: {', '.join(missing)}",
                             source=source, row=1, field=missing[0])
        for number, values in enumerate(rows, start=2):
            cells = {name: "" if value is None else str(value).strip()
                     for name, value in zip(header, values, strict=False) if name}
            if any(cells.values()):
                yield Row(number, cells)
    finally:
        book.close()


def _rows(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> list[Row]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return list(_xlsx_rows(path, required=required, optional=optional))
    return list(read_rows(path, required=required, optional=optional))


def _stage(path: Path, rows: list[Row], make: Callable[[Row], T]) -> list[Staged[T]]:
    source = str(path)
    staged, errors = [], []
    for row in rows:
        try:
            staged.append(Staged(make(row), source, row.number))
        except (InputError, MoneyError) as exc:
            field = getattr(exc, "field", None)
            errors.append(InputError(getattr(exc, "message", str(exc)), source=source,
                                     row=row.number, field=field,
                                     value=getattr(exc, "value", None)))
    if errors:
        raise InputErrors(errors, source=source)
    if not staged:
        raise InputError("the file has a header but no rows", source=source)
    return staged


def _text(row: Row, field: str) -> str:
    value = row.get(field)
    if value is None:
        raise InputError("is empty", field=field)
    return value


def _period(row: Row, field: str) -> str:
    value = _text(row, field)
    if not _PERIOD.match(value):
        raise InputError("must be a period YYYY-MM", field=field, value=value)
    return value


def _decimal(row: Row, field: str) -> object:
    value = _text(row, field)
    try:
        return to_decimal(value)
    except MoneyError:
        raise InputError("is not a number", field=field, value=value) from None


def read_drivers(path: Path) -> tuple[list[Staged[DriverQuantity]], dict[int, str]]:
    """Driver quantities and, by position, the unit each row gives (``%`` or empty)."""
    rows = _rows(path, DRIVER_COLUMNS, DRIVER_OPTIONAL)

    def make(row: Row) -> DriverQuantity:
        driver = _text(row, "driver").lower()
        return DriverQuantity(driver, _text(row, "cost_centre"), _period(row, "period"),
                              _decimal(row, "value"))  # type: ignore[arg-type]

    staged = _stage(path, rows, make)
    return staged, {index: row.get("unit") or "" for index, row in enumerate(rows)}


def read_invoices(path: Path) -> list[Staged[InvoiceLine]]:
    rows = _rows(path, INVOICE_COLUMNS)

    def make(row: Row) -> InvoiceLine:
        try:
            currency = normalise_currency(_text(row, "currency"))
        except MoneyError:
            raise InputError("is not a currency code", field="currency",
                             value=row.get("currency")) from None
        return InvoiceLine(_text(row, "invoice_id"), _text(row, "billing_account_id"),
                           _period(row, "billing_period"), currency,
                           _decimal(row, "amount"), row.number)  # type: ignore[arg-type]

    return _stage(path, rows, make)


def read_manual_costs(path: Path) -> list[Staged[ManualCost]]:
    rows = _rows(path, MANUAL_COLUMNS, MANUAL_OPTIONAL)

    def make(row: Row) -> ManualCost:
        try:
            currency = normalise_currency(_text(row, "currency"))
        except MoneyError:
            raise InputError("is not a currency code", field="currency",
                             value=row.get("currency")) from None
        return ManualCost(_text(row, "id"), _period(row, "period"), _text(row, "pool"),
                          _decimal(row, "amount"), currency,  # type: ignore[arg-type]
                          row.get("description") or "", row.get("cost_centre"))

    return _stage(path, rows, make)
