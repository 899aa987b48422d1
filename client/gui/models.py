"""Qt table models: a windowed model over SQL pages, and a small one over rows in memory.

:class:`PagedTableModel` never holds the whole table. It knows the row count (one ``COUNT``),
keeps the pages it has seen in a small LRU cache, and when the view asks for a row it has not
got, answers "loading" and asks the database worker for that page; when the page arrives it
emits ``dataChanged`` for those rows. Requests made while scrolling are coalesced: only the
pages still wanted when the worker is free are fetched, newest first, so a fast scroll to the
end of a million rows does not queue thousands of queries.

Models hold exact values (Decimal for money); formatting happens here, for display only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from client.gui.operations import OperationRunner
from client.gui.paging import (
    INTEGER,
    MONEY,
    Column,
    SqlTableSource,
    TableQuery,
)

PAGE_SIZE = 256
CACHED_PAGES = 64
#: Pages fetched by one worker round trip (the visible window is rarely more than two pages).
PAGES_PER_FETCH = 4
LOADING = "…"

Index = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
# Plain ints: a view asks data() for about ten roles per visible cell on every paint, and
# comparing ints is much cheaper than comparing enum members.
DISPLAY = int(Qt.ItemDataRole.DisplayRole)
ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)


def format_money(value: Decimal, locale: QLocale | None = None) -> str:
    """``1234567.5`` -> ``1,234,567.50`` in the user's locale, exactly (never through float).
    Amounts keep at least two decimals and all the digits they have beyond."""
    locale = locale or QLocale()
    exponent = value.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    text = format(value, f",.{places}f")
    group, point = locale.groupSeparator(), locale.decimalPoint()
    return text.replace(",", "\x00").replace(".", point).replace("\x00", group)


def format_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == MONEY and isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _display(column: Column, value: Any) -> Any:
    return format_value(value, column.kind)


def _alignment(column: Column) -> int | None:
    return RIGHT if column.kind in (MONEY, INTEGER) else None


class RowsTableModel(QAbstractTableModel):
    """A small table held in memory (journal lines, a depreciation schedule, a result)."""

    def __init__(self, columns: Sequence[Column], rows: Sequence[tuple[Any, ...]] = (),
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self._rows: list[tuple[Any, ...]] = list(rows)

    def set_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, number: int) -> tuple[Any, ...]:
        return self._rows[number]

    def rows(self) -> list[tuple[Any, ...]]:
        return list(self._rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(column, self._rows[index.row()][index.column()])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(column)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            return self.columns[section].title
        if orientation == Qt.Orientation.Vertical:
            return section + 1
        return None


class PagedTableModel(QAbstractTableModel):
    """A table of any size, read a page at a time from SQL on the database worker.

    Signals:
        loaded(int): the row count is known (after :meth:`reload` or a query change).
        failed(str): reading failed (a permission refused, the database gone).
    """

    loaded = Signal(int)
    failed = Signal(str)

    def __init__(self, source: SqlTableSource, runner: OperationRunner,
                 parent: QObject | None = None, *, page_size: int = PAGE_SIZE) -> None:
        super().__init__(parent)
        self.source = source
        self.columns = source.columns
        self._alignments = tuple(_alignment(c) for c in source.columns)
        self.runner = runner
        self.page_size = page_size
        self.query = TableQuery()
        self._count = 0
        self._generation = 0
        self._pages: OrderedDict[int, list[tuple[Any, ...]]] = OrderedDict()
        self._wanted: OrderedDict[int, None] = OrderedDict()
        self._fetching = False
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)
        self._flush.timeout.connect(self._fetch_wanted)

    # -- what the views call ----------------------------------------------------------------

    def set_query(self, query: TableQuery) -> None:
        self.query = query
        self.reload()

    def reload(self) -> None:
        """Count again and drop the cached pages (after a change or a new query)."""
        self._generation += 1
        generation, query = self._generation, self.query
        self.runner.query(
            lambda uow: (self.source.count(uow, query), self.source.page(
                uow, query, 0, self.page_size)),
            success=lambda result: self._counted(generation, *result),
            failure=self._failed, title=f"Counting {self.source.name}")

    def row_values(self, row: int) -> tuple[Any, ...] | None:
        """The row's values if its page is loaded (None while it is loading)."""
        page = self._pages.get(row // self.page_size)
        if page is None:
            return None
        offset = row % self.page_size
        return page[offset] if offset < len(page) else None

    def value(self, row: int, key: str) -> Any:
        values = self.row_values(row)
        return None if values is None else values[self.source.column_index(key)]

    @property
    def total(self) -> int:
        return self._count

    # -- Qt model API -----------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # The hot path of painting: roles other than these two cost one comparison each.
        if role == DISPLAY:
            row = index.row()
            page = self._pages.get(row // self.page_size)
            if page is None:
                if row < 0:
                    return None
                self._want(row // self.page_size)
                return LOADING if index.column() == 0 else None
            offset = row % self.page_size
            if offset >= len(page):
                return None
            column = index.column()
            return _display(self.columns[column], page[offset][column])
        if role == ALIGNMENT and index.isValid():
            return self._alignments[index.column()]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            return self.columns[section].title
        if orientation == Qt.Orientation.Vertical:
            return section + 1
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is SQL: a new query, not a shuffle of rows in memory."""
        if not 0 <= column < len(self.columns):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        key = self.columns[column].key
        if (self.query.sort, self.query.descending) == (key, descending):
            return
        self.set_query(TableQuery(self.query.search, self.query.filters, key, descending))

    # -- paging machinery -------------------------------------------------------------------

    def _want(self, number: int) -> None:
        self._wanted.pop(number, None)
        self._wanted[number] = None
        if not self._fetching and not self._flush.isActive():
            self._flush.start()

    def _fetch_wanted(self) -> None:
        if self._fetching or not self._wanted:
            return
        # Newest requests first: they are what the user is looking at now.
        numbers = [n for n in reversed(self._wanted) if n not in self._pages][:PAGES_PER_FETCH]
        self._wanted.clear()
        if not numbers:
            return
        self._fetching = True
        generation, query, size = self._generation, self.query, self.page_size
        first, last = min(numbers), max(numbers)
        if last - first < PAGES_PER_FETCH:
            # Adjacent pages: one query for the whole span.
            def work(uow: Any) -> dict[int, list[tuple[Any, ...]]]:
                rows = self.source.page(uow, query, first * size, (last - first + 1) * size)
                return {n: rows[(n - first) * size:(n - first + 1) * size]
                        for n in range(first, last + 1)}
        else:
            def work(uow: Any) -> dict[int, list[tuple[Any, ...]]]:
                return {n: self.source.page(uow, query, n * size, size) for n in numbers}
        self.runner.query(work, success=lambda pages: self._arrived(generation, pages),
                          failure=self._fetch_failed, title=f"Reading {self.source.name}")

    def _arrived(self, generation: int, pages: dict[int, list[tuple[Any, ...]]]) -> None:
        self._fetching = False
        if generation == self._generation:
            last_column = len(self.columns) - 1
            for number, rows in sorted(pages.items()):
                self._store(number, rows)
                if rows:
                    first = number * self.page_size
                    last = min(first + len(rows), self._count) - 1
                    if last >= first:
                        self.dataChanged.emit(self.index(first, 0),
                                              self.index(last, last_column))
        if self._wanted:
            self._flush.start()

    def _store(self, number: int, rows: list[tuple[Any, ...]]) -> None:
        self._pages[number] = rows
        self._pages.move_to_end(number)
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)

    def _counted(self, generation: int, count: int, first_page: list[tuple[Any, ...]]) -> None:
        if generation != self._generation:
            return
        self.beginResetModel()
        self._count = count
        self._pages.clear()
        self._wanted.clear()
        self._store(0, first_page)
        self.endResetModel()
        self.loaded.emit(count)

    def _fetch_failed(self, error: BaseException) -> None:
        self._fetching = False
        self._failed(error)

    def _failed(self, error: BaseException) -> None:
        self.failed.emit(str(error))
