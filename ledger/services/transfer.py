"""Use cases for data transfer: store flow-log aggregates, and split transfer charges by bytes.

Flow logs are read and aggregated by :mod:`connectors.flow_logs` (DuckDB, streaming); this
service keeps only the aggregates, with the permission check and the audit event every write
needs, and a re-import of the same content (by sha256) changes nothing. The split itself is
pure (:func:`ledger.transfer.assign_transfer_cost`): the transfer charges come from the billing
facts of the period (rows whose service, usage type or description say data transfer), the
bytes from the stored aggregates, the owners from the flow-log mapping or else the resource's
owner tag in billing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from ledger.access import Permission
from ledger.allocation import BillingSource, RuleSet
from ledger.allocation.rules import normalise_key
from ledger.costfacts import CostFactStore
from ledger.errors import InputError
from ledger.ports import UnitOfWork
from ledger.services.base import authorize, record_change
from ledger.transfer import (
    ANY_KIND,
    CHARGED_KINDS,
    FlowAggregate,
    TransferCharge,
    TransferShare,
    assign_transfer_cost,
    billing_transfer_kind,
)
from ledger.transfer_split import (
    BYTES_ATTRIBUTE,
    CHARGE_BYTES_ATTRIBUTE,
    KIND_ATTRIBUTE,
    OWNER_ATTRIBUTE,
    RESOURCES_ATTRIBUTE,
    RULE_ATTRIBUTE,
    TRANSFER_ORIGIN,
    UNSPLIT_ATTRIBUTE,
    TransferSplitSource,
)

#: The billing tag that names a resource's owning team when the flow-log mapping does not.
DEFAULT_OWNER_TAG = "team"


class FlowLogRead(Protocol):
    """What :func:`connectors.flow_logs.aggregate_flow_logs` gives."""

    file: str
    sha256: str
    format: str
    records: int
    counted: int
    aggregates: Sequence[FlowAggregate]


@dataclass(frozen=True, slots=True)
class FlowLogImportResult:
    """What an import did."""

    import_id: int
    file: str
    format: str
    records: int
    counted: int
    aggregates: int
    bytes: int
    periods: tuple[str, ...]
    already_imported: bool

    @property
    def message(self) -> str:
        if self.already_imported:
            return (f"{self.file} was already imported as flow-log import {self.import_id} "
                    f"(same content): nothing imported")
        return (f"read {self.records} flow records from {self.file} ({self.format}); "
                f"{self.counted} counted into {self.aggregates} aggregates, {self.bytes} bytes, "
                f"periods {', '.join(self.periods) or 'none'}")


def import_flow_logs(
    *, uow: UnitOfWork, sha256: str, read: Callable[[], FlowLogRead]
) -> FlowLogImportResult:
    """Store the aggregates of one flow-log file; ``read`` runs only for new content."""
    authorize(uow, Permission.IMPORT_COSTS, doing="import flow logs")
    earlier = uow.flow_logs.find(sha256)
    if earlier is not None:
        return FlowLogImportResult(earlier.id, earlier.file, earlier.format, earlier.records,
                                   earlier.counted, 0, 0, (), already_imported=True)
    summary = read()
    if summary.sha256 != sha256:
        raise InputError("changed while it was read: import it again", source=summary.file)
    stored = uow.flow_logs.add(
        file=summary.file, sha256=summary.sha256, format=summary.format,
        records=summary.records, counted=summary.counted, imported_at=uow.clock.now(),
        imported_by=uow.actor.login, aggregates=summary.aggregates,
    )
    periods = tuple(sorted({a.period for a in summary.aggregates}))
    total = sum(a.bytes for a in summary.aggregates)
    record_change(uow, action="flow_logs.import", entity="flow_log_import", key=str(stored.id),
                  after={"file": summary.file, "sha256": summary.sha256,
                         "format": summary.format, "records": summary.records,
                         "counted": summary.counted, "aggregates": len(summary.aggregates),
                         "bytes": total, "periods": list(periods)})
    return FlowLogImportResult(stored.id, summary.file, summary.format, summary.records,
                               summary.counted, len(summary.aggregates), total, periods,
                               already_imported=False)


def transfer_charges(store: CostFactStore, period: str, *, cost_basis: str = "billed"
                     ) -> list[TransferCharge]:
    """The period's data-transfer charges from billing, per kind, source region and currency:
    usage rows only (tax on transfer follows the tax rules, inbound transfer is free)."""
    column = {"billed": "billed_cost", "effective": "effective_cost"}.get(cost_basis)
    if column is None:
        raise InputError("must be billed or effective", field="cost_basis", value=cost_basis)
    with store.connect(periods=[period]) as con:
        rows = con.execute(
            f"SELECT service_name, charge_description, pricing_unit, region, "  # noqa: S608
            f"billing_currency, sum({column}), count(*) FROM cost_facts "
            f"WHERE billing_period = ? AND charge_category = 'Usage' "
            f"GROUP BY ALL ORDER BY ALL", [period]
        ).fetchall()
    sums: dict[tuple[str, str | None, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for service, description, _unit, region, currency, amount, count in rows:
        kind = billing_transfer_kind(service, description)
        if kind not in (*CHARGED_KINDS, ANY_KIND):  # not transfer, or inbound (free)
            continue
        entry = sums[(kind, region, currency)]
        entry[0] += amount
        entry[1] += count
    return [TransferCharge(kind, currency, amount, region, count)
            for (kind, region, currency), (amount, count) in sorted(
                sums.items(), key=lambda item: (item[0][0], item[0][1] or "", item[0][2]))]


def _owners_from_billing(store: CostFactStore, period: str, resources: set[str],
                         owner_tag: str, aliases: Mapping[str, str] | None = None
                         ) -> dict[str, str]:
    """resource id -> the value of its ``owner_tag`` tag in the period's billing (the least
    one when rows differ). Keys compare as the rules compare them: trimmed, case-folded, any
    alias of the rule set's ``[tag_keys]`` standing for its canonical key."""
    if not resources:
        return {}
    aliases = aliases or {}
    wanted_key = aliases.get(normalise_key(owner_tag), normalise_key(owner_tag))
    with store.connect(periods=[period]) as con:
        con.execute("CREATE TEMP TABLE wanted (resource_id VARCHAR)")
        con.executemany("INSERT INTO wanted VALUES (?)", [(r,) for r in sorted(resources)])
        rows = con.execute(
            "SELECT DISTINCT f.resource_id, e.key, e.value FROM (SELECT resource_id, "
            "unnest(map_entries(tags)) AS e FROM cost_facts WHERE cardinality(tags) > 0) f "
            "JOIN wanted w ON w.resource_id = f.resource_id ORDER BY ALL"
        ).fetchall()
    owners: dict[str, str] = {}
    for resource, key, value in rows:
        if value and aliases.get(normalise_key(key), normalise_key(key)) == wanted_key:
            owners.setdefault(resource, value)  # ordered: the least value first
    return owners


