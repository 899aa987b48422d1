"""Depreciation: run a period (every book or one) with progress and cancel; see what it did."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.operations import Operation, OperationContext
from client.gui.paging import INTEGER, MONEY, Column
from client.gui.views.base import ClientContext, View, rows_table
from ledger.access import Permission
from ledger.calendar import PeriodStatus
from ledger.services.base import Changes
from ledger.services.depreciation import BookRun, run_depreciation

ALL_BOOKS = "All books"


def depreciation_choices(uow: Any) -> tuple[list[str], list[str], str | None]:
    """Open periods, book names and the current period."""
    from ledger.calendar import current_period

    periods = uow.periods.list()
    current = current_period(periods, uow.clock.now().date())
    return ([p.key for p in periods if p.status is PeriodStatus.OPEN], uow.assets.book_names(),
            current.key if current else None)


def run_books(uow: Any, ctx: OperationContext, period: str, books: list[str]
              ) -> tuple[list[BookRun], Changes]:
    """Each book in turn, in one unit of work: cancelled part-way, nothing is kept."""
    runs: list[BookRun] = []
    for number, book in enumerate(books):
        ctx.progress(number, len(books), f"depreciating {book} {period}")
        runs.extend(run_depreciation(uow=uow, period=period, book=book).books)
    ctx.progress(len(books), len(books), "done")
    ids = tuple(i for run in runs for i in run.journal_ids)
    return runs, Changes(frozenset({"journal", "depreciation_charge"}), created=len(ids),
                         deleted=sum(r.replaced_drafts for r in runs), ids=ids)


class DepreciationView(View):
    title = "Depreciation"
    interests = frozenset({"asset", "asset_event", "depreciation_book", "period"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.books: list[str] = []
        self.operation: Operation | None = None
        self.period = QComboBox()
        self.period.setObjectName("period")
        self.book = QComboBox()
        self.book.setObjectName("book")
        self.run_button = QPushButton("Run depreciation")
        self.run_button.setObjectName("run-depreciation")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.state = QLabel("")
        self.state.setObjectName("run-state")
        bar = QHBoxLayout()
        for widget in (QLabel("Period"), self.period, QLabel("Book"), self.book,
                       self.run_button, self.cancel_button):
            bar.addWidget(widget)
        bar.addStretch()
        self.results, self.results_model = rows_table((
            Column("book", "Book", width=80), Column("assets", "Assets", INTEGER, 80),
            Column("total", "Depreciation", MONEY, 130), Column("currency", "Cur.", width=50),
            Column("journals", "Draft journals", width=140),
            Column("replaced", "Drafts replaced", INTEGER, 110),
            Column("posts", "Posts to ledger", width=110)))
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addWidget(self.state)
        layout.addWidget(self.results, 1)

    def refresh(self) -> None:
        self.runner.query(depreciation_choices, success=self._choices, failure=self.failed,
                          title="Reading periods")

    def _choices(self, choices: tuple[list[str], list[str], str | None]) -> None:
        periods, books, current = choices
        self.books = books
        chosen = self.period.currentText()
        self.period.clear()
        self.period.addItems(periods)
        remembered = str(self.context.settings.value("depreciation/period", "") or "")
        for candidate in (chosen, remembered, current):
            if candidate and candidate in periods:
                self.period.setCurrentText(candidate)
                break
        self.book.clear()
        self.book.addItems([ALL_BOOKS, *books])

    def apply_actor(self) -> None:
        guard(self.run_button, self.actor, Permission.DRAFT_JOURNALS, doing="run depreciation",
              tip="Depreciate every in-service asset for the period and draft the journals")

    def run(self) -> None:
        period = self.period.currentText()
        if not period:
            self.notice("Choose an open period first.", error=True)
            return
        books = self.books if self.book.currentText() in ("", ALL_BOOKS) else [
            self.book.currentText()]
        self.context.settings.setValue("depreciation/period", period)
        self.notice("")
        self.state.setText(f"Running depreciation for {period}…")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.operation = self.runner.write(
            lambda uow, ctx: run_books(uow, ctx, period, books), success=self.show_runs,
            failure=self._failed_run, title=f"Running depreciation {period}")
        self.runner.progressed.connect(self._progress)

    def cancel(self) -> None:
        if self.operation is not None:
            self.operation.cancel()

    def _progress(self, operation: Operation) -> None:
        if operation is self.operation:
            p = operation.progress
            self.state.setText(f"{p.message} ({p.done} of {p.total} books)")

    def _finish(self) -> None:
        self.runner.progressed.disconnect(self._progress)
        self.operation = None
        self.cancel_button.setEnabled(False)
        self.apply_actor()

    def _failed_run(self, error: BaseException) -> None:
        self._finish()
        self.state.setText("")
        self.failed(error)

    def show_runs(self, runs: list[BookRun]) -> None:
        self._finish()
        rows = []
        for run in runs:
            for currency, total in sorted(run.total.items()) or [("", None)]:
                rows.append((run.book, run.assets, total, currency,
                             ", ".join(map(str, run.journal_ids)) or "-", run.replaced_drafts,
                             "yes" if run.posts_to_ledger else "no (computed only)"))
        self.results_model.set_rows(rows)
        created = sum(len(r.journal_ids) for r in runs)
        self.state.setText(f"Depreciation run done: {created} draft journal(s) to review in "
                           "Journals.")
