"""Benchmark: the whole allocation run, from the cost fact store's Parquet to balanced journals.

Not a test. Run by hand::

    python bench/bench_allocation.py --rows 1000000
    python bench/bench_allocation.py --rows 10000000

It writes N FOCUS 1.0 rows (hourly usage over September 2024, ~200 accounts, 41 services) with
realistic tag mess as Parquet: the cost-centre key spelt ``CostCenter``, ``cost-center``,
``costcentre`` or ``CC`` depending on the account; values in wrong case; unknown codes; a
``team`` tag that a lookup table maps; an ``env`` tag per account; 10 % of rows untagged. That
gives about 17,000 distinct (account, service, tags) keys, like the 19,000 measured on real
10M-row months (DESIGN.md section 5). It imports them into a cost fact
store (setup, not timed), then, each in a fresh process so that peak memory is its own:

1. baseline: one hand-written DuckDB query over the same store doing the same mapping (aliases,
   case folding, lookup table, fallback by account, shared remainder) and the aggregation per
   cost centre, exact DECIMAL sums;
2. engine: :func:`ledger.allocation.engine.allocate_period` with the store as source, to the
   quantised lines and balanced journal entries.

It prints time and peak RSS of both, the ratio, and checks that both give the same exact total
per cost centre before the shared split (the engine's direct lines against the query).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb

PERIOD = "2024-09"
CENTRES = [f"{code}" for code in (1010, 1020, 1030, 2010, 2020, 2030, 3010, 3020, 4010, 4020,
                                  5010, 5020, 5030, 5040, 6010, 6050)]
TEAMS = {"platform": "5010", "data": "5020", "web": "5030", "mobile": "5040",
         "sales-emea": "2010", "sales-us": "2020", "plant": "1010", "logistics": "1020"}

RULES = f"""
[ruleset]
name = "bench"
version = 1
effective_from = 2024-01-01
cost_basis = "EffectiveCost"
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"

[tag_keys]
cost_centre = ["CostCenter", "cost-center", "costcentre", "CC"]
team = ["Team", "owner-team"]

[[pools]]
id = "cloud"
name = "Public cloud"
owner = "6010"

[[mapping]]
id = "M05"
description = "the network transit service belongs to Network Services"
when = {{ service_name = "service 40" }}
cost_centre = "6050"

[[mapping]]
id = "M10"
description = "the cost-centre tag, whatever its spelling"
when = {{ tags = {{ cost_centre = "*" }} }}
cost_centre_from_tag = "cost_centre"

[[mapping]]
id = "M20"
description = "the team tag, through the team table"
when = {{ tags = {{ team = "*" }} }}
cost_centre_from_tag = "team"
values = {{ {", ".join(f'"{k}" = "{v}"' for k, v in TEAMS.items())} }}

[[mapping]]
id = "M30"
description = "untagged sandbox accounts belong to engineering"
when = {{ sub_account_id = "acct-1?" }}
cost_centre = "5010"

[[mapping]]
id = "M90"
description = "everything else on AWS is shared by headcount"
when = {{ provider = "AWS" }}
shared = true

