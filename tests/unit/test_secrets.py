"""ERP secrets stay in a trusted keyring or the environment, never in a plaintext store."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend

from client.secrets import SecretStoreError, secret_for, store_secret


class PlaintextFileKeyring(KeyringBackend):
    """Stands in for keyrings.alt's plaintext file backend: it would 'work', in clear text."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.kept.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.kept[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.kept.pop((service, username), None)


@pytest.fixture
def plaintext_keyring():
    previous = keyring.get_keyring()
    backend = PlaintextFileKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_a_plaintext_keyring_is_refused_and_keeps_nothing(plaintext_keyring, monkeypatch) -> None:
    monkeypatch.delenv("APPORTION_ERP_SECRET", raising=False)
    with pytest.raises(SecretStoreError, match="not trusted with secrets"):
        store_secret("sap", "demo", "canary-123")
    assert plaintext_keyring.kept == {}
    with pytest.raises(SecretStoreError, match="not trusted"):
        secret_for("sap", "demo")


def test_the_environment_secret_serves_headless_machines(monkeypatch) -> None:
    monkeypatch.setenv("APPORTION_ERP_SECRET", "from-env")
    assert secret_for("sap", "demo") == "from-env"


def test_with_no_keyring_and_no_variable_the_user_is_told_what_to_do(monkeypatch) -> None:
    monkeypatch.delenv("APPORTION_ERP_SECRET", raising=False)
    assert store_secret("sap", "demo", "x") is False  # the null backend keeps nothing
    with pytest.raises(SecretStoreError, match="set APPORTION_ERP_SECRET"):
        secret_for("sap", "demo")
