"""Savings and cost avoidance: each recorded optimisation with its expected saving against the
saving realised in later billing (measured by :func:`ledger.services.savings.measure_savings`,
never entered), as a table and a chart; recording a new one for users who may."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.charts import ChartWidget
from client.gui.models import format_money
from client.gui.paging import INTEGER, MONEY, Column
from client.gui.views.base import ClientContext, export_rows, rows_table
from client.gui.views.report_tab import ReportTab
from ledger.access import Permission
from ledger.errors import InputError
from ledger.money import MoneyError, normalise_currency, to_decimal
from ledger.savings import Saving, SavingKind, SavingMeasure
from ledger.services.base import Changes
from ledger.services.savings import measure_savings, record_saving

SAVING_COLUMNS = (
    Column("id", "Id", width=80), Column("kind", "Kind", width=110),
    Column("title", "Title", width=220), Column("effective", "From", width=65),
    Column("scope", "Billing scope", width=170), Column("cost_centre", "Cost centre", width=80),
    Column("currency", "Cur.", width=45), Column("expected_monthly", "Expected / month", MONEY,
                                                 110),
    Column("baseline", "Baseline / month", MONEY, 110), Column("months", "Months", INTEGER, 60),
    Column("expected", "Expected", MONEY, 110), Column("realised", "Realised", MONEY, 110),
    Column("percent", "Realised %", width=75), Column("note", "Note", width=260))


def saving_row(m: SavingMeasure) -> tuple[Any, ...]:
    s = m.saving
    scope = " · ".join(x for x in (s.provider, s.service) if x) or "-"
    percent = "" if m.realisation_percent is None else f"{m.realisation_percent} %"
    return (s.id, s.kind.value, s.title, s.effective_period, scope, s.cost_centre or "",
            s.currency, s.expected_monthly, m.baseline, len(m.months), m.expected_total,
            m.realised_total, percent, m.note)


def totals(measured: list[SavingMeasure]) -> dict[str, tuple[Decimal, Decimal]]:
    """Per currency: (expected, realised) over the measured months."""
    found: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for m in measured:
        found[m.saving.currency][0] += m.expected_total
        found[m.saving.currency][1] += m.realised_total
    return {c: (e, r) for c, (e, r) in sorted(found.items())}


class SavingsTab(ReportTab):
    title = "Savings"
    interests = frozenset({"saving", "cost_fact", "billing"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.measured: list[SavingMeasure] | None = None
        self.summary = QLabel("")
        self.summary.setObjectName("savings-total")
        self.summary.setWordWrap(True)
        self.table, self.model = rows_table(SAVING_COLUMNS)
        self.table.setObjectName("savings-table")
        self.chart = ChartWidget("Expected against realised, per optimisation", "bar")
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(
            lambda: export_rows(self, "savings", SAVING_COLUMNS, self.model.rows()))
        body = QSplitter()
        body.addWidget(self.table)
        body.addWidget(self.chart)
        body.setStretchFactor(0, 3)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(body, 1)
        layout.addWidget(self._record_form())

    def _record_form(self) -> QGroupBox:
        """The fields of ``apportion savings record``, three to a row."""
        box = QGroupBox("Record an optimisation")
        self.fields: dict[str, QLineEdit] = {}
        self.kind = QComboBox()
        self.kind.setObjectName("saving-kind")
        for kind in SavingKind:
            self.kind.addItem(kind.value.replace("_", " "), kind.value)
        self.baseline_months = QSpinBox()
        self.baseline_months.setRange(1, 24)
        self.baseline_months.setValue(3)
        self.baseline_months.setToolTip("Months before the effective one whose mean cost is "
                                        "the baseline")
        self.record_button = QPushButton("Record saving")
        self.record_button.setObjectName("record-saving")
        self.record_button.clicked.connect(self.record)
        cells: list[tuple[str, QWidget]] = []
        for key, label, hint in (
                ("id", "Id", "OPT-7"), ("title", "Title", "Rightsize the ERP tier"),
                ("effective", "From", "YYYY-MM, first month it saves"),
                ("expected", "Expected / month", "120.00"), ("currency", "Currency", "USD"),
                ("service", "Billing service", "pattern, * wildcards (empty: not measured)"),
                ("provider", "Provider", "optional, e.g. AWS"),
                ("cost_centre", "Cost centre", "optional: who benefits"),
                ("reason", "Reason", "why, for the audit trail")):
            edit = QLineEdit()
            edit.setObjectName(f"saving-{key}")
            edit.setPlaceholderText(hint)
            self.fields[key] = edit
            cells.append((label, edit))
        self.fields["currency"].setText("USD")
        cells.insert(1, ("Kind", self.kind))
        cells.append(("Baseline months", self.baseline_months))
        grid = QGridLayout(box)
        for number, (label, widget) in enumerate(cells):
            row, column = divmod(number, 3)
            grid.addWidget(QLabel(label), row, 2 * column)
            grid.addWidget(widget, row, 2 * column + 1)
        grid.addWidget(self.record_button, len(cells) // 3, 4, 1, 2)  # the last row's end
        for column in (1, 3, 5):
            grid.setColumnStretch(column, 1)
        return box

    # -- loading ----------------------------------------------------------------------------

    def set_period(self, period: str) -> None:
        """Savings span periods: another period chosen on the page changes nothing here."""
        self.period = period

    def refresh(self) -> None:
        store = self.context.app.cost_facts()
        self.runner.query(lambda uow: measure_savings(uow=uow, store=store),
                          success=self.show_savings, failure=self.failed,
                          title="Measuring savings from billing", slow=True)

    def show_savings(self, measured: list[SavingMeasure]) -> None:
        self.measured = measured
        self.model.set_rows([saving_row(m) for m in measured])
        found = totals(measured)
        self.summary.setText(" · ".join(
            f"<b>Realised {c} {format_money(r)}</b> of {format_money(e)} expected"
            for c, (e, r) in found.items()) + f" · {len(measured)} optimisation(s)"
            if measured else "No optimisation recorded yet.")
        self.chart.set_data([m.saving.id for m in measured],
                            [("Expected", [m.expected_total for m in measured]),
                             ("Realised", [m.realised_total for m in measured])])

    # -- recording --------------------------------------------------------------------------

    def apply_actor(self) -> None:
        guard(self.record_button, self.actor, Permission.RECORD_SAVINGS,
              doing="record a saving",
              tip="Record the optimisation (the same id again corrects it)")

    def saving_from_form(self) -> Saving:
        """The saving the form describes; InputError names the field that is wrong."""
        text = {key: edit.text().strip() for key, edit in self.fields.items()}
        for key in ("id", "title", "effective", "expected"):
            if not text[key]:
                raise InputError("is required", field=key)
        try:
            amount = to_decimal(text["expected"])
            currency = normalise_currency(text["currency"] or "USD")
        except MoneyError as exc:
            raise InputError(str(exc), field="expected/currency") from None
        return Saving(text["id"], SavingKind(self.kind.currentData()), text["title"],
                      text["effective"], amount, currency, text["service"] or None,
                      text["provider"] or None, text["cost_centre"] or None,
                      self.baseline_months.value())

    def record(self) -> None:
        try:
            saving = self.saving_from_form()
        except InputError as exc:
            self.notice(str(exc), error=True)
            return
        reason = self.fields["reason"].text().strip() or None

        def work(uow: Any, _ctx: Any) -> Changes:
            return record_saving(uow=uow, saving=saving, reason=reason)

        self.runner.write(work, success=lambda changes: self._recorded(saving, changes),
                          failure=self.failed, title=f"Recording saving {saving.id}")

    def _recorded(self, saving: Saving, changes: Changes) -> None:
        if not changes.changed:
            self.notice(f"Saving {saving.id} is already recorded with these values.")
            return
        for key in ("id", "title", "reason"):
            self.fields[key].clear()
        self.notice(f"Saving {saving.id} recorded; its realised saving is measured from "
                    "billing.")  # the broadcast change reloads the table
