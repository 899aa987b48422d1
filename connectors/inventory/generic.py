"""Register loads from any CSV or XLSX file, read through a saved column mapping.

An ERP or procurement export has its own column names; an
:class:`~ledger.services.asset_mapping.AssetMapping` says which column is which register field.
These readers stream the file (a CSV line by line, a workbook with openpyxl's ``read_only``
mode), turn every row into a register :class:`~ledger.asset.Asset`, and collect every row's
problems; then either all rows are staged or an :class:`~ledger.errors.InputErrors` names the
file (and sheet), the row and the column of each problem.

What the standard readers let through is refused here: NUL bytes, bytes that are not UTF-8,
UTF-16 files, ragged rows, a mapped column missing or named twice in the header, numbers in
spreadsheet floats (read through their shortest text, never as binary fractions), dates
written D/M or M/D (ambiguous: write ``YYYY-MM-DD``), workbooks that are encrypted, damaged or
inflate beyond :data:`MAX_XLSX_INFLATED` bytes.

Also here: :func:`read_entitlements_csv`, a plain licence-entitlements CSV.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import re
import types
import typing
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from connectors.tabular import read_rows
from ledger.asset import Asset
from ledger.errors import InputError, InputErrors
from ledger.licence import Entitlement
from ledger.services.asset_mapping import REQUIRED_FIELDS, AssetMapping
from ledger.staging import Staged

#: Collect at most this many row errors before stopping.
MAX_ERRORS = 50
#: A workbook whose parts would inflate beyond this many bytes is refused (zip bombs).
MAX_XLSX_INFLATED = 2 * 1024**3
#: Call the progress callback every this many rows.
PROGRESS_EVERY = 10_000

Progress = Callable[[int, int | None], None]
"""``progress(done, total)``: bytes read of a CSV file, rows read of a workbook."""


# --- values -----------------------------------------------------------------------------------

_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_decimal(value: object) -> Decimal:
    """An exact Decimal from text ("1234.50", "1,234.50", "$ 99"), an int, or a spreadsheet
    float (through its shortest text, so 0.1 stays 0.1)."""
    if isinstance(value, bool):
        raise InputError("expected a number", value=value)
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    text = text.lstrip("$€£¥")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not _PLAIN_NUMBER.match(text):
        raise InputError("not a number (write 1234.50)", value=value)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InputError("not a number (write 1234.50)", value=value) from None


def parse_date(value: object) -> date:
    """A date from ``YYYY-MM-DD`` (a time part is ignored), ``DD.MM.YYYY`` or a spreadsheet date.

    D/M/Y and M/D/Y with slashes are refused: ``03/04/2025`` is March in one country and April
    in the next.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    dotted = _DOTTED_DATE.match(text)
    try:
        if dotted:
            return date(int(dotted.group(3)), int(dotted.group(2)), int(dotted.group(1)))
        return datetime.fromisoformat(text).date() if "T" in text or " " in text \
            else date.fromisoformat(text)
    except ValueError:
        raise InputError("not a date (write YYYY-MM-DD)", value=value) from None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return value.strip() or None
    if isinstance(value, float):
        # A serial number typed into a spreadsheet comes back as 12345.0.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _converter(hint: Any) -> Callable[[object], Any]:
    """How to read a cell for a field of type ``hint`` (from the Asset's annotations)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint is Decimal:
        return parse_decimal
    if hint is date:
        return parse_date
    if hint is int:
        return lambda v: int(parse_decimal(v))
    if typing.get_origin(hint) is tuple:
        return lambda v: tuple(p for p in re.split(r"[;,\s]+", _text(v) or "") if p)
    return _text


def _converters() -> dict[str, Callable[[object], Any]]:
    hints = typing.get_type_hints(Asset)
    return {name: _converter(hints[name]) for name in hints if not name.startswith("_")}


# --- rows to assets ---------------------------------------------------------------------------

class _Builder:
    """Turns the cells of one row into an Asset, through the mapping."""

    def __init__(self, mapping: AssetMapping, header: list[object], *, source: str) -> None:
        self.mapping = mapping
        self.source = source
        self.converters = _converters()
        self.optional = [f.name for f in dataclasses.fields(Asset) if f.init
                         and f.default is dataclasses.MISSING
                         and f.default_factory is dataclasses.MISSING
                         and f.name not in REQUIRED_FIELDS]
        names = [(_text(h) or "").casefold() for h in header]
        self.positions: dict[str, int] = {}
        self.headers: dict[str, str] = {}
        errors = []
        for field, wanted in mapping.columns.items():
            found = [i for i, name in enumerate(names) if name == wanted.casefold()]
            if not found:
                errors.append(InputError(f"the mapping {mapping.name} reads this column for "
                                         f"{field}, but the header has no such column",
                                         source=source, row=1, field=wanted))
            elif len(found) > 1:
                errors.append(InputError(f"the header names this column twice (columns "
                                         f"{found[0] + 1} and {found[1] + 1})", source=source,
                                         row=1, field=wanted))
            else:
                self.positions[field] = found[0]
                self.headers[field] = str(header[found[0]]).strip()
        if errors:
            raise InputErrors(errors, source=source)
        # (field, column position or None, converter, default) for each field to fill.
        self.plan = [(field, self.positions.get(field), self.converters[field],
                      mapping.defaults.get(field))
                     for field in dict.fromkeys((*mapping.columns, *mapping.defaults))]

    def asset(self, cells: list[object] | tuple[object, ...], row: int) -> Asset:
        values: dict[str, Any] = dict.fromkeys(self.optional)
        for field, position, convert, default in self.plan:
            cell = cells[position] if position is not None and position < len(cells) else None
            if type(cell) is str:  # the common case, kept fast: 1M rows x 10 fields
                cell = cell.strip() or None
            elif _text(cell) is None:
                cell = None
            if cell is None:
                if default is None:
                    continue
                cell = default
            try:
                values[field] = convert(cell)
            except InputError as exc:
                raise self._error(exc.message, field, row, cell) from None
        try:
            return Asset(**values)
        except InputError as exc:
            raise self._error(exc.message, exc.field, row, exc.value) from None
        except (TypeError, ValueError) as exc:
            raise InputError(str(exc), source=self.source, row=row) from None

    def _error(self, message: str, field: str | None, row: int, value: object) -> InputError:
        header = self.headers.get(field or "")
        where = header if header is not None else f"{field} (default)" if field else None
        return InputError(message, source=self.source, row=row, field=where, value=value)


def _collect(rows: Iterable[tuple[int, list[object] | tuple[object, ...]]], builder: _Builder,
             source: str, errors: list[InputError]) -> list[Staged[Asset]]:
    staged: list[Staged[Asset]] = []
    for number, cells in rows:
        try:
            staged.append(Staged(builder.asset(cells, number), source, number))
        except InputError as exc:
            errors.append(exc)
            if len(errors) >= MAX_ERRORS:
                break
    return staged


def _finish(staged: list[Staged[Asset]], errors: list[InputError], source: str,
            ) -> list[Staged[Asset]]:
    if errors:
        raise InputErrors(errors, source=source)
    if not staged:
        raise InputError("the file has a header but no rows", source=source)
    return staged


# --- CSV ----------------------------------------------------------------------------------------

def _csv_lines(handle: Any, source: str, errors: list[InputError], size: int,
               progress: Progress | None) -> Iterator[str]:
    """Decoded lines of a binary file, refusing NUL and non-UTF-8 bytes line by line."""
    for number, raw in enumerate(handle, start=1):
        if number == 1:
            if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise InputError("the file is UTF-16 or UTF-32; save it as CSV UTF-8",
                                 source=source, row=1)
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if b"\x00" in raw:
            errors.append(InputError("the line contains a NUL byte (binary or damaged file)",
                                     source=source, row=number))
            raw = raw.replace(b"\x00", b"")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(InputError(f"byte {raw[exc.start]:#04x} is not UTF-8 text; save the "
                                     "file as CSV UTF-8", source=source, row=number))
            line = raw.decode("utf-8", errors="replace")
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(handle.tell(), size)
        yield line


def read_register_csv(path: Path, mapping: AssetMapping, *,
                      progress: Progress | None = None) -> list[Staged[Asset]]:
    """Register assets from a CSV file through ``mapping``, or every row's error."""
    source = str(path)
    errors: list[InputError] = []
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
    with handle:
        reader = csv.reader(_csv_lines(handle, source, errors, size, progress), strict=True)
        try:
            header: list[object] = list(next(reader))
        except StopIteration:
            raise InputError("the file is empty; it needs a header row", source=source) from None
        except csv.Error as exc:
            raise InputError(f"the header is not valid CSV: {exc}", source=source,
                             row=1) from None
        if errors:
            raise InputErrors(errors, source=source)
        builder = _Builder(mapping, header, source=source)

        def rows() -> Iterator[tuple[int, list[object]]]:
            start = reader.line_num + 1
            try:
                for cells in reader:
                    number, start = start, reader.line_num + 1
                    if not any(c.strip() for c in cells):
                        continue
                    if len(cells) != len(header):
                        errors.append(InputError(f"the row has {len(cells)} cells but the "
                                                 f"header has {len(header)}", source=source,
                                                 row=number))
                        continue
                    yield number, list(cells)
            except csv.Error as exc:
                errors.append(InputError(f"not valid CSV: {exc}", source=source, row=start))

        staged = _collect(rows(), builder, source, errors)
    if progress is not None:
        progress(size, size)
    return _finish(staged, errors, source)


