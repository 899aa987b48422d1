"""Reference values validate themselves; roles grant permissions from one table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.access import Actor, Permission, Role, parse_role
from ledger.errors import InputError, PermissionDeniedError
from ledger.reference import AccountType, CostCentre, FxRate, GlAccount


def test_a_cost_centre_cannot_be_its_own_parent() -> None:
    with pytest.raises(InputError, match="its own parent"):
        CostCentre("1010", "Manufacturing", parent="1010")


def test_a_cost_centre_code_has_a_safe_shape() -> None:
    with pytest.raises(InputError) as raised:
        CostCentre("10 10", "Manufacturing")
    assert raised.value.field == "code"


def test_a_cost_centre_is_valid_only_inside_its_dates() -> None:
    cc = CostCentre("1010", "Manufacturing", valid_from=date(2026, 1, 1),
                    valid_to=date(2026, 6, 30))
    assert cc.is_valid_on(date(2026, 6, 30))
    assert not cc.is_valid_on(date(2026, 7, 1))


def test_an_account_type_is_read_case_insensitively_and_unknown_types_are_refused() -> None:
    assert GlAccount("6900", "IT chargeback", "Expense").type is AccountType.EXPENSE  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown account type"):
        GlAccount("6900", "IT chargeback", "cost")  # type: ignore[arg-type]


def test_an_fx_rate_is_exact_and_positive() -> None:
    assert FxRate("usd", "eur", date(2026, 1, 1), "0.923456").rate == Decimal("0.923456")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="positive"):
        FxRate("USD", "EUR", date(2026, 1, 1), Decimal(0))


def test_an_auditor_reads_everything_and_changes_nothing() -> None:
    auditor = Actor("erin", frozenset({Role.AUDITOR}))
    assert auditor.can(Permission.READ) and auditor.can(Permission.READ_AUDIT)
    with pytest.raises(PermissionDeniedError, match="erin \\(auditor\\) cannot close a period"):
        auditor.require(Permission.CLOSE_PERIODS, doing="close a period")


def test_an_administrator_does_not_approve_journals_without_the_approver_role() -> None:
    assert not Actor("root", frozenset({Role.ADMINISTRATOR})).can(Permission.APPROVE_JOURNALS)


def test_a_user_without_a_role_is_told_how_to_get_one() -> None:
    with pytest.raises(PermissionDeniedError, match="apportion users grant mallory ROLE"):
        Actor("mallory").require(Permission.READ, doing="list periods")


def test_role_names_are_forgiving_about_spelling() -> None:
    assert parse_role("Asset-Manager") is Role.ASSET_MANAGER
    with pytest.raises(PermissionDeniedError, match="unknown role"):
        parse_role("superuser")
