"""Cost pools and rules: the rule set in a readable editor, checked as you type, the impact of
a draft on each cost centre before activation, and activation with a reason."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.paging import MONEY, Column
from client.gui.views.base import ClientContext, View, follow_selection, rows_table
from ledger.access import Permission
from ledger.allocation import parse_ruleset
from ledger.calendar import PeriodStatus, current_period
from ledger.errors import ApportionError
from ledger.services import allocation as allocation_service


def available() -> bool:
    return True


def rules_state(uow: Any) -> tuple[list[Any], list[str], str | None]:
    versions = allocation_service.list_versions(uow=uow)
    periods = uow.periods.list()
    current = current_period(periods, uow.clock.now().date())
    return (versions, [p.key for p in periods if p.status is PeriodStatus.OPEN],
            current.key if current else None)


def check_rules(text: str) -> str:
    """A one-line verdict on the editor's text: what it holds, or what is wrong and where.
    Pure parsing (no database), quick enough to run as the user types."""
    try:
        ruleset = parse_ruleset(text, source="editor")
    except ApportionError as exc:
        return f"✗ {exc}"
    return (f"✓ {ruleset.name}: {len(ruleset.pools)} pool(s), {len(ruleset.mapping)} mapping "
            f"rule(s), {len(ruleset.shared)} shared rule(s), effective from "
            f"{ruleset.effective_from}")


class RulesView(View):
    title = "Cost pools and rules"
    interests = frozenset({"ruleset"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.versions: list[Any] = []
        self.selected: Any = None
        self.versions_table, self.versions_model = rows_table((
            Column("label", "Version", width=150), Column("status", "Status", width=70),
            Column("from", "Effective from", width=100), Column("author", "Author", width=80),
            Column("reason", "Reason", width=200)))
        follow_selection(self.versions_table, self.select_version)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("rules-editor")
        self.editor.setFont(QFont("monospace"))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.verdict = QLabel("")
        self.verdict.setObjectName("rules-verdict")
        self.verdict.setWordWrap(True)
        self.check_timer = QTimer(self)
        self.check_timer.setSingleShot(True)
        self.check_timer.setInterval(300)
        self.check_timer.timeout.connect(self.check)
        self.editor.textChanged.connect(self.check_timer.start)
        self.reason = QLineEdit()
        self.reason.setObjectName("rules-reason")
        self.reason.setPlaceholderText("Reason (recorded with the new version or activation)")
        self.period = QComboBox()
        self.save_button = QPushButton("Save as new version")
        self.save_button.clicked.connect(self.save)
        self.impact_button = QPushButton("Impact analysis")
        self.impact_button.setObjectName("impact")
        self.impact_button.clicked.connect(self.impact)
        self.activate_button = QPushButton("Activate")
        self.activate_button.clicked.connect(self.activate_version)
        buttons = QHBoxLayout()
        for widget in (self.save_button, QLabel("Period"), self.period, self.impact_button,
                       self.activate_button):
            buttons.addWidget(widget)
        self.changes = QLabel("")
        self.changes.setObjectName("rule-changes")
        self.changes.setWordWrap(True)
        self.impact_table, self.impact_model = rows_table((
            Column("centre", "Cost centre", width=90), Column("currency", "Cur.", width=45),
            Column("before", "Active", MONEY, 120), Column("after", "This version", MONEY, 120),
            Column("difference", "Difference", MONEY, 120)))
        editor = QWidget()
        editor_layout = QVBoxLayout(editor)
        editor_layout.addWidget(self.editor, 3)
        editor_layout.addWidget(self.verdict)
        editor_layout.addWidget(self.reason)
        editor_layout.addLayout(buttons)
        editor_layout.addWidget(self.changes)
        editor_layout.addWidget(self.impact_table, 2)
        splitter = QSplitter()
        splitter.addWidget(self.versions_table)
        splitter.addWidget(editor)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(splitter)

    def refresh(self) -> None:
        self.runner.query(rules_state, success=self._state, failure=self.failed,
                          title="Reading rule sets")

    def _state(self, state: tuple[list[Any], list[str], str | None]) -> None:
        versions, periods, current = state
        self.versions = sorted(versions, key=lambda v: (v.name, -v.version))
        self.versions_model.set_rows([(v.label, v.status.value, v.effective_from, v.author,
                                       v.reason or "") for v in self.versions])
        chosen = self.period.currentText()
        self.period.clear()
        self.period.addItems(periods)
        for candidate in (chosen, current):
            if candidate and candidate in periods:
                self.period.setCurrentText(candidate)
                break
        if self.versions and self.selected is None:
            active = [n for n, v in enumerate(self.versions) if v.status.value == "active"]
            self.versions_table.selectRow(active[0] if active else 0)

    def select_version(self, row: int) -> None:
        if 0 <= row < len(self.versions):
            self.selected = self.versions[row]
            self.editor.setPlainText(self.selected.text)
            self.check()
            self.apply_actor()

    def check(self) -> None:
        verdict = check_rules(self.editor.toPlainText())
        self.verdict.setText(verdict)
        self.verdict.setStyleSheet("color: #c62828;" if verdict.startswith("✗") else
                                   "color: #2e7d32;")

    def apply_actor(self) -> None:
        guard(self.save_button, self.actor, Permission.MANAGE_RULES, doing="import rule sets",
              tip="Save the editor's text as a new draft version")
        guard(self.impact_button, self.actor, Permission.READ,
              doing="analyse the impact of rule changes",
              tip="Per cost centre, what this version would charge against the active one")
        if guard(self.activate_button, self.actor, Permission.ACTIVATE_RULES,
                 doing="activate rule sets", tip="Make this version the active one") and (
                self.selected is not None and self.selected.status.value == "active"):
            self.activate_button.setEnabled(False)
            self.activate_button.setToolTip(f"{self.selected.label} is already active")

    def save(self) -> None:
        text, reason = self.editor.toPlainText(), self.reason.text() or None
        based_on = self.selected.version if self.selected is not None else None

        def work(uow: Any, _ctx: Any) -> Any:
            return allocation_service.import_ruleset(uow=uow, text=text, source="editor",
                                                     based_on=based_on, reason=reason)

        self.runner.write(work, failure=self.failed, title="Saving the rule set",
                          success=lambda saved: self.notice(f"Saved {saved.label} as a draft"))

    def impact(self) -> None:
        if self.selected is None or not self.period.currentText():
            return
        label, period = self.selected.label, self.period.currentText()
        store = self.context.app.cost_facts()
        self.changes.setText(f"Comparing {label} with the active version on {period}…")
        self.runner.query(
            lambda uow: allocation_service.impact_of(uow=uow, store=store, period=period,
                                                     ruleset=label),
            success=self.show_impact, failure=self.failed,
            title=f"Impact of {label} on {period}")

    def show_impact(self, result: dict[str, Any]) -> None:
        changes = result["rule_changes"]
        self.changes.setText(
            f"<b>{result['draft']}</b> against active <b>{result['active']}</b> on "
            f"{result['period']}: " + ("; ".join(changes) if changes else "no rule changes"))
        self.impact_model.set_rows([(li["cost_centre"] or "(unallocated)", li["currency"],
                                     li["before"], li["after"], li["difference"])
                                    for li in result["lines"]])

    def activate_version(self) -> None:
        if self.selected is None:
            return
        name, version, reason = (self.selected.name, self.selected.version,
                                 self.reason.text() or None)
        self.runner.write(lambda uow, _c: allocation_service.activate(
            uow=uow, name=name, version=version, reason=reason), failure=self.failed,
            title=f"Activating {name}@{version}",
            success=lambda _c: self.notice(f"{name}@{version} is now active"))
