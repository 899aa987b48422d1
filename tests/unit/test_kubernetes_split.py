"""A shared cluster's cost split to namespaces: exact to the cent, checked against the hand
computation written out below for each basis (request, usage, max) and idle policy."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.allocation import CostLine, parse_ruleset, to_toml
from ledger.allocation.rules import diff
from ledger.errors import InputError
from ledger.kubernetes import (
    IDLE,
    Basis,
    ClusterRule,
    ClusterSplitSource,
    IdleShare,
    UsageRecord,
    shares,
    split,
)

D = Decimal


def usage(namespace: str, cpu_req: str, cpu_use: str, ram_req: str, ram_use: str,
          **labels: str) -> UsageRecord:
    return UsageRecord("prod", "2026-10", namespace, D(cpu_req), D(cpu_use), D(ram_req),
                       D(ram_use), tuple(sorted(labels.items())))


# Capacity is what the workloads took under max plus the idle the source reports:
#   CPU  = payments 40 + search 30 + kube-system 10 + idle 20  = 100 core-hours
#   RAM  = payments 160 + search 100 + kube-system 40 + idle 100 = 400 GiB-hours
CLUSTER = [
    usage("payments", "40", "20", "100", "160", team="pay"),
    usage("search", "10", "30", "100", "40", team="find"),
    usage("kube-system", "10", "10", "40", "40"),
    UsageRecord("prod", "2026-10", IDLE, D(20), D(20), D(100), D(100)),
]


def rule(basis: Basis, idle: IdleShare, **more) -> ClusterRule:
    owner = "6010" if idle is IdleShare.OWNER else None
    return ClusterRule("K1", "prod", basis=basis, idle=idle, idle_owner=owner, **more)


def amounts(amount: str, the_rule: ClusterRule, records=CLUSTER) -> dict[str, Decimal]:
    parts = split(D(amount), shares(the_rule, records))
    assert sum(a for _, a in parts) == D(amount)  # every cent, always
    return {share.key: value for share, value in parts}


def test_max_basis_with_idle_weighted_by_cost() -> None:
    # Each namespace: 50% x CPU-hours / 100 + 50% x GiB-hours / 400, hours = max(request, use)
    #   payments .5x40/100 + .5x160/400 = .400    search .5x30/100 + .5x100/400 = .275
    #   kube-system .5x10/100 + .5x40/400 = .100  idle = 1 - .775 = .225
    # kube-system and idle go to the tenants in proportion 400 : 275, so of 1000.00:
    #   payments 1000 x 400/675 = 592.5925..   search 1000 x 275/675 = 407.4074..
    # cents by largest remainder: 59259 + 40740 = 99999, the last cent to search (.74 > .26)
    assert amounts("1000.00", rule(Basis.MAX, IdleShare.WEIGHTED)) == {
        "payments": D("592.59"), "search": D("407.41")}


def test_max_basis_with_idle_shared_evenly() -> None:
    # payments .400 + .100 x 400/675 + .225/2 = .5717592..  -> 571.7592..
    # search   .275 + .100 x 275/675 + .225/2 = .4282407..  -> 428.2407..
    # floors 57175 + 42824 = 99999: the last cent to payments (.92 > .07)
    assert amounts("1000.00", rule(Basis.MAX, IdleShare.EVEN)) == {
        "payments": D("571.76"), "search": D("428.24")}


def test_request_basis_with_idle_charged_to_its_owner() -> None:
    # payments .5x40/100 + .5x100/400 = .325    search .5x10/100 + .5x100/400 = .175
    # kube-system .100 shared .325 : .175 -> payments +.065, search +.035; idle 1 - .6 = .4
    assert amounts("1000.00", rule(Basis.REQUEST, IdleShare.OWNER)) == {
        "payments": D("390.00"), "search": D("210.00"), "6010": D("400.00")}


def test_usage_basis_splits_an_odd_cent_by_largest_remainder() -> None:
    # payments .5x20/100 + .5x160/400 = .300    search .5x30/100 + .5x40/400 = .200
    # kube-system .100 and idle .400 follow .3 : .2, so payments 60%, search 40% of 1000.01:
    #   600.006 and 400.004 -> floors 60000 + 40000 units, the leftover cent to payments
    assert amounts("1000.01", rule(Basis.USAGE, IdleShare.WEIGHTED)) == {
        "payments": D("600.01"), "search": D("400.00")}


def test_a_credit_splits_as_the_mirror_of_a_cost() -> None:
    assert amounts("-1000.01", rule(Basis.USAGE, IdleShare.WEIGHTED)) == {
        "payments": D("-600.01"), "search": D("-400.00")}


def test_by_label_groups_namespaces_and_cpu_percent_changes_the_weights() -> None:
    records = [usage("web", "10", "10", "0", "0", team="a"),
               usage("api", "30", "30", "0", "0", team="a"),
               usage("batch", "60", "60", "0", "0", team="b")]
    # No RAM capacity at all: CPU pays for everything whatever cpu_percent says.
    assert amounts("10.00", rule(Basis.MAX, IdleShare.EVEN, by="label:team",
                                 cpu_percent=D(20)), records) == {"a": D("4.00"), "b": D("6.00")}


def test_a_cluster_with_only_system_namespaces_charges_idle_to_the_owner_line() -> None:
    records = [usage("kube-system", "5", "5", "0", "0"),
               UsageRecord("prod", "2026-10", IDLE, D(5), D(5), D(0), D(0))]
    assert amounts("9.99", rule(Basis.MAX, IdleShare.OWNER), records) == {
        "kube-system": D("5.00"), "6010": D("4.99")}


def test_an_unused_cluster_without_an_idle_owner_is_an_idle_line_never_dropped() -> None:
    records = [UsageRecord("prod", "2026-10", IDLE, D(5), D(5), D(0), D(0))]
    (share,) = shares(rule(Basis.MAX, IdleShare.EVEN), records)
    assert (share.kind, share.key, share.fraction, share.tags) == (
        "namespace", IDLE, 1, (("namespace", IDLE),))


def test_no_capacity_is_refused() -> None:
    with pytest.raises(InputError, match="no CPU or RAM capacity"):
        shares(rule(Basis.MAX, IdleShare.EVEN), [usage("a", "0", "0", "0", "0")])


class _Billing:
    def __init__(self, lines) -> None:
        self.items = lines

    def lines(self, **_):
        return iter(self.items)


def test_the_source_splits_only_the_clusters_lines_and_tags_them_for_the_mapping_rules() -> None:
    node = CostLine("billing", "USD", D("1000.00"), (("resource_id", "i-node-1"),),
                    (("cluster", "PROD"), ("team", "platform")))
    other = CostLine("billing", "USD", D("5.55"), (("resource_id", "db-1"),), (("cc", "1"),))
    disk = CostLine("billing", "USD", D("0.03"), (("resource_id", "vol-prod-9"),))
    source = ClusterSplitSource(
        _Billing([node, other, disk]),
        [rule(Basis.MAX, IdleShare.WEIGHTED, resource_ids=("vol-prod-*",))],
        {"prod": CLUSTER}, fallback_pool="cloud")
    lines = list(source.lines(attributes=(), tag_keys=frozenset()))
    assert other in lines
    split_lines = [li for li in lines if li.origin == "kubernetes"]
    assert sum(li.amount for li in split_lines) == D("1000.03")
    payments = [li for li in split_lines if ("namespace", "payments") in li.tags]
    # the namespace's own label overrides the node's team tag; the cluster tag stays
    assert payments[0].tags == (("cluster", "PROD"), ("namespace", "payments"), ("team", "pay"))
    assert ("k8s_share", "namespace") in payments[0].attributes
    assert {li.amount for li in payments} == {D("592.59"), D("0.02")}


RULES = """
[ruleset]
name = "k8s"
version = 1
effective_from = 2026-01-01
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"

