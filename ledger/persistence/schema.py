"""Every table of the database: the records modules, imported together.

Alembic's ``env.py`` and anything that needs the whole metadata import this module rather than
``records`` alone, so tables declared in the per-domain records modules are never missed.
"""

from __future__ import annotations

from ledger.persistence import (  # noqa: F401
    allocation_records,
    audit_index,
    catalogue_records,
    flow_log_records,
    governance_records,
    inventory_records,
    kubernetes_records,
    licence_records,
    policy_records,
    report_records,
)
from ledger.persistence.records import Base

metadata = Base.metadata
