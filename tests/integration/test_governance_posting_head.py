"""The audit head recorded at a period close travels in the ERP documents posted after it, so
that the sandbox SAP (a system outside our database) holds a copy of it."""

from __future__ import annotations

from datetime import date

import pytest

from client.erp import gateway_for
from connectors.erp.sandbox.server import SandboxErp
from ledger.audit import ChainHead
from ledger.erp import ErpProfile
from ledger.services import periods
from tests.services.ledger_support import approved_batch


@pytest.fixture
def sandbox(tmp_path):
    with SandboxErp.start("127.0.0.1", 0, tmp_path / "erp", companies={"MRD1": "USD"},
                          accounts=["6900", "7990"], cost_centres=["1010", "6010"]) as running:
        yield running


def _post(ledger, sandbox):
    profile = ErpProfile("sap", "sap-soap", sandbox.url, "MRD1", "demo",
                         {"operation_timeout": 5.0, "connect_timeout": 5.0})
    gateway = gateway_for(profile, secret="demo")
    try:
        return ledger.post(gateway, profile=profile)
    finally:
        gateway.close()


def test_postings_after_a_close_carry_its_audit_head_in_the_sap_header_text(ledger, sandbox
                                                                            ) -> None:
    approved_batch(ledger, 1)
    assert len(_post(ledger, sandbox).posted) == 1
    with ledger.app.uow() as uow:
        periods.extend_calendar(uow=uow, first=date(2026, 9, 1), last=date(2026, 9, 30))
        uow.commit()
    with ledger.as_("dave")() as uow:
        changes = periods.close_period(uow=uow, period="2026-09", reason="September done")
        uow.commit()
    head = ChainHead.parse(changes.ids[1])
    approved_batch(ledger, 1)
    report = _post(ledger, sandbox)
    assert len(report.posted) == 1
    before, after = sorted(sandbox.documents(), key=lambda d: d["document_number"])
    short = f"{head.sequence}:{head.hash[:8]}"
    assert not before["header_text"].startswith(str(head.sequence) + ":")
    assert after["header_text"] == f"{short} IT chargeback 1"[:25]
    with ledger.app.uow(read_only=True) as uow:
        assert uow.posting_anchors.get(report.posted[0]) == ("2026-09", head, short)
        assert uow.close_heads.latest() == ("2026-09", head)
