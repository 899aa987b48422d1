"""Rendering reports to files: XLSX (openpyxl), PDF (reportlab, with its own charts) and HTML.

A report is first turned into a :class:`~client.render.document.Document` (facts, tables,
charts: :mod:`client.render.reports` does it for each report); the writers render any document,
chosen by the output file's extension (:func:`write_document`).
"""

from __future__ import annotations

from pathlib import Path

from client.render.document import Chart, Document, Table

FORMATS = (".xlsx", ".pdf", ".html")


def write_document(document: Document, path: Path) -> Path:
    """Write ``document`` as XLSX, PDF or HTML by ``path``'s extension."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from client.render.xlsx import write_xlsx

        return write_xlsx(document, path)
    if suffix == ".pdf":
        from client.render.pdf import write_pdf

        return write_pdf(document, path)
    if suffix in (".html", ".htm"):
        from client.render.html import write_html

        return write_html(document, path)
    raise ValueError(f"{path.name}: write reports as {', '.join(FORMATS)}")


__all__ = ["FORMATS", "Chart", "Document", "Table", "write_document"]
