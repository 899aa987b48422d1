"""The cost of running the allocation: per period, the manual costs of the ``allocation-ops``
pool against what the period's current run allocated (cost per allocated currency unit), and
the manual decisions counted from the audit trail, with their actions for the selected period.
Every figure comes from :func:`ledger.services.running_cost.running_cost_report`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from client.gui.charts import ChartWidget
from client.gui.paging import INTEGER, MONEY, Column
from client.gui.views.base import ClientContext, export_rows, rows_table
from client.gui.views.report_tab import ReportTab
from ledger.running_cost import RUNNING_COST_POOL, PeriodRunningCost
from ledger.services.running_cost import running_cost_report

COST_COLUMNS = (
    Column("period", "Period", width=70), Column("currency", "Cur.", width=45),
    Column("running_cost", "Running cost", MONEY, 120),
    Column("allocated", "Allocated", MONEY, 130),
    Column("per_unit", "Per allocated unit", width=120),
    Column("decisions", "Manual decisions", INTEGER, 110))
ACTION_COLUMNS = (Column("action", "Decision", width=200), Column("count", "Count", INTEGER, 70))
PER_THOUSAND = Decimal(1000)


def cost_rows(rows: list[PeriodRunningCost]) -> list[tuple[Any, ...]]:
    """One row per period and currency (a period with no amounts still shows its decisions)."""
    out = []
    for row in rows:
        currencies = sorted(set(row.running_cost) | set(row.allocated)) or [""]
        for currency in currencies:
            unit = row.per_allocated_unit(currency) if currency else None
            out.append((row.period, currency, row.running_cost.get(currency, Decimal(0)),
                        row.allocated.get(currency, Decimal(0)),
                        "" if unit is None else format(unit, "f"), row.manual_decisions))
    return out


class RunningCostTab(ReportTab):
    title = "Running cost"
    interests = frozenset({"manual_cost", "allocation_run", "journal", "ruleset", "period"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.rows: list[PeriodRunningCost] | None = None
        self.state = QLabel("")
        self.state.setObjectName("running-cost-state")
        self.state.setWordWrap(True)
        self.table, self.model = rows_table(COST_COLUMNS)
        self.table.setObjectName("running-cost-table")
        self.table.selectionModel().selectionChanged.connect(lambda _s, _d: self._chosen())
        self.actions_table, self.actions_model = rows_table(ACTION_COLUMNS)
        self.decisions_chart = ChartWidget("Manual decisions per period", "bar")
        self.unit_chart = ChartWidget("Running cost per 1,000 allocated", "line")
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(
            lambda: export_rows(self, "running-cost", COST_COLUMNS, self.model.rows()))
        charts = QSplitter()
        charts.addWidget(self.decisions_chart)
        charts.addWidget(self.unit_chart)
        tables = QSplitter()
        tables.addWidget(self.table)
        tables.addWidget(self.actions_table)
        tables.setSizes([760, 300])
        body = QSplitter()
        body.setOrientation(body.orientation().__class__.Vertical)
        body.addWidget(tables)
        body.addWidget(charts)
        top = QHBoxLayout()
        top.addWidget(self.state, 1)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(body, 1)

    def set_period(self, period: str) -> None:
        """Every period is shown: the page's period only picks whose decisions are listed."""
        self.period = period
        self._chosen()

    def refresh(self) -> None:
        self.runner.query(lambda uow: running_cost_report(uow=uow), success=self.show_rows,
                          failure=self.failed, title="Reading the cost of the allocation")

    def show_rows(self, rows: list[PeriodRunningCost]) -> None:
        self.rows = rows
        self.model.set_rows(cost_rows(rows))
        periods = [r.period for r in rows]
        self.decisions_chart.set_data(periods, [("Manual decisions",
                                                 [r.manual_decisions for r in rows])])
        currencies = sorted({c for r in rows for c in r.allocated})
        self.unit_chart.set_data(periods, [
            (c, [(r.per_allocated_unit(c) or Decimal(0)) * PER_THOUSAND for r in rows])
            for c in currencies])
        self.unit_chart.title = (f"Running cost per 1,000 allocated ({', '.join(currencies)})"
                                 if currencies else "Running cost per 1,000 allocated")
        costed = sum(1 for r in rows if any(r.running_cost.values()))
        self.state.setText(
            f"{len(rows)} period(s); {costed} with running costs in the pool "
            f"<b>{RUNNING_COST_POOL}</b> (apportion manual-costs import) · manual decisions "
            f"counted from the audit trail" if rows else "No allocation run or decision yet.")
        self._chosen()

    def _chosen(self) -> None:
        """The decisions of the selected period (else of the page's period), by action."""
        rows = self.table.selectionModel().selectedRows()
        period = self.model.row(rows[0].row())[0] if rows else self.period
        found = next((r for r in self.rows or [] if r.period == period), None)
        self.actions_model.set_rows(
            sorted(found.decisions_by_action.items()) if found is not None else [])
