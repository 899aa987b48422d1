"""What a discovery tool saw: one device or cloud instance, and how its identifiers are normalised.

A :class:`DiscoveredDevice` is a plain frozen value made by an importer in ``connectors.inventory``
(GLPI agent, Jamf, SCCM, Intune, AWS Config, Snipe-IT). It keeps identifiers as the source wrote
them (stripped, empty as None); the functions below turn them into the *keys* that reconciliation
joins on. Real inventories are messy in known ways, and each rule here answers one of them:

- serial numbers and asset tags: BIOS placeholders ("To be filled by O.E.M.", "System Serial
  Number", "Default string", "0", "N/A", "None", "123456789", all one character ...) are no
  identifier at all (None); otherwise case and spaces are folded (``" c02zc2qy lvdl"`` ->
  ``"C02ZC2QYLVDL"``);
- MAC addresses: ``aa:bb:cc:dd:ee:ff``, ``AA-BB-CC-DD-EE-FF``, ``aabb.ccdd.eeff`` and bare
  ``AABBCCDDEEFF`` all become ``aa:bb:cc:dd:ee:ff``; all-zero, broadcast and multicast addresses
  are dropped;
- hostnames: ``LF014.ad.example.com`` and ``lf014`` share the short key ``lf014``; the fully
  qualified form is kept for display; mDNS ``.local`` is not a domain;
- hardware UUIDs: SMBIOS 2.6+ stores the first three fields little-endian, so Windows, Linux
  and a BIOS screen can print the same UUID two ways. :func:`uuid_forms` gives both;
  :func:`uuid_key` gives one key that is the same for either form.

A value that cannot be an identifier (a MAC with 11 digits, a UUID with a ``G`` in it, as GLPI's
own sample ``computer_2.json`` has) normalises to None: it never matches anything, and it is not
an import error, because real agents send such values and the rest of the record is good.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


class SourceKind(enum.StrEnum):
    """The discovery tool a record came from."""

    GLPI = "glpi"
    JAMF = "jamf"
    SCCM = "sccm"
    INTUNE = "intune"
    AWS_CONFIG = "aws-config"
    SNIPEIT = "snipeit"


class Software(NamedTuple):
    """One installed software product as the source named it (normalised by the licence work)."""

    publisher: str | None
    product: str
    version: str | None


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    """One device or cloud instance as a discovery source reported it.

    Attributes:
        source: the tool (:class:`SourceKind` value).
        record_id: the source's own id for the record (GLPI device id, Jamf id, Intune id,
            AWS resource id, SCCM name); unique per source, stable across imports.
        seen_at: when the source last saw the device (timezone-aware UTC), None if unknown.
        hostname: the short or fully qualified host name as reported.
        fqdn: the fully qualified name, when the source reports one separately.
        serial: the hardware serial number as reported (junk included; see
            :func:`normalise_serial`).
        macs: MAC addresses of physical interfaces, canonical ``aa:bb:cc:dd:ee:ff``, distinct.
        hardware_uuid: the SMBIOS system UUID as reported.
        cloud_resource_id: the cloud provider's id (an EC2 instance id, an ARN ...).
        manufacturer, model, os: as reported.
        owner: the user the device is assigned to or last used by (login, UPN or e-mail).
        location: a site, building or room as reported.
        cost_centre: a department or cost centre when the source carries one.
        asset_tag: the asset tag if the source has one (BIOS asset tag, Jamf, Snipe-IT).
        software: installed software, in the source's order.
        partial: True for a partial inventory (GLPI sends only changed sections): absent
            attributes mean "not sent", not "removed".
        gone_at: when the source reported the device deleted (AWS Config
            ``ResourceDeleted``), None while it exists. A gone record is not a sighting.
    """

    source: str
    record_id: str
    seen_at: datetime | None = None
    hostname: str | None = None
    fqdn: str | None = None
    serial: str | None = None
    macs: tuple[str, ...] = ()
    hardware_uuid: str | None = None
    cloud_resource_id: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    os: str | None = None
    owner: str | None = None
    location: str | None = None
    cost_centre: str | None = None
    asset_tag: str | None = None
    software: tuple[Software, ...] = field(default=())
    partial: bool = False
    gone_at: datetime | None = None

    @property
    def ref(self) -> DeviceRef:
        """The device's stable reference: source and record id."""
        return DeviceRef(self.source, self.record_id)


