"""The service catalogue: IT services, their support tiers and SLAs, and what each costs.

A service (e-mail, laptops, a managed database) is offered in tiers (bronze, silver, gold),
each with a service level (availability, response time, support hours) and a rate per unit of
the service's cost driver (per user, per device, per GB-month). A cost centre subscribes to a
service at one tier for a quantity: stated, or read from the service's driver (``headcount``)
for the period. The monthly cost of a subscription is rate x quantity rounded once to the
currency, so that a change of tier shows its exact cost implication before it is made.

The catalogue is written in TOML (like rule sets) because a service nests its tiers::

    [[service]]
    code = "EMAIL"
    name = "E-mail and calendar"
    owner = "6010"            # the cost centre that runs it
    currency = "USD"
    unit = "user"
    driver = "headcount"      # optional: quantities per cost centre and period

    [[service.tier]]
    name = "bronze"
    rate = "6.50"             # per unit and month
    availability = "99.5"     # percent
    response_hours = "8"
    support_hours = "business hours"

    [[subscription]]
    service = "EMAIL"
    cost_centre = "1010"
    tier = "bronze"
    quantity = "40"           # optional when the service has a driver

Amounts are strings so that no float touches them; errors name the file, the element and the
field (``service[2].tier[1], field 'rate'``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.errors import InputError, InputErrors
from ledger.money import MoneyError, normalise_currency, round_to_currency, to_decimal
from ledger.reference import check_code


@dataclass(frozen=True, slots=True)
class ServiceTier:
    """One support tier: its rate per driver unit and month, and its service level."""

    name: str
    rate: Decimal
    availability: Decimal | None = None
    response_hours: Decimal | None = None
    support_hours: str = ""
    description: str = ""

    def sla(self) -> str:
        """The service level in words ("99.9 % availability, response within 4 h, 24x7")."""
        parts = []
        if self.availability is not None:
            parts.append(f"{self.availability} % availability")
        if self.response_hours is not None:
            parts.append(f"response within {self.response_hours} h")
        if self.support_hours:
            parts.append(self.support_hours)
        return ", ".join(parts) or "no stated service level"


@dataclass(frozen=True, slots=True)
class CatalogueService:
    """An IT service and its tiers (cheapest first as written)."""

    code: str
    name: str
    owner: str
    currency: str
    unit: str
    tiers: tuple[ServiceTier, ...]
    driver: str | None = None
    description: str = ""

    def tier(self, name: str) -> ServiceTier:
        for tier in self.tiers:
            if tier.name.casefold() == name.strip().casefold():
                return tier
        raise InputError(f"service {self.code} has no tier {name!r}; its tiers are "
                         f"{', '.join(t.name for t in self.tiers)}", field="tier", value=name)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A cost centre's use of a service at a tier; ``quantity`` None: from the driver."""

    service: str
    cost_centre: str
    tier: str
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Catalogue:
    services: tuple[CatalogueService, ...]
    subscriptions: tuple[Subscription, ...] = ()


def monthly_cost(tier: ServiceTier, quantity: Decimal, currency: str) -> Decimal:
    """Rate x quantity, rounded once to the currency's minor unit."""
    return round_to_currency(tier.rate * quantity, currency)


@dataclass(frozen=True, slots=True)
class TierChange:
    """What moving one subscription to another tier costs, per month, before it is made."""

    service: str
    cost_centre: str
    period: str
    currency: str
    quantity: Decimal
    quantity_source: str
    from_tier: ServiceTier
    to_tier: ServiceTier
    cost_before: Decimal
    cost_after: Decimal

    @property
    def difference(self) -> Decimal:
        return self.cost_after - self.cost_before

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service, "cost_centre": self.cost_centre, "period": self.period,
            "currency": self.currency, "quantity": format(self.quantity, "f"),
            "quantity_source": self.quantity_source,
            "from_tier": self.from_tier.name, "to_tier": self.to_tier.name,
            "from_rate": format(self.from_tier.rate, "f"),
            "to_rate": format(self.to_tier.rate, "f"),
            "from_sla": self.from_tier.sla(), "to_sla": self.to_tier.sla(),
            "monthly_cost_before": format(self.cost_before, "f"),
            "monthly_cost_after": format(self.cost_after, "f"),
            "monthly_difference": format(self.difference, "f"),
            "annual_difference": format(self.difference * 12, "f"),
        }


