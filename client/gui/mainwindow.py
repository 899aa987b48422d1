"""The main window: navigation, the views, the status bar, shortcuts and remembered state."""

from __future__ import annotations

import gc
import importlib.util
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from client.gui.operations import Operation
from client.gui.views.audit import AuditView
from client.gui.views.base import ClientContext, View
from client.gui.views.dashboard import DashboardView
from client.gui.views.depreciation import DepreciationView
from client.gui.views.inventory import InventoryView
from client.gui.views.journals import JournalsView
from client.gui.views.settings import SettingsView
from client.gui.views.unavailable import UnavailableView
from ledger.access import Actor

#: Navigation order; Ctrl+1 ... Ctrl+0 jump to the first ten (pages after them have none).
PAGES = ("Dashboard", "Inventory", "Reconciliation", "Licences", "Depreciation",
         "Cost pools and rules", "Allocation runs", "Journals", "Audit", "Settings",
         "Reports", "Policy and reviews", "Methodology and costs")

#: Views whose service other work is adding: (page, service module, what it needs, factory
#: module and class once it exists in this package).
OPTIONAL = {
    "Reconciliation": ("ledger.services.inventory", "the inventory service (discovery "
                       "matching and reconciliation decisions)",
                       "client.gui.views.reconciliation", "ReconciliationView"),
    "Licences": ("ledger.services.licences", "the licence compliance service",
                 "client.gui.views.licences", "LicencesView"),
    "Cost pools and rules": ("ledger.services.allocation", "the allocation service (rule sets, "
                             "versions and impact)", "client.gui.views.rules", "RulesView"),
    "Allocation runs": ("ledger.services.allocation", "the allocation service (runs and "
                        "explain)", "client.gui.views.allocation", "AllocationRunsView"),
    "Reports": ("ledger.services.disputes", "the reports and disputes services",
                "client.gui.views.reports", "ReportsView"),
    "Policy and reviews": ("ledger.services.reviews", "the policy and rule-review services",
                           "client.gui.views.policy", "PolicyView"),
    "Methodology and costs": ("ledger.services.methodology", "the methodology, savings, "
                              "catalogue, running-cost and ledger-tie services",
                              "client.gui.views.reports_more", "MoreReportsView"),
}


def _optional_view_class(page: str) -> type[View] | None:
    """The view class for ``page`` if this build has its service, else None.

    Imported here, on the UI thread, when the window is made: a module first imported by a
    worker thread holds its import lock (and mostly the GIL) while it loads, and the UI would
    wait on it in the middle of a paint.
    """
    service, _needs, module, name = OPTIONAL[page]
    if importlib.util.find_spec(service) is None or importlib.util.find_spec(module) is None:
        return None
    try:
        view_module = importlib.import_module(module)
    except ImportError:
        return None
    if not getattr(view_module, "available", lambda: True)():
        return None
    return getattr(view_module, name)


def _optional_factory(context: ClientContext, page: str) -> Callable[[], View]:
    view_class = _optional_view_class(page)
    if view_class is None:
        return lambda: UnavailableView(context, page, OPTIONAL[page][1])
    return lambda: view_class(context)


def view_factories(context: ClientContext) -> dict[str, Callable[[], View]]:
    factories: dict[str, Callable[[], View]] = {
        "Dashboard": lambda: DashboardView(context),
        "Inventory": lambda: InventoryView(context),
        "Depreciation": lambda: DepreciationView(context),
        "Journals": lambda: JournalsView(context),
        "Audit": lambda: AuditView(context),
        "Settings": lambda: SettingsView(context),
    }
    return {page: factories[page] if page in factories else _optional_factory(context, page)
            for page in PAGES}


class Views(dict[str, View]):
    """The views, each built the first time it is asked for: the window paints sooner, and a
    view nobody opens costs nothing."""

    def __init__(self, window: MainWindow, factories: dict[str, Callable[[], View]]) -> None:
        super().__init__()
        self._window = window
        self._factories = factories

    def __missing__(self, page: str) -> View:
        view = self._factories[page]()
        self[page] = view
        self._window.adopt(view)
        return view

    def built(self) -> list[View]:
        return list(dict.values(self))


def settle_heap() -> None:
    """Collect once, then freeze what start-up made, so later full collections skip it.

    A full (generation 2) garbage collection stops every Python thread while it walks the
    whole heap: with the start-up objects in it, one took 180 ms in the middle of a
    depreciation run and froze the window. Frozen objects are never walked again; what the
    work creates afterwards is still collected as usual.
    """
    gc.collect()
    gc.freeze()


