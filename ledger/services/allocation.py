"""Use cases of allocation: rule-set versions, allocation runs, explain, impact, drivers,
vendor invoices and the exceptions register.

Every write takes the single service path (permission, change, audit event with before/after and
reason, in one unit of work). The computing is the pure engine's (:mod:`ledger.allocation`);
this module gathers its inputs (the pool sources), stores what it produced and books its draft
journals through :func:`ledger.services.journals.replace_drafts`, so a rerun replaces its own
drafts and never doubles them.

Concurrency is optimistic: a rule-set import states the version it was edited from (the
``version`` in the file, or ``based_on``), a driver import the revision (or content hash) of each
driver table it was based on; if someone saved a newer one meanwhile, the save is refused with
what they changed, and nothing is lost (both versions can be compared and merged by hand).

Pool sources are pluggable (:class:`PoolSourceProvider`): billing (the cost fact store),
depreciation charges of the books that post, manual costs, and licence seat costs
(``ledger.services.licences.seat_costs``), each into the rule set's pool for it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from ledger.access import Permission
from ledger.allocation import (
    AllocationResult,
    ConservationError,
    CostLine,
    DepreciationSource,
    ManualCost,
    ManualSource,
    RuleChange,
    RuleSet,
    allocate_period,
    content_hash,
    diff,
    explain,
    impact,
    parse_ruleset,
    to_toml,
)
from ledger.allocation.exceptions import AllocationException, apply_exceptions
from ledger.allocation.stored import (
    DriverRevision,
    ExceptionStatus,
    InvoiceFile,
    InvoiceLine,
    RegisteredException,
    RuleSetStatus,
    RuleSetVersion,
    RunStatus,
    RunTotal,
    StoredGap,
    StoredLine,
    StoredLineage,
    StoredRun,
)
from ledger.errors import ConflictError, InputError, InputErrors, NotFoundError
from ledger.money import round_to_currency
from ledger.ports import UnitOfWork
from ledger.reference import DriverQuantity
from ledger.services.base import Changes, authorize, record_change
from ledger.services.catalogue import catalogue_step
from ledger.services.journals import replace_drafts
from ledger.services.kubernetes import cluster_split, namespace_shares
from ledger.services.policy import keep_report, masked, policy_step, report_json
from ledger.services.reference_data import set_driver_quantities
from ledger.services.spot import spot_report, spot_split
from ledger.services.transfer import transfer_in_run, transfer_split
from ledger.staging import Staged

SOURCE = "allocation"
#: Pools that receive the stored depreciation charges (the first the rule set has).
DEPRECIATION_POOLS = ("depreciation", "hardware")
#: Pools that receive licence seat costs (the first the rule set has).
LICENCE_POOLS = ("licences", "software")
PERCENT_UNITS = ("%", "percent")


def _reason(reason: str | None, what: str) -> str:
    if not reason or not reason.strip():
        raise InputError(f"{what} needs a reason (--reason \"...\")", field="reason")
    return reason.strip()


# -- rule-set versions -----------------------------------------------------------------------


def parse_label(text: str) -> tuple[str, int | None]:
    """``name@3`` -> ("name", 3); ``name`` -> ("name", None)."""
    name, _, version = text.strip().partition("@")
    if not version:
        return name, None
    try:
        return name, int(version)
    except ValueError:
        raise InputError("must be NAME or NAME@VERSION", field="ruleset", value=text) from None


def _load(uow: UnitOfWork, name: str, version: int | None = None) -> RuleSetVersion:
    if version is None:
        active = uow.rulesets.active(name)
        found = active[0] if active else uow.rulesets.latest(name)
    else:
        found = uow.rulesets.get(name, version)
    if found is None:
        known = ", ".join(uow.rulesets.names()) or "none yet"
        raise NotFoundError(f"rule set {name}{'' if version is None else f'@{version}'} does "
                            f"not exist; rule sets: {known} (see: apportion rules list)")
    return found


def _check_references(uow: UnitOfWork, ruleset: RuleSet, source: str) -> None:
    """The accounts and cost centres the rule set names must exist (tags may name any)."""
    errors = []
    for field, number in (("expense_account", ruleset.expense_account),
                          ("recovery_account", ruleset.recovery_account),
                          *(("expense_account", p.expense_account) for p in ruleset.pools
                            if p.expense_account)):
        if uow.accounts.get(number) is None:
            errors.append(InputError(f"GL account {number} does not exist", source=source,
                                     field=field, value=number))
    centres = [("central_cost_centre", ruleset.central_cost_centre)]
    centres += [(f"pool {p.id} owner", p.owner) for p in ruleset.pools]
    centres += [(f"cluster rule {c.id} idle_owner", c.idle_owner) for c in ruleset.clusters
                if c.idle_owner]
    for field, code in centres:
        if uow.cost_centres.get(code) is None:
            errors.append(InputError(f"cost centre {code} does not exist", source=source,
                                     field=field, value=code))
    if errors:
        raise InputErrors(errors, source=source)


def import_ruleset(*, uow: UnitOfWork, text: str, source: str = "<rules>",
                   based_on: int | None = None, reason: str | None = None
                   ) -> tuple[RuleSetVersion, Changes]:
    """Save a rule set as a new draft version (its content never changes afterwards).

    The version it was edited from is ``based_on``, else the ``version`` written in the file. If
    a newer version was saved meanwhile, :class:`ConflictError` lists what that one changed. The
    same content as the latest version again changes nothing.
    """
    authorize(uow, Permission.MANAGE_RULES, doing="import rule sets")
    parsed = parse_ruleset(text, source=source)
    _check_references(uow, parsed, source)
    latest = uow.rulesets.latest(parsed.name)
    parent: int | None = None
    before_hash = None
    if latest is not None:
        base = based_on if based_on is not None else parsed.version
        if content_hash(dataclasses.replace(parsed, version=latest.version)) == (
                latest.content_hash):
            return latest, Changes(frozenset({"ruleset"}), unchanged=1)
        if base != latest.version:
            _conflict(uow, latest, base)
        parent, before_hash = latest.version, latest.content_hash
    version = 1 if latest is None else latest.version + 1
    ruleset = dataclasses.replace(parsed, version=version)
    saved = RuleSetVersion(
        name=ruleset.name, version=version, status=RuleSetStatus.DRAFT,
        effective_from=ruleset.effective_from, effective_to=ruleset.effective_to,
        text=to_toml(ruleset), content_hash=content_hash(ruleset), author=uow.actor.login,
        created_at=uow.clock.now(), reason=reason.strip() if reason else None,
        parent_version=parent)
    uow.rulesets.add(saved)
    changes = [] if latest is None else _changes(latest.ruleset(), ruleset)
    record_change(uow, action="rules.import", entity="ruleset", key=saved.label,
                  before=None if latest is None else {"version": parent,
                                                      "content_hash": before_hash},
                  after={"version": version, "content_hash": saved.content_hash,
                         "source": source, "changes": [str(c) for c in changes]},
                  reason=saved.reason)
    return saved, Changes(frozenset({"ruleset"}), created=1, ids=(saved.label,))


def _changes(old: RuleSet, new: RuleSet) -> list[RuleChange]:
    """:func:`diff` without the version number itself (every new version changes it)."""
    found = []
    for change in diff(old, new):
        if change.section == "ruleset":
            fields = tuple(f for f in change.fields if f[0] != "version")
            if not fields:
                continue
            change = dataclasses.replace(change, fields=fields)
        found.append(change)
    return found


def _conflict(uow: UnitOfWork, latest: RuleSetVersion, base: int) -> None:
    edited = uow.rulesets.get(latest.name, base)
    if edited is None:
        raise InputError(f"{latest.name} has no version {base} to have been edited from; the "
                         f"latest is {latest.version}", field="version", value=base)
    since = _changes(edited.ruleset(), latest.ruleset())
    raise ConflictError(
        f"{latest.name} was changed meanwhile: you edited version {base}, but version "
        f"{latest.version} was saved by {latest.author} at {latest.created_at:%Y-%m-%d %H:%M} "
        f"UTC ({latest.reason or 'no reason given'}). Changes since version {base}: "
        f"{'; '.join(str(c) for c in since) or 'none'}. Nothing was saved: export version "
        f"{latest.version} (apportion rules export {latest.label}), make your edit again and "
        f"import it.")


def list_versions(*, uow: UnitOfWork, name: str | None = None) -> list[RuleSetVersion]:
    authorize(uow, Permission.READ, doing="list rule sets")
    return uow.rulesets.versions(name)


def show_version(*, uow: UnitOfWork, label: str) -> RuleSetVersion:
    """``name@V``, or ``name`` for its active (else latest) version."""
    authorize(uow, Permission.READ, doing="read rule sets")
    return _load(uow, *parse_label(label))


def activate(*, uow: UnitOfWork, name: str, version: int, reason: str | None = None
             ) -> Changes:
    """Make ``name@version`` the active version; the one active before is retired."""
    authorize(uow, Permission.ACTIVATE_RULES, doing="activate rule sets")
    target = _load(uow, name, version)
    if target.status is RuleSetStatus.ACTIVE:
        return Changes(frozenset({"ruleset"}), unchanged=1)
    now = uow.clock.now()
    retired = []
    for current in uow.rulesets.active(name):
        uow.rulesets.set_status(name, current.version, expected=RuleSetStatus.ACTIVE,
                                status=RuleSetStatus.RETIRED)
        retired.append(current.version)
    uow.rulesets.set_status(name, version, expected=target.status, status=RuleSetStatus.ACTIVE,
                            by=uow.actor.login, at=now)
    record_change(uow, action="rules.activate", entity="ruleset", key=target.label,
                  before={"status": target.status, "active_before": retired},
                  after={"status": RuleSetStatus.ACTIVE}, reason=reason)
    return Changes(frozenset({"ruleset"}), updated=1 + len(retired), ids=(target.label,))


def rollback(*, uow: UnitOfWork, name: str, to_version: int, reason: str | None
             ) -> tuple[RuleSetVersion, Changes]:
    """Go back to an earlier version: a new version copying it, activated at once."""
    why = _reason(reason, "a rollback")
    authorize(uow, Permission.ACTIVATE_RULES, doing="roll rule sets back")
    earlier = _load(uow, name, to_version)
    latest = uow.rulesets.latest(name)
    assert latest is not None
    copy = dataclasses.replace(earlier.ruleset(), version=latest.version + 1)
    saved = RuleSetVersion(
        name=name, version=copy.version, status=RuleSetStatus.DRAFT,
        effective_from=copy.effective_from, effective_to=copy.effective_to,
        text=to_toml(copy), content_hash=content_hash(copy), author=uow.actor.login,
        created_at=uow.clock.now(), reason=f"rollback to {earlier.label}: {why}",
        parent_version=earlier.version)
    uow.rulesets.add(saved)
    record_change(uow, action="rules.rollback", entity="ruleset", key=saved.label,
                  before={"version": latest.version}, after={"copy_of": earlier.label,
                                                             "content_hash": saved.content_hash},
                  reason=why)
    changes = activate(uow=uow, name=name, version=saved.version, reason=why)
    return saved, Changes(frozenset({"ruleset"}), created=1) + changes


def diff_versions(*, uow: UnitOfWork, name: str, old: int, new: int) -> list[RuleChange]:
    authorize(uow, Permission.READ, doing="compare rule sets")
    return diff(_load(uow, name, old).ruleset(), _load(uow, name, new).ruleset())


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One version in a rule set's history and what it changed from its parent (or from the
    version before it). For the history of one rule, only that rule's changes."""

    version: int
    status: RuleSetStatus
    author: str
    created_at: Any
    reason: str | None
    parent_version: int | None
    changes: tuple[RuleChange, ...]


