"""AWS Config configuration items: snapshot and history files, and change notifications.

Accepted documents (as AWS Config writes them to S3 or SNS):

- a snapshot or history file: ``{"fileVersion": ..., "configurationItems": [...]}``;
- a change notification: ``{"messageType": "ConfigurationItemChangeNotification",
  "configurationItem": {...}}``;
- an oversized change notification: ``{"messageType":
  "OversizedConfigurationItemChangeNotification", "configurationItemSummary": {...}}`` (no
  configuration: identifiers only).

Each item becomes one device whose ``cloud_resource_id`` is the ``resourceId`` and whose record
id is the ARN (or ``resourceType/resourceId`` when there is no ARN). ``seen_at`` is the capture
time; ``location`` the availability zone or region; ``owner`` and ``cost_centre`` come from the
resource's tags (:data:`OWNER_TAGS`, :data:`COST_CENTRE_TAGS`). For EC2 instances the host name
is the private DNS name and the MACs those of the network interfaces; ``model`` is the instance
type, or the resource type for other resources.

Items whose status says the resource is gone (``ResourceDeleted``,
``ResourceDeletedNotRecorded``) are devices too, marked deleted: ``gone_at`` is the capture
time (the moment AWS Config recorded the deletion) and only the identifiers are kept (a deleted
item carries no configuration). They are not sightings: the import marks the stored record gone
and reconciliation says which register asset was deleted in the source. Their record ids are
also listed in :attr:`AwsConfigRead.deleted`. A history file lists every state of a resource:
each resource becomes one device, its latest state (a deletion after a sighting keeps the
sighting's identifiers).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from connectors.inventory.reading import MAX_ERRORS, JsonReader, load_json
from ledger.discovery import DiscoveredDevice, SourceKind, normalise_macs
from ledger.errors import InputError, InputErrors
from ledger.staging import Staged

OWNER_TAGS = ("Owner", "owner", "OWNER", "Contact", "contact")
COST_CENTRE_TAGS = ("CostCenter", "CostCentre", "cost-center", "cost_centre", "costcenter",
                    "cost-centre")
GONE = ("ResourceDeleted", "ResourceDeletedNotRecorded")


@dataclass(frozen=True, slots=True)
class AwsConfigRead:
    """The devices of one AWS Config document, and the ARNs (or ids) reported deleted."""

    devices: list[Staged[DiscoveredDevice]]
    deleted: tuple[str, ...]


def read_aws_config(path: Path) -> list[Staged[DiscoveredDevice]]:
    """The resources of one AWS Config file (see the module docstring)."""
    return read_aws_config_document(path).devices


def read_aws_config_document(path: Path) -> AwsConfigRead:
    source = str(path)
    document = JsonReader(load_json(path, source), source=source, where="$")
    if "configurationItems" in document.value:
        items = document.children("configurationItems")
    elif document.child("configurationItem") is not None:
        items = [document.child("configurationItem")]  # type: ignore[list-item]
    elif document.child("configurationItemSummary") is not None:
        items = [document.child("configurationItemSummary")]  # type: ignore[list-item]
    else:
        raise document.error("not an AWS Config document: no configurationItems, "
                             "configurationItem or configurationItemSummary",
                             field="configurationItems")
    latest: dict[str, Staged[DiscoveredDevice]] = {}
    deleted: list[str] = []
    errors: list[InputError] = []
    for position, item in enumerate(items, start=1):
        try:
            resource_id = item.text("resourceId", required=True)
            resource_type = item.text("resourceType", required=True)
            arn = item.text("ARN") or item.text("arn")
            record_id = arn or f"{resource_type}/{resource_id}"
            if item.text("configurationItemStatus") in GONE:
                deleted.append(record_id)
                device = _gone(item, record_id, resource_id, resource_type)
            else:
                device = _device(item, record_id, resource_id, resource_type)
            _keep_latest(latest, Staged(device, source, position))
        except InputError as exc:
            errors.append(exc)
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise InputErrors(errors, source=source)
    if not latest:
        raise InputError("the document holds no configuration item", source=source)
    return AwsConfigRead(list(latest.values()), tuple(dict.fromkeys(deleted)))


def _keep_latest(latest: dict[str, Staged[DiscoveredDevice]],
                 item: Staged[DiscoveredDevice]) -> None:
    """A history file lists every state of a resource: keep its latest (by capture time, then
    file order). A deletion after a sighting keeps the sighting's identifiers, marked gone."""
    held = latest.get(item.value.record_id)
    if held is not None and _moment(held.value) > _moment(item.value):
        item, held = held, item
    if held is not None and item.value.gone_at is not None and held.value.gone_at is None:
        item = Staged(replace(held.value, gone_at=item.value.gone_at), item.source, item.row)
    latest[item.value.record_id] = item


def _moment(device: DiscoveredDevice) -> float:
    moment = device.gone_at or device.seen_at
    return moment.timestamp() if moment is not None else float("-inf")


def _tags(item: JsonReader) -> dict[str, str]:
    tags = item.value.get("tags")
    if tags is None:
        return {}
    if isinstance(tags, dict):
        found = {}
        for key, value in tags.items():
            if value is not None and not isinstance(value, str):
                raise item.error("a tag value must be text", field=f"tags.{key}", value=value)
            if value:
                found[key] = value.strip()
        return found
    raise item.error("expected an object of tags", field="tags")


def _device(item: JsonReader, record_id: str, resource_id: str | None,
            resource_type: str | None) -> DiscoveredDevice:
    tags = _tags(item)
    configuration = item.child("configuration")
    hostname = None
    macs: tuple[str, ...] = ()
    model = resource_type
    os_name = None
    if configuration is not None and resource_type == "AWS::EC2::Instance":
        hostname = configuration.text("privateDnsName")
        macs = normalise_macs(n.text("macAddress")
                              for n in configuration.children("networkInterfaces"))
        model = configuration.text("instanceType") or resource_type
        os_name = configuration.text("platformDetails") or configuration.text("platform")
    return DiscoveredDevice(
        source=SourceKind.AWS_CONFIG.value,
        record_id=record_id,
        seen_at=item.time("configurationItemCaptureTime"),
        hostname=hostname or tags.get("Name"),
        cloud_resource_id=resource_id,
        manufacturer="Amazon Web Services",
        model=model,
        os=os_name,
        owner=_first_tag(tags, OWNER_TAGS),
        location=item.text("availabilityZone") or item.text("awsRegion"),
        cost_centre=_first_tag(tags, COST_CENTRE_TAGS),
        macs=macs,
    )


def _gone(item: JsonReader, record_id: str, resource_id: str | None,
          resource_type: str | None) -> DiscoveredDevice:
    """A deleted resource: its identifiers and the time the deletion was captured."""
    captured = item.time("configurationItemCaptureTime")
    if captured is None:
        raise item.error("a deleted resource needs the time its deletion was captured",
                         field="configurationItemCaptureTime")
    return DiscoveredDevice(
        source=SourceKind.AWS_CONFIG.value, record_id=record_id, seen_at=None,
        cloud_resource_id=resource_id, manufacturer="Amazon Web Services", model=resource_type,
        location=item.text("availabilityZone") or item.text("awsRegion"), gone_at=captured)


def _first_tag(tags: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        if tags.get(name):
            return str(tags[name])
    return None
