"""ERP secrets: in the OS keyring, or APPORTION_ERP_SECRET for headless use; never elsewhere.

keyring silently falls back to a plaintext file on a headless Linux box when keyrings.alt is
installed; that backend is refused here (RELIABILITY.md promise 12), as is any backend not on
the allow-list. Secrets never go into the database, config files or logs.
"""

from __future__ import annotations

import os

import keyring
import keyring.errors

from ledger.errors import ApportionError

SERVICE = "apportion-erp"
ENV_SECRET = "APPORTION_ERP_SECRET"  # noqa: S105 - the variable's name, not a secret

#: Backends that keep secrets encrypted by the operating system (and the null backend, which
#: stores nothing, for tests and for machines that use APPORTION_ERP_SECRET only).
ALLOWED_BACKENDS = (
    "keyring.backends.SecretService.Keyring",
    "keyring.backends.libsecret.Keyring",
    "keyring.backends.kwallet.DBusKeyring",
    "keyring.backends.macOS.Keyring",
    "keyring.backends.Windows.WinVaultKeyring",
    "keyring.backends.chainer.ChainerBackend",
    "keyring.backends.null.Keyring",
)


class SecretStoreError(ApportionError):
    """No safe place to keep or find an ERP secret."""


#: Backends that keep nothing: secrets must then come from APPORTION_ERP_SECRET.
KEEPS_NOTHING = ("keyring.backends.null", "keyring.backends.fail")


def _backend() -> keyring.backend.KeyringBackend:
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    if type(backend).__module__ == "keyring.backends.fail":
        return backend  # no keyring at all on this machine (a server): nothing is kept
    if name not in ALLOWED_BACKENDS:
        raise SecretStoreError(
            f"the keyring backend {name} is not trusted with secrets (it may store them in "
            f"plain text); use the system keyring, or set {ENV_SECRET} for headless use")
    if name == "keyring.backends.chainer.ChainerBackend":
        for inner in getattr(backend, "backends", []):
            inner_name = f"{type(inner).__module__}.{type(inner).__qualname__}"
            if inner_name not in ALLOWED_BACKENDS:
                raise SecretStoreError(f"the keyring chain includes {inner_name}, which is not "
                                       "trusted with secrets")
    return backend


def store_secret(profile: str, username: str | None, secret: str) -> bool:
    """Keep ``secret`` for ``profile`` in the OS keyring; False when the backend keeps nothing
    (the null backend), so the caller can tell the user to use APPORTION_ERP_SECRET."""
    backend = _backend()
    if type(backend).__module__ in KEEPS_NOTHING:
        return False
    try:
        backend.set_password(SERVICE, f"{profile}:{username or ''}", secret)
    except keyring.errors.KeyringError as exc:
        raise SecretStoreError(f"the keyring refused the secret: {exc}") from None
    return True


def read_secret(service: str, user: str, *, missing: str) -> str:
    """The secret kept in the OS keyring under ``service``/``user``.

    Refuses untrusted (plain-text) backends; raises SecretStoreError ending in ``missing`` (what
    the user can do instead) when no keyring exists on this machine or it holds no such secret.
    """
    backend = _backend()
    if type(backend).__module__ in KEEPS_NOTHING:
        raise SecretStoreError(f"no system keyring is available on this machine; {missing}")
    try:
        secret = backend.get_password(service, user)
    except keyring.errors.KeyringError as exc:
        raise SecretStoreError(f"the keyring could not be read: {exc}") from None
    if not secret:
        raise SecretStoreError(f"no secret in the keyring for {user}; {missing}")
    return secret


def secret_for(profile: str, username: str | None) -> str:
    """The secret for ``profile``: ``APPORTION_ERP_SECRET`` if set, else the OS keyring."""
    from_env = os.environ.get(ENV_SECRET)
    if from_env:
        return from_env
    return read_secret(SERVICE, f"{profile}:{username or ''}",
                       missing=f"store it again with apportion erp add, or set {ENV_SECRET} "
                               f"to the secret of ERP profile {profile}")
