"""A shared cluster inside an allocation run: usage stored once, the cluster's billing split by
namespace through the ordinary mapping rules, the source total conserved to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from connectors.allocation_files import file_sha256
from connectors.billing import detect_importer
from connectors.kubernetes import read_usage_csv
from ledger.errors import PermissionDeniedError
from ledger.services import allocation, kubernetes
from ledger.services.costs import import_billing
from tests.services.allocation_support import AllocationCompany, focus_file

D = Decimal
USAGE = Path(__file__).parent.parent / "fixtures" / "kubernetes" / "k8s_usage.csv"

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
cost_centre = ["CostCenter", "cc"]

[[pools]]
id = "cloud"
name = "Public cloud"
owner = "6010"

[[mapping]]
id = "NS-PAY"
when = { tags = { namespace = "payments" } }
cost_centre = "1010"

[[mapping]]
id = "NS-TEAM"
when = { tags = { team = "search" } }
cost_centre = "2010"

[[mapping]]
id = "TAGGED"
when = { tags = { cost_centre = "*" } }
cost_centre_from_tag = "cost_centre"

[[clusters]]
id = "prod"
cluster = "prod-eu"
resource_ids = ["vol-prod-eu-*"]
basis = "max"
idle = "owner"
idle_owner = "6010"
"""


def import_usage(company: AllocationCompany, login: str = "carol"):
    usage = read_usage_csv(USAGE)
    with company.as_(login)() as uow:
        outcome = kubernetes.import_usage(uow=uow, source=usage.source, kind=usage.kind,
                                          records=usage.records, sha256=file_sha256(USAGE))
        uow.commit()
    return outcome


@pytest.fixture
def company(app, tmp_path) -> tuple[AllocationCompany, object]:
    company = AllocationCompany(app)
    company.save_rules(RULES)
    company.activate(1)
    store = app.cost_facts()
    path = focus_file(tmp_path / "october.csv", [
        ("ACC-1", "Amazon Elastic Compute Cloud", "i-node-1", "1000.00",
         {"cluster": "prod-eu", "CostCenter": "6010"}),
        ("ACC-1", "Amazon Elastic Block Store", "vol-prod-eu-1", "33.33", {}),
        ("ACC-2", "Amazon Relational Database Service", "db-1", "50.00", {"cc": "2010"}),
    ])
    with company.as_("carol")() as uow:
        import_billing(uow=uow, store=store, path=path, importer=detect_importer(path))
        uow.commit()
    return company, store


def test_usage_is_imported_once_and_needs_the_cost_importer(company) -> None:
    company, _ = company
    first = import_usage(company)
    assert (first.records, first.clusters, first.unchanged) == (4, (("prod-eu", "2026-10"),),
                                                                 False)
    assert import_usage(company).unchanged
    with company.app.uow(read_only=True) as uow:
        assert uow.k8s_usage.count() == 4
        assert [e.event.action for e in uow.audit.chain()].count("k8s_usage.import") == 1
    with pytest.raises(PermissionDeniedError):
        import_usage(company, login="erin")


def test_a_run_splits_the_cluster_by_namespace_and_conserves_every_cent(company) -> None:
    company, store = company
    import_usage(company)
    outcome = company.run(store=store)
    result = outcome.result
    assert result.source_total["USD"] == D("1083.33")
    assert result.allocated_total["USD"] + result.unallocated_total["USD"] == D("1083.33")
    # Hand computation (max basis, 50% CPU; see tests/unit/test_kubernetes_split.py):
    #   shares: payments .459259.., search .315740.., idle (to 6010) .225
    #   node 1000.00 -> 459.259259.. / 315.740740.. / 225.00
    #   disk   33.33 ->  15.307111.. /  10.523641.. /   7.49925
    #   per cost centre, rounded once: 1010 474.566.. = 474.57, 2010 376.264.. = 376.26
    #   (with its own 50.00 database), 6010 232.49925 = 232.50; together 1083.33
    totals = {centre: amount for centre, _, amount in outcome.by_cost_centre()}
    assert (totals["1010"], totals["2010"], totals["6010"]) == (
        D("474.57"), D("376.26"), D("232.50"))


def test_without_usage_the_cluster_lines_stay_as_billed(company) -> None:
    company, store = company
    outcome = company.run(store=store)
    totals = {centre: amount for centre, _, amount in outcome.by_cost_centre()}
    assert totals["6010"] == D("1000.00")  # the node's own cost-centre tag
    assert outcome.result.unallocated_total["USD"] == D("33.33")  # the untagged disk


def test_shares_are_listed_for_explain(company) -> None:
    company, _ = company
    import_usage(company)
    with company.app.uow(read_only=True) as uow:
        ruleset = allocation.resolve(uow, None, "2026-10").ruleset()
        listed = kubernetes.namespace_shares(uow=uow, period="2026-10", ruleset=ruleset)
    assert [(s["kind"], s["key"], s["percent"]) for s in listed] == [
        ("namespace", "payments", "45.9259"), ("namespace", "search", "31.5741"),
        ("idle", "6010", "22.5000")]


def test_explain_names_the_namespace_share_behind_an_amount(company) -> None:
    company, store = company
    import_usage(company)
    outcome = company.run(store=store)
    with company.app.uow(read_only=True) as uow:
        data = allocation.explain_run(uow=uow, store=store, run_id=outcome.run_id,
                                      cost_centre="1010")
    assert data["current"] and data["totals"]["USD"] == D("474.57")
    (item,) = data["items"]
    assert item["rule"] == "NS-PAY"
    assert {(s["attributes"]["k8s_share"], s["attributes"]["k8s_key"], s["tags"]["namespace"])
            for s in item["sources"]} == {("namespace", "payments", "payments")}
    # billing amounts carry 18 decimals; the split keeps them, the run rounds once at the end
    assert sorted(round(s["amount"], 2) for s in item["sources"]) == [D("15.31"), D("459.26")]
    assert [s["key"] for s in data["cluster_shares"]] == ["payments", "search", "6010"]
