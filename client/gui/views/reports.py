"""Reports: a cost centre's statement for a period (the lines by pool and rule with why, the
totals against budget, the trend and the top movers), the period's KPIs against benchmarks,
and the disputes of its charges: raised on a statement line, decided by a cost analyst.

Every figure comes from :mod:`ledger.services.reports` and :mod:`ledger.services.disputes`; the
statement is saved with the same renderers as ``apportion report statement`` (on the worker).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.charts import ChartWidget
from client.gui.models import format_money
from client.gui.paging import INTEGER, MONEY, Column
from client.gui.views.base import ClientContext, View, chosen_row, follow_selection, rows_table
from client.render import FORMATS, write_document
from client.render.reports import KPI_LABELS, statement_document
from ledger.access import Permission
from ledger.allocation.stored import RunStatus
from ledger.reports.disputes import Dispute, DisputeStatus
from ledger.reports.statement import Statement
from ledger.services import disputes as dispute_service
from ledger.services import reports as report_service
from ledger.services.base import Changes, authorize

#: KPIs held as fractions (0.8261) and shown as percentages; the shares are percents already.
FRACTIONS = frozenset({"tag_coverage", "reconciliation_match_rate", "dispute_rate"})
SAVE_FILTERS = "PDF (*.pdf);;Excel workbook (*.xlsx);;Web page (*.html)"

LINE_COLUMNS = (
    Column("pool", "Pool", width=90), Column("rule", "Rule", width=130),
    Column("kind", "Kind", width=100), Column("account", "Account", width=70),
    Column("currency", "Cur.", width=45), Column("amount", "Amount", MONEY, 110),
    Column("charged", "Charged", width=75), Column("basis", "Why", width=380))
MOVER_COLUMNS = (
    Column("pool", "Pool", width=90), Column("rule", "Rule", width=130),
    Column("currency", "Cur.", width=45), Column("before", "Before", MONEY, 100),
    Column("now", "Now", MONEY, 100), Column("change", "Change", MONEY, 100))
KPI_COLUMNS = (
    Column("kpi", "KPI", width=230), Column("value", "Value", width=100),
    Column("benchmark", "Benchmark", width=100), Column("difference", "Difference", width=100),
    Column("verdict", "Against benchmark", width=120), Column("source", "Source", width=160))
DISPUTE_COLUMNS = (
    Column("id", "Id", INTEGER, 45), Column("period", "Period", width=70),
    Column("cost_centre", "Cost centre", width=80), Column("pool", "Pool", width=80),
    Column("rule", "Rule", width=120), Column("amount", "Amount", MONEY, 100),
    Column("currency", "Cur.", width=45), Column("status", "Status", width=95),
    Column("raised_by", "Raised by", width=75), Column("reason", "Reason", width=220),
    Column("reviewed_by", "Reviewed by", width=80), Column("answer", "Answer", width=220),
    Column("correction", "Correction", MONEY, 100), Column("journal", "Journal", INTEGER, 60))


def available() -> bool:
    return True


def report_choices(uow: Any) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """Periods that have a current allocation run (newest first) and, per period, the cost
    centres (code, name) its run charged."""
    authorize(uow, Permission.READ, doing="read cost-centre statements")
    runs: dict[str, Any] = {}
    for run in uow.allocation_runs.list(status=RunStatus.DRAFT):
        if run.period not in runs or run.id > runs[run.period].id:
            runs[run.period] = run
    names = {c.code: c.name for c in uow.cost_centres.list()}
    centres = {}
    for period, run in runs.items():
        codes = sorted({line.cost_centre for line in uow.allocation_runs.lines(run.id)})
        centres[period] = [(code, names.get(code, "")) for code in codes]
    return sorted(runs, reverse=True), centres


def _percent(kpi: str, value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value:.2%}" if kpi in FRACTIONS else f"{value:,}" + (
        " %" if kpi.endswith("_share") else "")


def kpi_rows(found: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(KPI_LABELS.get(c.kpi, c.kpi), _percent(c.kpi, c.value),
             _percent(c.kpi, c.benchmark), _percent(c.kpi, c.difference), c.verdict or "",
             c.source or "") for c in found["comparison"]]


def dispute_row(dispute: Dispute) -> tuple[Any, ...]:
    return (dispute.id, dispute.period, dispute.cost_centre, dispute.pool, dispute.rule,
            dispute.amount, dispute.currency, dispute.status.value, dispute.raised_by,
            dispute.reason, dispute.reviewed_by or "", dispute.answer or "", dispute.correction,
            dispute.journal_id)


def total_text(statement: Statement) -> str:
    """The statement's totals, charged totals and budget in one line of rich text."""
    parts = [f"<b>Total {currency} {format_money(amount)}</b>"
             for currency, amount in statement.totals.items()] or ["<b>Nothing charged</b>"]
    charged = statement.charged_totals
    if charged != statement.totals:
        parts += [f"journalled {c} {format_money(a)}" for c, a in charged.items()]
    if statement.budget is not None:
        used = statement.budget_used()
        parts.append(f"budget {statement.budget_currency} {format_money(statement.budget)}"
                     + (f" ({used:.1%} used)" if used is not None else ""))
    else:
        parts.append("no budget")
    return " · ".join(parts) + f" · run {statement.run_id} ({statement.ruleset})"


