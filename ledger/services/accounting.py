"""Use cases of accounting alignment: the IFRS / US GAAP mapping of the GL accounts, and the
tie of a period's posted journals to the balances read back from the ERP (read only)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ledger.access import Permission
from ledger.accounting import AccountFlag, AccountMapping, LedgerTie, account_mappings, tie
from ledger.erp import ErpProfile
from ledger.errors import InputError, NotFoundError
from ledger.journal import JournalStatus, Side
from ledger.ports import ErpGateway, UnitOfWork
from ledger.services.base import Changes, authorize, record_change
from ledger.services.journals import EXTERNAL_REFERENCE
from ledger.services.methodology import period_key


def account_uses(uow: UnitOfWork) -> dict[str, set[str]]:
    """What the system does with each account: depreciation books and active rule sets."""
    uses: dict[str, set[str]] = defaultdict(set)
    for book in uow.assets.books():
        if book.posts_to_ledger:
            uses[book.expense_account].add("depreciation expense")
            uses[book.accumulated_account].add("accumulated depreciation")
    for version in uow.rulesets.active():
        rules = version.ruleset()
        uses[rules.expense_account].add("allocation expense")
        uses[rules.recovery_account].add("allocation recovery")
        for pool in rules.pools:
            if pool.expense_account:
                uses[pool.expense_account].add("allocation expense")
    return uses


def account_mapping_report(*, uow: UnitOfWork) -> list[AccountMapping]:
    """Every GL account with its classification and IFRS / US GAAP reporting line."""
    authorize(uow, Permission.READ, doing="report the account mapping")
    return account_mappings(uow.accounts.list(), account_uses(uow),
                            uow.account_reporting.all())


def set_account_flag(*, uow: UnitOfWork, account: str, intercompany: bool,
                     counterparty: str | None = None, reason: str | None = None) -> Changes:
    """Flag (or unflag) a GL account as intercompany in the account mapping, naming the
    counterparty entity; the IFRS / US GAAP report and the ledger tie read the flag."""
    authorize(uow, Permission.MANAGE_REFERENCE_DATA, doing="change the account mapping")
    if uow.accounts.get(account) is None:
        raise InputError(f"GL account {account} does not exist", field="account", value=account)
    counterparty = (counterparty or "").strip() or None
    if counterparty and not intercompany:
        raise InputError("a counterparty entity is named on an intercompany account only",
                         field="counterparty", value=counterparty)
    flag = AccountFlag(account, intercompany, counterparty)
    before = uow.account_reporting.get(account)
    if before == flag or (before is None and not intercompany):
        return Changes(frozenset({"account_mapping"}), unchanged=1)
    uow.account_reporting.save(flag, by=uow.actor.login, at=uow.clock.now())
    record_change(uow, action="account_mapping.set", entity="account_reporting", key=account,
                  before=before, after=flag, reason=reason)
    return Changes(frozenset({"account_mapping"}), created=int(before is None),
                   updated=int(before is not None))


def ledger_tie(*, uow: UnitOfWork, gateway: ErpGateway, profile: ErpProfile,
               period: str) -> LedgerTie:
    """Net per account and currency of the journals posted to ``profile`` for ``period``
    against the ERP documents carrying their references, read back from the ERP."""
    authorize(uow, Permission.READ, doing="tie the allocation to the general ledger")
    key = period_key(period)
    stored = uow.periods.get(key)
    if stored is None:
        raise NotFoundError(f"period {key} does not exist; see: apportion periods list")
    journals = [j for j in uow.journals.list(statuses=[JournalStatus.POSTED,
                                                        JournalStatus.REVERSED], period=key)
                if j.erp_profile == profile.name]
    posted: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for journal in journals:
        for line in journal.entry.lines:
            sign = 1 if line.side is Side.DEBIT else -1
            posted[(line.account, line.currency)] += sign * line.amount
    ours = {j.external_reference: j for j in journals if j.external_reference}
    documents = [d for d in gateway.documents_between(profile.company_code, stored.start,
                                                      stored.end)
                 if EXTERNAL_REFERENCE.match(d.external_reference or "")]
    problems = [f"ERP document {d.document_number} ({d.external_reference}) is not a journal "
                f"posted here for {key}" for d in documents if d.external_reference not in ours]
    found = {d.external_reference for d in documents}
    problems += [f"journal {j.id} ({ref}) is not in the ERP" for ref, j in sorted(ours.items())
                 if ref not in found]
    erp: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for document in documents:
        if document.external_reference in ours:
            for line in document.lines:
                erp[(line.account, line.currency)] += line.amount
    classes = {m.account: m.classification for m in account_mappings(
        uow.accounts.list(), account_uses(uow), uow.account_reporting.all())}
    return tie(key, profile.name, posted, erp, classes, journals=len(journals),
               documents=len(documents), problems=problems)
