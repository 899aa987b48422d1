"""Exactly once, at the gateway level: a seeded run against the sandbox ERP with faults.

The sandbox fails 10 % of posting requests before committing and 5 % after (a 500 or an
unreadable reply); the simulated poster also "dies" at seeded points right after a call returned,
losing the answer. A poster that, on any unclear outcome, looks the journal up by external
reference before resending leaves exactly one ERP document per journal with matching totals; a
control that resends blindly leaves duplicates, so the check can fail.

The outbox in the core will run this same loop; here it is written out in the test.
``APPORTION_ERP_SIM_N`` changes the number of journals (default 1,000).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.erp.business_central import BusinessCentralSettings, HttpxBusinessCentralGateway
from connectors.erp.sandbox import FaultKind, RunningSandbox, SandboxErp
from connectors.erp.sap_soap import SapSoapSettings, ZeepSapJournalGateway
from ledger.erp import (
    ErpAmbiguousError,
    ErpDocument,
    ErpUnavailableError,
    JournalPosting,
)
from ledger.journal import JournalEntry, JournalLine
from ledger.ports import ErpGateway

SEED = 20261127
N = int(os.environ.get("APPORTION_ERP_SIM_N", "1000"))
COMPANY = "MRD1"
COST_CENTRES = [str(1000 + 10 * i) for i in range(1, 8)]
ACCOUNTS = ["6900", "7990"]
FAULTS = {
    FaultKind.ERROR_BEFORE_COMMIT: 0.10,
    FaultKind.COMMIT_THEN_ERROR: 0.03,
    FaultKind.MALFORMED_REPLY: 0.02,
}
CRASH_RATE = 0.03
MAX_ATTEMPTS = 25


def journals(count: int, seed: int, prefix: str) -> list[JournalPosting]:
    rng = random.Random(seed)
    postings = []
    for number in range(1, count + 1):
        centres = rng.sample(COST_CENTRES, rng.randint(1, 4))
        debits = [JournalLine.debit("6900", Decimal(rng.randint(1, 5_000_000)).scaleb(-2),
                                    "USD", cost_centre=centre) for centre in centres]
        total = sum((line.amount for line in debits), Decimal(0))
        entry = JournalEntry(date(2026, 1 + number % 12, 28), f"Chargeback {number}",
                             (*debits, JournalLine.credit("7990", total, "USD")))
        reference = f"{prefix}{number:06d}"
        postings.append(JournalPosting(entry, COMPANY, reference, f"key-{reference}"))
    return postings


def look_up(gateway: ErpGateway, posting: JournalPosting) -> ErpDocument | None:
    """Reads are not faulted in the sandbox, but a real poster retries them too."""
    for _ in range(MAX_ATTEMPTS):
        try:
            return gateway.find_by_reference(posting.company_code, posting.external_reference)
        except (ErpAmbiguousError, ErpUnavailableError):
            continue
    raise AssertionError(f"could not look up {posting.external_reference}")


def post_once(gateway: ErpGateway, posting: JournalPosting, crash: Callable[[], bool],
              *, reconcile: bool) -> int:
    """Post until the ERP holds the journal; returns how many sends it took.

    ``reconcile`` False is the control: it resends on every unclear outcome.
    """
    unclear = False
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if unclear and reconcile and look_up(gateway, posting) is not None:
            return attempt - 1
        try:
            gateway.post_journal(posting)
        except ErpAmbiguousError:
            unclear = True
            continue
        except ErpUnavailableError:
            continue
        if crash():
            # The poster died after the ERP answered and before the answer was recorded:
            # after a restart the outcome is unknown.
            unclear = True
            continue
        return attempt
    raise AssertionError(f"{posting.external_reference} not posted in {MAX_ATTEMPTS} attempts")


def run(gateway: ErpGateway, postings: list[JournalPosting], *, reconcile: bool) -> int:
    crashes = random.Random(SEED + 1)
    sends = 0
    for posting in postings:
        sends += post_once(gateway, posting, lambda: crashes.random() < CRASH_RATE,
                           reconcile=reconcile)
    return sends


def start(tmp_path: Path) -> RunningSandbox:
    return SandboxErp.start(data_dir=tmp_path, seed=SEED, companies={COMPANY: "USD"},
                            accounts=ACCOUNTS, cost_centres=COST_CENTRES,
                            fault_rates={kind.value: rate for kind, rate in FAULTS.items()})


def sap(sandbox: RunningSandbox) -> ZeepSapJournalGateway:
    return ZeepSapJournalGateway(SapSoapSettings(base_url=sandbox.url, username="demo",
                                                 connect_timeout=2, operation_timeout=2),
                                 password="demo")


def business_central(sandbox: RunningSandbox) -> HttpxBusinessCentralGateway:
    return HttpxBusinessCentralGateway(BusinessCentralSettings(
        base_url=sandbox.url, tenant="sandbox", environment="production", client_id="demo",
        token_url=f"{sandbox.url}/oauth2/token", connect_timeout=2, operation_timeout=2),
        client_secret="demo")


def assert_exactly_once(sandbox: RunningSandbox, postings: list[JournalPosting],
                        system: str) -> None:
    documents = sandbox.documents(system=system)
    per_reference = Counter(d["external_reference"] for d in documents)
    assert set(per_reference) == {p.external_reference for p in postings}
    assert max(per_reference.values()) == 1, per_reference.most_common(3)
    erp_total = sum((Decimal(d["totals"]["USD"]["debit"]) for d in documents), Decimal(0))
    assert erp_total == sum((p.entry.total("USD") for p in postings), Decimal(0))
    by_reference = {d["external_reference"]: d for d in documents}
    for posting in postings:
        stored = by_reference[posting.external_reference]
        assert [(line["account"], Decimal(line["amount"]), line["cost_centre"])
                for line in stored["lines"]] == [
            (line.account, line.signed_amount, line.cost_centre) for line in posting.entry.lines]


def test_each_of_many_journals_reaches_sap_exactly_once_despite_faults(tmp_path: Path) -> None:
    postings = journals(N, SEED, "EO-S-")
    with start(tmp_path) as sandbox, sap(sandbox) as gateway:
        sends = run(gateway, postings, reconcile=True)
        history = Counter(kind for _, kind in sandbox.faults.history)

    assert sends > N  # faults did happen and were retried
    assert history[FaultKind.ERROR_BEFORE_COMMIT.value] > N * 0.05
    assert history[FaultKind.COMMIT_THEN_ERROR.value] > 0
    with SandboxErp.start(data_dir=tmp_path) as reopened:  # and it survives a restart
        assert_exactly_once(reopened, postings, "sap")


def test_control_resending_blindly_on_unclear_outcomes_duplicates_journals(
        tmp_path: Path) -> None:
    postings = journals(min(N, 300), SEED, "EO-C-")
    with start(tmp_path) as sandbox, sap(sandbox) as gateway:
        run(gateway, postings, reconcile=False)
        per_reference = Counter(d["external_reference"] for d in sandbox.documents(system="sap"))

    duplicated = [reference for reference, count in per_reference.items() if count > 1]
    assert duplicated, "the control should have booked some journals twice"


@pytest.mark.parametrize("count", [min(N, 150)])
def test_each_journal_reaches_business_central_exactly_once_despite_faults(
        tmp_path: Path, count: int) -> None:
    postings = journals(count, SEED + 7, "EO-B-")
    with start(tmp_path) as sandbox, business_central(sandbox) as gateway:
        sends = run(gateway, postings, reconcile=True)
        assert sends > count
        assert_exactly_once(sandbox, postings, "bc")
