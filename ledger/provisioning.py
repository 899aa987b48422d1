"""Provisioning policy: new assets and cloud resources are checked before anyone deploys them.

A request names the cost centre that will pay, an owner, the environment, the expected monthly
cost and the tags the resource will carry. Policy checks it before it is stored:

- the cost centre exists and is valid (active) in the month the resource starts;
- every required tag is present (and a ``cost-centre`` tag names the request's cost centre);
- the budget has room for it (budget minus forecast minus approved requests), and the derived
  quota is not crossed.

A broken cost centre or a missing tag refuses the request outright (nothing is stored: fix the
request). A quota in *block* mode refuses too. A missing or exceeded budget, a crossed quota in
*warn* mode, or a monthly cost above the approver's limit *escalates* the request: only a
controller may approve it. Approval is maker-checker: the requester never approves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ledger.calendar import parse_period_key
from ledger.errors import InputError
from ledger.money import MoneyError, normalise_currency, to_decimal
from ledger.reference import CostCentre, check_code

#: Tags every new resource must carry unless the policy says otherwise.
DEFAULT_REQUIRED_TAGS = ("cost-centre", "owner", "environment")
COST_CENTRE_TAG = "cost-centre"


class Kind(enum.StrEnum):
    ASSET = "asset"
    CLOUD = "cloud"


class Environment(enum.StrEnum):
    PRODUCTION = "production"
    STAGING = "staging"
    TEST = "test"
    DEVELOPMENT = "development"


class RequestStatus(enum.StrEnum):
    """pending: an approver may decide; escalated: only a controller may; approved/rejected:
    decided."""

    PENDING = "pending"
    ESCALATED = "escalated"
    APPROVED = "approved"
    REJECTED = "rejected"


def _choice(enum_type: type[enum.StrEnum], value: object, name: str) -> enum.StrEnum:
    try:
        return enum_type(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise InputError(f"use one of {allowed}", field=name, value=value) from None


@dataclass(frozen=True, slots=True)
class ProvisioningRequest:
    """What someone wants to deploy, and who pays for it.

    Attributes:
        kind: asset (hardware, a licence seat) or cloud (a resource in a cloud account).
        name: what it is, e.g. ``analytics-db``.
        cost_centre: who pays.
        owner: who answers for it (login or e-mail).
        environment: production, staging, test or development.
        monthly_cost: the expected cost per month, in ``currency``.
        period: ``YYYY-MM``, the month it starts.
        tags: the tags it will carry.
    """

    kind: Kind
    name: str
    cost_centre: str
    owner: str
    environment: Environment
    monthly_cost: Decimal
    currency: str
    period: str
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _choice(Kind, self.kind, "kind"))
        object.__setattr__(self, "environment",
                           _choice(Environment, self.environment, "environment"))
        if not self.name or not self.name.strip():
            raise InputError("say what is to be provisioned", field="name")
        object.__setattr__(self, "name", self.name.strip())
        object.__setattr__(self, "cost_centre", check_code(self.cost_centre,
                                                           field="cost_centre"))
        if not self.owner or not self.owner.strip():
            raise InputError("a request needs an owner", field="owner")
        try:
            cost = to_decimal(self.monthly_cost)
            currency = normalise_currency(self.currency)
        except MoneyError as exc:
            raise InputError(str(exc), field="monthly_cost") from None
        if cost < 0:
            raise InputError("the expected monthly cost cannot be negative",
                             field="monthly_cost", value=self.monthly_cost)
        object.__setattr__(self, "monthly_cost", cost)
        object.__setattr__(self, "currency", currency)
        year, month = parse_period_key(self.period)
        object.__setattr__(self, "period", f"{year:04d}-{month:02d}")
        object.__setattr__(self, "tags", tuple(sorted(
            (k.strip(), v.strip()) for k, v in dict(self.tags).items())))

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)

    @property
    def first_day(self) -> date:
        year, month = parse_period_key(self.period)
        return date(year, month, 1)


@dataclass(frozen=True, slots=True)
class Check:
    """One policy check: its name, whether it passed, and what it found.

    ``outcome`` is ``ok``, ``escalate`` (a controller must approve) or ``refuse``.
    """

    name: str
    outcome: str
    message: str

    @property
    def passed(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True, slots=True)
class Policy:
    required_tags: tuple[str, ...] = DEFAULT_REQUIRED_TAGS


def check_master_data(request: ProvisioningRequest, cost_centre: CostCentre | None,
                      policy: Policy) -> list[Check]:
    """The checks that refuse: a cost centre that is unknown or not active, missing tags."""
    checks = []
    if cost_centre is None:
        checks.append(Check("cost_centre", "refuse",
                            f"cost centre {request.cost_centre} does not exist"))
    elif not cost_centre.is_valid_on(request.first_day):
        checks.append(Check("cost_centre", "refuse",
                            f"cost centre {request.cost_centre} is not active in "
                            f"{request.period}"))
    else:
        checks.append(Check("cost_centre", "ok", f"cost centre {request.cost_centre} is active"))
    tags = request.tag_map
    missing = [tag for tag in policy.required_tags if not tags.get(tag)]
    if missing:
        checks.append(Check("tags", "refuse", f"required tag(s) missing: {', '.join(missing)}"))
    elif tags.get(COST_CENTRE_TAG, request.cost_centre) != request.cost_centre:
        checks.append(Check("tags", "refuse",
                            f"tag {COST_CENTRE_TAG}={tags[COST_CENTRE_TAG]} names another cost "
                            f"centre than the request's {request.cost_centre}"))
    else:
        checks.append(Check("tags", "ok", "required tags present"))
    return checks


def check_spend(request: ProvisioningRequest, *, budget: Decimal | None,
                forecast: Decimal, committed: Decimal, quota: Decimal | None,
                quota_blocks: bool) -> list[Check]:
    """Budget and quota: is there room for ``request.monthly_cost`` on top of the forecast and
    the approved requests not yet in the actuals?"""
    after = forecast + committed + request.monthly_cost
    unit = request.currency
    checks = []
    if budget is None:
        checks.append(Check("budget", "escalate", f"no budget for cost centre "
                            f"{request.cost_centre} in {request.period}"))
    elif after > budget:
        checks.append(Check("budget", "escalate", f"over budget: forecast {forecast} + approved "
                            f"{committed} + this {request.monthly_cost} = {after} {unit} > "
                            f"budget {budget} {unit}"))
    else:
        checks.append(Check("budget", "ok", f"budget available: {budget - after} {unit} left "
                            "after this request"))
    if quota is not None and after > quota:
        checks.append(Check("quota", "refuse" if quota_blocks else "escalate",
                            f"above the quota of {quota} {unit} (95th percentile of six months "
                            f"plus margin): {after} {unit}"))
    elif quota is not None:
        checks.append(Check("quota", "ok", f"within the quota of {quota} {unit}"))
    return checks


def check_limit(request: ProvisioningRequest, limit: Decimal | None) -> Check:
    """An approver may approve up to their limit; above it the request goes to a controller."""
    if limit is not None and request.monthly_cost > limit:
        return Check("limit", "escalate", f"{request.monthly_cost} {request.currency} a month "
                     f"is above the approver limit of {limit}")
    return Check("limit", "ok", "within the approver limit")


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A request as kept, with its checks and decision."""

    id: int
    request: ProvisioningRequest
    status: RequestStatus
    requested_by: str
    requested_at: datetime
    checks: tuple[Check, ...] = ()
    escalation: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
