"""Journals: review the lines, submit, approve (refused with the reason when not allowed),
reject or reverse with a reason, post to the ERP with live status, see ERP document numbers."""

from __future__ import annotations

import os
import socket
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import refusal
from client.gui.operations import OperationContext
from client.gui.paging import MONEY, Column, journal_list
from client.gui.views.base import ClientContext, TablePanel, View, rows_table
from ledger.access import Permission, approval_limit
from ledger.journal import Journal, JournalStatus
from ledger.services import erp_profiles
from ledger.services import journals as journal_service
from ledger.services.base import Changes


def poster_name() -> str:
    return f"apportion-gui@{socket.gethostname()}:{os.getpid()}"


def post_journals(ctx: OperationContext, profile_name: str | None,
                  journal_ids: list[int] | None) -> dict[str, Any]:
    """Post approved journals one at a time so that each one's status shows as it lands."""
    from client.erp import close, gateway_for
    from ledger.services.posting import post_approved

    app = ctx.app
    with app.uow(read_only=True) as uow:
        profile = erp_profiles.get_profile(uow=uow, name=profile_name)
        wanted = journal_ids or uow.journals.ids(statuses=[JournalStatus.APPROVED.value])
    gateway = gateway_for(profile)
    outcome: dict[str, Any] = {"posted": [], "failed": [], "unknown": [], "blocked": None}
    try:
        for number, journal_id in enumerate(wanted, start=1):
            ctx.progress(number - 1, len(wanted), f"posting journal {journal_id}")
            report = post_approved(uow_factory=app.uow, gateway=gateway, profile=profile,
                                   holder=poster_name(), journal_ids=[journal_id])
            outcome["posted"] += report.posted
            outcome["failed"] += report.failed
            outcome["unknown"] += report.unknown
            outcome["blocked"] = outcome["blocked"] or report.blocked
            ctx.announce(Changes(frozenset({"journal"}), updated=1, ids=(journal_id,)))
            if report.blocked:
                break
        ctx.progress(len(wanted), len(wanted), "posted")
    finally:
        close(gateway)
    return outcome


