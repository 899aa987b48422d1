"""GLPI, FusionInventory and OCS agent inventories: the XML format and GLPI's native JSON.

One file is one agent report. A computer report (``QUERY`` ``INVENTORY``, or JSON ``itemtype``
``Computer``) gives one device; an SNMP report (``SNMPQUERY``: ``DEVICE`` elements, or JSON
``network_device``) gives one device per network switch or printer.

Where each identifier comes from (the formats are at glpi-project/inventory_format):

============== ========================================= =====================================
field          XML (upper case) / JSON (lower case)       note
============== ========================================= =====================================
record_id      ``DEVICEID`` / ``deviceid``                the agent's id, stable per install
seen_at        ``ACCESSLOG/LOGDATE``                      agent local time, read as UTC
hostname       ``HARDWARE/NAME``                          SNMP: ``INFO/NAME``
fqdn           ``OPERATINGSYSTEM/FQDN``
serial         ``BIOS/SSN`` (system serial)               SNMP: ``INFO/SERIAL``
hardware_uuid  ``HARDWARE/UUID``
macs           ``NETWORKS/MACADDR`` unless ``VIRTUALDEV``  SNMP: ``INFO/MAC``
asset_tag      ``BIOS/ASSETTAG``
owner          first ``USERS/LOGIN`` (``DOMAIN\\LOGIN``),   else ``HARDWARE/LASTLOGGEDUSER``
software       ``SOFTWARES`` (PUBLISHER, NAME, VERSION)   NAME is required
============== ========================================= =====================================
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from connectors.inventory.reading import (
    JsonReader,
    element_text,
    element_where,
    load_json,
    parse_time,
    parse_xml,
    refuse_wide_encoding,
)
from ledger.discovery import DiscoveredDevice, Software, SourceKind, clean, normalise_macs
from ledger.errors import InputError, InputErrors
from ledger.staging import Staged, index_unique

GLPI = SourceKind.GLPI.value


def read_glpi_folder(folder: Path) -> list[Staged[DiscoveredDevice]]:
    """The devices of every ``*.xml``, ``*.ocs`` and ``*.json`` report in ``folder`` (sorted).

    All or nothing: every bad file's errors are reported together, and a device reported by
    two files is an error (keep only the latest report of each agent in the folder).
    """
    reports = sorted(p for p in folder.iterdir()
                     if p.is_file() and p.suffix.lower() in (".xml", ".ocs", ".json"))
    staged: list[Staged[DiscoveredDevice]] = []
    errors: list[InputError] = []
    for report in reports:
        try:
            staged.extend(read_glpi(report))
        except InputErrors as exc:
            errors.extend(exc.errors)
        except InputError as exc:
            errors.append(exc)
    index_unique(staged, lambda d: d.record_id, what="device", field="DEVICEID", errors=errors)
    if errors:
        raise InputErrors(errors, source=str(folder))
    if not staged:
        raise InputError("the folder holds no inventory report (.xml, .ocs, .json)",
                         source=str(folder))
    return staged


def read_glpi(path: Path) -> list[Staged[DiscoveredDevice]]:
    """The devices of one GLPI inventory file, XML or JSON (chosen by its first byte)."""
    source = str(path)
    with open(path, "rb") as handle:
        head = handle.read(64)
    refuse_wide_encoding(head, str(path))
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return read_glpi_xml(path)
    if head.startswith((b"{", b"[")):
        return read_glpi_json(path)
    raise InputError("neither XML nor JSON: not a GLPI inventory", source=source, row=1)


def physical_macs(interfaces: Iterable[tuple[str | None, bool]]) -> tuple[str, ...]:
    """MACs of the interfaces not marked virtual.

    The macOS agent marks every interface virtual (``en0`` included); when all are, the
    universally administered addresses are kept (virtual bridges, AWDL and tunnels use
    locally administered ones).
    """
    listed = [(mac, virtual) for mac, virtual in interfaces if mac]
    if listed and all(virtual for _, virtual in listed):
        return tuple(m for m in normalise_macs(mac for mac, _ in listed)
                     if not int(m[:2], 16) & 2)
    return normalise_macs(mac for mac, virtual in listed if not virtual)


# --- XML ------------------------------------------------------------------------------------

def read_glpi_xml(path: Path) -> list[Staged[DiscoveredDevice]]:
    source = str(path)
    root = parse_xml(path, source)
    if root.tag != "REQUEST":
        raise InputError(f"the root element is <{root.tag}>, not <REQUEST>: not an agent "
                         "inventory", source=source, row=element_where(root))
    query = element_text(root, "QUERY")
    device_id = element_text(root, "DEVICEID")
    content = root.find("CONTENT")
    if content is None:
        raise InputError("the report has no CONTENT", source=source, row=element_where(root),
                         field="CONTENT")
    errors: list[InputError] = []
    staged: list[Staged[DiscoveredDevice]] = []
    if query == "SNMPQUERY":
        for device in content.findall("DEVICE"):
            try:
                staged.append(Staged(_snmp_device(device, device_id, source), source,
                                     device.sourceline))
            except InputError as exc:
                errors.append(exc)
    elif query in ("INVENTORY", None):
        if device_id is None:
            raise InputError("the report has no DEVICEID", source=source,
                             row=element_where(root), field="DEVICEID")
        try:
            staged.append(Staged(_computer(content, device_id, source), source,
                                 content.sourceline))
        except InputError as exc:
            errors.append(exc)
    else:
        raise InputError(f"QUERY {query!r} is not an inventory (INVENTORY or SNMPQUERY)",
                         source=source, row=element_where(root.find("QUERY")), field="QUERY",
                         value=query)
    if errors:
        raise InputErrors(errors, source=source)
    if not staged:
        raise InputError("the report describes no device", source=source)
    return staged


def _xml_time(element: Any, path: str, source: str) -> Any:
    text = element_text(element, path)
    if text is None:
        return None
    found = element.find(path)
    return parse_time(text, source=source, row=element_where(found), field=path)


def _computer(content: Any, device_id: str, source: str) -> DiscoveredDevice:
    software: list[Software] = []
    for item in content.findall("SOFTWARES"):
        name = element_text(item, "NAME")
        if name is None:
            raise InputError("a software entry has no name", source=source,
                             row=element_where(item), field="NAME")
        software.append(Software(element_text(item, "PUBLISHER"), name,
                                 element_text(item, "VERSION")))
    macs = physical_macs((element_text(n, "MACADDR"), element_text(n, "VIRTUALDEV") == "1")
                         for n in content.findall("NETWORKS"))
    owner = None
    for user in content.findall("USERS"):
        login = element_text(user, "LOGIN")
        if login:
            domain = element_text(user, "DOMAIN")
            owner = f"{domain}\\{login}" if domain else login
            break
    owner = owner or element_text(content, "HARDWARE/LASTLOGGEDUSER")
    return DiscoveredDevice(
        source=GLPI,
        record_id=device_id,
        seen_at=_xml_time(content, "ACCESSLOG/LOGDATE", source),
        hostname=element_text(content, "HARDWARE/NAME"),
        fqdn=element_text(content, "OPERATINGSYSTEM/FQDN"),
        serial=element_text(content, "BIOS/SSN"),
        macs=macs,
        hardware_uuid=element_text(content, "HARDWARE/UUID"),
        manufacturer=(element_text(content, "BIOS/SMANUFACTURER")
                      or element_text(content, "BIOS/MMANUFACTURER")),
        model=element_text(content, "BIOS/SMODEL"),
        os=(element_text(content, "OPERATINGSYSTEM/FULL_NAME")
            or element_text(content, "HARDWARE/OSNAME")),
        owner=owner,
        asset_tag=element_text(content, "BIOS/ASSETTAG"),
        software=tuple(software),
    )


def _snmp_device(device: Any, device_id: str | None, source: str) -> DiscoveredDevice:
    info = device.find("INFO")
    if info is None:
        raise InputError("an SNMP device has no INFO", source=source,
                         row=element_where(device), field="INFO")
    name = element_text(info, "NAME")
    serial = element_text(info, "SERIAL")
    record = serial or name or element_text(info, "ID")
    if record is None:
        raise InputError("an SNMP device has neither serial nor name", source=source,
                         row=element_where(info), field="SERIAL")
    macs = normalise_macs([element_text(info, "MAC")])
    return DiscoveredDevice(
        source=GLPI,
        record_id=f"{device_id or 'snmp'}/{record}",
        hostname=name,
        serial=serial,
        macs=macs,
        manufacturer=element_text(info, "MANUFACTURER"),
        model=element_text(info, "MODEL"),
        os=element_text(info, "FIRMWARE"),
        location=element_text(info, "LOCATION"),
    )


# --- JSON -----------------------------------------------------------------------------------

def read_glpi_json(path: Path) -> list[Staged[DiscoveredDevice]]:
    source = str(path)
    document = JsonReader(load_json(path, source), source=source, where="$")
    device_id = document.text("deviceid", required=True)
    assert device_id is not None
    content = document.child("content")
    if content is None:
        raise document.error("is required", field="content")
    partial = bool(document.flag("partial"))
    network = content.child("network_device")
    if network is not None:
        device = _json_network_device(network, device_id, partial)
    else:
        device = _json_computer(content, device_id, partial)
    return [Staged(device, source, 1)]


def _json_computer(content: JsonReader, device_id: str, partial: bool) -> DiscoveredDevice:
    hardware = content.child("hardware")
    bios = content.child("bios")
    system = content.child("operatingsystem")
    accesslog = content.child("accesslog")
    software = []
    for item in content.children("softwares"):
        name = item.text("name", required=True)
        assert name is not None
        software.append(Software(item.text("publisher"), name, item.text("version")))
    macs = physical_macs((n.text("mac"), bool(n.flag("virtualdev")))
                         for n in content.children("networks"))
    owner = None
    for user in content.children("users"):
        login = user.text("login")
        if login:
            domain = user.text("domain")
            owner = f"{domain}\\{login}" if domain else login
            break
    if owner is None and hardware is not None:
        owner = hardware.text("lastloggeduser")
    return DiscoveredDevice(
        source=GLPI,
        record_id=device_id,
        seen_at=accesslog.time("logdate") if accesslog else None,
        hostname=hardware.text("name") if hardware else None,
        fqdn=system.text("fqdn") if system else None,
        serial=bios.text("ssn") if bios else None,
        macs=macs,
        hardware_uuid=hardware.text("uuid") if hardware else None,
        manufacturer=(bios.text("smanufacturer") or bios.text("mmanufacturer")) if bios else None,
        model=bios.text("smodel") if bios else None,
        os=system.text("full_name") if system else None,
        owner=owner,
        asset_tag=bios.text("assettag") if bios else None,
        software=tuple(software),
        partial=partial,
    )


def _json_network_device(network: JsonReader, device_id: str, partial: bool,
                         ) -> DiscoveredDevice:
    location = network.value.get("location")
    return DiscoveredDevice(
        source=GLPI,
        record_id=device_id,
        hostname=network.text("name"),
        serial=network.text("serial"),
        macs=normalise_macs([network.text("mac")]),
        manufacturer=network.text("manufacturer"),
        model=network.text("model"),
        os=network.text("firmware"),
        location=clean(location) if isinstance(location, str) else None,
        partial=partial,
    )
