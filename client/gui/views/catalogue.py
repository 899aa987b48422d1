"""The service catalogue: services with their tiers, SLAs and rates, what each cost centre pays
per month at its tier in the page's period, and a change of tier: its cost implication shown
first (:func:`ledger.services.catalogue.preview_tier_change`, which changes nothing), then made,
after a confirmation that repeats that cost, by users who may manage the catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from client.gui.access import guard
from client.gui.charts import ChartWidget
from client.gui.models import format_money
from client.gui.paging import MONEY, Column
from client.gui.views.base import ClientContext, rows_table
from client.gui.views.report_tab import ReportTab
from ledger.access import Permission
from ledger.catalogue import CatalogueService, TierChange
from ledger.services import catalogue as catalogue_service
from ledger.services.base import Changes
from ledger.services.catalogue import SubscriptionCost

TIER_COLUMNS = (
    Column("service", "Service", width=80), Column("name", "Name", width=170),
    Column("tier", "Tier", width=80), Column("rate", "Rate / unit / month", MONEY, 120),
    Column("unit", "Unit", width=70), Column("currency", "Cur.", width=45),
    Column("sla", "Service level", width=330), Column("owner", "Owner", width=60))
SUBSCRIPTION_COLUMNS = (
    Column("service", "Service", width=80), Column("cost_centre", "Cost centre", width=80),
    Column("tier", "Tier", width=80), Column("quantity", "Quantity", width=80),
    Column("source", "Quantity from", width=170), Column("monthly", "Monthly cost", MONEY, 110),
    Column("currency", "Cur.", width=45))


@dataclass(frozen=True, slots=True)
class CataloguePage:
    period: str
    services: list[CatalogueService]
    costs: list[SubscriptionCost]


def catalogue_page(uow: Any, period: str) -> CataloguePage:
    return CataloguePage(period, catalogue_service.list_services(uow=uow),
                         catalogue_service.subscription_costs(uow=uow, period=period))


def tier_rows(services: list[CatalogueService]) -> list[tuple[Any, ...]]:
    return [(s.code, s.name, t.name, t.rate, s.unit, s.currency, t.sla(), s.owner)
            for s in services for t in s.tiers]


def subscription_row(cost: SubscriptionCost) -> tuple[Any, ...]:
    return (cost.service.code, cost.subscription.cost_centre, cost.subscription.tier,
            format(cost.quantity, "f"), cost.quantity_source, cost.monthly_cost,
            cost.service.currency)


def signed(amount: Decimal) -> str:
    return ("+" if amount >= 0 else "−") + format_money(abs(amount))


def preview_text(change: TierChange) -> str:
    """The cost implication in one paragraph of rich text."""
    c = change.currency
    return (f"<b>{change.service}</b> for cost centre <b>{change.cost_centre}</b>: "
            f"{change.from_tier.name} → {change.to_tier.name}, {change.quantity} unit(s) "
            f"({change.quantity_source})<br>Monthly cost {c} {format_money(change.cost_before)}"
            f" → {c} {format_money(change.cost_after)}: <b>{signed(change.difference)} a month"
            f"</b> ({signed(change.difference * 12)} a year)<br>Service level: "
            f"{change.from_tier.sla()} → {change.to_tier.sla()}")


class CatalogueTab(ReportTab):
    title = "Service catalogue"
    interests = frozenset({"catalogue", "driver"})

    def __init__(self, context: ClientContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.page: CataloguePage | None = None
        self.preview: TierChange | None = None
        self.load_error = False
        self.state = QLabel("")
        self.state.setObjectName("catalogue-state")
        self.tiers_table, self.tiers_model = rows_table(TIER_COLUMNS)
        self.subscriptions_table, self.subscriptions_model = rows_table(SUBSCRIPTION_COLUMNS)
        self.subscriptions_table.setObjectName("subscriptions-table")
        # On the selection, not the current row: after a reload the current row can already
        # be the one clicked, and choosing it would then say nothing.
        self.subscriptions_table.selectionModel().selectionChanged.connect(
            lambda _s, _d: self._subscription_chosen())
        self.chart = ChartWidget("Monthly cost per cost centre", "bar")
        lower = QSplitter()
        lower.addWidget(self.subscriptions_table)
        lower.addWidget(self.chart)
        lower.setStretchFactor(0, 2)
        body = QSplitter()
        body.setOrientation(body.orientation().__class__.Vertical)
        body.addWidget(self.tiers_table)
        body.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.state)
        layout.addWidget(body, 1)
        layout.addWidget(self._change_box())

    def _change_box(self) -> QGroupBox:
        box = QGroupBox("Change the selected subscription's tier")
        self.tier = QComboBox()
        self.tier.setObjectName("target-tier")
        self.tier.currentIndexChanged.connect(lambda _i: self.load_preview())
        self.preview_label = QLabel("Select a subscription to see what another tier costs.")
        self.preview_label.setObjectName("tier-preview")
        self.preview_label.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setObjectName("tier-reason")
        self.reason.setPlaceholderText("Why change the tier (required, audited)")
        self.change_button = QPushButton("Change tier…")
        self.change_button.setObjectName("change-tier")
        self.change_button.clicked.connect(self.change)
        bar = QHBoxLayout()
        for widget in (QLabel("To tier"), self.tier, self.reason):
            bar.addWidget(widget)
        bar.addWidget(self.change_button)
        layout = QVBoxLayout(box)
        layout.addWidget(self.preview_label)
        layout.addLayout(bar)
        return box

    # -- loading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        period = self.period
        if not period:
            return
        self.runner.query(lambda uow: catalogue_page(uow, period), success=self.show_page,
                          failure=self._unreadable,
                          title=f"Reading the service catalogue, {period}")

    def _unreadable(self, error: BaseException) -> None:
        """Nothing of another period stays on screen (a driver without quantities for the
        period, say): the error says what is missing."""
        self.page = None
        self.load_error = True
        self.tiers_model.set_rows([])
        self.subscriptions_model.set_rows([])
        self.chart.set_data([], [])
        self.state.setText("")
        self._subscription_chosen()
        self.failed(error)

    def show_page(self, page: CataloguePage) -> None:
        self.page = page
        if self.load_error:  # what could not be read now can: the error is gone
            self.load_error = False
            self.notice("")
        self.tiers_model.set_rows(tier_rows(page.services))
        self.subscriptions_model.set_rows([subscription_row(c) for c in page.costs])
        by_centre: dict[str, Decimal] = {}
        for cost in page.costs:
            centre = cost.subscription.cost_centre
            by_centre[centre] = by_centre.get(centre, Decimal(0)) + cost.monthly_cost
        currencies = sorted({c.service.currency for c in page.costs})
        self.chart.title = f"Monthly cost per cost centre, {page.period} ({', '.join(currencies)})"
        self.chart.set_data(list(by_centre), [("Monthly cost", list(by_centre.values()))])
        self.state.setText(
            f"{len(page.services)} service(s), {len(page.costs)} subscription(s), priced for "
            f"{page.period}" if page.services else
            "No service catalogue yet: import one with apportion catalogue import FILE.toml.")
        self._subscription_chosen()

    def selected(self) -> SubscriptionCost | None:
        rows = self.subscriptions_table.selectionModel().selectedRows()
        if self.page is None or len(rows) != 1 or not 0 <= rows[0].row() < len(self.page.costs):
            return None
        return self.page.costs[rows[0].row()]

    def _subscription_chosen(self) -> None:
        chosen = self.selected()
        self.tier.blockSignals(True)
        self.tier.clear()
        if chosen is not None:
            for tier in chosen.service.tiers:
                self.tier.addItem(tier.name, tier.name)
            self.tier.setCurrentIndex(max(0, self.tier.findData(chosen.subscription.tier)))
        self.tier.blockSignals(False)
        self.load_preview()

    def load_preview(self) -> None:
        """Ask the service what the chosen tier would cost (it changes nothing)."""
        self.preview = None
        chosen, tier, period = self.selected(), self.tier.currentData(), self.period
        if chosen is None or tier is None:
            self.preview_label.setText("Select a subscription to see what another tier costs.")
            self.apply_actor()
            return
        service, centre = chosen.service.code, chosen.subscription.cost_centre
        self.runner.query(
            lambda uow: catalogue_service.preview_tier_change(
                uow=uow, service=service, cost_centre=centre, tier=tier, period=period),
            success=self.show_preview, failure=self.failed,
            title=f"Costing {service} for {centre} at {tier}")
        self.apply_actor()

    def show_preview(self, change: TierChange) -> None:
        chosen = self.selected()
        if chosen is None or (change.service, change.cost_centre, change.to_tier.name) != (
                chosen.service.code, chosen.subscription.cost_centre, self.tier.currentData()):
            return  # an answer to an earlier choice
        self.preview = change
        self.preview_label.setText(preview_text(change))
        self.apply_actor()

    # -- changing ---------------------------------------------------------------------------

    def apply_actor(self) -> None:
        if guard(self.change_button, self.actor, Permission.MANAGE_CATALOGUE,
                 doing="change a service tier",
                 tip="Move the subscription to the tier shown, after confirming its cost"):
            why = self._cannot_change()
            if why:
                self.change_button.setEnabled(False)
                self.change_button.setToolTip(why)

    def _cannot_change(self) -> str | None:
        if self.preview is None:
            return "Select a subscription and a tier: its cost is shown before any change"
        if self.preview.from_tier.name == self.preview.to_tier.name:
            return f"The subscription is already at {self.preview.to_tier.name}"
        return None

    def change(self) -> None:
        change, reason = self.preview, self.reason.text().strip()
        if change is None:
            self.notice("Select a subscription and a tier first.", error=True)
            return
        if not reason:
            self.notice("Say why: a change of tier needs a reason.", error=True)
            self.reason.setFocus()
            return
        text = (f"Move {change.service} for {change.cost_centre} from {change.from_tier.name} "
                f"to {change.to_tier.name}?\n\nMonthly cost {change.currency} "
                f"{format_money(change.cost_before)} → {format_money(change.cost_after)} "
                f"({signed(change.difference)} a month, {signed(change.difference * 12)} a "
                "year).")
        if not self.confirm("Change the service tier", text):
            return
        service, centre, tier, period = (change.service, change.cost_centre,
                                         change.to_tier.name, change.period)

        def work(uow: Any, _ctx: Any) -> tuple[TierChange, Changes]:
            return catalogue_service.change_tier(uow=uow, service=service, cost_centre=centre,
                                                 tier=tier, period=period, reason=reason)

        self.runner.write(work, success=self._changed, failure=self.failed,
                          title=f"Changing {service} for {centre} to {tier}")

    def _changed(self, change: TierChange) -> None:
        self.reason.clear()
        self.notice(f"{change.service} for {change.cost_centre} is now {change.to_tier.name}: "
                    f"{signed(change.difference)} {change.currency} a month.")
