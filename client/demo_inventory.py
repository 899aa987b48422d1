"""The demo company's discovery feeds: what SCCM, Intune, Jamf and GLPI see of its register.

The feeds are generated from the register (after its identifiers are filled in) with the
messiness real feeds have: serials in lower case, with spaces or replaced by BIOS placeholders
(then the identifying number is junk too), MACs as bare hex or with dashes, host names short or
fully qualified, UUIDs printed in the other byte order, owners as ``DOMAIN\\login`` or UPNs.
They are written as real files in each tool's format and imported through the real importers.

Every disagreement is planted on purpose and named in :class:`Planted`, so that a test can check
that reconciliation finds each by identity: owner, location, model, cost centre and status
conflicts, unregistered devices, missing and stale assets, and duplicates (in the register, one
source's two records claiming one asset, and two unknown devices sharing a serial).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from client.bootstrap import App
from ledger.asset import Asset, AssetKind, Environment, LifecycleStatus
from ledger.ports import UnitOfWork
from ledger.services import assets as assets_service
from ledger.services import inventory
from ledger.services.base import Changes
from ledger.staging import staged

SEED = 20261127
DOMAIN = "meridian.example"
NETBIOS = "MERIDIAN"
SITES = ("London HQ", "Manchester Plant", "Leeds Warehouse", "Remote")
DISCOVERED_KINDS = (AssetKind.LAPTOP, AssetKind.DESKTOP, AssetKind.SERVER, AssetKind.NETWORK,
                    AssetKind.STORAGE)


@dataclass
class Planted:
    """The disagreements planted in the demo feeds, by identity."""

    owner_conflicts: list[str] = field(default_factory=list)
    location_conflicts: list[str] = field(default_factory=list)
    model_conflicts: list[str] = field(default_factory=list)
    cost_centre_conflicts: list[str] = field(default_factory=list)
    status_conflicts: list[str] = field(default_factory=list)
    unregistered: list[str] = field(default_factory=list)  # "source:record_id"
    missing: list[str] = field(default_factory=list)  # never seen
    stale: list[str] = field(default_factory=list)  # seen long ago only
    register_duplicates: list[tuple[str, str]] = field(default_factory=list)
    claim_duplicates: list[str] = field(default_factory=list)  # the losing "source:record"
    device_duplicates: list[str] = field(default_factory=list)  # "source:record_id"
    junk_serials: list[str] = field(default_factory=list)  # matched without a serial


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _mac(tag: str, n: int = 0) -> str:
    d = "0050b6" + _digest(f"mac {tag} {n}", 6)
    return ":".join(d[i:i + 2] for i in range(0, 12, 2))


def _uuid(tag: str) -> str:
    d = _digest(f"uuid {tag}", 32)
    return f"{d[:8]}-{d[8:12]}-4{d[13:16]}-a{d[17:20]}-{d[20:]}".upper()


def _swapped(uuid: str) -> str:
    d = uuid.replace("-", "")

    def rev(part: str) -> str:
        return "".join(reversed([part[i:i + 2] for i in range(0, len(part), 2)]))
    s = rev(d[:8]) + rev(d[8:12]) + rev(d[12:16]) + d[16:]
    return f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}"


def _host(tag: str) -> str:
    return tag.replace("-", "").lower()


def enrich(assets: list[Asset], rng: random.Random) -> list[Asset]:
    """The register's identifiers, owners and locations, where an asset manager keeps them."""
    people = sorted({f"user{n:03d}" for n in range(60)})
    enriched = []
    for asset in assets:
        if asset.kind not in DISCOVERED_KINDS or asset.hostname:
            continue
        personal = asset.kind in (AssetKind.LAPTOP, AssetKind.DESKTOP)
        owner = (f"{rng.choice(people)}@{DOMAIN}" if personal else f"it-ops@{DOMAIN}")
        location = rng.choice(SITES[:3]) if not personal else rng.choice(SITES)
        enriched.append(replace(
            asset, hostname=_host(asset.tag), macs=(_mac(asset.tag),),
            hardware_uuid=_uuid(asset.tag) if asset.kind is not AssetKind.NETWORK else None,
            owner=owner, location=location,
            environment=(Environment.PROD if asset.kind is not AssetKind.SERVER
                         or rng.random() < 0.7 else Environment.NON_PROD)))
    return enriched


@dataclass
class Feeds:
    sccm: list[dict[str, str]] = field(default_factory=list)
    intune: list[dict[str, Any]] = field(default_factory=list)
    jamf: list[dict[str, Any]] = field(default_factory=list)
    glpi: list[dict[str, Any]] = field(default_factory=list)


