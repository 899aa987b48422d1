"""The DuckDB matching finds exactly what the pure reference finds, on tangled generated data:
shared and junk identifiers, byte-swapped UUIDs, conflicting owners and models, retired assets,
devices never seen, records deleted in their source, links, rejections, accepted conflicts and
decommissioned assets."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.asset import LifecycleStatus
from ledger.discovery import DeviceRef, DiscoveredDevice
from ledger.reconciliation import Decision, DecisionKind, Outcome, RegisterEntry, reconcile
from ledger.reconciliation_sql import KeyTables, match, reconcile_sql

NOW = datetime(2026, 11, 27, tzinfo=UTC)
SERIALS = st.sampled_from([None, "SER-001", "ser-001", "SER-002", "SER-003", "0",
                           "To be filled by O.E.M."])
UUIDS = st.sampled_from([None, "0055ADC9-1D3A-E411-8043-B05D95113232",
                         "C9AD5500-3A1D-11E4-8043-B05D95113232",
                         "33E737A8-F827-11DF-9297-47C0A301005A"])
MACS = st.lists(st.sampled_from(["aa:bb:cc:00:00:01", "AA-BB-CC-00-00-02", "aabb.cc00.0003"]),
                max_size=2)
HOSTS = st.sampled_from([None, "pc1", "PC1.corp.example.com", "pc2", "localhost"])
TAGS = st.sampled_from([None, "T-1", "t-1", "T-2"])
CLOUD = st.sampled_from([None, "i-0abc", "arn:aws:ec2:r:1:instance/i-0ABC", "i-0def"])
OWNERS = st.sampled_from([None, "jsmith", "CORP\\JSmith", "jsmith@corp.example", "mjones"])
LOCATIONS = st.sampled_from([None, "Paris  HQ", "paris hq", "Lyon"])
MODELS = st.sampled_from([None, "Latitude 7440", "Dell Latitude 7440", "ThinkPad T14s",
                          "System Product Name"])
CENTRES = st.sampled_from([None, "1010", "1020"])
STATUSES = st.sampled_from(list(LifecycleStatus))
#: Mostly live records; some deleted in their source, two at the same moment (the tie-break).
GONE = st.sampled_from([None, None, None, NOW - timedelta(days=2), NOW - timedelta(days=2),
                        NOW - timedelta(days=40)])


@st.composite
def registers(draw: st.DrawFn) -> list[RegisterEntry]:
    size = draw(st.integers(0, 8))
    return [RegisterEntry(tag=f"A{n}", status=draw(STATUSES), serial=draw(SERIALS),
                          hardware_uuid=draw(UUIDS), macs=tuple(draw(MACS)),
                          hostname=draw(HOSTS), cloud_resource_id=draw(CLOUD),
                          owner=draw(OWNERS), location=draw(LOCATIONS), model=draw(MODELS),
                          cost_centre=draw(CENTRES))
            for n in range(size)] + [RegisterEntry(tag=t) for t in ("T-1", "T-2")
                                     if draw(st.booleans())]


@st.composite
def feeds(draw: st.DrawFn) -> list[DiscoveredDevice]:
    size = draw(st.integers(0, 10))
    return [DiscoveredDevice(
        source=draw(st.sampled_from(["glpi", "sccm"])), record_id=f"d{n}",
        seen_at=draw(st.sampled_from([None, NOW - timedelta(days=draw(st.integers(0, 60)))])),
        serial=draw(SERIALS), hardware_uuid=draw(UUIDS), macs=tuple(draw(MACS)),
        hostname=draw(HOSTS), asset_tag=draw(TAGS), cloud_resource_id=draw(CLOUD),
        owner=draw(OWNERS), location=draw(LOCATIONS), model=draw(MODELS),
        cost_centre=draw(CENTRES), gone_at=draw(GONE)) for n in range(size)]


def _same(a: object, b: object) -> None:
    assert Counter(map(repr, a.findings)) == Counter(map(repr, b.findings))  # type: ignore
    assert a.counts() == b.counts()  # type: ignore[attr-defined]


@settings(max_examples=30, deadline=None)
@given(register=registers(), devices=feeds())
def test_the_sql_matching_finds_what_the_reference_finds(
        register: list[RegisterEntry], devices: list[DiscoveredDevice]) -> None:
    _same(reconcile_sql(register, devices, as_of=NOW),
          reconcile(register, devices, as_of=NOW))


@settings(max_examples=25, deadline=None)
@given(register=registers(), devices=feeds(), data=st.data())
def test_decisions_steer_the_sql_matching_as_they_steer_the_reference(
        register: list[RegisterEntry], devices: list[DiscoveredDevice],
        data: st.DataObject) -> None:
    if not register or not devices:
        return
    first = reconcile(register, devices, as_of=NOW)
    decisions = []
    for _ in range(data.draw(st.integers(1, 4))):
        entry = data.draw(st.sampled_from(register))
        device = data.draw(st.sampled_from(devices))
        kind = data.draw(st.sampled_from([DecisionKind.LINK, DecisionKind.REJECT,
                                          DecisionKind.DECOMMISSION]))
        decisions.append(Decision(kind, entry.tag, DeviceRef(device.source, device.record_id),
                                  decided_by="alice", decided_at=NOW, reason="checked"))
    for finding in first.by_outcome(Outcome.CONFLICT)[:2]:
        decisions.append(Decision(DecisionKind.ACCEPT, finding.asset_tag, finding.device,
                                  decided_by="alice", decided_at=NOW, reason="fine",
                                  conflicts=finding.conflicts))
    sql = reconcile_sql(register, devices, as_of=NOW, decisions=decisions)
    pure = reconcile(register, devices, as_of=NOW, decisions=decisions)
    _same(sql, pure)
    with KeyTables(threads=1) as tables:  # the counts at scale: aggregated, decisions applied
        tables.load_entries(register, devices)
        assert match(tables, as_of=NOW, decisions=decisions).counts() == pure.counts()
    assert Counter(map(repr, sql.stale_decisions)) == Counter(map(repr, pure.stale_decisions))


def test_an_asset_decommissioned_twice_leaves_the_missing_count_as_once() -> None:
    """Found by the property test above: two decommission decisions on one asset brought its
    missing finding in twice and took two assets off the missing count."""
    blank = dict(kind=None, serial=None, hardware_uuid=None, cloud_resource_id=None, macs=(),
                 hostname=None, owner=None, location=None, model=None, manufacturer=None,
                 cost_centre=None)
    register = [RegisterEntry(tag=tag, status=LifecycleStatus.IN_SERVICE, **blank)
                for tag in ("T-1", "T-2")]
    devices = [DiscoveredDevice(source="glpi", record_id="d0", seen_at=None, hostname=None,
                                fqdn=None, serial=None, macs=(), hardware_uuid=None,
                                cloud_resource_id=None, manufacturer=None, model=None, os=None,
                                owner=None, location=None, cost_centre=None, asset_tag=None,
                                software=(), partial=False)]
    twice = [Decision(DecisionKind.DECOMMISSION, "T-1", DeviceRef("glpi", "d0"),
                      decided_by="alice", decided_at=NOW, reason=reason)
             for reason in ("retired in the field", "retired, confirmed by the site")]
    with KeyTables(threads=1) as tables:
        tables.load_entries(register, devices)
        counts = match(tables, as_of=NOW, decisions=twice).counts()
    assert counts["missing"] == 1  # T-2; T-1 is decommissioned, once
    assert counts == reconcile(register, devices, as_of=NOW, decisions=twice).counts()
