"""Microsoft SCCM / ConfigMgr hardware inventory CSV.

The columns are those of the usual report joining ``v_GS_COMPUTER_SYSTEM`` (``Name0``,
``Manufacturer0``, ``Model0``, ``UserName0``), ``v_GS_SYSTEM_ENCLOSURE`` (``SerialNumber0``,
``ChassisTypes0``), ``v_GS_COMPUTER_SYSTEM_PRODUCT`` (``IdentifyingNumber0``, ``UUID0``),
``v_GS_OPERATING_SYSTEM`` (``Caption0``, ``Version0``) and ``v_GS_WORKSTATION_STATUS``
(``LastHWScan``). ``Name0`` is required; ``ResourceID`` (the record id when present),
``MACAddresses0`` (several separated by ``;`` or ``,``) and ``Domain0`` are accepted too.

The serial is the enclosure's ``SerialNumber0`` unless that is a placeholder, else the
product's ``IdentifyingNumber0``. ``LastHWScan`` is read as UTC (ConfigMgr stores UTC) in ISO
or US ``M/D/YYYY h:mm:ss AM`` form. A machine listed twice (same ``ResourceID``, or same
``Name0`` without one) is an error: the report joined a table with several rows per machine.

:func:`iter_sccm_csv` yields rows one at a time with a progress callback, raising at the
first bad row; :func:`read_sccm_csv` collects every bad row and then fails (all or nothing).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from connectors.inventory.reading import MAX_ERRORS, parse_time, read_csv
from connectors.tabular import Row
from ledger.discovery import DiscoveredDevice, SourceKind, is_junk_identifier, normalise_macs
from ledger.errors import InputError, InputErrors
from ledger.staging import Staged

REQUIRED = ("Name0",)
OPTIONAL = ("ResourceID", "Manufacturer0", "Model0", "UserName0", "SerialNumber0",
            "ChassisTypes0", "IdentifyingNumber0", "UUID0", "Caption0", "Version0",
            "LastHWScan", "MACAddresses0", "Domain0")

_MAC_LIST = re.compile(r"[;,\s]+")


def _machines(path: Path, source: str,
              ) -> Iterator[Staged[DiscoveredDevice] | InputError]:
    """Each row as a machine, or as the error that refuses it."""
    seen: dict[str, int] = {}
    for row in read_csv(path, source=source, required=REQUIRED, optional=OPTIONAL):
        try:
            device = _machine(row, source)
        except InputError as exc:
            yield InputError(exc.message, source=source, row=row.number, field=exc.field,
                             value=exc.value)
            continue
        first = seen.setdefault(device.record_id.casefold(), row.number)
        if first != row.number:
            yield InputError(f"machine {device.record_id} appears twice (first at row {first})",
                             source=source, row=row.number,
                             field="ResourceID" if row.get("resourceid") else "Name0",
                             value=device.record_id)
            continue
        yield Staged(device, source, row.number)


def iter_sccm_csv(path: Path, *, progress: Callable[[int], None] | None = None,
                  every: int = 10_000) -> Iterator[Staged[DiscoveredDevice]]:
    """Each machine of the file in turn; raises :class:`InputError` at the first bad row.

    ``progress`` is called with the number of rows read every ``every`` rows and at the end.
    """
    count = 0
    for item in _machines(path, str(path)):
        if isinstance(item, InputError):
            raise item
        count += 1
        if progress is not None and count % every == 0:
            progress(count)
        yield item
    if progress is not None:
        progress(count)


def read_sccm_csv(path: Path) -> list[Staged[DiscoveredDevice]]:
    """Every machine of the file, or :class:`InputErrors` naming every bad row."""
    source = str(path)
    staged: list[Staged[DiscoveredDevice]] = []
    errors: list[InputError] = []
    for item in _machines(path, source):
        if isinstance(item, InputError):
            errors.append(item)
            if len(errors) >= MAX_ERRORS:
                break
        else:
            staged.append(item)
    if errors:
        raise InputErrors(errors, source=source)
    if not staged:
        raise InputError("the file has a header but no rows", source=source)
    return staged


def _machine(row: Row, source: str) -> DiscoveredDevice:
    name = row.get("name0")
    if name is None:
        raise InputError("every machine needs a name", field="Name0")
    serial = row.get("serialnumber0")
    if is_junk_identifier(serial):
        serial = row.get("identifyingnumber0") or serial
    scanned = row.get("lasthwscan")
    os_name = " ".join(p for p in (row.get("caption0"), row.get("version0")) if p) or None
    macs_text = row.get("macaddresses0")
    return DiscoveredDevice(
        source=SourceKind.SCCM.value,
        record_id=row.get("resourceid") or name,
        seen_at=(parse_time(scanned, source=source, row=row.number, field="LastHWScan")
                 if scanned else None),
        hostname=name,
        fqdn=f"{name}.{row.get('domain0')}" if row.get("domain0") else None,
        serial=serial,
        macs=normalise_macs(_MAC_LIST.split(macs_text)) if macs_text else (),
        hardware_uuid=row.get("uuid0"),
        manufacturer=row.get("manufacturer0"),
        model=row.get("model0"),
        os=os_name,
        owner=row.get("username0"),
    )