[[shared]]
id = "S90"
pool = "cloud"
driver = "headcount"
targets = [{", ".join(f'"{c}"' for c in CENTRES if not c.startswith("6"))}]
"""


def generate(path: Path, rows: int) -> None:
    """FOCUS rows as Parquet (text columns, like a converted export), written by DuckDB."""
    keys = "['CostCenter', 'cost-center', 'costcentre', 'CC']"
    centres = "[" + ", ".join(f"'{c}'" for c in CENTRES) + ", '9999', 'cc-unknown']"
    teams = "[" + ", ".join(f"'{t}'" for t in TEAMS) + ", 'Platform', 'DATA', 'platfrom']"
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
          WITH base AS (
            SELECT i, CAST(hash(i) % 211 AS BIGINT) AS acct, i % 41 AS svc FROM range({rows}) t(i)
          )
          SELECT
            '1234567890' AS BillingAccountId,
            'USD' AS BillingCurrency,
            '2024-09-01 00:00:00' AS BillingPeriodStart,
            '2024-10-01 00:00:00' AS BillingPeriodEnd,
            CASE WHEN i % 97 = 0 THEN 'Credit' WHEN i % 89 = 0 THEN 'Tax' ELSE 'Usage' END
              AS ChargeCategory,
            strftime(TIMESTAMP '2024-09-01' + to_hours(CAST(i % 720 AS BIGINT)),
                     '%Y-%m-%d %H:%M:%S') AS ChargePeriodStart,
            strftime(TIMESTAMP '2024-09-01' + to_hours(CAST(i % 720 + 1 AS BIGINT)),
                     '%Y-%m-%d %H:%M:%S') AS ChargePeriodEnd,
            CASE WHEN acct % 10 = 9 THEN 'Microsoft' ELSE 'AWS' END AS ProviderName,
            'Service ' || svc AS ServiceName,
            'Compute' AS ServiceCategory,
            'acct-' || acct AS SubAccountId,
            'arn:aws:svc:us-east-1:' || acct || ':res/' || (hash(i * 7) % 5000) AS ResourceId,
            'us-east-1' AS RegionId,
            '1.0' AS PricingQuantity,
            'Hours' AS PricingUnit,
            (CASE WHEN i % 97 = 0 THEN '-' ELSE '' END)
              || (hash(i * 5) % 1000) || '.' || lpad(CAST(hash(i * 11) % 10000000000 AS VARCHAR),
                                                     10, '0') AS BilledCost,
            (CASE WHEN i % 97 = 0 THEN '-' ELSE '' END)
              || (hash(i * 5) % 1000) || '.' || lpad(CAST(hash(i * 13) % 10000000000 AS VARCHAR),
                                                     10, '0') AS EffectiveCost,
            NULL AS ListCost,
            CASE
              WHEN i % 10 = 0 OR acct < 20 THEN NULL
              WHEN acct % 3 = 0 THEN
                '{{"' || {keys}[1 + acct % 4] || '": "'
                || {centres}[1 + (acct * 7 + i % 2) % 18] || '", "env": "'
                || ['prod', 'dev', 'test'][1 + acct // 3 % 3] || '"}}'
              WHEN acct % 3 = 1 THEN
                '{{"' || ['team', 'Team', 'owner-team'][1 + acct % 3] || '": "'
                || {teams}[1 + (acct + i % 3) % 11] || '", "env": "'
                || ['prod', 'dev', 'test'][1 + acct // 3 % 3] || '"}}'
              ELSE '{{"env": "' || ['prod', 'dev', 'test'][1 + acct // 3 % 3] || '"}}'
            END AS Tags
          FROM base
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    con.close()


def _peak_rss_mib() -> float:
    """Peak resident memory of this process. VmHWM, because ru_maxrss survives exec and would
    report the parent's peak in a freshly spawned child."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def baseline_sql() -> str:
    """The same mapping as :data:`RULES`, hand-written: first match wins, top to bottom."""
    cc_keys = "['costcenter', 'cost-center', 'costcentre', 'cc', 'cost_centre']"
    team_keys = "['team', 'owner-team']"
    valid = ", ".join(f"'{c}'" for c in CENTRES)
    team_map = ", ".join(f"'{k}': '{v}'" for k, v in TEAMS.items())
    return f"""
    WITH tagged AS (
      SELECT provider, sub_account_id, service_name, effective_cost,
        list_filter(map_entries(tags), e -> list_contains({cc_keys}, lower(trim(e.key))))
          AS cc_tag,
        list_filter(map_entries(tags), e -> list_contains({team_keys}, lower(trim(e.key))))
          AS team_tag
      FROM cost_facts WHERE billing_period = '{PERIOD}'
    ), mapped AS (
      SELECT effective_cost,
        CASE
          WHEN lower(service_name) = 'service 40' THEN '6050'
          WHEN len(cc_tag) > 0 THEN
            CASE WHEN lower(trim(cc_tag[1].value)) IN ({valid})
                 THEN lower(trim(cc_tag[1].value)) ELSE 'UNALLOCATED:invalid' END
          WHEN len(team_tag) > 0 AND MAP {{{team_map}}}[lower(trim(team_tag[1].value))]
               IS NOT NULL THEN MAP {{{team_map}}}[lower(trim(team_tag[1].value))]
          WHEN lower(sub_account_id) LIKE 'acct-1_' THEN '5010'
          WHEN lower(provider) = 'aws' THEN 'SHARED:cloud'
          WHEN len(team_tag) > 0 THEN 'UNALLOCATED:unknown-team'
          ELSE 'UNALLOCATED:no-rule'
        END AS cost_centre
      FROM tagged
    )
    SELECT cost_centre, count(*), sum(effective_cost) FROM mapped GROUP BY 1 ORDER BY 1
    """


