"""Serverless functions and spot or burstable instances: usage that a bill states per resource.

**Serverless.** A function (AWS Lambda, Azure Functions, Cloud Run) is charged on its own billing
rows, so the ordinary mapping rules already give its cost to its team. What the platform around
the functions costs (API gateway, logging) is shared: :func:`serverless_drivers` turns the
functions' consumed quantities into two driver tables, ``invocations`` and ``gb_seconds``, per
cost centre, by the same mapping rules, so a ``[[shared]]`` rule can split the platform by them.

**Spot and burstable.** A spot fleet or a burstable instance is billed as one resource, but
several workloads run on it in turn. :func:`runtime_split` charges each workload by the hours it
actually ran (an interrupted run counts the hours until the interruption, and nothing is left
over: whatever the fleet cost, the runs that used it pay all of it), and :func:`credit_split`
charges CPU-credit surcharges (``T3 CPU credits``, unlimited mode) to the workloads by the
credits they burned, never evenly. Both are exact to the cent by :func:`ledger.money.allocate`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledger.allocation.engine import CostLine, _Mapper, _period_bounds, _valid_codes
from ledger.allocation.rules import Pattern, RuleSet
from ledger.errors import InputError
from ledger.money import allocate
from ledger.reference import CostCentre

#: Services whose rows are functions (case-insensitive globs on ServiceName).
SERVERLESS_SERVICES = ("*Lambda*", "*Azure Functions*", "Functions", "*Cloud Run*",
                       "*Cloud Functions*")
INVOCATIONS, GB_SECONDS = "invocations", "gb_seconds"


def is_serverless(service: str | None) -> bool:
    return any(Pattern.of(p).matches(service) for p in SERVERLESS_SERVICES)


def driver_of_unit(unit: str | None) -> str | None:
    """Which driver a consumed unit feeds: requests and executions are invocations, GB-seconds
    (and GiB-seconds) are compute; anything else (data transfer ...) is neither."""
    text = (unit or "").casefold().replace(" ", "").replace("_", "-")
    if any(word in text for word in ("request", "invocation", "execution")):
        return INVOCATIONS
    if "second" in text and ("gb" in text or "gib" in text):
        return GB_SECONDS
    return None


@dataclass(frozen=True, slots=True)
class FunctionUsage:
    """A function's consumed quantity in one unit, with the billing attributes and tags that
    the mapping rules read (``line`` carries them; its amount is the rows' cost)."""

    line: CostLine
    unit: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class DriverTables:
    """Per driver and cost centre the quantity, and what no mapping rule placed."""

    quantities: dict[tuple[str, str], Decimal]
    unplaced: tuple[tuple[str, Decimal], ...]


def serverless_drivers(usage: Iterable[FunctionUsage], *, ruleset: RuleSet,
                       cost_centres: Iterable[CostCentre], period: str) -> DriverTables:
    """Invocations and GB-seconds per cost centre, placed by ``ruleset``'s mapping rules."""
    mapper = _Mapper(ruleset, _valid_codes(cost_centres, *_period_bounds(period)))
    quantities: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    unplaced: dict[str, Decimal] = defaultdict(Decimal)
    for item in usage:
        driver = driver_of_unit(item.unit)
        if driver is None or not item.quantity:
            continue
        outcome = mapper.outcome(item.line)
        if outcome.kind == "direct" and outcome.cost_centre:
            quantities[driver, outcome.cost_centre] += item.quantity
        else:
            unplaced[driver] += item.quantity
    return DriverTables(dict(quantities), tuple(sorted(unplaced.items())))


# -- spot and burstable ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstanceRun:
    """One workload's run on a spot or burstable instance in the period.

    Attributes:
        workload: who pays (a cost-centre code, or a tag value the rules map).
        hours: run time; for an interrupted run, the hours until the interruption.
        cpu_credits: CPU credits the run burned above the baseline (burstable instances).
        interrupted: the provider reclaimed the instance during the run (spot).
    """

    instance: str
    workload: str
    hours: Decimal
    cpu_credits: Decimal = Decimal(0)
    interrupted: bool = False


def _by(amount: Decimal, weights: Mapping[str, Decimal], what: str, instance: str
        ) -> dict[str, Decimal]:
    keys = sorted(k for k, v in weights.items() if v > 0)
    if not keys:
        raise InputError(f"instance {instance} has a cost of {amount} but no {what} to charge "
                         "it by", field=what, value=instance)
    quantum = Decimal(1).scaleb(min(int(amount.as_tuple().exponent), -2))
    return dict(zip(keys, allocate(amount, [weights[k] for k in keys], quantum=quantum),
                    strict=True))


def runtime_split(amount: Decimal, runs: Sequence[InstanceRun], *, instance: str
                  ) -> dict[str, Decimal]:
    """An instance's (or fleet's) run-time cost per workload, by the hours each ran."""
    hours: dict[str, Decimal] = defaultdict(Decimal)
    for run in runs:
        if run.hours < 0:
            raise InputError("must be zero or more", field="hours", value=run.hours)
        hours[run.workload] += run.hours
    return _by(amount, hours, "run hours", instance)


def credit_split(amount: Decimal, runs: Sequence[InstanceRun], *, instance: str
                 ) -> dict[str, Decimal]:
    """A CPU-credit surcharge per workload, by the credits each burned."""
    credits: dict[str, Decimal] = defaultdict(Decimal)
    for run in runs:
        credits[run.workload] += run.cpu_credits
    return _by(amount, credits, "CPU credits", instance)
