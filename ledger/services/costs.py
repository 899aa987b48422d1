"""Use cases for cost facts: importing billing files into the columnar store.

The store (:class:`ledger.costfacts.CostFactStore`) holds the facts and guarantees the import is
all-or-nothing and idempotent; this service adds what every write needs: the permission check,
the audit event, and the calendar extended to cover the imported billing periods.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ledger.access import Permission
from ledger.calendar import parse_period_key
from ledger.costfacts import CostFactStore, FactImporter, ImportRecord, ImportResult, Progress
from ledger.errors import InputError
from ledger.ports import UnitOfWork
from ledger.services.base import authorize, record_change
from ledger.services.periods import extend_calendar


def import_billing(
    *,
    uow: UnitOfWork,
    store: CostFactStore,
    path: Path,
    importer: FactImporter,
    progress: Progress | None = None,
) -> ImportResult:
    """Import one billing file; the same content again changes nothing.

    The facts commit in the store first (they are idempotent by content hash); the audit event
    and any new periods commit with the caller's unit of work. Were that commit to fail, running
    the import again finds the facts already there and records the event then.
    """
    authorize(uow, Permission.IMPORT_COSTS, doing="import billing files")
    result = store.import_file(path, importer, source_name=path.name, progress=progress)
    if result.periods:
        first = min(parse_period_key(p) for p in result.periods)
        last = max(parse_period_key(p) for p in result.periods)
        extend_calendar(uow=uow, first=date(*first, 1), last=date(*last, 1))
    if not result.already_imported or not uow.audit.has("billing.import", result.import_id):
        record_change(uow, action="billing.import", entity="cost_import", key=result.import_id,
                      after={"file": result.source_file, "sha256": result.sha256,
                             "format": result.format_name, "rows": result.rows,
                             "periods": list(result.periods)})
    return result


def list_imports(*, uow: UnitOfWork, store: CostFactStore) -> list[ImportRecord]:
    authorize(uow, Permission.READ, doing="list billing imports")
    return store.imports()


def remove_import(*, uow: UnitOfWork, store: CostFactStore, import_id: str,
                  reason: str) -> ImportRecord:
    """Take one import's facts out of the store (a wrong file, a re-issued bill)."""
    authorize(uow, Permission.IMPORT_COSTS, doing="remove billing imports")
    if not reason or not reason.strip():
        raise InputError("removing an import needs a reason (--reason \"...\")", field="reason")
    removed = store.remove_import(import_id)
    record_change(uow, action="billing.remove", entity="cost_import", key=import_id,
                  before={"file": removed.source_file, "sha256": removed.sha256,
                          "rows": removed.rows, "periods": sorted(removed.periods)},
                  reason=reason.strip())
    return removed
