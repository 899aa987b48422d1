"""The ledger tie: the journals posted for the period against the balances read back from the
ERP, net per account and currency (:func:`ledger.services.accounting.ledger_tie`), with every
line that differs shaded and named, and what is missing on either side listed.

Reading back from the ERP is network work: it runs on the network pool (never on the UI thread,
never holding up the database worker) only when asked, and Cancel stops waiting for it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.charts import ChartWidget
from client.gui.models import RowsTableModel, format_money
from client.gui.operations import Cancelled, Operation, OperationContext
from client.gui.paging import MONEY, Column
from client.gui.views.base import ClientContext, export_rows, rows_table
from client.gui.views.report_tab import ReportTab
from ledger.access import Permission
from ledger.accounting import AccountMapping, LedgerTie
from ledger.services import erp_profiles
from ledger.services.accounting import account_mapping_report, ledger_tie

DIFFERENCE_COLOUR = QColor("#f8d7da")
TIE_COLUMNS = (
    Column("account", "Account", width=80), Column("classification", "Class", width=170),
    Column("currency", "Cur.", width=45), Column("posted", "Posted here", MONEY, 130),
    Column("erp", "In the ERP", MONEY, 130), Column("difference", "Difference", MONEY, 110))
DIFFERENCE = 5  # column of the difference
MAPPING_COLUMNS = (
    Column("account", "Account", width=70), Column("name", "Name", width=180),
    Column("classification", "Class", width=150), Column("capital", "Capital / operating",
                                                         width=110),
    Column("ifrs", "IFRS line", width=230), Column("us_gaap", "US GAAP line", width=230),
    Column("used_by", "Used by", width=220))


def mapping_row(mapping: AccountMapping) -> tuple[Any, ...]:
    data = mapping.to_json()
    return (mapping.account, mapping.name, data["classification"].replace("_", " "),
            data.get("capital_or_operating", ""), data["ifrs"], data["us_gaap"],
            ", ".join(mapping.used_by))


class TieModel(RowsTableModel):
    """The tie lines: a line whose ERP balance differs from what was posted is shaded, bold."""

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.FontRole) and \
                index.isValid() and index.row() < self.rowCount():
            if not self.row(index.row())[DIFFERENCE]:
                return None
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(DIFFERENCE_COLOUR)
            font = QFont()
            font.setBold(True)
            return font
        return super().data(index, role)


def tie_rows(result: LedgerTie) -> list[tuple[Any, ...]]:
    return [(line.account, line.classification.value.replace("_", " "), line.currency,
             line.posted, line.erp, line.difference) for line in result.lines]


def read_tie(ctx: OperationContext, profile_name: str, period: str) -> LedgerTie:
    """Read the ERP's documents of the period back and tie them to the posted journals."""
    from client.erp import close, gateway_for

    app = ctx.app
    ctx.progress(0, 2, f"connecting to {profile_name}")
    with app.uow(read_only=True) as uow:
        profile = erp_profiles.get_profile(uow=uow, name=profile_name)
    gateway = gateway_for(profile)
    try:
        ctx.progress(1, 2, f"reading {period} back from {profile_name}")
        with app.uow(read_only=True) as uow:
            result = ledger_tie(uow=uow, gateway=gateway, profile=profile, period=period)
    finally:
        close(gateway)
    ctx.progress(2, 2, "tied" if result.tied else "differences found")
    return result


def summary_text(result: LedgerTie) -> str:
    verdict = ("<b style='color:#2e7d32'>Tied</b>" if result.tied else
               "<b style='color:#c62828'>Not tied</b>")
    differing = sum(1 for line in result.lines if line.difference)
    debits = " · ".join(
        f"debits {c}: posted {format_money(t['posted_debits'])}, ERP "
        f"{format_money(t['erp_debits'])}" for c, t in sorted(result.totals().items()))
    return (f"{verdict}: {result.period} against {result.erp_profile} · {result.journals} "
            f"journal(s) posted, {result.documents} ERP document(s) · {differing} account "
            f"line(s) differ, {len(result.problems)} document problem(s)"
            + (f" · {debits}" if debits else ""))


