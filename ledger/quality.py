"""Data-quality rules for the asset register: which attributes each kind of asset must have, and
which values they may take.

A register is only as useful as its worst rows: a server with no cost centre cannot be charged
back, a laptop with no location cannot be audited. The rules are data (a TOML file the asset
manager edits, stored in the database with an audit trail), not code; this module parses them
and evaluates them against assets as a pure function.

Rules file::

    ignore_status = ["disposed"]      # assets no rule applies to

    [kinds."*"]                       # every kind
    required = ["cost_centre", "location"]
    allowed.status = ["in_service", "in_stock", "on_order", "retired", "disposed"]

    [kinds.server]                    # added to "*" for servers
    required = ["serial_number"]
    allowed.depreciation_status = ["booked"]

Attributes are the register asset's fields (``tag``, ``kind``, ``cost_centre``, ``location``,
``status`` ... and whatever the register gains later) plus ``depreciation_status``: ``booked``
when the asset has a depreciation book, ``none`` otherwise.
"""

from __future__ import annotations

import dataclasses
import enum
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.asset import Asset, AssetKind, LifecycleStatus
from ledger.errors import InputError, InputErrors

ANY_KIND = "*"

#: Attributes computed from more than the asset row.
DERIVED_ATTRIBUTES = ("depreciation_status",)


def asset_attributes() -> tuple[str, ...]:
    """The attribute names a rule may name: the asset's fields, then the derived ones."""
    return (*(f.name for f in dataclasses.fields(Asset)), *DERIVED_ATTRIBUTES)


