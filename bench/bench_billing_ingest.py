"""Benchmark: ingest synthetic FOCUS billing rows into the cost fact store, then aggregate them.

Not a test. Run by hand::

    python bench/bench_billing_ingest.py --rows 1000000

It writes a FOCUS 1.0 CSV of N rows (hourly usage over one month, ~40 services, ~200 accounts,
JSON tags), then, each in a fresh process so that peak memory is its own:

1. baseline: plain DuckDB ``read_csv`` of the file + GROUP BY month, service, account, tags,
   with BilledCost as DECIMAL(38,10) (exact; DuckDB's text-to-DECIMAL(38) cast is slow) and,
   for reference, as DOUBLE (fast, inexact);
2. ingest: ``import_billing_file`` (hash, checks, exact decimals, tags flattened, Parquet);
3. aggregate: ``CostFactStore.groups`` by service and account with all tags, read to the end.

and prints rows/s, peak RSS and the ratios against the baseline. The exact sum of BilledCost is
compared between the baseline (DECIMAL read by DuckDB) and the store.
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

COLUMNS = (
    "BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd", "ProviderName", "ServiceName",
    "ServiceCategory", "SubAccountId", "ResourceId", "RegionId", "PricingQuantity", "PricingUnit",
    "BilledCost", "EffectiveCost", "ListCost", "Tags",
)


def generate(path: Path, rows: int) -> None:
    """A FOCUS CSV of ``rows`` hourly rows in September 2024 (written by DuckDB: fast)."""
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
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
            'AWS' AS ProviderName,
            'Service ' || (i % 41) AS ServiceName,
            'Compute' AS ServiceCategory,
            'acct-' || (hash(i) % 211) AS SubAccountId,
            'arn:aws:svc:us-east-1:' || (hash(i) % 211) || ':res/' || (hash(i * 7) % 5000)
              AS ResourceId,
            'us-east-1' AS RegionId,
            printf('%.6f', (hash(i * 3) % 100000) / 1000.0) AS PricingQuantity,
            'Hours' AS PricingUnit,
            (CASE WHEN i % 97 = 0 THEN '-' ELSE '' END)
              || (hash(i * 5) % 1000) || '.' || lpad(CAST(hash(i * 11) % 10000000000 AS VARCHAR),
                                                     10, '0') AS BilledCost,
            (hash(i * 5) % 1000) || '.' || lpad(CAST(hash(i * 13) % 10000000000 AS VARCHAR),
                                                10, '0') AS EffectiveCost,
            (hash(i * 5) % 1200) || '.5' AS ListCost,
            CASE WHEN i % 5 = 0 THEN 'NULL' ELSE
              '{{"env": "' || ['prod', 'dev', 'test'][1 + i % 3]
              || '", "team": "t' || (hash(i) % 211 % 40) || '"}}' END AS Tags
          FROM range({rows}) t(i)
        ) TO '{path}' (FORMAT csv, HEADER true, QUOTE '"')
        """
    )
    con.close()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_baseline(csv_path: str, money_type: str = "DECIMAL(38,10)") -> dict:
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar_print = false")
    rows = con.execute(
        f"""
        SELECT strftime(BillingPeriodStart, '%Y-%m'), ServiceName, SubAccountId, Tags,
               count(*), sum(BilledCost)
        FROM read_csv('{csv_path}', nullstr = 'NULL',
                      types = {{'BilledCost': '{money_type}'}})
        GROUP BY ALL
        """
    ).fetchall()
    con.close()
    return {
        "seconds": time.perf_counter() - start,
        "groups": len(rows),
        "total": str(sum((Decimal(str(r[5])) for r in rows), Decimal(0))),
        "rss": _peak_rss_mib(),
    }


def run_ingest(csv_path: str, store_dir: str) -> dict:
    from connectors.billing import import_billing_file
    from ledger.costfacts import CostFactStore

    store = CostFactStore(store_dir, memory_limit="1GB")
    last = [0, 0]

    def progress(done: int, total: int) -> None:
        last[:] = [done, total]

    start = time.perf_counter()
    result = import_billing_file(store, csv_path, progress=progress)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": result.rows, "rss": _peak_rss_mib(), "progress": last}


def run_aggregate(store_dir: str) -> dict:
    from ledger.costfacts import CostFactStore

    store = CostFactStore(store_dir, memory_limit="1GB")
    start = time.perf_counter()
    groups = 0
    total = Decimal(0)
    for group in store.groups(period="2024-09", by=("service_name", "sub_account_id")):
        groups += 1
        total += group.billed_cost
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    store.totals()
    totals_seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "groups": groups,
        "total": str(total),
        "totals_seconds": totals_seconds,
        "rss": _peak_rss_mib(),
    }


def _in_child(function, *args) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        csv_path = Path(work) / "focus.csv"
        start = time.perf_counter()
        generate(csv_path, args.rows)
        size_mib = csv_path.stat().st_size / 2**20
        print(f"generated {args.rows:,} FOCUS rows, {size_mib:,.0f} MiB, "
              f"in {time.perf_counter() - start:.1f} s")

        base = _in_child(run_baseline, str(csv_path))
        inexact = _in_child(run_baseline, str(csv_path), "DOUBLE")
        ingest = _in_child(run_ingest, str(csv_path), str(Path(work) / "costfacts"))
        agg = _in_child(run_aggregate, str(Path(work) / "costfacts"))
        parquet_mib = sum(
            p.stat().st_size for p in (Path(work) / "costfacts").rglob("*.parquet")
        ) / 2**20

    rows = ingest["rows"]
    print(f"baseline' same, BilledCost as DOUBLE (inexact):      {inexact['seconds']:6.2f} s  "
          f"{args.rows / inexact['seconds']:>12,.0f} rows/s  peak RSS {inexact['rss']:,.0f} MiB  "
          f"total {inexact['total']}")
    print(f"baseline  read_csv + GROUP BY (DuckDB, no checks): {base['seconds']:6.2f} s  "
          f"{args.rows / base['seconds']:>12,.0f} rows/s  peak RSS {base['rss']:,.0f} MiB  "
          f"{base['groups']:,} groups")
    print(f"ingest    import_billing_file -> Parquet:            {ingest['seconds']:6.2f} s  "
          f"{rows / ingest['seconds']:>12,.0f} rows/s  peak RSS {ingest['rss']:,.0f} MiB  "
          f"Parquet {parquet_mib:,.0f} MiB")
    print(f"aggregate groups(period, service, account, tags):    {agg['seconds']:6.2f} s  "
          f"{rows / agg['seconds']:>12,.0f} rows/s  peak RSS {agg['rss']:,.0f} MiB  "
          f"{agg['groups']:,} groups")
    print(f"totals    per period/provider/service/currency:     {agg['totals_seconds']:6.2f} s")
    print(f"ratio ingest / baseline:    {ingest['seconds'] / base['seconds']:.2f}x")
    print(f"ratio aggregate / baseline: {agg['seconds'] / base['seconds']:.2f}x "
          f"(aggregating the store instead of re-reading the CSV)")
    same = Decimal(base["total"]) == Decimal(agg["total"])
    print(f"exact total billed: {agg['total']} ({'equal to' if same else 'DIFFERS from'} baseline)")
    print(f"last progress report: {ingest['progress']}")


if __name__ == "__main__":
    main()