def history(*, uow: UnitOfWork, name: str, rule: str | None = None) -> list[HistoryEntry]:
    """Every version of ``name`` with its author, time, reason and changes; with ``rule``, only
    the versions that added, changed, moved or removed that rule (or pool)."""
    authorize(uow, Permission.READ, doing="read rule history")
    versions = uow.rulesets.versions(name)
    if not versions:
        raise NotFoundError(f"rule set {name} does not exist; see: apportion rules list")
    parsed = {v.version: v.ruleset() for v in versions}
    entries = []
    for index, version in enumerate(versions):
        previous = version.parent_version or (versions[index - 1].version if index else None)
        if previous is None or previous not in parsed:
            changes = _as_added(parsed[version.version])
        else:
            changes = _changes(parsed[previous], parsed[version.version])
        if rule is not None:
            changes = [c for c in changes if c.id == rule]
            if not changes:
                continue
        entries.append(HistoryEntry(version.version, version.status, version.author,
                                    version.created_at, version.reason,
                                    version.parent_version, tuple(changes)))
    return entries


def _as_added(ruleset: RuleSet) -> list[RuleChange]:
    return ([RuleChange("added", "pool", p.id) for p in ruleset.pools]
            + [RuleChange("added", "mapping", m.id) for m in ruleset.mapping]
            + [RuleChange("added", "shared", s.id) for s in ruleset.shared])