[[pools]]
id = "cloud"
name = "Cloud"
owner = "6010"

[[clusters]]
id = "prod"
cluster = "prod-eu"
resource_ids = ["eks-node-*"]
basis = "{basis}"
idle = "owner"
idle_owner = "6010"
system_namespaces = ["kube-system", "monitoring"]
"""


def test_cluster_rules_parse_round_trip_and_show_in_the_diff() -> None:
    ruleset = parse_ruleset(RULES.format(basis="max"))
    (cluster,) = ruleset.clusters
    assert (cluster.basis, cluster.idle, cluster.system_namespaces) == (
        Basis.MAX, IdleShare.OWNER, ("kube-system", "monitoring"))
    assert parse_ruleset(to_toml(ruleset)) == ruleset
    changed = diff(ruleset, parse_ruleset(RULES.format(basis="usage")))
    assert [str(c) for c in changed] == ["changed cluster prod (basis: max -> usage)"]


@pytest.mark.parametrize(("text", "field"), [
    (RULES.format(basis="most"), "basis"),
    (RULES.format(basis="max").replace('idle_owner = "6010"\n', ""), "idle_owner"),
    (RULES.format(basis="max") + 'cpu_percent = "120"\n', "cpu_percent"),
    (RULES.format(basis="max") + 'nodes = "x"\n', "nodes"),
])
def test_a_bad_cluster_rule_names_the_rule_and_field(text: str, field: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_ruleset(text, source="rules.toml")
    assert (caught.value.source, caught.value.row, caught.value.field) == (
        "rules.toml", "cluster rule 1", field)


def test_a_cluster_rule_names_a_pool_of_the_rule_set() -> None:
    text = RULES.format(basis="max") + 'pool = "nowhere"\n'
    with pytest.raises(InputError) as caught:
        parse_ruleset(text, source="rules.toml")
    assert (caught.value.field, caught.value.value) == ("pool", "nowhere")


_hours = st.integers(min_value=0, max_value=10_000).map(Decimal)


@settings(max_examples=150, deadline=None)
@given(usage_rows=st.lists(st.tuples(st.sampled_from(["a", "b", "c", "kube-system"]),
                                     _hours, _hours, _hours, _hours), min_size=1, max_size=8),
       idle=st.tuples(_hours, _hours),
       cents=st.integers(min_value=-10_000_000, max_value=10_000_000),
       basis=st.sampled_from(list(Basis)), policy=st.sampled_from(list(IdleShare)))
def test_any_usage_splits_any_amount_to_the_cent(usage_rows, idle, cents, basis, policy
                                                 ) -> None:
    records = [usage(*row) for row in usage_rows]
    records.append(UsageRecord("prod", "2026-10", IDLE, idle[0], idle[0], idle[1], idle[1]))
    try:
        parts = shares(rule(basis, policy), records)
    except InputError:
        return  # no capacity at all: refused, never guessed
    assert sum((p.fraction for p in parts), Fraction(0)) == 1
    assert all(p.key for p in parts)  # every part has someone to charge
    amount = Decimal(cents).scaleb(-2)
    split_parts = split(amount, parts)
    assert sum(a for _, a in split_parts) == amount
    for share, part in split_parts:
        assert abs(Fraction(part) - Fraction(amount) * share.fraction) < Fraction(1, 100)