class LedgerTieTab(ReportTab):
    title = "Ledger tie"
    interests = frozenset({"erp_profile", "journal"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.result: LedgerTie | None = None
        self.operation: Operation | None = None
        self.erp = QComboBox()
        self.erp.setObjectName("tie-erp")
        self.erp.setToolTip("The ERP whose ledger is read back")
        self.tie_button = QPushButton("Read back from the ERP")
        self.tie_button.setObjectName("tie-ledger")
        self.tie_button.clicked.connect(self.tie)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(
            lambda: export_rows(self, "ledger-tie", TIE_COLUMNS, self.model.rows()))
        self.state = QLabel("Choose the ERP and read its ledger back to tie the period.")
        self.state.setObjectName("tie-state")
        self.state.setWordWrap(True)
        self.model = TieModel(TIE_COLUMNS)
        self.table = QTableView()
        self.table.setObjectName("tie-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        for number, column in enumerate(TIE_COLUMNS):
            self.table.setColumnWidth(number, column.width)
        self.problems = QListWidget()
        self.problems.setObjectName("tie-problems")
        self.chart = ChartWidget("Posted here and in the ERP, per account", "bar")
        right = QSplitter()
        right.setOrientation(right.orientation().__class__.Vertical)
        right.addWidget(self.chart)
        right.addWidget(self.problems)
        self.mapping_table, self.mapping_model = rows_table(MAPPING_COLUMNS)
        self.mapping_table.setObjectName("account-mapping")
        mapping = QWidget()
        mapping_layout = QVBoxLayout(mapping)
        mapping_layout.setContentsMargins(0, 0, 0, 0)
        mapping_layout.addWidget(QLabel("How each GL account reports (IFRS and US GAAP), from "
                                        "what uses it"))
        mapping_layout.addWidget(self.mapping_table)
        upper = QSplitter()
        upper.addWidget(self.table)
        upper.addWidget(right)
        upper.setStretchFactor(0, 3)
        body = QSplitter()
        body.setOrientation(body.orientation().__class__.Vertical)
        body.addWidget(upper)
        body.addWidget(mapping)
        body.setStretchFactor(0, 2)
        bar = QHBoxLayout()
        for widget in (QLabel("ERP"), self.erp, self.tie_button, self.cancel_button,
                       self.export_button):
            bar.addWidget(widget)
        bar.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addWidget(self.state)
        layout.addWidget(body, 1)

    def refresh(self) -> None:
        """The ERP connections and the account mapping (the ERP is asked only on request)."""
        self.runner.query(lambda uow: [p.name for p in erp_profiles.list_profiles(uow=uow)],
                          success=self._profiles, failure=self.failed,
                          title="Reading ERP connections")
        self.runner.query(lambda uow: account_mapping_report(uow=uow),
                          success=lambda rows: self.mapping_model.set_rows(
                              [mapping_row(m) for m in rows]),
                          failure=self.failed, title="Reading the account mapping")
        if self.result is not None and self.result.period != self.period:
            self.result = None
            self.model.set_rows([])
            self.problems.clear()
            self.chart.set_data([], [])
            self.state.setText(f"Read the ERP's ledger back to tie {self.period}.")

    def _profiles(self, names: list[str]) -> None:
        current = self.erp.currentText()
        self.erp.clear()
        self.erp.addItems(names)
        if current in names:
            self.erp.setCurrentText(current)
        if not names:
            self.state.setText("No ERP connection yet: add one in Settings to tie the ledger.")
        self.apply_actor()

    def apply_actor(self) -> None:
        if guard(self.tie_button, self.actor, Permission.READ,
                 doing="tie the allocation to the general ledger",
                 tip="Read the period's documents back from the ERP and tie them"):
            if self.erp.count() == 0:
                self.tie_button.setEnabled(False)
                self.tie_button.setToolTip("No ERP connection: add one in Settings")
            elif self.operation is not None:
                self.tie_button.setEnabled(False)

    def tie(self) -> None:
        profile, period = self.erp.currentText(), self.period
        if not profile or not period:
            self.notice("Choose an ERP connection and a period first.", error=True)
            return
        self.notice("")
        self.state.setText(f"Reading {period} back from {profile}…")
        self.cancel_button.setEnabled(True)
        self.operation = self.runner.run(lambda ctx: read_tie(ctx, profile, period),
                                         success=self.show_tie, failure=self._stopped,
                                         title=f"Tying {period} to {profile}", network=True)
        self.apply_actor()

    def cancel(self) -> None:
        if self.operation is not None:
            self.operation.cancel()

    def _finish(self) -> None:
        self.operation = None
        self.cancel_button.setEnabled(False)
        self.apply_actor()

    def _stopped(self, error: BaseException) -> None:
        self._finish()
        self.state.setText(str(error) if isinstance(error, Cancelled) else "")
        if not isinstance(error, Cancelled):
            self.failed(error)

    def show_tie(self, result: LedgerTie) -> None:
        self._finish()
        self.result = result
        self.model.set_rows(tie_rows(result))
        self.state.setText(summary_text(result))
        self.problems.clear()
        self.problems.addItems(list(result.problems) or ["No document missing on either side."])
        debit = [line for line in result.lines if line.posted > 0 or line.erp > 0]
        self.chart.set_data([f"{line.account} {line.currency}" for line in debit], [
            ("Posted here", [max(line.posted, Decimal(0)) for line in debit]),
            ("In the ERP", [max(line.erp, Decimal(0)) for line in debit])])
