"""HTML writer: one self-contained page (inline CSS, charts as inline SVG bars), escaped."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from pathlib import Path

from client.render.document import Chart, Document, Table, text_of

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{color:#1f4e79}table{border-collapse:collapse;margin:1em 0}
th{background:#1f4e79;color:#fff;padding:4px 8px}td{padding:3px 8px;border-bottom:1px solid #ddd}
td.n{text-align:right;font-variant-numeric:tabular-nums}.bar{fill:#2e75b6}"""


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    rows = []
    for values in table.rows:
        cells = []
        for name, value in zip(table.columns, values, strict=True):
            numeric = isinstance(value, Decimal | int | float) and not isinstance(value, bool)
            cells.append(f"<td{' class=n' if numeric else ''}>"
                         f"{escape(text_of(value, percent=name in table.percent_columns))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<h2>{escape(table.title)}</h2><table><tr>{head}</tr>{''.join(rows)}</table>"


def _chart(chart: Chart) -> str:
    """Horizontal bars (every chart kind reads well as bars on a page)."""
    top = max((abs(v) for v in chart.values), default=Decimal(0)) or Decimal(1)
    height = 22 * len(chart.values) + 10
    bars = []
    for n, (label, value) in enumerate(zip(chart.labels, chart.values, strict=True)):
        width = int(300 * abs(value) / top)
        y = 5 + 22 * n
        bars.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(label)}</text>'
                    f'<rect class="bar" x="200" y="{y}" width="{width}" height="16"/>'
                    f'<text x="{205 + width}" y="{y + 13}" font-size="11">'
                    f'{escape(text_of(value))}</text>')
    return (f"<h2>{escape(chart.title)}</h2><svg width='640' height='{height}' role='img'>"
            + "".join(bars) + "</svg>")


def render_html(document: Document) -> str:
    facts = "".join(f"<tr><td>{escape(label)}</td><td class=n>"
                    f"{escape(text_of(value, percent=label.endswith(' %')))}</td></tr>"
                    for label, value in document.facts)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(document.title)}"
            f"</title><style>{STYLE}</style></head><body><h1>{escape(document.title)}</h1>"
            f"<p>{escape(document.subtitle)}</p><table>{facts}</table>"
            + "".join(_chart(c) for c in document.charts)
            + "".join(_table(t) for t in document.tables) + "</body></html>")


def write_html(document: Document, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(document), encoding="utf-8")
    return path