class JournalsView(View):
    title = "Journals"
    interests = frozenset({"journal"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.panel = TablePanel(self, journal_list(), settings_key="journals",
                                filters=(("status", "Status"), ("period", "Period"),
                                         ("source", "Source")))
        self.panel.current_changed.connect(self.select_row)
        self.journal: Journal | None = None
        self.heading = QLabel("Select a journal")
        self.heading.setObjectName("journal-heading")
        self.heading.setWordWrap(True)
        self.lines_table, self.lines_model = rows_table((
            Column("account", "Account", width=80), Column("cost_centre", "Cost centre", width=90),
            Column("debit", "Debit", MONEY, 110), Column("credit", "Credit", MONEY, 110),
            Column("currency", "Cur.", width=45), Column("memo", "Memo", width=220)))
        self.reason = QLineEdit()
        self.reason.setObjectName("reason")
        self.reason.setPlaceholderText("Reason (needed to reject or reverse)")
        self.buttons: dict[str, QPushButton] = {}
        actions = QHBoxLayout()
        for key, label in (("submit", "Submit"), ("approve", "Approve"), ("reject", "Reject"),
                           ("reverse", "Reverse"), ("post", "Post approved")):
            button = QPushButton(label)
            button.setObjectName(f"journal-{key}")
            button.clicked.connect(getattr(self, key))
            self.buttons[key] = button
            actions.addWidget(button)
        self.erp = QComboBox()
        self.erp.setObjectName("erp")
        self.erp.setToolTip("The ERP to post to")
        actions.addWidget(self.erp)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.addWidget(self.heading)
        detail_layout.addWidget(self.lines_table, 1)
        detail_layout.addWidget(self.reason)
        detail_layout.addLayout(actions)
        splitter = QSplitter()
        splitter.addWidget(self.panel)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(splitter)

    def refresh(self) -> None:
        self.panel.load()
        self.runner.query(lambda uow: [p.name for p in erp_profiles.list_profiles(uow=uow)],
                          success=self._profiles, failure=self.failed, title="Reading ERPs")
        if self.journal is not None:
            self.load_journal(self.journal.id)

    def _profiles(self, names: list[str]) -> None:
        current = self.erp.currentText()
        self.erp.clear()
        self.erp.addItems(names)
        if current in names:
            self.erp.setCurrentText(current)
        self.apply_actor()

    def select_row(self, row: int) -> None:
        journal_id = self.panel.model.value(row, "id") if row >= 0 else None
        if journal_id is not None:
            self.load_journal(int(journal_id))

    def load_journal(self, journal_id: int) -> None:
        self.runner.query(lambda uow: journal_service.load_journal(uow, journal_id),
                          success=self.show_journal, failure=self.failed,
                          title=f"Reading journal {journal_id}")

    def show_journal(self, journal: Journal) -> None:
        self.journal = journal
        entry = journal.entry
        totals = ", ".join(f"{amount:,} {cur}" for cur, amount in entry.totals.items())
        erp = (f" · ERP document <b>{journal.erp_document}</b>" if journal.erp_document else "")
        message = f"<br><i>{journal.message}</i>" if journal.message else ""
        self.heading.setText(
            f"<b>Journal {journal.id}</b> · {journal.status.value} · {entry.description} · "
            f"{totals} · made by {journal.created_by}"
            + (f", approved by {journal.approved_by}" if journal.approved_by else "")
            + erp + message)
        self.lines_model.set_rows([
            (line.account, line.cost_centre or "",
             line.amount if line.side.value == "debit" else None,
             line.amount if line.side.value == "credit" else None, line.currency, line.memo)
            for line in entry.lines])
        self.apply_actor()

    # -- what the user may do ---------------------------------------------------------------

    def reasons(self) -> dict[str, str | None]:
        """For each action, why it cannot be taken now (None: it can)."""
        actor, journal = self.actor, self.journal
        why = {
            "submit": refusal(actor, Permission.DRAFT_JOURNALS, doing="submit journals"),
            "approve": refusal(actor, Permission.APPROVE_JOURNALS, doing="approve journals"),
            "reject": refusal(actor, Permission.APPROVE_JOURNALS, doing="reject journals"),
            "reverse": refusal(actor, Permission.DRAFT_JOURNALS, doing="reverse journals"),
            "post": refusal(actor, Permission.POST_JOURNALS, doing="post journals"),
        }
        if why["post"] is None and self.erp.count() == 0:
            why["post"] = "no ERP is configured (Settings: ERP connections)"
        if journal is None:
            for key in ("submit", "approve", "reject", "reverse"):
                why[key] = why[key] or "select a journal first"
            return why
        status = journal.status
        if status is not JournalStatus.DRAFT:
            why["submit"] = why["submit"] or f"journal {journal.id} is {status.value}, not draft"
        if status is not JournalStatus.SUBMITTED:
            for key in ("approve", "reject"):
                why[key] = why[key] or f"journal {journal.id} is {status.value}, not submitted"
        elif actor is not None and actor.login in (journal.created_by, journal.submitted_by):
            why["approve"] = why["approve"] or (
                f"you made or submitted journal {journal.id}; another approver must approve it "
                "(maker-checker)")
        elif why["approve"] is None and actor is not None:
            limit = approval_limit(actor.roles)
            largest = max(journal.entry.totals.values())
            if limit is not None and largest > limit:
                why["approve"] = (f"journal {journal.id} totals {largest:,}, above your "
                                  f"approval limit of {limit:,}; a controller must approve it")
        if status is not JournalStatus.POSTED:
            why["reverse"] = why["reverse"] or f"only a posted journal is reversed; this one " \
                                               f"is {status.value}"
        return why

    def apply_actor(self) -> None:
        tips = {"submit": "Send the draft for approval", "approve": "Approve (maker-checker)",
                "reject": "Send it back to its maker with the reason",
                "reverse": "Draft the reversal of this posted journal, with the reason",
                "post": "Send every approved journal to the ERP, exactly once each"}
        for key, why in self.reasons().items():
            self.buttons[key].setEnabled(why is None)
            self.buttons[key].setToolTip(tips[key] if why is None else why)

    # -- actions ----------------------------------------------------------------------------

    def _write(self, title: str, work: Any) -> None:
        self.notice("")
        self.runner.write(work, success=lambda _v: self.notice(f"{title}: done"),
                          failure=self.failed, title=title)

    def submit(self) -> None:
        if self.journal is None:
            return
        journal_id = self.journal.id
        self._write(f"Submitting journal {journal_id}", lambda uow, _c:
                    journal_service.submit_journal(uow=uow, journal_id=journal_id))

    def approve(self) -> None:
        if self.journal is None:
            return
        journal_id = self.journal.id
        self._write(f"Approving journal {journal_id}", lambda uow, _c:
                    journal_service.approve_journal(uow=uow, journal_id=journal_id))

    def reject(self) -> None:
        if self.journal is None:
            return
        journal_id, reason = self.journal.id, self.reason.text()
        self._write(f"Rejecting journal {journal_id}", lambda uow, _c:
                    journal_service.reject_journal(uow=uow, journal_id=journal_id,
                                                   reason=reason))

    def reverse(self) -> None:
        if self.journal is None:
            return
        journal_id, reason = self.journal.id, self.reason.text()

        def work(uow: Any, _ctx: Any) -> tuple[int, Changes]:
            new_id = journal_service.reverse_journal(uow=uow, journal_id=journal_id,
                                                     reason=reason)
            return new_id, Changes(frozenset({"journal"}), created=1, ids=(new_id,))

        self.runner.write(work, failure=self.failed, title=f"Reversing journal {journal_id}",
                          success=lambda new_id: self.notice(
                              f"Journal {new_id} drafted to reverse journal {journal_id}; it "
                              "goes through approval and posting like any journal."))

    def post(self) -> None:
        profile = self.erp.currentText() or None
        self.notice("")
        self.runner.run(lambda ctx: post_journals(ctx, profile, None), network=True,
                        title=f"Posting to {profile or 'the ERP'}", success=self._posted,
                        failure=self.failed)

    def _posted(self, outcome: dict[str, Any]) -> None:
        text = f"Posted {len(outcome['posted'])} journal(s)"
        if outcome["failed"]:
            text += "; refused: " + "; ".join(f"{i}: {m}" for i, m in outcome["failed"])
        if outcome["unknown"]:
            text += f"; unknown (will be reconciled): {outcome['unknown']}"
        if outcome["blocked"]:
            text += f"; {outcome['blocked']}"
        self.notice(text, error=bool(outcome["failed"] or outcome["unknown"]
                                     or outcome["blocked"]))
