"""The service catalogue on the demo company: tiers with SLAs and rates, subscriptions priced
from the headcount driver, and a change of tier that shows its exact cost before it is made."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.catalogue import Subscription, parse_catalogue
from ledger.errors import InputError, InputErrors, PermissionDeniedError
from ledger.money import round_to_currency
from ledger.services.catalogue import (
    change_tier,
    import_catalogue,
    preview_tier_change,
    subscription_costs,
)

CATALOGUE = Path(__file__).resolve().parents[1] / "fixtures" / "catalogue" / "services.toml"
DEMO_CATALOGUE = Path(__file__).resolve().parents[2] / "resources" / "catalogue" / "demo.toml"
#: The demo company's catalogue (resources/catalogue/demo.toml): services, tiers, subscriptions.
DEMO_SERVICES, DEMO_TIERS, DEMO_SUBSCRIPTIONS = 4, 9, 13


def cents(amount: Decimal) -> Decimal:
    """The product's one rounding policy (half away from zero), as a price is charged."""
    return round_to_currency(amount, "USD")


def test_a_bad_catalogue_names_every_element_and_field_at_once() -> None:
    text = CATALOGUE.read_text().replace('rate = "9.10"', "rate = 9.10").replace(
        'tier = "standard"', 'tier = "platinum"').replace('quantity = "3"', 'quantity = "-3"')
    with pytest.raises(InputErrors) as caught:
        parse_catalogue(text, source="services.toml")
    found = {(e.row, e.field) for e in caught.value.errors}
    assert found == {("service[1].tier[2]", "rate"), ("subscription[3]", "quantity"),
                     ("subscription[3]", "tier")}  # subscriptions of EMAIL: not reported again
    assert "services.toml" in str(caught.value) and "exact" in str(caught.value)


def test_a_catalogue_file_is_imported_once_into_a_new_database(app) -> None:
    from ledger.reference import CostCentre
    from ledger.services.reference_data import import_cost_centres
    from ledger.staging import staged

    text = CATALOGUE.read_text()
    with app.uow() as uow:
        import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre(code, code) for code in ("1010", "5010", "6010")], "test"))
        first = import_catalogue(uow=uow, text=text, source=str(CATALOGUE), reason="catalogue")
        uow.commit()
    assert first.created == 5  # two services, three subscriptions
    with app.uow() as uow:
        events = uow.audit.count()
        again = import_catalogue(uow=uow, text=text, source=str(CATALOGUE))
        assert uow.audit.count() == events
    assert not again.changed and again.unchanged == 5


def test_the_demo_company_has_its_catalogue_and_the_fixture_is_its_core(demo_app) -> None:
    demo = parse_catalogue(DEMO_CATALOGUE.read_text())
    with demo_app.uow(read_only=True) as uow:
        services = uow.catalogue.services()
        subscriptions = uow.catalogue.subscriptions()
    assert (len(services), sum(len(s.tiers) for s in services), len(subscriptions)) == (
        DEMO_SERVICES, DEMO_TIERS, DEMO_SUBSCRIPTIONS)
    assert sorted(services, key=lambda s: s.code) == sorted(demo.services, key=lambda s: s.code)
    assert {s.code for s in services} == {"EMAIL", "DBAAS", "SERVICEDESK", "VDI"}
    assert len({s.cost_centre for s in subscriptions}) >= 6  # several business units subscribe
    with demo_app.uow(read_only=True) as uow:  # every subscription priced in the demo month
        assert len(subscription_costs(uow=uow, period="2026-10")) == DEMO_SUBSCRIPTIONS


def test_a_tier_change_shows_its_exact_cost_before_it_is_made(demo_app) -> None:
    text = CATALOGUE.read_text()
    with demo_app.uow() as uow:  # the demo already holds the fixture's services, unchanged
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
    with demo_app.uow(read_only=True) as uow:
        before = (uow.catalogue.services(), uow.catalogue.subscriptions())
    with demo_app.uow() as uow:
        with pytest.raises(InputErrors, match="9999"):
            import_catalogue(uow=uow, text=text.replace('rate = "6.35"', 'rate = "5.00"'),
                             source="services.toml")
        uow.commit()
    with demo_app.uow(read_only=True) as uow:  # nothing of the refused file, the rate included
        assert (uow.catalogue.services(), uow.catalogue.subscriptions()) == before
        assert len(before[1]) == DEMO_SUBSCRIPTIONS
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

    imported = run("catalogue", "import", str(CATALOGUE))  # the demo's core: already there
    assert (imported["created"], imported["unchanged"]) == (0, 5)
    imported = run("catalogue", "import", str(DEMO_CATALOGUE))
    assert (imported["created"], imported["unchanged"]) == (0, DEMO_SERVICES + DEMO_SUBSCRIPTIONS)
    preview = run("catalogue", "tier-change", "DBAAS", "ha", "--cost-centre", "5010",
                  "--period", "2026-10")
    assert (preview["monthly_cost_before"], preview["monthly_cost_after"],
            preview["monthly_difference"], preview["applied"]) == (
        "930.00", "2056.50", "1126.50", False)
    listed = run("catalogue", "list", "--period", "2026-10")
    assert {(s["service"], s["cost_centre"], s["tier"]) for s in listed["subscriptions"]} >= {
        ("DBAAS", "5010", "standard")}
    assert len(listed["subscriptions"]) == DEMO_SUBSCRIPTIONS
    applied = run("catalogue", "tier-change", "DBAAS", "ha", "--cost-centre", "5010",
                  "--period", "2026-10", "--apply", "--reason", "failover for the ERP")
    assert applied["applied"] is True and applied["monthly_difference"] == "1126.50"


