"""Use cases of the forecast's known changes: import them from a file (all or nothing), add one
by hand, list and remove them. Each write is audited; the forecast applies them on top of the
seasonal baseline (:func:`ledger.reports.forecast.apply_known_changes`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ledger.access import Permission
from ledger.errors import InputError, InputErrors, NotFoundError
from ledger.money import MoneyError, normalise_currency
from ledger.ports import UnitOfWork
from ledger.reports.forecast import KnownChange
from ledger.services.base import Changes, authorize, record_change
from ledger.staging import Staged, staged

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _check(item: Staged[KnownChange], centres: set[str], pools: set[str],
           services: set[str], currency: str | None) -> tuple[KnownChange | None,
                                                              list[InputError]]:
    """The change with its currency filled in, or the errors naming its row and field."""
    change, errors = item.value, []
    if change.cost_centre not in centres:
        errors.append(item.error("cost centre does not exist", field="cost_centre",
                                 value=change.cost_centre))
    for field, value in (("from_period", change.from_period), ("to_period", change.to_period)):
        if value is not None and not _PERIOD.match(value):
            errors.append(item.error("must be a period YYYY-MM", field=field, value=value))
    if change.to_period and change.to_period < change.from_period:
        errors.append(item.error("is before from_period", field="to_period",
                                 value=change.to_period))
    if (change.amount is None) == (change.percent is None):
        errors.append(item.error("give exactly one of amount and percent", field="amount"))
    if change.percent is not None and change.percent < -100:
        errors.append(item.error("a cost cannot fall by more than 100 %", field="percent",
                                 value=format(change.percent, "f")))
    if change.pool and change.service:
        errors.append(item.error("name a pool or a service, not both", field="service"))
    if change.pool and pools and change.pool not in pools:
        errors.append(item.error("is not a pool of the active rule sets", field="pool",
                                 value=change.pool))
    if change.service and change.service.upper() not in services:
        errors.append(item.error("is not a service of the catalogue", field="service",
                                 value=change.service))
    if not change.reason.strip():
        errors.append(item.error("is required: say what the change is", field="reason"))
    elif len(change.reason.strip()) > 300:
        errors.append(item.error("is longer than 300 characters", field="reason"))
    found = change.currency or (currency if change.amount is not None else None)
    if change.amount is not None and found is None:
        errors.append(item.error("is required: the company has no functional currency",
                                 field="currency"))
    elif found is not None:
        try:
            found = normalise_currency(found)
        except MoneyError:
            errors.append(item.error("is not a currency code", field="currency", value=found))
    if errors:
        return None, errors
    return KnownChange(change.cost_centre, change.from_period, change.reason.strip(),
                       change.amount, change.percent, found if change.amount is not None
                       else None, change.to_period, change.pool or None,
                       change.service.upper() if change.service else None), []


def import_known_changes(*, uow: UnitOfWork, changes: Sequence[Staged[KnownChange]],
                         reason: str | None = None) -> Changes:
    """Save known changes, all or nothing: every row checked first (errors name the file, the
    row and the field); a change equal to the stored one of the same key (cost centre, from
    period, pool, service, reason) is left alone, so the same file again changes nothing."""
    authorize(uow, Permission.MANAGE_BUDGETS, doing="record known changes of the forecast")
    centres = {cc.code for cc in uow.cost_centres.list()}
    pools = {p.id for v in uow.rulesets.active() for p in v.ruleset().pools}
    services = {s.code.upper() for s in uow.catalogue.services()}
    company = uow.company.get()
    currency = company.functional_currency if company else None
    checked, errors, seen = [], [], {}
    for item in changes:
        change, found = _check(item, centres, pools, services, currency)
        errors += found
        if change is None:
            continue
        if change.key in seen:
            errors.append(item.error(f"the same change appears twice (first at row "
                                     f"{seen[change.key]})", field="reason",
                                     value=change.reason))
            continue
        seen[change.key] = item.row
        checked.append(change)
    if errors:
        raise InputErrors(errors, source=changes[0].source if changes else None)
    if not checked:
        raise InputError("no known changes to record")
    created = updated = unchanged = 0
    ids = []
    for change in checked:
        before = uow.known_changes.find(change.key)
        if before is not None and before.same_as(change):
            unchanged += 1
            continue
        change_id = uow.known_changes.save(change, by=uow.actor.login, at=uow.clock.now())
        ids.append(str(change_id))
        record_change(uow, action="forecast.known_change." + ("update" if before else "create"),
                      entity="known_change", key=str(change_id), before=before, after=change,
                      reason=reason)
        created, updated = created + int(before is None), updated + int(before is not None)
    return Changes(frozenset({"known_change"}), created=created, updated=updated,
                   unchanged=unchanged, ids=tuple(ids))


def add_known_change(*, uow: UnitOfWork, change: KnownChange, reason: str | None = None
                     ) -> Changes:
    """Record one known change (the command line's ``known-changes add``)."""
    return import_known_changes(uow=uow, changes=staged([change], "command line"),
                                reason=reason)


def list_known_changes(*, uow: UnitOfWork, cost_centre: str | None = None
                       ) -> list[KnownChange]:
    authorize(uow, Permission.READ, doing="read the forecast's known changes")
    return uow.known_changes.list(cost_centre=cost_centre)


def remove_known_change(*, uow: UnitOfWork, change_id: int, reason: str | None = None
                        ) -> Changes:
    """Remove a known change that will not happen after all (audited)."""
    authorize(uow, Permission.MANAGE_BUDGETS, doing="remove known changes of the forecast")
    removed = uow.known_changes.remove(change_id)
    if removed is None:
        raise NotFoundError(f"known change {change_id} does not exist; see: apportion report "
                            "known-changes list")
    record_change(uow, action="forecast.known_change.remove", entity="known_change",
                  key=str(change_id), before=removed, after=None, reason=reason)
    return Changes(frozenset({"known_change"}), deleted=1)

