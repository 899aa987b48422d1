"""The dashboard: charged cost by cost centre and by month, the trend, the unallocated share,
what waits for approval, and open findings."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from client.gui.charts import ChartWidget
from client.gui.models import format_money
from client.gui.paging import MONEY, Column
from client.gui.views.base import ClientContext, View, rows_table
from ledger.access import Permission
from ledger.journal import JournalStatus
from ledger.services import journals as journal_service
from ledger.services.base import authorize

try:  # imported on the UI thread when the client starts, never first by a worker
    from ledger.services.allocation import list_runs
except ImportError:  # a build without allocation
    list_runs = None  # type: ignore[assignment]
try:  # the rule-review calendar (policy work)
    from ledger.services.reviews import overdue_count
except ImportError:  # a build without rule reviews
    overdue_count = None  # type: ignore[assignment]

COUNTED = (JournalStatus.APPROVED, JournalStatus.POSTING, JournalStatus.POSTED,
           JournalStatus.SUBMITTED, JournalStatus.DRAFT)


@dataclass
class DashboardFigures:
    """What the dashboard shows, computed on the worker. Amounts in the functional currency.

    Attributes:
        by_centre: cost charged to each cost centre (debit lines with a cost centre).
        by_month: {period: total charged} for the trend.
        billed_by_month: billed cloud cost per period from the cost fact store.
        waiting: journals submitted and waiting for approval.
        open_findings: anomalies and other findings not yet reviewed.
        unallocated: billed cost with no charged counterpart yet, as a share (0..1) or None.
    """

    currency: str = ""
    by_centre: dict[str, Decimal] = field(default_factory=dict)
    by_month: dict[str, Decimal] = field(default_factory=dict)
    billed_by_month: dict[str, Decimal] = field(default_factory=dict)
    waiting: list[tuple[Any, ...]] = field(default_factory=list)
    open_findings: int = 0
    unallocated: Decimal | None = None
    unallocated_source: str = ""
    centre_names: dict[str, str] = field(default_factory=dict)
    #: Rule reviews past their due date (0 without the review calendar).
    overdue_reviews: int = 0


def dashboard_figures(uow: Any, cost_facts: Any) -> DashboardFigures:
    """Everything the dashboard needs, in one read-only unit of work."""
    authorize(uow, Permission.READ, doing="read the dashboard")
    company = uow.company.get()
    figures = DashboardFigures(currency=company.functional_currency if company else "")
    by_centre: dict[str, Decimal] = defaultdict(Decimal)
    by_month: dict[str, Decimal] = defaultdict(Decimal)
    for journal in journal_service.list_journals(uow=uow, statuses=[s.value for s in COUNTED]):
        for line in journal.entry.lines:
            if line.side.value == "debit" and line.cost_centre and (
                    not figures.currency or line.currency == figures.currency):
                by_centre[line.cost_centre] += line.amount
                by_month[journal.period] += line.amount
        if journal.status is JournalStatus.SUBMITTED:
            figures.waiting.append((journal.id, journal.period, journal.entry.description,
                                    max(journal.entry.totals.values()), journal.submitted_by))
    figures.by_centre = dict(sorted(by_centre.items(), key=lambda kv: -kv[1]))
    figures.by_month = dict(sorted(by_month.items()))
    figures.centre_names = {cc.code: cc.name for cc in uow.cost_centres.list()}
    figures.open_findings = len(uow.findings.list(statuses=["open"]))
    figures.overdue_reviews = overdue_count(uow) if overdue_count is not None else 0
    try:
        totals = cost_facts.totals()
    except Exception:
        totals = []
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for total in totals:
        if not figures.currency or total.billing_currency == figures.currency:
            billed[total.billing_period] += total.billed_cost
    figures.billed_by_month = dict(sorted(billed.items()))
    _unallocated_share(uow, figures, billed, by_month)
    return figures


def _unallocated_share(uow: Any, figures: DashboardFigures, billed: dict[str, Decimal],
                       by_month: dict[str, Decimal]) -> None:
    """The latest allocation run's unallocated share when there is one (exact, from the run's
    totals); else billed cost not yet charged, as an estimate."""
    runs = [r for r in list_runs(uow=uow) if r.totals] if list_runs is not None else []
    if runs:
        latest = max(runs, key=lambda r: (r.period, r.id))
        totals = [t for t in latest.totals if t.currency == figures.currency] or \
            list(latest.totals)
        source = sum((t.source_total for t in totals), Decimal(0))
        if source:
            figures.unallocated = sum((t.unallocated_total for t in totals), Decimal(0)) / source
            figures.unallocated_source = f"allocation run {latest.id} ({latest.period})"
            return
    billed_total = sum(billed.values(), Decimal(0))
    if billed_total:
        charged = sum((by_month.get(p, Decimal(0)) for p in billed), Decimal(0))
        figures.unallocated = max(Decimal(0), (billed_total - charged) / billed_total)
        figures.unallocated_source = "billed cost not yet charged"


def open_reconciliation(url: str, login: str) -> int | None:
    """Conflicts, unregistered devices, missing assets and duplicates still to decide.

    Runs in a process of its own (:meth:`OperationRunner.in_process`): matching a big register
    against discovery keeps Python busy for seconds, which a thread beside the UI must not.
    """
    try:
        from ledger.services.inventory import reconciliation_counts
    except ImportError:
        return None
    from client.bootstrap import open_app

    app = open_app(url)
    try:
        factory = app.uow if app.login == login else app.uow.as_user(login)
        with factory(read_only=True) as uow:
            counts = reconciliation_counts(uow=uow)
    finally:
        app.close()
    return sum(counts[k] for k in ("conflicts", "unregistered", "missing", "duplicates"))


class DashboardView(View):
    title = "Dashboard"
    interests = frozenset({"journal", "cost_import", "finding", "asset", "cost_centre",
                           "allocation_run", "reconciliation_decision", "review", "policy"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.figures: DashboardFigures | None = None
        self.open_reconciliation: int | None = None
        self.headline = QLabel("Loading…")
        self.headline.setObjectName("headline")
        self.by_centre = ChartWidget("Charged cost by cost centre", "bar")
        self.trend = ChartWidget("Charged cost by month (trend)", "line")
        self.waiting_table, self.waiting_model = rows_table((
            Column("id", "Journal", width=70), Column("period", "Period", width=70),
            Column("description", "Description", width=260),
            Column("total", "Total", MONEY, width=120), Column("by", "Submitted by", width=100)))
        waiting = QGroupBox("Waiting for approval")
        QVBoxLayout(waiting).addWidget(self.waiting_table)
        grid = QGridLayout()
        grid.addWidget(self.by_centre, 0, 0)
        grid.addWidget(self.trend, 0, 1)
        grid.addWidget(waiting, 1, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.headline)
        layout.addLayout(grid)

    def refresh(self) -> None:
        store = self.context.app.cost_facts()
        self.runner.query(lambda uow: dashboard_figures(uow, store), success=self.show_figures,
                          failure=self.failed, title="Reading the dashboard")
        # Matching the register against discovery takes seconds on a big estate: it runs in
        # a process of its own and fills in its figure when done.
        self.runner.in_process(open_reconciliation, success=self._reconciliation,
                               failure=self.failed, title="Counting open reconciliation items")

    def _reconciliation(self, count: int | None) -> None:
        self.open_reconciliation = count
        if self.figures is not None:
            self.show_figures(self.figures)

    def show_figures(self, figures: DashboardFigures) -> None:
        self.figures = figures
        currency = figures.currency
        total = sum(figures.by_centre.values(), Decimal(0))
        share = ("no allocation or billing yet" if figures.unallocated is None
                 else f"<b>{figures.unallocated:.2%}</b> unallocated "
                      f"({figures.unallocated_source})")
        reconciliation = ("" if self.open_reconciliation is None else
                          f" · <b>{self.open_reconciliation}</b> open reconciliation item(s)")
        if figures.overdue_reviews:
            reconciliation += f" · <b>{figures.overdue_reviews}</b> rule review(s) overdue"
        self.headline.setText(
            f"<b>{format_money(total)} {currency}</b> charged to "
            f"{len(figures.by_centre)} cost centres · <b>{len(figures.waiting)}</b> journal(s) "
            f"waiting for approval · <b>{figures.open_findings}</b> open finding(s)"
            f"{reconciliation} · {share}")
        top = list(figures.by_centre.items())[:12]
        self.by_centre.set_data([code for code, _ in top], [(currency, [v for _, v in top])])
        months = sorted(set(figures.by_month) | set(figures.billed_by_month))
        series = [("Charged", [figures.by_month.get(m, Decimal(0)) for m in months])]
        if figures.billed_by_month:
            series.append(("Billed", [figures.billed_by_month.get(m, Decimal(0))
                                      for m in months]))
        self.trend.set_data(months, series)
        self.waiting_model.set_rows(figures.waiting)
