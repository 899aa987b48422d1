"""The allocation policy: what enters the model, who owns what, how fine, and who pays.

Before any rule runs, an organisation decides scope (a capitalisation threshold, a materiality
threshold per pool, criticality tiers with their own pools), ownership (central IT or the
business unit), granularity (per user, device, application, department, business unit, and the
metering each needs), the charging mode per cost centre or business unit (showback, shadow
chargeback, chargeback, with a planned date of change), the review calendar and the sensitive
pools whose source rows only some roles may see.

This module is pure: the :class:`Policy` value, its TOML form (:func:`parse_policy`,
:func:`to_toml`, :func:`content_hash`), and the decisions the services apply (scope and
ownership per cost line, granularity fallback, charging mode by date, masking). A policy is
versioned like a rule set: saved versions never change, one is active.
"""

from __future__ import annotations

import enum
import hashlib
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.errors import InputError, InputErrors

#: Granularity levels, finest first: a fallback moves to the right.
LEVELS = ("user", "device", "application", "department", "business_unit")
#: Levels every run can reach without metering (a cost centre is a department; its business
#: unit is reference data).
UNMETERED_LEVELS = frozenset({"department", "business_unit"})


class Mode(enum.StrEnum):
    """How a cost centre or business unit meets its allocated cost."""

    SHOWBACK = "showback"  # shown, never posted
    SHADOW = "shadow"  # both figures computed and shown; only showback, nothing posted
    CHARGEBACK = "chargeback"  # posted as journals (the pool's own chargeback model applies)


class Owner(enum.StrEnum):
    IT = "it"
    BUSINESS_UNIT = "business_unit"


@dataclass(frozen=True, slots=True)
class Tier:
    """A criticality tier: matching assets' costs go to the tier's own pool."""

    name: str
    pool: str
    kinds: tuple[str, ...] = ()
    environment: str | None = None
    sla: str = ""

    def matches(self, kind: str | None, environment: str | None) -> bool:
        if self.kinds and kind not in self.kinds:
            return False
        return self.environment is None or environment == self.environment


@dataclass(frozen=True, slots=True)
class Ownership:
    """Who owns an asset kind or a pool and bears its cost; ``answers`` names who answers.

    A pool a business unit owns is charged directly to ``cost_centre`` (by default the
    business unit's top cost centre), or to the cost centre of the unit a line already names,
    and passes through none of IT's pools or shared rules."""

    owner: Owner
    kind: str | None = None
    pool: str | None = None
    business_unit: str | None = None
    answers: str = ""
    cost_centre: str | None = None


@dataclass(frozen=True, slots=True)
class Granularity:
    """A pool's target level and the driver (metering) each level needs."""

    pool: str
    level: str
    metering: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Charging:
    """The mode of a cost centre or business unit, and its planned change on ``change_on``."""

    mode: Mode
    cost_centre: str | None = None
    business_unit: str | None = None
    change_on: date | None = None
    then: Mode | None = None

    def mode_on(self, day: date) -> Mode:
        if self.change_on is not None and self.then is not None and day >= self.change_on:
            return self.then
        return self.mode