class MainWindow(QMainWindow):
    """Apportion's one window. The views load lazily: the first time each is shown."""

    def __init__(self, context: ClientContext) -> None:
        super().__init__()
        self.context = context
        self.setObjectName("MainWindow")
        self.setWindowTitle(f"Apportion — {context.app.where}")
        self.views = Views(self, view_factories(context))
        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.addItems(list(PAGES))
        self.navigation.setMaximumWidth(200)
        self.stack = QStackedWidget()
        splitter = QSplitter()
        splitter.addWidget(self.navigation)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        self.navigation.currentRowChanged.connect(self.show_page)
        self._status_bar()
        self._shortcuts()
        runner = context.runner
        runner.started.connect(self._work_changed)
        runner.finished.connect(self._work_changed)
        runner.progressed.connect(self._work_changed)
        runner.failed.connect(self._operation_failed)
        self.restore_state()
        self.load_actor()
        QTimer.singleShot(0, settle_heap)

    # -- who is acting ----------------------------------------------------------------------

    def load_actor(self) -> None:
        self.context.runner.query(lambda uow: uow.actor, success=self.set_actor,
                                  title="Reading your roles")

    def set_actor(self, actor: Actor) -> None:
        self.context.actor = actor
        roles = ", ".join(sorted(r.value for r in actor.roles)) or "no role"
        self.user_label.setText(f"{actor.login} ({roles})")
        for view in self.views.built():
            view.apply_actor()

    def adopt(self, view: View) -> None:
        """Put a newly built view in the window."""
        self.stack.addWidget(view)
        view.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        if self.context.actor is not None:
            view.apply_actor()

    # -- status bar -------------------------------------------------------------------------

    def _status_bar(self) -> None:
        bar = self.statusBar()
        self.database_label = QLabel(self.context.app.where)
        self.database_label.setObjectName("database")
        self.user_label = QLabel("…")
        self.user_label.setObjectName("user")
        self.work_label = QLabel("")
        self.work_label.setObjectName("work")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the background work (Esc)")
        self.cancel_button.clicked.connect(self.context.runner.cancel_all)
        self.cancel_button.hide()
        for widget in (self.work_label, self.progress, self.cancel_button):
            bar.addPermanentWidget(widget)
        bar.addPermanentWidget(self.user_label)
        bar.addPermanentWidget(self.database_label)
        # Reads take a few milliseconds: show the work only if it lasts, to avoid flicker.
        self._work_timer = QTimer(self)
        self._work_timer.setSingleShot(True)
        self._work_timer.setInterval(150)
        self._work_timer.timeout.connect(self._show_work)

    def _work_changed(self, _operation: Operation) -> None:
        if self.context.runner.running:
            if not self.progress.isVisible() and not self._work_timer.isActive():
                self._work_timer.start()
            elif self.progress.isVisible():
                self._show_work()
        else:
            self._work_timer.stop()
            self.work_label.setText("")
            self.progress.hide()
            self.cancel_button.hide()

    def _show_work(self) -> None:
        running = list(self.context.runner.running.values())
        if not running:
            return
        latest = running[-1]
        extra = f" (+{len(running) - 1})" if len(running) > 1 else ""
        self.work_label.setText(f"{latest.title}{extra}")
        progress = latest.progress
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(progress.done)
        else:
            self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()

    def _operation_failed(self, operation: Operation, error: BaseException) -> None:
        self.statusBar().showMessage(f"{operation.title} failed: {error}", 15000)

    # -- navigation and shortcuts -----------------------------------------------------------

    def show_page(self, number: int) -> None:
        if number < 0:
            return
        view = self.views[PAGES[number]]
        self.stack.setCurrentWidget(view)
        self.context.settings.setValue("window/page", PAGES[number])
        view.activate()

    def go(self, page: str) -> View:
        number = PAGES.index(page)
        if self.navigation.currentRow() == number:
            self.show_page(number)
        else:
            self.navigation.setCurrentRow(number)
        return self.views[page]

    def current_view(self) -> View:
        return self.stack.currentWidget()  # type: ignore[return-value]

    def _shortcuts(self) -> None:
        def action(text: str, keys: QKeySequence | str, slot: Callable[[], object]) -> None:
            item = QAction(text, self)
            item.setShortcut(QKeySequence(keys))
            item.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            item.triggered.connect(slot)
            self.addAction(item)

        for number, page in enumerate(PAGES[:10]):
            key = (number + 1) % 10
            action(f"Go to {page}", f"Ctrl+{key}", lambda p=page: self.go(p))
        action("Refresh", "F5", lambda: self.current_view().refresh())
        action("Search", QKeySequence.StandardKey.Find, self._focus_search)
        action("Export", "Ctrl+E", self._export)
        action("Undo", QKeySequence.StandardKey.Undo, lambda: self._inventory_stack("undo"))
        action("Redo", QKeySequence.StandardKey.Redo, lambda: self._inventory_stack("redo"))
        action("Cancel background work", "Esc", self.context.runner.cancel_all)
        action("Quit", QKeySequence.StandardKey.Quit, self.close)

    def _panel(self) -> object | None:
        return getattr(self.current_view(), "panel", None)

    def _focus_search(self) -> None:
        panel = self._panel()
        search = getattr(panel, "search", None)
        if isinstance(search, QLineEdit):
            search.setFocus()
            search.selectAll()

    def _export(self) -> None:
        """Ctrl+E: the page exports the table in front of the user, or says why it cannot."""
        why = self.current_view().export_current()
        if why:
            self.statusBar().showMessage(why, 8000)

    def _inventory_stack(self, what: str) -> None:
        view = self.current_view()
        stack = getattr(view, "undo_stack", None)
        if stack is not None:
            getattr(stack, what)()

    # -- remembered state -------------------------------------------------------------------

    def restore_state(self) -> None:
        settings = self.context.settings
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        page = str(settings.value("window/page", PAGES[0]) or PAGES[0])
        self.navigation.setCurrentRow(PAGES.index(page) if page in PAGES else 0)

    def save_state(self) -> None:
        settings = self.context.settings
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        for view in self.views.built():
            panel = getattr(view, "panel", None)
            if panel is not None:
                panel.save_layout()
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        self.context.runner.cancel_all()
        super().closeEvent(event)

    def widget(self, name: str) -> QWidget | None:
        """A child widget by object name (tests and the screenshot script)."""
        return self.findChild(QWidget, name)
