"""Data-quality rules: kept in the database (with an audit trail), evaluated on demand and on
every register load.

Until an asset manager imports a rules file, the defaults shipped in
``resources/quality/default.toml`` apply; :func:`quality_rules` says which is in force.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from ledger.access import Permission
from ledger.asset import Asset
from ledger.ports import UnitOfWork
from ledger.quality import QualityRules, Violation, evaluate, parse_rules, parse_rules_toml
from ledger.services.base import Changes, authorize, record_change

RULE_SET = "default"


def default_rules() -> QualityRules:
    """The rules Apportion ships with (``resources/quality/default.toml``)."""
    text = resources.files("resources.quality").joinpath("default.toml").read_text("utf-8")
    return parse_rules_toml(text, source="resources/quality/default.toml")


@dataclass(frozen=True, slots=True)
class RulesInForce:
    rules: QualityRules
    stored: bool


def quality_rules(*, uow: UnitOfWork) -> RulesInForce:
    """The rules in force: the stored ones, else the shipped defaults."""
    authorize(uow, Permission.READ, doing="read the quality rules")
    stored = uow.quality_rules.get(RULE_SET)
    if stored is None:
        return RulesInForce(default_rules(), stored=False)
    return RulesInForce(parse_rules(stored, source="stored quality rules"), stored=True)


def import_rules(*, uow: UnitOfWork, rules: QualityRules, reason: str | None = None) -> Changes:
    """Replace the rules in force; importing the rules already in force changes nothing."""
    authorize(uow, Permission.MANAGE_QUALITY_RULES, doing="change the quality rules")
    stored = uow.quality_rules.get(RULE_SET)
    after = rules.to_dict()
    if stored == after:
        return Changes(frozenset({"quality_rules"}), unchanged=1)
    uow.quality_rules.save(RULE_SET, after, at=uow.clock.now(), by=uow.actor.login)
    record_change(uow, action="quality_rules.update" if stored else "quality_rules.create",
                  entity="quality_rules", key=RULE_SET, before=stored, after=after, reason=reason)
    return Changes(frozenset({"quality_rules"}), created=int(stored is None),
                   updated=int(stored is not None))


def check_assets(*, uow: UnitOfWork, assets: Sequence[Asset] | None = None) -> list[Violation]:
    """Violations of the rules in force by ``assets`` (default: the whole register)."""
    rules = quality_rules(uow=uow).rules
    booked = {book.asset_tag for book in uow.assets.books()}
    return evaluate(rules, uow.assets.list() if assets is None else assets, booked=booked)
