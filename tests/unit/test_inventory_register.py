"""The register's identifiers as a person types them: MACs in any spelling are kept canonical,
a value that is no MAC is refused, environments and lifecycle events are checked."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.asset import Asset, Environment, LifecycleEvent, LifecycleEventKind
from ledger.errors import InputError
from ledger.reconciliation import RegisterEntry


def test_macs_are_kept_canonical_and_distinct_in_any_spelling() -> None:
    asset = Asset("LT-1", "Laptop", "laptop", None,
                  macs=("AA-BB-CC-00-00-02", "aabb.cc00.0002", "aa:bb:cc:00:00:04"),
                  hostname="  lt-1.corp.example  ", environment="non-prod")
    assert asset.macs == ("aa:bb:cc:00:00:02", "aa:bb:cc:00:00:04")
    assert asset.hostname == "lt-1.corp.example"
    assert asset.environment is Environment.NON_PROD


@pytest.mark.parametrize("mac", ["aa:bb:cc:dd:ee", "01:00:5e:00:00:01", "zz:bb:cc:dd:ee:ff"])
def test_a_typed_value_that_is_no_unicast_mac_is_refused(mac: str) -> None:
    with pytest.raises(InputError) as raised:
        Asset("LT-1", "Laptop", "laptop", None, macs=(mac,))
    assert raised.value.field == "macs"


def test_an_unknown_environment_is_refused_naming_the_choices() -> None:
    with pytest.raises(InputError, match="prod, non_prod"):
        Asset("LT-1", "Laptop", "laptop", None, environment="staging")


def test_a_reassignment_names_what_changed() -> None:
    with pytest.raises(InputError) as raised:
        LifecycleEvent("LT-1", "reassignment", date(2026, 11, 27))
    assert raised.value.field == "attribute"
    assert LifecycleEvent("LT-1", "decommission", date(2026, 11, 27)).kind is (
        LifecycleEventKind.DECOMMISSION)


def test_the_register_entry_takes_every_identifier_from_the_asset() -> None:
    asset = Asset("SRV-1", "Server", "server", None, serial_number="ABC123",
                  hostname="srv1", macs=("aa:bb:cc:00:00:06",),
                  hardware_uuid="33E737A8-F827-11DF-9297-47C0A301005A",
                  cloud_resource_id="i-0abc", owner="ops")
    entry = RegisterEntry.from_asset(asset)
    assert (entry.serial, entry.hostname, entry.macs, entry.hardware_uuid,
            entry.cloud_resource_id, entry.owner) == (
        "ABC123", "srv1", ("aa:bb:cc:00:00:06",), asset.hardware_uuid, "i-0abc", "ops")