# -- services as allocation targets and statement lines ----------------------------------------

SERVICE_RULES = """
[ruleset]
name = "it"
version = 1
effective_from = 2026-01-01
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
order = ["infra", "email"]

[[pools]]
id = "infra"
name = "Infrastructure"
owner = "6010"

[[pools]]
id = "email"
name = "E-mail and calendar"
owner = "6010"

[[shared]]
id = "S-INFRA"
pool = "infra"
percent = { "pool:email" = "40", "1010" = "60" }

[[shared]]
id = "S-EMAIL"
pool = "email"
driver = "{driver}:EMAIL"
"""

SMALL_CATALOGUE = """
[[service]]
code = "EMAIL"
name = "E-mail and calendar"
owner = "6010"
currency = "USD"
unit = "user"

[[service.tier]]
name = "bronze"
rate = "6.35"

[[service.tier]]
name = "gold"
rate = "14.785"

[[subscription]]
service = "EMAIL"
cost_centre = "1010"
tier = "bronze"
quantity = "7"

[[subscription]]
service = "EMAIL"
cost_centre = "2010"
tier = "gold"
quantity = "3"
"""


def _service_company(app, driver: str):
    from tests.services.allocation_support import AllocationCompany

    company = AllocationCompany(app)
    company.save_rules(SERVICE_RULES.replace("{driver}", driver))
    company.activate(1)
    with app.uow() as uow:
        import_catalogue(uow=uow, text=SMALL_CATALOGUE, source="services.toml", reason="test")
        uow.commit()
    return company


def _run_power(company, amount: str = "1000.00"):
    from ledger.allocation import ManualCost

    return company.run(costs=[ManualCost("power", "2026-10", "infra", Decimal(amount), "USD",
                                         "data-centre power")])


def test_a_pool_sent_to_a_service_reaches_its_subscribers_by_subscription_value(app) -> None:
    from fractions import Fraction

    from ledger.services.catalogue import service_charges
    from ledger.services.methodology import build_methodology
    from ledger.services.reports import statement

    company = _service_company(app, "service")
    outcome = _run_power(company)
    lines = {(li.cost_centre, li.pool): li.amount for li in outcome.result.lines}
    # 40 % of infra goes to the e-mail service: 400.00, split by units x tier rate.
    bronze, gold = Decimal("7") * Decimal("6.35"), Decimal("3") * Decimal("14.785")
    exact = {"1010": Fraction(400) * Fraction(bronze) / Fraction(bronze + gold),
             "2010": Fraction(400) * Fraction(gold) / Fraction(bronze + gold)}
    assert lines[("1010", "email")] == cents(Decimal(exact["1010"].numerator)
                                             / Decimal(exact["1010"].denominator))
    assert lines[("1010", "email")] + lines[("2010", "email")] == Decimal("400.00")
    assert lines[("1010", "infra")] == Decimal("600.00")
    assert sum(outcome.result.allocated_total.values()) == Decimal("1000.00")  # every cent

    with app.uow(read_only=True) as uow:
        found = statement(uow=uow, cost_centre="1010", period="2026-10")
        charges = service_charges(uow=uow, period="2026-10")
        document = build_methodology(uow=uow, period="2026-10")  # documents the service rule
    service_lines = [li for li in found.lines if li.service == "EMAIL"]
    assert [(li.pool, li.amount) for li in service_lines] == [("email", lines[("1010", "email")])]
    assert "7 user at bronze 6.35 = 44.45 of 88.805 subscribed" in service_lines[0].basis
    assert found.by_service() == {("EMAIL", "USD"): lines[("1010", "email")],
                                  ("(infra)", "USD"): Decimal("600.00")}
    assert found.totals == {"USD": outcome.result.by_cost_centre()[("1010", "USD")]}
    (email,) = charges
    assert "subscriptions of catalogue service EMAIL" in str(document)
    assert {c: a for c, _, a in email.charged} == {"1010": lines[("1010", "email")],
                                                   "2010": lines[("2010", "email")]}


