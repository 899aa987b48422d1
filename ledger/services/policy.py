"""Use cases of the allocation policy: versions, the ownership report, and the policy's step in
an allocation run.

Versions mirror rule sets: an import saves a new draft version whose text never changes (the
same content again changes nothing), activation retires the version active before, and both are
audited. The run step (:class:`PolicyStep`) is applied by :mod:`ledger.services.allocation`
around the pure engine, as the exceptions register is, without editing any stored rule:

- before the engine, a pool whose metering is missing in the period gets, for this run, its
  shared rule split by the coarser level's driver (evenly among its targets at an unmetered
  level), so the fallback changes the split and not only the report;
- before the engine, cost lines out of scope leave IT's pools: depreciation of assets below the
  capitalisation threshold (expensed, not depreciated) and of assets a business unit owns
  (already charged directly to its cost centre by the depreciation journal); lines of assets in
  a criticality tier move to its pool; lines of a pool a business unit owns become direct costs
  of that unit's cost centre (no shared rule, no overhead); lines below their pool's
  materiality threshold move to the overhead pool. Billing lines, whose pool only the mapping
  rules know, are first mapped with the engine's own mapper, so all of this applies to them;
- after it, cost centres in showback or shadow chargeback have their lines shown but not
  charged, and the run's :class:`~ledger.policy.PolicyReport` lists everything left out and why
  (billing lines summed per reason and pool), the granularity each pool got and how it was
  split, and both figures of every cost centre whose mode is set. :func:`keep_report` stores
  it with the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ledger.access import Permission
from ledger.allocation import AllocationResult, AllocationSource, BillingSource, CostLine, RuleSet
from ledger.allocation.engine import _journals, _Mapper, _period_bounds, _valid_codes
from ledger.errors import ConflictError, NotFoundError
from ledger.policy import (
    LEVELS,
    Exclusion,
    LevelChoice,
    Mode,
    ModeFigure,
    Owner,
    Policy,
    PolicyReport,
    PolicyVersion,
    VersionStatus,
    choose_level,
    content_hash,
    mask_explanation,
    parse_policy,
    to_toml,
)
from ledger.ports import UnitOfWork
from ledger.reference import CostCentre
from ledger.services.base import Changes, authorize, business_units_of, record_change

# -- versions ------------------------------------------------------------------------------------


def import_policy(*, uow: UnitOfWork, text: str, source: str = "<policy>",
                  reason: str | None = None) -> tuple[PolicyVersion, Changes]:
    """Save the policy as a new draft version; the same content as the latest changes nothing.
    The file's ``version`` must be the latest version (the one it was edited from), so that
    nobody's edit is silently overwritten."""
    authorize(uow, Permission.MANAGE_RULES, doing="import the allocation policy")
    parsed = parse_policy(text, source=source)
    latest = uow.policies.latest()
    if latest is not None:
        if content_hash(dataclasses.replace(parsed, version=latest.version)) == (
                latest.content_hash):
            return latest, Changes(frozenset({"policy"}), unchanged=1)
        if parsed.version != latest.version:
            raise ConflictError(
                f"{source} was edited from policy version {parsed.version}, but version "
                f"{latest.version} was saved by {latest.author} meanwhile; nothing was saved: "
                f"export version {latest.version} (apportion policy export), edit it again and "
                f"import it")
    version = 1 if latest is None else latest.version + 1
    policy = dataclasses.replace(parsed, version=version)
    saved = PolicyVersion(
        version=version, name=policy.name, status=VersionStatus.DRAFT,
        effective_from=policy.effective_from, text=to_toml(policy),
        content_hash=content_hash(policy), author=uow.actor.login, created_at=uow.clock.now(),
        reason=reason.strip() if reason else None,
        parent_version=None if latest is None else latest.version)
    uow.policies.add(saved)
    record_change(uow, action="policy.import", entity="policy", key=str(version),
                  before=None if latest is None else {"version": latest.version,
                                                      "content_hash": latest.content_hash},
                  after={"version": version, "content_hash": saved.content_hash,
                         "source": source}, reason=saved.reason)
    return saved, Changes(frozenset({"policy"}), created=1, ids=(str(version),))


