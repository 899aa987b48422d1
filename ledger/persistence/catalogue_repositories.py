"""Repositories of the service catalogue and of savings. Each converts records to domain values
and never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ledger.accounting import AccountFlag
from ledger.catalogue import CatalogueService, Subscription, service_from_json, tiers_to_json
from ledger.persistence.catalogue_records import (
    AccountReportingRecord,
    CatalogueServiceRecord,
    CatalogueSubscriptionRecord,
    SavingRecord,
)
from ledger.persistence.repositories import _Repository
from ledger.savings import Saving, SavingKind


def _service(record: CatalogueServiceRecord) -> CatalogueService:
    return service_from_json({"code": record.code, "name": record.name, "owner": record.owner,
                              "currency": record.currency, "unit": record.unit,
                              "driver": record.driver, "description": record.description,
                              "tiers": record.tiers})


class SqlAlchemyCatalogueRepository(_Repository):
    def service(self, code: str) -> CatalogueService | None:
        record = self.session.get(CatalogueServiceRecord, code)
        if record is None:  # codes are matched case-insensitively, as written in a file
            record = next((r for r in self.session.scalars(select(CatalogueServiceRecord))
                           if r.code.casefold() == code.casefold()), None)
        return None if record is None else _service(record)

    def services(self) -> list[CatalogueService]:
        return [_service(r) for r in self.session.scalars(
            select(CatalogueServiceRecord).order_by(CatalogueServiceRecord.code))]

    def save_service(self, service: CatalogueService) -> None:
        record = self.session.get(CatalogueServiceRecord, service.code)
        if record is None:
            record = CatalogueServiceRecord(code=service.code)
            self.session.add(record)
        record.name, record.owner, record.currency = service.name, service.owner, service.currency
        record.unit, record.driver, record.description = (service.unit, service.driver,
                                                          service.description)
        record.tiers = tiers_to_json(service.tiers)

    def subscription(self, service: str, cost_centre: str) -> Subscription | None:
        record = self.session.get(CatalogueSubscriptionRecord, (service, cost_centre))
        return None if record is None else Subscription(record.service, record.cost_centre,
                                                        record.tier, record.quantity)

    def subscriptions(self, service: str | None = None) -> list[Subscription]:
        query = select(CatalogueSubscriptionRecord).order_by(
            CatalogueSubscriptionRecord.service, CatalogueSubscriptionRecord.cost_centre)
        if service is not None:
            query = query.filter_by(service=service)
        return [Subscription(r.service, r.cost_centre, r.tier, r.quantity)
                for r in self.session.scalars(query)]

    def save_subscription(self, subscription: Subscription) -> None:
        key = (subscription.service, subscription.cost_centre)
        record = self.session.get(CatalogueSubscriptionRecord, key)
        if record is None:
            record = CatalogueSubscriptionRecord(service=subscription.service,
                                                 cost_centre=subscription.cost_centre)
            self.session.add(record)
        record.tier, record.quantity = subscription.tier, subscription.quantity
        self.session.flush()


def _saving(record: SavingRecord) -> Saving:
    return Saving(record.id, SavingKind(record.kind), record.title, record.effective_period,
                  record.expected_monthly, record.currency, record.service, record.provider,
                  record.cost_centre, record.baseline_months)


class SqlAlchemySavingRepository(_Repository):
    def get(self, saving_id: str) -> Saving | None:
        record = self.session.get(SavingRecord, saving_id)
        return None if record is None else _saving(record)

    def list(self) -> list[Saving]:
        return [_saving(r) for r in self.session.scalars(
            select(SavingRecord).order_by(SavingRecord.effective_period, SavingRecord.id))]

    def save(self, saving: Saving, *, by: str, at: datetime, reason: str | None) -> None:
        record = self.session.get(SavingRecord, saving.id)
        if record is None:
            record = SavingRecord(id=saving.id, recorded_by=by, recorded_at=at)
            self.session.add(record)
        record.kind, record.title = saving.kind.value, saving.title
        record.service, record.provider, record.cost_centre = (saving.service, saving.provider,
                                                               saving.cost_centre)
        record.effective_period, record.baseline_months = (saving.effective_period,
                                                           saving.baseline_months)
        record.expected_monthly, record.currency = saving.expected_monthly, saving.currency
        record.reason = reason
        self.session.flush()


class SqlAlchemyAccountReportingRepository(_Repository):
    """Explicit account-mapping flags: account -> (intercompany, counterparty entity)."""

    def all(self) -> dict[str, AccountFlag]:
        return {r.account: AccountFlag(r.account, r.intercompany, r.counterparty)
                for r in self.session.scalars(select(AccountReportingRecord))}

    def get(self, account: str) -> AccountFlag | None:
        record = self.session.get(AccountReportingRecord, account)
        return None if record is None else AccountFlag(record.account, record.intercompany,
                                                       record.counterparty)

    def save(self, flag: AccountFlag, *, by: str, at: datetime) -> None:
        record = self.session.get(AccountReportingRecord, flag.account)
        if record is None:
            record = AccountReportingRecord(account=flag.account)
            self.session.add(record)
        record.intercompany, record.counterparty = flag.intercompany, flag.counterparty
        record.updated_by, record.updated_at = by, at
        self.session.flush()
