"""The methodology document as HTML (one self-contained file) or PDF (reportlab).

Both render the same :class:`~ledger.methodology.Methodology` tree, so the two never disagree;
every cell is escaped (rule descriptions and exception titles are user text).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from ledger.methodology import Methodology, Section, Table

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0 1.5em; width: 100%; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } .head { font-family: monospace; word-break: break-all; }
"""


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in table.rows)
    if not table.rows:
        body = f'<tr><td colspan="{len(table.columns)}">none</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_section(section: Section) -> str:
    parts = [f"<h2>{escape(section.title)}</h2>"]
    parts += [f"<p>{escape(p)}</p>" for p in section.paragraphs]
    parts += [_html_table(t) for t in section.tables]
    return "<section>" + "\n".join(parts) + "</section>"


def to_html(doc: Methodology) -> str:
    """A complete HTML page; the audit head is also in a ``<meta>`` for tools."""
    meta = (f"<p>Rule set {escape(doc.ruleset)}; generated {doc.generated_at:%Y-%m-%d %H:%M} "
            f"UTC by {escape(doc.generated_by)}.</p>"
            f'<p>Audit chain head: <span class="head">{escape(doc.anchor.head)}</span></p>')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="apportion-audit-head" content="{escape(doc.anchor.head)}">'
            f"<title>{escape(doc.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{escape(doc.title)}</h1>{meta}\n"
            + "\n".join(_html_section(s) for s in doc.sections) + "</body></html>\n")


def to_pdf(doc: Methodology, path: Path) -> None:
    """Write the document as a landscape A4 PDF; each page's footer carries the audit head."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        CondPageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import Table as PdfTable

    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontSize=7.5, leading=9)
    head_cell = cell.clone("head_cell", fontName="Helvetica-Bold")
    width = landscape(A4)[0] - 30 * mm

    def table(t: Table) -> PdfTable:
        rows = [[Paragraph(escape(c), head_cell) for c in t.columns]]
        rows += [[Paragraph(escape(v), cell) for v in r] for r in t.rows] or [
            [Paragraph("none", cell)] + [Paragraph("", cell)] * (len(t.columns) - 1)]
        # Columns as wide as their longest text suggests (within bounds), the page's width in all.
        weights = [min(max(12, len(c), *(len(r[i]) for r in t.rows)), 60)
                   for i, c in enumerate(t.columns)]
        widths = [width * w / sum(weights) for w in weights]
        out = PdfTable(rows, colWidths=widths, repeatRows=1)
        out.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return out

    story: list = [Paragraph(escape(doc.title), styles["Title"]),
                   Paragraph(escape(f"Rule set {doc.ruleset}; generated "
                                    f"{doc.generated_at:%Y-%m-%d %H:%M} UTC by "
                                    f"{doc.generated_by}"), styles["BodyText"]),
                   Paragraph(escape(f"Audit chain head: {doc.anchor.head}"), styles["BodyText"])]
    for section in doc.sections:
        story.append(CondPageBreak(45 * mm))  # no heading alone at a page's foot
        story.append(Paragraph(escape(section.title), styles["Heading2"]))
        story += [Paragraph(escape(p), styles["BodyText"]) for p in section.paragraphs]
        for t in section.tables:
            story += [table(t), Spacer(1, 4 * mm)]

    def footer(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 8 * mm, f"{doc.title} - audit head {doc.anchor.head} - "
                                           f"page {document.page}")
        canvas.restoreState()

    template = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=15 * mm,
                                 rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                                 title=doc.title, author="Apportion",
                                 subject=f"audit head {doc.anchor.head}")
    template.build(story, onFirstPage=footer, onLaterPages=footer)


def write(doc: Methodology, path: Path) -> str:
    """Write HTML or PDF by ``path``'s extension; returns the format written."""
    suffix = path.suffix.lower()
    if suffix in {".html", ".htm"}:
        path.write_text(to_html(doc), encoding="utf-8")
        return "html"
    if suffix == ".pdf":
        to_pdf(doc, path)
        return "pdf"
    from ledger.errors import InputError

    raise InputError("the methodology is written as .pdf or .html", field="--out",
                     value=str(path))
