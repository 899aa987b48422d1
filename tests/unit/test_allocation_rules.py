"""Rule sets in TOML: what finance writes, the errors it gets, the canonical form and the diff."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.allocation import (
    Chargeback,
    CostBasis,
    IdlePolicy,
    Method,
    content_hash,
    diff,
    load_ruleset,
    parse_ruleset,
    to_toml,
)
from ledger.errors import InputError

DEMO = Path(__file__).resolve().parents[2] / "resources" / "rules" / "demo.toml"

BASE = """
# a comment finance wrote
[ruleset]
name = "it-chargeback"
version = 3
effective_from = 2026-01-01
effective_to = 2026-12-31
cost_basis = "BilledCost"
method = "reciprocal"
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"

[tag_keys]
cost_centre = ["CostCenter", "cost-center"]

[[pools]]
id = "cloud"
name = "Public cloud"
owner = "6010"
chargeback = "subsidy"
subsidy_percent = "12.5"
idle = "owner"
idle_owner = "5010"
idle_penalty_percent = "10"

[[pools]]
id = "network"
owner = "6050"

[[mapping]]
id = "M10"
description = "cost centre tag"
when = { provider = ["AWS", "Microsoft"], tags = { CostCenter = "*" } }
cost_centre_from_tag = "cost-center"

[[mapping]]
id = "M20"
when.service_name = "*transfer*"
pool = "network"
shared = true

[[shared]]
id = "S20"
pool = "network"
percent = { "1010" = "33.3", "2010" = "33.3", "pool:cloud" = "33.4" }

[[shared]]
id = "S30"
pool = "cloud"
driver = "headcount"
targets = ["1010", "2010", "5010"]
"""


def parse(text: str = BASE):
    return parse_ruleset(text, source="rules.toml")


def error_of(text: str) -> InputError:
    with pytest.raises(InputError) as raised:
        parse(text)
    return raised.value


def test_a_rule_file_reads_into_frozen_values() -> None:
    ruleset = parse()
    assert ruleset.label == "it-chargeback@3"
    assert (ruleset.effective_from, ruleset.effective_to) == (date(2026, 1, 1), date(2026, 12, 31))
    assert ruleset.cost_basis is CostBasis.BILLED and ruleset.method is Method.RECIPROCAL
    cloud = ruleset.pool("cloud")
    assert cloud.chargeback is Chargeback.SUBSIDY and cloud.subsidy_percent == Decimal("12.5")
    assert cloud.idle is IdlePolicy.OWNER and cloud.idle_owner == "5010"
    first = ruleset.mapping[0]
    # tag keys are canonical: an alias used in a rule means the canonical key
    assert first.match.tags[0][0] == "cost_centre" and first.cost_centre_from_tag == "cost_centre"
    assert first.pool == "cloud" and ruleset.mapping[1].pool == "network"
    assert ruleset.shared_rule("network").percent[2] == ("pool:cloud", Decimal("33.4"))
    assert ruleset.is_effective_on(date(2026, 6, 1)) and not ruleset.is_effective_on(
        date(2027, 1, 1))


def test_the_canonical_form_parses_back_to_the_same_rule_set_and_hash() -> None:
    ruleset = parse()
    text = to_toml(ruleset)
    assert parse_ruleset(text) == ruleset
    assert to_toml(parse_ruleset(text)) == text
    assert content_hash(parse_ruleset(text)) == content_hash(ruleset)


def test_the_hash_ignores_comments_and_spelling_but_not_meaning() -> None:
    same = BASE.replace("# a comment finance wrote", "# another comment").replace(
        'subsidy_percent = "12.5"', 'subsidy_percent = "12.50"')
    assert content_hash(parse(same)) == content_hash(parse())
    other = BASE.replace('idle_penalty_percent = "10"', 'idle_penalty_percent = "11"')
    assert content_hash(parse(other)) != content_hash(parse())


@pytest.mark.parametrize(
    ("change", "row", "field", "words"),
    [
        (('"1010" = "33.3", "2010" = "33.3"', '"1010" = "33.3", "2010" = "33.2"'),
         "shared rule S20", "percent", "must total 100"),
        (('subsidy_percent = "12.5"', "subsidy_percent = 12.5"), "pool cloud",
         "subsidy_percent", "no floats"),
        (('cost_basis = "BilledCost"', 'cost_basis = "Billed"'), "[ruleset]", "cost_basis",
         "EffectiveCost, BilledCost"),
        (('id = "M20"', 'id = "M10"'), "mapping rule M10", "id", "used twice"),
        (("shared = true", "shared = true\ncost_centre = \"1010\""), "mapping rule M20",
         "cost_centre", "exactly one target"),
        (('driver = "headcount"', 'driver = "headcount"\ncolour = "blue"'), "shared rule S30",
         "colour", "unknown field"),
        (('pool = "network"\nshared', 'pool = "nowhere"\nshared'), "mapping rule M20", "pool",
         "not a pool"),
        (('targets = ["1010", "2010", "5010"]', 'targets = ["1010", "bad code!"]'),
         "shared rule S30", "targets", "cost-centre code"),
        (("version = 3", 'version = "3"'), "[ruleset]", "version", "integer"),
    ],
)
def test_errors_name_the_file_the_rule_and_the_field(change, row, field, words) -> None:
    error = error_of(BASE.replace(*change))
    assert (error.source, error.row, error.field) == ("rules.toml", row, field)
    assert words in error.message
    assert str(error).startswith(f"rules.toml, row {row}, field '{field}'")


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[ruleset\nname = 1")
    with pytest.raises(InputError, match=r"^broken\.toml: not valid TOML"):
        load_ruleset(path)


def test_diff_lists_added_removed_changed_and_moved_rules() -> None:
    old = parse()
    new_text = BASE.replace('idle_penalty_percent = "10"', 'idle_penalty_percent = "15"')
    # swap the two mapping rules and add a third; drop the headcount rule's 5010 target
    mapping_10 = new_text[new_text.index("[[mapping]]\nid = \"M10\""):
                          new_text.index("[[mapping]]\nid = \"M20\"")]
    mapping_20 = new_text[new_text.index("[[mapping]]\nid = \"M20\""):
                          new_text.index("[[shared]]")]
    new_text = new_text.replace(mapping_10 + mapping_20, mapping_20 + mapping_10 + """
[[mapping]]
id = "M30"
when = { provider = "Oracle" }
cost_centre = "6010"

""").replace('targets = ["1010", "2010", "5010"]', 'targets = ["1010", "2010"]')
    new_text = new_text.replace("version = 3", "version = 4")
    changes = [str(change) for change in diff(old, parse(new_text))]
    assert changes == [
        "changed ruleset header (version: 3 -> 4)",
        "changed pool cloud (idle_penalty_percent: 10 -> 15)",
        "added mapping M30",
        "moved mapping M20 (position: 2 -> 1)",
        "moved mapping M10 (position: 1 -> 2)",
        "changed shared S30 (targets: [1010, 2010, 5010] -> [1010, 2010])",
    ]
    assert diff(old, old) == []


def test_the_demo_rule_file_reads_and_survives_its_canonical_form() -> None:
    ruleset = load_ruleset(DEMO)
    assert ruleset.expense_account == "6900" and ruleset.recovery_account == "7990"
    assert parse_ruleset(to_toml(ruleset)) == ruleset
    assert {pool.owner for pool in ruleset.pools} <= {"6010", "6050"}
