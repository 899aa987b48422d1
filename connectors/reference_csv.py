"""Importers for reference data from CSV: cost centres, GL accounts, driver quantities.

Each reader returns staged values for a service to validate and commit all-or-nothing. Every bad
row is reported (not only the first), each naming the file, row and field.

Cost centres: ``code,name[,parent,business_unit,owner,valid_from,valid_to]`` (dates YYYY-MM-DD).
GL accounts: ``number,name,type`` with type one of the :class:`ledger.reference.AccountType`
values (expense, asset, accumulated_depreciation, recovery, liability, revenue, equity).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from connectors.tabular import Row, read_rows
from ledger.errors import InputError, InputErrors
from ledger.reference import CostCentre, GlAccount
from ledger.staging import Staged

T = TypeVar("T")

COST_CENTRE_COLUMNS = ("code", "name")
COST_CENTRE_OPTIONAL = ("parent", "business_unit", "owner", "valid_from", "valid_to")
ACCOUNT_COLUMNS = ("number", "name", "type")


def _date(row: Row, field: str, source: str) -> date | None:
    text = row.get(field)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("not a date; write it as YYYY-MM-DD", source=source, row=row.number,
                         field=field, value=text) from None


def _stage_all(path: Path, rows: list[Row], make: Callable[[Row], T]) -> list[Staged[T]]:
    source = str(path)
    staged: list[Staged[T]] = []
    errors: list[InputError] = []
    for row in rows:
        try:
            staged.append(Staged(make(row), source, row.number))
        except InputError as exc:
            errors.append(InputError(exc.message, source=source, row=row.number,
                                     field=exc.field, value=exc.value))
    if errors:
        raise InputErrors(errors, source=source)
    if not staged:
        raise InputError("the file has a header but no rows", source=source)
    return staged


def read_cost_centres(path: Path) -> list[Staged[CostCentre]]:
    source = str(path)
    rows = list(read_rows(path, required=COST_CENTRE_COLUMNS, optional=COST_CENTRE_OPTIONAL))
    return _stage_all(path, rows, lambda row: CostCentre(
        code=row.get("code") or "",
        name=row.get("name") or "",
        parent=row.get("parent"),
        business_unit=row.get("business_unit"),
        owner=row.get("owner"),
        valid_from=_date(row, "valid_from", source),
        valid_to=_date(row, "valid_to", source),
    ))


def read_accounts(path: Path) -> list[Staged[GlAccount]]:
    rows = list(read_rows(path, required=ACCOUNT_COLUMNS))
    return _stage_all(path, rows, lambda row: GlAccount(
        number=row.get("number") or "", name=row.get("name") or "",
        type=row.get("type") or "",  # type: ignore[arg-type]  # GlAccount validates it
    ))