@dataclass(frozen=True, slots=True)
class Sensitive:
    """A pool whose source rows only ``roles`` may see (totals and drivers stay visible)."""

    pool: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviewEntry:
    """A review calendar entry: ``subject`` is ``ruleset:NAME`` or ``pool:ID``."""

    subject: str
    reviewer: str | None = None
    every_months: int | None = None
    #: The last review done before the tool recorded reviews (the next is due from it).
    last_reviewed: date | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    version: int
    effective_from: date
    capitalisation_threshold: Decimal | None = None
    overhead_pool: str | None = None
    materiality: tuple[tuple[str, Decimal], ...] = ()
    tiers: tuple[Tier, ...] = ()
    ownership: tuple[Ownership, ...] = ()
    granularity: tuple[Granularity, ...] = ()
    charging: tuple[Charging, ...] = ()
    sensitive: tuple[Sensitive, ...] = ()
    review_months: int = 3
    reviewer: str | None = None
    reviews: tuple[ReviewEntry, ...] = ()
    description: str = ""

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    # -- scope ------------------------------------------------------------------------------

    def capitalised(self, cost: Decimal | None) -> bool:
        """Whether an asset of ``cost`` is depreciated (else expensed when bought)."""
        if self.capitalisation_threshold is None:
            return True
        return cost is not None and cost >= self.capitalisation_threshold

    def materiality_of(self, pool: str | None) -> Decimal | None:
        return dict(self.materiality).get(pool or "")

    def tier_of(self, kind: str | None, environment: str | None) -> Tier | None:
        return next((t for t in self.tiers if t.matches(kind, environment)), None)

    # -- ownership --------------------------------------------------------------------------

    def owner_of_kind(self, kind: str | None) -> Ownership:
        found = next((o for o in self.ownership if o.kind is not None and o.kind == kind), None)
        return found or Ownership(Owner.IT, kind=kind)

    def owner_of_pool(self, pool: str) -> Ownership:
        found = next((o for o in self.ownership if o.pool == pool), None)
        return found or Ownership(Owner.IT, pool=pool)

    # -- charging ---------------------------------------------------------------------------

    def mode_of(self, cost_centre: str, business_unit: str | None, day: date) -> Mode | None:
        """The cost centre's own entry wins over its business unit's; None: no entry (the
        pools' chargeback models apply as they are)."""
        for entry in self.charging:
            if entry.cost_centre == cost_centre:
                return entry.mode_on(day)
        for entry in self.charging:
            if business_unit is not None and entry.business_unit == business_unit:
                return entry.mode_on(day)
        return None

    # -- masking ----------------------------------------------------------------------------

    def may_see_rows(self, pool: str, roles: Collection[str]) -> bool:
        """Whether someone holding ``roles`` may see the individual source rows of ``pool``."""
        entry = next((s for s in self.sensitive if s.pool == pool), None)
        return entry is None or bool(set(entry.roles) & {str(r) for r in roles})


@dataclass(frozen=True, slots=True)
class LevelChoice:
    """The granularity a pool gets in a period: ``used`` is coarser than ``target`` when the
    metering of the finer levels is missing (``warning`` says which)."""

    pool: str
    target: str
    used: str
    warning: str = ""
    #: How the pool was split at ``used`` when it differs from the rule set's own split.
    split: str = ""
    #: The coarser driver that split it (empty when split evenly or not changed).
    driver: str = ""


def choose_level(entry: Granularity, measured: Collection[str]) -> LevelChoice:
    """The finest level from the pool's target on whose metering exists (``measured``: the
    driver names with quantities in the period); the department level needs none."""
    metering = dict(entry.metering)
    missing = []
    for level in LEVELS[LEVELS.index(entry.level):]:
        driver = metering.get(level)
        if driver is None and level in UNMETERED_LEVELS:
            break
        if driver is not None and driver in measured:
            break
        missing.append(f"{level} needs {driver or 'metering the policy does not name'}")
    else:  # pragma: no cover - business_unit always breaks
        level = LEVELS[-1]
    warning = "" if level == entry.level else (
        f"pool {entry.pool}: no metering for {'; '.join(missing)} in the period; charged per "
        f"{level} instead of per {entry.level}")
    return LevelChoice(entry.pool, entry.level, level, warning)


def mask_explanation(data: Mapping[str, Any], policy: Policy | None,
                     roles: Collection[str]) -> dict[str, Any]:
    """An explanation (``explain_run``'s JSON) with the source rows of the sensitive pools the
    roles may not see removed: amounts, shares, pool totals and drivers stay."""
    result = dict(data)
    if policy is None:
        return result
    items = []
    for item in data.get("items", ()):
        if policy.may_see_rows(item["pool"], roles):
            items.append(item)
        else:
            items.append({**item, "sources": [], "masked": True,
                          "note": f"{item['note']} (source rows of sensitive pool "
                                  f"{item['pool']} are not shown to your role)"})
    result["items"] = items
    return result


# -- TOML --------------------------------------------------------------------------------------


