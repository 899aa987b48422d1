"""What the sandbox ERP validates against: companies, chart of accounts, cost centres, periods.

By default the sandbox is set up like the demo company (``resources/demo/company.json``): its
company code and currency, its GL accounts, and the cost centres the demo derives from its
business units (unit ``n`` is ``n*1000``, its departments ``n*1000 + 10*k``, the same rule as
``client/demo.py``). Tests pass their own values.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class SandboxChart:
    """The sandbox's master data.

    Attributes:
        companies: company code -> local currency (ISO 4217).
        accounts: GL account numbers that exist (in every company).
        cost_centres: cost-centre codes that exist.
        closed_periods: ``YYYY-MM`` periods that refuse postings.
    """

    companies: dict[str, str]
    accounts: frozenset[str]
    cost_centres: frozenset[str]
    closed_periods: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *, companies: dict[str, str] | None = None,
           accounts: Iterable[str] | None = None,
           cost_centres: Iterable[str] | None = None,
           closed_periods: Iterable[str] = ()) -> SandboxChart:
        """A chart with the demo company's values for whatever is not given."""
        demo = demo_chart() if None in (companies, accounts, cost_centres) else None
        return cls(
            companies=dict(companies) if companies is not None else dict(demo.companies),
            accounts=frozenset(accounts) if accounts is not None else demo.accounts,
            cost_centres=(frozenset(cost_centres) if cost_centres is not None
                          else demo.cost_centres),
            closed_periods=frozenset(closed_periods),
        )

    def is_closed(self, day: date) -> bool:
        return f"{day.year:04d}-{day.month:02d}" in self.closed_periods


def demo_chart() -> SandboxChart:
    """The demo company's company code, currency, accounts and cost centres."""
    text = (importlib.resources.files("resources.demo") / "company.json").read_text("utf-8")
    spec = json.loads(text)
    company = spec["company"]
    cost_centres = []
    for unit_index, unit in enumerate(spec["business_units"], start=1):
        cost_centres.append(str(unit_index * 1000))
        for dept_index, _name in enumerate(unit["departments"], start=1):
            cost_centres.append(str(unit_index * 1000 + dept_index * 10))
    return SandboxChart(
        companies={company["code"]: company["functional_currency"]},
        accounts=frozenset(str(row[0]) for row in spec["accounts"]),
        cost_centres=frozenset(cost_centres),
    )