def activate_policy(*, uow: UnitOfWork, version: int, reason: str | None = None) -> Changes:
    """Make ``version`` the active policy; the one active before is retired."""
    authorize(uow, Permission.ACTIVATE_RULES, doing="activate the allocation policy")
    target = _version(uow, version)
    if target.status is VersionStatus.ACTIVE:
        return Changes(frozenset({"policy"}), unchanged=1)
    current = uow.policies.active()
    if current is not None:
        uow.policies.set_status(current.version, expected=VersionStatus.ACTIVE,
                                status=VersionStatus.RETIRED)
    uow.policies.set_status(version, expected=target.status, status=VersionStatus.ACTIVE,
                            by=uow.actor.login, at=uow.clock.now())
    record_change(uow, action="policy.activate", entity="policy", key=str(version),
                  before={"status": target.status,
                          "active_before": None if current is None else current.version},
                  after={"status": VersionStatus.ACTIVE}, reason=reason)
    return Changes(frozenset({"policy"}), updated=1 + (current is not None),
                   ids=(str(version),))


def show_policy(*, uow: UnitOfWork, version: int | None = None) -> PolicyVersion:
    """``version``, or the active one (else the latest)."""
    authorize(uow, Permission.READ, doing="read the allocation policy")
    if version is not None:
        return _version(uow, version)
    found = uow.policies.active() or uow.policies.latest()
    if found is None:
        raise NotFoundError("no allocation policy has been imported; see: apportion policy "
                            "import FILE (resources/policy/default.toml is a start)")
    return found


def list_policies(*, uow: UnitOfWork) -> list[PolicyVersion]:
    authorize(uow, Permission.READ, doing="list allocation policy versions")
    return uow.policies.versions()


def _version(uow: UnitOfWork, version: int) -> PolicyVersion:
    found = uow.policies.get(version)
    if found is None:
        known = ", ".join(str(v.version) for v in uow.policies.versions()) or "none yet"
        raise NotFoundError(f"policy version {version} does not exist; versions: {known}")
    return found


def active_policy(uow: UnitOfWork) -> Policy | None:
    """The active policy, if any (no permission: callers have authorised their own act)."""
    found = uow.policies.active()
    return None if found is None else found.policy()


# -- ownership -----------------------------------------------------------------------------------


def ownership_report(*, uow: UnitOfWork, ruleset: RuleSet | None = None) -> dict[str, Any]:
    """Every asset and pool with its owner (central IT or a business unit) and who answers for
    it: for an asset, its cost centre and that centre's business unit; for a pool, the pool's
    owning cost centre, and for a pool a business unit owns, the cost centre it is charged
    to directly (``charged_to``)."""
    authorize(uow, Permission.READ, doing="read the ownership report")
    policy = active_policy(uow)
    units = _units(uow)
    assets = []
    for asset in uow.assets.list():
        rule = policy.owner_of_kind(asset.kind.value) if policy else None
        owner = rule.owner if rule else Owner.IT
        unit = units.get(asset.cost_centre or "")
        assets.append({"asset": asset.tag, "kind": asset.kind.value,
                       "cost_centre": asset.cost_centre, "owner": owner.value,
                       "business_unit": unit if owner is Owner.BUSINESS_UNIT else None,
                       "answers": (rule.answers if rule and rule.answers else
                                   (asset.cost_centre if owner is Owner.BUSINESS_UNIT
                                    else "central IT"))})
    pools = []
    centres = uow.cost_centres.list()
    for pool in ruleset.pools if ruleset else ():
        rule = policy.owner_of_pool(pool.id) if policy else None
        owner = rule.owner if rule else Owner.IT
        unit = rule.business_unit if rule else None
        charged = (rule.cost_centre or _top_centre(centres, unit)) if (
            rule and owner is Owner.BUSINESS_UNIT and unit) else None
        pools.append({"pool": pool.id, "name": pool.name, "owner": owner.value,
                      "business_unit": unit, "charged_to": charged,
                      "answers": (rule.answers if rule and rule.answers else pool.owner)})
    return {"policy": None if policy is None else policy.label, "assets": assets,
            "pools": pools}


