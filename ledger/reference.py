"""Reference data: the company, its cost centres, GL accounts and FX rates.

Plain frozen values. Validation that needs only the value itself happens here; validation that
needs the rest of the data (a parent that must exist, a cycle in the hierarchy) happens in the
services that store them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.errors import InputError
from ledger.money import normalise_currency, to_decimal

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,39}$")


def check_code(value: str, *, field: str) -> str:
    """A code is 1-40 letters, digits, ``_ . - /``, starting with a letter or digit."""
    text = (value or "").strip()
    if not _CODE.match(text):
        raise InputError(
            "must be 1-40 letters, digits or _ . - / and start with a letter or digit",
            field=field, value=value,
        )
    return text


@dataclass(frozen=True, slots=True)
class Company:
    """The legal entity whose books Apportion keeps.

    Attributes:
        code: the company code in the ERP (SAP company code, BC company name).
        name: legal name.
        functional_currency: ISO 4217 code all journals are booked in unless stated.
        fiscal_year_start_month: 1-12.
    """

    code: str
    name: str
    functional_currency: str
    fiscal_year_start_month: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", check_code(self.code, field="code"))
        object.__setattr__(self, "functional_currency",
                           normalise_currency(self.functional_currency))
        if not self.name.strip():
            raise InputError("the company needs a name", field="name")


@dataclass(frozen=True, slots=True)
class CostCentre:
    """A cost centre in the hierarchy that costs are charged to.

    Attributes:
        code: unique code, as in the ERP.
        name: display name.
        parent: code of the parent cost centre, or None for a top-level node.
        business_unit: the business unit that answers for it.
        owner: the person who owns its budget (login or e-mail), or None.
        valid_from, valid_to: inclusive validity dates; valid_to None means open-ended.
    """

    code: str
    name: str
    parent: str | None = None
    business_unit: str | None = None
    owner: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", check_code(self.code, field="code"))
        if not self.name or not self.name.strip():
            raise InputError("a cost centre needs a name", field="name")
        if self.parent is not None:
            parent = check_code(self.parent, field="parent")
            if parent == self.code:
                raise InputError("a cost centre cannot be its own parent", field="parent",
                                 value=self.parent)
            object.__setattr__(self, "parent", parent)
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise InputError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}",
                             field="valid_to", value=self.valid_to)

    def is_valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


class AccountType(enum.StrEnum):
    """What a GL account holds; decides where depreciation and recoveries are booked."""

    EXPENSE = "expense"
    ASSET = "asset"
    ACCUMULATED_DEPRECIATION = "accumulated_depreciation"
    RECOVERY = "recovery"  # IT recovery / clearing: the credit side of chargeback
    LIABILITY = "liability"
    REVENUE = "revenue"
    EQUITY = "equity"


@dataclass(frozen=True, slots=True)
class GlAccount:
    """A general-ledger account.

    Attributes:
        number: account number as in the ERP chart of accounts.
        name: display name.
        type: what the account holds.
    """

    number: str
    name: str
    type: AccountType

    def __post_init__(self) -> None:
        object.__setattr__(self, "number", check_code(self.number, field="number"))
        if not self.name or not self.name.strip():
            raise InputError("an account needs a name", field="name")
        try:
            object.__setattr__(self, "type", AccountType(str(self.type).strip().lower()))
        except ValueError:
            allowed = ", ".join(t.value for t in AccountType)
            raise InputError(f"unknown account type; use one of {allowed}", field="type",
                             value=self.type) from None


@dataclass(frozen=True, slots=True)
class FxRate:
    """One unit of ``base`` costs ``rate`` units of ``quote`` on ``day``.

    Attributes:
        base, quote: ISO 4217 codes.
        day: the date the rate applies from.
        rate: exact, positive.
    """

    base: str
    quote: str
    day: date
    rate: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", normalise_currency(self.base))
        object.__setattr__(self, "quote", normalise_currency(self.quote))
        rate = to_decimal(self.rate)
        if rate <= 0:
            raise InputError("an FX rate must be positive", field="rate", value=self.rate)
        object.__setattr__(self, "rate", rate)


@dataclass(frozen=True, slots=True)
class DriverQuantity:
    """How much of an allocation driver (headcount, usage, revenue) a cost centre has in a period.

    Attributes:
        driver: the driver's name, e.g. ``headcount``.
        cost_centre: cost-centre code.
        period: period key ``YYYY-MM``.
        quantity: exact, zero or more.
    """

    driver: str
    cost_centre: str
    period: str
    quantity: Decimal

    def __post_init__(self) -> None:
        quantity = to_decimal(self.quantity)
        if quantity < 0:
            raise InputError("a driver quantity cannot be negative", field="quantity",
                             value=self.quantity)
        object.__setattr__(self, "quantity", quantity)