class DeviceRef(NamedTuple):
    """Which discovery record: its source and the source's record id."""

    source: str
    record_id: str

    def __str__(self) -> str:
        return f"{self.source}:{self.record_id}"


# --- text -----------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def clean(value: object) -> str | None:
    """Text as a source wrote it, stripped; empty, whitespace-only and None become None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def fold(value: str | None) -> str | None:
    """Case-, width- and space-folded text for comparing names (owner, location, model)."""
    if value is None:
        return None
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    return " ".join(value.split()).casefold() or None


# --- serial numbers and asset tags ------------------------------------------------------------

#: Placeholders written by BIOS vendors, imaging tools and exports instead of a serial or tag,
#: compared with everything but letters and digits removed, upper case.
JUNK_IDENTIFIERS = frozenset({
    "TOBEFILLEDBYOEM", "TOBEFILLEDBYOEMTOBEFILLEDBYOEM", "SYSTEMSERIALNUMBER",
    "CHASSISSERIALNUMBER", "BASEBOARDSERIALNUMBER", "DEFAULTSTRING", "DEFAULT", "NA", "NONE",
    "NULL", "NIL", "UNKNOWN", "NOTSPECIFIED", "NOTAPPLICABLE", "NOTAVAILABLE", "INVALID",
    "OEM", "SERIAL", "SERIALNUMBER", "SN", "ASSETTAG", "NOASSETTAG", "NOASSETINFORMATION",
    "ASSETTAGNUMBER", "EMPTY", "123456789", "1234567890", "0123456789", "12345678",
    "SYSTEMPRODUCTNAME", "TYPE1PRODUCTCONFIGID", "OEMSTRING", "XXXXXXXX", "NOTPROVIDED",
})

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def _is_junk_key(text: str) -> bool:
    """``is_junk_identifier`` of text already NFKC-normalised and upper-cased."""
    core = text if text.isascii() and text.isalnum() else _NOT_ALNUM.sub("", text)
    if len(core) < 3:  # "0", "-", "NA", "1"
        return True
    if core.count(core[0]) == len(core):  # "0000000000", "XXXXXXX", "11111111"
        return True
    return core in JUNK_IDENTIFIERS


def is_junk_identifier(value: str | None) -> bool:
    """True when ``value`` is a placeholder, not a real serial number or asset tag."""
    if value is None:
        return True
    return _is_junk_key(unicodedata.normalize("NFKC", value).upper())


def normalise_serial(value: str | None) -> str | None:
    """The matching key of a serial number, or None for a placeholder.

    Upper case, all whitespace removed; other punctuation kept (``970882174-8`` stays distinct
    from ``9708821748``). A leading ``S/N:`` or ``SN:`` label is dropped.
    """
    if value is None:
        return None
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    text = "".join(value.split()).upper()
    if text.startswith(("S/N", "SN:")):
        for label in ("S/N:", "SN:", "S/N"):
            if text.startswith(label) and len(text) > len(label):
                text = text[len(label):]
                break
    return None if _is_junk_key(text) else text


def normalise_asset_tag(value: str | None) -> str | None:
    """The matching key of an asset tag: like a serial (junk is None, case and spaces folded)."""
    return normalise_serial(value)


# --- MAC addresses ----------------------------------------------------------------------------

_MAC_SEPARATORS = str.maketrans("", "", " \t\r\n:.-")
_HEX12 = re.compile(r"[0-9a-f]{12}")


def normalise_mac(value: str | None) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from any common spelling, or None.

    None for text that is not 12 hex digits, for all-zero and broadcast addresses and for
    multicast addresses (the low bit of the first octet), which no single device owns.
    """
    if value is None:
        return None
    d = value.translate(_MAC_SEPARATORS).lower()
    if len(d) != 12 or not _HEX12.fullmatch(d):
        return None
    if d in ("000000000000", "ffffffffffff") or int(d[:2], 16) & 1:
        return None
    return f"{d[0:2]}:{d[2:4]}:{d[4:6]}:{d[6:8]}:{d[8:10]}:{d[10:12]}"


def normalise_macs(values: object) -> tuple[str, ...]:
    """Distinct canonical MACs of ``values`` (an iterable of text), in first-seen order."""
    seen: dict[str, None] = {}
    for value in values or ():  # type: ignore[attr-defined]
        mac = normalise_mac(value)
        if mac is not None:
            seen.setdefault(mac, None)
    return tuple(seen)


# --- host names -------------------------------------------------------------------------------