def _noisy_serial(serial: str, rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.3:
        return serial.lower()
    if choice < 0.45:
        return f" {serial[:5]} {serial[5:]} "
    return serial


def _noisy_mac(mac: str, rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.3:
        return mac.upper().replace(":", "-")
    if choice < 0.5:
        d = mac.replace(":", "")
        return f"{d[:4]}.{d[4:8]}.{d[8:]}"
    return mac


def _sccm_row(asset: Asset, rng: random.Random, seen: datetime, record_id: str,
              **overrides: str) -> dict[str, str]:
    serial = _noisy_serial(asset.serial_number or "", rng)
    uuid = asset.hardware_uuid or ""
    login = (asset.owner or "").split("@")[0]
    row = {
        "ResourceID": record_id,
        "Name0": asset.hostname.upper() if asset.hostname else "",
        "Manufacturer0": asset.manufacturer or "",
        "Model0": (f"{asset.manufacturer} {asset.model}" if rng.random() < 0.5
                   else asset.model or ""),
        "UserName0": f"{NETBIOS}\\{login}" if login else "",
        "SerialNumber0": serial, "ChassisTypes0": "10",
        "IdentifyingNumber0": serial,
        "UUID0": _swapped(uuid) if uuid and rng.random() < 0.5 else uuid,
        "Caption0": "Microsoft Windows 11 Enterprise", "Version0": "10.0.22631",
        "LastHWScan": seen.strftime("%m/%d/%Y %I:%M:%S %p") if rng.random() < 0.5
        else seen.strftime("%Y-%m-%d %H:%M:%S"),
        "MACAddresses0": ";".join(_noisy_mac(m, rng) for m in asset.macs),
        "Domain0": DOMAIN if rng.random() < 0.5 else "",
    }
    row.update(overrides)
    return row


def _intune(asset: Asset, rng: random.Random, seen: datetime, record_id: str,
            **overrides: Any) -> dict[str, Any]:
    mac = (asset.macs[0] if asset.macs else "").replace(":", "").upper()
    device = {
        "id": record_id, "deviceName": (asset.hostname or "").upper(),
        "managedDeviceOwnerType": "company", "enrolledDateTime": "2025-01-06T09:00:00Z",
        "lastSyncDateTime": seen.strftime("%Y-%m-%dT%H:%M:%SZ"), "operatingSystem": "Windows",
        "osVersion": "10.0.22631.4460", "complianceState": "compliant",
        "userPrincipalName": asset.owner, "model": asset.model,
        "manufacturer": asset.manufacturer, "serialNumber": asset.serial_number,
        "wiFiMacAddress": "", "ethernetMacAddress": mac,
        "azureADDeviceId": _digest(f"aad {record_id}", 32)}
    device.update(overrides)
    return device


def _jamf(asset: Asset, seen: datetime, record_id: str, **overrides: Any) -> dict[str, Any]:
    user = {"username": (asset.owner or "").split("@")[0], "email": asset.owner,
            "departmentId": asset.cost_centre}
    user.update(overrides.pop("user", {}))
    return {
        "id": record_id, "udid": _swapped(asset.hardware_uuid or "") if asset.hardware_uuid
        else None,
        "general": {"name": f"{asset.hostname}.local", "platform": "Mac",
                    "assetTag": asset.tag, "reportDate": seen.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "hardware": {"make": "Apple", "model": asset.model,
                     "serialNumber": overrides.pop("serial", asset.serial_number),
                     "macAddress": (asset.macs[0] if asset.macs else None)},
        "operatingSystem": {"name": "macOS", "version": "14.6.1"},
        "userAndLocation": user, "applications": [
            {"name": "Microsoft Word", "version": "16.89"}, {"name": "Slack", "version": "4.41"}],
    }


def _glpi(asset: Asset, **overrides: Any) -> dict[str, Any]:
    device = {"name": f"{asset.hostname}.{DOMAIN}", "serial": asset.serial_number,
              "mac": asset.macs[0] if asset.macs else None,
              "manufacturer": asset.manufacturer, "model": asset.model,
              "firmware": "16.10", "location": asset.location}
    device.update(overrides)
    return {"deviceid": f"{asset.hostname}-2026-11-01-00-00-00", "action": "netinventory",
            "itemtype": "NetworkEquipment", "content": {"network_device": device}}


def generate_feeds(register: list[Asset], now: datetime,
                   cost_centres: list[str]) -> tuple[Feeds, Planted]:
    """The four feeds for the (enriched) register, and what was planted in them."""
    rng = random.Random(SEED)
    feeds, planted = Feeds(), Planted()
    live = sorted((a for a in register if a.kind in DISCOVERED_KINDS and a.hostname),
                  key=lambda a: a.tag)
    # The picks below index lists that a decision (decommissioning, say) does not reorder, so
    # that the next day's feeds plant the same disagreements on the same assets.
    kept = [a for a in live if a.status is not LifecycleStatus.DISPOSED]
    gone = [a for a in live if a.status is LifecycleStatus.DISPOSED]
    apple = [a for a in kept if a.manufacturer == "Apple"]
    windows = [a for a in kept if a.manufacturer != "Apple"
               and a.kind in (AssetKind.LAPTOP, AssetKind.DESKTOP, AssetKind.SERVER)]
    gear = [a for a in kept if a.kind in (AssetKind.NETWORK, AssetKind.STORAGE)]

    laptops = [a for a in windows if a.kind is AssetKind.LAPTOP]
    desktops = [a for a in windows if a.kind is AssetKind.DESKTOP]
    servers = [a for a in windows if a.kind is AssetKind.SERVER]
    never = [laptops[5], servers[3], apple[3]]
    stale = [desktops[11]]
    owners = laptops[20:23]
    model = desktops[2]
    junk = laptops[50:52]
    reimaged = laptops[60]
    planted.missing = [a.tag for a in never]
    planted.stale = [a.tag for a in stale]
    planted.owner_conflicts = [a.tag for a in owners]
    planted.model_conflicts = [model.tag]
    planted.junk_serials = [a.tag for a in junk]
    record = 16_777_216
    for asset in windows:
        if asset in never:
            continue
        record += 1
        seen = now - timedelta(days=90 if asset in stale else rng.randint(0, 6),
                               minutes=rng.randint(0, 600))
        overrides: dict[str, str] = {}
        if asset in owners:
            overrides["UserName0"] = f"{NETBIOS}\\someone.else{owners.index(asset)}"
        if asset is model:
            overrides["Model0"] = "Precision 3680 Tower"
        if asset in junk:
            overrides["SerialNumber0"] = "To be filled by O.E.M."
            overrides["IdentifyingNumber0"] = "System Serial Number"
        feeds.sccm.append(_sccm_row(asset, rng, seen, str(record), **overrides))
        if asset is reimaged:  # re-imaged: a second SCCM record for the same machine
            record += 1
            feeds.sccm.append(_sccm_row(asset, rng, seen - timedelta(days=20), str(record)))
            planted.claim_duplicates.append(f"sccm:{record}")
        if asset.kind is AssetKind.LAPTOP and asset not in stale and rng.random() < 0.6:
            feeds.intune.append(_intune(asset, rng, seen + timedelta(hours=3),
                                        _digest(f"intune {asset.tag}", 8) + "-demo"))
    if gone:
        ghost = gone[0]  # sold to staff, still reporting to SCCM
        record += 1
        feeds.sccm.append(_sccm_row(replace(ghost, hostname=ghost.hostname or _host(ghost.tag)),
                                    rng, now - timedelta(days=2), str(record)))
        planted.status_conflicts = [ghost.tag]
    for n in range(2):  # unknown machines: contractors' laptops
        record += 1
        stranger = Asset(f"X-{n}", "stranger", AssetKind.LAPTOP, None, serial_number=
                         f"5CD{_digest(f'x{n}', 7).upper()}", manufacturer="HP",
                         model="EliteBook 840", hostname=f"contractor-{n}",
                         macs=(_mac(f'x{n}'),), hardware_uuid=_uuid(f"x{n}"),
                         owner=f"contractor{n}@agency.example")
        feeds.sccm.append(_sccm_row(stranger, rng, now - timedelta(days=1), str(record)))
        planted.unregistered.append(f"sccm:{record}")
    twin = Asset("X-T", "twin", AssetKind.LAPTOP, None, serial_number="PF4TWIN01",
                 manufacturer="Lenovo", model="ThinkPad X1", hostname="byod-1",
                 owner=f"visitor@{DOMAIN}")
    feeds.intune.append(_intune(twin, rng, now, "byod-0001", ethernetMacAddress=""))
    feeds.intune.append(_intune(replace(twin, hostname="byod-2"), rng, now, "byod-0002",
                                ethernetMacAddress=""))
    planted.unregistered.append("intune:byod-0001")
    planted.device_duplicates.append("intune:byod-0002")

    location_mac, centre_mac = apple[0], apple[1]
    # Jamf files the Mac under IT's department, which holds servers and never laptops.
    other_centre = servers[0].cost_centre
    planted.location_conflicts.append(location_mac.tag)
    planted.cost_centre_conflicts.append(centre_mac.tag)
    for n, asset in enumerate(apple, start=1):
        if asset in never:
            continue
        user: dict[str, Any] = {}
        if asset is location_mac:
            user = {"buildingId": "Edinburgh", "room": "2.14"}
        if asset is centre_mac:
            user = {"departmentId": other_centre}
        feeds.jamf.append(_jamf(asset, now - timedelta(days=rng.randint(0, 5)), str(n),
                                user=user))
    mac_stranger = Asset("X-M", "mac", AssetKind.LAPTOP, None, serial_number="C02XYZ12MD6T",
                         manufacturer="Apple", model="MacBook Air 13", hostname="design-air",
                         hardware_uuid=_uuid("x-m"), owner=f"intern@{DOMAIN}")
    feeds.jamf.append(_jamf(mac_stranger, now, "900"))
    planted.unregistered.append("jamf:900")

    moved = gear[0]
    planted.location_conflicts.append(moved.tag)
    for asset in gear:
        feeds.glpi.append(_glpi(asset, **({"location": "Birmingham DC"} if asset is moved
                                          else {})))
    return feeds, planted


def write_feeds(feeds: Feeds, folder: Path) -> dict[str, Path]:
    """The feeds as files in each tool's own format."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"sccm": folder / "sccm_hardware.csv", "intune": folder / "intune_devices.json",
             "jamf": folder / "jamf_computers.json", "glpi": folder / "glpi"}
    with open(paths["sccm"], "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(feeds.sccm[0]))
        writer.writeheader()
        writer.writerows(feeds.sccm)
    paths["intune"].write_text(json.dumps({"value": feeds.intune}, indent=1), "utf-8")
    paths["jamf"].write_text(json.dumps({"totalCount": len(feeds.jamf),
                                         "results": feeds.jamf}, indent=1), "utf-8")
    paths["glpi"].mkdir(exist_ok=True)
    for device in feeds.glpi:
        (paths["glpi"] / f"{device['deviceid']}.json").write_text(json.dumps(device), "utf-8")
    return paths


def register_duplicate(assets: list[Asset]) -> tuple[Asset, Asset] | None:
    """Two laptops whose records carry the same docking-station MAC (typed from a label)."""
    laptops = [a for a in assets if a.kind is AssetKind.LAPTOP and a.macs
               and a.manufacturer != "Apple" and a.status is LifecycleStatus.IN_SERVICE]
    if len(laptops) < 72:
        return None
    first, second = laptops[70], laptops[71]
    dock = _mac("dock-1")
    return replace(first, macs=(*first.macs, dock)), replace(second, macs=(*second.macs, dock))


def load_inventory(uow: UnitOfWork, *, reason: str = "demo inventory") -> Changes:
    """Fill in the register's identifiers, then import the generated feeds through the real
    importers, in the caller's unit of work (idempotent: the same feeds change nothing)."""
    from client.commands.inventory import file_sha256
    from connectors.inventory.glpi import read_glpi_folder
    from connectors.inventory.intune import iter_intune
    from connectors.inventory.jamf import read_jamf_page
    from connectors.inventory.sccm import iter_sccm_csv

    changes = Changes()
    current = uow.assets.list()
    enriched = enrich(current, random.Random(SEED))
    if enriched:
        by_tag = {a.tag: a for a in enriched}
        for asset in register_duplicate([by_tag.get(a.tag, a) for a in current]) or ():
            by_tag[asset.tag] = asset
        changes += assets_service.register_assets(
            uow=uow, assets=staged(sorted(by_tag.values(), key=lambda a: a.tag), "demo"),
            reason=reason)
    feeds, _ = generate_feeds(uow.assets.list(), _feed_time(uow), _centres(uow))
    readers = {"sccm": iter_sccm_csv, "intune": iter_intune, "jamf": read_jamf_page,
               "glpi": read_glpi_folder}
    with tempfile.TemporaryDirectory(prefix="apportion-demo-inventory-") as folder:
        for source, path in write_feeds(feeds, Path(folder)).items():
            result = inventory.import_discovery(
                uow=uow, source=source, kind=source, file=f"demo/{path.name}",
                sha256=file_sha256(path), devices=readers[source](path))
            changes += Changes(frozenset({"discovery_record"}), created=result.created,
                               updated=result.updated, unchanged=result.unchanged)
    return changes


def _feed_time(uow: UnitOfWork) -> datetime:
    """When the demo's feeds were "taken": the start of today (UTC), so that loading the demo
    twice on one day imports the same feeds and changes nothing."""
    return uow.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)


def _centres(uow: UnitOfWork) -> list[str]:
    return sorted(cc.code for cc in uow.cost_centres.list() if cc.parent)


def planted(uow: UnitOfWork) -> Planted:
    """What :func:`load_inventory` planted in the feeds of this database's register."""
    register = uow.assets.list()
    _, found = generate_feeds(register, _feed_time(uow), _centres(uow))
    pair = _register_pair(register)
    if pair:
        found.register_duplicates.append(pair)
    return found


def _register_pair(register: list[Asset]) -> tuple[str, str] | None:
    dock = _mac("dock-1")
    tags = sorted(a.tag for a in register if dock in a.macs)
    return (tags[0], tags[1]) if len(tags) == 2 else None


def summary(app: App) -> dict[str, int]:
    """The reconciliation counts of the demo database (for the demo's printout)."""
    with app.uow(read_only=True) as uow:
        return inventory.reconciliation_counts(uow=uow)
