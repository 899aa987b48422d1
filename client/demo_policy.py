"""The demo company's allocation policy: one of each decision, with a small, deliberate effect.

Meridian Components' policy (:data:`POLICY`) is chosen so that every part of the policy shows in
the demo month while the posted numbers barely move:

- the capitalisation threshold (500.00) is below every asset in the register, so the
  depreciation run expenses nothing;
- network billing cost lines under 500.00 (Route 53 and the Azure virtual network, per
  resource) are immaterial: they join the untagged cloud shared by headcount instead of the
  network pool, so central IT no longer subsidises a fifth of them;
- core network gear is tier 1 and carries the network pool: its depreciation moves from the
  hardware pool to the network pool, on Network Services itself (the pool's owner), so
  nothing more is posted;
- desktops belong to the business unit that holds them: their depreciation is charged
  directly by the depreciation journal and leaves the hardware pool (which is showback);
- People and Legal (HRL) is in shadow chargeback until 2027: its lines are shown with both
  figures and nothing of it is posted;
- the data-centre pool is sensitive (hosting contracts): only controllers and auditors see its
  source rows;
- the network pool's review is overdue (last reviewed in March, every six months), so the
  dashboard shows one overdue review.

:func:`load_policy` saves and activates it once: loading the demo again changes nothing.
"""

from __future__ import annotations

from ledger.ports import UnitOfWork
from ledger.services import policy as policy_service
from ledger.services.base import Changes

POLICY = """\
[policy]
name = "meridian"
version = 1
effective_from = 2026-01-01
description = "Meridian Components: what enters IT chargeback, who owns what and who pays"

[scope]
capitalisation_threshold = "500.00"
overhead_pool = "cloud"

[scope.materiality]
"network" = "500.00"

[[tiers]]
name = "tier1"
pool = "network"
kinds = ["network"]
sla = "99.95% monthly, core network"

[[ownership]]
kind = "desktop"
owner = "business_unit"
answers = "the business unit's office manager"

[[ownership]]
pool = "network"
owner = "it"
answers = "Network Services"

[[charging]]
business_unit = "HRL"
mode = "shadow"
change_on = 2027-01-01
then = "chargeback"

[[sensitive]]
pool = "facilities"
roles = ["controller", "auditor"]

[reviews]
every_months = 3
reviewer = "dave"

[[reviews.calendar]]
subject = "pool:network"
reviewer = "dave"
every_months = 6
last_reviewed = 2026-03-31
"""


def load_policy(uow: UnitOfWork) -> Changes:
    """Save and activate the demo policy, once (a second load changes nothing)."""
    if uow.policies.latest() is not None:
        return Changes(frozenset({"policy"}), unchanged=1)
    saved, changes = policy_service.import_policy(uow=uow, text=POLICY, source="demo policy",
                                                  reason="demo company")
    return changes + policy_service.activate_policy(uow=uow, version=saved.version,
                                                    reason="demo company")