# --- XLSX ---------------------------------------------------------------------------------------

def _open_workbook(path: Path, source: str) -> Any:
    import openpyxl  # only the spreadsheet paths pay for importing it

    if not zipfile.is_zipfile(path):
        raise InputError("not an XLSX workbook (an encrypted workbook is not a zip file: save "
                         "it without a password)", source=source)
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"the workbook is damaged: {exc}", source=source) from None
    if inflated > MAX_XLSX_INFLATED:
        raise InputError(f"the workbook inflates to {inflated} bytes; the limit is "
                         f"{MAX_XLSX_INFLATED}", source=source)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or hostile workbook
        cause = exc.__cause__ or exc
        raise InputError(f"cannot read the workbook: {type(cause).__name__}: {cause}",
                         source=source) from None


def read_register_xlsx(path: Path, mapping: AssetMapping, *,
                       progress: Progress | None = None) -> list[Staged[Asset]]:
    """Register assets from a worksheet through ``mapping`` (its ``sheet``, else the first)."""
    workbook = _open_workbook(path, str(path))
    try:
        if mapping.sheet is not None and mapping.sheet not in workbook.sheetnames:
            raise InputError(f"the workbook has no sheet {mapping.sheet!r}; its sheets are "
                             f"{', '.join(workbook.sheetnames)}", source=str(path))
        sheet = workbook[mapping.sheet] if mapping.sheet else workbook.worksheets[0]
        source = f"{path}, sheet {sheet.title}"
        total = sheet.max_row
        lines = sheet.iter_rows(values_only=True)
        header = next(lines, None)
        if header is None or not any(_text(c) for c in header):
            raise InputError("the sheet is empty; it needs a header row", source=source, row=1)
        builder = _Builder(mapping, list(header), source=source)
        errors: list[InputError] = []

        def rows() -> Iterator[tuple[int, tuple[object, ...]]]:
            try:
                for number, cells in enumerate(lines, start=2):
                    if progress is not None and number % PROGRESS_EVERY == 0:
                        progress(number, total)
                    if any(_text(c) for c in cells):
                        yield number, cells
            except Exception as exc:  # a truncated part surfaces while reading rows
                errors.append(InputError(f"the sheet is damaged: {type(exc).__name__}: {exc}",
                                         source=source))

        staged = _collect(rows(), builder, source, errors)
        if progress is not None:
            progress(total or len(staged), total)
        return _finish(staged, errors, source)
    finally:
        workbook.close()


