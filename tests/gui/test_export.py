"""XLSX export: what a spreadsheet would evaluate stays text; numbers and dates stay typed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from client.gui.export import write_xlsx
from client.gui.paging import DATE, MONEY, Column


def test_an_exported_register_cannot_carry_a_formula_and_keeps_its_numbers(tmp_path):
    path = tmp_path / "register.xlsx"
    columns = (Column("name", "Name"), Column("cost", "Cost", MONEY),
               Column("day", "In service", DATE))
    rows = [('=HYPERLINK("http://evil","click")', Decimal("1234.50"), date(2026, 1, 31)),
            ("+1-555-0100", Decimal("-0.01"), None), ("@SUM(A1)", None, None),
            ("-2+3", Decimal("10"), None), ("plain", Decimal("0"), None)]
    assert write_xlsx(path, columns, rows, title="Register") == 5
    sheet = load_workbook(path).active
    names = [sheet.cell(row=r, column=1) for r in range(2, 7)]
    assert [c.data_type for c in names] == ["s"] * 5
    assert [c.value for c in names] == ["'=HYPERLINK(\"http://evil\",\"click\")",
                                        "'+1-555-0100", "'@SUM(A1)", "'-2+3", "plain"]
    assert sheet["B2"].value == 1234.5 and sheet["B2"].number_format.startswith("#,##0.00")
    assert sheet["B3"].value == -0.01
    assert sheet["C2"].value.date() == date(2026, 1, 31)
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
