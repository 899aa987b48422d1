"""Inventory: the asset register (any size) with filters, and one asset's detail: its
identifiers (editable, with undo and redo), lifecycle events and depreciation schedule."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.charts import ChartWidget
from client.gui.paging import DATE, MONEY, Column, asset_charges, asset_register
from client.gui.views.base import ClientContext, TablePanel, View, rows_table
from ledger.access import Permission
from ledger.asset import Asset, AssetEvent
from ledger.services import assets as asset_service
from ledger.services.base import Changes
from ledger.services.depreciation import asset_depreciation
from ledger.staging import staged

#: The identifiers an asset manager edits in place (the rest changes through dated events).
EDITABLE = (("name", "Name"), ("serial_number", "Serial number"),
            ("manufacturer", "Manufacturer"), ("model", "Model"), ("location", "Location"))


@dataclass(frozen=True)
class AssetDetail:
    asset: Asset
    events: list[AssetEvent]
    books: list[str]
    schedule: dict[str, Any] | None
    charges: list[tuple[Any, ...]]
    seats: list[tuple[Any, ...]]


def asset_detail(uow: Any, tag: str, book: str | None) -> AssetDetail:
    asset = asset_service.get_asset(uow=uow, tag=tag)
    books = [b.book for b in uow.assets.books(tag)]
    chosen = book if book in books else (books[0] if books else None)
    schedule = asset_depreciation(uow=uow, tag=tag, book=chosen) if chosen else None
    return AssetDetail(asset, uow.assets.events(tag), books, schedule,
                       asset_charges(uow, tag), _seats(uow, tag))


def _seats(uow: Any, tag: str) -> list[tuple[Any, ...]]:
    """Licence seats assigned to this device (empty when licences are not in this build)."""
    try:
        from ledger.services.licences import list_assignments
    except ImportError:
        return []
    return [(s.entitlement, s.cost_centre or "", s.since) for s in
            list_assignments(uow=uow) if s.assignee_kind.value == "device" and s.assignee == tag]


def save_asset(uow: Any, asset: Asset, reason: str) -> Changes:
    return asset_service.register_assets(uow=uow, assets=staged([asset]), reason=reason)


class EditAssetCommand(QUndoCommand):
    """One edit of an asset's identifiers. Redo saves ``after``, undo saves ``before``; both go
    through the register service, so each is authorised and audited with its reason."""

    def __init__(self, view: InventoryView, before: Asset, after: Asset, what: str) -> None:
        super().__init__(f"Edit {what} of {after.tag}")
        self.view, self.before, self.after = view, before, after

    def redo(self) -> None:
        self.view.save(self.after, reason=self.text())

    def undo(self) -> None:
        self.view.save(self.before, reason=f"undo: {self.text()}")


class InventoryView(View):
    title = "Inventory"
    interests = frozenset({"asset", "asset_event", "depreciation_book"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.panel = TablePanel(self, asset_register(), settings_key="inventory",
                                filters=(("kind", "Kind"), ("status", "Status"),
                                         ("cost_centre", "Cost centre")))
        self.undo_stack = QUndoStack(self)
        self.detail: AssetDetail | None = None
        self.current_tag: str | None = None
        self.panel.current_changed.connect(self.select_row)
        splitter = QSplitter()
        splitter.addWidget(self.panel)
        splitter.addWidget(self._detail_panel())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(splitter)

    def _detail_panel(self) -> QWidget:
        self.heading = QLabel("Select an asset")
        self.heading.setObjectName("asset-heading")
        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for key, label in EDITABLE:
            edit = QLineEdit()
            edit.setObjectName(f"field-{key}")
            self.fields[key] = edit
            form.addRow(label, edit)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        form.addRow(self.facts)
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply_edits)
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button.clicked.connect(self.undo_stack.redo)
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        buttons = QHBoxLayout()
        for button in (self.apply_button, self.undo_button, self.redo_button):
            buttons.addWidget(button)
        identity = QWidget()
        identity_layout = QVBoxLayout(identity)
        identity_layout.addLayout(form)
        identity_layout.addLayout(buttons)
        identity_layout.addStretch()

        self.events_table, self.events_model = rows_table((
            Column("effective", "Effective", DATE, 90), Column("kind", "Event", width=130),
            Column("book", "Book", width=60), Column("to", "To cost centre", width=100),
            Column("amount", "Amount", MONEY, 100), Column("note", "Note", width=200)))
        self.book = QComboBox()
        self.book.setObjectName("book")
        self.book.currentTextChanged.connect(lambda _t: self.load_detail())
        self.schedule_table, self.schedule_model = rows_table((
            Column("period_end", "Period end", DATE, 90),
            Column("amount", "Depreciation", MONEY, 110),
            Column("accumulated", "Accumulated", MONEY, 110),
            Column("nbv", "Net book value", MONEY, 120), Column("kind", "", width=70)))
        self.schedule_chart = ChartWidget("Net book value", "line")
        depreciation = QWidget()
        depreciation_layout = QVBoxLayout(depreciation)
        depreciation_layout.addWidget(self.book)
        depreciation_layout.addWidget(self.schedule_chart, 1)
        depreciation_layout.addWidget(self.schedule_table, 2)
        self.tabs = QTabWidget()
        self.tabs.addTab(identity, "Identifiers")
        self.tabs.addTab(self.events_table, "Lifecycle events")
        self.tabs.addTab(depreciation, "Depreciation")
        self.charges_table, self.charges_model = rows_table((
            Column("period", "Period", width=70), Column("book", "Book", width=60),
            Column("centre", "Cost centre", width=90), Column("amount", "Charged", MONEY, 110),
            Column("currency", "Cur.", width=45)))
        self.tabs.addTab(self.charges_table, "Cost history")
        self.seats_table, self.seats_model = rows_table((
            Column("entitlement", "Licence seat", width=180),
            Column("centre", "Cost centre", width=90), Column("since", "Since", DATE, 90)))
        self.tabs.addTab(self.seats_table, "Licences")
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.addWidget(self.heading)
        layout.addWidget(self.tabs)
        return panel

    # -- loading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        self.panel.load()
        if self.current_tag:
            self.load_detail()

    def apply_actor(self) -> None:
        for control in (self.apply_button, *self.fields.values()):
            guard(control, self.actor, Permission.MANAGE_ASSETS, doing="edit assets")

    def select_row(self, row: int) -> None:
        tag = self.panel.model.value(row, "tag") if row >= 0 else None
        if tag and tag != self.current_tag:
            self.current_tag = tag
            self.load_detail()

    def select_tag(self, tag: str) -> None:
        self.current_tag = tag
        self.load_detail()

    def load_detail(self) -> None:
        tag, book = self.current_tag, self.book.currentText() or None
        if not tag:
            return
        self.runner.query(lambda uow: asset_detail(uow, tag, book), success=self.show_detail,
                          failure=self.failed, title=f"Reading asset {tag}")

    def show_detail(self, detail: AssetDetail) -> None:
        if detail.asset.tag != self.current_tag:
            return
        self.detail = detail
        asset = detail.asset
        self.heading.setText(f"<b>{asset.tag}</b> · {asset.name}")
        for key, edit in self.fields.items():
            edit.setText(getattr(asset, key) or "")
        cost = "" if asset.purchase_cost is None else f"{asset.purchase_cost:,} {asset.currency}"
        self.facts.setText(
            f"{asset.kind.value} · {asset.status.value} · cost centre "
            f"{asset.cost_centre or '-'} · cost {cost or '-'} · in service "
            f"{asset.in_service_date or '-'}")
        self.events_model.set_rows([(e.effective, e.kind.value, e.book or "",
                                     e.to_cost_centre or "",
                                     e.amount if e.amount is not None else e.proceeds, e.note)
                                    for e in detail.events])
        self.book.blockSignals(True)
        self.book.clear()
        self.book.addItems(detail.books)
        if detail.schedule:
            self.book.setCurrentText(detail.schedule["book"])
        self.book.blockSignals(False)
        self.charges_model.set_rows(detail.charges)
        self.seats_model.set_rows(detail.seats)
        rows = (detail.schedule or {}).get("schedule", [])
        self.schedule_model.set_rows([
            (r["period_end"], Decimal(r["amount"]), Decimal(r["accumulated"]),
             Decimal(r["net_book_value"]), r["kind"]) for r in rows])
        self.schedule_chart.set_data([r["period_end"][:7] for r in rows],
                                     [("Net book value",
                                       [Decimal(r["net_book_value"]) for r in rows])])

    # -- edits with undo --------------------------------------------------------------------

    def apply_edits(self) -> None:
        if self.detail is None:
            return
        before = self.detail.asset
        changes = {key: (edit.text().strip() or None) for key, edit in self.fields.items()}
        changes["name"] = changes["name"] or before.name
        changed = [key for key, value in changes.items() if getattr(before, key) != value]
        if not changed:
            self.notice("Nothing to apply: the fields are as saved.")
            return
        try:
            after = replace(before, **changes)
        except Exception as exc:
            self.failed(exc)
            return
        self.undo_stack.push(EditAssetCommand(self, before, after, ", ".join(changed)))

    def save(self, asset: Asset, *, reason: str) -> None:
        self.runner.write(lambda uow, _ctx: save_asset(uow, asset, reason),
                          success=lambda _c: self.notice(f"Saved {asset.tag}: {reason}"),
                          failure=self.failed, title=f"Saving {asset.tag}")
