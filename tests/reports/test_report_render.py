"""The reports as files: PDFs that render (page 1 turned into an image is not blank), XLSX with
typed numbers and no formula injection, HTML escaped."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pypdfium2
from openpyxl import load_workbook

from client.render import write_document
from client.render.reports import (
    disputes_document,
    forecast_document,
    kpi_document,
    statement_document,
)
from ledger.reports.statement import Statement, StatementLine
from ledger.services import disputes, reports

HOSTILE = "=HYPERLINK(\"http://evil.example\",\"click\")"


def _not_blank(path: Path) -> None:
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        image = pdf[0].render(scale=1).to_pil().convert("L")
    finally:
        pdf.close()
    low, high = image.getextrema()
    dark = sum(image.histogram()[:200])
    assert low < 100 < high and dark > 1000, (low, high, dark)


def _statement(name: str = "Manufacturing") -> Statement:
    lines = (StatementLine("cloud", "M030", "direct", "6900", "USD", Decimal("1234.56"), True,
                           HOSTILE),
             StatementLine("network", "S200", "shared", "6900", "USD", Decimal("-10.00"), True,
                           "by headcount: 10 of 100 (10.00%)"))
    return Statement("1010", name, "2026-11", 7, "demo@1", lines,
                     (("2026-10", "USD", Decimal("1000")), ("2026-11", "USD", Decimal("1224.56"))),
                     Decimal("2000.00"), "USD", ())


def test_a_statement_xlsx_has_numbers_and_hostile_text_stays_text(tmp_path):
    path = write_document(statement_document(_statement(name="+SUM(A1:A9)")),
                          tmp_path / "cc.xlsx")
    book = load_workbook(path)
    charges = book["Charges"]
    assert [c.value for c in charges[1]][:6] == ["Pool", "Rule", "Kind", "Account", "Currency",
                                                 "Amount"]
    amounts = [row[5].value for row in charges.iter_rows(min_row=2)]
    assert all(isinstance(v, int | float) for v in amounts) and sum(amounts) == 1224.56
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row
             if isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if c.data_type == "f" or c.value.startswith("=")
                or c.value.startswith("+")]
    assert any(c.value == "'" + HOSTILE for c in cells)
    summary = {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_row=5)}
    assert summary["Total USD"] == 1224.56
    assert summary["Budget used %"] == float(Decimal("1224.56") / 2000)


def test_a_statement_pdf_and_html_render(tmp_path):
    _not_blank(write_document(statement_document(_statement()), tmp_path / "cc.pdf"))
    html = write_document(statement_document(_statement("<script>x</script>")),
                          tmp_path / "cc.html").read_text()
    assert "1,234.56" in html and "HYPERLINK(&quot;" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_every_report_of_the_demo_renders_in_every_format(allocated, tmp_path):
    app, period = allocated
    with app.uow(read_only=True) as uow:
        statement = reports.statement(uow=uow, cost_centre="5010", period=period)
        documents = {"statement": statement_document(statement),
                     "kpis": kpi_document(reports.kpis(uow=uow, period=period)),
                     "forecast": forecast_document(reports.forecast(uow=uow, period=period)),
                     "disputes": disputes_document(disputes.dispute_report(uow=uow,
                                                                           period=period))}
    for name, document in documents.items():
        _not_blank(write_document(document, tmp_path / f"{name}.pdf"))
        write_document(document, tmp_path / f"{name}.html")
        book = load_workbook(write_document(document, tmp_path / f"{name}.xlsx"))
        assert book.sheetnames[0] == "Summary"
    summary = {row[0].value: row[1].value
               for row in load_workbook(tmp_path / "statement.xlsx")["Summary"].iter_rows(
                   min_row=5)}
    assert Decimal(str(summary["Total USD"])) == statement.totals["USD"]
