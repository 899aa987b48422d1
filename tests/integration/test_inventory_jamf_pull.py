"""``apportion import jamf --api URL`` pulls every page from a (local, fake) Jamf Pro with the
credentials from the environment or the OS keyring (never a plain-text one), stores the
computers, and a second identical pull is a no-op."""

from __future__ import annotations

import json

import keyring
import pytest
from click.testing import CliRunner

from client.cli import cli
from tests.integration.test_inventory_jamf_api import PASSWORD, SECRET, FakeJamf
from tests.unit.test_secrets import PlaintextFileKeyring


def test_the_api_pull_stores_every_computer_once(
        app, monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeJamf(computers=5)
    try:
        monkeypatch.setenv("APPORTION_JAMF_USER", "api")
        monkeypatch.setenv("APPORTION_JAMF_PASSWORD", PASSWORD)
        runner = CliRunner()
        first = runner.invoke(cli, ["--db", app.url, "--json", "import", "jamf",
                                    "--api", server.url])
        assert first.exit_code == 0, first.output
        assert json.loads(first.output)["created"] == 5
        again = runner.invoke(cli, ["--db", app.url, "--json", "import", "jamf",
                                    "--api", server.url])
        assert json.loads(again.output)["already_imported"] is True
        monkeypatch.delenv("APPORTION_JAMF_PASSWORD")
        refused = runner.invoke(cli, ["--db", app.url, "import", "jamf", "--api", server.url])
        assert refused.exit_code != 0 and "APPORTION_JAMF_PASSWORD" in str(refused.exception)
    finally:
        server.close()
    with app.uow(read_only=True) as uow:
        assert uow.inventory.count_by_source() == {"jamf": 5}


class SystemKeyring(PlaintextFileKeyring):
    """Stands in for the desktop's Secret Service keyring (trusted; kept in memory here)."""


SystemKeyring.__module__, SystemKeyring.__qualname__ = "keyring.backends.SecretService", "Keyring"


@pytest.fixture
def jamf():
    server = FakeJamf(computers=3)
    yield server
    server.close()


@pytest.fixture
def restore_keyring():
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def pull(app, jamf: FakeJamf, *options: str):
    return CliRunner().invoke(cli, ["--db", app.url, "--json", "import", "jamf", "--api",
                                    jamf.url, *options])


def test_the_client_secret_comes_from_the_keyring_and_the_environment_overrides_it(
        app, jamf: FakeJamf, monkeypatch: pytest.MonkeyPatch, restore_keyring) -> None:
    for name in ("APPORTION_JAMF_CLIENT_ID", "APPORTION_JAMF_CLIENT_SECRET",
                 "APPORTION_JAMF_USER", "APPORTION_JAMF_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    backend = SystemKeyring()
    backend.set_password("apportion-jamf", "apportion@127.0.0.1", SECRET)
    keyring.set_keyring(backend)
    first = pull(app, jamf, "--client-id", "apportion")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["created"] == 3
    assert jamf.requests[0][2]["client_secret"] == [SECRET]
    # The environment wins over the keyring: a wrong secret there is refused by Jamf.
    monkeypatch.setenv("APPORTION_JAMF_CLIENT_SECRET", "wrong-" + SECRET)
    refused = pull(app, jamf, "--client-id", "apportion")
    assert refused.exit_code != 0
    assert "HTTP 401" in str(refused.exception) and SECRET not in str(refused.exception)
    assert jamf.requests[-1][2]["client_secret"] == ["wrong-" + SECRET]


def test_a_plaintext_keyring_is_refused_and_the_variable_named(
        app, jamf: FakeJamf, monkeypatch: pytest.MonkeyPatch, restore_keyring) -> None:
    monkeypatch.delenv("APPORTION_JAMF_PASSWORD", raising=False)
    plaintext = PlaintextFileKeyring()
    plaintext.set_password("apportion-jamf", "api@127.0.0.1", PASSWORD)
    keyring.set_keyring(plaintext)
    refused = pull(app, jamf, "--user", "api")
    assert refused.exit_code != 0
    message = str(refused.exception)
    assert "not trusted with secrets" in message and "APPORTION_JAMF_PASSWORD" in message
    assert jamf.requests == []  # nothing was sent with a secret from a plain-text store
