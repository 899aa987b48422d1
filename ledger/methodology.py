"""The methodology document: how a period's IT cost is allocated, in words auditors can check.

Built from what the system actually runs (the active rule set's pools, mapping and shared rules,
the drivers, the depreciation policies of the books, the exceptions register and the governance
settings), never from a hand-written description that could drift from it. The document is a
plain tree of sections, paragraphs and tables so that any renderer (HTML, PDF, JSON) shows the
same content; it carries the audit chain head of the period it documents, so a reader can tie
the document to the hash-chained audit trail (``apportion audit verify --head H``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ledger.allocation.rules import (
    Chargeback,
    IdlePolicy,
    MappingRule,
    Match,
    Pool,
    RuleSet,
    SharedRule,
)
from ledger.catalogue_targets import service_of


@dataclass(frozen=True, slots=True)
class Table:
    """A table of text cells; ``columns`` names them."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of the document: paragraphs first, then tables."""

    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditAnchor:
    """The audit chain head a document is tied to, and where it comes from.

    ``recorded_at_close`` is True when the head is the one recorded when the period was closed
    (the period's own fixed head); otherwise it is the chain's current head, because the period
    is still open and its head is not final.
    """

    head: str
    recorded_at_close: bool
    closed_at: datetime | None = None
    closed_by: str | None = None

    def describe(self, period: str) -> str:
        if self.recorded_at_close:
            return (f"Audit chain head recorded at the close of {period} by {self.closed_by} on "
                    f"{self.closed_at:%Y-%m-%d %H:%M} UTC: {self.head}")
        return (f"Period {period} is not closed: this is the audit chain head when the document "
                f"was generated, {self.head}; the period's own head is recorded when it closes")


@dataclass(frozen=True, slots=True)
class Methodology:
    """The whole document."""

    company: str
    period: str
    ruleset: str
    ruleset_hash: str
    generated_at: datetime
    generated_by: str
    anchor: AuditAnchor
    sections: tuple[Section, ...] = field(default=())

    @property
    def title(self) -> str:
        return f"Cost allocation methodology, {self.company}, {self.period}"

    def section(self, title: str) -> Section:
        return next(s for s in self.sections if s.title == title)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title, "company": self.company, "period": self.period,
            "ruleset": self.ruleset, "ruleset_hash": self.ruleset_hash,
            "generated_at": self.generated_at.isoformat(), "generated_by": self.generated_by,
            "audit_head": self.anchor.head,
            "audit_head_recorded_at_close": self.anchor.recorded_at_close,
            "sections": [{"title": s.title, "paragraphs": list(s.paragraphs),
                          "tables": [{"columns": list(t.columns),
                                      "rows": [list(r) for r in t.rows]} for t in s.tables]}
                         for s in self.sections],
        }


@dataclass(frozen=True, slots=True)
class BookPolicy:
    """Assets depreciated the same way in one book (a depreciation policy as practised)."""

    book: str
    method: str
    life: str
    convention: str
    expense_account: str
    accumulated_account: str
    posts_to_ledger: bool
    assets: int


@dataclass(frozen=True, slots=True)
class ExceptionLine:
    """An entry of the exceptions register as the document lists it."""

    id: int
    title: str
    status: str
    scope: str
    effect: str
    periods: str
    expires_on: str
    approved_by: str


@dataclass(frozen=True, slots=True)
class Governance:
    """Who may do what: roles and their permissions, approval limits, scoped grants."""

    role_permissions: Mapping[str, Sequence[str]]
    approval_limits: Mapping[str, Decimal | None]
    provisioning_limits: Mapping[str, Decimal | None]
    scoped_grants: Sequence[tuple[str, str, str]] = ()


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def describe_match(match: Match) -> str:
    """A mapping rule's condition in words ("service_name is AmazonEC2 and tag team present")."""
    parts = [f"{name} is {' or '.join(p.text for p in patterns)}"
             for name, patterns in match.attributes]
    for key, patterns in match.tags:
        texts = [p.text for p in patterns]
        parts.append(f"tag {key} present" if texts == ["*"]
                     else f"tag {key} is {' or '.join(texts)}")
    parts += [f"tag {key} missing" for key in match.missing_tags]
    return " and ".join(parts) or "every cost line"


