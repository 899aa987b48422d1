"""The reconciliation workbench: register and discovery side by side, with the evidence and
confidence of each match; accept, link by hand, reject, decommission or take the discovered
value, on one finding or a selection, each decision recorded with its reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.paging import INTEGER, Column
from client.gui.views.base import ClientContext, View, follow_selection, rows_table
from ledger.access import Permission
from ledger.errors import InputError
from ledger.reconciliation import DecisionKind, Finding, Outcome
from ledger.services import inventory as inventory_service
from ledger.services.base import Changes

ALL = "All findings"
#: Fields shown side by side: (register attribute, discovered attribute, label).
SIDE_BY_SIDE = (("tag", "asset_tag", "Asset tag"), ("serial_number", "serial", "Serial"),
                ("name", "hostname", "Name / host"), ("owner", "owner", "Owner"),
                ("location", "location", "Location"), ("cost_centre", "cost_centre",
                                                       "Cost centre"),
                ("status", "seen_at", "Status / last seen"))


def available() -> bool:
    return True


def findings(uow: Any, outcome: str | None) -> tuple[list[Finding], dict[str, int]]:
    wanted = Outcome(outcome) if outcome else None
    result = inventory_service.reconcile_inventory(uow=uow, outcome=wanted)
    return list(result.findings), result.counts()


@dataclass(frozen=True)
class SideBySide:
    register: dict[str, Any]
    discovered: dict[str, Any]


def side_by_side(uow: Any, finding: Finding) -> SideBySide:
    asset = uow.assets.get(finding.asset_tag) if finding.asset_tag else None
    device = uow.inventory.device(finding.device) if finding.device else None
    return SideBySide({} if asset is None else {k: getattr(asset, k, None) for k, _, _ in
                                                SIDE_BY_SIDE},
                      {} if device is None else asdict(device))


def decide_all(uow: Any, kind: str, chosen: list[Finding], reason: str,
               link_tag: str | None) -> Changes:
    """One decision per chosen finding, all or none (one unit of work)."""
    changes = Changes()
    for finding in chosen:
        tag = link_tag if kind == DecisionKind.LINK.value and link_tag else finding.asset_tag
        if tag is None:
            raise InputError(
                f"{finding.device} is in no register entry: link it to an asset tag first",
                field="asset_tag")
        changes += inventory_service.decide(uow=uow, kind=kind, asset_tag=tag,
                                            device=finding.device, reason=reason)
    return changes


class ReconciliationView(View):
    title = "Reconciliation"
    interests = frozenset({"reconciliation_decision", "asset", "discovery_record"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.findings: list[Finding] = []
        self.outcome = QComboBox()
        self.outcome.setObjectName("outcome")
        self.outcome.addItem(ALL, None)
        for outcome in Outcome:
            self.outcome.addItem(outcome.value, outcome.value)
        self.outcome.currentIndexChanged.connect(lambda _i: self.refresh())
        self.counts = QLabel("")
        self.counts.setObjectName("reconciliation-counts")
        top = QHBoxLayout()
        top.addWidget(self.outcome)
        top.addWidget(self.counts, 1)
        self.table, self.model = rows_table((
            Column("outcome", "Outcome", width=95), Column("asset", "Asset", width=100),
            Column("device", "Discovery record", width=170),
            Column("confidence", "Confidence %", INTEGER, 85),
            Column("evidence", "Evidence", width=170), Column("conflicts", "Disagreements",
                                                             width=260),
            Column("decision", "Decision", width=120)))
        self.table.setSelectionMode(QTableView.SelectionMode.ExtendedSelection)
        follow_selection(self.table, self.compare)
        self.register_form, self.discovered_form = QFormLayout(), QFormLayout()
        self.register_values: dict[str, QLabel] = {}
        self.discovered_values: dict[str, QLabel] = {}
        for mine, theirs, label in SIDE_BY_SIDE:
            self.register_values[mine] = QLabel()
            self.discovered_values[theirs] = QLabel()
            self.register_form.addRow(label, self.register_values[mine])
            self.discovered_form.addRow(label, self.discovered_values[theirs])
        sides = QHBoxLayout()
        for title, form in (("<b>Register</b>", self.register_form),
                            ("<b>Discovery</b>", self.discovered_form)):
            box = QVBoxLayout()
            box.addWidget(QLabel(title))
            box.addLayout(form)
            sides.addLayout(box)
        self.reason = QLineEdit()
        self.reason.setObjectName("decision-reason")
        self.reason.setPlaceholderText("Reason (recorded with every decision)")
        self.link_tag = QLineEdit()
        self.link_tag.setPlaceholderText("Asset tag to link to (link by hand)")
        self.buttons: dict[str, QPushButton] = {}
        actions = QHBoxLayout()
        for kind, label in (("accept", "Accept"), ("link", "Link"), ("reject", "Reject"),
                            ("decommission", "Decommission"), ("take_owner", "Take owner"),
                            ("take_location", "Take location"),
                            ("take_cost_centre", "Take cost centre")):
            button = QPushButton(label)
            button.setObjectName(f"decide-{kind}")
            button.clicked.connect(lambda _c=False, k=kind: self.decide(k))
            self.buttons[kind] = button
            actions.addWidget(button)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.addLayout(sides)
        detail_layout.addWidget(self.reason)
        detail_layout.addWidget(self.link_tag)
        detail_layout.addLayout(actions)
        detail_layout.addWidget(QLabel("Decisions are kept and honoured by every later run; "
                                       "to change one, record another decision."))
        splitter = QSplitter()
        splitter.setOrientation(splitter.orientation().__class__.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(detail)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

    def refresh(self) -> None:
        outcome = self.outcome.currentData()
        self.runner.query(lambda uow: findings(uow, outcome), success=self.show_findings,
                          failure=self.failed, title="Reconciling the inventory")

    def show_findings(self, result: tuple[list[Finding], dict[str, int]]) -> None:
        self.findings, counts = result
        self.counts.setText(" · ".join(f"{k}: <b>{v:,}</b>" for k, v in counts.items()))
        self.model.set_rows([
            (f.outcome.value, f.asset_tag or "", str(f.device) if f.device else "",
             f.confidence or None, ", ".join(e.value for e in f.evidence),
             "; ".join(f"{c.field}: {c.register_value} ≠ {c.discovered_value}"
                       for c in f.conflicts) or ", ".join(f.others),
             f.decision.kind.value if getattr(f, "decision", None) else "")
            for f in self.findings])

    def apply_actor(self) -> None:
        for kind, button in self.buttons.items():
            guard(button, self.actor, Permission.RECONCILE_INVENTORY,
                  doing="decide on reconciliation findings",
                  tip=f"{kind.replace('_', ' ')} the selected finding(s), with the reason")

    def selected(self) -> list[Finding]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.findings[r] for r in rows if r < len(self.findings)]

    def compare(self, row: int) -> None:
        if not 0 <= row < len(self.findings):
            return
        finding = self.findings[row]
        self.runner.query(lambda uow: side_by_side(uow, finding), success=self.show_sides,
                          failure=self.failed, title="Reading the pair")

    def show_sides(self, sides: SideBySide) -> None:
        for key, label in self.register_values.items():
            value = sides.register.get(key)
            label.setText("" if value is None else str(value))
        for key, label in self.discovered_values.items():
            value = sides.discovered.get(key)
            label.setText("" if value is None else str(value))

    def decide(self, kind: str) -> None:
        chosen, reason = self.selected(), self.reason.text()
        if not chosen:
            self.notice("Select one or more findings first.", error=True)
            return
        link_tag = self.link_tag.text().strip() or None
        self.runner.write(lambda uow, _c: decide_all(uow, kind, chosen, reason, link_tag),
                          failure=self.failed, title=f"Recording {len(chosen)} decision(s)",
                          success=lambda _c: self.notice(
                              f"Recorded {kind.replace('_', ' ')} on {len(chosen)} "
                              "finding(s)."))
