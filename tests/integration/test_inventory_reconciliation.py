"""Reconciling the demo company's discovery feeds with its register finds every disagreement
planted in them, by identity; decisions are recorded with who and why, bring their lifecycle
events, and survive the next import."""

from __future__ import annotations

from datetime import timedelta

import pytest

from client import demo_inventory
from ledger.asset import LifecycleEventKind, LifecycleStatus
from ledger.discovery import DeviceRef
from ledger.errors import InputError, PermissionDeniedError
from ledger.persistence.unit_of_work import UnitOfWorkFactory
from ledger.reconciliation import DecisionKind, Outcome
from ledger.services.inventory import (
    decide,
    last_seen,
    reconcile_inventory,
    reconciliation_counts,
)


def _as(app, login: str) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(app.engine, login, app.uow.clock)


def _by(result, outcome: Outcome) -> list:
    return result.by_outcome(outcome)


def test_every_planted_disagreement_is_found(demo_app) -> None:
    with demo_app.uow(read_only=True) as uow:
        planted = demo_inventory.planted(uow)
        result = reconcile_inventory(uow=uow)
        counts = reconciliation_counts(uow=uow)
    assert counts == result.counts()
    conflicts = {(f.asset_tag, c.field) for f in _by(result, Outcome.CONFLICT)
                 for c in f.conflicts}
    expected = ({(t, "owner") for t in planted.owner_conflicts}
                | {(t, "location") for t in planted.location_conflicts}
                | {(t, "model") for t in planted.model_conflicts}
                | {(t, "cost_centre") for t in planted.cost_centre_conflicts}
                | {(t, "status") for t in planted.status_conflicts})
    assert len(expected) == 8 and conflicts == expected
    assert {str(f.device) for f in _by(result, Outcome.UNREGISTERED)} == set(
        planted.unregistered)
    missing = {f.asset_tag: f.last_seen for f in _by(result, Outcome.MISSING)}
    assert set(missing) == set(planted.missing) | set(planted.stale)
    assert all(missing[t] is None for t in planted.missing)
    assert all(missing[t] is not None for t in planted.stale)
    duplicates = _by(result, Outcome.DUPLICATE)
    assert {(f.asset_tag, *f.others) for f in duplicates if f.device is None} == set(
        planted.register_duplicates)
    assert {str(f.device) for f in duplicates if f.device is not None} == set(
        planted.claim_duplicates) | set(planted.device_duplicates)
    matched = {f.asset_tag: f for f in _by(result, Outcome.MATCHED)}
    for tag in planted.junk_serials:  # found by UUID, MAC and host name despite the BIOS junk
        assert "serial" not in {e.value for e in matched[tag].evidence}
        assert matched[tag].confidence >= 90
    with demo_app.uow(read_only=True) as uow:
        stale = last_seen(uow=uow, days=30)
    assert {m.tag for m in stale} == set(missing)


