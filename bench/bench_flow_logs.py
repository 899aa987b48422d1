"""Benchmark: aggregate N generated AWS VPC flow-log records (format v2 text) into transfer bytes.

Not a test. Run by hand::

    python bench/bench_flow_logs.py --records 10000000 [--gzip]

It writes a flow log of N records (200 interfaces of 50 resources in 3 zones of 2 regions
sending to each other and to internet addresses over October 2026; 1 % NODATA lines) and a
mapping of those resources, then, each in a fresh process so that peak memory is its own:

1. baseline: plain DuckDB ``read_csv`` of the same file + GROUP BY source, destination, month
   (no mapping, no checks, no destination classification);
2. import: :func:`connectors.flow_logs.aggregate_flow_logs` (header check, bad-field check,
   joins to the mapping, zone/region/internet classification, de-duplication by interface).

and prints records/s, peak RSS, the ratio to the baseline, and checks that both count the
same bytes from mapped senders.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb

RESOURCES = 50
INTERFACES = 200
OCT_2026 = 1_790_812_800  # 2026-10-01 00:00:00 UTC


def generate(path: Path, mapping: Path, records: int, *, gzip: bool) -> None:
    """The flow log (written by DuckDB: fast) and its mapping CSV."""
    with mapping.open("w", encoding="utf-8") as handle:
        handle.write("key,resource_id,zone,region,owner\n")
        for n in range(INTERFACES):
            resource_no = n % RESOURCES
            region = "eu-west-1" if resource_no < 40 else "eu-central-1"
            zone = f"{region}{'abc'[resource_no % 3]}"
            owner = f"team-{resource_no % 7}"
            handle.write(f"10.{n // 250}.{n % 250}.10,i-{resource_no:04d},{zone},{region},"
                         f"{owner}\n")
            handle.write(f"eni-{n:05d},i-{resource_no:04d},{zone},{region},{owner}\n")
    compression = "gzip" if gzip else "none"
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
          SELECT 2 AS version, '123456789012' AS "account-id",
            'eni-' || lpad(CAST(i % {INTERFACES} AS VARCHAR), 5, '0') AS "interface-id",
            CASE WHEN i % 100 = 0 THEN '-'
                 ELSE '10.' || ((i % {INTERFACES}) // 250) || '.' || ((i % {INTERFACES}) % 250)
                      || '.10' END AS srcaddr,
            CASE WHEN i % 100 = 0 THEN '-'
                 WHEN i % 5 = 0 THEN '52.' || (i % 200) || '.' || (i % 97) || '.7'
                 ELSE '10.' || (((i * 7) % {INTERFACES}) // 250) || '.'
                      || (((i * 7) % {INTERFACES}) % 250) || '.10' END AS dstaddr,
            CASE WHEN i % 100 = 0 THEN '-' ELSE CAST(40000 + i % 20000 AS VARCHAR) END
              AS srcport,
            CASE WHEN i % 100 = 0 THEN '-' ELSE '443' END AS dstport,
            CASE WHEN i % 100 = 0 THEN '-' ELSE '6' END AS protocol,
            CASE WHEN i % 100 = 0 THEN '-' ELSE CAST(1 + i % 50 AS VARCHAR) END AS packets,
            CASE WHEN i % 100 = 0 THEN '-' ELSE CAST(100 + (i * 2654435761) % 150000 AS VARCHAR)
              END AS bytes,
            {OCT_2026} + (i * 2592000 // {records}) AS start,
            {OCT_2026} + (i * 2592000 // {records}) + 60 AS "end",
            CASE WHEN i % 100 = 0 THEN '-' ELSE 'ACCEPT' END AS action,
            CASE WHEN i % 100 = 0 THEN 'NODATA' ELSE 'OK' END AS "log-status"
          FROM range({records}) t(i)
        ) TO '{path}' (DELIMITER ' ', HEADER, QUOTE '', COMPRESSION {compression})
        """
    )
    con.close()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_baseline(path: str) -> dict:
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET memory_limit = '1GB'")
    con.execute("SET enable_progress_bar = false")
    rows = con.execute(
        f"""
        SELECT srcaddr, dstaddr, strftime(to_timestamp(CAST(start AS BIGINT)), '%Y-%m'), count(*),
               sum(TRY_CAST(bytes AS UBIGINT))
        FROM read_csv('{path}', delim = ' ', header = true, all_varchar = true)
        WHERE "log-status" = 'OK'
        GROUP BY ALL
        """
    ).fetchall()
    con.close()
    mapped = sum(r[4] for r in rows if r[0].startswith("10."))
    return {"seconds": time.perf_counter() - start, "groups": len(rows), "bytes": int(mapped),
            "rss": _peak_rss_mib()}


def run_import(path: str, mapping: str) -> dict:
    from connectors.flow_logs import aggregate_flow_logs, read_mapping

    start = time.perf_counter()
    summary = aggregate_flow_logs(path, read_mapping(mapping), memory_limit="1GB")
    return {"seconds": time.perf_counter() - start, "records": summary.records,
            "counted": summary.counted, "aggregates": len(summary.aggregates),
            "bytes": summary.bytes, "rss": _peak_rss_mib()}


def _in_child(function, *args) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--gzip", action="store_true", help="write and read the log gzipped")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        log = Path(work) / ("vpc-flow.log.gz" if args.gzip else "vpc-flow.log")
        mapping = Path(work) / "mapping.csv"
        start = time.perf_counter()
        generate(log, mapping, args.records, gzip=args.gzip)
        size_mib = log.stat().st_size / 2**20
        print(f"generated {args.records:,} flow-log records, {size_mib:,.0f} MiB, "
              f"in {time.perf_counter() - start:.1f} s")
        base = _in_child(run_baseline, str(log))
        imported = _in_child(run_import, str(log), str(mapping))

    n = args.records
    print(f"baseline  read_csv + GROUP BY (DuckDB, no checks): {base['seconds']:6.2f} s  "
          f"{n / base['seconds']:>12,.0f} records/s  peak RSS {base['rss']:,.0f} MiB  "
          f"{base['groups']:,} groups")
    print(f"import    aggregate_flow_logs (mapped, classified): {imported['seconds']:6.2f} s  "
          f"{n / imported['seconds']:>12,.0f} records/s  peak RSS {imported['rss']:,.0f} MiB  "
          f"{imported['aggregates']:,} aggregates, {imported['counted']:,} records counted")
    print(f"ratio import / baseline: {imported['seconds'] / base['seconds']:.2f}x")
    same = base["bytes"] == imported["bytes"]
    print(f"bytes from mapped senders: {imported['bytes']:,} "
          f"({'equal to' if same else 'DIFFERS from'} baseline)")


if __name__ == "__main__":
    main()
