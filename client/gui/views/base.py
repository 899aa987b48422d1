"""What every view shares: the client context, refresh-when-concerned, and the table panel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from client.bootstrap import App
from client.gui.export import write_xlsx
from client.gui.models import PagedTableModel, RowsTableModel
from client.gui.operations import OperationRunner, concerns
from client.gui.paging import Column, SqlTableSource, TableQuery, rows_of
from ledger.access import Actor
from ledger.services.base import Changes


@dataclass
class ClientContext:
    """What views need: the opened database, the runner, who is acting, remembered settings."""

    app: App
    runner: OperationRunner
    actor: Actor | None = None
    settings: QSettings = field(default_factory=QSettings)
    export_dir: Path | None = None


class View(QWidget):
    """A screen of the client. Subclasses set ``title`` and ``interests`` (entity kinds whose
    changes make it stale) and implement :meth:`refresh` (start loading) and
    :meth:`apply_actor` (enable what the user may do)."""

    title = ""
    interests: frozenset[str] = frozenset()
    #: Emitted with a message for the status bar.
    message = Signal(str)

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName(type(self).__name__)
        self._loaded = False
        self._stale = False
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        context.runner.changed.connect(self.on_changed)

    @property
    def runner(self) -> OperationRunner:
        return self.context.runner

    @property
    def actor(self) -> Actor | None:
        return self.context.actor

    def activate(self) -> None:
        """Called when the view is shown: load the first time, and again when stale."""
        if not self._loaded or self._stale:
            self._loaded, self._stale = True, False
            self.refresh()

    def refresh(self) -> None:
        """Start loading the view's data (through the runner)."""

    def apply_actor(self) -> None:
        """Enable or disable actions for the current user."""

    def on_changed(self, changes: Changes) -> None:
        if not self._loaded or not concerns(changes, self.interests):
            return
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def notice(self, text: str, *, error: bool = False) -> None:
        """Show a message above the view (errors in red); empty text hides it."""
        self.banner.setStyleSheet("color: #c62828; font-weight: bold;" if error else "")
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        if text:
            self.message.emit(text)

    def failed(self, error: BaseException) -> None:
        self.notice(str(error), error=True)

    def export_current(self) -> str | None:
        """Ctrl+E: export the table in front of the user (the big table's every matching row,
        else the shown table that has the focus, else the first shown one). Returns why
        nothing was exported, for the status bar, or None once the export has started."""
        panel = getattr(self, "panel", None)
        if isinstance(panel, TablePanel):
            panel.export()
            return None
        table = self.export_table()
        if table is None:
            return f"{self.title or 'This page'}: there is no table here to export"
        model = table.model()
        if model.rowCount() == 0:
            return f"{self.title or 'This page'}: the table is empty, nothing to export"
        name = (table.objectName() or self.title or "table").lower().replace(" ", "-")
        export_rows(self, name, model.columns, model.rows())
        return None

    def export_table(self) -> QTableView | None:
        """The in-memory table Ctrl+E exports (see :meth:`export_current`): the shown one
        with the focus, else the largest shown (the page's main table)."""
        shown = [t for t in self.findChildren(QTableView)
                 if t.isVisible() and isinstance(t.model(), RowsTableModel)]
        focused = next((t for t in shown if t.hasFocus()), None)
        if focused is not None or not shown:
            return focused
        return max(shown, key=lambda t: t.width() * t.height())

    def export_path(self, name: str) -> Path | None:
        """Where to save an export: a chosen file, or (tests, scripts) the export folder."""
        if self.context.export_dir is not None:
            return self.context.export_dir / f"{name}.xlsx"
        last = str(self.context.settings.value("export/folder", str(Path.home())))
        chosen, _ = QFileDialog.getSaveFileName(self, "Export to Excel",
                                                str(Path(last) / f"{name}.xlsx"),
                                                "Excel workbook (*.xlsx)")
        if not chosen:
            return None
        self.context.settings.setValue("export/folder", str(Path(chosen).parent))
        return Path(chosen)


