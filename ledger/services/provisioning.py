"""Use cases for provisioning requests: check against policy, then approve or reject.

See :mod:`ledger.provisioning` for the policy. Requesting checks everything and refuses what no
approval can fix (a bad cost centre, missing tags, a blocking quota); what a controller may
still allow (no or too little budget, a warning quota, a cost above the approver's limit) is
stored as *escalated*. Approving re-checks the spend, because budgets and actuals move between
the request and the decision.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.access import PROVISIONING_LIMITS, Permission, Role, approval_limit
from ledger.budget import QuotaMode
from ledger.costfacts import CostFactStore
from ledger.errors import (
    ConflictError,
    InputError,
    InputErrors,
    NotFoundError,
    PermissionDeniedError,
)
from ledger.ports import UnitOfWork
from ledger.provisioning import (
    Check,
    Policy,
    ProvisioningRequest,
    RequestStatus,
    StoredRequest,
    check_limit,
    check_master_data,
    check_spend,
)
from ledger.services.base import authorize, business_units_of, record_change
from ledger.services.budgets import position_of

#: Where each check's refusal points in the request, for the error message.
_FIELDS = {"cost_centre": "cost_centre", "tags": "tags", "quota": "monthly_cost"}


class PolicyRefusal(InputErrors):
    """The request breaks a policy no approval can override; nothing was stored."""

    def __init__(self, errors: list[InputError], *, source: str | None = None) -> None:
        super().__init__(errors, source=source)
        self.args = (f"{source}: refused by policy, nothing stored: "
                     + "; ".join(str(e) for e in self.errors),)


def _spend_checks(uow: UnitOfWork, store: CostFactStore | None,
                  request: ProvisioningRequest) -> list[Check]:
    position = position_of(uow, store, request.cost_centre, request.period)
    if position.currency != request.currency:
        return [Check("budget", "escalate", f"the budget is in {position.currency}, the request "
                      f"in {request.currency}: a controller must judge it")]
    budget = uow.budgets.get(request.cost_centre, request.period)
    blocks = budget is not None and budget.quota_mode is QuotaMode.BLOCK
    return check_spend(request, budget=position.budget, forecast=position.forecast,
                       committed=position.committed, quota=position.quota, quota_blocks=blocks)


def _refuse_if_needed(checks: Sequence[Check], what: str) -> None:
    refusals = [c for c in checks if c.outcome == "refuse"]
    if refusals:
        raise PolicyRefusal([InputError(c.message, field=_FIELDS.get(c.name, c.name))
                             for c in refusals], source=what)


def request_provisioning(*, uow: UnitOfWork, request: ProvisioningRequest,
                         store: CostFactStore | None = None,
                         policy: Policy | None = None) -> StoredRequest:
    """Check ``request`` against policy and store it for approval (pending or escalated)."""
    authorize(uow, Permission.REQUEST_PROVISIONING, doing="request provisioning")
    policy = policy or Policy()
    checks = check_master_data(request, uow.cost_centres.get(request.cost_centre), policy)
    _refuse_if_needed(checks, f"provisioning request {request.name!r}")
    authorize(uow, Permission.REQUEST_PROVISIONING, doing="request provisioning",
              business_units=business_units_of(uow, [request.cost_centre]))
    checks += _spend_checks(uow, store, request)
    checks.append(check_limit(request, PROVISIONING_LIMITS[Role.APPROVER]))
    _refuse_if_needed(checks, f"provisioning request {request.name!r}")
    escalations = [c.message for c in checks if c.outcome == "escalate"]
    status = RequestStatus.ESCALATED if escalations else RequestStatus.PENDING
    now = uow.clock.now()
    request_id = uow.provisioning.add(request, status=status, checks=checks,
                                      escalation="; ".join(escalations) or None,
                                      by=uow.actor.login, at=now)
    record_change(uow, action="provisioning.request", entity="provisioning_request",
                  key=str(request_id), after={"request": request, "status": status,
                                              "escalation": escalations})
    stored = uow.provisioning.get(request_id)
    assert stored is not None
    return stored


def list_requests(*, uow: UnitOfWork, statuses: Sequence[str] = ()) -> list[StoredRequest]:
    authorize(uow, Permission.READ, doing="list provisioning requests")
    for status in statuses:
        try:
            RequestStatus(status)
        except ValueError:
            raise InputError(f"unknown status {status!r}; use one of "
                             f"{', '.join(s.value for s in RequestStatus)}", field="status",
                             value=status) from None
    return uow.provisioning.list(statuses=statuses)


def _open_request(uow: UnitOfWork, request_id: int) -> StoredRequest:
    stored = uow.provisioning.get(request_id)
    if stored is None:
        raise NotFoundError(f"provisioning request {request_id} does not exist; see: apportion "
                            "provisioning list")
    if stored.status not in (RequestStatus.PENDING, RequestStatus.ESCALATED):
        raise ConflictError(f"provisioning request {request_id} is already "
                            f"{stored.status.value}")
    return stored


def _decide(uow: UnitOfWork, stored: StoredRequest, to: RequestStatus,
            reason: str | None) -> StoredRequest:
    if not uow.provisioning.decide(stored.id, expected=stored.status, to=to, by=uow.actor.login,
                                   at=uow.clock.now(), reason=reason):
        raise ConflictError(f"provisioning request {stored.id} was decided meanwhile; reload")
    record_change(uow, action=f"provisioning.{to.value}", entity="provisioning_request",
                  key=str(stored.id), before={"status": stored.status},
                  after={"status": to}, reason=reason)
    decided = uow.provisioning.get(stored.id)
    assert decided is not None
    return decided


def approve_request(*, uow: UnitOfWork, request_id: int, reason: str | None = None,
                    store: CostFactStore | None = None) -> StoredRequest:
    """Approve a request (maker-checker). An escalated request, or one that is now over its
    budget, quota or the approver's limit, needs a controller."""
    authorize(uow, Permission.APPROVE_PROVISIONING, doing="approve provisioning")
    stored = _open_request(uow, request_id)
    request = stored.request
    applicable = authorize(uow, Permission.APPROVE_PROVISIONING, doing="approve provisioning",
                           business_units=business_units_of(uow, [request.cost_centre]))
    if uow.actor.login == stored.requested_by:
        raise PermissionDeniedError(
            f"{uow.actor.login} requested provisioning request {request_id} and cannot also "
            "approve it (maker-checker); ask an approver")
    checks = _spend_checks(uow, store, request)
    checks.append(check_limit(request, PROVISIONING_LIMITS[Role.APPROVER]))
    _refuse_if_needed(checks, f"provisioning request {request_id}")
    escalations = [c.message for c in checks if c.outcome == "escalate"]
    if stored.status is RequestStatus.ESCALATED:
        escalations.append(stored.escalation or "escalated at request")
    limit = approval_limit(applicable, PROVISIONING_LIMITS)
    if escalations and limit is not None:
        raise PermissionDeniedError(
            f"provisioning request {request_id} is escalated ({'; '.join(escalations)}); a "
            "controller must approve it")
    return _decide(uow, stored, RequestStatus.APPROVED, reason)


def reject_request(*, uow: UnitOfWork, request_id: int, reason: str) -> StoredRequest:
    """Reject a request, with the reason the requester will read."""
    authorize(uow, Permission.APPROVE_PROVISIONING, doing="reject provisioning")
    if not reason or not reason.strip():
        raise InputError("rejecting a request needs a reason (--reason)", field="reason")
    stored = _open_request(uow, request_id)
    authorize(uow, Permission.APPROVE_PROVISIONING, doing="reject provisioning",
              business_units=business_units_of(uow, [stored.request.cost_centre]))
    return _decide(uow, stored, RequestStatus.REJECTED, reason.strip())