def tier_change(service: CatalogueService, subscription: Subscription, to_tier: str,
                quantity: Decimal, quantity_source: str, period: str) -> TierChange:
    """The cost implication of moving ``subscription`` to ``to_tier`` (nothing is changed)."""
    before = service.tier(subscription.tier)
    after = service.tier(to_tier)
    return TierChange(service.code, subscription.cost_centre, period, service.currency,
                      quantity, quantity_source, before, after,
                      monthly_cost(before, quantity, service.currency),
                      monthly_cost(after, quantity, service.currency))


# -- parsing --------------------------------------------------------------------------------


class _Errors:
    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[InputError] = []

    def add(self, where: str, field: str, message: str, value: object = None) -> None:
        self.found.append(InputError(message, source=self.source, row=where, field=field,
                                     value=value))


def _text(item: Mapping[str, Any], name: str, where: str, errors: _Errors, *,
          required: bool = True) -> str | None:
    value = item.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(where, name, "is required")
        return None
    if not isinstance(value, str):
        errors.add(where, name, "must be text", value)
        return None
    return value.strip()


def _decimal(item: Mapping[str, Any], name: str, where: str, errors: _Errors, *,
             required: bool = False, positive: bool = False) -> Decimal | None:
    value = item.get(name)
    if value is None:
        if required:
            errors.add(where, name, "is required")
        return None
    if isinstance(value, float):
        errors.add(where, name, 'write numbers as strings ("12.50") so that they stay exact',
                   value)
        return None
    try:
        number = to_decimal(value if isinstance(value, str | int) else str(value))
    except MoneyError:
        errors.add(where, name, "is not a number", value)
        return None
    if number < 0 or (positive and number == 0):
        errors.add(where, name, "must be more than 0" if positive else "must not be negative",
                   value)
        return None
    return number


def _tier(item: Any, where: str, errors: _Errors) -> ServiceTier | None:
    if not isinstance(item, dict):
        errors.add(where, "tier", "must be a table")
        return None
    name = _text(item, "name", where, errors)
    rate = _decimal(item, "rate", where, errors, required=True)
    availability = _decimal(item, "availability", where, errors)
    if availability is not None and availability > 100:
        errors.add(where, "availability", "is a percentage, at most 100", item["availability"])
    response = _decimal(item, "response_hours", where, errors)
    support = _text(item, "support_hours", where, errors, required=False) or ""
    if name is None or rate is None:
        return None
    return ServiceTier(name, rate, availability, response, support,
                       _text(item, "description", where, errors, required=False) or "")


def _code(item: Mapping[str, Any], name: str, where: str, errors: _Errors) -> str | None:
    value = _text(item, name, where, errors)
    if value is None:
        return None
    try:
        return check_code(value, field=name)
    except InputError as exc:
        errors.add(where, name, exc.message, value)
        return None


def _service(item: Any, index: int, errors: _Errors) -> CatalogueService | None:
    where = f"service[{index}]"
    if not isinstance(item, dict):
        errors.add(where, "service", "must be a table")
        return None
    code = _code(item, "code", where, errors)
    name = _text(item, "name", where, errors)
    owner = _code(item, "owner", where, errors)
    unit = _text(item, "unit", where, errors)
    currency = _text(item, "currency", where, errors)
    try:
        currency = normalise_currency(currency) if currency else None
    except MoneyError as exc:
        errors.add(where, "currency", str(exc), item.get("currency"))
        currency = None
    raw_tiers = item.get("tier") or []
    if not raw_tiers:
        errors.add(where, "tier", "a service needs at least one [[service.tier]]")
    tiers = [_tier(t, f"{where}.tier[{i}]", errors) for i, t in enumerate(raw_tiers, 1)]
    names = [t.name.casefold() for t in tiers if t]
    if len(names) != len(set(names)):
        errors.add(where, "tier", "two tiers have the same name")
    if None in (code, name, owner, unit, currency) or None in tiers:
        return None
    return CatalogueService(code, name, owner, currency, unit,  # type: ignore[arg-type]
                            tuple(t for t in tiers if t),
                            _text(item, "driver", where, errors, required=False),
                            _text(item, "description", where, errors, required=False) or "")


