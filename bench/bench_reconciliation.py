"""Benchmark: reconciling N register assets against N discovery records.

Not a test. Run by hand::

    python bench/bench_reconciliation.py --records 1000000
    python bench/bench_reconciliation.py --records 200000

The register holds N laptops (serial, hardware UUID, MAC, host name, owner). The discovery feed
has one record per asset with the noise real feeds have: serials in lower case or with spaces,
fully qualified host names, MACs written with dashes or Cisco dots, half of the UUIDs printed
in the other byte order. 3 % of the records disagree: 1 % are devices the register does not
know (so 1 % of the assets are missing), 1 % have a placeholder serial and are found by their
UUID, MAC and host name, 1 % have another owner (conflicts).

Setup (not timed): both sides are generated one record at a time and their normalised keys
(:func:`ledger.reconciliation_sql.register_row` / ``device_row``, as the database stores them
at import) written to two CSV files. Each contender then runs in a fresh process, so that its
peak RSS is its own:

1. baseline: DuckDB reads the files and unpivots the keys (load, timed apart), then one
   hand-written query does the join: register keys held by one asset only, device keys joined
   to them, a confidence per (device, asset) from the ranked evidence, the best asset per
   device and one device per asset; it counts the pairs.
2. engine: :class:`ledger.reconciliation_sql.KeyTables` reads the same files (load), then
   :func:`ledger.reconciliation_sql.match` and ``counts()`` do everything the product reports:
   the same matching with links and rejections, conflicts of owner, location, model, cost
   centre and status, duplicates on both sides, unregistered devices and missing assets.

It prints both times, the ratio of the engine's matching to the baseline's query, the peak RSS
of each process, and checks that both find the same number of pairs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.discovery import DiscoveredDevice
from ledger.reconciliation import (
    EVIDENCE_CONFIDENCE,
    EVIDENCE_RANK,
    MIN_CONFIDENCE,
    RegisterEntry,
)
from ledger.reconciliation_sql import (
    KeyTables,
    device_row,
    match,
    register_row,
    write_rows,
)

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _uuid(n: int) -> str:
    text = f"{n:032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-8{text[17:20]}-{text[20:]}"


def _swapped(uuid: str) -> str:
    digits = uuid.replace("-", "")

    def swap(part: str) -> str:
        return "".join(reversed([part[i:i + 2] for i in range(0, len(part), 2)]))
    d = swap(digits[:8]) + swap(digits[8:12]) + swap(digits[12:16]) + digits[16:]
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:]}"


def _mac(n: int) -> str:
    text = f"00163e{n:06x}"
    return ":".join(text[i:i + 2] for i in range(0, 12, 2))


def register(records: int):
    """The register, one entry at a time."""
    for n in range(records):
        yield RegisterEntry(tag=f"LT-{n:07d}", serial=f"5CG{n:07d}X", hardware_uuid=_uuid(n + 1),
                            macs=(_mac(n),), hostname=f"lt{n:07d}", owner=f"user{n % 50_000}",
                            location=f"site-{n % 40}", model="Latitude 7440")


def feed(records: int, seed: int = 7):
    """The discovery feed, one record at a time (deterministic for a seed)."""
    rng = random.Random(seed)
    seen = NOW - timedelta(days=1)
    for n in range(records):
        kind = rng.random()
        serial = f"5CG{n:07d}X"
        serial = (serial.lower() if kind < 0.5 else f"5CG {n:07d} X")
        uuid = _uuid(n + 1)
        uuid = _swapped(uuid).upper() if n % 2 else uuid
        mac = _mac(n)
        mac = mac.upper().replace(":", "-") if n % 3 == 0 else mac
        host = f"LT{n:07d}.corp.example.com" if n % 4 else f"lt{n:07d}"
        owner = f"CORP\\user{n % 50_000}"
        if kind < 0.01:  # unknown device: nothing of it is in the register
            serial, uuid, mac, host = (f"NEW{n:07d}", _uuid(records + n + 1), _mac(records + n),
                                       f"new{n:07d}")
        elif kind < 0.02:  # placeholder serial
            serial = "To be filled by O.E.M."
        elif kind < 0.03:  # someone else has it
            owner = f"CORP\\other{n}"
        yield DiscoveredDevice(
            source="sccm", record_id=str(16_777_216 + n), seen_at=seen, hostname=host,
            serial=serial, macs=(mac,), hardware_uuid=uuid, owner=owner,
            location=f"SITE-{n % 40}", model="Dell Latitude 7440")


def write_keys(records: int, folder: Path) -> tuple[Path, Path]:
    reg, dev = folder / "register.csv", folder / "devices.csv"
    write_rows(reg, (register_row(p, e) for p, e in enumerate(register(records))))
    write_rows(dev, (device_row(p, d) for p, d in enumerate(feed(records))))
    return reg, dev


def run_engine(paths: tuple[Path, Path], queue: multiprocessing.Queue) -> None:
    started = time.perf_counter()
    with KeyTables(threads=2) as tables:
        tables.read_csv_files(*paths)
        load = time.perf_counter() - started
        started = time.perf_counter()
        result = match(tables, as_of=NOW, missing_after=timedelta(days=30))
        counts = result.counts()
        matching = time.perf_counter() - started
    queue.put({"load": load, "match": matching, "counts": counts,
               "pairs": counts["matched"] + counts["conflicts"], "peak_rss": peak_rss_mb()})


def run_duckdb(paths: tuple[Path, Path], queue: multiprocessing.Queue) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    for name, path, key_columns in (("reg", paths[0], 17), ("dev", paths[1], 19)):
        columns = ("'pos': 'INTEGER', " + ", ".join(f"'c{i}': 'VARCHAR'" for i in
                                                     range(1, key_columns)))
        con.execute(f"CREATE TABLE {name}_wide AS SELECT * FROM read_csv('{path}', "
                    f"header = false, columns = {{{columns}}}, quote = '\"', escape = '\"', "
                    "nullstr = '', auto_detect = false)")
        first = 3 if name == "reg" else 4  # serial, uuid, cloud, tag, host, then macs
        parts = [f"SELECT pos, {rank}::TINYINT AS rank, c{first + rank} AS key FROM "
                 f"{name}_wide WHERE c{first + rank} IS NOT NULL" for rank in range(4)]
        parts.append(f"SELECT pos, 5, c{first + 4} FROM {name}_wide "
                     f"WHERE c{first + 4} IS NOT NULL")
        parts.append(f"SELECT pos, 4, unnest(string_split(c{first + 5}, ';')) FROM "
                     f"{name}_wide WHERE c{first + 5} IS NOT NULL")
        con.execute(f"CREATE TABLE {name} AS " + " UNION ALL ".join(parts))
    load = time.perf_counter() - started
    confidence = " ".join(
        f"WHEN {rank} THEN {1 - EVIDENCE_CONFIDENCE[evidence] / 100}"
        for rank, evidence in enumerate(EVIDENCE_RANK))
    started = time.perf_counter()
    pairs = con.execute(f"""
        WITH unique_keys AS (
            SELECT rank, key, min(pos) AS pos FROM reg GROUP BY rank, key
            HAVING count(*) = 1),
        votes AS (
            SELECT d.pos AS device, u.pos AS asset, d.rank
            FROM dev d JOIN unique_keys u ON d.rank = u.rank AND d.key = u.key
            GROUP BY ALL),
        scored AS (
            SELECT device, asset, 1 - product(CASE rank {confidence} END) AS score,
                   min(rank) AS best_rank
            FROM votes GROUP BY device, asset),
        best AS (
            SELECT device, arg_max(asset, score * 10 - best_rank) AS asset,
                   max(score) AS score
            FROM scored GROUP BY device HAVING max(score) * 100 >= {MIN_CONFIDENCE}),
        claimed AS (SELECT asset, count(*) AS claims FROM best GROUP BY asset)
        SELECT count(*) FROM claimed
    """).fetchone()[0]
    query = time.perf_counter() - started
    queue.put({"load": load, "query": query, "pairs": pairs, "peak_rss": peak_rss_mb()})


def in_fresh_process(target, paths: tuple[Path, Path]) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(paths, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    print(f"{args.records:,} register assets x {args.records:,} discovery records")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        paths = write_keys(args.records, Path(folder))
        print(f"setup   keys written in {time.perf_counter() - started:.1f} s "
              f"(parent peak RSS {peak_rss_mb():,.0f} MB)")
        base = in_fresh_process(run_duckdb, paths)
        engine = in_fresh_process(run_engine, paths)
    print(f"duckdb  load {base['load']:6.2f} s  query {base['query']:6.2f} s  "
          f"pairs {base['pairs']:,}  peak RSS {base['peak_rss']:,.0f} MB")
    print(f"engine  load {engine['load']:6.2f} s  match {engine['match']:6.2f} s  "
          f"pairs {engine['pairs']:,}  peak RSS {engine['peak_rss']:,.0f} MB")
    print(f"counts  {engine['counts']}")
    print(f"ratio   match / query {engine['match'] / base['query']:.2f}x; "
          f"(load + match) / (load + query) "
          f"{(engine['load'] + engine['match']) / (base['load'] + base['query']):.2f}x")
    if engine["pairs"] != base["pairs"]:
        print(f"MISMATCH: engine pairs {engine['pairs']} != duckdb pairs {base['pairs']}")
        sys.exit(1)


if __name__ == "__main__":
    main()