@dataclass(frozen=True, slots=True)
class TransferReport:
    """A period's transfer charges and who carries them."""

    period: str
    charges: tuple[TransferCharge, ...]
    shares: tuple[TransferShare, ...]
    flows: tuple[FlowAggregate, ...]

    def for_owner(self, owner: str) -> list[TransferShare]:
        return [s for s in self.shares if s.owner == owner]


def transfer_report(
    *,
    uow: UnitOfWork,
    store: CostFactStore,
    period: str,
    owner_tag: str = DEFAULT_OWNER_TAG,
    cost_basis: str = "billed",
) -> TransferReport:
    """Split the period's inter-zone, inter-region and egress charges over the teams whose
    resources sent the bytes; each charge's shares sum to it to the cent."""
    authorize(uow, Permission.READ, doing="show data-transfer shares")
    flows = uow.flow_logs.aggregates(period)
    charges = transfer_charges(store, period, cost_basis=cost_basis)
    unowned = {f.resource_id for f in flows if f.owner is None}
    owner_of = _owners_from_billing(store, period, unowned, owner_tag)
    shares = assign_transfer_cost(charges, flows, owner_of=owner_of)
    return TransferReport(period, tuple(charges), tuple(shares), tuple(flows))


def transfer_shares_of(*, uow: UnitOfWork, store: CostFactStore, period: str, owner: str,
                       owner_tag: str = DEFAULT_OWNER_TAG) -> list[dict[str, Any]]:
    """One owner's transfer shares as ``apportion explain`` shows them for a rule set without
    ``[[transfer]]`` rules (the run charged transfer by its mapping rules; ``in_run`` false):
    per kind and region, the owner's bytes, the charge's bytes, the share and the amount, and
    the resources. With such rules explain shows :func:`transfer_in_run` instead."""
    report = transfer_report(uow=uow, store=store, period=period, owner_tag=owner_tag)
    charged = {(c.kind, c.region, c.currency): c.amount for c in report.charges}
    return [
        {"kind": s.kind, "region": s.region, "currency": s.currency, "bytes": s.bytes,
         "charge_bytes": s.charge_bytes, "percent": s.percent,
         "charge": charged.get((s.kind, s.region, s.currency)), "amount": s.amount,
         "resources": list(s.resources), "owner": s.owner, "in_run": False}
        for s in report.for_owner(owner)
    ]


