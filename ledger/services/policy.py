"""Use cases of the allocation policy: versions, the ownership report, and the policy's step in
an allocation run.

Versions mirror rule sets: an import saves a new draft version whose text never changes (the
same content again changes nothing), activation retires the version active before, and both are
audited. The run step (:class:`PolicyStep`) is applied by :mod:`ledger.services.allocation`
around the pure engine, as the exceptions register is, without editing any rule:

- before the engine, cost lines out of scope leave IT's pools: depreciation of assets below the
  capitalisation threshold (expensed, not depreciated) and of assets a business unit owns
  (already charged directly to its cost centre by the depreciation journal); immaterial lines
  of a pool move to the overhead pool; lines of assets in a criticality tier move to its pool;
- after it, cost centres in showback or shadow chargeback have their lines shown but not
  charged, and the run's :class:`~ledger.policy.PolicyReport` lists everything left out and why,
  the granularity each pool got, and both figures of every cost centre whose mode is set.
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
from ledger.allocation.engine import _journals, _period_bounds
from ledger.errors import ConflictError, NotFoundError
from ledger.policy import (
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
    owning cost centre."""
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
    for pool in ruleset.pools if ruleset else ():
        rule = policy.owner_of_pool(pool.id) if policy else None
        owner = rule.owner if rule else Owner.IT
        pools.append({"pool": pool.id, "name": pool.name, "owner": owner.value,
                      "business_unit": rule.business_unit if rule else None,
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


class PolicyStep:
    """The active policy applied to one run (see the module's docstring)."""

    def __init__(self, policy: Policy, *, period: str, ruleset: RuleSet,
                 assets: Mapping[str, Any], units: Mapping[str, str | None],
                 measured: frozenset[str]) -> None:
        self.policy = policy
        self.period = period
        self.ruleset = ruleset
        self.pools = {pool.id for pool in ruleset.pools}
        self.assets = assets
        self.units = units
        self.measured = measured
        self.exclusions: list[Exclusion] = []
        self.warnings: list[str] = []

    def wrap(self, sources: Sequence[Any]) -> list[Any]:
        return [_PolicySource(source, self) for source in sources]

    def _decide(self, line: CostLine) -> CostLine | None:
        asset = self.assets.get(line.attribute("asset_tag") or "") if (
            line.origin == "depreciation") else None
        if asset is not None:
            cost = next((b.terms.cost for b in asset[1]), asset[0].purchase_cost)
            if not self.policy.capitalised(cost):
                self._exclude("below_capitalisation_threshold", line,
                              f"cost {cost} is below the capitalisation threshold "
                              f"{self.policy.capitalisation_threshold}: expensed, not "
                              f"depreciated")
                return None
            if self.policy.owner_of_kind(asset[0].kind.value).owner is Owner.BUSINESS_UNIT:
                unit = self.units.get(line.cost_centre or "")
                self._exclude("owned_by_business_unit", line,
                              f"owned by business unit {unit or '(none)'}: charged directly "
                              f"to cost centre {line.cost_centre}, through no IT pool")
                return None
            tier = self.policy.tier_of(asset[0].kind.value,
                                       asset[0].environment.value if asset[0].environment
                                       else None)
            if tier is not None and tier.pool in self.pools and tier.pool != line.pool:
                self._exclude("criticality_tier", line, f"{tier.name} carries its own pool",
                              to_pool=tier.pool)
                line = dataclasses.replace(line, pool=tier.pool)
        threshold = self.policy.materiality_of(line.pool)
        if threshold is not None and abs(line.amount) < threshold:
            overhead = self.policy.overhead_pool
            if overhead in self.pools and overhead != line.pool:
                self._exclude("immaterial", line, f"below pool {line.pool}'s materiality "
                              f"threshold {threshold}", to_pool=overhead)
                return dataclasses.replace(line, pool=overhead, cost_centre=None)
            self._warn(f"overhead pool {overhead} is not in rule set {self.ruleset.label}: "
                       f"immaterial costs of pool {line.pool} stay in it")
        return line

    def _exclude(self, reason: str, line: CostLine, detail: str, *,
                 to_pool: str | None = None) -> None:
        self.exclusions.append(Exclusion(reason, line.reference, line.origin, line.currency,
                                         line.amount, line.pool, to_pool, line.cost_centre,
                                         detail))

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def levels(self) -> list[LevelChoice]:
        return [choose_level(entry, self.measured) for entry in self.policy.granularity
                if entry.pool in self.pools]

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
        report = PolicyReport(self.policy.label, content_hash(self.policy),
                              tuple(self.exclusions), tuple(levels), tuple(figures),
                              tuple(self.warnings) + tuple(c.warning for c in levels
                                                           if c.warning))
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
                            e.to_pool] for e in self.exclusions],
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
                      units=_units(uow), measured=measured)


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
                         "warning": c.warning or None} for c in report.levels],
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


__all__ = ["PolicyStep", "activate_policy", "active_policy", "import_policy", "list_policies",
           "masked", "ownership_report", "policy_step", "report_json", "show_policy"]

