"""Pure report builders: cost-centre statements, disputes, forecasts and KPIs.

Nothing here reads the database or renders a file: the services
(:mod:`ledger.services.reports`, :mod:`ledger.services.disputes`) gather stored runs, budgets
and disputes, these modules compute the figures, and the client renders them (XLSX, PDF, HTML).
"""

from __future__ import annotations

from ledger.reports.disputes import (
    Dispute,
    DisputeRate,
    DisputeStatus,
    correcting_entry,
    dispute_rates,
)
from ledger.reports.forecast import ForecastPoint, accuracy, seasonal_forecast
from ledger.reports.kpis import KpiComparison, allocation_shares, compare, tag_coverage
from ledger.reports.statement import (
    Mover,
    ShadowFigure,
    Statement,
    StatementLine,
    build_statement,
)

__all__ = [
    "Dispute", "DisputeRate", "DisputeStatus", "ForecastPoint", "KpiComparison", "Mover",
    "ShadowFigure",
    "Statement", "StatementLine", "accuracy", "allocation_shares", "build_statement", "compare",
    "correcting_entry", "dispute_rates", "seasonal_forecast", "tag_coverage",
]
