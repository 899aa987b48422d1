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

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

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


# -- spot and burstable in an allocation run -------------------------------------------------

#: Attributes a split spot line carries, so explain shows where it came from.
SPOT_ATTRIBUTE, SPOT_BASIS_ATTRIBUTE, SPOT_UNSPLIT_ATTRIBUTE = "spot_rule", "spot_basis", \
    "spot_unsplit"
SPOT_ORIGIN, WORKLOAD_TAG = "spot", "workload"
CREDIT_DESCRIPTIONS = ("*CPU Credit*", "*CPUCredits*")


@dataclass(frozen=True, slots=True)
class SpotRunRecord:
    """One imported run of a workload on a spot or burstable resource (a row of the file).

    ``ended_at`` is None for a run still going at the end of the period; ``started_at`` and
    ``ended_at`` are aware UTC datetimes.
    """

    resource_id: str
    workload: str
    started_at: datetime
    ended_at: datetime | None
    interrupted: bool = False
    cpu_credits: Decimal = Decimal(0)

    def hours_in(self, period: str) -> Decimal:
        """Run time inside ``period`` (an open run counts to the period's end), in hours."""
        first, last = _period_bounds(period)
        start = datetime.combine(first, time(), UTC)
        end = datetime.combine(last + timedelta(days=1), time(), UTC)
        lo, hi = max(self.started_at, start), min(self.ended_at or end, end)
        if hi <= lo:
            return Decimal(0)
        return Decimal(int((hi - lo).total_seconds())) / 3600

    def run_in(self, period: str) -> InstanceRun:
        return InstanceRun(self.resource_id, self.workload, self.hours_in(period),
                           self.cpu_credits, self.interrupted)


@dataclass(frozen=True, slots=True)
class SpotRule:
    """A ``[[spot]]`` rule: billing lines of these resources split by the runs on them.

    Attributes:
        resource_ids: glob patterns of the spot fleet's or burstable instance's resource ids.
        credit_descriptions: globs on ``charge_description`` that mark CPU-credit surcharges
            (split by credits burned; every other line of the resource by run-time hours).
    """

    id: str
    resource_ids: tuple[str, ...]
    credit_descriptions: tuple[str, ...] = CREDIT_DESCRIPTIONS
    description: str = ""

    def matches(self, resource_id: str | None) -> bool:
        return any(Pattern.of(p).matches(resource_id) for p in self.resource_ids)

    def is_credit(self, description: str | None) -> bool:
        return any(Pattern.of(p).matches(description) for p in self.credit_descriptions)


class SpotSplitSource:
    """Billing with the spot and burstable resources' lines split to the workloads that ran.

    A line of a resource a rule matches is replaced by one line per workload, tagged
    ``workload`` (the mapping rules place it), origin ``spot``: a CPU-credit line by credits
    burned (by run hours when no run reports credits), any other line by run-time hours. A line
    of a matched resource with no run in the period passes through as billed, marked with the
    ``spot_unsplit`` attribute and counted in :attr:`unsplit`: never dropped.
    """

    def __init__(self, inner: Any, rules: Sequence[SpotRule],
                 runs: Sequence[SpotRunRecord], *, period: str) -> None:
        self.inner, self.rules = inner, tuple(rules)
        self.runs: dict[str, list[InstanceRun]] = defaultdict(list)
        for record in runs:
            run = record.run_in(period)
            if run.hours > 0 or run.cpu_credits > 0:
                self.runs[record.resource_id].append(run)
        self.unsplit: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self.split: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)

    def lines(self, *, attributes: Sequence[str], tag_keys: frozenset[str],
              **kwargs: Any) -> Iterator[Any]:
        extra = tuple(a for a in ("resource_id", "charge_description") if a not in attributes)
        for line in self.inner.lines(attributes=(*attributes, *extra),
                                     tag_keys=tag_keys | {"*"}, **kwargs):
            resource = line.attribute("resource_id")
            rule = next((r for r in self.rules if r.matches(resource)), None)
            if rule is None:
                yield line
            elif not self.runs.get(resource or ""):
                self.unsplit[resource or "", line.currency] += line.amount
                yield replace(line, attributes=(*line.attributes,
                                                (SPOT_UNSPLIT_ATTRIBUTE, resource or "")))
            else:
                yield from self._split(rule, line, resource or "")

    def _split(self, rule: SpotRule, line: Any, resource: str) -> Iterator[Any]:
        runs = self.runs[resource]
        credit = rule.is_credit(line.attribute("charge_description")) and any(
            r.cpu_credits > 0 for r in runs)
        parts = (credit_split if credit else runtime_split)(line.amount, runs, instance=resource)
        basis = "cpu_credits" if credit else "run_hours"
        for workload, amount in parts.items():
            if not amount:
                continue
            self.split[resource, workload, line.currency] += amount
            tags = (*(t for t in line.tags if t[0].casefold() != WORKLOAD_TAG),
                    (WORKLOAD_TAG, workload))
            yield replace(line, origin=SPOT_ORIGIN, amount=amount, tags=tags,
                          attributes=(*line.attributes, (SPOT_ATTRIBUTE, rule.id),
                                      (SPOT_BASIS_ATTRIBUTE, basis)),
                          reference=f"{resource}/{workload}")


def parse_spot(raw: Sequence[Any], source: str) -> tuple[SpotRule, ...]:
    """The ``[[spot]]`` tables of a rule file (errors name the file, rule and field)."""
    from ledger.allocation.rules import _Reader

    rules = []
    for index, table in enumerate(raw, start=1):
        reader = _Reader(table, source, f"spot rule {index}")
        rule = SpotRule(id=reader.identifier("id"),
                        resource_ids=reader.strings("resource_ids", required=True),
                        credit_descriptions=(reader.strings("credit_descriptions")
                                             if "credit_descriptions" in table
                                             else CREDIT_DESCRIPTIONS),
                        description=reader.text("description") or "")
        reader.finish()
        if not rule.resource_ids:
            raise reader.error("must name at least one resource id", "resource_ids")
        rules.append(rule)
    ids = [r.id for r in rules]
    for rule_id in ids:
        if ids.count(rule_id) > 1:
            raise InputError("duplicate spot rule id", source=source, field="id", value=rule_id)
    return tuple(rules)


def spot_toml(rules: Sequence[SpotRule]) -> list[str]:
    """The canonical TOML lines of ``rules`` (nothing when there are none: the content hash of
    a rule set without spot rules is what it was before they existed)."""
    out: list[str] = []
    for rule in rules:
        out += ["", "[[spot]]", f"id = {json.dumps(rule.id)}"]
        if rule.description:
            out.append(f"description = {json.dumps(rule.description)}")
        out += [f"resource_ids = {json.dumps(list(rule.resource_ids))}",
                f"credit_descriptions = {json.dumps(list(rule.credit_descriptions))}"]
    return out
