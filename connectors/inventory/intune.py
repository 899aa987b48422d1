"""Microsoft Intune managed devices, as Microsoft Graph returns them or as a CSV export.

Fields are Graph's ``managedDevice`` names: ``id`` (required; the record id), ``deviceName``,
``managedDeviceOwnerType``, ``enrolledDateTime``, ``lastSyncDateTime`` (seen at; Graph's
``0001-01-01T00:00:00Z`` means never), ``operatingSystem``, ``osVersion``, ``complianceState``,
``userPrincipalName`` (owner), ``model``, ``manufacturer``, ``serialNumber``,
``wiFiMacAddress``, ``ethernetMacAddress`` (bare hex ``A1B2C3D4E5F6``) and ``azureADDeviceId``.

JSON: a Graph reply ``{"value": [...]}`` (one page or pages saved together as a list of
replies) or a bare list of devices. CSV: a header with those names. A device listed twice is an
error; every bad record is reported, then nothing is staged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from connectors.inventory.reading import (
    MAX_ERRORS,
    JsonReader,
    load_json,
    parse_time,
    read_csv,
    refuse_wide_encoding,
)
from connectors.tabular import Row
from ledger.discovery import DiscoveredDevice, SourceKind, normalise_macs
from ledger.errors import InputError, InputErrors
from ledger.staging import Staged, index_unique

FIELDS = ("id", "deviceName", "managedDeviceOwnerType", "enrolledDateTime", "lastSyncDateTime",
          "operatingSystem", "osVersion", "complianceState", "userPrincipalName", "model",
          "manufacturer", "serialNumber", "wiFiMacAddress", "ethernetMacAddress",
          "azureADDeviceId")
_TIMES = ("enrolledDateTime", "lastSyncDateTime")


def read_intune(path: Path) -> list[Staged[DiscoveredDevice]]:
    """Managed devices from a Graph JSON reply or a CSV export (by the file's first byte)."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    refuse_wide_encoding(head, str(path))
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        return read_intune_json(path)
    return read_intune_csv(path)


def iter_intune(path: Path, *, progress: Callable[[int], None] | None = None,
                every: int = 10_000) -> Iterator[Staged[DiscoveredDevice]]:
    """Each device in turn; a CSV export is streamed (a million rows never sit in memory)
    and the first bad row raises. A Graph JSON reply is read whole (Graph pages are small).
    ``progress`` is called with the number of devices read every ``every`` and at the end."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    refuse_wide_encoding(head, str(path))
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        items: Iterable[Staged[DiscoveredDevice]] = read_intune_json(path)
    else:
        items = _stream_csv(path)
    count = 0
    for item in items:
        count += 1
        if progress is not None and count % every == 0:
            progress(count)
        yield item
    if count == 0:
        raise InputError("the file lists no device", source=str(path))
    if progress is not None:
        progress(count)


def _stream_csv(path: Path) -> Iterator[Staged[DiscoveredDevice]]:
    source = str(path)
    first: dict[str, int] = {}
    for row in read_csv(path, source=source, required=["id"], optional=FIELDS[1:]):
        device = _device(_csv_getter(row), source=source, row=row.number)
        held = first.setdefault(device.record_id.casefold(), row.number)
        if held != row.number:
            raise InputError(f"device {device.record_id} appears twice (first at row {held})",
                             source=source, row=row.number, field="id", value=device.record_id)
        yield Staged(device, source, row.number)


def _device(get: Any, *, source: str, row: int | str) -> DiscoveredDevice:
    """A device from ``get(field) -> str | None``."""
    device_id = get("id")
    if device_id is None:
        raise InputError("every device needs its Intune id", source=source, row=row,
                         field="id")
    times = {}
    for name in _TIMES:
        text = get(name)
        times[name] = parse_time(text, source=source, row=row, field=name) if text else None
    os_name = " ".join(p for p in (get("operatingSystem"), get("osVersion")) if p) or None
    return DiscoveredDevice(
        source=SourceKind.INTUNE.value,
        record_id=device_id,
        seen_at=times["lastSyncDateTime"],
        hostname=get("deviceName"),
        serial=get("serialNumber"),
        macs=normalise_macs([get("ethernetMacAddress"), get("wiFiMacAddress")]),
        manufacturer=get("manufacturer"),
        model=get("model"),
        os=os_name,
        owner=get("userPrincipalName"),
    )


def _finish(staged: list[Staged[DiscoveredDevice]], errors: list[InputError],
            source: str) -> list[Staged[DiscoveredDevice]]:
    index_unique(staged, lambda d: d.record_id.casefold(), what="device", field="id",
                 errors=errors)
    if errors:
        raise InputErrors(errors[:MAX_ERRORS], source=source)
    if not staged:
        raise InputError("the file lists no device", source=source)
    return staged


def read_intune_csv(path: Path) -> list[Staged[DiscoveredDevice]]:
    source = str(path)
    staged: list[Staged[DiscoveredDevice]] = []
    errors: list[InputError] = []
    for row in read_csv(path, source=source, required=["id"], optional=FIELDS[1:]):
        try:
            staged.append(Staged(_device(_csv_getter(row), source=source, row=row.number),
                                 source, row.number))
        except InputError as exc:
            errors.append(exc)
            if len(errors) >= MAX_ERRORS:
                break
    return _finish(staged, errors, source)


def _csv_getter(row: Row) -> Any:
    return lambda name: row.get(name.lower())


def read_intune_json(path: Path) -> list[Staged[DiscoveredDevice]]:
    source = str(path)
    document = load_json(path, source)
    pages = document if isinstance(document, list) else [document]
    records: list[tuple[str, Any]] = []
    for number, page in enumerate(pages):
        where = f"$[{number}]" if isinstance(document, list) else "$"
        if isinstance(page, dict) and "value" in page:
            reply = JsonReader(page, source=source, where=where)
            records.extend((r.where, r.value) for r in reply.children("value"))
        else:
            records.append((where, page))
    staged: list[Staged[DiscoveredDevice]] = []
    errors: list[InputError] = []
    for position, (where, value) in enumerate(records, start=1):
        try:
            record = JsonReader(value, source=source, where=where)
            staged.append(Staged(_device(record.text, source=source, row=where), source,
                                 position))
        except InputError as exc:
            errors.append(exc)
            if len(errors) >= MAX_ERRORS:
                break
    return _finish(staged, errors, source)
