"""Pages of big tables, fetched from the database: counting, sorting, filtering and search in SQL.

The desktop client never loads a million rows into Python. A :class:`SqlTableSource` describes a
table (its columns and the SQL behind each); :meth:`~SqlTableSource.count` and
:meth:`~SqlTableSource.page` run on the database worker inside a read-only unit of work and
return plain tuples. No Qt here: the Qt model (:mod:`client.gui.models`) asks for pages.

Reads go straight to SQL for speed, but through the same permission check as the services
(:func:`ledger.services.base.authorize`), so a user without the right sees nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Numeric, String, and_, cast, func, or_, select
from sqlalchemy.sql import Select

from ledger.access import Permission
from ledger.money import from_minor_units
from ledger.persistence.records import (
    AssetRecord,
    AuditEventRecord,
    JournalLineRecord,
    JournalRecord,
)
from ledger.services.base import authorize

#: Column kinds: how a value is shown and exported (money right-aligned, typed in XLSX).
TEXT, MONEY, INTEGER, DATE, DATETIME = "text", "money", "integer", "date", "datetime"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table.

    Attributes:
        key: stable name (saved column layouts and filters refer to it).
        title: header text.
        kind: text, money, integer, date or datetime.
        width: default width in pixels.
    """

    key: str
    title: str
    kind: str = TEXT
    width: int = 120


@dataclass(frozen=True, slots=True)
class TableQuery:
    """What the user asked for: a free-text search, equality filters, one sort column.

    Attributes:
        search: text looked for (case-insensitively, anywhere) in the searchable columns.
        filters: (column key, value) pairs that must all match exactly.
        sort: the column key to sort by (None: the table's natural order).
        descending: sort direction.
    """

    search: str = ""
    filters: tuple[tuple[str, str], ...] = ()
    sort: str | None = None
    descending: bool = False


@dataclass
class SqlTableSource:
    """A table over SQL: columns, the expression behind each, and how rows are ordered.

    ``tiebreak`` keeps the order total (a unique key last), so that pages never overlap or skip
    rows. ``convert`` turns a raw row into the values the model holds (Decimal for money).
    """

    name: str
    columns: tuple[Column, ...]
    expressions: dict[str, ColumnElement[Any]]
    from_: Any
    tiebreak: tuple[ColumnElement[Any], ...]
    searchable: tuple[str, ...] = ()
    filterable: tuple[str, ...] = ()
    permission: Permission = Permission.READ
    default_sort: str | None = None
    default_descending: bool = False
    sort_keys: dict[str, ColumnElement[Any]] = field(default_factory=dict)
    convert: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None
    where: tuple[ColumnElement[bool], ...] = ()

    def column_index(self, key: str) -> int:
        return [c.key for c in self.columns].index(key)

    def _filtered(self, statement: Select[Any], query: TableQuery) -> Select[Any]:
        conditions: list[ColumnElement[bool]] = list(self.where)
        for key, value in query.filters:
            if key not in self.filterable:
                raise ValueError(f"{self.name} cannot be filtered by {key}")
            conditions.append(self.expressions[key] == value)
        text = query.search.strip()
        if text and self.searchable:
            pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_") + "%"
            conditions.append(or_(*(func.lower(cast(self.expressions[k], String)).like(
                pattern, escape="\\") for k in self.searchable)))
        return statement.where(and_(*conditions)) if conditions else statement

    def count(self, uow: Any, query: TableQuery) -> int:
        """How many rows match (runs on the database worker)."""
        authorize(uow, self.permission, doing=f"read {self.name}")
        statement = self._filtered(select(func.count()).select_from(self.from_), query)
        return int(uow.session.execute(statement).scalar_one())

    def page(self, uow: Any, query: TableQuery, offset: int, limit: int) -> list[tuple[Any, ...]]:
        """Rows ``offset`` to ``offset + limit`` in the asked order (runs on the worker)."""
        authorize(uow, self.permission, doing=f"read {self.name}")
        statement = self._filtered(
            select(*(self.expressions[c.key] for c in self.columns)).select_from(self.from_),
            query)
        sort = query.sort or self.default_sort
        descending = query.descending if query.sort else self.default_descending
        order: list[Any] = []
        if sort is not None:
            expression = self.sort_keys.get(sort, self.expressions[sort])
            order.append(expression.desc() if descending else expression.asc())
        order.extend(t.desc() if descending else t.asc() for t in self.tiebreak)
        rows = uow.session.execute(statement.order_by(*order).offset(offset).limit(limit)).all()
        convert = self.convert or tuple
        return [convert(tuple(row)) for row in rows]

    def distinct(self, uow: Any, key: str, limit: int = 500) -> list[str]:
        """The values a filter can take (for its drop-down)."""
        authorize(uow, self.permission, doing=f"read {self.name}")
        expression = self.expressions[key]
        statement = (select(expression).select_from(self.from_).where(expression.is_not(None))
                     .group_by(expression).order_by(expression).limit(limit))
        return [str(v) for v in uow.session.execute(statement).scalars()]


