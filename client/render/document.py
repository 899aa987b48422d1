"""A report as the writers see it: a title, facts, tables and charts of typed values.

Values stay typed (Decimal, int, str, None) until a writer formats them, so that a spreadsheet
gets numbers, not text that looks like numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    #: Columns that hold fractions to show as percentages (0.125 -> 12.50 %).
    percent_columns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Chart:
    """A bar, line or pie chart of one series: ``labels`` and their ``values``."""

    title: str
    kind: str
    labels: tuple[str, ...]
    values: tuple[Decimal, ...]


@dataclass(frozen=True)
class Document:
    """A report. A fact whose label ends in `` %`` holds a fraction shown as a percentage."""

    title: str
    subtitle: str = ""
    facts: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


def text_of(value: Any, *, percent: bool = False) -> str:
    """How a value reads in PDF and HTML: amounts with thousands separators, fractions as
    percentages, nothing as a dash."""
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value * 100:,.2f} %" if percent else f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)