def resolve(uow: UnitOfWork, label: str | None, period: str | None = None) -> RuleSetVersion:
    """The rule-set version a run uses: ``name@V``; ``name`` (its active version); or, when
    None, the active version effective in ``period`` (there must be exactly one)."""
    if label:
        return _load(uow, *parse_label(label))
    active = uow.rulesets.active()
    if period is not None:
        first = date(int(period[:4]), int(period[5:7]), 1)
        active = [v for v in active if v.effective_from <= first.replace(day=28)
                  and (v.effective_to is None or v.effective_to >= first)]
    if len(active) != 1:
        names = ", ".join(v.label for v in active) or "none"
        raise NotFoundError(f"{len(active)} active rule sets for {period or 'now'} ({names}); "
                            "name one with --ruleset NAME[@VERSION] or activate one "
                            "(apportion rules activate NAME@VERSION)")
    return active[0]


# -- pool sources -------------------------------------------------------------------------------


class PoolSourceProvider(Protocol):
    """Gives the allocation sources of one kind for a period and rule set (or none)."""

    def __call__(self, uow: UnitOfWork, *, period: str, ruleset: RuleSet) -> Iterable[Any]: ...


class LicenceSource:
    """Licence seat costs of one period per cost centre and product (:class:`ledger.licence.
    SeatCost` values): direct costs of the rule set's licence pool."""

    def __init__(self, seats: Iterable[Any], *, period: str, pool: str) -> None:
        self.seats = tuple(seats)
        self.period = period
        self.pool = pool

    def lines(self, *, period: str, **_: Any) -> Iterator[CostLine]:
        if period != self.period:
            return
        for seat in self.seats:
            if not seat.amount:
                continue
            yield CostLine(origin="licence", currency=seat.currency, amount=seat.amount,
                           attributes=(("product", seat.product), ("seats", str(seat.seats))),
                           cost_centre=seat.cost_centre, pool=self.pool,
                           reference=f"{seat.product}/{seat.cost_centre}")


def _first_pool(ruleset: RuleSet, candidates: Sequence[str]) -> str | None:
    ids = {pool.id for pool in ruleset.pools}
    return next((c for c in candidates if c in ids), None)


def depreciation_source(uow: UnitOfWork, *, period: str, ruleset: RuleSet) -> list[Any]:
    """The period's stored depreciation charges of the books that post to the ledger."""
    pool = _first_pool(ruleset, DEPRECIATION_POOLS)
    if pool is None:
        return []
    posting = {b.book for b in uow.assets.books() if b.posts_to_ledger}
    charges = [c for c in uow.depreciation_charges.for_period(period) if c.book in posting]
    return [DepreciationSource(charges, pool=pool)] if charges else []


def licence_source(uow: UnitOfWork, *, period: str, ruleset: RuleSet) -> list[Any]:
    """Licence seat costs (``ledger.services.licences.seat_costs``) when the rule set has a
    licence pool (id ``licences`` or ``software``)."""
    from ledger.services.licences import seat_costs

    pool = _first_pool(ruleset, LICENCE_POOLS)
    if pool is None:
        return []
    seats = seat_costs(uow, period)
    return [LicenceSource(seats, period=period, pool=pool)] if seats else []


def manual_source(entries: Sequence[ManualCost]) -> PoolSourceProvider:
    """Manual costs (data-centre power, service-desk salaries) given by the caller."""

    def provide(uow: UnitOfWork, *, period: str, ruleset: RuleSet) -> list[Any]:
        return [ManualSource(entries)] if entries else []

    return provide


def stored_manual_source(uow: UnitOfWork, *, period: str, ruleset: RuleSet) -> list[Any]:
    """The manual costs entered for the period (apportion manual-costs import)."""
    entries = uow.manual_costs.for_period(period)
    return [ManualSource(entries)] if entries else []


POOL_SOURCES: tuple[PoolSourceProvider, ...] = (depreciation_source, licence_source,
                                                stored_manual_source)


class _WithService:
    """Billing read with ``service_name`` too, so exceptions scoped to a service can see it."""

    def __init__(self, store: Any) -> None:
        from ledger.allocation import BillingSource

        self.inner = BillingSource(store)

    def lines(self, *, attributes: Sequence[str], **kwargs: Any) -> Iterator[CostLine]:
        wanted = tuple(attributes) + (() if "service_name" in attributes else ("service_name",))
        return self.inner.lines(attributes=wanted, **kwargs)


def _sources(uow: UnitOfWork, store: Any, period: str, ruleset: RuleSet,
             exceptions: Sequence[AllocationException],
             extra: Sequence[PoolSourceProvider]) -> list[Any]:
    sources: list[Any] = []
    if store is not None:
        scoped = any(e.service for e in exceptions)
        billing = _WithService(store) if scoped else store
        # Kubernetes clusters' billing split by namespace or label usage (ledger.kubernetes).
        billing = cluster_split(uow, billing, period=period, ruleset=ruleset)
        billing = transfer_split(uow, billing, store=store, period=period, ruleset=ruleset)
        # Spot and burstable resources split by run-time hours and credits (ledger.cloud_usage).
        sources.append(spot_split(uow, billing, period=period, ruleset=ruleset))
    for provider in (*POOL_SOURCES, *extra):
        sources.extend(provider(uow, period=period, ruleset=ruleset))
    return sources