def _numeric(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    """Exact decimals are stored as text: sort them as numbers."""
    return cast(expression, Numeric(38, 10))


def _decimal_at(index: int) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    def convert(row: tuple[Any, ...]) -> tuple[Any, ...]:
        value = row[index]
        if value is None or isinstance(value, Decimal):
            return row
        return (*row[:index], Decimal(str(value)), *row[index + 1:])
    return convert


def asset_register() -> SqlTableSource:
    """The asset register (one row per asset)."""
    a = AssetRecord.__table__.c
    columns = (
        Column("tag", "Tag", width=110), Column("name", "Name", width=240),
        Column("kind", "Kind", width=110), Column("status", "Status", width=90),
        Column("cost_centre", "Cost centre", width=90),
        Column("serial_number", "Serial", width=120),
        Column("manufacturer", "Manufacturer", width=110), Column("model", "Model", width=120),
        Column("location", "Location", width=100),
        Column("in_service_date", "In service", DATE, width=90),
        Column("purchase_cost", "Cost", MONEY, width=110), Column("currency", "Cur.", width=50),
    )
    return SqlTableSource(
        name="assets", columns=columns,
        expressions={c.key: getattr(a, c.key) for c in columns},
        from_=AssetRecord.__table__, tiebreak=(a.tag,),
        searchable=("tag", "name", "serial_number"),
        filterable=("kind", "status", "cost_centre"),
        sort_keys={"purchase_cost": _numeric(a.purchase_cost)},
        convert=_decimal_at(10),
    )


def audit_trail() -> SqlTableSource:
    """The audit trail, newest first (auditors and administrators)."""
    e = AuditEventRecord.__table__.c
    columns = (
        Column("sequence", "#", INTEGER, width=60),
        Column("occurred_at", "When (UTC)", DATETIME, width=150),
        Column("actor", "Who", width=90), Column("action", "Action", width=170),
        Column("entity", "Entity", width=110), Column("entity_key", "Key", width=140),
        Column("reason", "Reason", width=260),
    )
    return SqlTableSource(
        name="the audit trail", columns=columns,
        expressions={c.key: getattr(e, c.key) for c in columns},
        from_=AuditEventRecord.__table__, tiebreak=(e.sequence,),
        searchable=("action", "entity_key", "reason", "actor"),
        filterable=("actor", "entity", "action"),
        permission=Permission.READ_AUDIT, default_sort="sequence", default_descending=True,
    )


def journal_list() -> SqlTableSource:
    """Journals with their debit total (from the lines, exact minor units)."""
    j = JournalRecord.__table__.c
    line = JournalLineRecord.__table__.c
    debit_minor = (select(func.coalesce(func.sum(line.amount_minor), 0))
                   .where(line.journal_id == j.id, line.side == "debit")
                   .scalar_subquery())
    currency = select(func.min(line.currency)).where(line.journal_id == j.id).scalar_subquery()
    columns = (
        Column("id", "Journal", INTEGER, width=70), Column("period", "Period", width=70),
        Column("entry_date", "Date", DATE, width=90),
        Column("description", "Description", width=260), Column("source", "Source", width=100),
        Column("status", "Status", width=80), Column("debit_total", "Debit total", MONEY,
                                                     width=120),
        Column("currency", "Cur.", width=50), Column("created_by", "Maker", width=70),
        Column("approved_by", "Approver", width=70),
        Column("erp_document", "ERP document", width=110),
        Column("external_reference", "External ref.", width=150),
    )
    expressions: dict[str, ColumnElement[Any]] = {
        c.key: getattr(j, c.key) for c in columns if c.key not in ("debit_total", "currency")}
    expressions["debit_total"] = debit_minor.label("debit_total")
    expressions["currency"] = currency.label("currency")

    def convert(row: tuple[Any, ...]) -> tuple[Any, ...]:
        minor, code = row[6], row[7]
        amount = from_minor_units(int(minor), code) if code else Decimal(0)
        return (*row[:6], amount, *row[7:])

    return SqlTableSource(
        name="journals", columns=columns, expressions=expressions,
        from_=JournalRecord.__table__, tiebreak=(j.id,),
        searchable=("description", "erp_document", "external_reference", "source"),
        filterable=("status", "period", "source"),
        default_sort="id", default_descending=True, convert=convert,
    )


def rows_of(source: SqlTableSource, uow: Any, query: TableQuery,
            batch: int = 5000) -> Sequence[tuple[Any, ...]]:
    """Every matching row, in pages (for export; runs on the worker)."""
    rows: list[tuple[Any, ...]] = []
    offset = 0
    while True:
        chunk = source.page(uow, query, offset, batch)
        rows.extend(chunk)
        if len(chunk) < batch:
            return rows
        offset += batch


def asset_charges(uow: Any, tag: str) -> list[tuple[Any, ...]]:
    """An asset's cost history: what each depreciation run charged for it, per period, book
    and cost centre (period, book, cost centre, amount, currency), newest first."""
    from ledger.persistence.records import DepreciationChargeRecord

    authorize(uow, Permission.READ, doing="read asset cost history")
    c = DepreciationChargeRecord.__table__.c
    rows = uow.session.execute(
        select(c.period, c.book, c.cost_centre, c.amount_minor, c.currency)
        .where(c.asset_tag == tag).order_by(c.period.desc(), c.book, c.cost_centre)).all()
    return [(period, book, centre, from_minor_units(int(minor), currency), currency)
            for period, book, centre, minor, currency in rows]
