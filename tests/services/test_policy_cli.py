"""``apportion policy`` and ``apportion reviews`` as a script uses them: one JSON document each,
the export importable again unchanged, activation by a controller only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from client.cli import cli
from tests.services.test_policy_runs import PolicyCompany, policy


def apportion(company, login: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--db", company.app.url, *args],
                                env={"APPORTION_USER": login}, catch_exceptions=code != 0)
    assert result.exit_code == code, result.output
    return result.output


def test_import_export_activate_show_ownership_and_reviews(app, tmp_path: Path) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL the CLI acts as the database login, not APPORTION_USER")
    company = PolicyCompany(app)
    (tmp_path / "policy.toml").write_text(policy(), encoding="utf-8")
    saved = json.loads(apportion(company, "carol", "policy", "import",
                                 str(tmp_path / "policy.toml"), "--reason", "first", "--json"))
    assert saved["created"] == 1
    apportion(company, "carol", "policy", "activate", "1", code=1)  # an analyst may not
    with company.app.uow(read_only=True) as uow:
        assert uow.policies.active() is None
    json.loads(apportion(company, "dave", "policy", "activate", "1", "--json"))
    shown = json.loads(apportion(company, "carol", "policy", "show", "--json"))
    assert (shown["version"], shown["status"]) == (1, "active")
    exported = apportion(company, "carol", "policy", "export", "-o",
                         str(tmp_path / "out.toml"))
    assert "Wrote policy version 1" in exported
    again = json.loads(apportion(company, "carol", "policy", "import",
                                 str(tmp_path / "out.toml"), "--json"))
    assert (again["created"], again["unchanged"]) == (0, 1)
    owners = json.loads(apportion(company, "carol", "policy", "ownership", "--json"))
    assert {a["asset"]: a["owner"] for a in owners["assets"]} == {
        "LT-9": "business_unit", "SV-1": "it", "SV-2": "it"}
    listed = json.loads(apportion(company, "carol", "reviews", "list", "--json"))
    assert {r["subject"] for r in listed["reviews"]} >= {"ruleset:it", "pool:staff"}
    done = json.loads(apportion(company, "dave", "reviews", "complete", "ruleset:it",
                                "--outcome", "no_change", "--notes", "all fine", "--json"))
    assert done["outcome"] == "no_change" and len(done["checklist"]) == 4