# -- runs ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllocationRun:
    """A run's outcome. ``run_id`` is None for a dry run; ``unchanged`` when the same inputs
    had been allocated already (the stored run is returned)."""

    run_id: int | None
    period: str
    ruleset: str
    result: AllocationResult
    journal_ids: tuple[int, ...] = ()
    replaced_drafts: int = 0
    dry_run: bool = False
    unchanged: bool = False

    def by_cost_centre(self) -> list[tuple[str, str, Decimal]]:
        return [(centre, currency, amount)
                for (centre, currency), amount in self.result.by_cost_centre().items()]


def _compute(uow: UnitOfWork, store: Any, period: str, version: RuleSetVersion, *,
             today: date, extra: Sequence[PoolSourceProvider] = ()) -> AllocationResult:
    ruleset = version.ruleset()
    # Pools split by a catalogue service reach its subscribers (ledger.catalogue_targets).
    ruleset, service_drivers = catalogue_step(uow, period=period, ruleset=ruleset)
    step = policy_step(uow, period=period, ruleset=ruleset)  # the allocation policy, if any
    if step is not None:
        ruleset = step.ruleset  # pools without their metering split by a coarser driver
    exceptions = [e.exception for e in uow.allocation_exceptions.list()]
    drivers = [q for name in _driver_names(ruleset)
               for q in uow.drivers.for_period(name, period)] + service_drivers
    sources = _sources(uow, store, period, ruleset, exceptions, extra)
    result = allocate_period(period=period, ruleset=ruleset,
                             sources=step.wrap(sources) if step else sources,
                             drivers=drivers, cost_centres=uow.cost_centres.list())
    result = apply_exceptions(result, ruleset, exceptions, today=today)
    if step is not None:
        result = step.finish(result)
    _check_conservation(result)
    return result


def _driver_names(ruleset: RuleSet) -> list[str]:
    return sorted({rule.driver for rule in ruleset.shared if rule.driver})


def _check_conservation(result: AllocationResult) -> None:
    """Allocated + unallocated = source total to the minor unit, per currency (the engine checks
    it too; this is the check recorded with the stored run)."""
    for currency, total in result.source_total.items():
        expected = round_to_currency(total, currency)
        got = result.allocated_total[currency] + result.unallocated_total[currency]
        lines = sum((li.amount for li in result.lines if li.currency == currency), Decimal(0))
        if got != expected or lines != result.allocated_total[currency]:
            raise ConservationError(f"{result.ruleset} {result.period} {currency}: allocated "
                                    f"{result.allocated_total[currency]} + unallocated "
                                    f"{result.unallocated_total[currency]} != {expected}")


def allocate(*, uow: UnitOfWork, store: Any, period: str, ruleset: str | None = None,
             dry_run: bool = False, extra_sources: Sequence[PoolSourceProvider] = ()
             ) -> AllocationRun:
    """Allocate ``period`` by ``ruleset`` (default: the active one) and, unless ``dry_run``,
    store the run and replace the period's draft allocation journals with its journals.

    Earlier draft runs of the period are superseded and their drafts removed; journals that
    left draft stop the run (:class:`ConflictError`) rather than count a cost twice.
    """
    authorize(uow, Permission.READ if dry_run else Permission.RUN_ALLOCATION,
              doing="run allocations")
    version = resolve(uow, ruleset, period)
    result = _compute(uow, store, period, version, today=uow.clock.now().date(),
                      extra=extra_sources)
    if dry_run:
        return AllocationRun(None, period, version.label, result, dry_run=True)
    previous = uow.allocation_runs.list(period=period, status=RunStatus.DRAFT)
    same = [r for r in previous if r.fingerprint == result.fingerprint
            and r.ruleset == version.label and _journals_intact(uow, r)]
    if same and len(previous) == 1:
        return AllocationRun(same[0].id, period, version.label, result,
                             journal_ids=same[0].journal_ids, unchanged=True)
    references = _references(result)
    replaced = 0
    for old in previous:
        for reference in _old_references(uow, old) - references.keys():
            replaced += replace_drafts(uow=uow, source=SOURCE, reference=reference,
                                       entries=[]).deleted
        uow.allocation_runs.supersede(old.id)
    run_id = _store(uow, result, version, period)
    keep_report(uow, run_id, result.policy)  # the policy report, read by run id
    # The run's event first, then one event per draft journal (replace_drafts records them).
    record_change(uow, action="allocation.run", entity="allocation_run", key=str(run_id),
                  before={"superseded_runs": [r.id for r in previous]} if previous else None,
                  after=_run_summary(result, version.label, sorted(references)))
    journal_ids: list[int] = []
    for reference, entries in sorted(references.items()):
        changes = replace_drafts(uow=uow, source=SOURCE, reference=reference, entries=entries)
        replaced += changes.deleted
        journal_ids += [int(i) for i in changes.ids]
    uow.allocation_runs.set_journals(run_id, journal_ids)
    return AllocationRun(run_id, period, version.label, result, tuple(journal_ids), replaced)


def _journals_intact(uow: UnitOfWork, run: StoredRun) -> bool:
    return all(uow.journals.get(i) is not None for i in run.journal_ids)


def _references(result: AllocationResult) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for entry in result.journals:
        grouped[entry.reference].append(entry)
    return grouped


def _old_references(uow: UnitOfWork, run: StoredRun) -> set[str]:
    found = set()
    for journal_id in run.journal_ids:
        entry = uow.journals.get(journal_id)
        if entry is not None and entry.reference:
            found.add(entry.reference)
    return found


def _totals(result: AllocationResult) -> tuple[RunTotal, ...]:
    return tuple(RunTotal(currency, result.source_total[currency],
                          result.allocated_total[currency], result.unallocated_total[currency])
                 for currency in sorted(result.source_total))


def _run_summary(result: AllocationResult, label: str, journals: Sequence[str]
                 ) -> dict[str, Any]:
    return {"period": result.period, "ruleset": label, "fingerprint": result.fingerprint,
            "totals": [dataclasses.asdict(t) for t in _totals(result)],
            "journal_references": list(journals),
            "exceptions": sorted({a.exception.id for a in result.exceptions}),
            "policy": report_json(result.policy)}


