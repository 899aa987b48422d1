"""Wiring ERP profiles to gateway adapters (the composition root's ERP part)."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from client.secrets import secret_for
from ledger.erp import ErpProfile
from ledger.errors import InputError
from ledger.ports import ErpGateway


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
    """The adapter's settings for ``profile``; raises InputError naming a bad setting."""
    if profile.kind == "sap-soap":
        from connectors.erp.sap_soap import SapSoapSettings

        return _settings(SapSoapSettings, {"base_url": profile.url,
                                           "username": profile.username or ""},
                         profile.settings)
    if profile.kind == "bc-rest":
        from connectors.erp.business_central import BusinessCentralSettings

        return _settings(BusinessCentralSettings, {"base_url": profile.url,
                                                   "client_id": profile.username or ""},
                         profile.settings)
    raise InputError(f"unknown ERP kind {profile.kind!r}; use sap-soap or bc-rest", field="kind")


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
