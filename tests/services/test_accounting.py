"""Accounting alignment on the demo company: its accounts classified for IFRS and US GAAP, and
the month-end posted to a sandbox SAP tied back to the balances read from it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from client.demo import generate, post_month_end, run_month_end
from client.erp import gateway_for
from ledger.accounting import Classification, tie
from ledger.erp import ErpProfile
from ledger.journal import Side
from ledger.services.accounting import account_mapping_report, ledger_tie


def test_the_demo_accounts_are_classified_by_what_uses_them(demo_app) -> None:
    with demo_app.uow(read_only=True) as uow:
        mapping = {m.account: m for m in account_mapping_report(uow=uow)}
    assert mapping["6800"].classification is Classification.DEPRECIATION
    assert mapping["1590"].classification is Classification.ACCUMULATED_DEPRECIATION
    assert mapping["6900"].classification is Classification.OPERATING
    assert mapping["7990"].classification is Classification.RECOVERY
    assert mapping["1590"].to_json()["capital_or_operating"] == "capital"
    assert mapping["6800"].to_json()["ifrs"].startswith("Depreciation")
    assert mapping["6900"].to_json()["capital_or_operating"] == "operating"


def test_a_round_off_the_erp_added_does_not_tie_and_says_where() -> None:
    posted = {("6900", "USD"): Decimal("100.00"), ("7990", "USD"): Decimal("-100.00")}
    erp = {("6900", "USD"): Decimal("100.01"), ("7990", "USD"): Decimal("-100.00"),
           ("8999", "USD"): Decimal("-0.01")}
    result = tie("2026-10", "sap", posted, erp, {}, journals=1, documents=1)
    assert not result.tied
    assert {(li.account, li.difference) for li in result.lines if li.difference} == {
        ("6900", Decimal("0.01")), ("8999", Decimal("-0.01"))}


def test_the_posted_month_end_ties_to_the_sandbox_erp(demo_app, tmp_path: Path) -> None:
    if not demo_app.is_sqlite:
        pytest.skip("the demo's named makers and approvers act on SQLite only")
    from connectors.erp.sandbox.server import SandboxErp

    demo = generate()
    run_month_end(demo_app, "2026-10", demo=demo)
    outcome = post_month_end(demo_app, "2026-10", demo=demo, erp_data=tmp_path / "erp")
    assert outcome.report.posted and not outcome.report.failed
    sandbox = SandboxErp.start("127.0.0.1", 0, tmp_path / "erp",
                               companies={demo.company.code: demo.company.functional_currency},
                               accounts=[a.number for a in demo.accounts],
                               cost_centres=[cc.code for cc in demo.cost_centres])
    try:
        profile = ErpProfile("sandbox", "sap-soap", sandbox.url, demo.company.code, "demo",
                             {"operation_timeout": 10.0})
        gateway = gateway_for(profile, secret="demo")  # the sandbox's demo pair
        try:
            with demo_app.uow(read_only=True) as uow:
                result = ledger_tie(uow=uow, gateway=gateway, profile=profile, period="2026-10")
                posted = uow.journals.list(statuses=["posted"], period="2026-10")
        finally:
            gateway.close()
    finally:
        sandbox.stop()
    assert result.tied, result.problems
    assert result.journals == len(posted) == result.documents == len(outcome.report.posted)
    # By hand from the posted journals: net per account, and the debits of every journal.
    net: dict[str, Decimal] = {}
    for journal in posted:
        for line in journal.entry.lines:
            signed = line.amount if line.side is Side.DEBIT else -line.amount
            net[line.account] = net.get(line.account, Decimal(0)) + signed
    assert {li.account: li.erp for li in result.lines} == net
    debits = sum(sum((li.amount for li in j.entry.lines if li.side is Side.DEBIT), Decimal(0))
                 for j in posted)
    assert result.totals()["USD"]["erp_debits"] == debits
    assert result.to_json()["tied"] is True


def test_intercompany_is_what_the_account_mapping_flags_not_what_the_name_says(ledger) -> None:
    from ledger.errors import InputError, PermissionDeniedError
    from ledger.reference import AccountType, GlAccount
    from ledger.services import reference_data
    from ledger.services.accounting import set_account_flag
    from ledger.staging import staged

    app = ledger.app
    with app.uow() as uow:
        reference_data.import_accounts(uow=uow, accounts=staged([
            GlAccount("2950", "Intercompany clearing (legacy, unused)", AccountType.LIABILITY),
            GlAccount("2960", "Due to group service company", AccountType.LIABILITY)]))
        uow.commit()
    with ledger.as_("carol")() as uow, pytest.raises(PermissionDeniedError):
        set_account_flag(uow=uow, account="2960", intercompany=True, counterparty="MRD2")
    with ledger.as_("dave")() as uow:
        with pytest.raises(InputError, match="intercompany account only"):
            set_account_flag(uow=uow, account="2950", intercompany=False, counterparty="MRD2")
        first = set_account_flag(uow=uow, account="2960", intercompany=True,
                                 counterparty="MRD2", reason="IT services company recharges")
        uow.commit()
    with ledger.as_("dave")() as uow:
        events = uow.audit.count()
        again = set_account_flag(uow=uow, account="2960", intercompany=True, counterparty="MRD2")
        assert uow.audit.count() == events  # the same flag again: nothing, not even an event
    assert first.created == 1 and not again.changed
    with app.uow(read_only=True) as uow:
        mapping = {m.account: m for m in account_mapping_report(uow=uow)}
        event = uow.audit.latest(1)[0]
    assert event.action == "account_mapping.set" and event.reason.startswith("IT services")
    assert mapping["2960"].classification is Classification.INTERCOMPANY
    assert mapping["2960"].to_json()["counterparty"] == "MRD2"
    assert mapping["2960"].to_json()["ifrs"].startswith("Intercompany")
    assert mapping["2950"].classification is Classification.OTHER  # the name decides nothing
    assert tie("2026-10", "sap", {("2960", "USD"): Decimal("5.00")},
               {("2960", "USD"): Decimal("5.00")},
               {m.account: m.classification for m in mapping.values()},
               journals=1, documents=1).lines[0].classification is Classification.INTERCOMPANY
