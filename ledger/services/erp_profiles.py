"""Use cases for ERP connection profiles (no secrets: those stay in the OS keyring)."""

from __future__ import annotations

from urllib.parse import urlparse

from ledger.access import Permission
from ledger.erp import ERP_KINDS, ErpProfile
from ledger.errors import InputError, NotFoundError
from ledger.ports import UnitOfWork
from ledger.reference import check_code
from ledger.services.base import Changes, authorize, record_change


def save_profile(*, uow: UnitOfWork, profile: ErpProfile) -> Changes:
    authorize(uow, Permission.MANAGE_REFERENCE_DATA, doing="configure ERP connections")
    check_code(profile.name, field="name")
    if profile.kind not in ERP_KINDS:
        raise InputError(f"unknown ERP kind {profile.kind!r}; use {' or '.join(ERP_KINDS)}",
                         field="kind", value=profile.kind)
    url = urlparse(profile.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InputError("the ERP URL must be http(s)://HOST[:PORT]", field="url",
                         value=profile.url)
    if url.scheme == "http" and url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise InputError("plain http is only allowed to this machine (the sandbox); use https",
                         field="url", value=profile.url)
    before = uow.erp_profiles.get(profile.name)
    if before == profile:
        return Changes(frozenset({"erp_profile"}), unchanged=1)
    uow.erp_profiles.save(profile)
    record_change(uow, action=f"erp_profile.{'create' if before is None else 'update'}",
                  entity="erp_profile", key=profile.name, before=before, after=profile)
    return Changes(frozenset({"erp_profile"}), created=int(before is None),
                   updated=int(before is not None))


def get_profile(*, uow: UnitOfWork, name: str | None = None) -> ErpProfile:
    """The named profile, or the only one when ``name`` is None."""
    authorize(uow, Permission.READ, doing="read ERP connections")
    if name is not None:
        profile = uow.erp_profiles.get(name)
        if profile is None:
            raise NotFoundError(f"no ERP profile {name}; see: apportion erp list")
        return profile
    profiles = uow.erp_profiles.list()
    if len(profiles) != 1:
        raise InputError("name the ERP with --erp NAME" if profiles else
                         "no ERP is configured; add one with: apportion erp add NAME --kind "
                         "sap-soap --url URL", field="erp")
    return profiles[0]


def list_profiles(*, uow: UnitOfWork) -> list[ErpProfile]:
    authorize(uow, Permission.READ, doing="read ERP connections")
    return uow.erp_profiles.list()