def describe_target(rule: MappingRule) -> str:
    """Where a mapping rule sends what it matches."""
    if rule.cost_centre:
        return f"cost centre {rule.cost_centre}"
    if rule.cost_centre_from_tag:
        table = f" through a table of {len(rule.values)} value(s)" if rule.values else ""
        return f"the cost centre named by tag {rule.cost_centre_from_tag}{table}"
    if rule.shared:
        return "the pool's shared amount (split by its shared rule)"
    if rule.origin_resource:
        return "the cost centre of the originating resource"
    if rule.idle:
        return "idle capacity (the pool's idle policy)"
    return "-"


def describe_basis(rule: SharedRule) -> str:
    """How a shared rule splits: by driver, percentages or evenly, with capacity and rate card."""
    service = service_of(rule.driver)
    if service is not None:
        code, at_rate = service
        text = (f"at the catalogue price of service {code} per subscription (units x tier rate);"
                " the pool's owner keeps the difference" if at_rate else
                f"in proportion to the subscriptions of catalogue service {code} (units x tier "
                "rate)")
    elif rule.driver:
        text = f"in proportion to driver {rule.driver}"
    elif rule.percent:
        text = "fixed percentages " + ", ".join(f"{t} {_num(p)} %" for t, p in rule.percent)
    else:
        text = "evenly"
    if rule.capacity is not None:
        text += f"; capacity {_num(rule.capacity)} units, the unused part is idle"
    if rule.tiers:
        steps = ", ".join(f"{_num(t.price)} up to {_num(t.up_to)}" if t.up_to is not None
                          else f"{_num(t.price)} above" for t in rule.tiers)
        text += f"; tiered rate card ({steps}) at one blended rate"
    return text


def describe_pool_policy(pool: Pool, central: str) -> str:
    """A pool's chargeback model and idle policy in words."""
    if pool.chargeback is Chargeback.SUBSIDY:
        model = f"charged back less a {_num(pool.subsidy_percent)} % subsidy absorbed by {central}"
    elif pool.chargeback is Chargeback.SHOWBACK:
        model = "shown back only (no journal)"
    else:
        model = "charged back in full"
    if pool.idle is IdlePolicy.OWNER:
        penalty = (f" plus a {_num(pool.idle_penalty_percent)} % penalty"
                   if pool.idle_penalty_percent else "")
        idle = f"idle charged to {pool.idle_owner or pool.owner}{penalty}"
    elif pool.idle is IdlePolicy.CENTRAL:
        idle = f"idle absorbed by {central}"
    else:
        idle = "idle spread over the consumers"
    return f"{model}; {idle}"


def ruleset_sections(ruleset: RuleSet, *, status: str, author: str, activated_by: str | None,
                     content_hash: str) -> list[Section]:
    """The rule set's own sections: summary, pools, mapping rules, shared rules."""
    effective = (f"from {ruleset.effective_from}"
                 + (f" to {ruleset.effective_to}" if ruleset.effective_to else ""))
    summary = Section("Rule set", (
        f"Costs of the period are allocated by rule set {ruleset.label} ({status}, effective "
        f"{effective}), written by {author}"
        + (f" and activated by {activated_by}" if activated_by else "") + ".",
        f"Cost basis: {ruleset.cost_basis.value}. Service pools are resolved "
        f"{ruleset.method.value.replace('_', '-')}, in the order "
        f"{', '.join(ruleset.processing_order())}.",
        f"Allocated cost is debited to account {ruleset.expense_account} of each cost centre and "
        f"credited to account {ruleset.recovery_account} of the pool's owner; cost centre "
        f"{ruleset.central_cost_centre} absorbs what a pool does not recover.",
        "Mapping rules are applied in order and the first rule that matches decides; cost no rule "
        "places stays unallocated and is reported with its reason.",
        f"Content hash of the rule set (SHA-256 of its canonical text): {content_hash}.",
    ) + ((ruleset.description,) if ruleset.description else ()))
    aliases = tuple((canonical, ", ".join(names)) for canonical, names in ruleset.tag_aliases)
    if aliases:
        summary = Section(summary.title, summary.paragraphs,
                          (Table(("tag key", "also read from"), aliases),))
    pools = Section("Cost pools", ("Each pool collects cost of one kind and is recovered from the "
                                   "cost centres that consume it.",), (Table(
        ("pool", "name", "owner", "policy", "expense account"),
        tuple((p.id, p.name, p.owner, describe_pool_policy(p, ruleset.central_cost_centre),
               p.expense_account or ruleset.expense_account) for p in ruleset.pools)),))
    mapping = Section("Mapping rules", (f"{len(ruleset.mapping)} rule(s), in the order applied.",),
                      (Table(("order", "rule", "pool", "when", "goes to", "description"),
                             tuple((str(i), m.id, m.pool, describe_match(m.match),
                                    describe_target(m), m.description)
                                   for i, m in enumerate(ruleset.mapping, 1))),))
    shared = Section("Shared cost rules", ("A pool's shared amount is split among its targets "
                                           "as follows (a target pool passes it on in turn).",),
                     (Table(("rule", "pool", "targets", "basis", "description"),
                            tuple((s.id, s.pool, ", ".join(s.targets), describe_basis(s),
                                   s.description) for s in ruleset.shared)),))
    return [summary, pools, mapping, shared]


