"""Audit: the hash-chained trail, filterable and searchable, and whether the chain verifies.

Searching for an asset tag also finds the register loads' chunk events that concern it among a
thousand others (through the index written with them, never by reading every event's JSON), and
the selected event's detail shows that asset's own before and after.
"""

from __future__ import annotations

import dataclasses
from html import escape
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.sql import Select

from client.gui.access import guard, refusal
from client.gui.paging import SqlTableSource, TableQuery, audit_trail
from client.gui.views.base import ClientContext, TablePanel, View
from ledger.access import Permission
from ledger.persistence.audit_index import AuditEventKeyRecord
from ledger.persistence.records import AuditEventRecord
from ledger.services.audit import AuditEntry, audit_event, verify_audit


@dataclasses.dataclass
class AuditTrailSource(SqlTableSource):
    """The trail, whose search also matches the things a chunk event concerns (exact key)."""

    def _filtered(self, statement: Select[Any], query: TableQuery) -> Select[Any]:
        text = query.search.strip()
        if not text:
            return super()._filtered(statement, query)
        narrowed = super()._filtered(statement, dataclasses.replace(query, search=""))
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        words = [func.lower(cast(self.expressions[k], String)).like(pattern, escape="\\")
                 for k in self.searchable]
        indexed = AuditEventRecord.id.in_(select(AuditEventKeyRecord.event_id).where(
            AuditEventKeyRecord.entity_key == text))
        return narrowed.where(or_(*words, indexed))


def searchable_trail() -> AuditTrailSource:
    base = audit_trail()
    return AuditTrailSource(**{f.name: getattr(base, f.name)
                               for f in dataclasses.fields(base)})


def entry_html(entry: AuditEntry) -> str:
    """The event as it concerns the thing looked for: its values before and after."""
    event = entry.chained.event
    where = (f"{escape(entry.key)} in {escape(event.key)}" if entry.in_batch
             else escape(event.key))
    head = (f"<b>#{entry.chained.sequence}</b> {escape(event.action)} {where} by "
            f"{escape(event.actor)}")
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    names = list(after) + [n for n in before if n not in after]
    rows = [(n, before.get(n), after.get(n)) for n in names
            if before.get(n) != after.get(n) or not before]
    if not rows:
        return head
    cells = "".join(f"<tr><td>{escape(str(n))}</td><td>{escape(_text(b))}</td>"
                    f"<td>{escape(_text(a))}</td></tr>" for n, b, a in rows)
    return (f"{head}<table cellspacing='6'><tr><th align='left'>field</th>"
            f"<th align='left'>before</th><th align='left'>after</th></tr>{cells}</table>")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def verification(uow: Any) -> tuple[list[str], int]:
    problems, head = verify_audit(uow=uow)
    return [f"#{p.sequence} {p.kind}: {p.message}" for p in problems], head.sequence


class AuditView(View):
    title = "Audit"
    interests = frozenset()  # every write adds an event: refreshed on demand (F5), not per write

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.panel = TablePanel(self, searchable_trail(), settings_key="audit",
                                filters=(("actor", "Actor"), ("entity", "Entity")))
        self.panel.current_changed.connect(self.show_event)
        self.detail = QLabel("Select an event to see what it changed")
        self.detail.setObjectName("audit-detail")
        self.detail.setWordWrap(True)
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
        layout.addWidget(self.panel, 1)
        layout.addWidget(self.detail)

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

    def show_event(self, row: int) -> None:
        """The selected event's change; for a chunk event, that of the thing searched for."""
        sequence = self.panel.model.value(row, "sequence") if row >= 0 else None
        if sequence is None:
            return
        key = self.panel.search.text().strip() or None
        self.runner.query(lambda uow: audit_event(uow=uow, sequence=int(sequence), key=key),
                          success=lambda entry: self.detail.setText(entry_html(entry)),
                          failure=self.failed, title="Reading the audit event")
