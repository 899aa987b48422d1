"""Methodology and costs: the methodology document of a period, savings expected against
realised, the service catalogue with the cost of a change of tier, the running cost of the
allocation, and the tie of posted journals to the ERP's ledger.

One page of the window with a tab per report (as Reports and Policy have), over one period
chosen at the top; each tab is a view of its own module that loads when first shown and again
when what it shows changes (:mod:`client.gui.views.report_tab`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from client.gui.models import RowsTableModel
from client.gui.views.base import ClientContext, View
from client.gui.views.catalogue import CatalogueTab
from client.gui.views.ledger_tie import LedgerTieTab
from client.gui.views.methodology import MethodologyTab
from client.gui.views.report_tab import ReportTab
from client.gui.views.running_cost import RunningCostTab
from client.gui.views.savings import SavingsTab
from ledger.calendar import current_period
from ledger.services.periods import list_periods


def available() -> bool:
    return True


def period_choices(uow: Any) -> tuple[list[str], str | None]:
    """Periods that have begun (newest first) and the period being worked on."""
    periods = list_periods(uow=uow)
    today = uow.clock.now().date()
    current = current_period(periods, today)
    return ([p.key for p in sorted(periods, key=lambda p: p.start, reverse=True)
             if p.start <= today], current.key if current else None)


class MoreReportsView(View):
    title = "Methodology and costs"
    interests = frozenset({"period"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.period = QComboBox()
        self.period.setObjectName("more-reports-period")
        self.period.currentIndexChanged.connect(lambda _i: self._period_chosen())
        self.methodology = MethodologyTab(context)
        self.savings = SavingsTab(context)
        self.catalogue = CatalogueTab(context)
        self.running_cost = RunningCostTab(context)
        self.ledger_tie = LedgerTieTab(context)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("more-reports-tabs")
        for tab in self.all_tabs:
            self.tabs.addTab(tab, tab.title)
            tab.message.connect(self.message.emit)
        self.tabs.currentChanged.connect(lambda _i: self._tab_shown())
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Period"))
        bar.addWidget(self.period)
        bar.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)

    @property
    def all_tabs(self) -> tuple[ReportTab, ...]:
        return (self.methodology, self.savings, self.catalogue, self.running_cost,
                self.ledger_tie)

    def show_tab(self, tab: ReportTab) -> ReportTab:
        """Bring ``tab`` forward (it loads if it has not yet)."""
        self.tabs.setCurrentWidget(tab)
        self._tab_shown()
        return tab

    def current_tab(self) -> ReportTab:
        return self.tabs.currentWidget()  # type: ignore[return-value]

    def export_current(self) -> str | None:
        """Ctrl+E exports the shown tab's table (as its own Export… button does, under the
        same file name), or says why there is none."""
        tab = self.current_tab()
        button = getattr(tab, "export_button", None)
        if isinstance(button, QPushButton):
            model = getattr(tab, "model", None)
            if not button.isEnabled() or (isinstance(model, RowsTableModel)
                                          and model.rowCount() == 0):
                return f"{tab.title}: nothing to export yet, the table is empty"
            button.click()
            return None
        why = tab.export_current()
        if why and tab is self.methodology:
            return (f"{tab.title}: the section shown has no table; choose a section with one, "
                    "or save the whole document as PDF or HTML (Save…)")
        return why

    def activate(self) -> None:
        super().activate()
        if self.period.count():
            self._tab_shown()

    def refresh(self) -> None:
        self.runner.query(period_choices, success=self._choices, failure=self.failed,
                          title="Reading periods")

    def _choices(self, choices: tuple[list[str], str | None]) -> None:
        periods, current = choices
        chosen = self.period.currentText()
        remembered = str(self.context.settings.value("more-reports/period", "") or "")
        self.period.blockSignals(True)
        self.period.clear()
        self.period.addItems(periods)
        for candidate in (chosen, remembered, current):
            if candidate and candidate in periods:
                self.period.setCurrentText(candidate)
                break
        self.period.blockSignals(False)
        if not periods:
            self.notice("No period has begun yet: extend the fiscal calendar (apportion "
                        "periods extend).")
        self._period_chosen()

    def _period_chosen(self) -> None:
        period = self.period.currentText()
        if not period:
            return
        self.context.settings.setValue("more-reports/period", period)
        for tab in self.all_tabs:
            tab.set_period(period)
        self._tab_shown()

    def _tab_shown(self) -> None:
        if self.period.currentText():
            self.current_tab().activate()

    def apply_actor(self) -> None:
        for tab in self.all_tabs:
            tab.apply_actor()