def _subscription(item: Any, index: int, services: Mapping[str, CatalogueService],
                  broken: set[str], errors: _Errors) -> Subscription | None:
    where = f"subscription[{index}]"
    if not isinstance(item, dict):
        errors.add(where, "subscription", "must be a table")
        return None
    service = _text(item, "service", where, errors)
    cost_centre = _code(item, "cost_centre", where, errors)
    tier = _text(item, "tier", where, errors)
    quantity = _decimal(item, "quantity", where, errors)
    if service is None or cost_centre is None or tier is None:
        return None
    found = services.get(service.upper())
    if found is None and service.upper() in broken:
        return None  # the service's own errors are reported already
    if found is None:
        errors.add(where, "service", "is not a service of the catalogue", service)
        return None
    try:
        tier = found.tier(tier).name
    except InputError as exc:
        errors.add(where, "tier", exc.message, tier)
        return None
    if quantity is None and found.driver is None:
        errors.add(where, "quantity", f"is required: service {found.code} has no driver")
        return None
    return Subscription(found.code, cost_centre, tier, quantity)


def parse_catalogue(text: str, *, source: str = "<catalogue>") -> Catalogue:
    """Parse a catalogue file; every error at once (:class:`InputErrors`), naming where."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=source) from None
    errors = _Errors(source)
    unknown = set(data) - {"service", "subscription"}
    for key in sorted(unknown):
        errors.add(key, key, "is not a section of a catalogue (service, subscription)")
    services = [_service(s, i, errors) for i, s in enumerate(data.get("service") or [], 1)]
    by_code: dict[str, CatalogueService] = {}
    for service in services:
        if service is None:
            continue
        if service.code.upper() in by_code:
            errors.add(service.code, "code", "two services have the same code", service.code)
        by_code[service.code.upper()] = service
    broken = {str(item.get("code", "")).strip().upper() for item, parsed
              in zip(data.get("service") or [], services, strict=True)
              if parsed is None and isinstance(item, dict)}
    subscriptions = [_subscription(s, i, by_code, broken, errors)
                     for i, s in enumerate(data.get("subscription") or [], 1)]
    keys = [(s.service, s.cost_centre) for s in subscriptions if s]
    if len(keys) != len(set(keys)):
        errors.add("subscription", "cost_centre",
                   "a cost centre subscribes to a service once (change its tier instead)")
    if errors.found:
        raise InputErrors(errors.found, source=source)
    if not by_code:
        raise InputError("the catalogue has no [[service]]", source=source)
    return Catalogue(tuple(by_code.values()), tuple(s for s in subscriptions if s))


def service_from_json(data: Mapping[str, Any]) -> CatalogueService:
    """A stored service (see :func:`service_to_json`) back as a value."""
    def opt(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return CatalogueService(
        data["code"], data["name"], data["owner"], data["currency"], data["unit"],
        tuple(ServiceTier(t["name"], Decimal(t["rate"]), opt(t.get("availability")),
                          opt(t.get("response_hours")), t.get("support_hours", ""),
                          t.get("description", "")) for t in data["tiers"]),
        data.get("driver"), data.get("description", ""))


def tiers_to_json(tiers: Sequence[ServiceTier]) -> list[dict[str, Any]]:
    def opt(value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")

    return [{"name": t.name, "rate": format(t.rate, "f"), "availability": opt(t.availability),
             "response_hours": opt(t.response_hours), "support_hours": t.support_hours,
             "description": t.description} for t in tiers]
