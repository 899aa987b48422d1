"""Audit: the hash-chained trail, filterable and searchable, and whether the chain verifies."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from client.gui.access import guard, refusal
from client.gui.paging import audit_trail
from client.gui.views.base import ClientContext, TablePanel, View
from ledger.access import Permission
from ledger.services.audit import verify_audit


def verification(uow: Any) -> tuple[list[str], int]:
    problems, head = verify_audit(uow=uow)
    return [f"#{p.sequence} {p.kind}: {p.message}" for p in problems], head.sequence


class AuditView(View):
    title = "Audit"
    interests = frozenset()  # every write adds an event: refreshed on demand (F5), not per write

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.panel = TablePanel(self, audit_trail(), settings_key="audit",
                                filters=(("actor", "Actor"), ("entity", "Entity")))
        self.verify_button = QPushButton("Verify chain")
        self.verify_button.setObjectName("verify")
        self.verify_button.clicked.connect(self.verify)
        self.status = QLabel("Chain not verified yet in this session")
        self.status.setObjectName("verification")
        bar = QHBoxLayout()
        bar.addWidget(self.verify_button)
        bar.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addWidget(self.panel)

    def refresh(self) -> None:
        why = refusal(self.actor, Permission.READ_AUDIT, doing="read the audit trail")
        if why is not None:
            self.notice(why, error=True)
            return
        self.panel.load()

    def apply_actor(self) -> None:
        guard(self.verify_button, self.actor, Permission.READ_AUDIT,
              doing="verify the audit trail", tip="Check every link of the hash chain")

    def verify(self) -> None:
        self.status.setText("Verifying…")
        self.runner.query(verification, success=self._verified, failure=self.failed,
                          title="Verifying the audit chain")

    def _verified(self, result: tuple[list[str], int]) -> None:
        problems, head = result
        if problems:
            self.status.setText(f"<b style='color:#c62828'>{len(problems)} problem(s)</b>: "
                                + "; ".join(problems[:5]))
        else:
            self.status.setText(f"<b style='color:#2e7d32'>Chain intact</b> up to event #{head}")
