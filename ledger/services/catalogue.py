"""Use cases of the service catalogue: import it, list what each cost centre pays, and change a
subscription's tier, showing the cost implication first (the preview changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.access import Permission
from ledger.catalogue import (
    CatalogueService,
    Subscription,
    TierChange,
    monthly_cost,
    parse_catalogue,
    tier_change,
)
from ledger.catalogue_targets import SubscriptionWeight, expand, service_pools, weights
from ledger.errors import InputError, InputErrors, NotFoundError
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, authorize, record_change


def import_catalogue(*, uow: UnitOfWork, text: str, source: str = "<catalogue>",
                     reason: str | None = None) -> Changes:
    """Save the services and subscriptions of a catalogue file, all or nothing.

    Every cost centre named (a service's owner, a subscriber) must exist. A service or
    subscription equal to the stored one is left alone, so the same file again changes nothing;
    what the file does not mention is kept.
    """
    authorize(uow, Permission.MANAGE_CATALOGUE, doing="import the service catalogue")
    catalogue = parse_catalogue(text, source=source)
    known = {cc.code for cc in uow.cost_centres.list()}
    errors = [InputError("cost centre does not exist", source=source, row=f"service {s.code}",
                         field="owner", value=s.owner)
              for s in catalogue.services if s.owner not in known]
    errors += [InputError("cost centre does not exist", source=source,
                          row=f"subscription {s.service}/{s.cost_centre}", field="cost_centre",
                          value=s.cost_centre)
               for s in catalogue.subscriptions if s.cost_centre not in known]
    if errors:
        raise InputErrors(errors, source=source)
    changes = Changes(frozenset({"catalogue"}))
    for service in catalogue.services:
        changes += _save_service(uow, service, reason)
    for subscription in catalogue.subscriptions:
        changes += _save_subscription(uow, subscription, reason)
    return changes


def _save_service(uow: UnitOfWork, service: CatalogueService, reason: str | None) -> Changes:
    before = uow.catalogue.service(service.code)
    if before == service:
        return Changes(unchanged=1)
    uow.catalogue.save_service(service)
    record_change(uow, action="catalogue.service." + ("update" if before else "create"),
                  entity="catalogue_service", key=service.code, before=before, after=service,
                  reason=reason)
    return Changes(frozenset({"catalogue"}), created=int(before is None),
                   updated=int(before is not None))


def _save_subscription(uow: UnitOfWork, subscription: Subscription, reason: str | None
                       ) -> Changes:
    before = uow.catalogue.subscription(subscription.service, subscription.cost_centre)
    if before == subscription:
        return Changes(unchanged=1)
    uow.catalogue.save_subscription(subscription)
    record_change(uow, action="catalogue.subscription." + ("update" if before else "create"),
                  entity="catalogue_subscription",
                  key=f"{subscription.service}/{subscription.cost_centre}", before=before,
                  after=subscription, reason=reason)
    return Changes(frozenset({"catalogue"}), created=int(before is None),
                   updated=int(before is not None))


def _service(uow: UnitOfWork, code: str) -> CatalogueService:
    service = uow.catalogue.service(code)
    if service is None:
        raise NotFoundError(f"service {code} is not in the catalogue; see: apportion catalogue "
                            "list")
    return service


def quantity_of(uow: UnitOfWork, service: CatalogueService, subscription: Subscription,
                period: str) -> tuple[Decimal, str]:
    """The subscription's quantity and where it comes from (stated, or the driver's value)."""
    if subscription.quantity is not None:
        return subscription.quantity, "stated"
    assert service.driver is not None  # parse_catalogue refuses a subscription without either
    found = uow.drivers.get(service.driver, subscription.cost_centre, period)
    if found is None:
        raise NotFoundError(f"no {service.driver} quantity for cost centre "
                            f"{subscription.cost_centre} in {period}; import it with: apportion "
                            "drivers import FILE")
    return found.quantity, f"driver {service.driver} {period}"


@dataclass(frozen=True, slots=True)
class SubscriptionCost:
    service: CatalogueService
    subscription: Subscription
    quantity: Decimal
    quantity_source: str
    monthly_cost: Decimal

    def to_json(self) -> dict[str, Any]:
        tier = self.service.tier(self.subscription.tier)
        return {"service": self.service.code, "name": self.service.name,
                "cost_centre": self.subscription.cost_centre, "tier": tier.name,
                "sla": tier.sla(), "rate": format(tier.rate, "f"), "unit": self.service.unit,
                "quantity": format(self.quantity, "f"), "quantity_source": self.quantity_source,
                "currency": self.service.currency,
                "monthly_cost": format(self.monthly_cost, "f")}


def list_services(*, uow: UnitOfWork) -> list[CatalogueService]:
    authorize(uow, Permission.READ, doing="list the service catalogue")
    return uow.catalogue.services()


def subscription_costs(*, uow: UnitOfWork, period: str) -> list[SubscriptionCost]:
    """What each cost centre pays each service per month, at its tier, in ``period``."""
    authorize(uow, Permission.READ, doing="list the service catalogue")
    services = {s.code: s for s in uow.catalogue.services()}
    costs = []
    for subscription in uow.catalogue.subscriptions():
        service = services[subscription.service]
        quantity, source = quantity_of(uow, service, subscription, period)
        costs.append(SubscriptionCost(service, subscription, quantity, source, monthly_cost(
            service.tier(subscription.tier), quantity, service.currency)))
    return costs


def _subscription(uow: UnitOfWork, service: CatalogueService, cost_centre: str) -> Subscription:
    found = uow.catalogue.subscription(service.code, cost_centre)
    if found is None:
        raise NotFoundError(f"cost centre {cost_centre} does not subscribe to {service.code}")
    return found


def preview_tier_change(*, uow: UnitOfWork, service: str, cost_centre: str, tier: str,
                        period: str) -> TierChange:
    """The monthly cost before and after moving a subscription to ``tier``; changes nothing."""
    authorize(uow, Permission.READ, doing="preview a change of tier")
    found = _service(uow, service)
    subscription = _subscription(uow, found, cost_centre)
    quantity, source = quantity_of(uow, found, subscription, period)
    return tier_change(found, subscription, tier, quantity, source, period)


def change_tier(*, uow: UnitOfWork, service: str, cost_centre: str, tier: str, period: str,
                reason: str | None) -> tuple[TierChange, Changes]:
    """Move a subscription to ``tier``; the audit event keeps the cost implication shown."""
    authorize(uow, Permission.MANAGE_CATALOGUE, doing="change a service tier")
    if not reason or not reason.strip():
        raise InputError("a change of tier needs a reason (--reason \"...\")", field="reason")
    change = preview_tier_change(uow=uow, service=service, cost_centre=cost_centre, tier=tier,
                                 period=period)
    before = _subscription(uow, _service(uow, service), cost_centre)
    if change.from_tier == change.to_tier:
        return change, Changes(frozenset({"catalogue"}), unchanged=1)
    after = Subscription(before.service, before.cost_centre, change.to_tier.name,
                         before.quantity)
    uow.catalogue.save_subscription(after)
    record_change(uow, action="catalogue.tier_change", entity="catalogue_subscription",
                  key=f"{after.service}/{after.cost_centre}", before=before,
                  after={"subscription": after, "cost": change.to_json()}, reason=reason.strip())
    return change, Changes(frozenset({"catalogue"}), updated=1)


# -- services as allocation targets ----------------------------------------------------------


def _quantity_or_none(uow: UnitOfWork, service: CatalogueService, subscription: Subscription,
                      period: str) -> Decimal | None:
    if subscription.quantity is not None:
        return subscription.quantity
    found = uow.drivers.get(service.driver, subscription.cost_centre, period) \
        if service.driver else None
    return None if found is None else found.quantity


def subscription_weights(uow: UnitOfWork, service: CatalogueService, period: str
                         ) -> list[SubscriptionWeight]:
    """The subscribers of ``service`` in ``period`` with their units, tier rate and price (a
    subscriber whose driver has no quantity for the period is left out: it weighs nothing)."""
    subscriptions = {s.cost_centre: s for s in uow.catalogue.subscriptions(service.code)}
    quantities = {centre: _quantity_or_none(uow, service, s, period)
                  for centre, s in subscriptions.items()}
    return weights(service, subscriptions, quantities)


def catalogue_step(uow: UnitOfWork, *, period: str, ruleset: Any) -> tuple[Any, list[Any]]:
    """The allocation's pre-step: pools split by a catalogue service (``driver =
    "service:CODE"``) get the service's subscribers as targets and their subscription values
    as driver quantities (see :mod:`ledger.catalogue_targets`). A rule set without such a pool
    is returned as it is. Reads only, so it runs inside dry runs and explanations too."""
    pools = service_pools(ruleset)
    if not pools:
        return ruleset, []
    subscribers = {}
    for basis in pools.values():
        service = uow.catalogue.service(basis.service)
        if service is not None:
            subscribers[basis.service] = subscription_weights(uow, service, period)
    return expand(ruleset, period, subscribers)


@dataclass(frozen=True, slots=True)
class ServiceCharge:
    """What the period's allocation run charged through one catalogue service: per subscriber,
    its weight and the amount, from the run's stored lines (so the totals are the run's)."""

    service: CatalogueService
    pool: str
    rule: str
    at_rate: bool
    weights: tuple[SubscriptionWeight, ...]
    charged: tuple[tuple[str, str, Decimal], ...]  # (cost centre, currency, amount)

    def to_json(self) -> dict[str, Any]:
        by_centre = {w.cost_centre: w for w in self.weights}
        return {"service": self.service.code, "name": self.service.name, "pool": self.pool,
                "rule": self.rule, "basis": "catalogue rate" if self.at_rate
                else "units x tier rate",
                "lines": [{"cost_centre": centre, "currency": currency,
                           "amount": format(amount, "f"),
                           "tier": by_centre[centre].tier if centre in by_centre else None,
                           "quantity": format(by_centre[centre].quantity, "f")
                           if centre in by_centre else None,
                           "catalogue_price": format(by_centre[centre].price, "f")
                           if centre in by_centre else None}
                          for centre, currency, amount in self.charged]}


def service_charges(*, uow: UnitOfWork, period: str) -> list[ServiceCharge]:
    """Per catalogue service that is an allocation target in ``period``'s current run, what
    each subscriber was charged through it (the desktop's catalogue view and the statement
    read this)."""
    authorize(uow, Permission.READ, doing="read the service catalogue")
    from ledger.services.reports import current_run

    run = current_run(uow, period)
    version = uow.rulesets.get(run.ruleset_name, run.ruleset_version)
    if version is None:
        return []
    lines = uow.allocation_runs.lines(run.id)
    found = []
    for basis in service_pools(version.ruleset()).values():
        service = uow.catalogue.service(basis.service)
        if service is None:
            continue
        totals: dict[tuple[str, str], Decimal] = {}
        for line in lines:
            if line.pool == basis.pool and line.rule == basis.rule:
                key = (line.cost_centre, line.currency)
                totals[key] = totals.get(key, Decimal(0)) + line.amount
        found.append(ServiceCharge(service, basis.pool, basis.rule, basis.at_rate,
                                   tuple(subscription_weights(uow, service, period)),
                                   tuple((c, cur, a) for (c, cur), a in sorted(totals.items()))))
    return found
