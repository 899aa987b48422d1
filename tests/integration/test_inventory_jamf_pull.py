"""``apportion import jamf --api URL`` pulls every page from a (local, fake) Jamf Pro with the
credentials from the environment, stores the computers, and a second identical pull is a no-op."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from client.cli import cli
from tests.integration.test_inventory_jamf_api import PASSWORD, FakeJamf


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
        assert refused.exit_code != 0 and "APPORTION_JAMF_USER" in str(refused.exception)
    finally:
        server.close()
    with app.uow(read_only=True) as uow:
        assert uow.inventory.count_by_source() == {"jamf": 5}