# -- inside allocation runs ----------------------------------------------------------------------


def transfer_split(uow: UnitOfWork, billing: Any, *, store: Any, period: str,
                   ruleset: RuleSet) -> Any:
    """The billing source of a run, with its data-transfer lines split by the bytes of the
    teams that sent them when the rule set has ``[[transfer]]`` rules (else as it was)."""
    rules = getattr(ruleset, "transfer", ())
    if not rules or billing is None:
        return billing
    flows = uow.flow_logs.aggregates(period)
    unowned = {f.resource_id for f in flows if f.owner is None}
    owner_of: dict[str, dict[str, str]] = {}
    if unowned and hasattr(store, "connect"):
        aliases = ruleset.key_aliases()
        for tag in sorted({r.owner_tag for r in rules}):
            owner_of[tag] = _owners_from_billing(store, period, unowned, tag, aliases)
    inner = billing if hasattr(billing, "lines") else BillingSource(billing)
    return TransferSplitSource(inner, rules, flows, owner_of=owner_of,
                               default_pool=ruleset.default_pool or ruleset.pools[0].id)


def _percent(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal(100)
    return (Decimal(100) * part / whole).quantize(Decimal("0.01"))


def transfer_in_run(*, uow: UnitOfWork, run_id: int, cost_centre: str) -> dict[str, Any]:
    """What a run's transfer split did, read from the run's own stored lineage (so it is what
    the run charged, whatever came in since): ``transfer_shares``, the shares that reached
    ``cost_centre`` directly (kind, region, owner, bytes of the charge's bytes, percent, amount,
    the charge split, the resources, the mapping rule), and ``transfer``, every owner's part
    per kind and region with where it went, and the transfer lines no flow explained."""
    charged: dict[tuple[str, str | None, str], Decimal] = defaultdict(Decimal)
    mine: dict[tuple[str, str | None, str, str], dict[str, Any]] = {}
    split: dict[tuple[str, str | None, str, str, str], Decimal] = defaultdict(Decimal)
    unsplit: dict[tuple[str, str | None, str], Decimal] = defaultdict(Decimal)
    for entry in uow.allocation_runs.lineage(run_id):
        is_split = entry.origin == TRANSFER_ORIGIN
        if not is_split and f'"{UNSPLIT_ATTRIBUTE}"' not in entry.key:
            continue
        attributes = dict(json.loads(entry.key)[2])
        region = attributes.get("region")
        if not is_split:
            unsplit[attributes[UNSPLIT_ATTRIBUTE], region, entry.currency] += entry.amount
            continue
        kind, owner = attributes[KIND_ATTRIBUTE], attributes[OWNER_ATTRIBUTE]
        charged[kind, region, entry.currency] += entry.amount
        went = entry.cost_centre or (f"pool:{entry.pool}" if entry.kind in ("shared", "idle")
                                     else "(unallocated)")
        split[kind, region, owner, entry.currency, went] += entry.amount
        if entry.kind != "direct" or entry.cost_centre != cost_centre:
            continue
        share = mine.setdefault((kind, region, entry.currency, owner), {
            "kind": kind, "region": region, "currency": entry.currency, "owner": owner,
            "bytes": int(attributes[BYTES_ATTRIBUTE]),
            "charge_bytes": int(attributes[CHARGE_BYTES_ATTRIBUTE]),
            "amount": Decimal(0), "resources": [
                r for r in (attributes.get(RESOURCES_ATTRIBUTE) or "").split(", ") if r],
            "transfer_rule": attributes.get(RULE_ATTRIBUTE), "rules": [], "in_run": True})
        share["amount"] += entry.amount
        if entry.rule not in share["rules"]:
            share["rules"].append(entry.rule)
    shares = []
    for key, share in sorted(mine.items(), key=lambda i: tuple(str(p) for p in i[0])):
        share["percent"] = _percent(share["bytes"], share["charge_bytes"])
        share["charge"] = charged[key[:3]]
        shares.append(share)
    return {"transfer_shares": shares, "transfer": {
        "split": [{"kind": k, "region": r, "owner": o, "currency": c, "charged_to": w,
                   "amount": a}
                  for (k, r, o, c, w), a in sorted(split.items(),
                                                   key=lambda i: tuple(map(str, i[0])))],
        "unsplit": [{"kind": k, "region": r, "currency": c, "amount": a}
                    for (k, r, c), a in sorted(unsplit.items(),
                                               key=lambda i: tuple(map(str, i[0])))]}}
