"""Benchmark: register loads and single edits in a large asset register.

Not a test. Run by hand::

    python bench/bench_register.py --rows 100000
    python bench/bench_register.py --rows 100000 --baseline-rows 20000

Contenders, each in a fresh process (so that its peak RSS is its own), on a copy of the same
migrated SQLite database (a company, a cost centre, the administrator):

1. ``register_assets`` as it is (:mod:`ledger.services.assets`): keyed reads of the assets being
   saved, executemany inserts and updates, one audit event per 1,000 changed assets.
2. the baseline, the previous version of the same use case kept in this script: the whole
   register read twice, one ORM save and one hash-chained audit event per asset.

Each loads N new laptops (timed), loads the same N again (nothing changes), then edits one
asset in the N-asset register (what the desktop client does), counting the rows read. The
baseline's load can run on fewer rows (``--baseline-rows``) since it is slow; its figures are
compared per row. At the end ``audit verify`` runs on the new path's database.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

from ledger.asset import Asset, AssetKind, LifecycleStatus
from ledger.reference import Company, CostCentre
from ledger.services import reference_data
from ledger.services.assets import register_assets
from ledger.services.audit import verify_audit
from ledger.services.base import Changes, record_change
from ledger.staging import Staged, staged


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def laptop(n: int, *, owner: str = "j.doe") -> Asset:
    return Asset(f"LT-{n:07d}", f"Latitude 7440 #{n}", AssetKind.LAPTOP, "1010",
                 LifecycleStatus.IN_SERVICE, "USD", Decimal("1349.00"), date(2025, 3, 1),
                 serial_number=f"SN{n:09d}", manufacturer="Dell", model="Latitude 7440",
                 location="Berlin", hostname=f"lt{n:07d}.corp.example",
                 macs=(f"02:00:{n >> 24 & 255:02x}:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:"
                       f"{n & 255:02x}",), owner=owner)


def baseline_register(*, uow: Any, assets: list[Staged[Asset]], reason: str | None = None
                      ) -> Changes:
    """The use case before the bulk path (validation of cost centres kept, books left out)."""
    known_centres = {cc.code for cc in uow.cost_centres.list()}
    assert all(a.value.cost_centre in known_centres for a in assets)
    _registered = {a.tag for a in uow.assets.list()}
    created = updated = unchanged = 0
    existing = {a.tag: a for a in uow.assets.list()}
    for item in sorted(assets, key=lambda i: i.value.tag):
        asset, before = item.value, existing.get(item.value.tag)
        if before == asset:
            unchanged += 1
            continue
        uow.assets.save(asset, new=before is None)
        record_change(uow, action=f"asset.{'create' if before is None else 'update'}",
                      entity="asset", key=asset.tag, before=before, after=asset, reason=reason)
        created += before is None
        updated += before is not None
    return Changes(frozenset({"asset"}), created=created, updated=updated, unchanged=unchanged)


def _open(path: Path):
    from client.bootstrap import open_app

    return open_app(f"sqlite:///{path}")


def prepare(path: Path) -> None:
    from client.bootstrap import open_app
    from ledger.services.users import bootstrap_administrator

    app = open_app(f"sqlite:///{path}", create=True)
    with app.uow() as uow:
        bootstrap_administrator(uow=uow)
        reference_data.set_company(uow=uow, company=Company("MRD1", "Meridian", "USD"))
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing")]))
        uow.commit()
    app.close()


def contender(name: str, path: str, rows: int, queue: Any) -> None:
    register = register_assets if name == "bulk" else baseline_register
    app = _open(Path(path))
    batch = staged([laptop(n) for n in range(rows)], "bench.csv")
    figures: dict[str, float] = {}
    for step in ("load", "again"):
        started = time.perf_counter()
        with app.uow() as uow:
            changes = register(uow=uow, assets=batch)
            uow.commit()
        figures[step] = time.perf_counter() - started
        figures[f"{step}_changed"] = changes.created + changes.updated
    fetched = [0]

    def counting(method: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            fetched[0] += len(result) if result is not None else 0
            return result
        return counted

    one = staged([replace(laptop(rows // 2), owner="a.smith")], "desktop client")
    started = time.perf_counter()
    with app.uow() as uow:
        for method in ("list", "get_many"):  # the register rows each path reads for the edit
            setattr(uow.assets, method, counting(getattr(uow.assets, method)))
        register(uow=uow, assets=one)
        uow.commit()
    figures["edit"] = time.perf_counter() - started
    figures["edit_rows_read"] = fetched[0]
    figures["peak_mb"] = peak_rss_mb()
    with app.uow(read_only=True) as uow:
        figures["audit_events"] = uow.audit.count()
        problems, _ = verify_audit(uow=uow)
    figures["audit_problems"] = len(problems)
    app.close()
    queue.put(figures)


def run(name: str, template: Path, rows: int, folder: Path) -> dict[str, float]:
    path = folder / f"{name}.db"
    shutil.copy(template, path)
    queue: Any = multiprocessing.get_context("fork").Queue()
    process = multiprocessing.get_context("fork").Process(
        target=contender, args=(name, str(path), rows, queue))
    process.start()
    figures = queue.get()
    process.join()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=None,
                        help="rows for the baseline (default: --rows)")
    args = parser.parse_args()
    base_rows = args.baseline_rows or args.rows
    with tempfile.TemporaryDirectory(prefix="bench-register-") as tmp:
        folder = Path(tmp)
        template = folder / "template.db"
        prepare(template)
        bulk = run("bulk", template, args.rows, folder)
        old = run("baseline", template, base_rows, folder)
    print(f"{'':24}{'bulk path':>22}{'baseline (old path)':>24}")
    print(f"{'rows':24}{args.rows:>22,}{base_rows:>24,}")
    for step, label in (("load", "load N new"), ("again", "same N again (no-op)")):
        print(f"{label:24}{bulk[step]:>14.2f} s {args.rows / bulk[step]:>7,.0f}/s"
              f"{old[step]:>16.2f} s {base_rows / old[step]:>7,.0f}/s")
    print(f"{'edit 1 in register':24}{bulk['edit'] * 1000:>14.1f} ms"
          f"{'':8}{old['edit'] * 1000:>16.1f} ms")
    print(f"{'rows read for that edit':24}{bulk['edit_rows_read']:>22,.0f}"
          f"{old['edit_rows_read']:>24,.0f}")
    print(f"{'audit events':24}{bulk['audit_events']:>22,.0f}{old['audit_events']:>24,.0f}")
    print(f"{'peak RSS':24}{bulk['peak_mb']:>19,.0f} MB{old['peak_mb']:>21,.0f} MB")
    per_row = (old["load"] / base_rows) / (bulk["load"] / args.rows)
    print(f"load per row: the bulk path is {per_row:.1f}x faster; audit verify problems: "
          f"{bulk['audit_problems']:.0f} (bulk), {old['audit_problems']:.0f} (baseline)")
    assert bulk["load_changed"] == args.rows and bulk["again_changed"] == 0


if __name__ == "__main__":
    main()
