"""The small part of OData ``$filter`` the sandbox understands (v2 for SAP, v4 for BC).

Clauses joined by ``and``: ``Field op literal`` with op one of eq, ne, gt, ge, lt, le, and a
literal that is a quoted string (``'it''s'``), a v2 ``datetime'2026-01-31T00:00:00'``, a bare
v4 date ``2026-01-31`` or an integer. Anything else is refused with :class:`FilterError` (the
real services answer 400 too).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import date
from typing import Any

_CLAUSE = re.compile(
    r"\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s+(?P<op>eq|ne|gt|ge|lt|le)\s+"
    r"(?P<value>'(?:[^']|'')*'|datetime'[^']*'|\d{4}-\d{2}-\d{2}|-?\d+)\s*"
)
_AND = re.compile(r"and\s+")
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt,
    "ge": operator.ge, "lt": operator.lt, "le": operator.le,
}


class FilterError(ValueError):
    """A ``$filter`` the sandbox (and the real service) does not accept."""


Clause = tuple[str, str, Any]


def parse_filter(text: str | None) -> list[Clause]:
    if not text:
        return []
    clauses: list[Clause] = []
    position = 0
    while position < len(text):
        match = _CLAUSE.match(text, position)
        if not match:
            raise FilterError(f"invalid filter expression near {text[position:position + 40]!r}")
        clauses.append((match["field"], match["op"], _literal(match["value"])))
        position = match.end()
        if position < len(text):
            joiner = _AND.match(text, position)
            if not joiner:
                raise FilterError(f"only 'and' may join filter clauses: {text!r}")
            position = joiner.end()
    return clauses


def _literal(value: str) -> Any:
    if value.startswith("datetime'"):
        return date.fromisoformat(value[9:19])
    if value.startswith("'"):
        return value[1:-1].replace("''", "'")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    return int(value)


def matches(row: dict[str, Any], clauses: list[Clause]) -> bool:
    """True when ``row`` satisfies every clause; unknown fields raise FilterError."""
    for field, op, expected in clauses:
        if field not in row:
            raise FilterError(f"property {field} does not exist")
        actual = row[field]
        if actual is None:
            actual = ""
        if isinstance(expected, date) and isinstance(actual, str):
            actual = date.fromisoformat(actual[:10])
        try:
            if not OPERATORS[op](actual, expected):
                return False
        except TypeError:
            raise FilterError(f"cannot compare {field} with {expected!r}") from None
    return True
