"""The demo company's month of flow logs splits its data-transfer bill by bytes."""

from __future__ import annotations

from decimal import Decimal

from client.demo import run_month_end
from ledger.money import round_to_currency
from ledger.services.transfer import transfer_report


def test_the_demo_month_splits_its_data_transfer_to_the_sending_teams(demo_app) -> None:
    run_month_end(demo_app, "2026-10")
    with demo_app.uow(read_only=True) as uow:
        report = transfer_report(uow=uow, store=demo_app.cost_facts(), period="2026-10")
        imports = uow.flow_logs.imports()
    assert len(imports) == 1 and imports[0].records == 31 * 400
    [charge] = report.charges  # the bill's "AWS Data Transfer usage" in eu-west-1
    assert (charge.kind, charge.region) == ("any", "eu-west-1")
    owners = {s.owner: s for s in report.shares}
    assert set(owners) == {"5010", "2040"}  # Frankfurt's bytes weigh no Irish charge
    assert sum(s.amount for s in report.shares) == round_to_currency(charge.amount, "USD")
    assert owners["5010"].amount > owners["2040"].amount > Decimal(0)

    run_month_end(demo_app, "2026-10")  # a rerun imports nothing new
    with demo_app.uow(read_only=True) as uow:
        assert len(uow.flow_logs.imports()) == 1