def drivers_section(ruleset: RuleSet, period: str,
                    quantities: Mapping[str, tuple[int, Decimal, int | None]]) -> Section:
    """The drivers the shared rules use; per driver (cost centres, total, table revision)."""
    rows = []
    for name in sorted({s.driver for s in ruleset.shared if s.driver and not service_of(s.driver)}):
        count, total, revision = quantities.get(name, (0, Decimal(0), None))
        rows.append((name, ", ".join(s.id for s in ruleset.shared if s.driver == name),
                     str(count), _num(total), "-" if revision is None else str(revision)))
    return Section("Drivers", (f"Driver quantities of {period}: how many cost centres carry a "
                               "quantity, their total and the revision of the driver table.",),
                   (Table(("driver", "used by", "cost centres", f"total {period}", "revision"),
                          tuple(rows)),))


def book_policies(books: Iterable[Any]) -> list[BookPolicy]:
    """Group depreciation books into policies: same book, method, life, convention, accounts."""
    counts: Counter[tuple[str, str, str, str, str, str, bool]] = Counter()
    for book in books:
        terms = book.terms
        life = (f"{terms.life_months} months" if getattr(terms, "life_months", None)
                else f"{_num(Decimal(str(terms.life_years)))} years"
                if getattr(terms, "life_years", None) else
                f"MACRS {terms.recovery_period}-year" if getattr(terms, "recovery_period", None)
                else "-")
        convention = getattr(terms, "convention", None)
        counts[(book.book, str(getattr(terms.method, "value", terms.method)), life,
                str(getattr(convention, "value", convention) or "method default"),
                book.expense_account, book.accumulated_account, book.posts_to_ledger)] += 1
    return [BookPolicy(*key, assets=n) for key, n in sorted(counts.items())]


def depreciation_section(policies: Sequence[BookPolicy]) -> Section:
    return Section("Depreciation policies", (
        "Assets are depreciated per book; books that post feed the depreciation cost pool and "
        "draft journals, tax books are only computed.",), (Table(
            ("book", "method", "life", "convention", "expense", "accumulated", "posts", "assets"),
            tuple((p.book, p.method, p.life, p.convention, p.expense_account,
                   p.accumulated_account, "yes" if p.posts_to_ledger else "no", str(p.assets))
                  for p in policies)),))


def exceptions_section(lines: Sequence[ExceptionLine], period: str) -> Section:
    return Section("Exceptions", (
        "Approved exceptions move a scoped share of cost to a central cost centre without "
        "editing rules; each is approved by someone other than its author and expires. "
        f"{sum(1 for x in lines if x.status == 'applies')} apply to {period}.",), (Table(
            ("id", "title", "status", "scope", "effect", "periods", "expires", "approved by"),
            tuple((str(x.id), x.title, x.status, x.scope, x.effect, x.periods, x.expires_on,
                   x.approved_by) for x in lines)),))


def governance_section(governance: Governance) -> Section:
    def limit(value: Decimal | None) -> str:
        return "no limit" if value is None else _num(value)

    roles = Table(("role", "permissions"), tuple(
        (role, ", ".join(sorted(perms))) for role, perms in sorted(governance.role_permissions
                                                                   .items())))
    limits = Table(("role", "journal approval limit", "provisioning approval limit"), tuple(
        (role, limit(governance.approval_limits[role]) if role in governance.approval_limits
         else "-", limit(governance.provisioning_limits[role])
         if role in governance.provisioning_limits else "-")
        for role in sorted(set(governance.approval_limits) | set(governance.provisioning_limits))))
    tables = [roles, limits]
    if governance.scoped_grants:
        tables.append(Table(("login", "role", "business units"),
                            tuple(governance.scoped_grants)))
    return Section("Governance", (
        "Every change is checked against the actor's role and recorded in a hash-chained audit "
        "trail with its before and after; journals need approval by someone other than their "
        "maker or submitter (maker-checker), within the approver's limit.",), tuple(tables))


