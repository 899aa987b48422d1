"""Strict reading of delimited text files (CSV) for the importers.

Python's csv module lets NUL bytes, ragged rows, duplicate headers and undecodable bytes through
silently; this reader refuses each of them with an error naming the file, the row and the field,
before anything is imported. Row numbers are as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import InputError

#: Refuse files larger than this (bytes): reference data is small; billing has its own path.
MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its spreadsheet row number and its cells by header name (stripped)."""

    number: int
    cells: dict[str, str]

    def get(self, name: str) -> str | None:
        """The cell's text, or None when it is empty or the column is absent."""
        value = self.cells.get(name)
        return value if value else None


def read_rows(
    path: Path,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    source: str | None = None,
) -> Iterator[Row]:
    """Yield the rows of a CSV file with a header, checking its shape as it goes.

    Header names are matched case-insensitively, with spaces and dashes read as underscores.
    Raises :class:`InputError` for an unreadable file, an encoding other than UTF-8, NUL bytes,
    a missing, unknown or duplicated column, or a row with the wrong number of cells.
    """
    name = source or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"the file is {size} bytes; the limit is {MAX_BYTES}", source=name)
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", source=name) from None
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputError("the file contains a NUL byte; is it a binary or UTF-16 file?",
                         source=name, row=line)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("the file is not UTF-8 text; save it as CSV UTF-8", source=name,
                         row=line) from None

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the file is empty; it needs a header row", source=name) from None
    except csv.Error as exc:
        raise InputError(f"the header is not valid CSV: {exc}", source=name, row=1) from None

    columns = [_column_key(h) for h in header]
    allowed = [_column_key(c) for c in (*required, *optional)]
    seen: set[str] = set()
    for position, column in enumerate(columns, start=1):
        if column in seen:
            raise InputError(f"column {header[position - 1]!r} appears twice", source=name,
                             row=1, field=header[position - 1])
        seen.add(column)
        if column not in allowed:
            raise InputError(f"unknown column {header[position - 1]!r}; the columns are "
                             f"{', '.join(allowed)}", source=name, row=1,
                             field=header[position - 1])
    missing = [c for c in (_column_key(r) for r in required) if c not in seen]
    if missing:
        raise InputError(f"required column(s) missing: {', '.join(missing)}", source=name, row=1,
                         field=missing[0])

    try:
        for cells in reader:
            number = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != len(columns):
                raise InputError(f"the row has {len(cells)} cells but the header has "
                                 f"{len(columns)}", source=name, row=number)
            yield Row(number, {col: cell.strip() for col, cell in zip(columns, cells,
                                                                       strict=True)})
    except csv.Error as exc:
        raise InputError(f"not valid CSV: {exc}", source=name, row=reader.line_num) from None


def _column_key(header: str) -> str:
    return header.strip().lower().replace(" ", "_").replace("-", "_")
