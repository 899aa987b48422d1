"""Data transfer inside an allocation run: a ``[[transfer]]`` rule splits the bill's transfer
lines over the teams whose resources sent the bytes, and the mapping rules place each part.

The topology is tests/flow_log_support.py's: web (eu-west-1a), api (eu-west-1b), data
(eu-central-1a). The bill charges, by hand from its records:

- inter-zone, Ireland, 10.00: web 4000 bytes, api 1000 -> web 8.00, api 2.00
- egress, Ireland, 1.01: web 6000, api 2000 -> 0.7575 / 0.2525 -> web 0.76, api 0.25
- inter-region, Ireland, 3.00: only api (3000 to the database) -> api 3.00
- inter-region, Frankfurt, 0.50: only the database -> data 0.50
- inter-region, N. Virginia, 2.22: no flow from there -> stays on its ordinary rule (6010)

With web -> 1010, api -> 2010, data -> 3010 and an EC2 line of 50.00 tagged 1010:
1010 58.76, 2010 5.25, 3010 0.50, 6010 2.22; 66.73 in all, to the cent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.billing import detect_importer
from connectors.flow_logs import aggregate_flow_logs, read_mapping, sha256_of
from ledger.allocation import parse_ruleset, to_toml
from ledger.allocation.rules import RuleChange, content_hash, diff
from ledger.errors import InputError
from ledger.reference import CostCentre
from ledger.services import allocation, reference_data
from ledger.services.costs import import_billing
from ledger.services.transfer import import_flow_logs
from ledger.staging import staged
from ledger.transfer_split import ChargeTo, TransferRule
from tests.billing_support import focus_row, write_focus
from tests.flow_log_support import write_aws, write_mapping
from tests.services.allocation_support import AllocationCompany

D = Decimal

RULES = """
[ruleset]
name = "it"
version = 1
effective_from = 2026-01-01
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"

[tag_keys]
cost_centre = ["CostCenter"]
team = ["Team", "owner-team"]

[[pools]]
id = "cloud"
name = "Public cloud"
owner = "6010"

[[mapping]]
id = "TEAM"
when = { tags = { team = "*" } }
cost_centre_from_tag = "team"
values = { web = "1010", api = "2010", data = "3010" }

[[mapping]]
id = "TRANSFER"
description = "Data transfer nobody explains: central IT"
when = { service_name = "*Data Transfer*" }
cost_centre = "6010"

