"""Accounting alignment: how each GL account reports under IFRS and US GAAP, and the tie of what
Apportion posted to the balances the ERP's general ledger holds.

The classification is derived from what the system does with each account (a depreciation
book's expense and accumulated accounts, a rule set's expense and recovery accounts) and from the
account's type, so it cannot drift from the postings: capital (balance sheet) versus operating
(P&L), depreciation versus other expense, and the internal recharge that nets to nil in the
entity. Intercompany is a fact about the counterparty, which neither the use nor the type can
tell (and an account's name must not decide it): the account mapping flags it explicitly
(:class:`AccountFlag`, with the counterparty entity), and the flag wins over everything else.

The tie compares, per account and currency, the net (debit positive) of the journals posted for
a period with the net of the ERP documents carrying our references in that period, read back
from the ERP. Any difference is named: a document missing on either side, or an amount the ERP
changed (a round-off line it added).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class Classification(enum.StrEnum):
    CAPITAL = "capital"  # property, plant and equipment at cost: balance sheet
    ACCUMULATED_DEPRECIATION = "accumulated_depreciation"  # contra-asset: balance sheet
    DEPRECIATION = "depreciation"  # P&L: depreciation of the capitalised cost
    OPERATING = "operating"  # P&L: operating expense (cloud, licences, services)
    RECOVERY = "recovery"  # P&L: internal recharge credit; nets to nil within the entity
    INTERCOMPANY = "intercompany"  # balance sheet: due to / from other entities; eliminated
    OTHER = "other"


#: How each classification reports (IFRS line, US GAAP line); plain references, no amounts.
REPORTING_LINES: Mapping[Classification, tuple[str, str]] = {
    Classification.CAPITAL: ("Property, plant and equipment (IAS 16)",
                             "Property, plant and equipment (ASC 360)"),
    Classification.ACCUMULATED_DEPRECIATION: ("Accumulated depreciation (IAS 16)",
                                              "Accumulated depreciation (ASC 360)"),
    Classification.DEPRECIATION: ("Depreciation and amortisation expense (IAS 16, IAS 1)",
                                  "Depreciation expense (ASC 360)"),
    Classification.OPERATING: ("Operating expense by nature (IAS 1)",
                               "Operating expense (ASC 720)"),
    Classification.RECOVERY: ("Internal recharge, nets to nil in the entity (IAS 1.32)",
                              "Internal recharge, nets to nil in the entity"),
    Classification.INTERCOMPANY: ("Intercompany balance, eliminated on consolidation (IFRS 10)",
                                  "Intercompany balance, eliminated on consolidation (ASC 810)"),
    Classification.OTHER: ("Not used by allocation", "Not used by allocation"),
}


@dataclass(frozen=True, slots=True)
class AccountFlag:
    """The account mapping's explicit word on one account: intercompany (due to / from another
    entity of the group, ``counterparty``), eliminated on consolidation."""

    account: str
    intercompany: bool
    counterparty: str | None = None


@dataclass(frozen=True, slots=True)
class AccountMapping:
    account: str
    name: str
    account_type: str
    classification: Classification
    used_by: tuple[str, ...]
    counterparty: str | None = None

    @property
    def capital(self) -> bool:
        return self.classification in (Classification.CAPITAL,
                                       Classification.ACCUMULATED_DEPRECIATION,
                                       Classification.INTERCOMPANY)

    def to_json(self) -> dict[str, Any]:
        ifrs, gaap = REPORTING_LINES[self.classification]
        return {"account": self.account, "name": self.name, "type": self.account_type,
                "classification": self.classification.value,
                "capital_or_operating": "capital" if self.capital else "operating",
                "ifrs": ifrs, "us_gaap": gaap, "used_by": list(self.used_by),
                "intercompany": self.classification is Classification.INTERCOMPANY,
                "counterparty": self.counterparty}


def classify(account_type: str, name: str, uses: Iterable[str], *,
             intercompany: bool = False) -> Classification:
    """The classification of one account: the mapping's intercompany flag first, then its use,
    then its type (``name`` is kept for callers; it decides nothing)."""
    used = set(uses)
    if intercompany:
        return Classification.INTERCOMPANY
    if "depreciation expense" in used:
        return Classification.DEPRECIATION
    if "accumulated depreciation" in used or account_type == "accumulated_depreciation":
        return Classification.ACCUMULATED_DEPRECIATION
    if "allocation recovery" in used or account_type == "recovery":
        return Classification.RECOVERY
    if account_type == "asset":
        return Classification.CAPITAL
    if account_type == "expense":
        return Classification.OPERATING
    return Classification.OTHER


def account_mappings(accounts: Iterable[Any], uses: Mapping[str, Iterable[str]],
                     flags: Mapping[str, AccountFlag] | None = None) -> list[AccountMapping]:
    """Every GL account classified; ``uses`` maps an account to what uses it (``depreciation
    expense``, ``accumulated depreciation``, ``allocation expense``, ``allocation recovery``);
    ``flags`` the account mapping's explicit intercompany flags."""
    flags = flags or {}
    rows = []
    for account in accounts:
        kind = str(getattr(account.type, "value", account.type))
        used = tuple(sorted(set(uses.get(account.number, ()))))
        flag = flags.get(account.number)
        intercompany = bool(flag and flag.intercompany)
        rows.append(AccountMapping(account.number, account.name, kind,
                                   classify(kind, account.name, used, intercompany=intercompany),
                                   used, flag.counterparty if intercompany and flag else None))
    return sorted(rows, key=lambda m: m.account)