class TablePanel(QWidget):
    """A big table with search, filters, a row count and XLSX export, over a SQL source.

    Column widths and order are remembered per table (QSettings ``columns/<name>``).
    """

    exported = Signal(str)
    current_changed = Signal(int)

    def __init__(self, view: View, source: SqlTableSource, *, settings_key: str,
                 filters: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(view)
        self.view = view
        self.settings_key = settings_key
        self.model = PagedTableModel(source, view.runner, self)
        self.table = QTableView()
        self.table.setObjectName(f"{settings_key}-table")
        self.table.setModel(self.model)
        # No sort indicator until the user clicks a header: the table's natural order first.
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)  # one line per cell: no text layout on every paint
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.horizontalHeader().setSectionsMovable(True)
        for number, column in enumerate(source.columns):
            self.table.setColumnWidth(number, column.width)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(250)
        self.search_timer.timeout.connect(self.apply_query)
        self.search.textChanged.connect(lambda _text: self.search_timer.start())
        self.filters: dict[str, QComboBox] = {}
        bar = QHBoxLayout()
        bar.addWidget(self.search, 2)
        for key, label in filters:
            combo = QComboBox()
            combo.setObjectName(f"filter-{key}")
            combo.addItem(f"Any {label.lower()}", None)
            combo.currentIndexChanged.connect(lambda _i: self.apply_query())
            self.filters[key] = combo
            bar.addWidget(combo, 1)
        self.count = QLabel()
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Export every matching row to Excel (Ctrl+E)")
        self.export_button.clicked.connect(self.export)
        bar.addWidget(self.count)
        bar.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda text: view.notice(text, error=True))
        follow_selection(self.table, self.current_changed.emit)
        state = view.context.settings.value(f"columns/{settings_key}")
        if state is not None:
            self.table.horizontalHeader().restoreState(state)
        self.table.horizontalHeader().sectionResized.connect(lambda *_: self.save_layout())
        self.table.horizontalHeader().sectionMoved.connect(lambda *_: self.save_layout())

    def save_layout(self) -> None:
        self.view.context.settings.setValue(f"columns/{self.settings_key}",
                                            self.table.horizontalHeader().saveState())

    def load(self) -> None:
        """Count and show the first page; fill the filter drop-downs."""
        self.model.reload()
        source = self.model.source
        for key, combo in self.filters.items():
            self.view.runner.query(lambda uow, k=key: source.distinct(uow, k),
                                   success=lambda values, c=combo: self._fill(c, values),
                                   title="Reading filter values")

    def _fill(self, combo: QComboBox, values: list[str]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for value in values:
            combo.addItem(value, value)
        if current is not None and current in values:
            combo.setCurrentIndex(values.index(current) + 1)
        combo.blockSignals(False)

    def current_query(self) -> TableQuery:
        chosen = tuple((k, c.currentData()) for k, c in self.filters.items()
                       if c.currentData() is not None)
        return TableQuery(self.search.text(), chosen, self.model.query.sort,
                          self.model.query.descending)

    def apply_query(self) -> None:
        self.model.set_query(self.current_query())

    def _loaded(self, count: int) -> None:
        self.count.setText(f"{count:,} rows")

    def export(self) -> None:
        path = self.view.export_path(self.settings_key)
        if path is None:
            return
        source, query = self.model.source, self.model.query

        def work(ctx: Any) -> int:
            with ctx.app.uow(read_only=True) as uow:
                rows = rows_of(source, uow, query)
            return write_xlsx(path, source.columns, rows, title=self.settings_key)

        self.view.runner.run(work, title=f"Exporting {source.name}",
                             success=lambda n: self._exported(path, n),
                             failure=self.view.failed)

    def _exported(self, path: Path, rows: int) -> None:
        self.view.notice(f"Exported {rows:,} rows to {path}")
        self.exported.emit(str(path))


def chosen_row(table: QTableView) -> int:
    """The row the user chose: the current row when it is selected, else the first selected
    row; -1 when no row is selected (a current row alone, as focus leaves it, is no choice)."""
    rows = sorted({index.row() for index in table.selectionModel().selectedRows()})
    current = table.currentIndex().row()
    if current in rows:
        return current
    return rows[0] if rows else -1


def follow_selection(table: QTableView, chosen: Callable[[int], None]) -> None:
    """Call ``chosen(row)`` (see ``chosen_row``) whenever the table's selection changes.

    Not on the current row: Qt does not signal a click on the row that is already current
    (focus makes the first row current unselected, a reload keeps or clears it silently), so a
    detail pane or button following it would ignore that click, or act on a row nobody chose.
    """
    table.selectionModel().selectionChanged.connect(lambda _s, _d: chosen(chosen_row(table)))


def rows_table(columns: tuple[Column, ...]) -> tuple[QTableView, RowsTableModel]:
    """A small read-only table over rows in memory."""
    model = RowsTableModel(columns)
    table = QTableView()
    table.setModel(model)
    table.setWordWrap(False)
    table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setDefaultSectionSize(22)
    for number, column in enumerate(columns):
        table.setColumnWidth(number, column.width)
    return table, model


def export_rows(view: View, name: str, columns: tuple[Column, ...], rows: list[tuple[Any, ...]],
                done: Callable[[Path, int], None] | None = None) -> None:
    """Export rows already in memory (through the runner: writing a file is I/O)."""
    path = view.export_path(name)
    if path is None:
        return
    view.runner.run(lambda _ctx: write_xlsx(path, columns, rows, title=name),
                    title=f"Exporting {name}", failure=view.failed,
                    success=lambda n: (view.notice(f"Exported {n:,} rows to {path}"),
                                       done and done(path, n)))
