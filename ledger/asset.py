"""The asset register: what the organisation owns or subscribes to, and what happened to it.

Plain frozen values. An asset carries identifiers, where it sits (cost centre) and its lifecycle
status; depreciation books and dated events (transfers, changes of estimate, impairments,
disposal) hang off it by tag. The inventory work extends this register with discovery matching;
the depreciation work reads it through :mod:`ledger.books`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.depreciation import DepreciationTerms
from ledger.discovery import clean, normalise_mac
from ledger.errors import InputError
from ledger.money import normalise_currency, to_decimal
from ledger.reference import check_code


class AssetKind(enum.StrEnum):
    LAPTOP = "laptop"
    DESKTOP = "desktop"
    SERVER = "server"
    VIRTUAL_MACHINE = "virtual_machine"
    CLOUD_RESOURCE = "cloud_resource"
    NETWORK = "network"
    STORAGE = "storage"
    SOFTWARE_LICENCE = "software_licence"
    SAAS_SUBSCRIPTION = "saas_subscription"
    SHARED_INFRASTRUCTURE = "shared_infrastructure"


class LifecycleStatus(enum.StrEnum):
    ON_ORDER = "on_order"
    IN_STOCK = "in_stock"
    IN_SERVICE = "in_service"
    RETIRED = "retired"
    DISPOSED = "disposed"


class Environment(enum.StrEnum):
    """Whether an asset serves production (an outage is felt) or not."""

    PROD = "prod"
    NON_PROD = "non_prod"


def _enum(kind: type[enum.StrEnum], value: object, field: str) -> enum.StrEnum:
    try:
        return kind(str(value).strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise InputError(f"must be one of {allowed}", field=field, value=value) from None


#: Free-text attributes of an asset: stripped, and empty text is None.
_TEXT_FIELDS = ("serial_number", "manufacturer", "model", "location", "hostname",
                "hardware_uuid", "cloud_resource_id", "owner", "purchase_order", "contract")


def _macs(values: object) -> tuple[str, ...]:
    """The register's MACs in canonical form; a value that is no MAC is refused, not dropped
    (a person typed it, unlike an agent's report)."""
    if isinstance(values, str):
        values = [v for v in values.replace(",", ";").split(";") if v.strip()]
    found: list[str] = []
    for value in values or ():  # type: ignore[attr-defined]
        mac = normalise_mac(str(value))
        if mac is None:
            raise InputError("not a unicast MAC address (aa:bb:cc:dd:ee:ff)", field="macs",
                             value=value)
        if mac not in found:
            found.append(mac)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Asset:
    """One asset in the register.

    Attributes:
        tag: the asset tag, unique.
        name: what a person calls it ("Dell Latitude 7440 - J. Smith").
        kind: laptop, server, virtual machine, licence ...
        cost_centre: the cost centre that holds it now (transfers are dated events).
        status: lifecycle status.
        currency: ISO 4217 code of its cost.
        purchase_cost: acquisition cost in ``currency``, or None when not capitalised.
        purchase_date, in_service_date: when bought and when placed in service.
        serial_number, manufacturer, model, location: identification.
        hostname: the host name it answers to (short or fully qualified).
        macs: MAC addresses of its physical interfaces, canonical ``aa:bb:cc:dd:ee:ff``.
        hardware_uuid: the SMBIOS system UUID, in either byte order.
        cloud_resource_id: the provider's id for a cloud resource (EC2 instance id, ARN ...).
        owner: the person it is assigned to (login, UPN or e-mail).
        environment: prod or non-prod, where it matters (servers, VMs, cloud resources).
        purchase_order, contract: the procurement references it was bought or leased under.

    Identifiers are kept as written; :mod:`ledger.discovery` derives the keys reconciliation
    matches on, so that the register shows what a person typed and still matches what an agent
    reports.
    """

    tag: str
    name: str
    kind: AssetKind
    cost_centre: str | None
    status: LifecycleStatus = LifecycleStatus.IN_SERVICE
    currency: str = "USD"
    purchase_cost: Decimal | None = None
    purchase_date: date | None = None
    in_service_date: date | None = None
    serial_number: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    location: str | None = None
    hostname: str | None = None
    macs: tuple[str, ...] = ()
    hardware_uuid: str | None = None
    cloud_resource_id: str | None = None
    owner: str | None = None
    environment: Environment | None = None
    purchase_order: str | None = None
    contract: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag", check_code(self.tag, field="tag"))
        for name in _TEXT_FIELDS:
            object.__setattr__(self, name, clean(getattr(self, name)))
        object.__setattr__(self, "macs", _macs(self.macs))
        if self.environment is not None:
            object.__setattr__(self, "environment",
                               _enum(Environment, self.environment, "environment"))
        if not self.name or not self.name.strip():
            raise InputError("an asset needs a name", field="name")
        object.__setattr__(self, "kind", _enum(AssetKind, self.kind, "kind"))
        object.__setattr__(self, "status", _enum(LifecycleStatus, self.status, "status"))
        object.__setattr__(self, "currency", normalise_currency(self.currency))
        if self.purchase_cost is not None:
            cost = to_decimal(self.purchase_cost)
            if cost < 0:
                raise InputError("the purchase cost cannot be negative", field="purchase_cost",
                                 value=self.purchase_cost)
            object.__setattr__(self, "purchase_cost", cost)


@dataclass(frozen=True, slots=True)
class DepreciationBook:
    """One way of depreciating one asset (an IFRS book, a tax book ...).

    Attributes:
        asset_tag: the asset.
        book: the book's name, e.g. ``IFRS`` or ``TAX``.
        terms: method, life, salvage, convention, placed-in-service date and cost for this book.
        expense_account: GL account debited with the period's depreciation (per cost centre).
        accumulated_account: GL account credited (accumulated depreciation).
        posts_to_ledger: True for a corporate book, whose depreciation becomes draft journals
            and the depreciation cost pool; False for a tax book, which is only computed.
    """

    asset_tag: str
    book: str
    terms: DepreciationTerms
    expense_account: str
    accumulated_account: str
    posts_to_ledger: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "book", check_code(self.book, field="book").upper())