def test_a_service_at_its_catalogue_rate_charges_the_price_and_the_owner_keeps_the_rest(app
                                                                                       ) -> None:
    company = _service_company(app, "service-rate")
    outcome = _run_power(company)
    lines = {(li.cost_centre, li.pool, li.kind.value): li.amount for li in outcome.result.lines}
    assert lines[("1010", "email", "shared")] == Decimal("44.45")  # 7 x 6.35
    assert lines[("2010", "email", "shared")] == Decimal("44.36")  # 3 x 14.785, to the cent
    assert lines[("6010", "email", "rate_difference")] == Decimal("400.00") - Decimal("88.81")
    assert sum(outcome.result.allocated_total.values()) == Decimal("1000.00")


def test_a_service_pool_naming_a_service_the_catalogue_lacks_stops_the_run(app) -> None:
    from tests.services.allocation_support import AllocationCompany

    company = AllocationCompany(app)
    company.save_rules(SERVICE_RULES.replace("{driver}", "service"))
    company.activate(1)
    with pytest.raises(InputError, match="service EMAIL is not in the catalogue"):
        _run_power(company)


def _pure_run(amount: Decimal, quantities: dict[str, tuple[str, Decimal]], driver: str):
    """The rule set above expanded for a catalogue with ``quantities`` (cost centre -> tier,
    units) and run on one manual cost of ``amount`` in pool infra, without a database."""
    from ledger.allocation import ManualCost, ManualSource, allocate_period
    from ledger.allocation.rules import parse_ruleset
    from ledger.catalogue_targets import expand, weights
    from ledger.reference import CostCentre

    catalogue = parse_catalogue(SMALL_CATALOGUE.split("[[subscription]]")[0])
    service = catalogue.services[0]
    subscriptions = {c: Subscription("EMAIL", c, tier, units)
                     for c, (tier, units) in quantities.items()}
    ruleset, drivers = expand(parse_ruleset(SERVICE_RULES.replace("{driver}", driver)),
                              "2026-10", {"EMAIL": weights(service, subscriptions,
                                                           {c: q for c, (_, q)
                                                            in quantities.items()})})
    centres = [CostCentre(code, code) for code in ("1010", "2010", "3010", "6010")]
    result = allocate_period(period="2026-10", ruleset=ruleset, drivers=drivers,
                             sources=[ManualSource([ManualCost("power", "2026-10", "infra",
                                                               amount, "USD")])],
                             cost_centres=centres)
    return service, result


subscribers = st.dictionaries(
    st.sampled_from(["1010", "2010", "3010"]),
    st.tuples(st.sampled_from(["bronze", "gold"]),
              st.decimals(min_value=0, max_value=500, places=2)), max_size=3)


@settings(max_examples=25, deadline=None)
@given(amount=st.decimals(min_value=Decimal("-500"), max_value=Decimal("100000"), places=2),
       quantities=subscribers)
def test_a_service_split_conserves_every_cent_and_follows_the_subscriptions(
        amount, quantities) -> None:
    from fractions import Fraction

    service, result = _pure_run(amount, quantities, "service")
    allocated = result.allocated_total.get("USD", Decimal(0))
    assert allocated + result.unallocated_total.get("USD", Decimal(0)) == amount
    email = {li.cost_centre: li.amount for li in result.lines if li.pool == "email"}
    value = {c: units * service.tier(tier).rate for c, (tier, units) in quantities.items()}
    total = sum(value.values(), Decimal(0))
    into = sum(email.values(), Decimal(0))
    if total:
        for centre, amount_ in email.items():  # within a cent of its exact share
            exact = Fraction(into) * Fraction(value[centre]) / Fraction(total)
            assert abs(Fraction(amount_) - exact) <= Fraction(1, 100)
        assert set(email) == {c for c, v in value.items() if v}


@settings(max_examples=25, deadline=None)
@given(amount=st.decimals(min_value=0, max_value=Decimal("100000"), places=2),
       quantities=subscribers)
def test_a_service_at_its_rate_charges_each_subscriber_its_price_to_the_cent(
        amount, quantities) -> None:
    service, result = _pure_run(amount, quantities, "service-rate")
    assert result.allocated_total.get("USD", Decimal(0)) + result.unallocated_total.get(
        "USD", Decimal(0)) == amount
    charged = {li.cost_centre: li.amount for li in result.lines
               if li.pool == "email" and li.kind.value == "shared"}
    prices = {c: cents(units * service.tier(tier).rate) for c, (tier, units)
              in quantities.items()}
    if amount:
        assert charged == {c: p for c, p in prices.items() if p}
