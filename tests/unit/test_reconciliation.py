"""Reconciling what discovery sees with the register: identifiers normalised as real data needs,
ranked evidence, every kind of disagreement found, and decisions that survive the next run."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ledger.asset import Asset, AssetKind, LifecycleStatus
from ledger.discovery import (
    DeviceRef,
    DiscoveredDevice,
    cloud_resource_key,
    hostname_key,
    normalise_asset_tag,
    normalise_hostname,
    normalise_mac,
    normalise_serial,
    owner_key,
    uuid_forms,
    uuid_key,
)
from ledger.errors import InputError
from ledger.reconciliation import (
    Conflict,
    Decision,
    DecisionKind,
    Evidence,
    Outcome,
    RegisterEntry,
    decide,
    reconcile,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
RECENT = NOW - timedelta(days=2)


# --- normalisation --------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "key"), [
    ("C02ZC2QYLVDL", "C02ZC2QYLVDL"),
    ("  c02zc2qy lvdl ", "C02ZC2QYLVDL"),
    ("S/N: 640HP72", "640HP72"),
    ("970882174-8", "970882174-8"),
    ("To be filled by O.E.M.", None),
    ("TO BE FILLED BY O.E.M.", None),
    ("System Serial Number", None),
    ("Default string", None),
    ("Chassis Serial Number", None),
    ("0", None),
    ("N/A", None),
    ("None", None),
    ("NULL", None),
    ("123456789", None),
    ("0000000000", None),
    ("XXXXXXXXXX", None),
    ("--", None),
    ("", None),
    (None, None),
])
def test_serial_numbers_fold_case_and_space_and_placeholders_are_no_serial(
        raw: str | None, key: str | None) -> None:
    assert normalise_serial(raw) == key


@pytest.mark.parametrize(("raw", "key"), [
    ("304822", "304822"), ("No Asset Tag", None), ("0000000000", None), ("icc-2065556",
                                                                           "ICC-2065556"),
])
def test_asset_tags_are_normalised_like_serials(raw: str, key: str | None) -> None:
    assert normalise_asset_tag(raw) == key


@pytest.mark.parametrize(("raw", "key"), [
    ("b8:6b:23:e0:5c:91", "b8:6b:23:e0:5c:91"),
    ("B8-6B-23-E0-5C-91", "b8:6b:23:e0:5c:91"),
    ("b86b.23e0.5c91", "b8:6b:23:e0:5c:91"),
    ("B86B23E05C91", "b8:6b:23:e0:5c:91"),
    (" b8 6b 23 e0 5c 91 ", "b8:6b:23:e0:5c:91"),
    ("00:00:00:00:00:00", None),
    ("FF:FF:FF:FF:FF:FF", None),
    ("01:00:5e:00:00:fb", None),  # multicast
    ("b8:6b:23:e0:5c", None),
    ("N/A", None),
    ("zz:6b:23:e0:5c:91", None),
])
def test_mac_addresses_in_every_spelling_become_one(raw: str, key: str | None) -> None:
    assert normalise_mac(raw) == key


@pytest.mark.parametrize(("raw", "short", "fqdn"), [
    ("LF014", "lf014", None),
    ("LF014.ad.example.com", "lf014", "lf014.ad.example.com"),
    ("lf014.ad.example.com.", "lf014", "lf014.ad.example.com"),
    ("AD\\LF014", "lf014", None),
    ("iMac-de-Marie.local", "imac-de-marie", None),
    ("iMac de Marie", None, None),
    ("localhost", None, None),
    ("10.0.0.5", None, None),
    ("", None, None),
])
def test_short_and_fully_qualified_host_names_share_a_key(
        raw: str, short: str | None, fqdn: str | None) -> None:
    name = normalise_hostname(raw)
    assert (name.short if name else None, name.fqdn if name else None) == (short, fqdn)
    assert hostname_key(raw) == short


def test_a_uuid_printed_in_either_byte_order_has_one_key() -> None:
    smbios = "0055ADC9-1D3A-E411-8043-B05D95113232"  # as the GLPI agent printed it
    swapped = "C9AD5500-3A1D-11E4-8043-B05D95113232"  # the first three fields byte-swapped
    assert uuid_forms(smbios) == ("0055adc9-1d3a-e411-8043-b05d95113232",
                                  "c9ad5500-3a1d-11e4-8043-b05d95113232")
    assert uuid_key(smbios) == uuid_key(swapped) == uuid_key("{" + swapped.lower() + "}")
    assert uuid_key("0055ADC91D3AE4118043B05D95113232") == uuid_key(smbios)


@pytest.mark.parametrize("raw", [
    "4BDRGGFE-0046-4710-8047-B2C04F503732", "00000000-0000-0000-0000-000000000000",
    "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "123", "", None,
])
def test_a_placeholder_or_malformed_uuid_is_no_uuid(raw: str | None) -> None:
    assert uuid_forms(raw) == ()
    assert uuid_key(raw) is None


@pytest.mark.parametrize(("raw", "key"), [
    ("i-0ABC123", "i-0abc123"),
    ("arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc123", "i-0abc123"),
    ("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM1",
     "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1"),
])
def test_cloud_resource_ids_key_by_resource(raw: str, key: str) -> None:
    assert cloud_resource_key(raw) == key


@pytest.mark.parametrize("raw", ["CORP\\JSmith", "jsmith@corp.example.com", " jsmith "])
def test_an_owner_is_compared_without_domain(raw: str) -> None:
    assert owner_key(raw) == "jsmith"


# --- matching -------------------------------------------------------------------------------

def entry(tag: str, **fields: object) -> RegisterEntry:
    return RegisterEntry(tag=tag, **fields)  # type: ignore[arg-type]


def seen(record: str, source: str = "glpi", **fields: object) -> DiscoveredDevice:
    fields.setdefault("seen_at", RECENT)
    return DiscoveredDevice(source=source, record_id=record, **fields)  # type: ignore[arg-type]


REGISTER = [
    entry("LT-001", serial="9E113232I", hostname="lf014", owner="johan", location="Paris",
          model="PORTEGE Z30-A", macs=("b8:6b:23:e0:5c:91",)),
    entry("LT-002", serial="CZC0479792", owner="cvigneron", location="Lyon",
          model="HP EliteBook 2540p", cost_centre="4100"),
    entry("DT-003", hardware_uuid="33E737A8-F827-11DF-9297-47C0A301005A"),
    entry("VM-004", cloud_resource_id="i-0abc123", kind=AssetKind.CLOUD_RESOURCE),
    entry("LT-005", serial="C02NG5A5FY11"),  # in service, never seen: missing
    entry("SW-006", serial="AA-SHARED-1"),
    entry("SW-007", serial="aa-shared-1"),  # the register holds one serial twice
    entry("LT-008", serial="OLD-RETIRED", status=LifecycleStatus.DISPOSED),
    entry("LT-009", serial="STALE-1"),
    entry("MAC-010", macs=("0c-4d-e9-cd-a4-c8",)),
    entry("TAG-011"),
]
DEVICES = [
    seen("glpi-lf014", serial="9e113232i", hostname="LF014.ad.example.com",
         owner="AD\\johan", location="paris", model="Toshiba PORTEGE Z30-A"),
    seen("glpi-pc-arg", serial="CZC0479792", owner="CEDRE\\jdupont", location="Lyon",
         model="HP EliteBook 2540p", cost_centre="4200"),
    seen("sccm-dt", source="sccm", hardware_uuid="A837E733-27F8-DF11-9297-47C0A301005A"),
    seen("arn:aws:ec2:eu-west-1:1:instance/i-0ABC123", source="aws-config",
         cloud_resource_id="i-0ABC123"),
    seen("glpi-unknown", serial="NEW-LAPTOP-9", hostname="new-laptop"),
    seen("glpi-shared", serial="AA-SHARED-1"),
    seen("glpi-zombie", serial="OLD-RETIRED"),
    seen("glpi-stale", serial="STALE-1", seen_at=NOW - timedelta(days=90)),
    seen("jamf-imac", source="jamf", macs=("0C:4D:E9:CD:A4:C8",)),
    seen("jamf-tag", source="jamf", asset_tag="tag-011", serial="To be filled by O.E.M."),
    seen("sccm-twin-a", source="sccm", serial="TWIN-1"),
    seen("sccm-twin-b", source="sccm", serial="twin-1"),
]


@pytest.fixture
def result():
    return reconcile(REGISTER, DEVICES, as_of=NOW, missing_after=timedelta(days=30))


def finding_for(result, *, tag: str | None = None, device: str | None = None):
    [found] = [f for f in result.findings
               if (tag is None or f.asset_tag == tag)
               and (device is None or (f.device and f.device.record_id == device))]
    return found


def test_a_device_matches_its_asset_on_the_normalised_serial(result) -> None:
    found = finding_for(result, device="glpi-lf014")
    assert (found.outcome, found.asset_tag) == (Outcome.MATCHED, "LT-001")
    assert found.evidence == (Evidence.SERIAL, Evidence.HOSTNAME)
    assert found.confidence == 97


def test_the_same_uuid_printed_in_the_other_byte_order_still_matches(result) -> None:
    found = finding_for(result, device="sccm-dt")
    assert (found.outcome, found.asset_tag, found.evidence) == (
        Outcome.MATCHED, "DT-003", (Evidence.HARDWARE_UUID,))


@pytest.mark.parametrize(("device", "tag", "evidence"), [
    ("arn:aws:ec2:eu-west-1:1:instance/i-0ABC123", "VM-004", Evidence.CLOUD_RESOURCE_ID),
    ("jamf-imac", "MAC-010", Evidence.MAC),
    ("jamf-tag", "TAG-011", Evidence.ASSET_TAG),
])
def test_weaker_evidence_matches_when_it_is_all_there_is(result, device, tag, evidence) -> None:
    found = finding_for(result, device=device)
    assert (found.outcome, found.asset_tag, found.evidence) == (Outcome.MATCHED, tag,
                                                                (evidence,))


def test_a_match_whose_owner_and_cost_centre_differ_is_a_conflict(result) -> None:
    found = finding_for(result, device="glpi-pc-arg")
    assert found.outcome is Outcome.CONFLICT
    assert found.conflicts == (Conflict("owner", "cvigneron", "CEDRE\\jdupont"),
                               Conflict("cost_centre", "4100", "4200"))


def test_a_disposed_asset_still_reporting_is_a_conflict(result) -> None:
    found = finding_for(result, device="glpi-zombie")
    assert found.outcome is Outcome.CONFLICT
    assert [c.field for c in found.conflicts] == ["status"]


def test_a_device_in_no_register_entry_is_unregistered(result) -> None:
    assert finding_for(result, device="glpi-unknown").outcome is Outcome.UNREGISTERED


def test_an_asset_not_seen_for_n_days_is_missing(result) -> None:
    missing = {f.asset_tag: f.last_seen for f in result.by_outcome(Outcome.MISSING)}
    assert missing == {"LT-005": None, "LT-009": NOW - timedelta(days=90),
                       "SW-006": None, "SW-007": None}


def test_a_serial_held_by_two_register_entries_is_a_duplicate_and_matches_neither(result) -> None:
    [duplicate] = [f for f in result.by_outcome(Outcome.DUPLICATE) if f.asset_tag == "SW-006"]
    assert duplicate.others == ("SW-007",)
    assert duplicate.identifier == (Evidence.SERIAL, "AA-SHARED-1")
    assert finding_for(result, device="glpi-shared").outcome is Outcome.UNREGISTERED


def test_two_records_of_one_source_with_one_serial_are_duplicates(result) -> None:
    found = finding_for(result, device="sccm-twin-b")
    assert found.outcome is Outcome.DUPLICATE
    assert found.others == ("sccm:sccm-twin-a",)
    assert finding_for(result, device="sccm-twin-a").outcome is Outcome.UNREGISTERED


def test_the_counts_are_what_the_reconcile_command_prints(result) -> None:
    # LT-009's device matched but was last seen 90 days ago: a match, and a missing asset
    assert result.counts() == {"matched": 6, "conflicts": 2, "unregistered": 3, "missing": 4,
                               "duplicates": 2, "records": 12, "deleted": 0}


def test_two_sources_may_both_see_one_asset_but_one_source_only_once() -> None:
    register = [entry("LT-1", serial="SER-001")]
    devices = [seen("a", serial="SER-001"), seen("b", source="sccm", serial="ser-001"),
               seen("c", serial="SER-001", seen_at=NOW - timedelta(days=5))]
    result = reconcile(register, devices, as_of=NOW)
    assert result.pairs() == {DeviceRef("glpi", "a"): "LT-1", DeviceRef("sccm", "b"): "LT-1"}
    loser = finding_for(result, device="c")
    assert (loser.outcome, loser.others) == (Outcome.DUPLICATE, ("glpi:a",))


def test_a_contradicting_serial_halves_the_confidence_of_a_hostname_match() -> None:
    register = [entry("LT-1", serial="SER-001", hostname="pc1")]
    result = reconcile(register, [seen("a", serial="SER-002", hostname="PC1")], as_of=NOW)
    assert finding_for(result, device="a").outcome is Outcome.UNREGISTERED  # 20 % < 30 %
    result = reconcile(register, [seen("a", hostname="PC1.corp.example.com")], as_of=NOW)
    assert finding_for(result, device="a").confidence == 40


def test_the_register_can_be_built_from_assets() -> None:
    asset = Asset(tag="LT-1", name="Laptop", kind=AssetKind.LAPTOP, cost_centre="4100",
                  serial_number="S1", model="XPS 13", location="Paris")
    made = RegisterEntry.from_asset(asset, hostname="pc1", macs=("aa-bb-cc-dd-ee-f0",),
                                    owner="jsmith")
    assert (made.tag, made.serial, made.cost_centre, made.hostname) == ("LT-1", "S1", "4100",
                                                                         "pc1")


# --- decisions ------------------------------------------------------------------------------

WHO = {"by": "erin", "at": NOW}


def test_an_accepted_conflict_stays_accepted_on_the_next_run(result) -> None:
    decision = decide(finding_for(result, device="glpi-pc-arg"), DecisionKind.ACCEPT, **WHO,
                      reason="temporary loan")
    again = reconcile(REGISTER, DEVICES, as_of=NOW + timedelta(days=1), decisions=[decision])
    found = finding_for(again, device="glpi-pc-arg")
    assert (found.outcome, found.decision) == (Outcome.MATCHED, decision)
    assert again.stale_decisions == ()


def test_an_accepted_conflict_returns_when_something_new_disagrees(result) -> None:
    decision = decide(finding_for(result, device="glpi-pc-arg"), DecisionKind.ACCEPT, **WHO)
    moved = [replace(d, location="Marseille") if d.record_id == "glpi-pc-arg" else d
             for d in DEVICES]
    again = reconcile(REGISTER, moved, as_of=NOW, decisions=[decision])
    assert finding_for(again, device="glpi-pc-arg").outcome is Outcome.CONFLICT
    assert again.stale_decisions == (decision,)


def test_a_device_linked_by_hand_stays_linked() -> None:
    decision = Decision(DecisionKind.LINK, "TAG-011", DeviceRef("glpi", "glpi-unknown"), **{
        "decided_by": "erin", "decided_at": NOW, "reason": "re-imaged, new serial"})
    again = reconcile(REGISTER, DEVICES, as_of=NOW, decisions=[decision])
    found = finding_for(again, device="glpi-unknown")
    assert (found.outcome, found.asset_tag, found.confidence) == (Outcome.MATCHED, "TAG-011",
                                                                  100)


def test_a_rejected_pairing_is_not_proposed_again() -> None:
    decision = Decision(DecisionKind.REJECT, "MAC-010", DeviceRef("jamf", "jamf-imac"),
                        decided_by="erin", decided_at=NOW, reason="shared dock MAC")
    again = reconcile(REGISTER, DEVICES, as_of=NOW, decisions=[decision])
    assert finding_for(again, device="jamf-imac").outcome is Outcome.UNREGISTERED


def test_a_missing_asset_marked_decommissioned_is_no_longer_missing() -> None:
    decision = Decision(DecisionKind.DECOMMISSION, "LT-005", None, decided_by="erin",
                        decided_at=NOW, reason="stolen, police report 42")
    again = reconcile(REGISTER, DEVICES, as_of=NOW, decisions=[decision])
    assert finding_for(again, tag="LT-005").outcome is Outcome.DECOMMISSIONED
    assert again.counts()["missing"] == 3


def test_taking_the_discovered_owner_resolves_only_the_owner(result) -> None:
    decision = decide(finding_for(result, device="glpi-pc-arg"), DecisionKind.TAKE_OWNER, **WHO)
    assert decision.owner == "CEDRE\\jdupont"
    again = reconcile(REGISTER, DEVICES, as_of=NOW, decisions=[decision])
    found = finding_for(again, device="glpi-pc-arg")
    assert found.outcome is Outcome.CONFLICT
    assert [c.field for c in found.conflicts] == ["cost_centre"]
    # once the register carries the new owner the decision is fulfilled, not stale
    register = [replace(e, owner="jdupont", cost_centre="4200") if e.tag == "LT-002" else e
                for e in REGISTER]
    later = reconcile(register, DEVICES, as_of=NOW, decisions=[decision])
    assert finding_for(later, device="glpi-pc-arg").outcome is Outcome.MATCHED
    assert later.stale_decisions == ()


def test_a_decision_about_a_device_that_is_gone_is_reported_stale() -> None:
    decision = Decision(DecisionKind.LINK, "LT-001", DeviceRef("glpi", "long-gone"),
                        decided_by="erin", decided_at=NOW)
    again = reconcile(REGISTER, DEVICES, as_of=NOW, decisions=[decision])
    assert again.stale_decisions == (decision,)


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "approve"}, "kind"),
    ({"device": None}, "device"),
    ({"decided_by": " "}, "decided_by"),
    ({"decided_at": datetime(2026, 1, 1)}, "decided_at"),
    ({"kind": DecisionKind.TAKE_OWNER}, "owner"),
])
def test_a_decision_must_say_what_who_and_when(fields: dict[str, object], field: str) -> None:
    values = {"kind": DecisionKind.ACCEPT, "asset_tag": "LT-1",
              "device": DeviceRef("glpi", "a"), "decided_by": "erin", "decided_at": NOW,
              **fields}
    with pytest.raises(InputError) as raised:
        Decision(**values)  # type: ignore[arg-type]
    assert raised.value.field == field