def _units(uow: UnitOfWork) -> dict[str, str | None]:
    """Cost centre -> its business unit (its own, else its nearest ancestor's)."""
    found = {}
    for centre in uow.cost_centres.list():
        units = business_units_of(uow, [centre.code])
        found[centre.code] = next(iter(units), None)
    return found


# -- the run step --------------------------------------------------------------------------------


class _PolicySource:
    """Wraps one allocation source: each line passes through :meth:`PolicyStep._decide`."""

    def __init__(self, inner: Any, step: PolicyStep) -> None:
        self.inner = inner if isinstance(inner, AllocationSource) else BillingSource(inner)
        self.step = step

    def lines(self, **kwargs: Any) -> Iterator[CostLine]:
        for line in self.inner.lines(**kwargs):
            kept = self.step._decide(line)
            if kept is not None:
                yield kept


#: Mapping outcomes that name the pool a billing line goes to (``unallocated`` ones stay so).
_POOLED = frozenset({"direct", "shared", "idle", "origin"})


class PolicyStep:
    """The active policy applied to one run (see the module's docstring).

    ``ruleset`` is the rule set the run uses: the one given, with the shared rule of each pool
    whose metering is missing in the period split by its coarser level's driver instead
    (evenly among its targets when that level is unmetered)."""

    def __init__(self, policy: Policy, *, period: str, ruleset: RuleSet,
                 assets: Mapping[str, Any], units: Mapping[str, str | None],
                 measured: frozenset[str], cost_centres: Sequence[CostCentre] = ()) -> None:
        self.policy = policy
        self.period = period
        self.pools = {pool.id for pool in ruleset.pools}
        self.assets = assets
        self.units = units
        self.measured = measured
        self.exclusions: list[Exclusion] = []
        self.grouped: dict[tuple[Any, ...], list[Any]] = {}
        self.warnings: list[str] = []
        start, end = _period_bounds(period)
        self.valid = _valid_codes(cost_centres, start, end)
        self.owned = self._owned_pools(cost_centres)
        self.choices = {entry.pool: choose_level(entry, measured)
                        for entry in policy.granularity if entry.pool in self.pools}
        self.ruleset = self._fallback(ruleset)
        self.mapper: _Mapper | None = None

    def wrap(self, sources: Sequence[Any]) -> list[Any]:
        return [_PolicySource(source, self) for source in sources]

    # -- before the engine: one line at a time -------------------------------------------------

    def _decide(self, line: CostLine) -> CostLine | None:
        found = self._asset_scope(line)
        if found is None or found is not line:  # left out, or in its tier's own pool
            return found
        if line.pool is None and line.cost_centre is None:  # billing: the mapping decides
            outcome = self._mapping(line)
            if outcome.kind not in _POOLED or outcome.pool is None:
                return line
            pool, centre, rule = outcome.pool, outcome.cost_centre, outcome.rule
        else:
            pool, centre, rule = line.pool or self.ruleset.default_pool, line.cost_centre, None
        owned = self.owned.get(pool or "")
        if owned is not None:
            return self._owned_line(line, pool or "", centre, rule, *owned)
        threshold = self.policy.materiality_of(pool)
        if threshold is not None and abs(line.amount) < threshold:
            overhead = self.policy.overhead_pool
            if overhead in self.pools and overhead != pool:
                self._exclude("immaterial", line, f"below pool {pool}'s materiality threshold "
                              f"{threshold}" + (f" (mapping rule {rule})" if rule else ""),
                              pool=pool, to_pool=overhead, cost_centre=centre)
                return dataclasses.replace(line, pool=overhead, cost_centre=None)
            self._warn(f"overhead pool {overhead} is not in rule set {self.ruleset.label}: "
                       f"immaterial costs of pool {pool} stay in it")
        return line

    def _asset_scope(self, line: CostLine) -> CostLine | None:
        """Depreciation of an asset: out of scope below the capitalisation threshold or when a
        business unit owns its kind; into its criticality tier's pool (where it stays: a tier's
        cost is never immaterial overhead)."""
        asset = self.assets.get(line.attribute("asset_tag") or "") if (
            line.origin == "depreciation") else None
        if asset is None:
            return line
        cost = next((b.terms.cost for b in asset[1]), asset[0].purchase_cost)
        if not self.policy.capitalised(cost):
            self._exclude("below_capitalisation_threshold", line,
                          f"cost {cost} is below the capitalisation threshold "
                          f"{self.policy.capitalisation_threshold}: expensed, not depreciated")
            return None
        if self.policy.owner_of_kind(asset[0].kind.value).owner is Owner.BUSINESS_UNIT:
            unit = self.units.get(line.cost_centre or "")
            self._exclude("owned_by_business_unit", line,
                          f"owned by business unit {unit or '(none)'}: charged directly to "
                          f"cost centre {line.cost_centre}, through no IT pool")
            return None
        tier = self.policy.tier_of(asset[0].kind.value,
                                   asset[0].environment.value if asset[0].environment else None)
        if tier is not None and tier.pool not in self.pools:
            self._warn(f"tier {tier.name}'s pool {tier.pool} is not in rule set "
                       f"{self.ruleset.label}: its assets stay in the pools they are in")
        elif tier is not None and tier.pool != line.pool:
            self._exclude("criticality_tier", line, f"{tier.name} carries its own pool",
                          to_pool=tier.pool)
            return dataclasses.replace(line, pool=tier.pool)
        return line

    def _mapping(self, line: CostLine) -> Any:
        """Where the rule set's mapping sends a billing line (the engine's own mapper)."""
        if self.mapper is None:
            self.mapper = _Mapper(self.ruleset, self.valid)
        return self.mapper.outcome(line)

    def _owned_line(self, line: CostLine, pool: str, centre: str | None, rule: str | None,
                    unit: str, named: str) -> CostLine:
        """A line of a pool a business unit owns: a direct cost of the unit's cost centre (the
        one it already names if that belongs to the unit), through no IT pool or shared rule."""
        target = centre if centre is not None and self.units.get(centre) == unit else named
        self._exclude("owned_by_business_unit", line,
                      f"pool {pool} is owned by business unit {unit}: charged directly to cost "
                      f"centre {target}, through none of IT's pools or shared rules"
                      + (f" (mapping rule {rule})" if rule else ""),
                      pool=pool, cost_centre=target)
        return dataclasses.replace(line, pool=pool, cost_centre=target)

    def _exclude(self, reason: str, line: CostLine, detail: str, *,
                 to_pool: str | None = None, pool: str | None = None,
                 cost_centre: str | None = None) -> None:
        """Report a line the policy moved; billing lines (no reference of their own) are
        reported summed per reason, pool, target and detail, not one cost group each."""
        pool = pool or line.pool
        centre = cost_centre or line.cost_centre
        if line.reference:
            self.exclusions.append(Exclusion(reason, line.reference, line.origin,
                                             line.currency, line.amount, pool, to_pool, centre,
                                             detail))
            return
        key = (reason, line.origin, line.currency, pool, to_pool, centre, detail)
        found = self.grouped.setdefault(key, [Decimal(0), 0])
        found[0] += line.amount
        found[1] += 1

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def _all_exclusions(self) -> list[Exclusion]:
        grouped = [Exclusion(reason, f"{count} {origin} cost line{'s' * (count != 1)}",
                             origin, currency, amount, pool, to_pool, centre, detail)
                   for (reason, origin, currency, pool, to_pool, centre, detail),
                   (amount, count) in sorted(self.grouped.items(), key=lambda kv: repr(kv[0]))]
        return self.exclusions + grouped

    # -- ownership and granularity, decided once per run ---------------------------------------

    def _owned_pools(self, centres: Sequence[CostCentre]) -> dict[str, tuple[str, str]]:
        """pool -> (business unit, its cost centre) for the pools a business unit owns."""
        found = {}
        for entry in self.policy.ownership:
            if (entry.pool is None or entry.owner is not Owner.BUSINESS_UNIT
                    or entry.pool not in self.pools or entry.business_unit is None):
                continue
            centre = entry.cost_centre or _top_centre(centres, entry.business_unit)
            if centre is None:
                self._warn(f"pool {entry.pool} is owned by business unit {entry.business_unit}"
                           f", which has no single top cost centre: name its cost_centre in the"
                           f" policy; until then the pool is allocated as IT's")
                continue
            found[entry.pool] = (entry.business_unit, centre)
        return found

    def _fallback(self, ruleset: RuleSet) -> RuleSet:
        """The rule set with each pool that fell back to a coarser level split at that level."""
        entries = {entry.pool: entry for entry in self.policy.granularity}
        shared = []
        for rule in ruleset.shared:
            choice = self.choices.get(rule.pool)
            if choice is None or choice.used == choice.target or rule.driver is None:
                shared.append(rule)
                continue
            metering = dict(entries[rule.pool].metering)
            finer = {driver for level, driver in metering.items()
                     if LEVELS.index(level) < LEVELS.index(choice.used)}
            if rule.driver not in finer:  # the rule does not need the missing metering
                shared.append(rule)
                continue
            if rule.tiers:
                self._warn(f"pool {rule.pool}: rule {rule.id} prices {rule.driver} on a rate "
                           f"card, which a coarser driver cannot replace; it stays as written")
                shared.append(rule)
                continue
            driver = metering.get(choice.used)
            if driver is not None:
                shared.append(dataclasses.replace(rule, driver=driver, capacity=None))
                split = f"split by {driver} per {choice.used} instead of {rule.driver}"
                choice = dataclasses.replace(choice, driver=driver)
            else:
                shared.append(dataclasses.replace(rule, driver=None, even=True, capacity=None))
                split = (f"split evenly among the {len(rule.targets)} targets of rule {rule.id} "
                         f"(no metering per {choice.used}) instead of by {rule.driver}")
            self.choices[rule.pool] = dataclasses.replace(choice, split=split)
        return dataclasses.replace(ruleset, shared=tuple(shared))

    def levels(self) -> list[LevelChoice]:
        return list(self.choices.values())

    def finish(self, result: AllocationResult) -> AllocationResult:
        """Charging modes on the finished result, the report, and a fingerprint that covers
        the policy (a rerun under a changed policy is a new run)."""
        day, end = _period_bounds(self.period)
        lines, figures = [], []
        per_centre: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for line in result.lines:
            per_centre[(line.cost_centre, line.currency)].append(line)
        changed = False
        for (centre, currency), group in sorted(per_centre.items()):
            unit = self.units.get(centre)
            mode = self.policy.mode_of(centre, unit, day)
            if mode in (Mode.SHOWBACK, Mode.SHADOW):
                changed |= any(li.charged for li in group)
                group = [dataclasses.replace(li, charged=False) for li in group]
            lines += group
            if mode is not None:
                entry = next((c for c in self.policy.charging if c.cost_centre == centre),
                             None) or next(c for c in self.policy.charging
                                           if c.business_unit == unit)
                figures.append(ModeFigure(
                    centre, unit, mode, currency,
                    showback=sum((li.amount for li in group), Decimal(0)),
                    chargeback=sum((li.amount for li in per_centre[(centre, currency)]
                                    if li.charged), Decimal(0)),
                    posted=sum((li.amount for li in group if li.charged), Decimal(0)),
                    change_on=entry.change_on, then=entry.then))
        levels = self.levels()
        exclusions = self._all_exclusions()
        report = PolicyReport(self.policy.label, content_hash(self.policy),
                              tuple(exclusions), tuple(levels), tuple(figures),
                              tuple(self.warnings) + tuple(
                                  f"{c.warning}; {c.split}" if c.split else c.warning
                                  for c in levels if c.warning))
        journals = result.journals
        if changed:
            pools = {pool.id: pool for pool in self.ruleset.pools}
            journals = tuple(j for currency in sorted({li.currency for li in lines})
                             for j in _journals(currency,
                                                [li for li in lines if li.currency == currency],
                                                [t for t in result.transfers
                                                 if t.currency == currency],
                                                self.ruleset, pools, self.period, end))
        fingerprint = hashlib.sha256(json.dumps({
            "run": result.fingerprint, "policy": report.policy_hash,
            "exclusions": [[e.reason, e.reference, e.origin, format(e.amount, "f"),
                            e.to_pool, e.cost_centre] for e in exclusions],
        }, sort_keys=True).encode()).hexdigest()
        return dataclasses.replace(result, lines=tuple(lines), journals=tuple(journals),
                                   fingerprint=fingerprint, policy=report)


