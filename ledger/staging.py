"""Staged input: a parsed value with where it came from, before it is validated and committed.

Importers (in ``connectors``) turn a file into staged values; a service validates all of them
against the database and commits all or none, naming the source and row of anything it refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ledger.errors import InputError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Staged(Generic[T]):
    """A value read from ``source`` at ``row`` (1-based; a CSV header is row 1)."""

    value: T
    source: str | None = None
    row: int | None = None

    def error(self, message: str, *, field: str | None = None, value: object = None) -> InputError:
        """An :class:`InputError` pointing at this value's source and row."""
        return InputError(message, source=self.source, row=self.row, field=field, value=value)


def staged(values: list[T] | tuple[T, ...], source: str | None = None) -> list[Staged[T]]:
    """Stage values that came from no file (the API, the demo): rows count from 1."""
    return [Staged(value, source, row) for row, value in enumerate(values, start=1)]


def index_unique(
    items: Sequence[Staged[T]], key: Callable[[T], str], *, what: str, field: str,
    errors: list[InputError],
) -> dict[str, Staged[T]]:
    """Index staged values by ``key``; a key seen twice adds an error naming both rows."""
    index: dict[str, Staged[T]] = {}
    for item in items:
        value_key = key(item.value)
        if value_key in index:
            errors.append(item.error(f"{what} {value_key} appears twice in this import (first "
                                     f"at row {index[value_key].row})", field=field,
                                     value=value_key))
            continue
        index[value_key] = item
    return index
