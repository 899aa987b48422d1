"""Use cases for anomalies: detect them in the cost facts, review them, keep tickets in step.

Detection reads daily cost series from the columnar store, finds spikes per service and per
cost-centre tag, growth of untagged cost, and new resources without the required tags, and
records each as a finding with a stable key: running detection again updates, never doubles.
A finding whose condition went away is cleared. Tickets follow the findings: one per finding,
opened while it is open or acknowledged, closed when it is cleared or dismissed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledger.access import Permission
from ledger.anomaly import (
    ShareRule,
    SpikeRule,
    UnseenAsset,
    find_share_outliers,
    find_spikes,
    find_untagged_growth,
    missing_tag_findings,
    unseen_asset_findings,
)
from ledger.costfacts import CostFactStore
from ledger.errors import ApportionError, ConflictError, InputError, NotFoundError
from ledger.finding import Finding, FindingStatus, Severity, StoredFinding
from ledger.ports import Notifier, TicketSink, UnitOfWork
from ledger.services.base import authorize, record_change

#: Series the spikes are looked for in: a cost fact column, or ``tag:KEY``.
DEFAULT_SUBJECTS = ("service_name", "tag:cost-centre")
COLUMNS = ("service_name", "sub_account_id", "billing_account_id", "region", "provider",
           "service_category")


@dataclass
class DetectionReport:
    new: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)


def _subject_sql(subject: str) -> tuple[str, list[Any]]:
    if subject.startswith("tag:"):
        return "element_at(tags, ?)[1]", [subject[4:]]
    if subject not in COLUMNS:
        raise InputError(f"cannot look for spikes by {subject!r}; use one of "
                         f"{', '.join(COLUMNS)} or tag:KEY", field="subjects", value=subject)
    return subject, []


def daily_series(store: CostFactStore, subject: str, first: date, last: date
                 ) -> dict[str, dict[date, Decimal]]:
    """Effective cost per day and value of ``subject`` from ``first`` to ``last``."""
    expression, params = _subject_sql(subject)
    periods = sorted({f"{d.year:04d}-{d.month:02d}" for d in
                      (first + timedelta(days=n) for n in range((last - first).days + 1))})
    series: dict[str, dict[date, Decimal]] = defaultdict(dict)
    with store.connect(periods=[p for p in periods if p in store.periods()]) as con:
        rows = con.execute(
            f"SELECT {expression} AS subject, CAST(charge_period_start AS DATE) AS day, "  # noqa: S608 - expression is from a fixed list
            "sum(effective_cost) FROM cost_facts WHERE CAST(charge_period_start AS DATE) "
            "BETWEEN ? AND ? GROUP BY 1, 2", [*params, first, last]).fetchall()
    for value, day, amount in rows:
        if value is not None:
            series[str(value)][day] = Decimal(amount)
    return series


def _untagged(store: CostFactStore, tag: str, first: date, last: date
              ) -> tuple[dict[date, Decimal], dict[date, Decimal]]:
    untagged: dict[date, Decimal] = {}
    total: dict[date, Decimal] = {}
    with store.connect() as con:
        rows = con.execute(
            "SELECT CAST(charge_period_start AS DATE), sum(effective_cost), "
            "sum(CASE WHEN element_at(tags, ?)[1] IS NULL THEN effective_cost ELSE 0 END) "
            "FROM cost_facts WHERE CAST(charge_period_start AS DATE) BETWEEN ? AND ? "
            "GROUP BY 1", [tag, first, last]).fetchall()
    for day, all_cost, without in rows:
        total[day], untagged[day] = Decimal(all_cost), Decimal(without)
    return untagged, total


def _new_resources(store: CostFactStore, first: date, last: date) -> dict[str, dict[str, Any]]:
    with store.connect() as con:
        rows = con.execute(
            "SELECT resource_id, min(CAST(charge_period_start AS DATE)), any_value(tags), "
            "any_value(service_name), sum(effective_cost) FROM cost_facts "
            "WHERE resource_id IS NOT NULL GROUP BY 1 "
            "HAVING min(CAST(charge_period_start AS DATE)) BETWEEN ? AND ?",
            [first, last]).fetchall()
    return {resource: {"first_seen": seen, "tags": dict(tags or {}), "service": service,
                       "cost": cost} for resource, seen, tags, service, cost in rows}


#: Findings about a past event (a day's spike): they stay until someone reviews them. Every
#: other kind describes a condition and clears when a detection that looked for it no longer
#: finds it.
EVENT_KINDS = frozenset({"cost_spike"})

ShareHistory = Mapping[str, Mapping[str, Mapping[str, Decimal]]]


def allocation_share_history(uow: UnitOfWork) -> ShareHistory:
    """What each cost centre received from each pool per period, from the current (not
    superseded) allocation runs: ``pool/currency`` -> period -> cost centre -> amount (shares
    are only compared within one currency)."""
    from ledger.allocation.stored import RunStatus

    history: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(Decimal)))
    for run in uow.allocation_runs.list(status=RunStatus.DRAFT):
        for line in uow.allocation_runs.lines(run.id):
            history[f"{line.pool}/{line.currency}"][run.period][line.cost_centre] += \
                line.amount
    return history


def unseen_assets_from_inventory(uow: UnitOfWork, max_days: int) -> list[UnseenAsset]:
    """In-service assets no discovery source has seen for ``max_days`` days, from the
    inventory's reconciliation (:func:`ledger.services.inventory.last_seen`)."""
    from ledger.services.inventory import last_seen

    return [UnseenAsset(a.tag, a.name, None if a.last_seen is None else a.last_seen.date(),
                        cost_centre=a.cost_centre)
            for a in last_seen(uow=uow, days=max_days)]