def _store(uow: UnitOfWork, result: AllocationResult, version: RuleSetVersion,
           period: str) -> int:
    run = StoredRun(
        id=0, period=period, ruleset_name=version.name, ruleset_version=version.version,
        cost_basis=result.cost_basis.value, fingerprint=result.fingerprint,
        status=RunStatus.DRAFT, conserved=True, created_by=uow.actor.login,
        created_at=uow.clock.now(), totals=_totals(result),
        exceptions=tuple(sorted({a.exception.id for a in result.exceptions})))
    lines = [StoredLine(li.cost_centre, li.account, li.pool, li.rule, li.kind.value,
                        li.currency, li.amount, li.charged) for li in result.lines]
    gaps = [StoredGap(g.reason.value, g.detail, g.pool, g.rule, g.currency, g.amount)
            for g in result.unallocated]
    lineage = [StoredLineage(s.kind, s.line.origin, s.pool, s.cost_centre, s.rule,
                             s.reason.value if s.reason else None, s.line.currency,
                             s.line.key_text(), s.line.rows, s.line.amount)
               for s in result.inputs]
    return uow.allocation_runs.add(run, lines, gaps, lineage)


def list_runs(*, uow: UnitOfWork, period: str | None = None) -> list[StoredRun]:
    authorize(uow, Permission.READ, doing="list allocation runs")
    return uow.allocation_runs.list(period=period)


def _run(uow: UnitOfWork, run_id: int) -> StoredRun:
    run = uow.allocation_runs.get(run_id)
    if run is None:
        raise NotFoundError(f"allocation run {run_id} does not exist; see: apportion allocate "
                            "--period YYYY-MM")
    return run


# -- explain and impact --------------------------------------------------------------------------


def _fraction_text(value: Any) -> str | None:
    if value is None:
        return None
    return format(Decimal(value.numerator) / Decimal(value.denominator), ".10f")


def _source_json(kind: str, key: str, rows: int, amount: Decimal) -> dict[str, Any]:
    origin, currency, attributes, tags, _centre, _pool, reference = json.loads(key)
    return {"kind": kind, "origin": origin, "currency": currency,
            "attributes": dict(attributes), "tags": dict(tags), "reference": reference,
            "rows": rows, "amount": amount}


def explain_run(*, uow: UnitOfWork, store: Any, run_id: int, cost_centre: str,
                max_sources: int = 50) -> dict[str, Any]:
    """Why ``cost_centre`` was charged what it was in run ``run_id``: per pool and rule, the
    amount, a sentence, the share, and the cost lines behind it (up to ``max_sources`` each).

    The run is recomputed from its rule-set version; if the inputs still give the stored
    fingerprint, the full explanation (shares, pool totals) is given, else the stored lines and
    lineage, marked ``"current": false``.
    """
    authorize(uow, Permission.READ, doing="explain allocations")
    run = _run(uow, run_id)
    version = _load(uow, run.ruleset_name, run.ruleset_version)
    result = None
    try:
        result = _compute(uow, store, run.period, version, today=run.created_at.date())
    except (InputError, ConflictError, NotFoundError):
        result = None
    head = {"run_id": run.id, "period": run.period, "ruleset": run.ruleset,
            "cost_centre": cost_centre, "fingerprint": run.fingerprint}
    if version.ruleset().clusters:  # namespace, label and idle shares of the clusters split
        head["cluster_shares"] = namespace_shares(uow=uow, period=run.period,
                                                  ruleset=version.ruleset())
    if version.ruleset().spot:  # spot and burstable costs by workload, and any left unsplit
        head["spot"] = spot_report(uow=uow, store=store, period=run.period,
                                   ruleset=version.ruleset())
    if version.ruleset().transfer:  # the run's own transfer split lines (ledger.transfer_split)
        head.update(transfer_in_run(uow=uow, run_id=run.id, cost_centre=cost_centre))
    elif uow.flow_logs.aggregates(run.period):  # data transfer by the originating team's bytes
        from ledger.services.transfer import transfer_shares_of

        head["transfer_shares"] = transfer_shares_of(uow=uow, store=store, period=run.period,
                                                     owner=cost_centre)
    if result is not None and result.fingerprint == run.fingerprint:
        explanation = explain(result, cost_centre)
        items = [{
            "pool": item.pool, "rule": item.rule, "kind": item.kind.value,
            "account": item.account, "currency": item.currency, "amount": item.amount,
            "note": item.note, "share": _fraction_text(item.share),
            "pool_total": _fraction_text(item.pool_total),
            "received": [{"from_pool": p, "amount": _fraction_text(a)}
                         for p, a in item.received],
            "source_count": len(item.sources),
            "sources": [_source_json(s.kind, s.line.key_text(), s.line.rows, s.line.amount)
                        for s in item.sources[:max_sources]],
        } for item in explanation.items]
        return masked(uow, {**head, "current": True, "totals": explanation.totals,
                            "items": items})
    return masked(uow, {**head, "current": False,
                        **_stored_explanation(uow, run, cost_centre, max_sources)})


def _stored_explanation(uow: UnitOfWork, run: StoredRun, cost_centre: str,
                        max_sources: int) -> dict[str, Any]:
    lineage = uow.allocation_runs.lineage(run.id)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    items = []
    for line in uow.allocation_runs.lines(run.id):
        if line.cost_centre != cost_centre:
            continue
        totals[line.currency] += line.amount
        if line.kind == "direct":
            sources = [s for s in lineage if s.kind == "direct" and s.cost_centre == cost_centre
                       and s.pool == line.pool and s.rule == line.rule]
        elif line.kind == "exception":
            sources = [s for s in lineage if s.kind == "direct" and s.pool == line.pool]
        else:
            sources = [s for s in lineage if s.kind in ("shared", "idle")
                       and s.pool == line.pool and s.currency == line.currency]
        items.append({"pool": line.pool, "rule": line.rule, "kind": line.kind,
                      "account": line.account, "currency": line.currency,
                      "amount": line.amount,
                      "note": "as stored with the run; the inputs have changed since",
                      "source_count": len(sources),
                      "sources": [_source_json(s.kind, s.key, s.rows, s.amount)
                                  for s in sources[:max_sources]]})
    return {"totals": dict(totals), "items": items}