_JUNK_HOSTS = frozenset({"localhost", "localhost.localdomain", "unknown", "none", "null", "-"})
_NOT_A_DOMAIN = frozenset({"local", "localdomain", "lan", "home", "internal"})
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")


class HostName(NamedTuple):
    """A host name split for matching: ``short`` is the key; ``fqdn`` is None without a domain."""

    short: str
    fqdn: str | None


def normalise_hostname(value: str | None) -> HostName | None:
    """Lower-case short name and fully qualified name, or None for no usable name.

    ``DOMAIN\\host`` (NetBIOS) and a trailing dot are accepted; IPv4 addresses, ``localhost``,
    and display names with spaces ("iMac de Marie") are not host names. A last label of
    ``local`` (mDNS) or ``localdomain`` does not make a name fully qualified.
    """
    if value is None:
        return None
    words = value.rsplit("\\", 1)[-1].split()
    if len(words) != 1:  # empty, or a display name with spaces
        return None
    text = words[0].rstrip(".").lower()
    if not text or text in _JUNK_HOSTS or (text[0].isdigit() and _IPV4.fullmatch(text)):
        return None
    labels = [label for label in text.split(".") if label]
    if not labels:
        return None
    short = labels[0]
    if short in _JUNK_HOSTS:
        return None
    domain = labels[1:]
    if not domain or domain[-1] in _NOT_A_DOMAIN:
        return HostName(short, None)
    return HostName(short, ".".join(labels))


def hostname_key(value: str | None) -> str | None:
    """The matching key of a host name: its lower-case short name."""
    name = normalise_hostname(value)
    return name.short if name is not None else None


# --- hardware UUIDs ---------------------------------------------------------------------------

_UUID_NOISE = str.maketrans("", "", " \t\r\n{}-")
_HEX32 = re.compile(r"[0-9a-f]{32}")


def _dashed(digits: str) -> str:
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _swap_fields(d: str) -> str:
    """Swap the byte order of the first three fields (4, 2 and 2 bytes)."""
    return (d[6:8] + d[4:6] + d[2:4] + d[0:2] + d[10:12] + d[8:10] + d[14:16] + d[12:14]
            + d[16:])


def _uuid_digits(value: str | None) -> str | None:
    if value is None:
        return None
    digits = value.translate(_UUID_NOISE).lower()
    if digits.startswith("urn:uuid:"):
        digits = digits[len("urn:uuid:"):]
    if len(digits) != 32 or not _HEX32.fullmatch(digits) or digits.count(digits[0]) == 32:
        return None
    return digits


def uuid_forms(value: str | None) -> tuple[str, ...]:
    """The UUID as written and with its first three fields byte-swapped, lower-case, dashed.

    Empty for text that is not 32 hex digits, and for the all-zero and all-F placeholders.
    A UUID whose swapped form is itself gives one form.
    """
    digits = _uuid_digits(value)
    if digits is None:
        return ()
    given, swapped = _dashed(digits), _dashed(_swap_fields(digits))
    return (given,) if given == swapped else (given, swapped)


def uuid_key(value: str | None) -> str | None:
    """One key for a hardware UUID whichever byte order it was printed in (the smaller form)."""
    digits = _uuid_digits(value)
    if digits is None:
        return None
    return _dashed(min(digits, _swap_fields(digits)))


# --- cloud resource ids and owners ------------------------------------------------------------

def cloud_resource_key(value: str | None) -> str | None:
    """The matching key of a cloud resource id, lower case.

    An AWS ARN ``arn:aws:ec2:region:account:instance/i-0abc`` is keyed by its resource id
    (``i-0abc``), so that an ARN in one source matches the bare id in another. Azure resource
    ids (``/subscriptions/.../virtualMachines/vm1``) are keyed whole: their names are not unique.
    """
    text = clean(value)
    if text is None:
        return None
    text = text.lower()
    if text.startswith("arn:"):
        resource = text.split(":", 5)[-1]
        text = resource.rsplit("/", 1)[-1] if "/" in resource else resource
    return text or None


def owner_key(value: str | None) -> str | None:
    """A user compared without domain: ``CORP\\jsmith``, ``jsmith@corp.com``, ``JSmith`` agree."""
    text = fold(value)
    if text is None:
        return None
    text = text.rsplit("\\", 1)[-1]
    if "@" in text:
        text = text.split("@", 1)[0]
    return text.strip() or None
