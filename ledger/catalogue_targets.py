"""Catalogue services as allocation targets: a pool that *is* a service passes its cost on to the
service's subscribers.

A chargeback model usually runs cost pools -> IT services -> consumers. In a rule set, a service
is a pool whose shared rule is split by the service's subscriptions, named by its driver::

    [[pools]]
    id = "email"
    name = "E-mail and calendar"
    owner = "6010"

    [[shared]]
    id = "S-EMAIL"
    pool = "email"
    driver = "service:EMAIL"        # or "service-rate:EMAIL"

Other pools send their cost (or a share of it) to the service like to any pool
(``percent = { "pool:email" = "40", ... }``), and mapping rules send billing into it
(``pool = "email"``, ``shared = true``). The shared rule needs no targets: before the run they
become the service's subscribers (the catalogue says who they are), and the driver quantities
are computed from the subscriptions of the period:

- ``service:CODE``: the pool's whole cost split in proportion to each subscription's value,
  units x tier rate (a gold mailbox weighs more than a bronze one); everything is recovered.
- ``service-rate:CODE``: each subscriber pays the catalogue price, units x tier rate rounded to
  the cent (the rate card of :mod:`ledger.allocation.engine` at one currency unit per unit of
  value); what the price does not recover (or over-recovers) stays with the pool's owner as its
  rate difference. The service's currency must be the pool's.

Everything stays in the engine's exact arithmetic, so the step conserves every cent like any
other split. Nothing here reads the database: :func:`ledger.services.catalogue.catalogue_step`
gathers the subscriptions and quantities.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from ledger.catalogue import CatalogueService, Subscription, monthly_cost
from ledger.errors import InputError

#: Driver prefixes of a shared rule split by a catalogue service's subscriptions.
SERVICE_DRIVER = "service:"
SERVICE_RATE_DRIVER = "service-rate:"


@dataclass(frozen=True, slots=True)
class ServiceBasis:
    """How one pool reaches its service's subscribers."""

    pool: str
    rule: str
    service: str
    at_rate: bool


def service_of(driver: str | None) -> tuple[str, bool] | None:
    """``(service code, at_rate)`` of a ``service:`` / ``service-rate:`` driver, else None."""
    if not driver:
        return None
    for prefix, at_rate in ((SERVICE_RATE_DRIVER, True), (SERVICE_DRIVER, False)):
        if driver.startswith(prefix) and driver[len(prefix):].strip():
            return driver[len(prefix):].strip().upper(), at_rate
    return None


def is_service_driver(driver: str | None) -> bool:
    return service_of(driver) is not None


def service_pools(ruleset: object) -> dict[str, ServiceBasis]:
    """Pool id -> its service basis, for every pool of ``ruleset`` split by a service."""
    found = {}
    for rule in getattr(ruleset, "shared", ()):
        basis = service_of(rule.driver)
        if basis is not None:
            found[rule.pool] = ServiceBasis(rule.pool, rule.id, basis[0], basis[1])
    return found


@dataclass(frozen=True, slots=True)
class SubscriptionWeight:
    """One subscriber's weight in its service's split: units x tier rate (exact), and the
    catalogue price of the month (rounded once to the cent)."""

    cost_centre: str
    tier: str
    quantity: Decimal
    rate: Decimal
    price: Decimal

    @property
    def value(self) -> Decimal:
        return self.quantity * self.rate


def weights(service: CatalogueService, subscriptions: Mapping[str, Subscription],
            quantities: Mapping[str, Decimal | None]) -> list[SubscriptionWeight]:
    """The weights of ``service``'s subscribers; a subscriber without a quantity (its driver
    has none for the period) weighs nothing, like a target without a driver quantity."""
    found = []
    for centre, subscription in sorted(subscriptions.items()):
        quantity = quantities.get(centre)
        if quantity is None:
            continue
        tier = service.tier(subscription.tier)
        found.append(SubscriptionWeight(centre, tier.name, quantity, tier.rate,
                                        monthly_cost(tier, quantity, service.currency)))
    return found


def expand(ruleset: object, period: str,
           subscribers: Mapping[str, list[SubscriptionWeight]]) -> tuple[object, list]:
    """``ruleset`` with every service pool's targets set to its subscribers, and the driver
    quantities of the ``service:`` drivers for ``period``.

    ``subscribers`` maps a service code to its weights. A service the catalogue lacks is an
    error naming the rule (a run must not quietly leave a pool unallocated by a typo).
    """
    from ledger.allocation.rules import Tier
    from ledger.reference import DriverQuantity

    pools = service_pools(ruleset)
    if not pools:
        return ruleset, []
    quantities = []
    shared = []
    for rule in ruleset.shared:  # type: ignore[attr-defined]
        basis = pools.get(rule.pool)
        if basis is None or basis.rule != rule.id:
            shared.append(rule)
            continue
        if basis.service not in subscribers:
            raise InputError(f"service {basis.service} is not in the catalogue; import it with: "
                             "apportion catalogue import FILE", row=f"shared rule {rule.id}",
                             field="driver", value=rule.driver)
        found = subscribers[basis.service]
        for weight in found:
            amount = weight.price if basis.at_rate else weight.value
            quantities.append(DriverQuantity(rule.driver, weight.cost_centre, period, amount))
        changes: dict[str, object] = {"targets": tuple(w.cost_centre for w in found)}
        if basis.at_rate:
            changes["tiers"] = (Tier(Decimal(1)),)  # one currency unit per unit of price
        shared.append(dataclasses.replace(rule, **changes))
    return dataclasses.replace(ruleset, shared=tuple(shared)), quantities  # type: ignore
