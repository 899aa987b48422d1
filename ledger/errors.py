"""Typed errors that carry what a user needs to fix the cause.

Every error raised on purpose by Apportion derives from :class:`ApportionError`; front ends print
``str(error)`` as one line and exit non-zero. Errors about input carry the source (file), the
row (or element) and the field, so that a user can find the bad cell.
"""

from __future__ import annotations


class ApportionError(Exception):
    """Base of all expected, user-facing errors."""


class InputError(ApportionError, ValueError):
    """Bad input: names the file, row and field where known.

    Attributes:
        message: what is wrong and, where possible, how to fix it.
        source: the file (or other source) the input came from.
        row: 1-based row number (the header is row 1 in a CSV file), or element path.
        field: the column or field name.
        value: the offending value as read.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | str | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.message = message
        self.source = source
        self.row = row
        self.field = field
        self.value = value
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputErrors(ApportionError, ValueError):
    """Several input errors found in one pass; nothing was written."""

    def __init__(self, errors: list[InputError], *, source: str | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{len(self.errors)} error(s), nothing imported: {shown}{more}")


class NotFoundError(ApportionError, LookupError):
    """A referenced thing (cost centre, account, period ...) does not exist."""


class ConflictError(ApportionError):
    """The thing changed or exists already; the second writer must reload and retry."""


class PermissionDeniedError(ApportionError, PermissionError):
    """The current user lacks the permission a service operation needs."""


class PeriodClosedError(ApportionError):
    """A write into a closed accounting period was refused."""
