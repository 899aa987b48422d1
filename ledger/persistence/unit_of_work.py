"""The SQLAlchemy unit of work: one session, one transaction, one actor.

Usage::

    with uow_factory() as uow:
        ...            # repositories read and write through uow.session
        uow.commit()   # without this, everything is rolled back on exit
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledger.access import Actor
from ledger.clock import SystemClock
from ledger.errors import PermissionDeniedError
from ledger.persistence.allocation_repositories import (
    SqlAlchemyAllocationRunRepository,
    SqlAlchemyDriverRevisionRepository,
    SqlAlchemyExceptionRepository,
    SqlAlchemyInvoiceRepository,
    SqlAlchemyManualCostRepository,
    SqlAlchemyRuleSetRepository,
)
from ledger.persistence.audit_index import SqlAlchemyAuditKeyIndex
from ledger.persistence.catalogue_repositories import (
    SqlAlchemyAccountReportingRepository,
    SqlAlchemyCatalogueRepository,
    SqlAlchemySavingRepository,
)
from ledger.persistence.database import writer_engine
from ledger.persistence.flow_log_repositories import SqlAlchemyFlowLogRepository
from ledger.persistence.governance_repositories import (
    SqlAlchemyBudgetRepository,
    SqlAlchemyCloseHeadRepository,
    SqlAlchemyContractRepository,
    SqlAlchemyPostingAnchorRepository,
    SqlAlchemyProvisioningRepository,
    SqlAlchemyRoleScopeRepository,
)
from ledger.persistence.inventory_repositories import SqlAlchemyInventoryRepository
from ledger.persistence.kubernetes_repositories import (
    SqlAlchemyKubernetesUsageRepository,
    SqlAlchemySpotRunRepository,
)
from ledger.persistence.licence_repositories import (
    SqlAlchemyAssetMappingRepository,
    SqlAlchemyLicenceRepository,
    SqlAlchemyQualityRuleRepository,
)
from ledger.persistence.policy_repositories import (
    SqlAlchemyPolicyRepository,
    SqlAlchemyReviewRepository,
)
from ledger.persistence.report_repositories import (
    SqlAlchemyBenchmarkRepository,
    SqlAlchemyDisputeRepository,
    SqlAlchemyForecastRepository,
    SqlAlchemyKnownChangeRepository,
)
from ledger.persistence.repositories import (
    SqlAlchemyAssetRepository,
    SqlAlchemyAuditTrail,
    SqlAlchemyCompanyRepository,
    SqlAlchemyCostCentreRepository,
    SqlAlchemyDepreciationChargeRepository,
    SqlAlchemyDriverRepository,
    SqlAlchemyErpProfileRepository,
    SqlAlchemyFindingRepository,
    SqlAlchemyFxRateRepository,
    SqlAlchemyGlAccountRepository,
    SqlAlchemyJobRunRepository,
    SqlAlchemyJournalRepository,
    SqlAlchemyLeaseRepository,
    SqlAlchemyPeriodRepository,
    SqlAlchemyPostingLog,
    SqlAlchemyUserRepository,
)
from ledger.ports import Clock


class SqlAlchemyUnitOfWork:
    """A transaction on behalf of ``login``; rolls back unless :meth:`commit` is called."""

    def __init__(self, session_factory: sessionmaker[Session], login: str,
                 clock: Clock | None = None) -> None:
        self._session_factory = session_factory
        self._login = login
        self.clock: Clock = clock or SystemClock()
        self._committed = False

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self.company = SqlAlchemyCompanyRepository(self.session)
        self.cost_centres = SqlAlchemyCostCentreRepository(self.session)
        self.accounts = SqlAlchemyGlAccountRepository(self.session)
        self.periods = SqlAlchemyPeriodRepository(self.session)
        self.fx_rates = SqlAlchemyFxRateRepository(self.session)
        self.drivers = SqlAlchemyDriverRepository(self.session)
        self.journals = SqlAlchemyJournalRepository(self.session)
        self.users = SqlAlchemyUserRepository(self.session)
        self.audit = SqlAlchemyAuditTrail(self.session)
        self.audit_keys = SqlAlchemyAuditKeyIndex(self.session)
        self.assets = SqlAlchemyAssetRepository(self.session)
        self.depreciation_charges = SqlAlchemyDepreciationChargeRepository(self.session)
        self.leases = SqlAlchemyLeaseRepository(self.session)
        self.posting_log = SqlAlchemyPostingLog(self.session)
        self.erp_profiles = SqlAlchemyErpProfileRepository(self.session)
        self.job_runs = SqlAlchemyJobRunRepository(self.session)
        self.findings = SqlAlchemyFindingRepository(self.session)
        self.licences = SqlAlchemyLicenceRepository(self.session)
        self.quality_rules = SqlAlchemyQualityRuleRepository(self.session)
        self.asset_mappings = SqlAlchemyAssetMappingRepository(self.session)
        self.rulesets = SqlAlchemyRuleSetRepository(self.session)
        self.allocation_runs = SqlAlchemyAllocationRunRepository(self.session)
        self.driver_revisions = SqlAlchemyDriverRevisionRepository(self.session)
        self.invoices = SqlAlchemyInvoiceRepository(self.session)
        self.allocation_exceptions = SqlAlchemyExceptionRepository(self.session)
        self.manual_costs = SqlAlchemyManualCostRepository(self.session)
        self.role_scopes = SqlAlchemyRoleScopeRepository(self.session)
        self.close_heads = SqlAlchemyCloseHeadRepository(self.session)
        self.posting_anchors = SqlAlchemyPostingAnchorRepository(self.session)
        self.provisioning = SqlAlchemyProvisioningRepository(self.session)
        self.budgets = SqlAlchemyBudgetRepository(self.session)
        self.contracts = SqlAlchemyContractRepository(self.session)
        self.inventory = SqlAlchemyInventoryRepository(self.session)
        self.flow_logs = SqlAlchemyFlowLogRepository(self.session)
        self.policies = SqlAlchemyPolicyRepository(self.session)
        self.reviews = SqlAlchemyReviewRepository(self.session)
        self.disputes = SqlAlchemyDisputeRepository(self.session)
        self.forecasts = SqlAlchemyForecastRepository(self.session)
        self.benchmarks = SqlAlchemyBenchmarkRepository(self.session)
        self.known_changes = SqlAlchemyKnownChangeRepository(self.session)
        self.account_reporting = SqlAlchemyAccountReportingRepository(self.session)
        self.k8s_usage = SqlAlchemyKubernetesUsageRepository(self.session)
        self.spot_runs = SqlAlchemySpotRunRepository(self.session)
        self.catalogue = SqlAlchemyCatalogueRepository(self.session)
        self.savings = SqlAlchemySavingRepository(self.session)
        self.actor = Actor(self._login, self.users.roles_of(self._login))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if not self._committed:
                self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()
        self._committed = True

    def rollback(self) -> None:
        self.session.rollback()


class UnitOfWorkFactory:
    """Makes units of work for one engine and one login; ``read_only`` skips the write lock."""

    def __init__(self, engine: Engine, login: str, clock: Clock | None = None) -> None:
        self.engine = engine
        self.login = login
        self.clock = clock
        self._writers = sessionmaker(bind=writer_engine(engine), expire_on_commit=False)
        self._readers = sessionmaker(bind=engine, expire_on_commit=False)

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._readers if read_only else self._writers, self.login,
                                    self.clock)

    def as_user(self, login: str) -> Callable[..., SqlAlchemyUnitOfWork]:
        """The same embedded database on behalf of another login (the demo's named users).

        Only for SQLite, where the file is a single-user trust boundary; on PostgreSQL identity
        is the database login and cannot be chosen by the client.
        """
        if self.engine.dialect.name != "sqlite":
            raise PermissionDeniedError(
                "on PostgreSQL you act as your database login; connect as that user instead")
        return UnitOfWorkFactory(self.engine, login, self.clock)
