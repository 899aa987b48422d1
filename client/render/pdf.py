"""PDF writer (reportlab): title, facts, charts drawn with reportlab.graphics, then tables that
repeat their header on every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
from reportlab.platypus import Table as PdfTable
from reportlab.platypus import TableStyle as PdfTableStyle

from client.render.document import Chart, Document, Table, text_of

BLUE = colors.HexColor("#1F4E79")
PALETTE = [colors.HexColor(c) for c in ("#2E75B6", "#ED7D31", "#A5A5A5", "#FFC000",
                                        "#5B9BD5", "#70AD47", "#264478", "#9E480E")]
WIDTH = 24 * cm
MAX_BARS = 12
PAGE_WIDTH = landscape(A4)[0] - 2 * cm


def _cell(value: Any, percent: bool, style: Any) -> Any:
    return Paragraph(text_of(value, percent=percent).replace("&", "&amp;")
                     .replace("<", "&lt;"), style)


def _widths(table: Table) -> list[float]:
    """Column widths in proportion to their longest text (capped), filling the page."""
    longest = [min(max([len(name)] + [len(text_of(row[n])) for row in table.rows]), 45) + 2
               for n, name in enumerate(table.columns)]
    return [PAGE_WIDTH * size / sum(longest) for size in longest]


def _table(table: Table, styles: Any) -> list[Any]:
    body = styles["BodyText"].clone("cell", fontSize=8, leading=10)
    header = body.clone("head", textColor=colors.white, fontName="Helvetica-Bold")
    data = [[_cell(c, False, header) for c in table.columns]]
    data += [[_cell(v, name in table.percent_columns, body)
              for name, v in zip(table.columns, row, strict=True)] for row in table.rows]
    flow = PdfTable(data, repeatRows=1, hAlign="LEFT", colWidths=_widths(table))
    flow.setStyle(PdfTableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), BLUE),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#EEF3F8")]),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#BBBBBB")),
        ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [Paragraph(table.title, styles["Heading2"]), flow, Spacer(1, 0.4 * cm)]


def _bar(chart: Chart) -> Drawing:
    labels, values = chart.labels[:MAX_BARS], [float(v) for v in chart.values[:MAX_BARS]]
    drawing = Drawing(WIDTH, 30 + 18 * len(values))
    bars = HorizontalBarChart()
    bars.x, bars.y, bars.width, bars.height = 6 * cm, 10, WIDTH - 8 * cm, 18 * len(values)
    bars.data = [values]
    bars.categoryAxis.categoryNames = [label[:40] for label in labels]
    bars.categoryAxis.labels.fontSize = 7
    bars.valueAxis.labels.fontSize = 7
    bars.valueAxis.valueMin = min(0.0, *values)
    bars.bars[0].fillColor = PALETTE[0]
    drawing.add(bars)
    return drawing


def _line(chart: Chart) -> Drawing:
    drawing = Drawing(WIDTH, 6 * cm)
    line = HorizontalLineChart()
    line.x, line.y, line.width, line.height = 2 * cm, 1 * cm, WIDTH - 3 * cm, 4.5 * cm
    line.data = [[float(v) for v in chart.values]]
    line.categoryAxis.categoryNames = list(chart.labels)
    line.categoryAxis.labels.fontSize = 7
    line.valueAxis.labels.fontSize = 7
    line.valueAxis.valueMin = 0
    line.lines[0].strokeColor, line.lines[0].strokeWidth = PALETTE[0], 2
    line.lines[0].symbol = makeMarker("FilledCircle")
    drawing.add(line)
    return drawing


def _pie(chart: Chart) -> Drawing:
    drawing = Drawing(WIDTH, 6 * cm)
    pie = Pie()
    pie.x, pie.y, pie.width, pie.height = 1 * cm, 0.5 * cm, 5 * cm, 5 * cm
    positive = [(label, float(v)) for label, v in zip(chart.labels, chart.values, strict=True)
                if v > 0]
    pie.data = [v for _, v in positive] or [1.0]
    pie.labels = [f"{label} {text_of(v)}" for label, v in zip(
        chart.labels, chart.values, strict=True) if v > 0] or ["nothing"]
    for n in range(len(pie.data)):
        pie.slices[n].fillColor = PALETTE[n % len(PALETTE)]
    drawing.add(pie)
    return drawing


def _chart(chart: Chart, styles: Any) -> list[Any]:
    if not chart.values:
        return []
    kind = "bar" if chart.kind == "line" and len(chart.values) < 2 else chart.kind
    drawing = {"line": _line, "pie": _pie}.get(kind, _bar)(chart)
    return [Paragraph(chart.title, styles["Heading2"]), drawing, Spacer(1, 0.3 * cm)]


def _facts(document: Document, styles: Any) -> list[Any]:
    if not document.facts:
        return []
    data = [[label, text_of(value, percent=label.endswith(" %"))]
            for label, value in document.facts]
    flow = PdfTable(data, hAlign="LEFT")
    flow.setStyle(PdfTableStyle([("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
                                 ("FONT", (1, 0), (1, -1), "Helvetica", 9),
                                 ("ALIGN", (1, 0), (1, -1), "RIGHT")]))
    return [flow, Spacer(1, 0.4 * cm)]


def _footer(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 7)
    canvas.drawRightString(doc.pagesize[0] - cm, 0.7 * cm, f"page {doc.page}")
    canvas.restoreState()


def write_pdf(document: Document, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    styles = getSampleStyleSheet()
    styles["Heading2"].keepWithNext = 1  # a heading never ends a page without its table
    story: list[Any] = [Paragraph(document.title, styles["Title"]),
                        Paragraph(document.subtitle, styles["Normal"]), Spacer(1, 0.4 * cm)]
    story += _facts(document, styles)
    for chart in document.charts:
        story += _chart(chart, styles)
    for table in document.tables:
        story += _table(table, styles)
    pdf = SimpleDocTemplate(str(path), pagesize=landscape(A4), title=document.title,
                            leftMargin=cm, rightMargin=cm, topMargin=cm, bottomMargin=1.5 * cm)
    pdf.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return path


__all__ = ["write_pdf"]
