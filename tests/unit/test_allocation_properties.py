"""Properties of the allocation run over random rule sets, drivers and cost lines: every minor
unit is conserved, every journal balances, each line is within reach of its exact amount, and
rerunning the same inputs gives the same result."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.allocation import AllocationError, CostLine, allocate_period, parse_ruleset
from ledger.money import currency_quantum, round_to_currency
from ledger.reference import CostCentre, DriverQuantity

PERIOD = "2026-10"
CODES = ["1010", "2010", "5010", "6010", "6050"]
TEAMS = ["platform", "sales", "Platform", "PLANT", "unknown"]


class ListSource:
    def __init__(self, lines):
        self.items = lines

    def lines(self, **_):
        return iter(self.items)


amounts = st.builds(
    lambda units, scale: Decimal(units).scaleb(-scale),
    st.integers(min_value=-10**12, max_value=10**14), st.integers(min_value=0, max_value=18),
)
lines = st.lists(
    st.builds(
        lambda amount, currency, provider, service, tags: CostLine(
            origin="billing", currency=currency, amount=amount,
            attributes=(("provider", provider), ("service_name", service)),
            tags=tuple(sorted(tags.items()))),
        amounts,
        st.sampled_from(["USD", "USD", "EUR", "JPY", "BHD"]),
        st.sampled_from(["AWS", "Microsoft", "Oracle"]),
        st.sampled_from(["compute", "storage", "network", "power"]),
        st.dictionaries(st.sampled_from(["CostCenter", "cc", "team", "env"]),
                        st.sampled_from([*CODES, *TEAMS, "9999"]), max_size=3),
    ),
    max_size=25,
)


@st.composite
def rulesets(draw):
    """A random but valid rule set: a few mapping rules in random order, two to three pools
    with random split bases, the service pools passing cost on in step-down order or
    reciprocally, random chargeback models and idle policies."""
    method = draw(st.sampled_from(["step_down", "reciprocal"]))
    pools = ["cloud", "infra", "facilities"][: draw(st.integers(2, 3))]
    text = [f"""
[ruleset]
name = "random"
version = 1
effective_from = 2026-01-01
method = "{method}"
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"
order = [{", ".join(f'"{p}"' for p in reversed(pools))}]

[tag_keys]
cost_centre = ["CostCenter", "cc"]
"""]
    for pool in pools:
        model = draw(st.sampled_from(["full", "subsidy", "showback"]))
        idle = draw(st.sampled_from(["spread", "owner", "central"]))
        subsidy = draw(st.sampled_from(["10", "33.3", "50"]))
        penalty = draw(st.sampled_from(["0", "10", "250"]))
        text.append(f"""
[[pools]]
id = "{pool}"
owner = "{draw(st.sampled_from(["6010", "6050"]))}"
chargeback = "{model}"
{f'subsidy_percent = "{subsidy}"' if model == "subsidy" else ""}
idle = "{idle}"
{f'idle_penalty_percent = "{penalty}"' if idle == "owner" else ""}
""")
    mapping = [
        """
[[mapping]]
id = "M-cc"
when = { tags = { cost_centre = "*" } }
cost_centre_from_tag = "cost_centre"
""",
        """
[[mapping]]
id = "M-team"
when = { tags = { team = "*" } }
cost_centre_from_tag = "team"
values = { platform = "5010", sales = "2010", plant = "1010" }
""",
        f"""
[[mapping]]
id = "M-power"
when = {{ service_name = "power" }}
pool = "{pools[-1]}"
shared = true
""",
        """
[[mapping]]
id = "M-idle"
when = { service_name = "storage", provider = "Oracle" }
idle = true
""",
        """
[[mapping]]
id = "M-aws"
when = { provider = "aws" }
shared = true
""",
        """
