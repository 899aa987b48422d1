"""Export any table to XLSX: typed numbers and dates, formatted headers, formula-safe text.

openpyxl turns any string beginning with ``=`` into a live formula (RELIABILITY.md); a register
exported from discovery data could carry ``=HYPERLINK(...)`` in a hostname. Text that a
spreadsheet would read as a formula (``= + - @``, and tab or carriage return first) is written
as text with a leading apostrophe, Excel's own "this is text" marker. Money stays a number
(Decimal, never float) with a two-decimal format, so totals can be summed in the sheet.
No Qt here: the views call :func:`write_xlsx` through the operation runner.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from client.gui.paging import DATE, DATETIME, INTEGER, MONEY, Column

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")
FORMATS = {MONEY: "#,##0.00;[Red]-#,##0.00", INTEGER: "0", DATE: "yyyy-mm-dd",
           DATETIME: "yyyy-mm-dd hh:mm:ss"}


def safe_text(value: str) -> str:
    """Text a spreadsheet will not evaluate: ``=1+2`` -> ``'=1+2``."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def cell_value(value: Any, kind: str) -> Any:
    """What goes into the cell: numbers and dates typed, everything else formula-safe text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal | int) and kind in (MONEY, INTEGER):
        return value
    if isinstance(value, datetime):
        # Excel has no time zones: the client shows and exports UTC, the header says so.
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    if isinstance(value, Decimal | int | float):
        return value
    return safe_text(str(value))


def write_xlsx(path: Path, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *,
               title: str = "Export") -> int:
    """Write ``rows`` under a header of ``columns`` to ``path``; returns the rows written."""
    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = title[:31] or "Export"
    for number, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=number, value=safe_text(column.title))
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        sheet.column_dimensions[get_column_letter(number)].width = max(8, column.width // 7)
    written = 0
    for written, row in enumerate(rows, start=1):
        for number, (column, value) in enumerate(zip(columns, row, strict=False), start=1):
            content = cell_value(value, column.kind)
            cell = sheet.cell(row=written + 1, column=number, value=content)
            if isinstance(content, str):
                cell.data_type = "s"  # never a formula, whatever the text
            elif column.kind in FORMATS:
                cell.number_format = FORMATS[column.kind]
    sheet.freeze_panes = "A2"
    if columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, written + 1)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return written