def impact_of(*, uow: UnitOfWork, store: Any, period: str, ruleset: str,
              extra_sources: Sequence[PoolSourceProvider] = ()) -> dict[str, Any]:
    """Run ``period`` with ``ruleset`` (a draft, say) and with the active version of the same
    name, and show per cost centre the difference, with the rule changes themselves."""
    authorize(uow, Permission.READ, doing="analyse the impact of rule changes")
    draft = resolve(uow, ruleset, period)
    active = uow.rulesets.active(draft.name)
    if not active:
        raise NotFoundError(f"{draft.name} has no active version to compare with; activate one "
                            "first (apportion rules activate NAME@VERSION)")
    today = uow.clock.now().date()
    before = _compute(uow, store, period, active[0], today=today, extra=extra_sources)
    after = _compute(uow, store, period, draft, today=today, extra=extra_sources)
    lines = impact(before, after)
    return {"period": period, "active": active[0].label, "draft": draft.label,
            "rule_changes": [str(c) for c in _changes(active[0].ruleset(), draft.ruleset())],
            "lines": [{"cost_centre": li.cost_centre, "currency": li.currency,
                       "before": li.before, "after": li.after, "difference": li.difference}
                      for li in lines]}


# -- drivers -------------------------------------------------------------------------------------


def driver_table_hash(quantities: Iterable[DriverQuantity]) -> str:
    """sha256 of a driver table's content: (period, cost centre, quantity), sorted."""
    rows = sorted((q.period, q.cost_centre, format(q.quantity.normalize(), "f"))
                  for q in quantities)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def driver_revision(*, uow: UnitOfWork, driver: str) -> DriverRevision | None:
    authorize(uow, Permission.READ, doing="read driver tables")
    return uow.driver_revisions.latest(driver)


def list_drivers(*, uow: UnitOfWork, driver: str | None = None, period: str | None = None
                 ) -> list[DriverQuantity]:
    authorize(uow, Permission.READ, doing="list drivers")
    return uow.driver_revisions.quantities(driver=driver, period=period)


def _check_percentages(rows: Sequence[Staged[DriverQuantity]], units: Mapping[int, str]
                       ) -> list[InputError]:
    """Fixed percentages (unit ``%``) must total exactly 100 per driver and period."""
    sums: dict[tuple[str, str], list[Staged[DriverQuantity]]] = defaultdict(list)
    for index, item in enumerate(rows):
        if units.get(index, "").strip().lower() in PERCENT_UNITS:
            sums[(item.value.driver, item.value.period)].append(item)
    errors = []
    for (driver, period), items in sorted(sums.items()):
        total = sum((i.value.quantity for i in items), Decimal(0))
        if total != 100:
            numbers = ", ".join(str(i.row) for i in items)
            errors.append(items[-1].error(
                f"percentages of {driver} in {period} total {total} %, not 100 % (rows "
                f"{numbers})", field="value", value=str(total)))
    return errors


def import_drivers(*, uow: UnitOfWork, rows: Sequence[Staged[DriverQuantity]],
                   units: Mapping[int, str] | None = None,
                   expected: Mapping[str, int | str] | None = None,
                   reason: str | None = None) -> Changes:
    """Record driver quantities, all or none; the same data again changes nothing.

    ``expected`` gives, per driver, the revision (or table content hash) the file was based on;
    if someone saved that driver since, :class:`ConflictError` names who and what changed.
    Each save that changes a driver table records a new revision of it.
    """
    authorize(uow, Permission.MANAGE_DRIVERS, doing="import drivers")
    errors = _check_percentages(rows, units or {})
    if errors:
        raise InputErrors(errors, source=rows[0].source if rows else None)
    drivers = sorted({item.value.driver for item in rows})
    for driver in drivers:
        _check_expected(uow, driver, (expected or {}).get(driver))
    before = {d: {(q.period, q.cost_centre): q.quantity
                  for q in uow.driver_revisions.quantities(driver=d)} for d in drivers}
    changes = set_driver_quantities(uow=uow, quantities=rows, reason=reason)
    if not changes.changed:
        return changes
    for driver in drivers:
        after = uow.driver_revisions.quantities(driver=driver)
        diffs = tuple(f"{q.cost_centre}/{q.period}: {before[driver].get((q.period, q.cost_centre))}"
                      f" -> {q.quantity}" for q in after
                      if before[driver].get((q.period, q.cost_centre)) != q.quantity)
        if not diffs:
            continue
        latest = uow.driver_revisions.latest(driver)
        revision = DriverRevision(driver, (latest.revision if latest else 0) + 1,
                                  driver_table_hash(after), uow.actor.login, uow.clock.now(),
                                  reason, diffs)
        uow.driver_revisions.add(revision)
        record_change(uow, action="drivers.revision", entity="driver_table", key=driver,
                      before={"revision": latest.revision if latest else 0},
                      after={"revision": revision.revision, "hash": revision.content_hash,
                             "changes": len(diffs)}, reason=reason)
    return changes


def derive_usage_driver(*, uow: UnitOfWork, store: Any, period: str, driver: str,
                        ruleset: str | None = None, reason: str | None = None) -> Changes:
    """A usage driver from the billing itself: each cost centre's directly mapped billing cost
    in ``period`` (by the rule set's mapping rules, credits netted, never below zero), saved as
    driver ``driver`` like an imported one (revisioned; the same figures again change nothing).
    Shared pools can then be split in proportion to cloud consumption."""
    authorize(uow, Permission.MANAGE_DRIVERS, doing="derive drivers")
    version = resolve(uow, ruleset, period)
    result = _compute(uow, store, period, version, today=uow.clock.now().date())
    usage: dict[str, Decimal] = defaultdict(Decimal)
    for source in result.inputs:
        if source.kind == "direct" and source.line.origin == "billing" and source.cost_centre:
            usage[source.cost_centre] += source.line.amount
    rows = [Staged(DriverQuantity(driver.strip().lower(), centre, period,
                                  max(amount, Decimal(0))), f"billing {period}", index)
            for index, (centre, amount) in enumerate(sorted(usage.items()), start=1)]
    if not rows:
        raise InputError(f"no billing of {period} maps to a cost centre by {version.label}",
                         field="period", value=period)
    return import_drivers(uow=uow, rows=rows, reason=reason or f"derived from billing "
                                                                f"{period} by {version.label}")


