"""Wiring ERP profiles to gateway adapters (the composition root's ERP part), and the master
data sync (``apportion erp sync NAME``)."""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any

from client.secrets import secret_for
from ledger.access import Permission
from ledger.erp import ErpProfile
from ledger.errors import InputError
from ledger.ports import ErpGateway
from ledger.reference import CostCentre, GlAccount
from ledger.services.base import Changes, authorize
from ledger.staging import Staged

if TYPE_CHECKING:
    from client.bootstrap import App
    from connectors.erp.master_data import MasterData


def _coerce(value: object, kind: Any, name: str) -> object:
    """A setting given as text (``--setting operation_timeout=5``) in the field's type."""
    if not isinstance(value, str):
        return value
    text = str(kind)
    try:
        if "bool" in text and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        if "float" in text:
            return float(value)
        if "int" in text:
            return int(value)
    except ValueError:
        raise InputError(f"setting {name} must be a number", field=name, value=value) from None
    return value


def _settings(cls: type, fixed: dict[str, object], given: dict[str, object]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    values = dict(fixed)
    for name, value in given.items():
        if name not in fields or name in fixed:
            allowed = ", ".join(sorted(fields - set(fixed)))
            raise InputError(f"unknown setting {name}; settings: {allowed}", field=name)
        values[name] = _coerce(value, hints[name], name)
    try:
        return cls(**values)
    except TypeError as exc:
        raise InputError(f"incomplete ERP settings: {exc}", field="setting") from None


def settings_for(profile: ErpProfile) -> Any:
    """The adapter's settings for ``profile``; raises InputError naming a bad setting.

    A SAP profile may also carry the master-data settings (``cost_centre_path``, ``language``,
    ``account_types`` ...: :data:`connectors.erp.master_data.SAP_MASTER_DATA_OPTIONS`); they
    are checked here and left out of the SOAP settings.
    """
    if profile.kind == "sap-soap":
        from connectors.erp.sap_soap import SapSoapSettings

        soap_settings = _settings(
            SapSoapSettings, {"base_url": profile.url, "username": profile.username or ""},
            _without_master_data_options(profile))
        _sap_master_data_settings(profile, soap_settings)
        return soap_settings
    if profile.kind == "bc-rest":
        from connectors.erp.business_central import BusinessCentralSettings
        from connectors.erp.master_data import parse_account_types

        settings = _settings(BusinessCentralSettings, {"base_url": profile.url,
                                                       "client_id": profile.username or ""},
                             profile.settings)
        parse_account_types(settings.account_types)
        return settings
    raise InputError(f"unknown ERP kind {profile.kind!r}; use sap-soap or bc-rest", field="kind")


def _without_master_data_options(profile: ErpProfile) -> dict[str, object]:
    from connectors.erp.master_data import SAP_MASTER_DATA_OPTIONS

    return {k: v for k, v in profile.settings.items() if k not in SAP_MASTER_DATA_OPTIONS}


def _sap_master_data_settings(profile: ErpProfile, soap_settings: Any) -> Any:
    from connectors.erp.master_data import (
        SAP_MASTER_DATA_OPTIONS,
        SapMasterDataSettings,
        parse_account_types,
    )

    hints = typing.get_type_hints(SapMasterDataSettings)
    options = {k: _coerce(v, hints[k], k) for k, v in profile.settings.items()
               if k in SAP_MASTER_DATA_OPTIONS}
    for name in ("chart_of_accounts", "controlling_area"):
        if options.get(name) == "":
            options[name] = None
    settings = SapMasterDataSettings.from_connection(soap_settings, **options)
    parse_account_types(settings.account_types)
    return settings


def gateway_for(profile: ErpProfile, secret: str | None = None) -> Any:
    """The gateway for ``profile``, with its secret from the keyring unless given."""
    settings = settings_for(profile)
    secret = secret if secret is not None else secret_for(profile.name, profile.username)
    if profile.kind == "sap-soap":
        from connectors.erp.sap_soap import ZeepSapJournalGateway

        return ZeepSapJournalGateway(settings, password=secret)
    from connectors.erp.business_central import HttpxBusinessCentralGateway

    return HttpxBusinessCentralGateway(settings, client_secret=secret)


def close(gateway: ErpGateway) -> None:
    closer = getattr(gateway, "close", None)
    if closer is not None:
        closer()


# -- master data --------------------------------------------------------------------------------


def master_data_reader_for(profile: ErpProfile, secret: str | None = None) -> Any:
    """The master-data reader for ``profile`` (close it after use), with its secret from the
    keyring unless given."""
    settings = settings_for(profile)
    secret = secret if secret is not None else secret_for(profile.name, profile.username)
    if profile.kind == "sap-soap":
        from connectors.erp.master_data import SapMasterDataReader

        return SapMasterDataReader(_sap_master_data_settings(profile, settings), password=secret)
    from connectors.erp.master_data import BusinessCentralMasterDataReader

    return BusinessCentralMasterDataReader(settings, client_secret=secret)


def read_master_data(profile: ErpProfile, secret: str | None = None) -> MasterData:
    """The ERP's company codes, and the cost centres and GL accounts of the profile's company.

    Raises the ERP errors of :mod:`ledger.erp` when the ERP cannot be read, and InputError
    (InputErrors for several) naming the ERP record that cannot become a domain value.
    """
    reader = master_data_reader_for(profile, secret)
    try:
        return reader.read(profile.company_code)
    finally:
        reader.close()


def sync_master_data(app: App, profile_name: str, *, secret: str | None = None) -> Changes:
    """Read the ERP's cost centres and GL accounts and store them, all or nothing.

    The ERP is read first, outside any database transaction; then one unit of work writes
    through ``reference_data.import_cost_centres`` and ``import_accounts`` (audited) and
    commits both or neither. Syncing the same data again changes nothing. Nothing is deleted:
    what the ERP no longer returns stays. Merge rules, because the ERP knows less than
    Apportion about some fields:

    - cost centres: the name always comes from the ERP; validity dates from an ERP that keeps
      them (SAP; Business Central does not, so local dates stay); business unit and owner from
      the ERP when it gives one, else the local values stay. A parent the ERP names is kept
      when it is known (in the database or in the same sync), else None; when the ERP names
      none (SAP and Business Central here never do) an existing cost centre keeps its
      parent and a new one has none.
    - accounts: the name comes from the ERP; the type of an existing account stays (Apportion's
      ``recovery`` and ``accumulated_depreciation`` are roles no ERP reports); a new account
      gets the type mapped from the ERP (see ``account_types``).

    Raises PermissionDeniedError before the ERP is read when the user may not manage
    reference data; InputError / InputErrors naming the ERP record that cannot map.
    """
    from ledger.services import reference_data
    from ledger.services.erp_profiles import get_profile

    with app.uow(read_only=True) as uow:
        authorize(uow, Permission.MANAGE_REFERENCE_DATA, doing="sync master data from the ERP")
        profile = get_profile(uow=uow, name=profile_name)
    data = read_master_data(profile, secret)
    reason = f"master data sync from ERP {profile.name} ({data.source})"
    with app.uow() as uow:
        existing_centres = {c.code: c for c in reference_data.list_cost_centres(uow=uow)}
        existing_accounts = {a.number: a for a in reference_data.list_accounts(uow=uow)}
        centres = merge_cost_centres(data.cost_centres, existing_centres,
                                     erp_validity=data.cost_centre_validity)
        accounts = merge_accounts(data.accounts, existing_accounts)
        source = f"ERP {profile.name}"
        changes = reference_data.import_cost_centres(
            uow=uow, cost_centres=[Staged(c, f"{source} cost centre {c.code}") for c in centres],
            reason=reason)
        changes += reference_data.import_accounts(
            uow=uow, accounts=[Staged(a, f"{source} account {a.number}") for a in accounts],
            reason=reason)
        uow.commit()
    return changes


def merge_cost_centres(incoming: typing.Iterable[CostCentre],
                       existing: dict[str, CostCentre], *,
                       erp_validity: bool) -> list[CostCentre]:
    """The ERP's cost centres merged with the stored ones (see :func:`sync_master_data`)."""
    incoming = list(incoming)
    known = set(existing) | {c.code for c in incoming}
    merged = []
    for centre in incoming:
        before = existing.get(centre.code)
        if centre.parent is not None:
            parent = centre.parent if centre.parent in known else None
        else:
            parent = before.parent if before is not None else None
        merged.append(dataclasses.replace(
            centre,
            parent=parent,
            business_unit=centre.business_unit or (before.business_unit if before else None),
            owner=centre.owner or (before.owner if before else None),
            valid_from=(centre.valid_from if erp_validity or before is None
                        else before.valid_from),
            valid_to=centre.valid_to if erp_validity or before is None else before.valid_to,
        ))
    return merged


def merge_accounts(incoming: typing.Iterable[GlAccount],
                   existing: dict[str, GlAccount]) -> list[GlAccount]:
    """The ERP's accounts with the stored type of those that exist already."""
    return [dataclasses.replace(a, type=existing[a.number].type) if a.number in existing else a
            for a in incoming]
