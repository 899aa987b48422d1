"""The policy value: its TOML form, the charging mode by date, the granularity fallback, the
masking rule and the review calendar arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.errors import InputErrors
from ledger.policy import (
    Granularity,
    Mode,
    choose_level,
    content_hash,
    mask_explanation,
    parse_policy,
    to_toml,
)
from ledger.reviews import add_months, rising

DEFAULT = Path(__file__).resolve().parents[2] / "resources" / "policy" / "default.toml"


def test_the_shipped_default_parses_and_its_canonical_text_round_trips() -> None:
    policy = parse_policy(DEFAULT.read_text(encoding="utf-8"), source="default.toml")
    assert policy.capitalisation_threshold == Decimal("2500.00")
    assert parse_policy(to_toml(policy)) == policy
    assert content_hash(parse_policy(to_toml(policy))) == content_hash(policy)
    assert policy.capitalised(Decimal("2500.00")) and not policy.capitalised(Decimal("2499.99"))
    assert not policy.capitalised(None)
    assert policy.owner_of_kind("laptop").owner.value == "business_unit"
    assert policy.owner_of_kind("server").owner.value == "it"
    assert policy.tier_of("server", "prod").pool == "tier1"
    assert policy.tier_of("server", "non_prod") is None


def test_every_problem_is_reported_at_once_naming_section_and_field() -> None:
    text = """
[policy]
name = "p"
effective_from = "2026-01-01"

[scope]
capitalisation_threshold = "lots"

[scope.materiality]
cloud = "5"

[[charging]]
cost_centre = "2010"
mode = "maybe"
change_on = 2027-01-01
"""
    with pytest.raises(InputErrors) as caught:
        parse_policy(text, source="p.toml")
    found = {(e.row, e.field) for e in caught.value.errors}
    assert found == {("[policy]", "effective_from"), ("[scope]", "capitalisation_threshold"),
                     ("[scope]", "overhead_pool"), ("charging[1]", "mode"),
                     ("charging[1]", "change_on")}
    assert all(e.source == "p.toml" for e in caught.value.errors)


def test_the_mode_changes_on_its_planned_date_and_a_cost_centre_beats_its_unit() -> None:
    policy = parse_policy("""
[policy]
name = "p"
effective_from = 2026-01-01

[[charging]]
business_unit = "SALES"
mode = "showback"

[[charging]]
cost_centre = "2010"
mode = "shadow"
change_on = 2027-01-01
then = "chargeback"
""")
    assert policy.mode_of("2010", "SALES", date(2026, 12, 1)) is Mode.SHADOW
    assert policy.mode_of("2010", "SALES", date(2027, 1, 1)) is Mode.CHARGEBACK
    assert policy.mode_of("2020", "SALES", date(2027, 1, 1)) is Mode.SHOWBACK
    assert policy.mode_of("1010", "MFG", date(2027, 1, 1)) is None


def test_granularity_falls_back_to_the_next_coarser_metered_level_with_a_warning() -> None:
    entry = Granularity("licences", "user", (("device", "devices"), ("user", "seats")))
    assert choose_level(entry, {"seats", "devices"}).used == "user"
    fallback = choose_level(entry, {"devices"})
    assert (fallback.used, fallback.target) == ("device", "user")
    assert "seats" in fallback.warning and "per device instead of per user" in fallback.warning
    assert choose_level(entry, set()).used == "department"


def test_masking_keeps_amounts_and_shares_and_drops_rows_for_roles_not_named() -> None:
    policy = parse_policy("""
[policy]
name = "p"
effective_from = 2026-01-01

[[sensitive]]
pool = "staff"
roles = ["controller"]
""")
    data = {"totals": {"USD": "10"}, "items": [
        {"pool": "staff", "amount": "7", "share": "0.7", "note": "n", "sources": [{"a": 1}]},
        {"pool": "cloud", "amount": "3", "share": "0.3", "note": "n", "sources": [{"b": 2}]}]}
    analyst = mask_explanation(data, policy, ["cost_analyst"])
    assert analyst["items"][0]["sources"] == [] and analyst["items"][0]["masked"]
    assert (analyst["items"][0]["amount"], analyst["items"][0]["share"]) == ("7", "0.7")
    assert analyst["items"][1]["sources"] == [{"b": 2}]
    assert mask_explanation(data, policy, ["controller"])["items"] == data["items"]


def test_review_dates_and_rising_unallocated_shares() -> None:
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rising([("2026-09", {"cloud": 0.1, "staff": 0.2}),
                   ("2026-10", {"cloud": 0.15, "staff": 0.2, "new": 0.01})]) == ["cloud", "new"]
    assert rising([("2026-10", {"cloud": 0.5})]) == []