def _check_expected(uow: UnitOfWork, driver: str, expected: int | str | None) -> None:
    if expected is None:
        return
    latest = uow.driver_revisions.latest(driver)
    current = latest.revision if latest else 0
    if expected in (current, str(current)) or (latest and expected == latest.content_hash):
        return
    since = [r for r in uow.driver_revisions.history(driver)
             if not isinstance(expected, int) or r.revision > expected]
    changed = "; ".join(f"revision {r.revision} by {r.saved_by} at {r.saved_at:%Y-%m-%d %H:%M}"
                        f": {', '.join(r.changes[:10])}" for r in since[-3:])
    raise ConflictError(f"driver {driver} was saved meanwhile: it is at revision {current}, "
                        f"you based your file on {expected}. {changed}. Nothing was saved: "
                        f"export the current table (apportion drivers list --driver {driver}), "
                        "apply your change again and import it.")


# -- manual costs ----------------------------------------------------------------------------


def import_manual_costs(*, uow: UnitOfWork, costs: Sequence[Staged[ManualCost]],
                        reason: str | None = None) -> Changes:
    """Record manual costs by entry id, all or none; the same values again change nothing.
    Pools are checked when a run uses them (a rule set without the pool reports the entry)."""
    authorize(uow, Permission.IMPORT_COSTS, doing="record manual costs")
    errors = [item.error(f"cost centre {item.value.cost_centre} does not exist",
                         field="cost_centre", value=item.value.cost_centre)
              for item in costs if item.value.cost_centre is not None
              and uow.cost_centres.get(item.value.cost_centre) is None]
    seen: dict[str, int | None] = {}
    for item in costs:
        if item.value.id in seen:
            errors.append(item.error(f"entry {item.value.id} appears twice (also row "
                                     f"{seen[item.value.id]})", field="id",
                                     value=item.value.id))
        seen[item.value.id] = item.row
    if errors:
        raise InputErrors(errors, source=costs[0].source if costs else None)
    created = updated = unchanged = 0
    for item in costs:
        before = uow.manual_costs.get(item.value.id)
        if before == item.value:
            unchanged += 1
            continue
        uow.manual_costs.save(item.value, by=uow.actor.login, at=uow.clock.now())
        record_change(uow, action="manual_cost.save", entity="manual_cost", key=item.value.id,
                      before=before, after=item.value, reason=reason)
        created, updated = created + (before is None), updated + (before is not None)
    return Changes(frozenset({"manual_cost"}), created=created, updated=updated,
                   unchanged=unchanged)


def list_manual_costs(*, uow: UnitOfWork, period: str) -> list[ManualCost]:
    authorize(uow, Permission.READ, doing="list manual costs")
    return uow.manual_costs.for_period(period)


# -- invoices ------------------------------------------------------------------------------------


def import_invoices(*, uow: UnitOfWork, file_name: str, sha256: str,
                    lines: Sequence[Staged[InvoiceLine]]) -> Changes:
    """Store a vendor invoice file's lines; the same file (by content) again changes nothing."""
    authorize(uow, Permission.IMPORT_COSTS, doing="import invoices")
    if uow.invoices.file(sha256) is not None:
        return Changes(frozenset({"invoice"}), unchanged=len(lines))
    if not lines:
        raise InputError("the file has a header but no invoice lines", source=file_name)
    file = InvoiceFile(sha256, file_name, len(lines), uow.actor.login, uow.clock.now())
    uow.invoices.add_file(file, [item.value for item in lines])
    record_change(uow, action="invoices.import", entity="invoice_file", key=sha256,
                  after={"file": file_name, "lines": len(lines),
                         "invoices": sorted({i.value.invoice_id for i in lines})})
    return Changes(frozenset({"invoice"}), created=len(lines))


@dataclass(frozen=True, slots=True)
class InvoiceCheck:
    """One comparison of vendor invoices with the imported billing, to the cent.

    ``basis`` is what was compared: ``"invoice"``, the lines of one invoice id, billing
    account and currency against the billing facts that carry that invoice id; ``"account"``,
    the invoices of one billing account, period and currency whose ids the billing does not
    carry, against that account's billing of the period that no per-invoice comparison took.
    ``billed`` is the exact billing sum; ``difference`` is invoiced minus billed, rounded to the
    minor unit (zero: they agree to the cent). ``status`` also names invoices with no billing
    behind them and billing no invoice covers.
    """

    basis: str
    invoice_ids: tuple[str, ...]
    billing_account_id: str
    billing_period: str
    currency: str
    invoiced: Decimal
    billed: Decimal
    difference: Decimal
    invoice_lines: int
    billed_rows: int

    @property
    def status(self) -> str:
        if not self.invoice_lines:
            return "no invoice"
        if not self.billed_rows:
            return "no billing"
        return "matches" if self.difference == 0 else "different"

    @property
    def matches(self) -> bool:
        return self.status == "matches"


def check_invoices(*, uow: UnitOfWork, store: Any, periods: Sequence[str] = ()
                   ) -> list[InvoiceCheck]:
    """Vendor invoices against the imported billing: per invoice where the billing carries the
    invoice's id (FOCUS 1.2 InvoiceId, CUR bill/InvoiceId), per billing account, period and
    currency otherwise. Billing with no invoice is looked for in ``periods``, or when none are
    given in the periods the invoices cover; an invoice's own rows in any period."""
    authorize(uow, Permission.READ, doing="check invoices")
    lines = uow.invoices.lines(periods=periods)
    scope = sorted({*periods, *(line.billing_period for line in lines)})
    if store is None or not scope:
        return compare_invoices(lines, [])
    billed = store.invoice_totals(periods=scope)
    invoiced_ids = {line.invoice_id for line in lines}
    if invoiced_ids:  # a charge split at a month end puts part of its invoice in the next month
        billed += [total for total in store.invoice_totals(invoice_ids=sorted(invoiced_ids))
                   if total.billing_period not in scope]
    return compare_invoices(lines, billed)


@dataclass(slots=True)
class _Side:
    """What one comparison gathers from the invoices and from the billing."""

    invoice_ids: set[str] = dataclasses.field(default_factory=set)
    periods: set[str] = dataclasses.field(default_factory=set)
    invoiced: Decimal = Decimal(0)
    lines: int = 0
    billed: Decimal = Decimal(0)
    rows: int = 0


