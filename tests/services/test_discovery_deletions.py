"""A resource AWS Config reports deleted is a discovery fact: the stored record is marked gone
(kept, audited), a file holding only deletions imports, the same file again changes nothing, and
reconciliation says the register asset was deleted in the source instead of matching it or
calling it missing; SQLite and PostgreSQL, with the real change notification of the fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from client.commands.inventory import file_sha256, pickup_folder
from connectors.inventory.aws_config import read_aws_config
from ledger.asset import Asset, AssetKind, LifecycleStatus
from ledger.discovery import DeviceRef
from ledger.reconciliation import DecisionKind, Outcome
from ledger.reference import CostCentre
from ledger.services import assets as assets_service
from ledger.services import reference_data
from ledger.services.audit import verify_audit
from ledger.services.inventory import (
    decide,
    import_discovery,
    reconcile_inventory,
    reconciliation_counts,
)
from ledger.staging import staged
from tests.conftest import shared_fixture

ARN = "arn:aws:ec2:us-east-1:123456789012:volume/vol-004bcxxxxxxx"
VOLUME = DeviceRef("aws-config", ARN)
SEEN = "2026-11-20T08:00:00.000Z"
DELETED = "2026-11-25T16:45:12.500Z"
DELETED_AT = datetime(2026, 11, 25, 16, 45, 12, 500000, tzinfo=UTC)


def notification() -> dict[str, Any]:
    path = shared_fixture("inventory", "aws_config",
                          "aws_config_ConfigurationItemChangeNotification_ec2_volume.json")
    return json.loads(path.read_text("utf-8"))


def written(folder: Path, name: str, document: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(document, indent=2), "utf-8")
    return path


def seen(folder: Path, at: str = SEEN, name: str = "seen.json") -> Path:
    """The real notification, captured at ``at``."""
    document = notification()
    document["configurationItem"]["configurationItemCaptureTime"] = at
    return written(folder, name, document)


def deleted(folder: Path, *, at: str = DELETED, name: str = "deleted.json",
            status: str = "ResourceDeleted", resource: str | None = None) -> Path:
    """The real notification turned into the deletion AWS Config sends: status deleted, no
    configuration, relationships or tags, the diff a DELETE."""
    document = notification()
    item = document["configurationItem"]
    item.update(configurationItemStatus=status, configurationItemCaptureTime=at,
                configuration=None, relationships=[], tags={}, resourceCreationTime=None)
    if resource is not None:
        item["resourceId"] = resource
        item["ARN"] = f"arn:aws:ec2:us-east-1:123456789012:volume/{resource}"
    document["configurationItemDiff"] = {"changedProperties": {}, "changeType": "DELETE"}
    return written(folder, name, document)


def load(app, path: Path):
    with app.uow() as uow:
        result = import_discovery(uow=uow, source="aws-config", kind="aws-config",
                                  file=str(path), sha256=file_sha256(path),
                                  devices=read_aws_config(path))
        uow.commit()
    return result


def volume_asset(tag: str = "VOL-1", resource: str = "vol-004bcxxxxxxx") -> Asset:
    return Asset(tag, "Build server root volume", AssetKind.CLOUD_RESOURCE, "6010",
                 cloud_resource_id=resource)


@pytest.fixture
def register(app):
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("6010", "IT Infrastructure")]))
        assets_service.register_assets(uow=uow, assets=staged([volume_asset()]))
        uow.commit()
    return app


def findings(app):
    with app.uow(read_only=True) as uow:
        return reconcile_inventory(uow=uow), reconciliation_counts(uow=uow)


def audit_actions(app) -> list[str]:
    with app.uow(read_only=True) as uow:
        return [c.event.action for c in uow.audit.chain()]


def test_the_reader_yields_a_deletion_marked_with_its_capture_time(tmp_path: Path) -> None:
    [item] = read_aws_config(deleted(tmp_path, status="ResourceDeletedNotRecorded"))
    gone = item.value
    assert (gone.record_id, gone.cloud_resource_id, gone.gone_at, gone.seen_at) == (
        ARN, "vol-004bcxxxxxxx", DELETED_AT, None)
    [live] = read_aws_config(seen(tmp_path))
    assert live.value.gone_at is None


def test_a_deletion_marks_the_record_gone_and_the_asset_deleted_in_the_source(
        register, tmp_path: Path) -> None:
    load(register, seen(tmp_path))
    result, counts = findings(register)
    [match] = result.by_outcome(Outcome.MATCHED)
    assert (match.asset_tag, match.device) == ("VOL-1", VOLUME)

    gone = load(register, deleted(tmp_path))
    assert (gone.records, gone.created, gone.updated, gone.gone) == (1, 0, 1, 1)
    assert "1 deleted in the source" in gone.message
    with register.uow(read_only=True) as uow:
        stored = uow.inventory.device(VOLUME)
        assert uow.inventory.count() == 1  # kept, not erased
    assert stored.gone_at == DELETED_AT
    assert stored.model == "AWS::EC2::Volume" and stored.seen_at is not None  # as last seen

    result, counts = findings(register)
    [finding] = result.findings
    assert (finding.outcome, finding.asset_tag, finding.device, finding.last_seen) == (
        Outcome.DELETED, "VOL-1", VOLUME, DELETED_AT)
    assert counts == {"matched": 0, "conflicts": 0, "unregistered": 0, "missing": 0,
                      "deleted": 1, "duplicates": 0, "records": 1}
    assert counts == result.counts()
    with register.uow(read_only=True) as uow:
        [event] = [c.event for c in uow.audit.chain() if c.event.action == "discovery.gone"]
        problems, _ = verify_audit(uow=uow)
    assert event.key == f"aws-config:{ARN}"
    assert (event.before, event.after["gone_at"]) == ({"gone_at": None}, DELETED_AT.isoformat())
    assert problems == []


def test_the_same_deletion_again_changes_nothing(register, tmp_path: Path) -> None:
    load(register, seen(tmp_path))
    path = deleted(tmp_path)
    load(register, path)
    before = audit_actions(register)
    again = load(register, path)
    assert again.already_imported
    # the same deletion in another file (another hash): read, compared, nothing written
    other = written(tmp_path, "other.json", {**json.loads(path.read_text("utf-8")),
                                             "notificationCreationTime": DELETED})
    later = load(register, other)
    assert (later.created, later.updated, later.unchanged, later.gone) == (0, 0, 1, 0)
    assert audit_actions(register) == [*before, "discovery.import"]
    with register.uow(read_only=True) as uow:
        assert uow.inventory.device(VOLUME).gone_at == DELETED_AT


def test_a_file_holding_only_a_deletion_is_picked_up_by_the_scheduled_job(
        register, tmp_path: Path) -> None:
    """It used to be refused with "the file holds no device": never seen alive, the deleted
    volume is stored gone and still names the asset that carries its id."""
    drop = tmp_path / "discovery-drop"
    (drop / "aws-config").mkdir(parents=True)
    deleted(drop / "aws-config", resource="vol-0feedxxxxxxx")
    with register.uow() as uow:
        assets_service.register_assets(uow=uow, assets=staged([
            volume_asset("VOL-2", "vol-0feedxxxxxxx")]))
        uow.commit()
    counts = pickup_folder(register, drop)
    assert counts == {"imported": 1, "already_imported": 0, "rejected": 0}
    result, _ = findings(register)
    [gone] = result.by_outcome(Outcome.DELETED)
    assert gone.asset_tag == "VOL-2"
    assert [f.asset_tag for f in result.by_outcome(Outcome.MISSING)] == ["VOL-1"]
    assert result.by_outcome(Outcome.UNREGISTERED) == []


def test_a_deleted_resource_nobody_registered_is_not_unregistered(app, tmp_path: Path) -> None:
    load(app, deleted(tmp_path))
    result, counts = findings(app)
    assert result.findings == () and counts["records"] == 1


def test_sightings_older_than_the_deletion_leave_it_gone_and_a_later_one_revives_it(
        register, tmp_path: Path) -> None:
    load(register, deleted(tmp_path))
    older = load(register, seen(tmp_path, "2026-11-24T10:00:00.000Z", "older.json"))
    assert (older.updated, older.unchanged) == (0, 1)
    result, _ = findings(register)
    assert [f.outcome for f in result.findings] == [Outcome.DELETED]
    load(register, seen(tmp_path, "2026-11-26T10:00:00.000Z", "recreated.json"))
    result, _ = findings(register)
    assert [(f.outcome, f.asset_tag) for f in result.findings] == [(Outcome.MATCHED, "VOL-1")]


def test_a_new_record_is_matched_and_the_gone_one_claims_nothing(register, tmp_path: Path
                                                                  ) -> None:
    """Another source's live sighting of the same volume keeps the asset matched; the deleted
    record is neither a duplicate nor a rival claimant."""
    load(register, deleted(tmp_path))
    path = seen(tmp_path, name="restored.json")
    document = json.loads(path.read_text("utf-8"))
    document["configurationItem"]["ARN"] = None  # record id resourceType/resourceId
    load(register, written(tmp_path, "restored.json", document))
    result, counts = findings(register)
    [match] = result.findings
    assert (match.outcome, match.device) == (
        Outcome.MATCHED, DeviceRef("aws-config", "AWS::EC2::Volume/vol-004bcxxxxxxx"))
    assert counts["deleted"] == counts["duplicates"] == 0


def test_decommissioning_an_asset_deleted_in_the_source_retires_it(register, tmp_path: Path
                                                                   ) -> None:
    load(register, seen(tmp_path))
    load(register, deleted(tmp_path))
    with register.uow() as uow:
        decide(uow=uow, kind=DecisionKind.DECOMMISSION, asset_tag="VOL-1",
               reason="volume deleted in AWS with its instance")
        uow.commit()
    with register.uow(read_only=True) as uow:
        assert uow.assets.get("VOL-1").status is LifecycleStatus.RETIRED
    _, counts = findings(register)
    assert counts["deleted"] == 0


def test_a_history_file_with_the_sighting_and_the_deletion_gives_one_gone_record(
        register, tmp_path: Path) -> None:
    live = notification()["configurationItem"]
    live["configurationItemCaptureTime"] = SEEN
    gone = json.loads(deleted(tmp_path).read_text("utf-8"))["configurationItem"]
    path = written(tmp_path, "history.json", {"fileVersion": "1.0",
                                              "configurationItems": [gone, live]})
    [item] = read_aws_config(path)
    assert (item.value.gone_at, item.value.location) == (DELETED_AT, "us-east-1c")
    assert item.value.seen_at == datetime(2026, 11, 20, 8, tzinfo=UTC)
    result = load(register, path)
    assert (result.created, result.gone) == (1, 1)
    found, _ = findings(register)
    assert [(f.outcome, f.asset_tag) for f in found.findings] == [(Outcome.DELETED, "VOL-1")]