def run_baseline(store_dir: str) -> dict:
    from ledger.costfacts import CostFactStore

    store = CostFactStore(store_dir)
    start = time.perf_counter()
    with store.connect(periods=[PERIOD]) as con:
        rows = con.execute(baseline_sql()).fetchall()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss": _peak_rss_mib(),
            "totals": {cc: str(total) for cc, _, total in rows}}


def run_engine(store_dir: str) -> dict:
    from ledger.allocation.engine import allocate_period
    from ledger.allocation.rules import parse_ruleset
    from ledger.costfacts import CostFactStore
    from ledger.reference import CostCentre, DriverQuantity

    store = CostFactStore(store_dir)
    ruleset = parse_ruleset(RULES, source="bench.toml")
    centres = [CostCentre(code, f"Cost centre {code}") for code in CENTRES]
    drivers = [DriverQuantity("headcount", code, PERIOD, Decimal(10 + int(code) % 37))
               for code in CENTRES]
    start = time.perf_counter()
    result = allocate_period(period=PERIOD, ruleset=ruleset, sources=[store], drivers=drivers,
                             cost_centres=centres)
    seconds = time.perf_counter() - start
    direct: dict[str, Decimal] = {}
    for source in result.inputs:
        if source.kind == "direct":
            key = source.cost_centre
        elif source.kind == "shared":
            key = "SHARED:cloud"
        else:
            key = "UNALLOCATED"
        direct[key] = direct.get(key, Decimal(0)) + source.line.amount
    return {
        "seconds": seconds,
        "rss": _peak_rss_mib(),
        "groups": len(result.inputs),
        "lines": len(result.lines),
        "journals": len(result.journals),
        "journal_lines": sum(len(j.lines) for j in result.journals),
        "source_total": str(result.source_total["USD"]),
        "allocated": str(result.allocated_total["USD"]),
        "unallocated": str(result.unallocated_total["USD"]),
        "direct": {k: str(v) for k, v in direct.items()},
    }


def _in_child(function, *args) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best counts")
    args = parser.parse_args()

    from connectors.billing import import_billing_file
    from ledger.costfacts import CostFactStore

    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        parquet = Path(work) / "focus.parquet"
        start = time.perf_counter()
        generate(parquet, args.rows)
        print(f"generated {args.rows:,} FOCUS rows as Parquet in "
              f"{time.perf_counter() - start:.1f} s")
        store_dir = str(Path(work) / "costfacts")
        start = time.perf_counter()
        import_billing_file(CostFactStore(store_dir), parquet)
        print(f"imported into the cost fact store in {time.perf_counter() - start:.1f} s")

        base = min((_in_child(run_baseline, store_dir) for _ in range(args.repeat)),
                   key=lambda r: r["seconds"])
        engine = min((_in_child(run_engine, store_dir) for _ in range(args.repeat)),
                     key=lambda r: r["seconds"])

    print(f"baseline  one DuckDB query (map + aggregate):   {base['seconds']:6.2f} s  "
          f"peak RSS {base['rss']:,.0f} MiB  {len(base['totals'])} result rows")
    print(f"engine    allocate_period -> journals:          {engine['seconds']:6.2f} s  "
          f"peak RSS {engine['rss']:,.0f} MiB  {engine['groups']:,} distinct keys, "
          f"{engine['lines']} lines, {engine['journals']} journal(s) with "
          f"{engine['journal_lines']} lines")
    print(f"ratio engine / baseline: {engine['seconds'] / base['seconds']:.2f}x time, "
          f"{engine['rss'] / base['rss']:.2f}x peak RSS")
    print(f"source total {engine['source_total']} = allocated {engine['allocated']} + "
          f"unallocated {engine['unallocated']}")
    query = {k: Decimal(v) for k, v in base["totals"].items()}
    mapped = {k: Decimal(v) for k, v in engine["direct"].items()}
    unallocated = sum((v for k, v in query.items() if k.startswith("UNALLOCATED")), Decimal(0))
    query = {k: v for k, v in query.items() if not k.startswith("UNALLOCATED")}
    if unallocated:
        query["UNALLOCATED"] = unallocated
    print("mapping agrees with the query, cost centre by cost centre: "
          f"{'yes' if query == mapped else 'NO'}")
    if query != mapped:
        for key in sorted(set(query) | set(mapped)):
            if query.get(key) != mapped.get(key):
                print(f"  {key}: query {query.get(key)} engine {mapped.get(key)}")


if __name__ == "__main__":
    main()
