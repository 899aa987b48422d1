"""Governance rules without a database: scopes, quotas and forecasts, contract clauses, and the
provisioning policy's checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.access import Actor, Permission, Role, require_within, roles_within
from ledger.budget import (
    Budget,
    QuotaMode,
    alert_findings,
    assess,
    budget_from_cells,
    derive_quota,
    percentile,
    run_rate,
)
from ledger.contracts import Clause, Granularity, contract_from_cells
from ledger.errors import InputError, PermissionDeniedError
from ledger.provisioning import Policy, ProvisioningRequest, check_master_data, check_spend
from ledger.reference import CostCentre

D = Decimal


def test_a_scoped_grant_counts_only_wholly_inside_its_business_units() -> None:
    scopes = {Role.APPROVER: frozenset({"MFG"})}
    roles = frozenset({Role.APPROVER})
    assert roles_within(roles, scopes, Permission.APPROVE_JOURNALS, {"MFG"}) == roles
    assert not roles_within(roles, scopes, Permission.APPROVE_JOURNALS, {"MFG", "RND"})
    assert not roles_within(roles, scopes, Permission.APPROVE_JOURNALS, {None})
    assert roles_within(roles, {}, Permission.APPROVE_JOURNALS, {"RND", None}) == roles
    with pytest.raises(PermissionDeniedError, match=r"only for business unit.*MFG.*RND"):
        require_within(Actor("bob", roles), scopes, Permission.APPROVE_JOURNALS,
                       doing="approve journals", business_units={"MFG", "RND"})


def test_the_quota_is_the_95th_percentile_of_six_months_plus_the_margin_rounded_up() -> None:
    history = [D("100"), D("110"), D("90"), D("400"), D("120"), D("105"), D("1000")]
    # Only the last six count: 110 90 400 120 105 1000 -> sorted 90 105 110 120 400 1000;
    # rank 0.95 * 5 = 4.75 -> 400 + 0.75 * 600 = 850; plus 10 % = 935.
    assert percentile(sorted(history[-6:])) == D("850.00")
    assert derive_quota(history, D("0.10"), "USD") == D("935.00")
    assert derive_quota([D("10.001")], D("0"), "USD") == D("10.01")  # a ceiling rounds up
    assert derive_quota([], D("0.10"), "USD") is None


def test_the_run_rate_forecast_scales_the_cost_so_far_to_the_whole_period() -> None:
    first, last = date(2026, 11, 1), date(2026, 11, 30)
    assert run_rate(D("1000"), first, last, date(2026, 11, 11), "USD") == D("3000.00")
    assert run_rate(D("1000"), first, last, date(2026, 12, 5), "USD") == D("1000")


def test_actuals_and_forecasts_crossing_budget_and_quota_become_findings() -> None:
    budget = Budget("2010", "2026-11", D("2500"), "USD", QuotaMode.BLOCK, D("0"))
    status = assess(cost_centre="2010", period="2026-11", currency="USD", budget=budget,
                    actual=D("1000"), forecast=D("3000"), history=[D("900")] * 6)
    kinds = [kind for kind, _ in status.alerts]
    assert kinds == ["budget_forecast", "quota_actual"]
    assert status.state == "over" and status.quota == D("900.00")
    findings = alert_findings(status, "owner@example.com")
    assert [f.key for _, f in findings] == ["budget:budget_forecast:2010:2026-11",
                                            "budget:quota_actual:2010:2026-11"]
    assert findings[1][1].evidence["actual"] == "1000" and "refused" in findings[1][1].description


def test_a_bad_budget_row_names_its_field() -> None:
    assert budget_from_cells({"cost_centre": "2010", "period": "2026-11", "amount": "10",
                              "currency": "usd", "quota_margin": "15%"}).quota_margin == D("0.15")
    for cells, field in (({"cost_centre": "2010", "period": "2026-13", "amount": "1",
                           "currency": "USD"}, "period"),
                         ({"cost_centre": "2010", "period": "2026-11", "amount": "-1",
                           "currency": "USD"}, "amount"),
                         ({"cost_centre": "2010", "period": "2026-11", "amount": "1",
                           "currency": "USD", "quota_mode": "shout"}, "quota_mode"),
                         ({"cost_centre": "2010", "period": "2026-11", "amount": "1"},
                          "currency")):
        with pytest.raises(InputError) as caught:
            budget_from_cells(cells)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_a_contract_lacks_what_it_does_not_state_and_coarse_metering() -> None:
    row = {"number": "C-1", "vendor": "Cloudy", "start": "2026-01-01", "value": "120000",
           "currency": "EUR", "usage_reporting": "yes", "tagging": "no",
           "metering": "monthly"}
    contract = contract_from_cells(row)
    assert contract.missing() == (Clause.TAGGING, Clause.METERING)
    assert contract.missing(Granularity.MONTHLY) == (Clause.TAGGING,)
    with pytest.raises(InputError) as caught:
        contract_from_cells({**row, "tagging": "maybe"})
    assert caught.value.field == "tagging"


def _request(**changes) -> ProvisioningRequest:
    fields = {"kind": "cloud", "name": "analytics-db", "cost_centre": "2010", "owner": "ana",
              "environment": "production", "monthly_cost": D("1200"), "currency": "USD",
              "period": "2026-12", "tags": (("cost-centre", "2010"), ("owner", "ana"),
                                            ("environment", "production"))}
    return ProvisioningRequest(**{**fields, **changes})  # type: ignore[arg-type]


def test_policy_refuses_an_inactive_cost_centre_and_missing_tags() -> None:
    ended = CostCentre("2010", "Old", valid_to=date(2026, 11, 30))
    checks = check_master_data(_request(tags=(("owner", "ana"),)), ended, Policy())
    assert [(c.name, c.outcome) for c in checks] == [("cost_centre", "refuse"),
                                                     ("tags", "refuse")]
    assert "cost-centre, environment" in checks[1].message
    wrong = check_master_data(_request(tags=(("cost-centre", "9999"), ("owner", "a"),
                                             ("environment", "test"))),
                              CostCentre("2010", "Ok"), Policy())
    assert wrong[1].outcome == "refuse" and "9999" in wrong[1].message


def test_spend_over_budget_escalates_and_a_blocking_quota_refuses() -> None:
    fits = check_spend(_request(), budget=D("5000"), forecast=D("3000"), committed=D("500"),
                       quota=None, quota_blocks=False)
    assert [c.outcome for c in fits] == ["ok"] and "300" in fits[0].message
    over = check_spend(_request(), budget=D("4000"), forecast=D("3000"), committed=D("0"),
                       quota=D("4100"), quota_blocks=True)
    assert [(c.name, c.outcome) for c in over] == [("budget", "escalate"), ("quota", "refuse")]
