"""The poster against the sandbox SAP over real SOAP: hostile replies never lose or double."""

from __future__ import annotations

from decimal import Decimal

import pytest

from client.erp import gateway_for
from connectors.erp.sandbox.server import SandboxErp
from ledger.erp import ErpProfile
from ledger.journal import JournalStatus
from tests.services.ledger_support import approved_batch


@pytest.fixture
def sandbox(tmp_path):
    with SandboxErp.start("127.0.0.1", 0, tmp_path / "erp", companies={"MRD1": "USD"},
                          accounts=["6900", "7990"], cost_centres=["1010", "6010"],
                          hang_seconds=2.0) as running:
        yield running


def post(ledger, sandbox, holder: str = "poster"):
    profile = ErpProfile("sap", "sap-soap", sandbox.url, "MRD1", "demo",
                         {"operation_timeout": 1.0, "connect_timeout": 1.0})
    gateway = gateway_for(profile, secret="demo")
    try:
        return ledger.post(gateway, holder=holder, profile=profile)
    finally:
        gateway.close()


@pytest.mark.parametrize("fault", ["error_before_commit", "commit_then_error",
                                   "commit_then_timeout", "malformed_reply", "xml_bomb"])
def test_each_hostile_reply_leaves_the_journal_unknown_then_posted_once(
    ledger, sandbox, fault
) -> None:
    approved_batch(ledger, 1)
    sandbox.force_fault(fault, 1)
    first = post(ledger, sandbox)
    assert len(first.unknown) == 1, first
    journal_id = first.unknown[0]
    assert ledger.journal(journal_id).status is JournalStatus.UNKNOWN
    second = post(ledger, sandbox)
    assert second.posted == [journal_id]
    assert len(sandbox.documents()) == 1


def test_a_soap_fault_with_an_sap_message_fails_the_journal_clearly(ledger, sandbox) -> None:
    approved_batch(ledger, 1)
    sandbox.force_fault("soap_fault", 1)
    report = post(ledger, sandbox)
    assert len(report.failed) == 1
    journal_id, message = report.failed[0]
    assert message and ledger.journal(journal_id).status is JournalStatus.FAILED
    assert sandbox.documents() == []


def test_a_seeded_storm_through_real_soap_books_each_journal_exactly_once(ledger, sandbox
                                                                          ) -> None:
    count = 60
    approved_batch(ledger, count)
    sandbox.force_fault("commit_then_error", 3)
    for _ in range(3):
        sandbox.force_fault("error_before_commit", 2)
        sandbox.force_fault("malformed_reply", 1)
    for restart in range(20):
        post(ledger, sandbox, holder=f"poster-{restart}")
        with ledger.app.uow(read_only=True) as uow:
            if len(uow.journals.ids(statuses=[JournalStatus.POSTED])) == count:
                break
    documents = sandbox.documents()
    references = [d["external_reference"] for d in documents]
    assert len(references) == len(set(references)) == count
    with ledger.app.uow(read_only=True) as uow:
        posted = uow.journals.list(statuses=[JournalStatus.POSTED])
    assert len(posted) == count
    ours = sum(j.entry.total("USD") for j in posted)
    theirs = sum(Decimal(line["amount"]) for d in documents for line in d["lines"]
                 if Decimal(line["amount"]) > 0)
    assert ours == theirs