class ReportsView(View):
    title = "Reports"
    interests = frozenset({"allocation_run", "dispute", "benchmark", "budget", "journal"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.centres: dict[str, list[tuple[str, str]]] = {}
        self.statement: Statement | None = None
        self.kpis: dict[str, Any] | None = None
        self.disputes: list[Dispute] = []
        self.period = QComboBox()
        self.period.setObjectName("report-period")
        self.cost_centre = QComboBox()
        self.cost_centre.setObjectName("report-cost-centre")
        self.cost_centre.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.save_button = QPushButton("Save as…")
        self.save_button.setObjectName("save-statement")
        self.save_button.setToolTip("Save the statement as PDF, Excel or HTML")
        self.save_button.clicked.connect(lambda: self.save_as())
        self.period.currentIndexChanged.connect(lambda _i: self._period_chosen())
        self.cost_centre.currentIndexChanged.connect(lambda _i: self.load_statement())
        bar = QHBoxLayout()
        for widget in (QLabel("Period"), self.period, QLabel("Cost centre"), self.cost_centre,
                       self.save_button):
            bar.addWidget(widget)
        bar.addStretch()
        tabs = QTabWidget()
        tabs.setObjectName("report-tabs")
        tabs.addTab(self._statement_tab(), "Statement")
        tabs.addTab(self._kpi_tab(), "KPIs")
        tabs.addTab(self._disputes_tab(), "Disputes")
        self.tabs = tabs
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addWidget(tabs, 1)

    # -- layout -----------------------------------------------------------------------------

    def _statement_tab(self) -> QWidget:
        self.total = QLabel("")
        self.total.setObjectName("statement-total")
        self.total.setWordWrap(True)
        self.lines_table, self.lines_model = rows_table(LINE_COLUMNS)
        self.lines_table.setObjectName("statement-lines")  # also the name Ctrl+E saves under
        follow_selection(self.lines_table, lambda _row: self.apply_actor())
        self.trend_chart = ChartWidget("Trend over prior periods", "line")
        self.movers_table, self.movers_model = rows_table(MOVER_COLUMNS)
        self.movers_table.setObjectName("top-movers")
        self.reason = QLineEdit()
        self.reason.setObjectName("dispute-reason")
        self.reason.setPlaceholderText("Why the selected line is wrong (required)")
        self.raise_button = QPushButton("Dispute line")
        self.raise_button.setObjectName("raise-dispute")
        self.raise_button.clicked.connect(self.raise_dispute)
        dispute_bar = QHBoxLayout()
        dispute_bar.addWidget(self.reason, 1)
        dispute_bar.addWidget(self.raise_button)
        lower = QSplitter()
        lower.addWidget(self.trend_chart)
        movers = QWidget()
        movers_layout = QVBoxLayout(movers)
        movers_layout.setContentsMargins(0, 0, 0, 0)
        movers_layout.addWidget(QLabel("Top movers against the prior period"))
        movers_layout.addWidget(self.movers_table)
        lower.addWidget(movers)
        body = QSplitter()
        body.setOrientation(body.orientation().__class__.Vertical)
        body.addWidget(self.lines_table)
        body.addWidget(lower)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.total)
        layout.addWidget(body, 1)
        layout.addLayout(dispute_bar)
        return tab

    def _kpi_tab(self) -> QWidget:
        self.kpi_state = QLabel("")
        self.kpi_state.setObjectName("kpi-state")
        self.shares_chart = ChartWidget("Share of cost allocated (percent)", "bar")
        self.kpi_table, self.kpi_model = rows_table(KPI_COLUMNS)
        self.kpi_table.setObjectName("kpis")
        body = QSplitter()
        body.addWidget(self.shares_chart)
        body.addWidget(self.kpi_table)
        body.setStretchFactor(1, 2)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.kpi_state)
        layout.addWidget(body, 1)
        return tab

    def _disputes_tab(self) -> QWidget:
        self.disputes_table, self.disputes_model = rows_table(DISPUTE_COLUMNS)
        self.disputes_table.setObjectName("disputes")
        follow_selection(self.disputes_table, lambda _row: self.apply_actor())
        self.answer = QLineEdit()
        self.answer.setObjectName("dispute-answer")
        self.answer.setPlaceholderText("Answer to the cost centre (required to decide)")
        self.correction = QLineEdit()
        self.correction.setObjectName("dispute-correction")
        self.correction.setPlaceholderText("Correction (accept)")
        self.correction.setMaximumWidth(140)
        self.review_button = QPushButton("Take under review")
        self.review_button.setObjectName("review-dispute")
        self.review_button.clicked.connect(lambda: self.decide("review"))
        self.accept_button = QPushButton("Accept")
        self.accept_button.setObjectName("accept-dispute")
        self.accept_button.clicked.connect(lambda: self.decide("accept"))
        self.reject_button = QPushButton("Reject")
        self.reject_button.setObjectName("reject-dispute")
        self.reject_button.clicked.connect(lambda: self.decide("reject"))
        bar = QHBoxLayout()
        for widget in (self.answer, self.correction, self.review_button, self.accept_button,
                       self.reject_button):
            bar.addWidget(widget)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.disputes_table, 1)
        layout.addLayout(bar)
        return tab

    def export_table(self) -> QTableView | None:
        """Ctrl+E: the focused table, else the shown tab's own (statement lines, KPIs,
        disputes), not the movers beside the lines."""
        focused = super().export_table()
        if focused is not None and focused.hasFocus():
            return focused
        return (self.lines_table, self.kpi_table, self.disputes_table)[self.tabs.currentIndex()]

    @property
    def decision_buttons(self) -> tuple[QPushButton, ...]:
        return (self.review_button, self.accept_button, self.reject_button)

    # -- loading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        self.runner.query(report_choices, success=self._choices, failure=self.failed,
                          title="Reading report periods")

    def _choices(self, choices: tuple[list[str], dict[str, list[tuple[str, str]]]]) -> None:
        periods, self.centres = choices
        chosen = self.period.currentText()
        self.period.blockSignals(True)
        self.period.clear()
        self.period.addItems(periods)
        if chosen in periods:
            self.period.setCurrentText(chosen)
        self.period.blockSignals(False)
        if not periods:
            self.notice("No allocation run yet: run one (Allocation runs) to see statements.")
        self._period_chosen()

    def _period_chosen(self) -> None:
        period = self.period.currentText()
        chosen = self.cost_centre.currentData()
        self.cost_centre.blockSignals(True)
        self.cost_centre.clear()
        for code, name in self.centres.get(period, []):
            self.cost_centre.addItem(f"{code} {name}".strip(), code)
        index = self.cost_centre.findData(chosen)
        self.cost_centre.setCurrentIndex(max(index, 0))
        self.cost_centre.blockSignals(False)
        if not period:
            return
        self.load_statement()
        self.runner.query(lambda uow: report_service.kpis(uow=uow, period=period),
                          success=self.show_kpis, failure=self.failed,
                          title=f"Reading the KPIs of {period}", slow=True)
        self.load_disputes()

    def load_statement(self) -> None:
        period, centre = self.period.currentText(), self.cost_centre.currentData()
        if not period or not centre:
            return
        self.runner.query(
            lambda uow: report_service.statement(uow=uow, cost_centre=centre, period=period),
            success=self.show_statement, failure=self.failed,
            title=f"Reading the statement of {centre} for {period}")

    def load_disputes(self) -> None:
        period = self.period.currentText()
        self.runner.query(lambda uow: dispute_service.list_disputes(uow=uow, period=period),
                          success=self.show_disputes, failure=self.failed,
                          title=f"Reading the disputes of {period}")

    def show_statement(self, statement: Statement) -> None:
        self.statement = statement
        self.total.setText(total_text(statement))
        self.lines_model.set_rows([
            (li.pool, li.rule, li.kind, li.account, li.currency, li.amount,
             "yes" if li.charged else "showback", li.basis) for li in statement.lines])
        trend: dict[str, Decimal] = defaultdict(Decimal)
        for period, _currency, amount in statement.trend:
            trend[period] += amount
        self.trend_chart.set_data(list(trend), [(statement.cost_centre, list(trend.values()))])
        self.movers_model.set_rows([(m.pool, m.rule, m.currency, m.before, m.now, m.change)
                                    for m in statement.movers])
        self.apply_actor()

    def show_kpis(self, found: dict[str, Any]) -> None:
        self.kpis = found
        currency = found["currency"]
        shares = found["shares"].get(currency) if currency else None
        names = ("direct", "driver", "unallocated")
        self.shares_chart.set_data(
            ["Direct", "By driver", "Unallocated"],
            [(currency or "", [shares["percent"][n] for n in names] if shares else [])])
        coverage = found["tag_coverage"]
        self.kpi_state.setText(
            f"Run {found['run_id']} ({found['ruleset']}) · {currency or 'no cost'} · "
            f"{coverage['tagged_lines']} of {coverage['billing_lines']} billing lines tagged")
        self.kpi_model.set_rows(kpi_rows(found))

    def show_disputes(self, disputes: list[Dispute]) -> None:
        self.disputes = sorted(disputes, key=lambda d: -d.id)
        self.disputes_model.set_rows([dispute_row(d) for d in self.disputes])
        self.apply_actor()

    # -- who may do what --------------------------------------------------------------------

    def selected_line(self) -> tuple[Any, ...] | None:
        row = chosen_row(self.lines_table)
        return self.lines_model.row(row) if 0 <= row < self.lines_model.rowCount() else None

    def selected_dispute(self) -> Dispute | None:
        row = chosen_row(self.disputes_table)
        return self.disputes[row] if 0 <= row < len(self.disputes) else None

    def apply_actor(self) -> None:
        if guard(self.raise_button, self.actor, Permission.RAISE_DISPUTES,
                 doing="raise disputes", tip="Dispute the selected statement line"):
            if self.selected_line() is None:
                self.raise_button.setEnabled(False)
                self.raise_button.setToolTip("Select the statement line to dispute")
        for button in self.decision_buttons:
            if not guard(button, self.actor, Permission.REVIEW_DISPUTES,
                         doing="review disputes", tip="Decide the selected dispute"):
                continue
            why = self._cannot_decide(button)
            if why:
                button.setEnabled(False)
                button.setToolTip(why)

    def _cannot_decide(self, button: QPushButton) -> str | None:
        dispute = self.selected_dispute()
        if dispute is None:
            return "Select a dispute"
        if self.actor is not None and dispute.raised_by == self.actor.login:
            return "You raised this dispute: another cost analyst decides it"
        target = {self.review_button: DisputeStatus.UNDER_REVIEW,
                  self.accept_button: DisputeStatus.ACCEPTED,
                  self.reject_button: DisputeStatus.REJECTED}[button]
        if not dispute.can_become(target):
            return f"Dispute {dispute.id} is {dispute.status.value}: it cannot become " \
                   f"{target.value.replace('_', ' ')}"
        return None

    # -- actions ----------------------------------------------------------------------------

    def raise_dispute(self) -> None:
        line, reason = self.selected_line(), self.reason.text().strip()
        if line is None or self.statement is None:
            self.notice("Select the statement line to dispute.", error=True)
            return
        if not reason:
            self.notice("Say why the line is wrong: a dispute needs a reason.", error=True)
            self.reason.setFocus()
            return
        statement = self.statement
        pool, rule, currency = line[0], line[1], line[4]

        def work(uow: Any, _ctx: Any) -> Changes:
            return dispute_service.open_dispute(
                uow=uow, period=statement.period, cost_centre=statement.cost_centre,
                pool=pool, rule=rule, reason=reason, currency=currency)

        self.runner.write(work, success=lambda changes: self._raised(changes),
                          failure=self.failed, title=f"Disputing {pool}/{rule}")

    def _raised(self, changes: Changes) -> None:
        self.reason.clear()
        self.notice(f"Dispute {', '.join(map(str, changes.ids))} raised; a cost analyst will "
                    "review it.")  # the broadcast change reloads the list

    def decide(self, what: str) -> None:
        dispute = self.selected_dispute()
        if dispute is None:
            return
        answer, correction = self.answer.text().strip(), self.correction.text().strip()
        if what != "review" and not answer:
            self.notice("Write the answer the cost centre will read.", error=True)
            self.answer.setFocus()
            return
        if what == "accept" and not correction:
            self.notice("Enter the correction: what the cost centre gets back.", error=True)
            self.correction.setFocus()
            return

        def work(uow: Any, _ctx: Any) -> Changes:
            if what == "review":
                return dispute_service.review(uow=uow, dispute_id=dispute.id)
            if what == "reject":
                return dispute_service.reject(uow=uow, dispute_id=dispute.id, answer=answer)
            return dispute_service.accept(uow=uow, dispute_id=dispute.id,
                                          correction=correction, answer=answer)

        self.runner.write(work, success=lambda _c: self._decided(dispute.id, what),
                          failure=self.failed, title=f"Deciding dispute {dispute.id}")

    def _decided(self, dispute_id: int, what: str) -> None:
        self.answer.clear()
        self.correction.clear()
        done = {"review": "taken under review", "accept": "accepted (correcting journal "
                "submitted for approval)", "reject": "rejected"}[what]
        self.notice(f"Dispute {dispute_id} {done}.")  # the broadcast change reloads the list

    def save_path(self) -> Path | None:
        """Where to save the statement: a chosen file, or (tests) the export folder as PDF."""
        statement = self.statement
        if statement is None:
            return None
        name = f"statement-{statement.cost_centre}-{statement.period}"
        if self.context.export_dir is not None:
            return self.context.export_dir / f"{name}.pdf"
        last = str(self.context.settings.value("export/folder", str(Path.home())))
        chosen, _ = QFileDialog.getSaveFileName(self, "Save the statement",
                                                str(Path(last) / f"{name}.pdf"), SAVE_FILTERS)
        if not chosen:
            return None
        self.context.settings.setValue("export/folder", str(Path(chosen).parent))
        return Path(chosen)

    def save_as(self, path: Path | None = None) -> None:
        """Render the statement shown to ``path`` (PDF, XLSX or HTML by its extension)."""
        statement = self.statement
        if statement is None:
            self.notice("Choose a period and cost centre first.", error=True)
            return
        path = path or self.save_path()
        if path is None:
            return
        if path.suffix.lower() not in FORMATS:
            path = path.with_suffix(".pdf")

        def work(_ctx: Any) -> Path:
            path.parent.mkdir(parents=True, exist_ok=True)
            return write_document(statement_document(statement), path)

        self.runner.run(work, title=f"Saving the statement of {statement.cost_centre}",
                        success=lambda saved: self.notice(f"Statement saved to {saved}"),
                        failure=self.failed)