def policy_step(uow: UnitOfWork, *, period: str, ruleset: RuleSet) -> PolicyStep | None:
    """The active policy's step for a run of ``period`` by ``ruleset``, or None without one."""
    policy = active_policy(uow)
    if policy is None:
        return None
    books: dict[str, list[Any]] = defaultdict(list)
    for book in uow.assets.books():
        if book.posts_to_ledger:
            books[book.asset_tag].append(book)
    assets = {a.tag: (a, tuple(books.get(a.tag, ()))) for a in uow.assets.list()}
    drivers = {driver for entry in policy.granularity for _, driver in entry.metering}
    measured = frozenset(d for d in drivers if uow.drivers.for_period(d, period))
    return PolicyStep(policy, period=period, ruleset=ruleset, assets=assets,
                      units=_units(uow), measured=measured,
                      cost_centres=uow.cost_centres.list())


def _top_centre(centres: Sequence[CostCentre], unit: str) -> str | None:
    """The business unit's one top cost centre (in the unit, its parent outside it), if one."""
    of_unit = {c.code: c for c in centres if c.business_unit == unit}
    tops = [code for code, c in of_unit.items() if c.parent is None or c.parent not in of_unit]
    return tops[0] if len(tops) == 1 else None


def keep_report(uow: UnitOfWork, run_id: int, report: PolicyReport | None) -> None:
    """Store a run's policy report with the run (statements read it by run id)."""
    if report is not None:
        uow.policies.save_report(run_id, policy=report.policy, report=report_json(report) or {},
                                 at=uow.clock.now())