@dataclass(frozen=True, slots=True)
class TieLine:
    account: str
    currency: str
    posted: Decimal
    erp: Decimal
    classification: Classification

    @property
    def difference(self) -> Decimal:
        return self.erp - self.posted

    def to_json(self) -> dict[str, Any]:
        return {"account": self.account, "currency": self.currency,
                "classification": self.classification.value,
                "posted": format(self.posted, "f"), "erp": format(self.erp, "f"),
                "difference": format(self.difference, "f")}


@dataclass(frozen=True, slots=True)
class LedgerTie:
    period: str
    erp_profile: str
    lines: tuple[TieLine, ...]
    journals: int
    documents: int
    problems: tuple[str, ...] = ()

    @property
    def tied(self) -> bool:
        return not self.problems and all(line.difference == 0 for line in self.lines)

    def totals(self) -> dict[str, dict[str, Decimal]]:
        """Per currency: the debits posted and the debits the ERP holds."""
        out: dict[str, dict[str, Decimal]] = {}
        for line in self.lines:
            entry = out.setdefault(line.currency, {"posted_debits": Decimal(0),
                                                   "erp_debits": Decimal(0)})
            entry["posted_debits"] += max(line.posted, Decimal(0))
            entry["erp_debits"] += max(line.erp, Decimal(0))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"period": self.period, "erp": self.erp_profile, "tied": self.tied,
                "journals": self.journals, "documents": self.documents,
                "lines": [line.to_json() for line in self.lines],
                "problems": list(self.problems)}


def tie(period: str, profile: str, posted: Mapping[tuple[str, str], Decimal],
        erp: Mapping[tuple[str, str], Decimal], classes: Mapping[str, Classification],
        *, journals: int, documents: int, problems: Iterable[str] = ()) -> LedgerTie:
    """The tie per (account, currency) of ``posted`` and ``erp`` nets (debit positive)."""
    keys = sorted(set(posted) | set(erp))
    lines = tuple(TieLine(account, currency, posted.get((account, currency), Decimal(0)),
                          erp.get((account, currency), Decimal(0)),
                          classes.get(account, Classification.OTHER))
                  for account, currency in keys)
    return LedgerTie(period, profile, lines, journals, documents, tuple(problems))
