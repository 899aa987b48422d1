"""Anomalies found in imported billing: planted spikes yes, the weekly rhythm no."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest

from connectors.billing import import_billing_file
from ledger.costfacts import CostFactStore
from ledger.finding import Finding, FindingStatus, TicketRef
from ledger.reference import CostCentre
from ledger.services import reference_data
from ledger.services.anomalies import detect_anomalies, review_finding, sync_tickets
from ledger.staging import staged
from tests.billing_support import focus_row, write_focus

D = Decimal
TODAY = date(2026, 11, 27)
SPIKE_DAY = date(2026, 11, 24)


def history(*, spike: bool, untagged_day: date | None = None) -> list[dict[str, str]]:
    """Twelve weeks of two services with office-day rhythm, tagged by cost centre."""
    rng = random.Random(2026)
    rows = []
    for n in range(84):
        day = TODAY - timedelta(days=84 - n)
        weekday = day.weekday() < 5
        for service, centre, level in (("AmazonEC2", "2010", 900), ("AmazonRDS", "5010", 400)):
            amount = D(level if weekday else level // 4) * (1 + D(rng.randint(-600, 600)) / 10000)
            if spike and service == "AmazonEC2" and day == SPIKE_DAY:
                amount *= 4
            tags = {} if untagged_day == day and service == "AmazonEC2" else \
                {"cost-centre": centre}
            rows.append(focus_row(day, service, amount.quantize(D("0.0001")), tags=tags))
    return rows


@pytest.fixture
def store(tmp_path) -> CostFactStore:
    return CostFactStore(tmp_path / "facts")


@pytest.fixture
def company(app):
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("2010", "Field Sales EMEA", owner="amara.berg@meridian.example"),
            CostCentre("5010", "Product Engineering")]))
        uow.commit()
    return app


def detect(app, store):
    with app.uow() as uow:
        report = detect_anomalies(uow=uow, store=store, today=TODAY)
        uow.commit()
    with app.uow(read_only=True) as uow:
        return report, uow.findings.list()


def test_ordinary_weeks_raise_no_anomaly(company, store, tmp_path) -> None:
    import_billing_file(store, write_focus(tmp_path / "calm.csv", history(spike=False)))
    report, findings = detect(company, store)
    assert findings == [] and report.new == []


def test_a_planted_spike_is_found_once_per_series_with_its_owner(company, store,
                                                                 tmp_path) -> None:
    import_billing_file(store, write_focus(tmp_path / "spike.csv", history(spike=True)))
    report, findings = detect(company, store)
    keys = sorted(f.finding.key for f in findings)
    assert keys == [f"anomaly:cost-spike:cost-centre:2010:{SPIKE_DAY}",
                    f"anomaly:cost-spike:service_name:AmazonEC2:{SPIKE_DAY}"]
    by_centre = next(f for f in findings if "cost-centre" in f.finding.key)
    assert by_centre.finding.owner_email == "amara.berg@meridian.example"
    again, _ = detect(company, store)
    assert again.new == [] and sorted(again.updated) == sorted(report.new)


def test_untagged_growth_is_found_and_clears_when_it_stops(company, store, tmp_path) -> None:
    rows = history(spike=False, untagged_day=TODAY - timedelta(days=1))
    import_billing_file(store, write_focus(tmp_path / "untagged.csv", rows))
    _, findings = detect(company, store)
    assert [f.kind for f in findings] == ["untagged_growth"]
    fresh = CostFactStore(store.root.parent / "facts-2")
    import_billing_file(fresh, write_focus(tmp_path / "fixed.csv", history(spike=False)))
    report, findings = detect(company, fresh)
    assert report.cleared == [findings[0].id] and findings[0].status is FindingStatus.CLEARED


@dataclass
class FakeTicketSink:
    """A service desk in memory that keeps one ticket per finding key, as the adapters do."""

    tickets: dict[str, dict] = field(default_factory=dict)
    counter: int = 0

    def open_or_update(self, finding: Finding) -> TicketRef:
        ticket = self.tickets.get(finding.key)
        if ticket is None or ticket["closed"]:
            self.counter += 1
            ticket = {"id": f"APP-{self.counter}", "closed": False, "updates": 0}
            self.tickets[finding.key] = ticket
        else:
            ticket["updates"] += 1
        return TicketRef("fake", ticket["id"])

    def close(self, finding_key: str, resolution: str) -> TicketRef | None:
        ticket = self.tickets.get(finding_key)
        if ticket is None or ticket["closed"]:
            return None
        ticket["closed"], ticket["resolution"] = True, resolution
        return TicketRef("fake", ticket["id"])


def test_each_finding_gets_one_ticket_which_closes_when_it_is_dismissed(company, store,
                                                                        tmp_path) -> None:
    import_billing_file(store, write_focus(tmp_path / "spike.csv", history(spike=True)))
    sink = FakeTicketSink()
    for _ in range(3):
        detect(company, store)
        with company.uow() as uow:
            sync_tickets(uow=uow, sink=sink)
            uow.commit()
    assert sink.counter == 2 and all(not t["closed"] for t in sink.tickets.values())
    _, findings = detect(company, store)
    with company.uow() as uow:
        review_finding(uow=uow, finding_id=findings[0].id, status=FindingStatus.DISMISSED,
                       reason="planned load test")
        report = sync_tickets(uow=uow, sink=sink)
        uow.commit()
    assert report.closed == [findings[0].finding.key]
    assert sink.tickets[findings[0].finding.key]["resolution"] == "planned load test"