def report_json(report: PolicyReport | None) -> dict[str, Any] | None:
    """A run's policy report, JSON-ready (amounts as text)."""
    if report is None:
        return None
    return {
        "policy": report.policy,
        "left_out": [{"reason": e.reason, "reference": e.reference, "origin": e.origin,
                      "currency": e.currency, "amount": format(e.amount, "f"), "pool": e.pool,
                      "to_pool": e.to_pool, "cost_centre": e.cost_centre, "detail": e.detail}
                     for e in report.exclusions],
        "granularity": [{"pool": c.pool, "target": c.target, "used": c.used,
                         "warning": c.warning or None, "split": c.split or None,
                         "driver": c.driver or None}
                        for c in report.levels],
        "charging": [{"cost_centre": f.cost_centre, "business_unit": f.business_unit,
                      "mode": f.mode.value, "currency": f.currency,
                      "showback": format(f.showback, "f"),
                      "chargeback": format(f.chargeback, "f"),
                      "posted": format(f.posted, "f"),
                      "change_on": f.change_on.isoformat() if f.change_on else None,
                      "then": f.then.value if f.then else None} for f in report.modes],
        "warnings": list(report.warnings),
    }


def masked(uow: UnitOfWork, data: Mapping[str, Any]) -> dict[str, Any]:
    """An explanation with the rows of sensitive pools the actor's roles may not see removed
    (every client and export reads explanations through the service, so all are masked)."""
    return mask_explanation(data, active_policy(uow), [r.value for r in uow.actor.roles])


def capitalised(policy: Policy | None, cost: Decimal | None) -> bool:
    """Whether an asset of ``cost`` is depreciated under ``policy`` (None: every one is)."""
    return policy is None or policy.capitalised(cost)


__all__ = ["PolicyStep", "activate_policy", "active_policy", "import_policy", "keep_report",
           "list_policies", "masked", "ownership_report", "policy_step", "report_json",
           "show_policy"]

