"""Reconciliation: which discovered devices are which register assets, and what disagrees.

Pure: values in, a :class:`Reconciliation` out; no database, no clock (``as_of`` is passed).

Matching
    Every identifier is normalised (:mod:`ledger.discovery`) into a key. Register entries are
    indexed by key, one dict per kind of evidence; each device looks its keys up (dict joins,
    linear in the number of records, so a million against a million is feasible). Evidence is
    ranked serial > hardware UUID > cloud resource id > asset tag > MAC > hostname, with a
    confidence for each (:data:`EVIDENCE_CONFIDENCE`). Several agreeing keys combine as
    independent evidence (``1 - prod(1 - p)``); a serial, UUID or cloud id present on both sides
    and *different* halves the confidence. A device is paired with the candidate of highest
    confidence (ties broken by rank, then tag), and only when that reaches
    :data:`MIN_CONFIDENCE`. A key that two register entries share is ambiguous: it is reported
    as a duplicate and never used to match.

Invariants
    One device is paired with at most one asset. One asset is paired with at most one device
    *per source* (a GLPI agent and SCCM may both see the same laptop); when two records of one
    source claim an asset, the more confident (then the more recently seen, then the smaller
    record id) keeps it and the other is a duplicate.

Outcomes (:class:`Outcome`)
    matched; conflict (matched, but owner, location, model, cost centre or lifecycle status
    disagree); unregistered (seen, in no register entry); missing (in service, but not seen by
    any source within ``missing_after``; an asset whose only sighting is older is both matched
    and missing); duplicate (two register entries share an identifier,
    two records of one source share a serial, UUID, cloud id or tag, or two records claim one
    asset); deleted (in service, and every discovery record paired with it was reported deleted
    by its source: a candidate for decommission); decommissioned (a missing or deleted asset a
    person marked decommissioned).

Deleted records
    A record whose source reported it deleted (``gone_at``) is not a sighting: it is matched
    like any record to find which asset it was, but it claims no asset (a live record of the
    same source keeps the asset), does not count as seen, is never unregistered nor a
    duplicate. An in-service asset paired only with deleted records is ``deleted`` (naming the
    latest deletion) rather than missing.

Decisions (:class:`Decision`)
    accept a match (with the disagreements it had), link by hand, reject a pairing, mark an
    asset decommissioned, take the discovered owner. They are plain values the caller stores
    with who and why; :func:`reconcile` honours them on every run: links and rejections steer
    the matching, the others are applied to the result by :func:`apply_decisions`. A decision
    that no longer applies (its device or asset is gone, or the disagreement it accepted has
    changed) is returned in :attr:`Reconciliation.stale_decisions`, not silently dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ledger.asset import Asset, AssetKind, LifecycleStatus
from ledger.discovery import (
    DeviceRef,
    DiscoveredDevice,
    cloud_resource_key,
    fold,
    hostname_key,
    is_junk_identifier,
    normalise_asset_tag,
    normalise_mac,
    normalise_serial,
    owner_key,
    uuid_key,
)
from ledger.errors import InputError


class Evidence(enum.StrEnum):
    """A kind of identifier two records can share, strongest first."""

    SERIAL = "serial"
    HARDWARE_UUID = "hardware_uuid"
    CLOUD_RESOURCE_ID = "cloud_resource_id"
    ASSET_TAG = "asset_tag"
    MAC = "mac"
    HOSTNAME = "hostname"


#: Rank order (index 0 is the strongest).
EVIDENCE_RANK: tuple[Evidence, ...] = tuple(Evidence)

#: Confidence, in percent, that two records sharing only this key are the same device.
EVIDENCE_CONFIDENCE: dict[Evidence, int] = {
    Evidence.SERIAL: 95,
    Evidence.HARDWARE_UUID: 90,
    Evidence.CLOUD_RESOURCE_ID: 90,
    Evidence.ASSET_TAG: 80,
    Evidence.MAC: 70,
    Evidence.HOSTNAME: 40,
}

#: Below this confidence (percent) a candidate is not paired (a renamed host's old name alone,
#: against a different serial, is 20 %).
MIN_CONFIDENCE = 30

#: Identifiers that, different on both sides, contradict a match.
_CONTRADICTING = (Evidence.SERIAL, Evidence.HARDWARE_UUID, Evidence.CLOUD_RESOURCE_ID)
#: Identifiers two records of one source must not share.
_UNIQUE_PER_SOURCE = (Evidence.SERIAL, Evidence.HARDWARE_UUID, Evidence.CLOUD_RESOURCE_ID,
                      Evidence.ASSET_TAG)


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """What reconciliation needs of one register asset.

    :meth:`from_asset` takes every identifier from an :class:`ledger.asset.Asset`; the keyword
    arguments override them (tests, benchmarks).

    Attributes:
        tag: the asset tag (the register's key; also matched as evidence).
        status: lifecycle status; only ``in_service`` assets can be missing.
        kind: asset kind.
        serial, hardware_uuid, cloud_resource_id, macs, hostname: identifiers as recorded.
        owner, location, model, manufacturer, cost_centre: compared with what discovery saw.
    """

    tag: str
    status: LifecycleStatus = LifecycleStatus.IN_SERVICE
    kind: AssetKind | None = None
    serial: str | None = None
    hardware_uuid: str | None = None
    cloud_resource_id: str | None = None
    macs: tuple[str, ...] = ()
    hostname: str | None = None
    owner: str | None = None
    location: str | None = None
    model: str | None = None
    manufacturer: str | None = None
    cost_centre: str | None = None

    @classmethod
    def from_asset(
        cls, asset: Asset, *, hostname: str | None = None, macs: Sequence[str] = (),
        hardware_uuid: str | None = None, cloud_resource_id: str | None = None,
        owner: str | None = None,
    ) -> RegisterEntry:
        return cls(tag=asset.tag, status=asset.status, kind=asset.kind,
                   serial=asset.serial_number,
                   hardware_uuid=hardware_uuid or asset.hardware_uuid,
                   cloud_resource_id=cloud_resource_id or asset.cloud_resource_id,
                   macs=tuple(macs) or asset.macs, hostname=hostname or asset.hostname,
                   owner=owner or asset.owner, location=asset.location, model=asset.model,
                   manufacturer=asset.manufacturer, cost_centre=asset.cost_centre)


class Outcome(enum.StrEnum):
    MATCHED = "matched"
    CONFLICT = "conflict"
    UNREGISTERED = "unregistered"
    MISSING = "missing"
    DUPLICATE = "duplicate"
    DECOMMISSIONED = "decommissioned"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Conflict:
    """An attribute on which the register and discovery disagree (values as written)."""

    field: str
    register_value: str | None
    discovered_value: str | None


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of a reconciliation.

    Attributes:
        outcome: what was found.
        asset_tag: the register asset concerned (None for unregistered devices and for a
            duplicate between devices).
        device: the discovery record concerned (None for missing assets and register-side
            duplicates).
        confidence: percent, 0-100, for matches and conflicts (100 for a hand link).
        evidence: the keys that agreed, strongest first.
        conflicts: for ``conflict``: what disagrees.
        others: for ``duplicate``: the other asset tags or device references involved.
        identifier: for ``duplicate``: the evidence kind and normalised key that is shared.
        last_seen: for ``missing``: when a source last saw it (None: never matched); for
            ``deleted``: when its source reported it deleted.
        decision: the decision that shaped this finding, if any.
    """

    outcome: Outcome
    asset_tag: str | None = None
    device: DeviceRef | None = None
    confidence: int = 0
    evidence: tuple[Evidence, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    others: tuple[str, ...] = ()
    identifier: tuple[Evidence, str] | None = None
    last_seen: datetime | None = None
    decision: Decision | None = None


class DecisionKind(enum.StrEnum):
    ACCEPT = "accept"
    LINK = "link"
    REJECT = "reject"
    DECOMMISSION = "decommission"
    TAKE_OWNER = "take_owner"
    TAKE_LOCATION = "take_location"
    TAKE_COST_CENTRE = "take_cost_centre"


#: The attribute a take-the-discovered-value decision resolves.
TAKEN_FIELD: dict[DecisionKind, str] = {
    DecisionKind.TAKE_OWNER: "owner",
    DecisionKind.TAKE_LOCATION: "location",
    DecisionKind.TAKE_COST_CENTRE: "cost_centre",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """A person's ruling on a finding, kept and honoured by every later run.

    Attributes:
        kind: accept, link, reject, decommission, take_owner, take_location or
            take_cost_centre.
        asset_tag: the asset (all kinds).
        device: the discovery record (all kinds but decommission).
        decided_by: who (a user name).
        decided_at: when (timezone-aware).
        reason: why, in the user's words.
        conflicts: for accept: the disagreements accepted; a later run with other
            disagreements shows the conflict again.
        owner: for take_owner, take_location and take_cost_centre: the discovered value
            taken into the register (named ``owner`` for the first kind there was).
    """

    kind: DecisionKind
    asset_tag: str
    device: DeviceRef | None
    decided_by: str
    decided_at: datetime
    reason: str = ""
    conflicts: tuple[Conflict, ...] = ()
    owner: str | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", DecisionKind(self.kind))
        except ValueError:
            raise InputError(f"must be one of {', '.join(DecisionKind)}", field="kind",
                             value=self.kind) from None
        if not self.asset_tag or not self.asset_tag.strip():
            raise InputError("a decision names the asset", field="asset_tag")
        if self.kind is not DecisionKind.DECOMMISSION and self.device is None:
            raise InputError(f"a {self.kind} decision names the discovery record",
                             field="device")
        if self.device is not None and not isinstance(self.device, DeviceRef):
            object.__setattr__(self, "device", DeviceRef(*self.device))
        if not self.decided_by or not self.decided_by.strip():
            raise InputError("a decision records who made it", field="decided_by")
        if self.decided_at.tzinfo is None:
            raise InputError("the decision time needs a time zone", field="decided_at",
                             value=self.decided_at)
        if self.kind in TAKEN_FIELD and not self.owner:
            raise InputError(f"taking the discovered {TAKEN_FIELD[self.kind]} needs its value",
                             field=TAKEN_FIELD[self.kind])

    @property
    def value(self) -> str | None:
        """For a take decision: the discovered value taken."""
        return self.owner


def decide(finding: Finding, kind: DecisionKind, *, by: str, at: datetime,
           reason: str = "") -> Decision:
    """The decision ``kind`` on ``finding``, carrying what it accepts (conflicts, owner)."""
    kind = DecisionKind(kind)
    if finding.asset_tag is None:
        raise InputError("this finding names no asset: link the device by hand instead",
                         field="asset_tag")
    owner = None
    if kind in TAKEN_FIELD:
        name = TAKEN_FIELD[kind]
        owner = next((c.discovered_value for c in finding.conflicts if c.field == name), None)
        if owner is None:
            raise InputError(f"the finding has no {name} disagreement to resolve", field=name)
    return Decision(kind=kind, asset_tag=finding.asset_tag, device=finding.device,
                    decided_by=by, decided_at=at, reason=reason,
                    conflicts=finding.conflicts if kind is DecisionKind.ACCEPT else (),
                    owner=owner)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The findings of one run, and the decisions that no longer apply."""

    findings: tuple[Finding, ...]
    records: int
    stale_decisions: tuple[Decision, ...] = field(default=())

    def counts(self) -> dict[str, int]:
        """``{"matched", "conflicts", "unregistered", "missing", "duplicates", "records",
        "deleted"}`` (deleted last: it came later, and scripts read the first six)."""
        tally = dict.fromkeys(Outcome, 0)
        for finding in self.findings:
            tally[finding.outcome] += 1
        return {
            "matched": tally[Outcome.MATCHED],
            "conflicts": tally[Outcome.CONFLICT],
            "unregistered": tally[Outcome.UNREGISTERED],
            "missing": tally[Outcome.MISSING],
            "duplicates": tally[Outcome.DUPLICATE],
            "records": self.records,
            "deleted": tally[Outcome.DELETED],
        }

    def by_outcome(self, outcome: Outcome) -> list[Finding]:
        return [f for f in self.findings if f.outcome is outcome]

    def pairs(self) -> dict[DeviceRef, str]:
        """Each paired device and its asset tag (matched and conflict findings)."""
        return {f.device: f.asset_tag for f in self.findings
                if f.outcome in (Outcome.MATCHED, Outcome.CONFLICT)
                and f.device is not None and f.asset_tag is not None}


# --- identities -----------------------------------------------------------------------------

#: Normalised keys of one record: serial, uuid, cloud id, asset tag, MACs, host name.
Identity = tuple[str | None, str | None, str | None, str | None, tuple[str, ...], str | None]


def entry_identity(entry: RegisterEntry) -> Identity:
    macs = tuple(m for m in (normalise_mac(v) for v in entry.macs) if m is not None)
    return (normalise_serial(entry.serial), uuid_key(entry.hardware_uuid),
            cloud_resource_key(entry.cloud_resource_id), normalise_asset_tag(entry.tag),
            macs, hostname_key(entry.hostname))


def device_identity(device: DiscoveredDevice) -> Identity:
    macs = tuple(m for m in (normalise_mac(v) for v in device.macs) if m is not None)
    return (normalise_serial(device.serial), uuid_key(device.hardware_uuid),
            cloud_resource_key(device.cloud_resource_id), normalise_asset_tag(device.asset_tag),
            macs, hostname_key(device.hostname) or hostname_key(device.fqdn))


def _keys(identity: Identity) -> list[tuple[int, str]]:
    """(evidence rank, key) pairs of an identity, strongest first."""
    serial, uuid, cloud, tag, macs, host = identity
    keys = [(rank, key) for rank, key in ((0, serial), (1, uuid), (2, cloud), (3, tag))
            if key is not None]
    keys.extend((4, mac) for mac in macs)
    if host is not None:
        keys.append((5, host))
    return keys


_COMBINED: dict[tuple[int, ...], float] = {}


def _confidence(ranks: tuple[int, ...], device: Identity, entry: Identity) -> int:
    """Percent confidence of agreeing evidence ``ranks`` (distinct, sorted)."""
    score = _COMBINED.get(ranks)
    if score is None:
        miss = 1.0
        for rank in ranks:
            miss *= 1 - EVIDENCE_CONFIDENCE[EVIDENCE_RANK[rank]] / 100
        score = _COMBINED[ranks] = 1 - miss
    for rank in (0, 1, 2):  # serial, uuid, cloud id: both present and different
        if device[rank] is not None and entry[rank] is not None and device[rank] != entry[rank]:
            score /= 2
            break
    return round(score * 100)


# --- attribute comparison -------------------------------------------------------------------

def _same_model(register: str, discovered: str) -> bool:
    a, b = fold(register), fold(discovered)
    return a is None or b is None or a == b or a in b or b in a


def _conflicts(entry: RegisterEntry, device: DiscoveredDevice) -> tuple[Conflict, ...]:
    found: list[Conflict] = []
    if (entry.owner and device.owner and entry.owner != device.owner
            and owner_key(entry.owner) != owner_key(device.owner)):
        found.append(Conflict("owner", entry.owner, device.owner))
    if (entry.location and device.location and entry.location != device.location
            and fold(entry.location) != fold(device.location)):
        found.append(Conflict("location", entry.location, device.location))
    if (entry.model and device.model and entry.model != device.model
            and not is_junk_identifier(device.model)
            and not _same_model(entry.model, device.model)):
        found.append(Conflict("model", entry.model, device.model))
    if (entry.cost_centre and device.cost_centre
            and fold(entry.cost_centre) != fold(device.cost_centre)):
        found.append(Conflict("cost_centre", entry.cost_centre, device.cost_centre))
    if entry.status in (LifecycleStatus.RETIRED, LifecycleStatus.DISPOSED):
        found.append(Conflict("status", str(entry.status), "seen by discovery"))
    return tuple(found)


def attribute_conflicts(entry: RegisterEntry, device: DiscoveredDevice) -> tuple[Conflict, ...]:
    """What the register and one discovery record disagree on (owner, location, model, cost
    centre, status), as a finding pairing them would report it."""
    return _conflicts(entry, device)


# --- the run --------------------------------------------------------------------------------

def _seen_order(device: DiscoveredDevice) -> float:
    return device.seen_at.timestamp() if device.seen_at is not None else float("-inf")


def reconcile(
    register: Sequence[RegisterEntry],
    devices: Sequence[DiscoveredDevice],
    *,
    as_of: datetime,
    missing_after: timedelta = timedelta(days=30),
    decisions: Sequence[Decision] = (),
) -> Reconciliation:
    """Match ``devices`` to ``register`` entries and report every disagreement.

    Args:
        register: the register (asset tags unique).
        devices: discovery records from any number of sources ((source, record id) unique).
        as_of: the time of the run (timezone-aware); an in-service asset whose last sighting
            is older than ``as_of - missing_after`` is missing. A record without ``seen_at``
            counts as seen at ``as_of``.
        decisions: every recorded decision; links and rejections steer the matching, the
            rest are applied by :func:`apply_decisions`.
    """
    # Device keys are computed as each device is matched and kept only for the unmatched
    # (their duplicates are looked for afterwards): a million identities is ~350 MB.
    findings: list[Finding] = []
    entry_ids = [entry_identity(e) for e in register]
    tag_position = {entry.tag: i for i, entry in enumerate(register)}
    ref_position = {(d.source, d.record_id): i for i, d in enumerate(devices)}

    # Index the register, one dict per evidence rank; a key held by two entries is ambiguous.
    index: list[dict[str, int]] = [{} for _ in EVIDENCE_RANK]
    shared: dict[tuple[int, str], list[int]] = {}
    for position, identity in enumerate(entry_ids):
        for rank, key in _keys(identity):
            held = index[rank].setdefault(key, position)
            if held != position:
                if held >= 0:
                    shared[rank, key] = [held]
                    index[rank][key] = -1
                if shared[rank, key][-1] != position:
                    shared[rank, key].append(position)
    for (rank, key), positions in shared.items():
        tags = tuple(register[p].tag for p in positions)
        findings.append(Finding(Outcome.DUPLICATE, asset_tag=tags[0], others=tags[1:],
                                identifier=(EVIDENCE_RANK[rank], key)))

    links: dict[tuple[str, str], Decision] = {}
    rejected: set[tuple[str, str, str]] = set()
    stale: list[Decision] = []
    for decision in decisions:
        if decision.kind is DecisionKind.LINK:
            assert decision.device is not None
            if decision.asset_tag in tag_position and tuple(decision.device) in ref_position:
                links[decision.device.source, decision.device.record_id] = decision
            else:
                stale.append(decision)
        elif decision.kind is DecisionKind.REJECT:
            assert decision.device is not None
            rejected.add((decision.device.source, decision.device.record_id,
                          decision.asset_tag))

    # Each device proposes its best candidate; one asset goes to one record per source.
    claims: dict[tuple[str, int], tuple[int, int, int, tuple[int, ...]]] = {}
    losers: list[tuple[int, tuple[str, int]]] = []  # (device, the slot it lost)
    deletions: dict[int, int] = {}  # asset -> its latest deleted record
    unmatched: list[int] = []
    unmatched_ids: dict[int, Identity] = {}
    for d_pos, device in enumerate(devices):
        identity = device_identity(device)
        link = links.get((device.source, device.record_id)) if links else None
        if link is not None:
            proposal = (100, tag_position[link.asset_tag], ())
        else:
            votes: dict[int, list[int]] = {}
            for rank, key in _keys(identity):
                position = index[rank].get(key)
                if position is not None and position >= 0:
                    votes.setdefault(position, []).append(rank)
            best: tuple[int, int, str, int, tuple[int, ...]] | None = None
            for position, ranks in votes.items():
                if rejected and (device.source, device.record_id,
                                 register[position].tag) in rejected:
                    continue
                distinct = tuple(sorted(set(ranks))) if len(ranks) > 1 else tuple(ranks)
                confidence = _confidence(distinct, identity, entry_ids[position])
                candidate = (confidence, -distinct[0], register[position].tag, position,
                             distinct)
                if best is None or candidate[:2] > best[:2] or (
                        candidate[:2] == best[:2] and candidate[2] < best[2]):
                    best = candidate
            if best is None or best[0] < MIN_CONFIDENCE:
                if device.gone_at is None:
                    unmatched.append(d_pos)
                    unmatched_ids[d_pos] = identity
                continue
            proposal = (best[0], best[3], best[4])
        confidence, position, ranks = proposal
        if device.gone_at is not None:  # which asset it was; not a sighting, claims nothing
            held_gone = devices[deletions[position]] if position in deletions else None
            if held_gone is None or _later_deletion(device, held_gone):
                deletions[position] = d_pos
            continue
        slot = (device.source, position)
        held = claims.get(slot)
        if held is None:
            claims[slot] = (d_pos, confidence, position, ranks)
            continue
        other = devices[held[0]]
        mine = (link is not None, confidence, _seen_order(device), _neg(device.record_id))
        theirs = (links.get((other.source, other.record_id)) is not None, held[1],
                  _seen_order(other), _neg(other.record_id))
        if mine > theirs:
            claims[slot] = (d_pos, confidence, position, ranks)
            losers.append((held[0], slot))
        else:
            losers.append((d_pos, slot))

    last_seen: dict[int, datetime | None] = {}
    for (_, position), (d_pos, confidence, _, ranks) in claims.items():
        device, entry = devices[d_pos], register[position]
        conflicts = _conflicts(entry, device)
        link = links.get((device.source, device.record_id))
        findings.append(Finding(
            Outcome.CONFLICT if conflicts else Outcome.MATCHED, asset_tag=entry.tag,
            device=device.ref, confidence=confidence,
            evidence=tuple(EVIDENCE_RANK[r] for r in ranks), conflicts=conflicts,
            decision=link))
        seen = device.seen_at or as_of
        if last_seen.get(position) is None or seen > last_seen[position]:  # type: ignore[operator]
            last_seen[position] = seen
    for d_pos, slot in losers:
        winner = devices[claims[slot][0]]
        findings.append(Finding(Outcome.DUPLICATE, asset_tag=register[slot[1]].tag,
                                device=devices[d_pos].ref, others=(str(winner.ref),)))

    # Unmatched devices: a strong identifier shared within one source is a duplicate; the
    # first in (source, record id) order to hold a key keeps the verdict "unregistered", and
    # a later holder is a duplicate on its strongest key held first by another.
    unmatched.sort(key=lambda p: (devices[p].source, devices[p].record_id))
    first_holder: dict[tuple[str, int, str], int] = {}
    for d_pos in unmatched:
        for rank, key in _keys(unmatched_ids[d_pos]):
            if rank <= 3:
                first_holder.setdefault((devices[d_pos].source, rank, key), d_pos)
    duplicated: set[int] = set()
    for d_pos in unmatched:
        device = devices[d_pos]
        for rank, key in _keys(unmatched_ids[d_pos]):
            if rank > 3:
                break
            held = first_holder[device.source, rank, key]
            if held != d_pos:
                duplicated.add(d_pos)
                findings.append(Finding(Outcome.DUPLICATE, device=device.ref,
                                        others=(str(devices[held].ref),),
                                        identifier=(EVIDENCE_RANK[rank], key)))
                break
    for d_pos in unmatched:
        if d_pos not in duplicated:
            findings.append(Finding(Outcome.UNREGISTERED, device=devices[d_pos].ref))

    cutoff = as_of - missing_after
    for position, entry in enumerate(register):
        if entry.status is not LifecycleStatus.IN_SERVICE:
            continue
        seen = last_seen.get(position)
        if seen is None and position in deletions:
            gone = devices[deletions[position]]
            findings.append(Finding(Outcome.DELETED, asset_tag=entry.tag, device=gone.ref,
                                    last_seen=gone.gone_at))
        elif seen is None or seen < cutoff:
            findings.append(Finding(Outcome.MISSING, asset_tag=entry.tag, last_seen=seen))

    result = Reconciliation(tuple(findings), records=len(devices), stale_decisions=tuple(stale))
    return apply_decisions(result, decisions)


def _later_deletion(device: DiscoveredDevice, held: DiscoveredDevice) -> bool:
    """Whether ``device`` is the deletion to name rather than ``held``: the later one, then the
    smaller (source, record id)."""
    assert device.gone_at is not None and held.gone_at is not None
    if device.gone_at != held.gone_at:
        return device.gone_at > held.gone_at
    return (device.source, device.record_id) < (held.source, held.record_id)


def _neg(text: str) -> tuple[int, ...]:
    """An order in which the smaller text is the greater (ties go to the smaller record id)."""
    return tuple(-ord(c) for c in text)


def apply_decisions(result: Reconciliation, decisions: Sequence[Decision]) -> Reconciliation:
    """The result with accept, take-owner and decommission decisions applied.

    - accept: a conflict whose disagreements are all among those accepted becomes matched;
    - take_owner: the owner disagreement with that discovered owner is resolved;
    - decommission: the asset is no longer missing or deleted (outcome ``decommissioned``);
    - link and reject were honoured by the matching; a rejection whose pair still appears
      (it cannot, unless the result came from elsewhere) is stale.
    Decisions that match nothing in ``result`` are added to ``stale_decisions``.
    """
    pair_decisions: dict[tuple[DeviceRef, str], list[Decision]] = {}
    decommissions: dict[str, Decision] = {}
    for decision in decisions:
        if decision.kind is DecisionKind.ACCEPT or decision.kind in TAKEN_FIELD:
            assert decision.device is not None
            pair_decisions.setdefault((decision.device, decision.asset_tag), []).append(decision)
        elif decision.kind is DecisionKind.DECOMMISSION:
            decommissions[decision.asset_tag] = decision
    if not pair_decisions and not decommissions:
        return result
    used: set[int] = set()
    findings: list[Finding] = []
    for finding in result.findings:
        if (finding.outcome in (Outcome.MATCHED, Outcome.CONFLICT)
                and finding.device is not None and finding.asset_tag is not None):
            for decision in pair_decisions.get((finding.device, finding.asset_tag), ()):
                finding, applied = _apply_pair(finding, decision)
                if applied:
                    used.add(id(decision))
        elif (finding.outcome in (Outcome.MISSING, Outcome.DELETED)
              and finding.asset_tag in decommissions):
            decision = decommissions[finding.asset_tag]
            used.add(id(decision))
            finding = replace(finding, outcome=Outcome.DECOMMISSIONED, decision=decision)
        findings.append(finding)
    stale = [d for group in pair_decisions.values() for d in group if id(d) not in used]
    stale += [d for d in decommissions.values() if id(d) not in used]
    return Reconciliation(tuple(findings), records=result.records,
                          stale_decisions=result.stale_decisions + tuple(stale))


def _apply_pair(finding: Finding, decision: Decision) -> tuple[Finding, bool]:
    if decision.kind is DecisionKind.ACCEPT:
        if not set(finding.conflicts) <= set(decision.conflicts):
            return finding, False  # something new disagrees: a person looks again
        return replace(finding, outcome=Outcome.MATCHED, decision=decision), True
    # take the discovered value: resolved while discovery still reports that value; once the
    # register carries it there is nothing left to resolve, and the decision is fulfilled.
    name = TAKEN_FIELD[decision.kind]
    same = owner_key if name == "owner" else fold
    if not any(c.field == name for c in finding.conflicts):
        return finding, True
    remaining = tuple(c for c in finding.conflicts if not (
        c.field == name and same(c.discovered_value) == same(decision.owner)))
    if remaining == finding.conflicts:
        return finding, False  # discovery now reports yet another owner
    return replace(finding, conflicts=remaining,
                   outcome=Outcome.CONFLICT if remaining else Outcome.MATCHED,
                   decision=decision), True
