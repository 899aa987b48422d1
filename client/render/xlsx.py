"""XLSX writer: a summary sheet of facts and a sheet per table, with bold filled headers,
frozen header rows, amounts as numbers with a number format, and text made formula-safe.

Formula safety: a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return would be taken for a formula by Excel (CSV/formula injection: a cost-centre name or a
dispute reason is user input); such text is written with a leading apostrophe, as text.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from client.render.document import Document, Table

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
AMOUNT_FORMAT = "#,##0.00;[Red]-#,##0.00"
PERCENT_FORMAT = "0.00%"
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
MAX_WIDTH = 60


def safe_text(text: str) -> str:
    """``text`` that no spreadsheet will evaluate as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _put(sheet: Any, row: int, column: int, value: Any, *, percent: bool = False) -> None:
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, bool) or value is None:
        cell.value = value
    elif isinstance(value, int | Decimal | float):
        cell.value = value
        cell.number_format = PERCENT_FORMAT if percent else (
            AMOUNT_FORMAT if isinstance(value, Decimal | float) else "0")
    else:
        cell.value = safe_text(str(value))
        cell.data_type = "s"


def _sheet_name(title: str, taken: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title)[:31].strip() or "Sheet"
    base, n = name, 2
    while name in taken:
        name = f"{base[:28]} {n}"
        n += 1
    taken.add(name)
    return name


def _header(sheet: Any, row: int, names: tuple[str, ...]) -> None:
    for column, name in enumerate(names, start=1):
        cell = sheet.cell(row=row, column=column, value=safe_text(name))
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center")


def _widths(sheet: Any) -> None:
    for column in sheet.columns:
        longest = max((len(str(c.value)) for c in column if c.value is not None), default=8)
        sheet.column_dimensions[get_column_letter(column[0].column)].width = min(
            longest + 2, MAX_WIDTH)


def _table(sheet: Any, table: Table) -> None:
    _header(sheet, 1, table.columns)
    sheet.freeze_panes = "A2"
    for r, values in enumerate(table.rows, start=2):
        for c, (name, value) in enumerate(zip(table.columns, values, strict=True), start=1):
            _put(sheet, r, c, value, percent=name in table.percent_columns)
    if table.rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"
    _widths(sheet)


def write_xlsx(document: Document, path: Path) -> Path:
    book = Workbook()
    summary = book.active
    taken = {"Summary"}
    summary.title = "Summary"
    summary.cell(row=1, column=1, value=safe_text(document.title)).font = Font(bold=True,
                                                                                size=14)
    summary.cell(row=2, column=1, value=safe_text(document.subtitle))
    _header(summary, 4, ("Item", "Value"))
    for row, (label, value) in enumerate(document.facts, start=5):
        _put(summary, row, 1, label)
        _put(summary, row, 2, value, percent=label.endswith(" %"))
    _widths(summary)
    for table in document.tables:
        _table(book.create_sheet(_sheet_name(table.title, taken)), table)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
