"""Business-unit scopes and the governance operations, called without any UI: every denied call
raises and leaves the database unchanged; a scoped grant acts only inside its units."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from ledger.access import ROLE_PERMISSIONS, SCOPED_PERMISSIONS, Permission, Role
from ledger.budget import Budget
from ledger.contracts import Contract
from ledger.errors import ApportionError, PermissionDeniedError
from ledger.journal import JournalEntry, JournalLine
from ledger.provisioning import ProvisioningRequest
from ledger.reference import CostCentre
from ledger.services import budgets, contracts, journals, provisioning, reference_data, users
from ledger.staging import staged

D = Decimal
TAGS = (("cost-centre", "1010"), ("owner", "ana"), ("environment", "test"))


def _request(cost_centre: str = "1010", cost: str = "100.00") -> ProvisioningRequest:
    return ProvisioningRequest("cloud", "build-runner", cost_centre, "ana", "test",  # type: ignore[arg-type]
                               D(cost), "USD", "2026-12",
                               tuple((k, cost_centre if k == "cost-centre" else v)
                                     for k, v in TAGS))


@pytest.fixture
def units(ledger):
    """1010 (and its child 1011) belong to MFG, 6010 to IT; budgets for December; request 1
    by carol for 1010 is pending."""
    with ledger.app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing", business_unit="MFG"),
            CostCentre("1011", "Assembly", parent="1010"),
            CostCentre("6010", "IT Infrastructure", business_unit="IT")]))
        budgets.import_budgets(uow=uow, budgets=staged([
            Budget("1010", "2026-12", D("10000"), "USD"),
            Budget("6010", "2026-12", D("10000"), "USD")]))
        uow.commit()
    with ledger.as_("carol")() as uow:
        provisioning.request_provisioning(uow=uow, request=_request())
        uow.commit()
    return ledger


def _state(app) -> tuple:
    with app.uow(read_only=True) as uow:
        return (uow.audit.count(), uow.journals.count_by_status(),
                [(r.id, r.status) for r in uow.provisioning.list()],
                uow.budgets.list(), uow.contracts.list(), uow.role_scopes.all(),
                uow.users.list())


def _draft(ledger, debit_centre: str, credit_centre: str) -> int:
    with ledger.as_("carol")() as uow:
        journal_id = journals.draft_journal(uow=uow, entry=JournalEntry(
            date(2026, 10, 31), "Chargeback", (
                JournalLine.debit("6900", D("10.00"), "USD", cost_centre=debit_centre),
                JournalLine.credit("7990", D("10.00"), "USD", cost_centre=credit_centre))))
        journals.submit_journal(uow=uow, journal_id=journal_id)
        uow.commit()
    return journal_id


def test_an_approver_scoped_to_one_unit_cannot_approve_another_units_journal(units) -> None:
    with units.app.uow() as uow:
        users.revoke_role(uow=uow, login="bob", role=Role.APPROVER)
        users.grant_role(uow=uow, login="bob", role=Role.APPROVER, scope=["MFG"])
        uow.commit()
    mixed = _draft(units, "1010", "6010")
    inside = _draft(units, "1011", "1010")  # 1011 inherits MFG from its parent
    before = _state(units.app)
    for call in (lambda uow: journals.approve_journal(uow=uow, journal_id=mixed),
                 lambda uow: journals.reject_journal(uow=uow, journal_id=mixed, reason="no")):
        with units.as_("bob")() as uow:
            with pytest.raises(PermissionDeniedError, match=r"business unit.*IT"):
                call(uow)
            uow.commit()
        assert _state(units.app) == before
    units.approve(inside, "bob")
    units.approve(mixed, "erin")  # an unscoped grant is global
    assert units.journal(inside).approved_by == "bob"
    assert units.journal(mixed).approved_by == "erin"


def test_scopes_widen_narrow_and_show_in_the_audit_trail(units) -> None:
    with units.app.uow() as uow:
        users.grant_role(uow=uow, login="zoe", role=Role.APPROVER, scope=["MFG"])
        users.grant_role(uow=uow, login="zoe", role=Role.APPROVER, scope=["IT"])
        assert uow.role_scopes.scopes_of("zoe") == {Role.APPROVER: frozenset({"MFG", "IT"})}
        assert not users.grant_role(uow=uow, login="zoe", role=Role.APPROVER,
                                    scope=["IT"]).changed
        users.revoke_role(uow=uow, login="zoe", role=Role.APPROVER, scope=["MFG"])
        assert uow.role_scopes.scopes_of("zoe") == {Role.APPROVER: frozenset({"IT"})}
        users.revoke_role(uow=uow, login="zoe", role=Role.APPROVER, scope=["IT"])
        assert uow.users.roles_of("zoe") == frozenset()
        events = [e.after for e in uow.audit.latest(4)][::-1]
        uow.commit()
    assert events == [{"approver": ["MFG"]}, {"approver": ["IT", "MFG"]}, {"approver": ["IT"]},
                      {}]


#: operation -> (permission, call). Request 1 is carol's, pending, for 1010 (MFG).
OPERATIONS: dict[str, tuple[Permission, Callable]] = {
    "grant scoped role": (Permission.MANAGE_USERS, lambda uow: users.grant_role(
        uow=uow, login="zoe", role=Role.APPROVER, scope=["MFG"])),
    "request provisioning": (Permission.REQUEST_PROVISIONING,
                             lambda uow: provisioning.request_provisioning(
                                 uow=uow, request=_request())),
    "approve provisioning": (Permission.APPROVE_PROVISIONING,
                             lambda uow: provisioning.approve_request(uow=uow, request_id=1)),
    "reject provisioning": (Permission.APPROVE_PROVISIONING,
                            lambda uow: provisioning.reject_request(uow=uow, request_id=1,
                                                                    reason="not now")),
    "import budgets": (Permission.MANAGE_BUDGETS, lambda uow: budgets.import_budgets(
        uow=uow, budgets=staged([Budget("1010", "2027-01", D("1"), "USD")]))),
    "raise budget alerts": (Permission.MANAGE_BUDGETS, lambda uow: budgets.check_budgets(
        uow=uow, store=None, period="2026-12")),
    "import contracts": (Permission.MANAGE_CONTRACTS, lambda uow: contracts.import_contracts(
        uow=uow, contracts=staged([Contract("C-9", "Cloudy", date(2026, 1, 1), None,
                                            D("1000"), "USD")]))),
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_and_scope_can_do_exactly_what_its_grant_says(units, role) -> None:
    """Each role, unscoped and scoped to IT (the operations concern MFG's 1010)."""
    app = units.app
    for scope in ((), ("IT",)):
        login = f"matrix-{role.value}-{len(scope)}"
        with app.uow() as uow:
            users.grant_role(uow=uow, login=login, role=role, scope=scope)
            uow.commit()
        granted = ROLE_PERMISSIONS[role]
        for name, (permission, call) in OPERATIONS.items():
            allowed = permission in granted and not (scope and permission in SCOPED_PERMISSIONS)
            before = _state(app)
            with units.as_(login)() as uow:
                if allowed:
                    try:
                        call(uow)
                    except PermissionDeniedError as exc:
                        assert "maker-checker" in str(exc) or "controller" in str(exc), (
                            name, exc)
                    except ApportionError:
                        pass  # refused for a reason other than the grant
                    continue
                with pytest.raises(PermissionDeniedError):
                    call(uow)
                uow.commit()  # even a commit after the refusal writes nothing
            assert _state(app) == before, f"{login} denied {name} but something changed"
