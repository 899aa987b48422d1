"""Allocation runs: run a period (or try it dry) with progress, see totals and the unallocated
share, and drill from a cost centre into the rules, pools and source rows behind its charge."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.operations import Operation
from client.gui.paging import INTEGER, MONEY, Column
from client.gui.views.base import ClientContext, View, follow_selection, rows_table
from ledger.access import Permission
from ledger.calendar import PeriodStatus, current_period
from ledger.services import allocation as allocation_service
from ledger.services.base import Changes

ACTIVE = "active rule set"


def available() -> bool:
    return True


def run_choices(uow: Any) -> tuple[list[str], list[str], str | None, list[Any]]:
    periods = uow.periods.list()
    current = current_period(periods, uow.clock.now().date())
    versions = allocation_service.list_versions(uow=uow)
    runs = allocation_service.list_runs(uow=uow)
    return ([p.key for p in periods if p.status is PeriodStatus.OPEN],
            [v.label for v in versions], current.key if current else None, runs)


def centre_totals(uow: Any, run_id: int) -> list[tuple[Any, ...]]:
    """Charged amount per cost centre and currency in one stored run."""
    allocation_service.list_runs(uow=uow)  # the permission check of the service
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in uow.allocation_runs.lines(run_id):
        totals[(line.cost_centre, line.currency)] += line.amount
    return [(centre, amount, currency) for (centre, currency), amount
            in sorted(totals.items(), key=lambda kv: -kv[1])]


def _share(total: Any) -> str:
    if not total.source_total:
        return "-"
    return f"{total.unallocated_total / total.source_total:.2%}"


class AllocationRunsView(View):
    title = "Allocation runs"
    interests = frozenset({"allocation_run", "ruleset", "journal"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.operation: Operation | None = None
        self.runs: list[Any] = []
        self.explanation: dict[str, Any] | None = None
        self.period = QComboBox()
        self.period.setObjectName("period")
        self.ruleset = QComboBox()
        self.ruleset.setObjectName("ruleset")
        self.run_button = QPushButton("Run allocation")
        self.run_button.setObjectName("run-allocation")
        self.run_button.clicked.connect(lambda: self.run(dry_run=False))
        self.dry_button = QPushButton("Dry run")
        self.dry_button.clicked.connect(lambda: self.run(dry_run=True))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(lambda: self.operation and self.operation.cancel())
        self.state = QLabel("")
        self.state.setObjectName("allocation-state")
        self.state.setWordWrap(True)
        bar = QHBoxLayout()
        for widget in (QLabel("Period"), self.period, QLabel("Rules"), self.ruleset,
                       self.run_button, self.dry_button, self.cancel_button):
            bar.addWidget(widget)
        bar.addStretch()
        self.runs_table, self.runs_model = rows_table((
            Column("id", "Run", INTEGER, 50), Column("period", "Period", width=70),
            Column("ruleset", "Rule set", width=150), Column("status", "Status", width=80),
            Column("source", "Source total", MONEY, 120),
            Column("allocated", "Allocated", MONEY, 120),
            Column("unallocated", "Unallocated", MONEY, 110),
            Column("share", "Unallocated %", width=90), Column("currency", "Cur.", width=45),
            Column("journals", "Journals", width=110), Column("by", "By", width=70)))
        follow_selection(self.runs_table, self.select_run)
        self.centres_table, self.centres_model = rows_table((
            Column("centre", "Cost centre", width=90), Column("amount", "Charged", MONEY, 120),
            Column("currency", "Cur.", width=45)))
        follow_selection(self.centres_table, self.explain_row)
        self.items_table, self.items_model = rows_table((
            Column("pool", "Pool", width=110), Column("rule", "Rule", width=130),
            Column("kind", "Kind", width=70), Column("amount", "Amount", MONEY, 110),
            Column("share", "Share", width=90), Column("sources", "Sources", INTEGER, 60),
            Column("note", "Why", width=360)))
        follow_selection(self.items_table, self.show_sources)
        self.sources_table, self.sources_model = rows_table((
            Column("kind", "Kind", width=70), Column("origin", "Origin", width=110),
            Column("reference", "Reference", width=200), Column("rows", "Rows", INTEGER, 60),
            Column("amount", "Amount", MONEY, 110), Column("attributes", "Attributes",
                                                           width=300)))
        drill = QSplitter()
        drill.addWidget(self.centres_table)
        explain = QSplitter()
        explain.setOrientation(explain.orientation().__class__.Vertical)
        explain.addWidget(self.items_table)
        explain.addWidget(self.sources_table)
        drill.addWidget(explain)
        drill.setStretchFactor(1, 3)
        body = QSplitter()
        body.setOrientation(body.orientation().__class__.Vertical)
        body.addWidget(self.runs_table)
        body.addWidget(drill)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addWidget(self.state)
        layout.addWidget(body, 1)

    def refresh(self) -> None:
        self.runner.query(run_choices, success=self._choices, failure=self.failed,
                          title="Reading allocation runs")

    def _choices(self, choices: tuple[list[str], list[str], str | None, list[Any]]) -> None:
        periods, labels, current, runs = choices
        chosen = self.period.currentText()
        self.period.clear()
        self.period.addItems(periods)
        for candidate in (chosen, str(self.context.settings.value("allocation/period", "")),
                          current):
            if candidate and candidate in periods:
                self.period.setCurrentText(candidate)
                break
        rules = self.ruleset.currentText()
        self.ruleset.clear()
        self.ruleset.addItems([ACTIVE, *labels])
        if rules in labels:
            self.ruleset.setCurrentText(rules)
        self.runs = sorted(runs, key=lambda r: -r.id)
        rows = []
        for run in self.runs:
            for total in run.totals or ():
                rows.append((run.id, run.period, run.ruleset, run.status.value,
                             total.source_total, total.allocated_total,
                             total.unallocated_total, _share(total), total.currency,
                             ", ".join(map(str, run.journal_ids)) or "-", run.created_by))
        self.runs_model.set_rows(rows)

    def apply_actor(self) -> None:
        guard(self.run_button, self.actor, Permission.RUN_ALLOCATION, doing="run allocations",
              tip="Allocate the period and draft its journals")
        guard(self.dry_button, self.actor, Permission.READ, doing="run allocations",
              tip="Compute the allocation without storing anything")

    def run(self, *, dry_run: bool) -> None:
        period = self.period.currentText()
        if not period:
            self.notice("Choose an open period first.", error=True)
            return
        ruleset = None if self.ruleset.currentText() in ("", ACTIVE) else \
            self.ruleset.currentText()
        self.context.settings.setValue("allocation/period", period)
        store = self.context.app.cost_facts()
        self.notice("")
        self.state.setText(f"Allocating {period}…")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)

        def work(uow: Any, ctx: Any) -> tuple[Any, Changes]:
            ctx.progress(0, None, f"allocating {period}")
            result = allocation_service.allocate(uow=uow, store=store, period=period,
                                                 ruleset=ruleset, dry_run=dry_run)
            ctx.check()
            if dry_run or result.unchanged:
                return result, Changes()
            return result, Changes(frozenset({"allocation_run", "journal"}),
                                   created=1 + len(result.journal_ids),
                                   deleted=result.replaced_drafts, ids=result.journal_ids)

        self.operation = self.runner.write(work, success=self.show_result,
                                           failure=self._failed_run,
                                           title=f"Allocating {period}")

    def _finish(self) -> None:
        self.operation = None
        self.cancel_button.setEnabled(False)
        self.apply_actor()

    def _failed_run(self, error: BaseException) -> None:
        self._finish()
        self.state.setText("")
        self.failed(error)

    def show_result(self, run: Any) -> None:
        self._finish()
        result = run.result
        parts = []
        for currency, total in sorted(result.source_total.items()):
            unallocated = result.unallocated_total[currency]
            share = f"{unallocated / total:.2%}" if total else "-"
            parts.append(f"{currency}: {result.allocated_total[currency]:,} allocated of "
                         f"{total:,}, {unallocated:,} unallocated ({share})")
        what = ("Dry run (nothing stored)" if run.dry_run else
                f"Run {run.run_id} unchanged (same inputs)" if run.unchanged else
                f"Run {run.run_id} stored, journals {', '.join(map(str, run.journal_ids))}")
        self.state.setText(f"<b>{what}</b> · {run.ruleset} · " + "; ".join(parts))
        if run.dry_run:
            self.centres_model.set_rows([(c, a, cur) for c, cur, a in run.by_cost_centre()])

    def select_run(self, row: int) -> None:
        if row < 0:
            return
        run_id = self.runs_model.row(row)[0]
        self.current_run = run_id
        self.runner.query(lambda uow: centre_totals(uow, run_id),
                          success=self.centres_model.set_rows, failure=self.failed,
                          title=f"Reading run {run_id}")

    def explain_row(self, row: int) -> None:
        run_id = getattr(self, "current_run", None)
        if row < 0 or run_id is None:
            return
        centre = self.centres_model.row(row)[0]
        store = self.context.app.cost_facts()
        self.runner.query(
            lambda uow: allocation_service.explain_run(uow=uow, store=store, run_id=run_id,
                                                       cost_centre=centre),
            success=self.show_explanation, failure=self.failed,
            title=f"Explaining {centre} in run {run_id}")

    def show_explanation(self, explanation: dict[str, Any]) -> None:
        self.explanation = explanation
        self.items_model.set_rows([
            (i["pool"], i["rule"], i["kind"], i["amount"],
             f"{Decimal(i['share']):.4%}" if i.get("share") else "", i["source_count"],
             i["note"]) for i in explanation["items"]])
        self.sources_model.set_rows([])
        if not explanation.get("current", True):
            self.notice("The inputs changed since this run: shown as stored with the run.")

    def show_sources(self, row: int) -> None:
        if self.explanation is None or row < 0 or row >= len(self.explanation["items"]):
            return
        item = self.explanation["items"][row]
        self.sources_model.set_rows([
            (s["kind"], s["origin"], s["reference"] or "", s["rows"], s["amount"],
             ", ".join(f"{k}={v}" for k, v in {**s["attributes"], **s["tags"]}.items()))
            for s in item["sources"]])