[[mapping]]
id = "TAGGED"
when = { tags = { cost_centre = "*" } }
cost_centre_from_tag = "cost_centre"
"""
TRANSFER = """
[[transfer]]
id = "bytes"
description = "Transfer by the sender's bytes"
"""
#: (team, kind) -> what the run must charge, by hand (module docstring).
BY_HAND = {("web", "inter-zone"): D("8.00"), ("api", "inter-zone"): D("2.00"),
           ("web", "egress"): D("0.76"), ("api", "egress"): D("0.25"),
           ("api", "inter-region"): D("3.00"), ("data", "inter-region"): D("0.50")}


def bill(path: Path) -> Path:
    day = dt.date(2026, 10, 15)

    def transfer(description: str, cost: str, region: str = "eu-west-1") -> dict[str, str]:
        row = focus_row(day, "AWS Data Transfer", D(cost))
        row.update({"ChargeDescription": description, "RegionId": region, "ResourceId": "NULL",
                    "PricingUnit": "GB", "ConsumedUnit": "GB"})
        return row

    return write_focus(path, [
        transfer("$0.01 per GB - regional data transfer - in/out/between EC2 AZs", "10.00"),
        transfer("$0.09 per GB - first 10 TB / month data transfer out", "1.01"),
        transfer("$0.02 per GB - EU (Ireland) data transfer to EU (Frankfurt)", "3.00"),
        transfer("$0.02 per GB - EU (Frankfurt) data transfer to EU (Ireland)", "0.50",
                 "eu-central-1"),
        transfer("$0.02 per GB - US East (N. Virginia) data transfer to EU (Ireland)", "2.22",
                 "us-east-1"),
        focus_row(day, "AmazonEC2", D("50.00"), resource="i-web1", tags={"CostCenter": "1010"}),
        focus_row(day, "AmazonEC2", D("0.00"), resource="i-db1", tags={"Team": "3010"}),
    ])


class Company(AllocationCompany):
    def __init__(self, app, tmp_path: Path) -> None:
        super().__init__(app)
        with app.uow() as uow:
            reference_data.import_cost_centres(uow=uow, cost_centres=staged([
                CostCentre("3010", "Data")]))
            uow.commit()
        self.tmp_path = tmp_path
        self.store = app.cost_facts()
        path = bill(tmp_path / "bill.csv")
        with self.as_("carol")() as uow:
            import_billing(uow=uow, store=self.store, path=path, importer=detect_importer(path))
            uow.commit()

    def import_flows(self, mapping_text: str | None = None) -> None:
        mapping = write_mapping(self.tmp_path / "mapping.csv")
        if mapping_text is not None:
            mapping.write_text(mapping_text, encoding="utf-8")
        log = write_aws(self.tmp_path / "vpc.log")
        with self.as_("carol")() as uow:
            import_flow_logs(uow=uow, sha256=sha256_of(log),
                             read=lambda: aggregate_flow_logs(log, read_mapping(mapping)))
            uow.commit()

    def totals(self, outcome) -> dict[str, Decimal]:
        return {centre: amount for centre, _, amount in outcome.by_cost_centre()}

    def explain(self, run_id: int, cost_centre: str) -> dict:
        with self.app.uow(read_only=True) as uow:
            return allocation.explain_run(uow=uow, store=self.store, run_id=run_id,
                                          cost_centre=cost_centre)


@pytest.fixture
def company(app, tmp_path) -> Company:
    company = Company(app, tmp_path)
    company.save_rules(RULES + TRANSFER)
    company.activate(1)
    return company


def test_the_run_charges_transfer_to_the_sending_teams_by_bytes_to_the_cent(company) -> None:
    company.import_flows()
    outcome = company.run(store=company.store)
    result = outcome.result
    assert result.source_total["USD"] == D("66.73")
    assert result.allocated_total["USD"] == D("66.73") and not result.unallocated_total["USD"]
    split: dict[tuple[str, str], Decimal] = {}
    for source in result.inputs:
        if source.line.origin == "transfer":
            key = (source.line.attribute("transfer_owner"), source.line.attribute("transfer_kind"))
            split[key] = split.get(key, D(0)) + source.line.amount
            assert (source.kind, source.rule) == ("direct", "TEAM")
    assert split == BY_HAND
    assert company.totals(outcome) == {"1010": D("58.76"), "2010": D("5.25"),
                                       "3010": D("0.50"), "6010": D("2.22")}
    again = company.run(store=company.store)
    assert again.unchanged and again.run_id == outcome.run_id
    assert company.totals(again) == company.totals(outcome)


def test_explain_shows_the_transfer_lines_the_run_charged_and_what_stayed(company) -> None:
    company.import_flows()
    run_id = company.run(store=company.store).run_id
    web = company.explain(run_id, "1010")
    assert [(s["kind"], s["region"], s["owner"], s["bytes"], s["charge_bytes"], s["percent"],
             s["amount"], s["charge"], s["rules"], s["in_run"])
            for s in web["transfer_shares"]] == [
        ("egress", "eu-west-1", "web", 6000, 8000, D("75.00"), D("0.76"), D("1.01"), ["TEAM"],
         True),
        ("inter-zone", "eu-west-1", "web", 4000, 5000, D("80.00"), D("8.00"), D("10.00"),
         ["TEAM"], True)]
    assert web["transfer_shares"][1]["resources"] == ["i-web1"]
    assert sum(s["amount"] for s in company.explain(run_id, "2010")["transfer_shares"]) \
        == D("5.25")
    assert web["transfer"]["unsplit"] == [
        {"kind": "inter-region", "region": "us-east-1", "currency": "USD", "amount": D("2.22")}]
    charged = {(s["owner"], s["charged_to"]): s["amount"] for s in web["transfer"]["split"]
               if s["kind"] == "inter-region"}
    assert charged == {("api", "2010"): D("3.00"), ("data", "3010"): D("0.50")}
    items = {(i["rule"], i["amount"]) for i in web["items"]}
    assert ("TEAM", D("8.76")) in items  # the same amounts as the run's own lines


def test_without_flow_logs_transfer_stays_on_its_ordinary_rule_and_is_reported(company) -> None:
    outcome = company.run(store=company.store)
    assert company.totals(outcome) == {"1010": D("50.00"), "6010": D("16.73")}
    assert not [s for s in outcome.result.inputs if s.line.origin == "transfer"]
    unsplit = company.explain(outcome.run_id, "6010")["transfer"]["unsplit"]
    assert sum(u["amount"] for u in unsplit) == D("16.73")
    assert {u["kind"] for u in unsplit} == {"inter-zone", "egress", "inter-region"}


def test_owners_named_by_code_go_straight_to_their_cost_centres(company) -> None:
    """``charge_to = "cost_centre"``: the mapping names cost centres; the database's owner is
    blank there and comes from its billing tag ``Team`` (an alias of ``team``)."""
    text = write_mapping(company.tmp_path / "m.csv").read_text()
    company.import_flows(text.replace(",web\n", ",1010\n").replace(",api\n", ",2010\n")
                         .replace(",data\n", ",\n"))
    company.save_rules(RULES.replace("version = 1", "version = 2") + TRANSFER
                       + 'charge_to = "cost_centre"\n', based_on=1)
    company.activate(2)
    outcome = company.run(store=company.store)
    assert company.totals(outcome) == {"1010": D("58.76"), "2010": D("5.25"),
                                       "3010": D("0.50"), "6010": D("2.22")}
    rules = {s.rule for s in outcome.result.inputs if s.line.origin == "transfer"}
    assert rules == {"transfer:cloud"}  # charged by the source, not by a mapping rule


def test_the_transfer_table_round_trips_and_diffs() -> None:
    plain, with_transfer = parse_ruleset(RULES), parse_ruleset(RULES + TRANSFER)
    assert with_transfer.transfer == (TransferRule(
        "bytes", ("inter-zone", "inter-region", "egress", "any"), "team", ChargeTo.TAG, None,
        "Transfer by the sender's bytes"),)
    assert "[[transfer]]" not in to_toml(plain)
    assert content_hash(plain) != content_hash(with_transfer)
    assert parse_ruleset(to_toml(with_transfer)) == with_transfer
    narrower = parse_ruleset(RULES + TRANSFER + 'kinds = ["egress", "inter-zone"]\n')
    assert narrower.transfer[0].kinds == ("inter-zone", "egress")  # canonical order
    assert diff(with_transfer, narrower) == [RuleChange("changed", "transfer", "bytes", (
        ("kinds", "[inter-zone, inter-region, egress, any]", "[inter-zone, egress]"),))]
    assert [str(c) for c in diff(plain, with_transfer)] == ["added transfer bytes"]


@pytest.mark.parametrize(("extra", "field", "message"), [
    ('kinds = ["sideways"]\n', "kinds", "must be kinds of"),
    ('charge_to = "somewhere"\n', "charge_to", "must be one of"),
    ('pool = "cloud"\n', "pool", "charge_to"),
    ('charge_to = "cost_centre"\npool = "nowhere"\n', "pool", "not a pool"),
    ('colour = "blue"\n', "colour", "unknown field"),
    ('\n[[transfer]]\nid = "again"\nkinds = ["egress"]\n', "kinds", "already split by"),
])
def test_a_bad_transfer_table_names_the_rule_and_field(extra, field, message) -> None:
    with pytest.raises(InputError, match=message) as caught:
        parse_ruleset(RULES + TRANSFER + extra, source="it.toml")
    assert (caught.value.source, caught.value.field) == ("it.toml", field)
    assert "transfer rule" in str(caught.value.row)
