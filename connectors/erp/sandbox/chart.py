"""What the sandbox ERP validates against and serves as master data: companies, chart of
accounts, cost centres, periods.

By default the sandbox is set up like the demo company (``resources/demo/company.json``): its
company code, name and currency, its GL accounts (number, name, kind), and the cost centres the
demo derives from its business units (unit ``n`` is ``n*1000``, its departments
``n*1000 + 10*k``, named after the unit and its departments, valid from the first day of the demo
fiscal year: the same rule as ``client/demo.py``). Tests pass their own values: plain codes (the
sandbox invents names) or :class:`ChartAccount` / :class:`ChartCostCentre` records.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

# The kinds of account the sandbox knows; the values of ``ledger.reference.AccountType``.
ACCOUNT_KINDS = ("expense", "asset", "accumulated_depreciation", "recovery", "liability",
                 "revenue", "equity")


@dataclass(frozen=True, slots=True)
class ChartAccount:
    """A GL account of the sandbox's chart; ``kind`` is one of :data:`ACCOUNT_KINDS`."""

    number: str
    name: str = ""
    kind: str = "expense"
    blocked: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ACCOUNT_KINDS:
            raise ValueError(f"unknown account kind {self.kind!r}")
        if not self.name:
            object.__setattr__(self, "name", f"Account {self.number}")


@dataclass(frozen=True, slots=True)
class ChartCostCentre:
    """A cost centre of the sandbox's chart (``valid_to`` None: open-ended)."""

    code: str
    name: str = ""
    business_unit: str = ""
    owner: str = ""
    valid_from: date = date(2000, 1, 1)
    valid_to: date | None = None

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"Cost centre {self.code}")


@dataclass(frozen=True, slots=True)
class SandboxChart:
    """The sandbox's master data.

    Attributes:
        companies: company code -> local currency (ISO 4217).
        accounts: GL account numbers that exist (in every company).
        cost_centres: cost-centre codes that exist.
        closed_periods: ``YYYY-MM`` periods that refuse postings.
        account_records, cost_centre_records: the details served as master data, one per
            account number / cost-centre code (invented from the code where not given).
        company_names: company code -> name (the code where not given).
    """

    companies: dict[str, str]
    accounts: frozenset[str]
    cost_centres: frozenset[str]
    closed_periods: frozenset[str] = field(default_factory=frozenset)
    account_records: tuple[ChartAccount, ...] = ()
    cost_centre_records: tuple[ChartCostCentre, ...] = ()
    company_names: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        given = {a.number: a for a in self.account_records}
        object.__setattr__(self, "account_records", tuple(
            given.get(number) or ChartAccount(number) for number in sorted(self.accounts)))
        centres = {c.code: c for c in self.cost_centre_records}
        object.__setattr__(self, "cost_centre_records", tuple(
            centres.get(code) or ChartCostCentre(code) for code in sorted(self.cost_centres)))

    @classmethod
    def of(cls, *, companies: dict[str, str] | None = None,
           accounts: Iterable[str | ChartAccount] | None = None,
           cost_centres: Iterable[str | ChartCostCentre] | None = None,
           closed_periods: Iterable[str] = (),
           company_names: Mapping[str, str] | None = None) -> SandboxChart:
        """A chart with the demo company's values for whatever is not given."""
        demo = demo_chart() if None in (companies, accounts, cost_centres) else None
        if accounts is None:
            account_records = demo.account_records if demo else ()
        else:
            account_records = tuple(a if isinstance(a, ChartAccount) else ChartAccount(str(a))
                                    for a in accounts)
        if cost_centres is None:
            centre_records = demo.cost_centre_records if demo else ()
        else:
            centre_records = tuple(c if isinstance(c, ChartCostCentre)
                                   else ChartCostCentre(str(c)) for c in cost_centres)
        names = dict(company_names or {})
        if companies is None and demo is not None:
            names = {**demo.company_names, **names}
        return cls(
            companies=dict(companies) if companies is not None else dict(demo.companies),
            accounts=frozenset(a.number for a in account_records),
            cost_centres=frozenset(c.code for c in centre_records),
            closed_periods=frozenset(closed_periods),
            account_records=account_records,
            cost_centre_records=centre_records,
            company_names=names,
        )

    def is_closed(self, day: date) -> bool:
        return f"{day.year:04d}-{day.month:02d}" in self.closed_periods

    def company_name(self, code: str) -> str:
        return self.company_names.get(code) or code


def demo_chart() -> SandboxChart:
    """The demo company's company code, name, currency, accounts and cost centres."""
    text = (importlib.resources.files("resources.demo") / "company.json").read_text("utf-8")
    spec = json.loads(text)
    company = spec["company"]
    first_day = date(int(spec["fiscal_year"]), int(company.get("fiscal_year_start_month", 1)), 1)
    if first_day.month != 1:  # a fiscal year named after the calendar year it ends in
        first_day = first_day.replace(year=first_day.year - 1)
    cost_centres = []
    for unit_index, unit in enumerate(spec["business_units"], start=1):
        cost_centres.append(ChartCostCentre(str(unit_index * 1000), unit["name"], unit["code"],
                                            valid_from=first_day))
        for dept_index, name in enumerate(unit["departments"], start=1):
            cost_centres.append(ChartCostCentre(str(unit_index * 1000 + dept_index * 10), name,
                                                unit["code"], valid_from=first_day))
    accounts = [ChartAccount(str(number), name, kind) for number, name, kind in spec["accounts"]]
    return SandboxChart(
        companies={company["code"]: company["functional_currency"]},
        accounts=frozenset(a.number for a in accounts),
        cost_centres=frozenset(c.code for c in cost_centres),
        account_records=tuple(accounts),
        cost_centre_records=tuple(cost_centres),
        company_names={company["code"]: company["name"]},
    )
