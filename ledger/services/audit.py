"""Use cases for the audit trail: verify the hash chain, read and export it."""

from __future__ import annotations

from datetime import datetime

from ledger.access import Permission
from ledger.audit import ChainedEvent, ChainHead, ChainProblem, verify_chain
from ledger.ports import UnitOfWork
from ledger.services.base import authorize


def verify_audit(*, uow: UnitOfWork, recorded_head: ChainHead | None = None
                 ) -> tuple[list[ChainProblem], ChainHead]:
    """Check every link of the chain (and, given a head recorded at a period close, that
    nothing was cut off the end). Returns the problems, each naming the event, and the head."""
    authorize(uow, Permission.READ_AUDIT, doing="verify the audit trail")
    problems, head = verify_chain(uow.audit.chain(), recorded_head=recorded_head)
    stored = uow.audit.head()
    if not problems and stored != head:
        problems.append(ChainProblem(head.sequence, None, "truncated",
                                     f"the chain ends at #{head.sequence} but its head says "
                                     f"#{stored.sequence}: events were removed from the end"))
    return problems, head


def audit_log(*, uow: UnitOfWork, since: datetime | None = None,
              limit: int | None = None) -> list[ChainedEvent]:
    authorize(uow, Permission.READ_AUDIT, doing="read the audit trail")
    return uow.audit.since(since, limit)


def audit_head(*, uow: UnitOfWork) -> ChainHead:
    """The chain's head, as recorded at a period close."""
    return uow.audit.head()
