"""The demo company's reporting ground: its service catalogue, recorded savings, KPI benchmarks
and one known change, so that the catalogue, savings, KPI and forecast reports say something on
the demo instead of nothing.

- The catalogue is ``resources/catalogue/demo.toml`` (four services, thirteen subscriptions). The
  demo rule set splits no pool by a service, so the month's allocation does not move.
- Three optimisations, each effective in October 2026 (the quarter before is their baseline):

  | id | kind | what | expected a month | measured |
  |---|---|---|---|---|
  | MRD-SAV-01 | decommissioning | the legacy Redshift warehouse | 4,100.00 | from billing |
  | MRD-SAV-02 | rightsizing | the production RDS instances | 3,400.00 | from billing |
  | MRD-SAV-03 | licence harvesting | the surplus Microsoft 365 E3 seats | 15 x 36.00 | not |

  The realised saving is measured from billing, never entered: the demo imports the quarter's
  billing of the two services the savings act on (:func:`history_rows`, monthly rows of July to
  September: the warehouse before it was retired, the databases before they were resized).
  Each month the demo's month-end bills from October on then realises baseline - actual: the
  warehouse is gone (realised = its baseline), the databases cost what the month-end's billing
  says (about 23,700 against a baseline of 27,078.33). The licence harvest's expected saving is
  the licence position's surplus of 365 E3 seats at a twelfth of their annual price; a licence
  has no billing scope, so the report says it is not measured instead of guessing.
- Benchmarks (illustrative peer values, named so) for the KPIs a newcomer reads first. Tag
  coverage and the dispute amount rate are left for the user to enter.
- A known change: four data scientists join Data Science (5050) in December 2026.

:func:`load` stores all of it through the services; loading again changes nothing (the billing
file has the same content, so the store imports it once).
"""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from client.demo_allocation import COLUMNS
from connectors.billing import detect_importer
from ledger.reports.forecast import KnownChange
from ledger.reports.kpis import Benchmark
from ledger.savings import Saving, SavingKind
from ledger.services import known_changes, licences, reports, savings
from ledger.services.base import Changes
from ledger.services.catalogue import import_catalogue
from ledger.services.costs import import_billing
from ledger.staging import staged

if TYPE_CHECKING:
    from client.bootstrap import App
    from ledger.ports import UnitOfWork

REASON = "demo company"
CATALOGUE = "demo.toml"
HISTORY_FILE = "demo-billing-history.csv"
#: The month the savings take effect; the three before are their baseline.
EFFECTIVE = "2026-10"
REDSHIFT, RDS = "Amazon Redshift", "Amazon Relational Database Service"
#: Monthly cost before the optimisations: (period, sub-account, tags, service, cost).
HISTORY = (
    ("2026-07", "legacy-dwh", {"CostCenter": "5050"}, REDSHIFT, "4180.00"),
    ("2026-08", "legacy-dwh", {"CostCenter": "5050"}, REDSHIFT, "4235.50"),
    ("2026-09", "legacy-dwh", {"CostCenter": "5050"}, REDSHIFT, "4096.25"),
    ("2026-07", "prod-platform", {"CostCenter": "5010"}, RDS, "19640.00"),
    ("2026-08", "prod-platform", {"CostCenter": "5010"}, RDS, "19810.00"),
    ("2026-09", "prod-platform", {"CostCenter": "5010"}, RDS, "19570.00"),
    ("2026-07", "prod-erp", {"cost-center": "3010"}, RDS, "7385.00"),
    ("2026-08", "prod-erp", {"cost-center": "3010"}, RDS, "7420.00"),
    ("2026-09", "prod-erp", {"cost-center": "3010"}, RDS, "7410.00"),
)
M365 = "Microsoft 365 E3"
#: On this day the licence position gives the surplus harvested (any day of the demo year).
POSITION_DAY = date(2026, 10, 1)
BENCHMARK_SOURCE = "illustrative peer group (demo values)"
BENCHMARKS = (
    ("direct_share", "80.00"),
    ("unallocated_share", "2.00"),
    ("reconciliation_match_rate", "0.9500"),
    ("dispute_rate", "0.0200"),
    ("cost_per_employee", "125.00"),
    ("cost_per_device", "950.00"),
)
KNOWN_CHANGE = KnownChange("5050", "2026-12", "four data scientists join (GPU notebooks)",
                           amount=Decimal("1800.00"))