class AssetEventKind(enum.StrEnum):
    TRANSFER = "transfer"
    CHANGE_OF_ESTIMATE = "change_of_estimate"
    IMPAIRMENT = "impairment"
    DISPOSAL = "disposal"


@dataclass(frozen=True, slots=True)
class AssetEvent:
    """A dated thing that happened to an asset and changes its depreciation.

    Attributes:
        asset_tag: the asset.
        kind: transfer, change of estimate, impairment or disposal.
        effective: the date it takes effect (for a change of estimate, the first day of the
            period from which it applies; for a transfer, the first day at the new cost centre).
        book: the book it applies to; None for all books (transfers, disposals).
        to_cost_centre: transfers: the receiving cost centre.
        from_cost_centre: transfers: the giving cost centre.
        remaining_life_months: changes of estimate and impairments: the new remaining life.
        salvage: changes of estimate and impairments: the new salvage amount.
        amount: impairments: the write-down.
        proceeds: disposals: what the disposal brought in.
        note: why, in the user's words.
    """

    asset_tag: str
    kind: AssetEventKind
    effective: date
    book: str | None = None
    to_cost_centre: str | None = None
    from_cost_centre: str | None = None
    remaining_life_months: int | None = None
    salvage: Decimal | None = None
    amount: Decimal | None = None
    proceeds: Decimal | None = None
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _enum(AssetEventKind, self.kind, "kind"))
        if self.book is not None:
            object.__setattr__(self, "book", self.book.strip().upper())
        for name in ("salvage", "amount", "proceeds"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, to_decimal(value))
        if self.kind is AssetEventKind.TRANSFER and not self.to_cost_centre:
            raise InputError("a transfer needs the receiving cost centre", field="to_cost_centre")
        if self.kind is AssetEventKind.IMPAIRMENT and (self.amount is None or self.amount <= 0):
            raise InputError("an impairment needs a positive write-down amount", field="amount",
                             value=self.amount)
        if self.kind is AssetEventKind.CHANGE_OF_ESTIMATE and (
                self.remaining_life_months is None and self.salvage is None):
            raise InputError("a change of estimate needs a new remaining life or salvage",
                             field="remaining_life_months")


class LifecycleEventKind(enum.StrEnum):
    """What happened to an asset in its life (the depreciation events are :class:`AssetEvent`)."""

    DEPLOYMENT = "deployment"
    REASSIGNMENT = "reassignment"
    UPGRADE = "upgrade"
    DECOMMISSION = "decommission"
    DISPOSAL = "disposal"


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """A dated step in an asset's life, with who recorded it and why.

    Attributes:
        asset_tag: the asset.
        kind: deployment, reassignment, upgrade, decommission or disposal.
        occurred: the day it happened.
        attribute: for a reassignment or upgrade: what changed (``owner``, ``location``,
            ``cost_centre``, ``model`` ...).
        before, after: the attribute's value before and after.
        note: why, in the user's words (a reconciliation decision's reason).
        recorded_by: who recorded it.
    """

    asset_tag: str
    kind: LifecycleEventKind
    occurred: date
    attribute: str | None = None
    before: str | None = None
    after: str | None = None
    note: str = ""
    recorded_by: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _enum(LifecycleEventKind, self.kind, "kind"))
        if self.kind in (LifecycleEventKind.REASSIGNMENT, LifecycleEventKind.UPGRADE) and (
                not self.attribute):
            raise InputError(f"a {self.kind} names what changed", field="attribute")
