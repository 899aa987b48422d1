"""Data-quality rules through the services: stored with an audit trail, evaluated on demand and
on every register load, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from connectors.inventory.generic import read_register_csv
from ledger.errors import InputErrors, PermissionDeniedError
from ledger.persistence.unit_of_work import UnitOfWorkFactory
from ledger.quality import parse_rules_toml
from ledger.services import quality
from ledger.services.asset_mapping import AssetMapping, load_register
from tests.conftest import shared_fixture

#: Snipe-IT's sample register, read through a mapping: its "Model Number" stands in for a serial.
SNIPEIT_REGISTER = AssetMapping("snipeit-sample", {
    "tag": "Asset Tag", "name": "Name", "manufacturer": "Manufacturer", "model": "Model",
    "location": "Location", "purchase_cost": "Purchase Cost", "serial_number": "Model Number",
}, {"kind": "laptop"})

RULES = """
[kinds."*"]
required = ["location", "manufacturer"]

[kinds.laptop]
required = ["serial_number"]
allowed.model = ['Macbook Pro 13"']
"""


def test_rules_are_stored_with_an_audit_event_and_again_change_nothing(app) -> None:
    rules = parse_rules_toml(RULES, source="rules.toml")
    with app.uow() as uow:
        assert not quality.quality_rules(uow=uow).stored  # the shipped defaults until then
        audit = uow.audit.count()
        assert quality.import_rules(uow=uow, rules=rules, reason="stricter").created == 1
        assert not quality.import_rules(uow=uow, rules=rules).changed
        assert uow.audit.count() == audit + 1
        uow.commit()
    with app.uow(read_only=True) as uow:
        found = quality.quality_rules(uow=uow)
        [event] = [e for e in uow.audit.latest(5) if e.action == "quality_rules.create"]
    assert found.stored and found.rules == rules
    assert event.reason == "stricter" and event.after == rules.to_dict()


def test_a_viewer_cannot_change_the_rules(app) -> None:
    from ledger.access import Role
    from ledger.services.users import grant_role

    with app.uow() as uow:
        grant_role(uow=uow, login="frank", role=Role.VIEWER)
        uow.commit()
    with UnitOfWorkFactory(app.engine, "frank", app.uow.clock)() as uow, \
            pytest.raises(PermissionDeniedError):
        quality.import_rules(uow=uow, rules=parse_rules_toml(RULES))


def test_a_register_load_reports_the_violations_of_the_snipeit_sample(app) -> None:
    staged = read_register_csv(shared_fixture("inventory", "snipeit", "assets-sample.csv"),
                               SNIPEIT_REGISTER)
    with app.uow() as uow:
        quality.import_rules(uow=uow, rules=parse_rules_toml(RULES))
        result = load_register(uow=uow, assets=staged)
        uow.commit()
    assert result.changes.created == 22
    found = {(v.asset_tag, v.attribute, v.rule) for v in result.violations}
    # Ten of the sample's 22 assets have no model number; one is a "Robby", not a MacBook.
    no_serial = {"EJS-7488052", "HNY-7340937", "JHN-0598394", "GEX-7216431", "DWM-3752227",
                 "OLM-0226994", "LYO-8134459", "HLK-1645158", "AZT-4280937", "RRO-8557470"}
    assert found == {(tag, "serial_number", "required") for tag in no_serial} | {
        ("SUQ-5159067", "model", "allowed")}
    with app.uow(read_only=True) as uow:  # on demand, the same answer
        assert set(quality.check_assets(uow=uow)) == set(result.violations)


def test_a_stored_rule_set_that_names_a_vanished_attribute_is_reported(app) -> None:
    with app.uow() as uow:
        uow.quality_rules.save("default", {"kinds": {"server": {"required": ["colour"]}}},
                               at=uow.clock.now(), by="admin")
        with pytest.raises(InputErrors, match="unknown attribute"):
            quality.check_assets(uow=uow)