def _share_findings(history: ShareHistory, owners: Mapping[str, str | None], currency: str,
                    rule: ShareRule | None) -> list[Finding]:
    found = []
    for pool, periods in sorted(history.items()):
        for period in sorted(periods):
            for outlier in find_share_outliers(pool, periods, period, rule):
                found.append(outlier.finding(owner_email=owners.get(outlier.cost_centre),
                                             currency=currency))
    return found


def detect_anomalies(*, uow: UnitOfWork, store: CostFactStore, today: date, days: int = 7,
                     subjects: Sequence[str] = DEFAULT_SUBJECTS, owner_tag: str = "cost-centre",
                     required_tags: Sequence[str] = (), rule: SpikeRule | None = None,
                     share_rule: ShareRule | None = None,
                     allocation_history: ShareHistory | None = None,
                     unseen_assets: Sequence[UnseenAsset] | None = None,
                     max_unseen_days: int | None = None) -> DetectionReport:
    """Look at the last ``days`` days before ``today`` and record what stands out.

    Besides the billing: allocation outliers over ``allocation_history`` (by default the stored
    allocation runs) and, with ``max_unseen_days``, in-service assets no discovery source has
    seen for that long (``unseen_assets``, by default from the inventory)."""
    authorize(uow, Permission.REVIEW_FINDINGS, doing="detect anomalies")
    rule = rule or SpikeRule()
    last = today - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    history_start = first - timedelta(weeks=rule.weeks)
    window = [first + timedelta(days=n) for n in range(days)]
    owners = {cc.code: cc.owner for cc in uow.cost_centres.list()}
    currency = (uow.company.get().functional_currency if uow.company.get() else "USD")
    found: list[tuple[str, Finding]] = []
    looked_for = {"cost_spike", "untagged_growth"}
    for subject in subjects:
        for value, series in sorted(daily_series(store, subject, history_start, last).items()):
            label = f"{subject.removeprefix('tag:')}:{value}"
            centre = value if subject == f"tag:{owner_tag}" and value in owners else None
            for spike in find_spikes(label, series, window, rule):
                found.append(("cost_spike", spike.finding(
                    cost_centre=centre, owner_email=owners.get(centre or ""),
                    currency=currency)))
    untagged, total = _untagged(store, owner_tag, last - timedelta(weeks=4), last)
    growth = find_untagged_growth(owner_tag, untagged, total, last)
    if growth is not None:
        found.append(("untagged_growth", growth.finding(currency=currency)))
    if required_tags:
        looked_for.add("missing_tag")
        for finding in missing_tag_findings(_new_resources(store, first, last), required_tags):
            found.append(("missing_tag", finding))
    if allocation_history is None and hasattr(uow, "allocation_runs"):
        allocation_history = allocation_share_history(uow)
    if allocation_history is not None:
        looked_for.add("allocation_outlier")
        found += [("allocation_outlier", f) for f in
                  _share_findings(allocation_history, owners, currency, share_rule)]
    if max_unseen_days is not None:
        if unseen_assets is None:
            unseen_assets = unseen_assets_from_inventory(uow, max_unseen_days)
        looked_for.add("unseen_asset")
        found += [("unseen_asset", f) for f in unseen_asset_findings(
            unseen_assets, today=today, max_days=max_unseen_days, owners=owners)]
    return _record(uow, found, looked_for)