def history_rows() -> list[dict[str, str]]:
    """The quarter's monthly FOCUS rows of the two services the savings act on."""
    rows = []
    for period, account, tags, service, cost in HISTORY:
        year, month = int(period[:4]), int(period[5:])
        first = date(year, month, 1)
        after = date(year + month // 12, month % 12 + 1, 1)
        rows.append({
            "BillingPeriodStart": f"{first} 00:00:00", "BillingPeriodEnd": f"{after} 00:00:00",
            "ChargePeriodStart": f"{first} 00:00:00", "ChargePeriodEnd": f"{after} 00:00:00",
            "ProviderName": "AWS", "BillingAccountId": "MRD-AWS-PAYER",
            "BillingAccountName": "Meridian Components", "SubAccountId": account,
            "SubAccountName": account.replace("-", " ").title(), "ServiceName": service,
            "ServiceCategory": "Databases", "ResourceId": f"{service.split()[-1].lower()}-"
            f"{account}", "RegionId": "eu-west-1", "ChargeCategory": "Usage",
            "ChargeDescription": f"{service} usage", "BilledCost": cost, "EffectiveCost": cost,
            "ListCost": cost, "BillingCurrency": "USD", "Tags": json.dumps(tags)})
    return rows


def _import_history(uow: UnitOfWork, app: App) -> Changes:
    path = app.costfacts_dir.parent / HISTORY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(history_rows())
    result = import_billing(uow=uow, store=app.cost_facts(), path=Path(path),
                            importer=detect_importer(path))
    return Changes(frozenset({"billing"}), created=int(not result.already_imported),
                   unchanged=int(result.already_imported))


def _savings(uow: UnitOfWork) -> list[Saving]:
    surplus = next(p for p in licences.licence_position(uow=uow, on=POSITION_DAY)
                   if p.product == M365)
    monthly_seat = (surplus.unit_cost or Decimal(0)) / 12
    return [
        Saving("MRD-SAV-01", SavingKind.DECOMMISSIONING, "Retire the legacy Redshift warehouse "
               "(reports moved to Athena)", EFFECTIVE, Decimal("4100.00"), "USD",
               service=REDSHIFT, provider="AWS", cost_centre="5050"),
        Saving("MRD-SAV-02", SavingKind.RIGHTSIZING, "Rightsize the production databases "
               "(r5.4xlarge to r6g.2xlarge)", EFFECTIVE, Decimal("3400.00"), "USD",
               service=RDS, provider="AWS", cost_centre="5010"),
        Saving("MRD-SAV-03", SavingKind.LICENCE_HARVESTING,
               f"Harvest the {surplus.surplus} unused {M365} seats at renewal", EFFECTIVE,
               (monthly_seat * surplus.surplus).quantize(Decimal("0.01")), "USD",
               cost_centre="6030"),
    ]


def load(uow: UnitOfWork, app: App) -> Changes:
    """Store the catalogue, the savings and their billing, the benchmarks and the known change
    (each left alone when already stored)."""
    text = resources.files("resources.catalogue").joinpath(CATALOGUE).read_text("utf-8")
    changes = import_catalogue(uow=uow, text=text, source=CATALOGUE, reason=REASON)
    changes += _import_history(uow, app)
    for saving in _savings(uow):
        changes += savings.record_saving(uow=uow, saving=saving, reason=REASON)
    changes += reports.import_benchmarks(uow=uow, benchmarks=staged(
        [Benchmark(kpi, Decimal(value), BENCHMARK_SOURCE) for kpi, value in BENCHMARKS],
        "demo benchmarks"), reason=REASON)
    return changes + known_changes.import_known_changes(
        uow=uow, changes=staged([KNOWN_CHANGE], "demo known changes"), reason=REASON)
