"""The service catalogue on the demo company: tiers with SLAs and rates, subscriptions priced
from the headcount driver, and a change of tier that shows its exact cost before it is made."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from ledger.catalogue import parse_catalogue
from ledger.errors import InputErrors, PermissionDeniedError
from ledger.services.catalogue import (
    change_tier,
    import_catalogue,
    preview_tier_change,
    subscription_costs,
)

CATALOGUE = Path(__file__).resolve().parents[1] / "fixtures" / "catalogue" / "services.toml"


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def test_a_bad_catalogue_names_every_element_and_field_at_once() -> None:
    text = CATALOGUE.read_text().replace('rate = "9.10"', "rate = 9.10").replace(
        'tier = "standard"', 'tier = "platinum"').replace('quantity = "3"', 'quantity = "-3"')
    with pytest.raises(InputErrors) as caught:
        parse_catalogue(text, source="services.toml")
    found = {(e.row, e.field) for e in caught.value.errors}
    assert found == {("service[1].tier[2]", "rate"), ("subscription[3]", "quantity"),
                     ("subscription[3]", "tier")}  # subscriptions of EMAIL: not reported again
    assert "services.toml" in str(caught.value) and "exact" in str(caught.value)


def test_a_tier_change_shows_its_exact_cost_before_it_is_made(demo_app) -> None:
    text = CATALOGUE.read_text()
    with demo_app.uow() as uow:
        first = import_catalogue(uow=uow, text=text, source=str(CATALOGUE), reason="catalogue")
        uow.commit()
    assert first.created == 5
    with demo_app.uow() as uow:
        again = import_catalogue(uow=uow, text=text, source=str(CATALOGUE))
        events = uow.audit.count()
        uow.commit()
    assert not again.changed and again.unchanged == 5

    with demo_app.uow(read_only=True) as uow:
        headcount = uow.drivers.get("headcount", "1010", "2026-10").quantity
        preview = preview_tier_change(uow=uow, service="email", cost_centre="1010",
                                      tier="Gold", period="2026-10")
        costs = {(c.service.code, c.subscription.cost_centre): c
                 for c in subscription_costs(uow=uow, period="2026-10")}
    # By hand: each side rounded once to the cent, then the difference.
    before = cents(Decimal("6.35") * headcount)
    after = cents(Decimal("14.785") * headcount)
    assert (preview.cost_before, preview.cost_after) == (before, after)
    assert preview.difference == after - before and preview.difference > 0
    assert preview.to_json()["annual_difference"] == str((after - before) * 12)
    assert preview.to_json()["to_sla"] == "99.95 % availability, response within 1 h, 24x7"
    assert preview.quantity_source == "driver headcount 2026-10"
    assert costs[("EMAIL", "1010")].monthly_cost == before  # the preview changed nothing
    assert costs[("DBAAS", "5010")].monthly_cost == Decimal("930.00")

    with demo_app.uow() as uow:
        with pytest.raises(Exception, match="reason"):
            change_tier(uow=uow, service="EMAIL", cost_centre="1010", tier="gold",
                        period="2026-10", reason=" ")
        change, changes = change_tier(uow=uow, service="EMAIL", cost_centre="1010",
                                      tier="gold", period="2026-10",
                                      reason="the plant needs 24x7 mail")
        uow.commit()
    assert changes.updated == 1 and change.difference == after - before
    with demo_app.uow(read_only=True) as uow:
        assert uow.catalogue.subscription("EMAIL", "1010").tier == "gold"
        assert uow.audit.count() == events + 1
        event = uow.audit.latest(1)[0]
    assert event.action == "catalogue.tier_change" and event.reason == "the plant needs 24x7 mail"
    assert event.after["cost"]["monthly_difference"] == str(after - before)


def test_unknown_cost_centres_refuse_the_whole_file_and_viewers_change_no_tier(demo_app) -> None:
    text = CATALOGUE.read_text().replace('cost_centre = "5010"\ntier = "standard"',
                                         'cost_centre = "9999"\ntier = "standard"')
    with demo_app.uow() as uow:
        with pytest.raises(InputErrors, match="9999"):
            import_catalogue(uow=uow, text=text, source="services.toml")
        assert uow.catalogue.services() == []
    if not demo_app.is_sqlite:
        return  # on PostgreSQL identity is the database login
    with demo_app.uow() as uow:
        import_catalogue(uow=uow, text=CATALOGUE.read_text())
        uow.commit()
    with demo_app.uow.as_user("frank")() as uow:
        assert preview_tier_change(uow=uow, service="EMAIL", cost_centre="5010", tier="bronze",
                                   period="2026-10").difference < 0
        with pytest.raises(PermissionDeniedError):
            change_tier(uow=uow, service="EMAIL", cost_centre="5010", tier="bronze",
                        period="2026-10", reason="cheaper")


def test_the_tier_change_command_previews_then_applies(demo_app) -> None:
    import json

    from click.testing import CliRunner

    from client.cli import cli
    from client.commands.common import Options

    runner = CliRunner()

    def run(*args: str) -> dict:
        result = runner.invoke(cli, ["--db", demo_app.url, *args, "--json"], obj=Options(),
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    assert run("catalogue", "import", str(CATALOGUE))["created"] == 5
    preview = run("catalogue", "tier-change", "DBAAS", "ha", "--cost-centre", "5010",
                  "--period", "2026-10")
    assert (preview["monthly_cost_before"], preview["monthly_cost_after"],
            preview["monthly_difference"], preview["applied"]) == (
        "930.00", "2056.50", "1126.50", False)
    listed = run("catalogue", "list", "--period", "2026-10")
    assert {(s["service"], s["cost_centre"], s["tier"]) for s in listed["subscriptions"]} >= {
        ("DBAAS", "5010", "standard")}
    applied = run("catalogue", "tier-change", "DBAAS", "ha", "--cost-centre", "5010",
                  "--period", "2026-10", "--apply", "--reason", "failover for the ERP")
    assert applied["applied"] is True and applied["monthly_difference"] == "1126.50"
