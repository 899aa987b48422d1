"""Readers for the reports' input files: the forecast's known changes and KPI benchmarks.

CSV (strict, :mod:`connectors.tabular`) or XLSX (the first sheet), as the allocation files
(:mod:`connectors.allocation_files`): every bad row reported, each naming the file, row and
field, and nothing returned then (the services store all or nothing).

Known changes: ``cost_centre,from_period,reason`` and ``amount`` (with ``currency``, default
the company's) or ``percent``; optionally ``to_period``, and ``pool`` or ``service`` to scale
one part of the cost centre's cost.
Benchmarks: ``kpi,value[,source]`` (shares in percent, rates as fractions, unit costs in money).
"""

from __future__ import annotations

from pathlib import Path

from connectors.allocation_files import _decimal, _period, _rows, _stage, _text
from connectors.tabular import Row
from ledger.reports.forecast import KnownChange
from ledger.reports.kpis import Benchmark
from ledger.staging import Staged

KNOWN_CHANGE_COLUMNS = ("cost_centre", "from_period", "reason")
KNOWN_CHANGE_OPTIONAL = ("to_period", "amount", "percent", "currency", "pool", "service")
BENCHMARK_COLUMNS = ("kpi", "value")
BENCHMARK_OPTIONAL = ("source",)


def read_known_changes(path: Path) -> list[Staged[KnownChange]]:
    rows = _rows(path, KNOWN_CHANGE_COLUMNS, KNOWN_CHANGE_OPTIONAL)

    def make(row: Row) -> KnownChange:
        return KnownChange(
            _text(row, "cost_centre"), _period(row, "from_period"), _text(row, "reason"),
            _decimal(row, "amount") if row.get("amount") else None,  # type: ignore[arg-type]
            _decimal(row, "percent") if row.get("percent") else None,  # type: ignore[arg-type]
            row.get("currency") or None,
            _period(row, "to_period") if row.get("to_period") else None,
            row.get("pool") or None, row.get("service") or None)

    return _stage(path, rows, make)


def read_benchmarks(path: Path) -> list[Staged[Benchmark]]:
    rows = _rows(path, BENCHMARK_COLUMNS, BENCHMARK_OPTIONAL)

    def make(row: Row) -> Benchmark:
        return Benchmark(_text(row, "kpi").strip().lower(),
                         _decimal(row, "value"),  # type: ignore[arg-type]
                         row.get("source") or None)

    return _stage(path, rows, make)