# --- licence entitlements -----------------------------------------------------------------------

ENTITLEMENT_COLUMNS = ("key", "publisher", "product", "metric", "quantity", "unit_cost",
                       "currency", "cost_basis", "term_start", "term_end", "version_from",
                       "version_to")


def read_entitlements_csv(path: Path) -> list[Staged[Entitlement]]:
    """Entitlements from a CSV with the columns of :data:`ENTITLEMENT_COLUMNS` (``key``,
    ``product``, ``metric``, ``quantity`` and ``unit_cost`` required), all or nothing."""
    source = str(path)
    staged: list[Staged[Entitlement]] = []
    errors: list[InputError] = []
    rows = read_rows(path, required=("key", "product", "metric", "quantity", "unit_cost"),
                     optional=(*ENTITLEMENT_COLUMNS[5:], "publisher"), source=source)
    for row in rows:
        try:
            values: dict[str, Any] = {name: row.get(name) for name in ENTITLEMENT_COLUMNS}
            field = "quantity"
            quantity = parse_decimal(values["quantity"] or "")
            if quantity != quantity.to_integral_value():
                raise InputError("the quantity must be a whole number", value=quantity)
            values["quantity"] = int(quantity)
            field = "unit_cost"
            values["unit_cost"] = parse_decimal(values["unit_cost"] or "")
            for field in ("term_start", "term_end"):
                values[field] = parse_date(values[field]) if values[field] else None
            values["currency"] = values["currency"] or "USD"
            values["cost_basis"] = values["cost_basis"] or "perpetual"
            field = ""
            staged.append(Staged(Entitlement(**values, source=source), source, row.number))
        except InputError as exc:
            errors.append(InputError(exc.message, source=source, row=row.number,
                                     field=exc.field or field or None, value=exc.value))
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise InputErrors(errors, source=source)
    if not staged:
        raise InputError("the file has a header but no rows", source=source)
    return staged