def audit_section(anchor: AuditAnchor, period: str) -> Section:
    return Section("Audit trail", (
        anchor.describe(period),
        "Verify the trail against this head with: apportion audit verify --head "
        f"{anchor.head}",))


def cloud_section(ruleset: RuleSet) -> Section | None:
    """How shared clusters, spot capacity and data transfer are split before the mapping rules
    (``[[clusters]]``, ``[[spot]]``, ``[[transfer]]``); None when the rule set has none."""
    rows: list[tuple[str, ...]] = []
    for c in ruleset.clusters:
        idle = (f"idle charged to {c.idle_owner}" if c.idle_owner and c.idle.value == "owner"
                else f"idle shared {c.idle.value}")
        rows.append(("cluster", c.id, f"{c.cluster} (tag {c.tag}"
                     + (f", resources {', '.join(c.resource_ids)}" if c.resource_ids else "") + ")",
                     f"by {c.by}, the {c.basis.value} of request and usage, CPU "
                     f"{_num(c.cpu_percent)} % of node cost; {idle}; system namespaces "
                     f"{', '.join(c.system_namespaces) or '-'} shared", c.description))
    for r in ruleset.spot:
        rows.append(("spot", r.id, ", ".join(r.resource_ids),
                     "by run-time hours of each workload; CPU-credit surcharges by credits "
                     "burned; cost of hours without a run stays with the resource", r.description))
    for t in ruleset.transfer:
        target = (f"charged to the owning cost centre in pool {t.pool or ruleset.default_pool}"
                  if t.charge_to.value == "cost_centre"
                  else f"tagged {t.owner_tag} = owner for the mapping rules")
        rows.append(("transfer", t.id, ", ".join(t.kinds),
                     f"by the bytes each owner's resources sent (flow logs); {target}; a charge "
                     "no flow explains stays on its mapping rule", t.description))
    if not rows:
        return None
    return Section("Cloud-native splits", (
        "Before the mapping rules, these billing lines are replaced by one line per consumer, "
        "split to the cent by the largest remainder so the parts add up to the bill.",),
        (Table(("kind", "rule", "applies to", "split", "description"), tuple(rows)),))


def policy_section(policy: Any | None) -> Section:
    """The allocation policy in force (:class:`ledger.policy.Policy`): scope, ownership,
    granularity, charging modes, sensitive pools and the review calendar."""
    if policy is None:
        return Section("Allocation policy", (
            "No allocation policy is active: every cost source enters the model, central IT owns "
            "every pool and every cost centre is charged back.",))
    scope = [f"Policy {policy.label}, effective from {policy.effective_from}."]
    if policy.capitalisation_threshold is not None:
        scope.append(f"Assets costing less than {_num(policy.capitalisation_threshold)} are "
                     "expensed when bought, not depreciated.")
    if policy.materiality:
        scope.append("Cost lines below a pool's materiality threshold go to the overhead pool "
                     f"{policy.overhead_pool or '-'}: " + ", ".join(
                         f"{pool} {_num(limit)}" for pool, limit in policy.materiality) + ".")
    scope.append(f"Rule sets and pools are reviewed every {policy.review_months} months"
                 + (f" by {policy.reviewer}" if policy.reviewer else "") + ".")
    rows: list[tuple[str, ...]] = []
    rows += [("tier", t.name, f"{', '.join(t.kinds) or 'any kind'}"
              + (f" in {t.environment}" if t.environment else ""), f"own pool {t.pool}"
              + (f"; SLA {t.sla}" if t.sla else "")) for t in policy.tiers]
    rows += [("ownership", o.pool or o.kind or "-", o.business_unit or "central IT",
              ("charged directly to " + (o.cost_centre or f"the unit {o.business_unit}")
               if o.owner.value == "business_unit" else "through IT's pools")
              + (f"; answers: {o.answers}" if o.answers else "")) for o in policy.ownership]
    rows += [("granularity", g.pool, g.level, ", ".join(f"{level}: {driver}"
                                                        for level, driver in g.metering) or "-")
             for g in policy.granularity]
    rows += [("charging", c.cost_centre or c.business_unit or "-", c.mode.value,
              f"{c.then.value} from {c.change_on}" if c.change_on and c.then else "-")
             for c in policy.charging]
    rows += [("sensitive", s.pool, "source rows masked", "visible to " + (", ".join(s.roles)
                                                                         or "nobody"))
             for s in policy.sensitive]
    tables = (Table(("kind", "subject", "setting", "effect"), tuple(rows)),) if rows else ()
    return Section("Allocation policy", tuple(scope), tables)