class _Reader:
    """Reads one TOML table, collecting errors that name the file, section and field."""

    def __init__(self, table: Mapping[str, Any], source: str, where: str,
                 errors: list[InputError]) -> None:
        self.table, self.source, self.where, self.errors = table, source, where, errors

    def error(self, name: str, message: str, value: Any = None) -> None:
        self.errors.append(InputError(message, source=self.source, row=self.where, field=name,
                                      value=value))

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.table.get(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(name, "must be non-empty text", value)
            return None
        return value.strip()

    def decimal(self, name: str, value: Any = None) -> Decimal | None:
        value = self.table.get(name) if value is None else value
        if value is None:
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.error(name, "must be a decimal number written as text, e.g. \"2500.00\"", value)
            return None
        if not number.is_finite() or number < 0:
            self.error(name, "must be zero or more", value)
            return None
        return number

    def day(self, name: str, *, required: bool = False) -> date | None:
        value = self.table.get(name)
        if value is None:
            if required:
                self.error(name, "is required (YYYY-MM-DD)")
            return None
        if not isinstance(value, date):
            self.error(name, "must be a date, YYYY-MM-DD without quotes", value)
            return None
        return value

    def choice(self, name: str, kind: type[enum.StrEnum], *, required: bool = False
               ) -> Any:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            return kind(value.lower())
        except ValueError:
            self.error(name, f"must be one of {', '.join(k.value for k in kind)}", value)
            return None

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.table.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(name, "must be a list of text", value)
            return ()
        return tuple(v.strip() for v in value)

    def months(self, name: str) -> int | None:
        value = self.table.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 36:
            self.error(name, "must be a whole number of months from 1 to 36", value)
            return None
        return value


def _tables(document: Mapping[str, Any], key: str, source: str,
            errors: list[InputError]) -> list[tuple[str, Mapping[str, Any]]]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        errors.append(InputError(f"must be an array of tables [[{key}]]", source=source,
                                 field=key))
        return []
    return [(f"{key}[{index}]", table) for index, table in enumerate(value, start=1)]


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Parse a policy file; every problem is reported at once, naming section and field."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"is not valid TOML: {exc}", source=source) from None
    errors: list[InputError] = []
    head = _Reader(document.get("policy", {}), source, "[policy]", errors)
    name = head.text("name", required=True) or "?"
    version = head.table.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        head.error("version", "must be a whole number from 1", version)
        version = 1
    effective_from = head.day("effective_from", required=True) or date.min
    scope = _Reader(document.get("scope", {}), source, "[scope]", errors)
    materiality_table = scope.table.get("materiality", {})
    materiality = []
    for pool, value in sorted(materiality_table.items()):
        amount = scope.decimal(f"materiality.{pool}", value)
        if amount is not None:
            materiality.append((pool, amount))
    overhead = scope.text("overhead_pool")
    if materiality and overhead is None:
        scope.error("overhead_pool", "is required when pools have a materiality threshold")
    tiers = tuple(_tier(_Reader(t, source, where, errors))
                  for where, t in _tables(document, "tiers", source, errors))
    ownership = tuple(_ownership(_Reader(t, source, where, errors))
                      for where, t in _tables(document, "ownership", source, errors))
    granularity = tuple(_granularity(_Reader(t, source, where, errors))
                        for where, t in _tables(document, "granularity", source, errors))
    charging = tuple(_charging(_Reader(t, source, where, errors))
                     for where, t in _tables(document, "charging", source, errors))
    sensitive = tuple(Sensitive(_Reader(t, source, where, errors).text("pool", required=True)
                                or "?", _Reader(t, source, where, errors).strings("roles"))
                      for where, t in _tables(document, "sensitive", source, errors))
    reviews = _Reader(document.get("reviews", {}), source, "[reviews]", errors)
    calendar = tuple(
        ReviewEntry(r.text("subject", required=True) or "?", r.text("reviewer"),
                    r.months("every_months"), r.day("last_reviewed"))
        for r in (_Reader(t, source, where, errors)
                  for where, t in _tables(reviews.table, "calendar", source, errors)))
    for entry in calendar:
        if entry.subject.split(":")[0] not in ("ruleset", "pool"):
            reviews.error("calendar.subject", "must be ruleset:NAME or pool:ID", entry.subject)
    policy = Policy(
        name=name, version=version, effective_from=effective_from,
        capitalisation_threshold=scope.decimal("capitalisation_threshold"),
        overhead_pool=overhead, materiality=tuple(materiality), tiers=tiers,
        ownership=ownership, granularity=granularity, charging=charging, sensitive=sensitive,
        review_months=reviews.months("every_months") or 3, reviewer=reviews.text("reviewer"),
        reviews=calendar, description=head.text("description") or "")
    if errors:
        raise InputErrors(errors, source=source)
    return policy


def _tier(r: _Reader) -> Tier:
    return Tier(r.text("name", required=True) or "?", r.text("pool", required=True) or "?",
                r.strings("kinds"), r.text("environment"), r.text("sla") or "")


def _ownership(r: _Reader) -> Ownership:
    kind, pool = r.text("kind"), r.text("pool")
    if (kind is None) == (pool is None):
        r.error("kind", "give either an asset kind or a pool")
    owner = r.choice("owner", Owner, required=True) or Owner.IT
    unit = r.text("business_unit")
    if owner is Owner.BUSINESS_UNIT and pool is not None and unit is None:
        r.error("business_unit", "a pool owned by a business unit must name it")
    centre = r.text("cost_centre")
    if centre is not None and (owner is not Owner.BUSINESS_UNIT or pool is None):
        r.error("cost_centre", "only a pool owned by a business unit names the cost centre "
                               "it is charged to", centre)
    return Ownership(owner, kind, pool, unit, r.text("answers") or "", centre)


def _granularity(r: _Reader) -> Granularity:
    level = r.text("level", required=True) or LEVELS[-1]
    if level not in LEVELS:
        r.error("level", f"must be one of {', '.join(LEVELS)}", level)
        level = LEVELS[-1]
    metering = r.table.get("metering", {})
    pairs = []
    for key, driver in sorted(metering.items()):
        if key not in LEVELS or not isinstance(driver, str):
            r.error(f"metering.{key}", f"must map a level ({', '.join(LEVELS)}) to a driver "
                                       f"name", driver)
            continue
        pairs.append((key, driver))
    return Granularity(r.text("pool", required=True) or "?", level, tuple(pairs))


def _charging(r: _Reader) -> Charging:
    centre, unit = r.text("cost_centre"), r.text("business_unit")
    if (centre is None) == (unit is None):
        r.error("cost_centre", "give either a cost centre or a business unit")
    mode = r.choice("mode", Mode, required=True) or Mode.SHOWBACK
    change_on, then = r.day("change_on"), r.choice("then", Mode)
    if (change_on is None) != (then is None):
        r.error("change_on", "a planned change needs both change_on and then")
    return Charging(mode, centre, unit, change_on, then)


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _fields(pairs: Sequence[tuple[str, Any]]) -> list[str]:
    lines = []
    for key, value in pairs:
        if value is None or value == "" or value == ():
            continue
        if isinstance(value, date):
            lines.append(f"{key} = {value.isoformat()}")
        elif isinstance(value, int) and not isinstance(value, bool):
            lines.append(f"{key} = {value}")
        elif isinstance(value, tuple):
            lines.append(f"{key} = {_list(value)}")
        else:
            lines.append(f"{key} = {_q(str(value))}")
    return lines


def to_toml(policy: Policy) -> str:
    """The canonical text of a policy (what is stored and hashed)."""
    out = ["[policy]", *_fields([("name", policy.name), ("version", policy.version),
                                 ("effective_from", policy.effective_from),
                                 ("description", policy.description)]), ""]
    out += ["[scope]", *_fields([
        ("capitalisation_threshold", None if policy.capitalisation_threshold is None
         else format(policy.capitalisation_threshold, "f")),
        ("overhead_pool", policy.overhead_pool)]), ""]
    if policy.materiality:
        out += ["[scope.materiality]",
                *(f"{_q(pool)} = {_q(format(v, 'f'))}" for pool, v in policy.materiality), ""]
    for tier in policy.tiers:
        out += ["[[tiers]]", *_fields([("name", tier.name), ("pool", tier.pool),
                                       ("kinds", tier.kinds), ("environment", tier.environment),
                                       ("sla", tier.sla)]), ""]
    for entry in policy.ownership:
        out += ["[[ownership]]", *_fields([("kind", entry.kind), ("pool", entry.pool),
                                           ("owner", entry.owner.value),
                                           ("business_unit", entry.business_unit),
                                           ("cost_centre", entry.cost_centre),
                                           ("answers", entry.answers)]), ""]
    for gran in policy.granularity:
        out += ["[[granularity]]", *_fields([("pool", gran.pool), ("level", gran.level)])]
        if gran.metering:
            out.append("metering = { " + ", ".join(f"{k} = {_q(v)}" for k, v in gran.metering)
                       + " }")
        out.append("")
    for charge in policy.charging:
        out += ["[[charging]]", *_fields([
            ("cost_centre", charge.cost_centre), ("business_unit", charge.business_unit),
            ("mode", charge.mode.value), ("change_on", charge.change_on),
            ("then", charge.then.value if charge.then else None)]), ""]
    for entry in policy.sensitive:
        out += ["[[sensitive]]", *_fields([("pool", entry.pool)]),
                f"roles = {_list(entry.roles)}", ""]
    out += ["[reviews]", *_fields([("every_months", policy.review_months),
                                   ("reviewer", policy.reviewer)]), ""]
    for review in policy.reviews:
        out += ["[[reviews.calendar]]", *_fields([("subject", review.subject),
                                                  ("reviewer", review.reviewer),
                                                  ("every_months", review.every_months),
                                                  ("last_reviewed", review.last_reviewed)]),
                ""]
    return "\n".join(out).rstrip() + "\n"


def content_hash(policy: Policy) -> str:
    return hashlib.sha256(to_toml(policy).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A cost the policy kept out of IT's pools or moved, and why (the run reports it).

    Attributes:
        reason: ``below_capitalisation_threshold`` (expensed, not depreciated),
            ``owned_by_business_unit`` (charged directly to its cost centre: an asset by the
            depreciation journal, out of the run; a line of a pool the unit owns, in that pool,
            to ``cost_centre``), ``immaterial`` (moved to the overhead pool),
            ``criticality_tier`` (moved to the tier's pool).
    """

    reason: str
    reference: str
    origin: str
    currency: str
    amount: Decimal
    pool: str | None
    to_pool: str | None = None
    cost_centre: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ModeFigure:
    """A cost centre's figures under its charging mode: ``showback`` is everything allocated
    to it; ``chargeback`` what would be (or is) posted; ``posted`` what its journals carry."""

    cost_centre: str
    business_unit: str | None
    mode: Mode
    currency: str
    showback: Decimal
    chargeback: Decimal
    posted: Decimal
    change_on: date | None = None
    then: Mode | None = None


@dataclass(frozen=True, slots=True)
class PolicyReport:
    """What the policy did to one run."""

    policy: str
    policy_hash: str
    exclusions: tuple[Exclusion, ...] = ()
    levels: tuple[LevelChoice, ...] = ()
    modes: tuple[ModeFigure, ...] = ()
    warnings: tuple[str, ...] = field(default=())


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One saved version: the canonical TOML text (:func:`to_toml`) and its content hash."""

    version: int
    name: str
    status: VersionStatus
    effective_from: date
    text: str
    content_hash: str
    author: str
    created_at: Any
    reason: str | None = None
    parent_version: int | None = None
    activated_by: str | None = None
    activated_at: Any = None

    def policy(self) -> Policy:
        return parse_policy(self.text, source=f"policy version {self.version}")


__all__ = [
    "LEVELS",
    "Charging",
    "Exclusion",
    "Granularity",
    "LevelChoice",
    "Mode",
    "ModeFigure",
    "Owner",
    "Ownership",
    "Policy",
    "PolicyReport",
    "PolicyVersion",
    "ReviewEntry",
    "Sensitive",
    "Tier",
    "VersionStatus",
    "choose_level",
    "content_hash",
    "mask_explanation",
    "parse_policy",
    "to_toml",
]