@dataclass(frozen=True, slots=True)
class KindRules:
    """The rules for one asset kind (or ``*``): required attributes and allowed values."""

    required: tuple[str, ...] = ()
    allowed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QualityRules:
    """A whole rule set: per kind (``*`` applies to every kind), as read from the rules file."""

    kinds: Mapping[str, KindRules] = field(default_factory=dict)
    ignore_status: tuple[str, ...] = ()

    def for_kind(self, kind: str) -> KindRules:
        """The rules that apply to ``kind``: ``*``'s and the kind's own, together."""
        general = self.kinds.get(ANY_KIND, KindRules())
        own = self.kinds.get(kind, KindRules())
        allowed = dict(general.allowed)
        allowed.update(own.allowed)
        required = tuple(dict.fromkeys((*general.required, *own.required)))
        return KindRules(required, allowed)

    def to_dict(self) -> dict[str, Any]:
        """The plain form stored in the database and shown by ``quality rules show``."""
        kinds = {kind: {"required": list(rules.required),
                        "allowed": {a: list(v) for a, v in rules.allowed.items()}}
                 for kind, rules in sorted(self.kinds.items())}
        return {"ignore_status": list(self.ignore_status), "kinds": kinds}


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule on one asset.

    Attributes:
        asset_tag, kind: the asset.
        attribute: the attribute the rule is about.
        rule: ``required`` (missing value) or ``allowed`` (value not in the list).
        value: the value found (None when missing), as text.
        message: what to fix.
    """

    asset_tag: str
    kind: str
    attribute: str
    rule: str
    value: str | None
    message: str


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    text = str(value).strip()
    return text or None


def parse_rules(data: Mapping[str, Any], *, source: str | None = None) -> QualityRules:
    """Rules from their plain form (a parsed TOML file or the stored JSON), checked whole.

    Unknown kinds, unknown attributes and badly shaped entries are all reported together.
    """
    errors: list[InputError] = []
    known_kinds = {k.value for k in AssetKind} | {ANY_KIND}
    attributes = set(asset_attributes())
    kinds_data = data.get("kinds")
    unknown_top = sorted(set(data) - {"kinds", "ignore_status"})
    for key in unknown_top:
        errors.append(InputError("unknown section; rules go under [kinds.KIND]", source=source,
                                 field=key))
    ignore = data.get("ignore_status", [])
    statuses = {s.value for s in LifecycleStatus}
    if not isinstance(ignore, list) or any(str(s) not in statuses for s in ignore):
        errors.append(InputError(f"expected a list of statuses among {', '.join(statuses)}",
                                 source=source, field="ignore_status", value=ignore))
        ignore = []
    if not isinstance(kinds_data, Mapping):
        errors.append(InputError("the rules need a [kinds.KIND] table", source=source,
                                 field="kinds"))
        raise InputErrors(errors, source=source)
    kinds: dict[str, KindRules] = {}
    for kind, body in kinds_data.items():
        where = f"kinds.{kind}"
        if kind not in known_kinds:
            kinds_text = ", ".join(sorted(known_kinds))
            errors.append(InputError(f"unknown asset kind; kinds are {kinds_text}",
                                     source=source, row=where, value=kind))
            continue
        if not isinstance(body, Mapping):
            errors.append(InputError("expected a table", source=source, row=where))
            continue
        for extra in sorted(set(body) - {"required", "allowed"}):
            errors.append(InputError("unknown key; use required or allowed", source=source,
                                     row=where, field=extra))
        required = body.get("required", [])
        if not isinstance(required, list) or not all(isinstance(a, str) for a in required):
            errors.append(InputError("expected a list of attribute names", source=source,
                                     row=where, field="required"))
            required = []
        allowed_data = body.get("allowed", {})
        if not isinstance(allowed_data, Mapping):
            errors.append(InputError("expected a table of attribute = [values]", source=source,
                                     row=where, field="allowed"))
            allowed_data = {}
        allowed: dict[str, tuple[str, ...]] = {}
        for attribute, values in allowed_data.items():
            if not isinstance(values, list) or not values:
                errors.append(InputError("expected a non-empty list of values", source=source,
                                         row=f"{where}.allowed", field=attribute))
                continue
            allowed[attribute] = tuple(str(v) for v in values)
        for attribute in (*required, *allowed):
            if attribute not in attributes:
                errors.append(InputError(
                    f"unknown attribute; attributes are {', '.join(sorted(attributes))}",
                    source=source, row=where, field=attribute))
        kinds[kind] = KindRules(tuple(required), allowed)
    if errors:
        raise InputErrors(errors, source=source)
    return QualityRules(kinds, tuple(str(s) for s in ignore))


def parse_rules_toml(text: str, *, source: str | None = None) -> QualityRules:
    """Rules from the text of a TOML rules file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=source) from None
    return parse_rules(data, source=source)


def evaluate(rules: QualityRules, assets: Iterable[Asset], *,
             booked: frozenset[str] | set[str] = frozenset()) -> list[Violation]:
    """Every violation of ``rules`` by ``assets``, in asset-tag then attribute order.

    ``booked`` holds the tags of assets that have a depreciation book (``depreciation_status``).
    """
    violations: list[Violation] = []
    cache: dict[str, KindRules] = {}
    for asset in sorted(assets, key=lambda a: a.tag):
        if asset.status.value in rules.ignore_status:
            continue
        kind = asset.kind.value
        rules_here = cache.get(kind) or cache.setdefault(kind, rules.for_kind(kind))
        for attribute in sorted({*rules_here.required, *rules_here.allowed}):
            value = _attribute(asset, attribute, booked)
            if value is None:
                if attribute in rules_here.required:
                    violations.append(Violation(asset.tag, kind, attribute, "required", None,
                                                f"a {kind} needs a {attribute}"))
                continue
            allowed = rules_here.allowed.get(attribute)
            if allowed is not None and value not in allowed:
                violations.append(Violation(
                    asset.tag, kind, attribute, "allowed", value,
                    f"{attribute} {value!r} is not one of {', '.join(allowed)}"))
    return violations


def _attribute(asset: Asset, attribute: str, booked: frozenset[str] | set[str]) -> str | None:
    if attribute == "depreciation_status":
        return "booked" if asset.tag in booked else "none"
    return _text(getattr(asset, attribute, None))
