"""Saved, named column mappings for register loads, and the register load itself.

An ERP or procurement system exports its assets with its own column names ("Anlage",
"Inventory number", "Kostenstelle"). A mapping says once which column holds which register
field, and is saved under a name in the database (with an audit event), so that the monthly
load is ``apportion import assets-csv FILE --mapping sap-fixed-assets``. Fields a file does not
carry can have a default (``kind = laptop``, ``currency = EUR``).

Loading goes through :func:`ledger.services.assets.register_assets` (all or nothing; the same
file again changes nothing), and the data-quality rules are evaluated on the loaded assets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ledger.access import Permission
from ledger.asset import Asset
from ledger.errors import InputError, InputErrors, NotFoundError
from ledger.ports import UnitOfWork
from ledger.quality import Violation
from ledger.reference import check_code
from ledger.services.assets import register_assets
from ledger.services.base import Changes, authorize, record_change
from ledger.staging import Staged

#: Fields a register asset cannot be made without: each needs a column or a default.
REQUIRED_FIELDS = ("tag", "name", "kind")


def register_fields() -> tuple[str, ...]:
    """The register fields a mapping may fill (the asset's constructor arguments)."""
    return tuple(f.name for f in dataclasses.fields(Asset) if f.init)


@dataclass(frozen=True, slots=True)
class AssetMapping:
    """Which column of a file holds which register field.

    Attributes:
        name: the mapping's name, as ``--mapping NAME`` gives it.
        columns: register field -> the file's column header (matched ignoring case and
            surrounding spaces).
        defaults: register field -> the value to use when the file has no such column or the
            cell is empty.
        sheet: for XLSX files, the worksheet to read (None: the first).
    """

    name: str
    columns: Mapping[str, str]
    defaults: Mapping[str, str] = field(default_factory=dict)
    sheet: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", check_code(self.name, field="name"))
        errors: list[InputError] = []
        known = register_fields()
        for where, entries in (("column", self.columns), ("default", self.defaults)):
            for name, value in entries.items():
                if name not in known:
                    errors.append(InputError(f"unknown register field in a {where}; fields are "
                                             f"{', '.join(known)}", field=name))
                if not str(value).strip():
                    errors.append(InputError(f"the {where} is empty", field=name))
        headers: dict[str, str] = {}
        for name, header in self.columns.items():
            folded = str(header).strip().casefold()
            if folded in headers:
                errors.append(InputError(f"column {header!r} is mapped to both "
                                         f"{headers[folded]} and {name}", field=name))
            headers[folded] = name
        for name in REQUIRED_FIELDS:
            if name not in self.columns and name not in self.defaults:
                errors.append(InputError("a register asset needs this field: map a column to "
                                         "it or give a default", field=name))
        if errors:
            raise InputErrors(errors, source=f"mapping {self.name}")
        object.__setattr__(self, "columns", {k: str(v).strip() for k, v in self.columns.items()})
        object.__setattr__(self, "defaults", {k: str(v).strip()
                                              for k, v in self.defaults.items()})


def save_mapping(*, uow: UnitOfWork, mapping: AssetMapping, reason: str | None = None) -> Changes:
    """Create or replace the mapping of that name; saving the same mapping changes nothing."""
    authorize(uow, Permission.MANAGE_ASSETS, doing="save column mappings")
    before = uow.asset_mappings.get(mapping.name)
    if before == mapping:
        return Changes(frozenset({"asset_mapping"}), unchanged=1)
    uow.asset_mappings.save(mapping, at=uow.clock.now(), by=uow.actor.login)
    record_change(uow, action=f"asset_mapping.{'create' if before is None else 'update'}",
                  entity="asset_mapping", key=mapping.name, before=before, after=mapping,
                  reason=reason)
    return Changes(frozenset({"asset_mapping"}), created=int(before is None),
                   updated=int(before is not None))


def list_mappings(*, uow: UnitOfWork) -> list[AssetMapping]:
    authorize(uow, Permission.READ, doing="list column mappings")
    return uow.asset_mappings.list()


def get_mapping(*, uow: UnitOfWork, name: str) -> AssetMapping:
    authorize(uow, Permission.READ, doing="read column mappings")
    mapping = uow.asset_mappings.get(name)
    if mapping is None:
        raise NotFoundError(f"there is no column mapping {name!r}; save one with: apportion "
                            "mappings save NAME --column FIELD=Header ...")
    return mapping


@dataclass(frozen=True, slots=True)
class RegisterLoad:
    """What a register load did: the changes, and the quality violations of the loaded assets."""

    changes: Changes
    violations: tuple[Violation, ...]


def load_register(*, uow: UnitOfWork, assets: Sequence[Staged[Asset]],
                  reason: str | None = None) -> RegisterLoad:
    """Create or update register assets (all or none), then check them against the quality rules.

    Violations do not stop the load (the register is better with the row than without it);
    they are reported so that the asset manager can fix the source.
    """
    from ledger.services.quality import check_assets  # quality reads mappings' neighbours

    changes = register_assets(uow=uow, assets=assets, reason=reason)
    violations = check_assets(uow=uow, assets=[item.value for item in assets])
    return RegisterLoad(changes, tuple(violations))