[[mapping]]
id = "M-fixed"
when = { service_name = "net*" }
cost_centre = "6050"
""",
    ]
    text += draw(st.permutations(mapping))
    for index, pool in enumerate(pools):
        later = pools[:index] if method == "step_down" else [p for p in pools if p != pool]
        # order is reversed(pools): a pool may pass cost to pools earlier in the list
        basis = draw(st.sampled_from(["driver", "percent", "even", "capacity"]))
        targets = ["1010", "2010", "5010", *[f"pool:{p}" for p in later][:1]]
        if pool == "cloud":
            targets = ["1010", "2010", "5010"]
            if method == "reciprocal" and draw(st.booleans()):
                targets.append("pool:infra")  # infra and cloud serve each other
        rule = f'\n[[shared]]\nid = "S-{pool}"\npool = "{pool}"\n'
        if basis == "percent":
            shares = [33, 33, 34] if len(targets) == 3 else [25, 25, 25, 25]
            rule += "percent = { " + ", ".join(
                f'"{t}" = "{s}"' for t, s in zip(targets, shares, strict=True)) + " }\n"
        elif basis == "even":
            rule += "even = true\ntargets = [" + ", ".join(f'"{t}"' for t in targets) + "]\n"
        else:
            rule += 'driver = "headcount"\ntargets = [' + ", ".join(
                f'"{t}"' for t in targets) + "]\n"
            if basis == "capacity":
                rule += 'capacity = "40"\n'
        text.append(rule)
    return parse_ruleset("".join(text), source="random.toml")


drivers = st.lists(
    st.builds(lambda code, n: DriverQuantity("headcount", code, PERIOD, Decimal(n)),
              st.sampled_from(CODES), st.integers(0, 30)),
    max_size=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruleset=rulesets(), facts=lines, quantities=drivers)
def test_every_minor_unit_is_conserved_and_every_journal_balances(ruleset, facts, quantities):
    centres = [CostCentre(code, code) for code in CODES]
    try:
        result = allocate_period(period=PERIOD, ruleset=ruleset, sources=[ListSource(facts)],
                                 drivers=quantities, cost_centres=centres)
    except AllocationError as exc:  # pools sending everything to each other: refused
        assert "pass all their cost on to each other" in str(exc)
        return
    for currency, total in result.source_total.items():
        quantum = currency_quantum(currency)
        # exactly: 18 decimals and 14 integer digits are more than Decimal's default 28
        assert Fraction(total) == sum(
            (Fraction(f.amount) for f in facts if f.currency == currency), Fraction(0))
        rounded = round_to_currency(total, currency)  # the one rounding policy
        allocated = sum((line.amount for line in result.lines if line.currency == currency),
                        Decimal(0))
        missing = sum((gap.amount for gap in result.unallocated if gap.currency == currency),
                      Decimal(0))
        assert allocated == result.allocated_total[currency]
        assert allocated + missing == rounded
        exact = sum((line.exact for line in result.lines if line.currency == currency),
                    Fraction(0)) + sum((gap.exact for gap in result.unallocated
                                        if gap.currency == currency), Fraction(0))
        assert exact == Fraction(total)
    for line in [*result.lines, *result.unallocated]:
        quantum = Fraction(currency_quantum(line.currency))
        assert line.amount % currency_quantum(line.currency) == 0
        assert abs(Fraction(line.amount) - line.exact) < 2 * quantum
    for entry in result.journals:  # constructed, so balanced; check the sums all the same
        for currency in entry.currencies:
            debit = sum(x.amount for x in entry.lines if x.side == "debit")
            credit = sum(x.amount for x in entry.lines if x.side == "credit")
            assert debit == credit == entry.total(currency)
    again = allocate_period(period=PERIOD, ruleset=ruleset,
                            sources=[ListSource(list(reversed(facts)))], drivers=quantities,
                            cost_centres=centres)
    assert again.fingerprint == result.fingerprint
    assert again.allocated_total == result.allocated_total
    assert again.by_cost_centre() == result.by_cost_centre()
    assert again.journals == result.journals
