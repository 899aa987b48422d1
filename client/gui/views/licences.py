"""Licences: the compliance position per product, and a drill into a product's entitlements,
seat assignments and the installations discovery found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QLabel, QSplitter, QTabWidget, QVBoxLayout, QWidget

from client.gui.paging import DATE, INTEGER, MONEY, Column
from client.gui.views.base import ClientContext, View, follow_selection, rows_table
from ledger.services import licences as licence_service

#: Installations listed in the drill-down (the position counts them all).
MAX_INSTALLATIONS = 2000


def available() -> bool:
    return True


@dataclass(frozen=True)
class ProductDrill:
    entitlements: list[tuple[Any, ...]]
    seats: list[tuple[Any, ...]]
    installations: list[tuple[Any, ...]]


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def product_drill(uow: Any, publisher: str | None, product: str) -> ProductDrill:
    entitlements = [e for e in licence_service.list_entitlements(uow=uow)
                    if _same(e.product, product) and (publisher is None
                                                      or _same(e.publisher, publisher))]
    keys = {e.key for e in entitlements}
    seats = [s for s in licence_service.list_assignments(uow=uow) if s.entitlement in keys]
    installations = []
    for item in uow.licences.installations():
        if _same(item.product, product):
            installations.append((item.hostname or item.record_id, item.version or "",
                                  item.owner or "", item.asset_tag or "", item.source))
            if len(installations) >= MAX_INSTALLATIONS:
                break
    return ProductDrill(
        [(e.key, e.metric.value, e.quantity, e.unit_cost, e.currency, e.cost_basis.value,
          e.term_start, e.term_end) for e in entitlements],
        [(s.entitlement, s.assignee_kind.value, s.assignee, s.cost_centre or "", s.since)
         for s in seats], installations)


class LicencesView(View):
    title = "Licences"
    interests = frozenset({"entitlement", "seat_assignment", "installation", "licence"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.positions: list[Any] = []
        self.summary = QLabel("")
        self.summary.setObjectName("licence-summary")
        self.table, self.model = rows_table((
            Column("publisher", "Publisher", width=110), Column("product", "Product", width=200),
            Column("metric", "Metric", width=90), Column("entitled", "Entitled", INTEGER, 70),
            Column("consumed", "Consumed", INTEGER, 75),
            Column("surplus", "Surplus", INTEGER, 65),
            Column("shortfall", "Shortfall", INTEGER, 70),
            Column("true_up", "True-up cost", MONEY, 110), Column("currency", "Cur.", width=45),
            Column("installations", "Installations", INTEGER, 90),
            Column("assigned", "Seats", INTEGER, 60), Column("estimated", "Estimated",
                                                             width=70)))
        follow_selection(self.table, self.drill)
        self.entitlements, self.entitlements_model = rows_table((
            Column("key", "Entitlement", width=150), Column("metric", "Metric", width=90),
            Column("quantity", "Quantity", INTEGER, 70), Column("unit", "Unit cost", MONEY, 90),
            Column("currency", "Cur.", width=45), Column("basis", "Basis", width=80),
            Column("from", "From", DATE, 90), Column("to", "To", DATE, 90)))
        self.seats, self.seats_model = rows_table((
            Column("entitlement", "Entitlement", width=150), Column("kind", "To", width=60),
            Column("assignee", "Assignee", width=180),
            Column("centre", "Cost centre", width=90), Column("since", "Since", DATE, 90)))
        self.installed, self.installed_model = rows_table((
            Column("device", "Device", width=160), Column("version", "Version", width=90),
            Column("owner", "Owner", width=150), Column("tag", "Asset tag", width=100),
            Column("source", "Source", width=90)))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.entitlements, "Entitlements")
        self.tabs.addTab(self.seats, "Seat assignments")
        self.tabs.addTab(self.installed, "Installations")
        splitter = QSplitter()
        splitter.setOrientation(splitter.orientation().__class__.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

    def refresh(self) -> None:
        self.runner.query(lambda uow: licence_service.licence_position(uow=uow),
                          success=self.show_position, failure=self.failed,
                          title="Reading the licence position")

    def show_position(self, positions: list[Any]) -> None:
        self.positions = sorted(positions, key=lambda p: (-p.shortfall, p.product))
        self.model.set_rows([
            (p.publisher or "", p.product, p.metric.value, p.entitled, p.consumed, p.surplus,
             p.shortfall, p.true_up_cost, p.currency or "", p.installations, p.assigned,
             "yes" if p.estimated else "") for p in self.positions])
        short = [p for p in self.positions if p.shortfall]
        self.summary.setText(f"<b>{len(self.positions)}</b> product(s); <b>{len(short)}</b> "
                             "short of licences" + (": " + ", ".join(
                                 f"{p.product} ({p.shortfall})" for p in short[:5])
                                 if short else ""))

    def drill(self, row: int) -> None:
        if not 0 <= row < len(self.positions):
            return
        position = self.positions[row]
        self.runner.query(
            lambda uow: product_drill(uow, position.publisher, position.product),
            success=self.show_drill, failure=self.failed,
            title=f"Reading {position.product}")

    def show_drill(self, drill: ProductDrill) -> None:
        self.entitlements_model.set_rows(drill.entitlements)
        self.seats_model.set_rows(drill.seats)
        self.installed_model.set_rows(drill.installations)
