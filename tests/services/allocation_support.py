"""A small company for the allocation service tests: three cost centres, a rule set in TOML,
and helpers to run allocations on manual costs or a tiny FOCUS file."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

from ledger.allocation import ManualCost
from ledger.reference import CostCentre
from ledger.services import allocation, reference_data
from ledger.staging import staged
from tests.services.ledger_support import Ledger

RULES = """
[ruleset]
name = "it"
version = {version}
effective_from = 2026-01-01
cost_basis = "EffectiveCost"
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"

[tag_keys]
cost_centre = ["CostCenter", "cc"]

[[pools]]
id = "cloud"
name = "Public cloud"
owner = "6010"
chargeback = "{chargeback}"

[[mapping]]
id = "M1"
description = "{description}"
when = {{ tags = {{ cost_centre = "*" }} }}
cost_centre_from_tag = "cost_centre"

[[shared]]
id = "S1"
pool = "cloud"
percent = {{ "1010" = "{share}", "2010" = "{rest}" }}
"""


def rules(version: int = 1, *, share: str = "60", chargeback: str = "full",
          description: str = "tagged resources") -> str:
    rest = str(100 - Decimal(share))
    return RULES.format(version=version, share=share, rest=rest, chargeback=chargeback,
                        description=description)


class AllocationCompany(Ledger):
    """The journals fixture's company plus cost centre 2010 and the rule set ``it``."""

    def __init__(self, app) -> None:
        super().__init__(app)
        with app.uow() as uow:
            reference_data.import_cost_centres(uow=uow, cost_centres=staged([
                CostCentre("2010", "Sales")]))
            uow.commit()

    def save_rules(self, text: str, *, login: str = "carol", based_on: int | None = None,
                   reason: str = "test"):
        with self.as_(login)() as uow:
            saved, changes = allocation.import_ruleset(uow=uow, text=text, source="it.toml",
                                                       based_on=based_on, reason=reason)
            uow.commit()
        return saved, changes

    def activate(self, version: int, login: str = "dave") -> None:
        with self.as_(login)() as uow:
            allocation.activate(uow=uow, name="it", version=version, reason="test")
            uow.commit()

    def run(self, *, costs=(), store=None, period: str = "2026-10", ruleset: str | None = None,
            login: str = "carol", dry_run: bool = False):
        with self.as_(login)() as uow:
            outcome = allocation.allocate(
                uow=uow, store=store, period=period, ruleset=ruleset, dry_run=dry_run,
                extra_sources=[allocation.manual_source(list(costs))])
            uow.commit()
        return outcome


def manual(amount: str, *, cost_centre: str | None = None, entry: str = "power",
           period: str = "2026-10") -> ManualCost:
    return ManualCost(entry, period, "cloud", Decimal(amount), "USD", "data-centre power",
                      cost_centre)


FOCUS_COLUMNS = ("BillingPeriodStart", "ChargePeriodStart", "ProviderName", "BillingAccountId",
                 "SubAccountId", "ServiceName", "ResourceId", "ChargeCategory", "BilledCost",
                 "EffectiveCost", "BillingCurrency", "Tags")


def focus_file(path: Path, rows: list[tuple[str, str, str, str, dict[str, str]]],
               period: str = "2026-10") -> Path:
    """A FOCUS CSV: rows of (account, service, resource, cost, tags)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FOCUS_COLUMNS)
        for account, service, resource, cost, tags in rows:
            writer.writerow([f"{period}-01 00:00:00", f"{period}-05 00:00:00", "AWS", account,
                             "sub-1", service, resource, "Usage", cost, cost, "USD",
                             json.dumps(tags) if tags else "NULL"])
    return path
