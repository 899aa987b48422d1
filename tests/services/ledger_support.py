"""A small company ready for journals: the fixture shared by the posting tests."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from ledger.access import Role
from ledger.erp import ErpProfile
from ledger.journal import JournalEntry, JournalLine
from ledger.persistence.unit_of_work import UnitOfWorkFactory
from ledger.reference import AccountType, Company, CostCentre, GlAccount
from ledger.services import journals, reference_data
from ledger.services.posting import post_approved
from ledger.services.users import grant_role
from ledger.staging import staged

D = Decimal
PROFILE = ErpProfile("sap", "sap-soap", "http://127.0.0.1:1", "MRD1", "demo")


class Ledger:
    """A small company with a maker (carol), an approver (bob) and a controller (dave)."""

    def __init__(self, app) -> None:
        self.app = app
        with app.uow() as uow:
            reference_data.set_company(uow=uow, company=Company("MRD1", "Meridian", "USD"))
            reference_data.import_accounts(uow=uow, accounts=staged([
                GlAccount("6900", "IT chargeback", AccountType.EXPENSE),
                GlAccount("7990", "IT recovery", AccountType.RECOVERY)]))
            reference_data.import_cost_centres(uow=uow, cost_centres=staged([
                CostCentre("1010", "Manufacturing"), CostCentre("6010", "IT Infrastructure")]))
            for login, role in (("carol", Role.COST_ANALYST), ("bob", Role.APPROVER),
                                ("dave", Role.CONTROLLER), ("erin", Role.APPROVER)):
                grant_role(uow=uow, login=login, role=role)
            uow.commit()

    def as_(self, login: str) -> UnitOfWorkFactory:
        return UnitOfWorkFactory(self.app.engine, login, self.app.uow.clock)

    def draft(self, amount: str = "100.00", *, submit: bool = True, day: date = date(2026, 10, 31)
              ) -> int:
        entry = JournalEntry(day, "IT chargeback", (
            JournalLine.debit("6900", D(amount), "USD", cost_centre="1010"),
            JournalLine.credit("7990", D(amount), "USD", cost_centre="6010")))
        with self.as_("carol")() as uow:
            journal_id = journals.draft_journal(uow=uow, entry=entry)
            if submit:
                journals.submit_journal(uow=uow, journal_id=journal_id)
            uow.commit()
        return journal_id

    def approve(self, journal_id: int, login: str = "bob") -> None:
        with self.as_(login)() as uow:
            journals.approve_journal(uow=uow, journal_id=journal_id)
            uow.commit()

    def post(self, erp, holder: str = "poster-1", profile: ErpProfile = PROFILE, **kwargs):
        return post_approved(uow_factory=self.as_("bob"), gateway=erp, profile=profile,
                             holder=holder, **kwargs)

    def journal(self, journal_id: int):
        with self.app.uow(read_only=True) as uow:
            return uow.journals.load(journal_id)


def approved_batch(ledger: Ledger, count: int) -> None:
    """``count`` journals drafted and submitted by carol and approved by bob, in bulk."""
    rng = random.Random(count)
    for chunk in range(0, count, 50):  # short transactions, as the client makes them
        with ledger.as_("carol")() as uow:
            ids = []
            for n in range(chunk, min(count, chunk + 50)):
                amount = D(rng.randint(1, 9_999_999)) / 100
                ids.append(journals.draft_journal(uow=uow, entry=JournalEntry(
                    date(2026, 10, 31), f"IT chargeback {n}", (
                        JournalLine.debit("6900", amount, "USD", cost_centre="1010"),
                        JournalLine.credit("7990", amount, "USD", cost_centre="6010")))))
                journals.submit_journal(uow=uow, journal_id=ids[-1])
            uow.commit()
        with ledger.as_("bob")() as uow:
            for journal_id in ids:
                journals.approve_journal(uow=uow, journal_id=journal_id)
            uow.commit()