def test_decisions_are_recorded_followed_and_survive_a_reimport(demo_app, clock) -> None:
    alice = _as(demo_app, "alice")  # the asset manager
    with demo_app.uow(read_only=True) as uow:
        planted = demo_inventory.planted(uow)
        result = reconcile_inventory(uow=uow)
    pair = {f.asset_tag: f.device for f in _by(result, Outcome.CONFLICT)}
    department = next(c.discovered_value for f in _by(result, Outcome.CONFLICT)
                      for c in f.conflicts if c.field == "cost_centre")
    owner_tag, model_tag = planted.owner_conflicts[0], planted.model_conflicts[0]
    centre_tag = planted.cost_centre_conflicts[0]
    gone = planted.missing[0]
    with alice() as uow:
        with pytest.raises(InputError, match="reason"):
            decide(uow=uow, kind="accept", asset_tag=model_tag, device=pair[model_tag],
                   reason=" ")
        decide(uow=uow, kind=DecisionKind.ACCEPT, asset_tag=model_tag, device=pair[model_tag],
               reason="workstation upgraded; register updated at next refresh")
        decide(uow=uow, kind=DecisionKind.TAKE_OWNER, asset_tag=owner_tag,
               device=pair[owner_tag], reason="handed over, confirmed by the service desk")
        decide(uow=uow, kind=DecisionKind.TAKE_COST_CENTRE, asset_tag=centre_tag,
               device=pair[centre_tag], reason="moved with its user")
        decide(uow=uow, kind=DecisionKind.DECOMMISSION, asset_tag=gone,
               reason="stolen; police report 4711")
        uow.commit()
    with _as(demo_app, "frank")() as uow, pytest.raises(PermissionDeniedError):
        decide(uow=uow, kind="decommission", asset_tag=planted.missing[1], reason="x")

    clock.current = clock.now() + timedelta(days=1)
    with demo_app.uow() as uow:  # the next day's feeds: new sighting times, a new import
        demo_inventory.load_inventory(uow)
        uow.commit()
    with demo_app.uow(read_only=True) as uow:
        after = reconcile_inventory(uow=uow)
        asset = uow.assets.get(owner_tag)
        retired = uow.assets.get(gone)
        moved = uow.assets.get(centre_tag)
        events = uow.inventory.lifecycle_events()
        imports = uow.inventory.imports()
        audit = [e.action for e in uow.audit.latest(400)]
    # SCCM, Intune and Jamf report new sighting times: imported again; GLPI's SNMP scan
    # reports none, so its files are the same content and that import is a no-op.
    assert sorted(i.source for i in imports) == ["glpi", "intune", "intune", "jamf", "jamf",
                                                 "sccm", "sccm"]
    conflicted = {f.asset_tag for f in _by(after, Outcome.CONFLICT)}
    assert {model_tag, owner_tag, centre_tag}.isdisjoint(conflicted)
    assert conflicted >= set(planted.owner_conflicts[1:])
    accepted = next(f for f in _by(after, Outcome.MATCHED) if f.asset_tag == model_tag)
    assert accepted.decision is not None and accepted.decision.decided_by == "alice"
    assert asset is not None and asset.owner == "MERIDIAN\\someone.else0"
    assert retired is not None and retired.status is LifecycleStatus.RETIRED
    assert gone not in {f.asset_tag for f in _by(after, Outcome.MISSING)}
    assert moved is not None and moved.cost_centre == department
    kinds = {(e.asset_tag, e.kind, e.attribute) for e in events}
    assert {(owner_tag, LifecycleEventKind.REASSIGNMENT, "owner"),
            (centre_tag, LifecycleEventKind.REASSIGNMENT, "cost_centre"),
            (gone, LifecycleEventKind.DECOMMISSION, "status")} <= kinds
    assert all(e.recorded_by == "alice" for e in events)
    assert {"reconciliation.accept", "reconciliation.take_owner",
            "reconciliation.decommission", "asset.transfer"} <= set(audit)


def test_a_link_by_hand_and_a_rejection_steer_the_matching(demo_app) -> None:
    with demo_app.uow(read_only=True) as uow:
        planted = demo_inventory.planted(uow)
        result = reconcile_inventory(uow=uow)
    stranger = DeviceRef(*planted.unregistered[0].split(":", 1))
    target = planted.missing[0]
    matched = next(f for f in _by(result, Outcome.MATCHED) if f.device is not None)
    with _as(demo_app, "alice")() as uow:
        decide(uow=uow, kind="link", asset_tag=target, device=stranger,
               reason="contractor laptop is our loan unit")
        decide(uow=uow, kind="reject", asset_tag=matched.asset_tag, device=matched.device,
               reason="host name reused after a rebuild")
        uow.commit()
    with demo_app.uow(read_only=True) as uow:
        after = reconcile_inventory(uow=uow)
    linked = next(f for f in after.findings if f.device == stranger)
    assert (linked.asset_tag, linked.confidence) == (target, 100)
    assert linked.outcome is Outcome.CONFLICT  # the contractor's owner is not the register's
    assert linked.decision is not None and linked.decision.reason.startswith("contractor")
    assert all(not (f.device == matched.device and f.asset_tag == matched.asset_tag
                    and f.outcome is Outcome.MATCHED) for f in after.findings)
