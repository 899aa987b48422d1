"""Data-quality rules: a rules file is checked whole, and every asset breaking a rule is named
with the attribute and what to fix."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.asset import Asset, AssetKind
from ledger.errors import InputErrors
from ledger.quality import evaluate, parse_rules_toml

RULES = """
[kinds."*"]
required = ["cost_centre", "location"]
allowed.status = ["in_service", "in_stock"]

[kinds.server]
required = ["serial_number"]
allowed.depreciation_status = ["booked"]
allowed.location = ["DC1", "DC2"]
"""


def _asset(tag: str, kind: AssetKind = AssetKind.SERVER, **fields) -> Asset:
    values = {"name": tag, "kind": kind, "cost_centre": "6010", "location": "DC1",
              "serial_number": "SN1", "purchase_cost": Decimal("1.00"), **fields}
    return Asset(tag=tag, **values)


def test_a_clean_register_has_no_violations() -> None:
    rules = parse_rules_toml(RULES)
    assert evaluate(rules, [_asset("SRV-1")], booked={"SRV-1"}) == []


def test_every_broken_rule_is_reported_per_asset_and_attribute() -> None:
    rules = parse_rules_toml(RULES)
    assets = [
        _asset("SRV-2", serial_number=None, location="Basement"),  # two server rules
        _asset("LT-1", AssetKind.LAPTOP, cost_centre=None, location="Basement",
               status="retired"),  # laptops may sit anywhere, but need a cost centre
    ]
    found = [(v.asset_tag, v.attribute, v.rule, v.value)
             for v in evaluate(rules, assets, booked={"SRV-2"})]
    assert found == [
        ("LT-1", "cost_centre", "required", None),
        ("LT-1", "status", "allowed", "retired"),
        ("SRV-2", "location", "allowed", "Basement"),
        ("SRV-2", "serial_number", "required", None),
    ]


def test_assets_in_an_ignored_status_are_not_checked() -> None:
    rules = parse_rules_toml('ignore_status = ["disposed"]\n' + RULES)
    gone = _asset("SRV-9", status="disposed", location=None)
    assert evaluate(rules, [gone], booked={"SRV-9"}) == []
    assert rules.to_dict()["ignore_status"] == ["disposed"]
    with pytest.raises(InputErrors, match="ignore_status"):
        parse_rules_toml('ignore_status = ["sold"]\n' + RULES)


def test_the_depreciation_status_comes_from_the_books() -> None:
    rules = parse_rules_toml(RULES)
    [violation] = evaluate(rules, [_asset("SRV-3")], booked=set())
    assert (violation.attribute, violation.value) == ("depreciation_status", "none")


def test_a_rules_file_with_mistakes_is_refused_naming_each() -> None:
    text = """
[kinds.toaster]
required = ["location"]
[kinds.server]
required = ["colour"]
allowed.status = []
"""
    with pytest.raises(InputErrors) as caught:
        parse_rules_toml(text, source="rules.toml")
    messages = [str(e) for e in caught.value.errors]
    assert any("kinds.toaster" in m and "unknown asset kind" in m for m in messages)
    assert any("'colour'" in m and "unknown attribute" in m for m in messages)
    assert any("'status'" in m and "non-empty list" in m for m in messages)
    assert all(m.startswith("rules.toml") for m in messages)


def test_the_shipped_default_rules_parse() -> None:
    from ledger.services.quality import default_rules

    rules = default_rules()
    assert "cost_centre" in rules.for_kind("laptop").required
    assert rules.for_kind("laptop").allowed["depreciation_status"] == ("booked",)
