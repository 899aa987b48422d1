"""Properties of matching on any register and any discovery feed, however tangled their
identifiers: one device is never paired with two assets, one source never pairs two of its
records with one asset, every device gets exactly one verdict, and pairs share evidence."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.discovery import DiscoveredDevice
from ledger.reconciliation import (
    Outcome,
    RegisterEntry,
    device_identity,
    entry_identity,
    reconcile,
)

NOW = datetime(2026, 11, 27, tzinfo=UTC)
# Small pools, so that identifiers collide often: shared serials, MACs, names, junk.
SERIALS = st.sampled_from([None, "SER-001", "ser-001", "SER-002", "SER-003", "0", "N/A",
                           "To be filled by O.E.M."])
UUIDS = st.sampled_from([None, "0055ADC9-1D3A-E411-8043-B05D95113232",
                         "C9AD5500-3A1D-11E4-8043-B05D95113232",
                         "33E737A8-F827-11DF-9297-47C0A301005A"])
MACS = st.lists(st.sampled_from(["aa:bb:cc:00:00:01", "AA-BB-CC-00-00-02", "aabb.cc00.0003"]),
                max_size=2)
HOSTS = st.sampled_from([None, "pc1", "PC1.corp.example.com", "pc2", "localhost"])
TAGS = st.sampled_from([None, "T-1", "t-1", "T-2"])
CLOUD = st.sampled_from([None, "i-0abc", "arn:aws:ec2:r:1:instance/i-0ABC", "i-0def"])


@st.composite
def registers(draw: st.DrawFn) -> list[RegisterEntry]:
    size = draw(st.integers(0, 8))
    return [RegisterEntry(tag=f"A{n}", serial=draw(SERIALS), hardware_uuid=draw(UUIDS),
                          macs=tuple(draw(MACS)), hostname=draw(HOSTS),
                          cloud_resource_id=draw(CLOUD))
            for n in range(size)] + [RegisterEntry(tag=t) for t in ("T-1", "T-2")
                                     if draw(st.booleans())]


@st.composite
def feeds(draw: st.DrawFn) -> list[DiscoveredDevice]:
    size = draw(st.integers(0, 10))
    return [DiscoveredDevice(
        source=draw(st.sampled_from(["glpi", "sccm"])), record_id=f"d{n}",
        seen_at=NOW - timedelta(days=draw(st.integers(0, 60))), serial=draw(SERIALS),
        hardware_uuid=draw(UUIDS), macs=tuple(draw(MACS)), hostname=draw(HOSTS),
        asset_tag=draw(TAGS), cloud_resource_id=draw(CLOUD)) for n in range(size)]


DEVICE_VERDICTS = (Outcome.MATCHED, Outcome.CONFLICT, Outcome.UNREGISTERED, Outcome.DUPLICATE)


@settings(max_examples=300, deadline=None)
@given(register=registers(), devices=feeds())
def test_matching_never_pairs_one_device_with_two_assets(
        register: list[RegisterEntry], devices: list[DiscoveredDevice]) -> None:
    result = reconcile(register, devices, as_of=NOW)
    paired = [f for f in result.findings if f.outcome in (Outcome.MATCHED, Outcome.CONFLICT)]
    assert len({f.device for f in paired}) == len(paired)
    per_source = Counter((f.device.source, f.asset_tag) for f in paired)  # type: ignore[union-attr]
    assert max(per_source.values(), default=0) <= 1
    verdicts = Counter(f.device for f in result.findings
                       if f.device is not None and f.outcome in DEVICE_VERDICTS)
    assert set(verdicts) == {d.ref for d in devices}
    assert set(verdicts.values()) <= {1}
    entries = {e.tag: entry_identity(e) for e in register}
    by_ref = {d.ref: device_identity(d) for d in devices}
    for finding in paired:
        mine, theirs = by_ref[finding.device], entries[finding.asset_tag]  # type: ignore[index]
        shared = {k for k in _flat(mine)} & {k for k in _flat(theirs)}
        assert shared, f"{finding} was paired without shared evidence"


def _flat(identity: tuple) -> set[tuple[int, str]]:
    keys = set()
    for rank, value in enumerate(identity):
        values = value if isinstance(value, tuple) else (value,)
        keys.update((rank, v) for v in values if v is not None)
    return keys


@settings(max_examples=100, deadline=None)
@given(register=registers(), devices=feeds())
def test_the_order_of_the_feed_does_not_change_the_findings(
        register: list[RegisterEntry], devices: list[DiscoveredDevice]) -> None:
    first = reconcile(register, devices, as_of=NOW)
    again = reconcile(register, list(reversed(devices)), as_of=NOW)
    assert Counter(first.findings) == Counter(again.findings)
