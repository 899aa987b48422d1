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

Each side runs in a fresh process, so that its peak RSS is its own; data generation is setup
and is not timed:

1. baseline: the normalised keys (computed by :mod:`ledger.discovery`, as the engine does) are
   loaded into DuckDB (timed separately), then one hand-written query does the same join:
   register keys held by one asset only, device keys joined to them, a confidence per
   (device, asset) from the ranked evidence, the best asset per device and one device per asset.
2. engine: :func:`ledger.reconciliation.reconcile`, which normalises every identifier of both
   sides and matches; the normalisation and the matching are reported apart.

It prints both times, the ratio on the matching (same normalised keys on both sides), the
peak RSS of each process, and checks that both find the same number of pairs.
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
    Outcome,
    RegisterEntry,
    device_identity,
    entry_identity,
    reconcile,
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


def make_data(records: int, seed: int = 7) -> tuple[list[RegisterEntry], list[DiscoveredDevice]]:
    """The register and the feed (deterministic for a seed)."""
    rng = random.Random(seed)
    register = [
        RegisterEntry(tag=f"LT-{n:07d}", serial=f"5CG{n:07d}X", hardware_uuid=_uuid(n + 1),
                      macs=(_mac(n),), hostname=f"lt{n:07d}", owner=f"user{n % 50_000}",
                      location=f"site-{n % 40}", model="Latitude 7440")
        for n in range(records)
    ]
    devices = []
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
        devices.append(DiscoveredDevice(
            source="sccm", record_id=str(16_777_216 + n), seen_at=seen, hostname=host,
            serial=serial, macs=(mac,), hardware_uuid=uuid, owner=owner,
            location=f"SITE-{n % 40}", model="Dell Latitude 7440"))
    return register, devices


def run_engine(records: int, queue: multiprocessing.Queue) -> None:
    register, devices = make_data(records)
    setup_rss = peak_rss_mb()
    started = time.perf_counter()
    [entry_identity(e) for e in register]
    [device_identity(d) for d in devices]
    normalise = time.perf_counter() - started
    started = time.perf_counter()
    result = reconcile(register, devices, as_of=NOW, missing_after=timedelta(days=30))
    total = time.perf_counter() - started
    counts = result.counts()
    pairs = counts["matched"] + counts["conflicts"]
    queue.put({"total": total, "normalise": normalise, "match": max(total - normalise, 0.0),
               "counts": counts, "pairs": pairs, "setup_rss": setup_rss,
               "peak_rss": peak_rss_mb(), "missing": len(result.by_outcome(Outcome.MISSING))})


def run_duckdb(records: int, queue: multiprocessing.Queue) -> None:
    import duckdb

    register, devices = make_data(records)
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for name, identities in (("reg", (entry_identity(e) for e in register)),
                                 ("dev", (device_identity(d) for d in devices))):
            path = Path(folder) / f"{name}.csv"
            with open(path, "w") as handle:
                for position, identity in enumerate(identities):
                    for rank, value in enumerate(identity):
                        for key in value if isinstance(value, tuple) else (value,):
                            if key is not None:
                                handle.write(f"{position},{rank},{key}\n")
            paths[name] = path
        del register, devices
        con = duckdb.connect()
        started = time.perf_counter()
        for name, path in paths.items():
            con.execute(
                f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}', header = false, "
                "columns = {'pos': 'INTEGER', 'rank': 'TINYINT', 'key': 'VARCHAR'}, "
                "quote = '', escape = '')")
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


def in_fresh_process(target, records: int) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(records, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    print(f"{args.records:,} register assets x {args.records:,} discovery records")
    base = in_fresh_process(run_duckdb, args.records)
    print(f"duckdb  load {base['load']:6.2f} s  query {base['query']:6.2f} s  "
          f"pairs {base['pairs']:,}  peak RSS {base['peak_rss']:,.0f} MB")
    engine = in_fresh_process(run_engine, args.records)
    print(f"engine  total {engine['total']:6.2f} s  (normalise {engine['normalise']:.2f} s, "
          f"match {engine['match']:.2f} s)  pairs {engine['pairs']:,}  peak RSS "
          f"{engine['peak_rss']:,.0f} MB (data alone {engine['setup_rss']:,.0f} MB)")
    print(f"counts  {engine['counts']}")
    print(f"ratio   match / query {engine['match'] / base['query']:.1f}x; "
          f"total / (load + query) {engine['total'] / (base['load'] + base['query']):.1f}x")
    if engine["pairs"] != base["pairs"]:
        print(f"MISMATCH: engine pairs {engine['pairs']} != duckdb pairs {base['pairs']}")
        sys.exit(1)


if __name__ == "__main__":
    main()
