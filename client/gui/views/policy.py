"""Policy and reviews: the allocation policy's versions (text read-only; a controller activates
one), who owns each asset and pool, and the rule-review calendar: overdue and due-soon reviews
highlighted, the checklist found in the stored runs, and completing a review (only by the
reviewer the calendar names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.models import RowsTableModel
from client.gui.paging import DATE, Column
from client.gui.views.base import ClientContext, View, chosen_row, follow_selection, rows_table
from ledger.access import Permission
from ledger.errors import NotFoundError
from ledger.policy import PolicyVersion, VersionStatus
from ledger.reviews import OUTCOMES, DueReview
from ledger.services import policy as policy_service
from ledger.services import reviews as review_service
from ledger.services.base import Changes

#: A review due within this many days is highlighted as due soon.
DUE_SOON_DAYS = 30
OVERDUE_COLOUR = QColor("#f8d7da")
DUE_SOON_COLOUR = QColor("#fff3cd")

VERSION_COLUMNS = (
    Column("version", "Version", width=60), Column("name", "Name", width=140),
    Column("status", "Status", width=70), Column("effective", "Effective from", DATE, 100),
    Column("author", "Author", width=70), Column("created", "Saved", width=140),
    Column("reason", "Reason", width=200), Column("activated_by", "Activated by", width=90))
REVIEW_COLUMNS = (
    Column("subject", "Subject", width=160), Column("state", "State", width=80),
    Column("due_on", "Due on", DATE, 90), Column("reviewer", "Reviewer", width=80),
    Column("every", "Every (months)", width=90), Column("last", "Last completed", DATE, 100))
CHECK_COLUMNS = (
    Column("item", "Check", width=220), Column("ok", "OK", width=40),
    Column("finding", "Finding", width=420))
ASSET_COLUMNS = (
    Column("asset", "Asset", width=110), Column("kind", "Kind", width=90),
    Column("cost_centre", "Cost centre", width=80), Column("owner", "Owner", width=100),
    Column("business_unit", "Business unit", width=100), Column("answers", "Answers", width=120))
POOL_COLUMNS = (
    Column("pool", "Pool", width=100), Column("name", "Name", width=160),
    Column("owner", "Owner", width=100), Column("business_unit", "Business unit", width=100),
    Column("answers", "Answers", width=120))


def available() -> bool:
    return True


def review_state(review: DueReview, today: date) -> str:
    if review.overdue:
        return "overdue"
    if review.due_on <= today + timedelta(days=DUE_SOON_DAYS):
        return "due soon"
    return "scheduled"


class ReviewsModel(RowsTableModel):
    """The review calendar: overdue rows shaded red and bold, due-soon rows amber."""

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.FontRole) and \
                index.isValid() and index.row() < self.rowCount():
            state = self.row(index.row())[1]
            if role == Qt.ItemDataRole.BackgroundRole:
                colour = {"overdue": OVERDUE_COLOUR, "due soon": DUE_SOON_COLOUR}.get(state)
                return QBrush(colour) if colour is not None else None
            if state == "overdue":
                font = QFont()
                font.setBold(True)
                return font
            return None
        return super().data(index, role)


@dataclass(frozen=True, slots=True)
class PolicyPage:
    """Everything the view shows, read in one unit of work."""

    versions: list[PolicyVersion]
    shown: PolicyVersion | None
    ownership: dict[str, Any]
    reviews: list[DueReview]
    today: date


def policy_page(uow: Any) -> PolicyPage:
    versions = policy_service.list_policies(uow=uow)
    try:
        shown = policy_service.show_policy(uow=uow)
    except NotFoundError:
        shown = None
    active = next(iter(uow.rulesets.active()), None)
    ownership = policy_service.ownership_report(
        uow=uow, ruleset=active.ruleset() if active is not None else None)
    return PolicyPage(versions, shown, ownership, review_service.list_reviews(uow=uow),
                      uow.clock.now().date())


def version_row(version: PolicyVersion) -> tuple[Any, ...]:
    created = version.created_at.strftime("%Y-%m-%d %H:%M") if version.created_at else ""
    return (version.version, version.name, version.status.value, version.effective_from,
            version.author, created, version.reason or "", version.activated_by or "")


class PolicyView(View):
    title = "Policy and reviews"
    interests = frozenset({"policy", "review", "ruleset", "allocation_run", "asset"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.page: PolicyPage | None = None
        tabs = QTabWidget()
        tabs.setObjectName("policy-tabs")
        tabs.addTab(self._policy_tab(), "Policy")
        tabs.addTab(self._ownership_tab(), "Ownership")
        tabs.addTab(self._reviews_tab(), "Rule reviews")
        self.tabs = tabs
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(tabs, 1)

    # -- layout -----------------------------------------------------------------------------

    def _policy_tab(self) -> QWidget:
        self.policy_state = QLabel("")
        self.policy_state.setObjectName("policy-state")
        self.versions_table, self.versions_model = rows_table(VERSION_COLUMNS)
        follow_selection(self.versions_table, self.show_version)
        self.text = QPlainTextEdit()
        self.text.setObjectName("policy-text")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.activate_reason = QLineEdit()
        self.activate_reason.setPlaceholderText("Why activate this version (audited)")
        self.activate_button = QPushButton("Activate version")
        self.activate_button.setObjectName("activate-policy")
        self.activate_button.clicked.connect(self.activate_version)
        bar = QHBoxLayout()
        bar.addWidget(self.activate_reason, 1)
        bar.addWidget(self.activate_button)
        body = QSplitter()
        body.addWidget(self.versions_table)
        body.addWidget(self.text)
        body.setStretchFactor(1, 2)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.policy_state)
        layout.addWidget(body, 1)
        layout.addLayout(bar)
        return tab

    def _ownership_tab(self) -> QWidget:
        self.ownership_state = QLabel("")
        self.pools_table, self.pools_model = rows_table(POOL_COLUMNS)
        self.assets_table, self.assets_model = rows_table(ASSET_COLUMNS)
        body = QSplitter()
        body.setOrientation(body.orientation().__class__.Vertical)
        body.addWidget(self.pools_table)
        body.addWidget(self.assets_table)
        body.setStretchFactor(1, 3)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.ownership_state)
        layout.addWidget(body, 1)
        return tab

    def _reviews_tab(self) -> QWidget:
        self.reviews_state = QLabel("")
        self.reviews_state.setObjectName("reviews-state")
        self.reviews_model = ReviewsModel(REVIEW_COLUMNS)
        self.reviews_table = QTableView()
        self.reviews_table.setObjectName("reviews-table")
        self.reviews_table.setModel(self.reviews_model)
        self.reviews_table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.reviews_table.verticalHeader().setDefaultSectionSize(22)
        self.reviews_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        for number, column in enumerate(REVIEW_COLUMNS):
            self.reviews_table.setColumnWidth(number, column.width)
        follow_selection(self.reviews_table, self.select_review)
        self.checklist_table, self.checklist_model = rows_table(CHECK_COLUMNS)
        self.outcome = QComboBox()
        self.outcome.setObjectName("review-outcome")
        for outcome in OUTCOMES:
            self.outcome.addItem(outcome.replace("_", " "), outcome)
        self.notes = QLineEdit()
        self.notes.setObjectName("review-notes")
        self.notes.setPlaceholderText("What was checked and decided (required)")
        self.complete_button = QPushButton("Complete review")
        self.complete_button.setObjectName("complete-review")
        self.complete_button.clicked.connect(self.complete)
        bar = QHBoxLayout()
        for widget in (QLabel("Outcome"), self.outcome, self.notes):
            bar.addWidget(widget)
        bar.addWidget(self.complete_button)
        body = QSplitter()
        body.setOrientation(body.orientation().__class__.Vertical)
        body.addWidget(self.reviews_table)
        body.addWidget(self.checklist_table)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.reviews_state)
        layout.addWidget(body, 1)
        layout.addLayout(bar)
        return tab

    # -- loading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        self.runner.query(policy_page, success=self.show_page, failure=self.failed,
                          title="Reading the allocation policy and reviews")

    def show_page(self, page: PolicyPage) -> None:
        self.page = page
        self.versions_model.set_rows([version_row(v) for v in
                                      sorted(page.versions, key=lambda v: -v.version)])
        shown = page.shown
        self.policy_state.setText(
            "No allocation policy imported yet (apportion policy import FILE)." if shown is None
            else f"<b>{shown.name}</b> version {shown.version} ({shown.status.value}), "
                 f"effective from {shown.effective_from}")
        self.text.setPlainText(shown.text if shown else "")
        ownership = page.ownership
        self.ownership_state.setText(f"Policy: {ownership['policy'] or 'none (all owned by IT)'}"
                                     f" · {len(ownership['assets'])} assets, "
                                     f"{len(ownership['pools'])} pools")
        keys = [c.key for c in POOL_COLUMNS]
        self.pools_model.set_rows([tuple(p.get(k) or "" for k in keys)
                                   for p in ownership["pools"]])
        keys = [c.key for c in ASSET_COLUMNS]
        self.assets_model.set_rows([tuple(a.get(k) or "" for k in keys)
                                    for a in ownership["assets"]])
        rows = [(r.subject, review_state(r, page.today), r.due_on, r.reviewer or "anyone",
                 r.every_months, r.last_completed) for r in page.reviews]
        self.reviews_model.set_rows(rows)
        overdue = sum(1 for r in rows if r[1] == "overdue")
        soon = sum(1 for r in rows if r[1] == "due soon")
        self.reviews_state.setText(f"<b>{overdue}</b> overdue, <b>{soon}</b> due within "
                                   f"{DUE_SOON_DAYS} days, {len(rows)} on the calendar")
        self.checklist_model.set_rows([])
        self.apply_actor()

    def selected_version(self) -> PolicyVersion | None:
        row = chosen_row(self.versions_table)
        if self.page is None or not 0 <= row < self.versions_model.rowCount():
            return None
        number = self.versions_model.row(row)[0]
        return next((v for v in self.page.versions if v.version == number), None)

    def selected_review(self) -> DueReview | None:
        row = chosen_row(self.reviews_table)
        if self.page is None or not 0 <= row < len(self.page.reviews):
            return None
        return self.page.reviews[row]

    def show_version(self, _row: int) -> None:
        version = self.selected_version()
        if version is not None:
            self.text.setPlainText(version.text)
        self.apply_actor()

    def select_review(self, _row: int) -> None:
        review = self.selected_review()
        self.apply_actor()
        if review is None:
            return
        subject = review.subject
        self.runner.query(lambda uow: review_service.checklist(uow=uow, subject=subject),
                          success=self.show_checklist, failure=self.failed,
                          title=f"Reading the checklist of {subject}")

    def show_checklist(self, items: list[Any]) -> None:
        self.checklist_model.set_rows([(i.item, "✓" if i.ok else "✗", i.finding)
                                       for i in items])

    # -- who may do what --------------------------------------------------------------------

    def apply_actor(self) -> None:
        if guard(self.activate_button, self.actor, Permission.ACTIVATE_RULES,
                 doing="activate the allocation policy",
                 tip="Make the selected version the active policy"):
            version = self.selected_version()
            why = ("Select a policy version" if version is None else
                   f"Version {version.version} is already active"
                   if version.status is VersionStatus.ACTIVE else None)
            if why:
                self.activate_button.setEnabled(False)
                self.activate_button.setToolTip(why)
        if guard(self.complete_button, self.actor, Permission.REVIEW_RULES,
                 doing="complete rule reviews", tip="Record the review of the selected subject"):
            why = self._cannot_complete()
            if why:
                self.complete_button.setEnabled(False)
                self.complete_button.setToolTip(why)

    def _cannot_complete(self) -> str | None:
        review = self.selected_review()
        if review is None:
            return "Select a review"
        login = self.actor.login if self.actor else None
        if review.reviewer and review.reviewer != login:
            return f"The review of {review.subject} is {review.reviewer}'s"
        return None

    # -- actions ----------------------------------------------------------------------------

    def activate_version(self) -> None:
        version = self.selected_version()
        if version is None:
            return
        number, reason = version.version, self.activate_reason.text().strip() or None
        self.runner.write(
            lambda uow, _ctx: policy_service.activate_policy(uow=uow, version=number,
                                                             reason=reason),
            success=lambda _c: (self.activate_reason.clear(),
                                self.notice(f"Policy version {number} is active.")),
            failure=self.failed, title=f"Activating policy version {number}")

    def complete(self) -> None:
        review = self.selected_review()
        notes = self.notes.text().strip()
        if review is None:
            return
        if not notes:
            self.notice("Write what was checked and decided: a review needs notes.",
                        error=True)
            self.notes.setFocus()
            return
        subject, outcome = review.subject, self.outcome.currentData()

        def work(uow: Any, _ctx: Any) -> tuple[int, Changes]:
            review_id, _items, changes = review_service.complete_review(
                uow=uow, subject=subject, outcome=outcome, notes=notes)
            return review_id, changes

        self.runner.write(work, success=lambda review_id: self._completed(subject, review_id),
                          failure=self.failed, title=f"Completing the review of {subject}")

    def _completed(self, subject: str, review_id: int) -> None:
        self.notes.clear()
        self.notice(f"Review {review_id} of {subject} recorded.")