def _record(uow: UnitOfWork, found: Sequence[tuple[str, Finding]],
            looked_for: set[str]) -> DetectionReport:
    """Save what was found (a stable key: again is an update, never a double) and clear the
    conditions looked for and no longer found."""
    report = DetectionReport()
    now = uow.clock.now()
    live_keys = set()
    for kind, finding in found:
        live_keys.add(finding.key)
        before = uow.findings.by_key(finding.key)
        finding_id, created = uow.findings.save(finding, kind=kind, now=now)
        if created:
            report.new.append(finding_id)
            record_change(uow, action="finding.open", entity="finding", key=finding.key,
                          after={"severity": finding.severity, "evidence": finding.evidence})
        else:
            report.updated.append(finding_id)
            if before is not None and before.status is FindingStatus.CLEARED:
                uow.findings.set_status(finding_id, FindingStatus.OPEN, by=None,
                                        reason="the condition is back")
    for stored in uow.findings.list(statuses=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED]):
        if stored.kind in EVENT_KINDS or stored.kind not in looked_for \
                or stored.finding.key in live_keys:
            continue
        uow.findings.set_status(stored.id, FindingStatus.CLEARED, by=None,
                                reason="no longer found")
        record_change(uow, action="finding.clear", entity="finding",
                      key=stored.finding.key, reason="no longer found")
        report.cleared.append(stored.id)
    return report


def list_findings(*, uow: UnitOfWork, statuses: Sequence[str] = ()) -> list[StoredFinding]:
    authorize(uow, Permission.READ, doing="list anomalies")
    for status in statuses:
        try:
            FindingStatus(status)
        except ValueError:
            raise InputError(f"unknown status {status!r}; use one of "
                             f"{', '.join(s.value for s in FindingStatus)}", field="status",
                             value=status) from None
    return uow.findings.list(statuses=statuses)


def review_finding(*, uow: UnitOfWork, finding_id: int, status: FindingStatus,
                   reason: str) -> StoredFinding:
    """Acknowledge (someone is on it) or dismiss (not a problem) a finding, with a reason."""
    authorize(uow, Permission.REVIEW_FINDINGS, doing="review anomalies")
    if status not in (FindingStatus.ACKNOWLEDGED, FindingStatus.DISMISSED):
        raise InputError("a review acknowledges or dismisses", field="status")
    if not reason or not reason.strip():
        raise InputError("say why (--reason)", field="reason")
    stored = uow.findings.get(finding_id)
    if stored is None:
        raise NotFoundError(f"anomaly {finding_id} does not exist; see: apportion anomalies list")
    if stored.status in (FindingStatus.DISMISSED, FindingStatus.CLEARED):
        raise ConflictError(f"anomaly {finding_id} is already {stored.status.value}")
    uow.findings.set_status(finding_id, status, by=uow.actor.login, reason=reason.strip())
    record_change(uow, action=f"finding.{status.value}", entity="finding",
                  key=stored.finding.key, before={"status": stored.status},
                  after={"status": status}, reason=reason.strip())
    updated = uow.findings.get(finding_id)
    assert updated is not None
    return updated


@dataclass
class TicketReport:
    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    failed_notifications: list[str] = field(default_factory=list)


def sync_tickets(*, uow: UnitOfWork, sink: TicketSink, notifier: Notifier | None = None,
                 notify_from: Severity = Severity.HIGH) -> TicketReport:
    """One ticket per finding: open or update it while the finding is open or acknowledged,
    close it when the finding is cleared or dismissed. New findings at ``notify_from`` severity
    or above are mailed to the cost centre's owner."""
    authorize(uow, Permission.REVIEW_FINDINGS, doing="raise tickets")
    report = TicketReport()
    order = list(Severity)
    for stored in uow.findings.list(statuses=[FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED]):
        if stored.ticket is not None and stored.ticket_evidence == stored.finding.evidence:
            continue
        ticket = sink.open_or_update(stored.finding)
        (report.updated if stored.ticket else report.opened).append(stored.finding.key)
        uow.findings.set_ticket(stored.id, ticket, dict(stored.finding.evidence))
        if stored.ticket is None and notifier is not None and \
                order.index(stored.finding.severity) >= order.index(notify_from):
            try:
                notifier.notify(stored.finding)
            except ApportionError as exc:
                # A mail that cannot go must not undo the ticket bookkeeping (which would
                # count the ticket as new and mail the owner again on the next run).
                report.failed_notifications.append(f"{stored.finding.key}: {exc}")
            else:
                report.notified.append(stored.finding.key)
    for stored in uow.findings.list(statuses=[FindingStatus.CLEARED, FindingStatus.DISMISSED]):
        if stored.ticket is None:
            continue
        sink.close(stored.finding.key, stored.reason or stored.status.value)
        uow.findings.set_ticket(stored.id, None, None)
        report.closed.append(stored.finding.key)
    return report
