"""The demo company's VPC flow logs: a month of traffic from its eu-west-1 platform.

Generated, deterministic: the platform team's instance (the origin of the demo bill's "AWS Data
Transfer" rows, cost centre 5010) talks to the ERP database in Frankfurt (3010) and to the
web shop in another zone (2040), and all three send to the internet. The month's log (AWS format
version 2, gzip) and its mapping are written beside the cost facts and imported with
``apportion import flow-logs``'s service; the transfer charges of the bill are then split by
these bytes (``apportion transfer PERIOD``, and ``apportion explain`` for 5010).
"""

from __future__ import annotations

import gzip
import io
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.services.base import Changes
from ledger.services.transfer import import_flow_logs

SEED = 20261127
#: (address, interface, resource id, zone, region, owning cost centre)
ENDPOINTS = (
    ("10.20.1.10", "eni-0platform0001", "i-prod-platform-0", "eu-west-1a", "eu-west-1", "5010"),
    ("10.20.2.15", "eni-0webshop00001", "i-prod-web-0", "eu-west-1b", "eu-west-1", "2040"),
    ("10.30.1.20", "eni-0erpdb0000001", "db-prod-erp-0", "eu-central-1a", "eu-central-1",
     "3010"),
)
#: (source index, destination: endpoint index or a public address, bytes per record, weight)
CONVERSATIONS = (
    (0, 1, 180_000, 6), (0, 2, 420_000, 3), (0, "52.95.110.1", 900_000, 5),
    (1, 0, 60_000, 4), (1, "203.0.113.50", 350_000, 5), (2, 0, 150_000, 2),
)
RECORDS_PER_DAY = 400


def write_mapping(path: Path) -> Path:
    lines = ["key,resource_id,zone,region,owner"]
    for address, interface, resource, zone, region, owner in ENDPOINTS:
        lines.append(f"{address},{resource},{zone},{region},{owner}")
        lines.append(f"{interface},{resource},{zone},{region},{owner}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_flow_log(path: Path, period: str) -> Path:
    """A month of records (AWS v2, gzip), a few hundred a day: deterministic per period."""
    rng = random.Random(f"{SEED}-{period}")
    first = datetime(int(period[:4]), int(period[5:7]), 1, tzinfo=UTC)
    after = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    weights = [c[3] for c in CONVERSATIONS]
    # mtime 0: the same month gives the same bytes, so a rerun is a no-op import
    with gzip.GzipFile(path, "wb", mtime=0) as raw, io.TextIOWrapper(raw, "utf-8") as handle:
        handle.write("version account-id interface-id srcaddr dstaddr srcport dstport protocol "
                     "packets bytes start end action log-status\n")
        day = first
        while day < after:
            for _ in range(RECORDS_PER_DAY):
                source, target, size, _weight = rng.choices(CONVERSATIONS, weights)[0]
                address, interface = ENDPOINTS[source][0], ENDPOINTS[source][1]
                dst = ENDPOINTS[target][0] if isinstance(target, int) else target
                start = int(day.timestamp()) + rng.randrange(86_340)
                sent = size * rng.randint(50, 150) // 100
                handle.write(f"2 210987654321 {interface} {address} {dst} "
                             f"{rng.randint(32768, 60999)} 443 6 {sent // 1400 + 1} {sent} "
                             f"{start} {start + 60} ACCEPT OK\n")
            day += timedelta(days=1)
    return path


def load(uow: Any, app: Any, period: str) -> Changes:
    """Write and import the month's flow log (a rerun finds it imported: nothing changes)."""
    from connectors.flow_logs import aggregate_flow_logs, read_mapping, sha256_of

    folder = app.costfacts_dir.parent / "demo-flow-logs"
    folder.mkdir(parents=True, exist_ok=True)
    endpoints = read_mapping(write_mapping(folder / "mapping.csv"))
    log = write_flow_log(folder / f"vpc-flow-{period}.log.gz", period)
    result = import_flow_logs(uow=uow, sha256=sha256_of(log),
                              read=lambda: aggregate_flow_logs(log, endpoints))
    if result.already_imported:
        return Changes(frozenset({"flow_log_import"}), unchanged=1)
    return Changes(frozenset({"flow_log_import"}), created=1, ids=(result.import_id,))