def compare_invoices(lines: Iterable[InvoiceLine], billed: Iterable[Any]) -> list[InvoiceCheck]:
    """Pair invoice lines with billing totals (``ledger.costfacts.InvoiceTotal`` values).

    Every line and every billing total lands in exactly one comparison, so the invoiced and
    billed columns add up to what was invoiced and what was billed.
    """
    billed = list(billed)
    billed_ids = {b.invoice_id for b in billed if b.invoice_id is not None}
    sides: dict[tuple, _Side] = defaultdict(_Side)
    claimed: set[str] = set()
    for line in lines:
        if line.invoice_id in billed_ids:
            claimed.add(line.invoice_id)
            key: tuple = ("invoice", line.invoice_id, line.billing_account_id, line.currency)
        else:
            key = ("account", line.billing_account_id, line.billing_period, line.currency)
        side = sides[key]
        side.invoice_ids.add(line.invoice_id)
        side.periods.add(line.billing_period)
        side.invoiced += line.amount
        side.lines += 1
    for total in billed:
        account = total.billing_account_id or ""
        if total.invoice_id in claimed:
            key = ("invoice", total.invoice_id, account, total.billing_currency)
        else:
            key = ("account", account, total.billing_period, total.billing_currency)
            if key not in sides:  # no invoice covers it: reported per invoice id, if any
                key = ("unclaimed", total.invoice_id, *key[1:])
        side = sides[key]
        if total.invoice_id is not None and key[0] != "account":
            side.invoice_ids.add(total.invoice_id)
        side.periods.add(total.billing_period)
        side.billed += total.billed_cost
        side.rows += total.rows
    checks = [_check(key, side) for key, side in sides.items()]
    return sorted(checks, key=lambda c: (c.billing_account_id, c.billing_period, c.invoice_ids,
                                         c.currency, c.basis))


def _check(key: tuple, side: _Side) -> InvoiceCheck:
    """Keys: ("invoice", id, account, currency), ("account", account, period, currency) and
    ("unclaimed", id or None, account, period, currency) for billing no invoice covers."""
    kind, currency = key[0], key[-1]
    account = key[1] if kind == "account" else key[2]
    basis = "invoice" if kind == "invoice" or (kind == "unclaimed" and key[1]) else "account"
    difference = round_to_currency(side.invoiced - side.billed, currency)
    if difference == 0:  # billed a fraction of a cent above the invoice: 0.00, not -0.00
        difference = difference.copy_abs()
    return InvoiceCheck(basis, tuple(sorted(side.invoice_ids)), account,
                        ", ".join(sorted(side.periods)), currency, side.invoiced, side.billed,
                        difference, side.lines, side.rows)


def invoice_totals(*, uow: UnitOfWork, store: Any, periods: Sequence[str] = ()) -> list[Any]:
    """Billed cost per invoice id as the imported billing states it (FOCUS InvoiceId, CUR
    bill/InvoiceId): the provider's invoices, to hold a vendor's figures against."""
    authorize(uow, Permission.READ, doing="list invoice totals")
    if store is None:
        return []
    return store.invoice_totals(periods=list(periods) or None)


# -- the exceptions register -------------------------------------------------------------------


def propose_exception(*, uow: UnitOfWork, exception: AllocationException, reason: str | None
                      ) -> int:
    """Enter an exception in the register; it has no effect until someone else approves it."""
    why = _reason(reason, "an exception")
    authorize(uow, Permission.MANAGE_EXCEPTIONS, doing="propose allocation exceptions")
    for code in filter(None, (exception.cost_centre, exception.target_cost_centre)):
        if uow.cost_centres.get(code) is None:
            raise InputError(f"cost centre {code} does not exist", field="cost_centre",
                             value=code)
    entry = RegisteredException(exception, ExceptionStatus.PROPOSED, uow.actor.login,
                                uow.clock.now(), why)
    exception_id = uow.allocation_exceptions.add(entry)
    record_change(uow, action="exception.propose", entity="allocation_exception",
                  key=str(exception_id), after=dataclasses.replace(exception, id=exception_id),
                  reason=why)
    return exception_id


def approve_exception(*, uow: UnitOfWork, exception_id: int, reason: str | None = None
                      ) -> Changes:
    """Approve a proposed exception: not by whoever proposed it (maker-checker)."""
    authorize(uow, Permission.APPROVE_EXCEPTIONS, doing="approve allocation exceptions")
    entry = uow.allocation_exceptions.get(exception_id)
    if entry is None:
        raise NotFoundError(f"exception {exception_id} does not exist")
    if entry.created_by == uow.actor.login:
        from ledger.errors import PermissionDeniedError

        raise PermissionDeniedError(f"{uow.actor.login} proposed exception {exception_id} and "
                                    "cannot also approve it (maker-checker)")
    uow.allocation_exceptions.set_status(exception_id, expected=ExceptionStatus.PROPOSED,
                                         status=ExceptionStatus.APPROVED, by=uow.actor.login,
                                         at=uow.clock.now())
    record_change(uow, action="exception.approve", entity="allocation_exception",
                  key=str(exception_id), before={"status": entry.status},
                  after={"status": ExceptionStatus.APPROVED}, reason=reason)
    return Changes(frozenset({"allocation_exception"}), updated=1, ids=(exception_id,))


def revoke_exception(*, uow: UnitOfWork, exception_id: int, reason: str | None) -> Changes:
    why = _reason(reason, "revoking an exception")
    authorize(uow, Permission.MANAGE_EXCEPTIONS, doing="revoke allocation exceptions")
    entry = uow.allocation_exceptions.get(exception_id)
    if entry is None:
        raise NotFoundError(f"exception {exception_id} does not exist")
    uow.allocation_exceptions.set_status(exception_id, expected=entry.status,
                                         status=ExceptionStatus.REVOKED)
    record_change(uow, action="exception.revoke", entity="allocation_exception",
                  key=str(exception_id), before={"status": entry.status},
                  after={"status": ExceptionStatus.REVOKED}, reason=why)
    return Changes(frozenset({"allocation_exception"}), updated=1, ids=(exception_id,))


def list_exceptions(*, uow: UnitOfWork) -> list[RegisteredException]:
    authorize(uow, Permission.READ, doing="list allocation exceptions")
    return uow.allocation_exceptions.list()
