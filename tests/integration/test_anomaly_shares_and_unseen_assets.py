"""Allocation outliers (a cost centre's share of a pool far from its own history) and assets no
discovery source has seen for too long: planted cases are found with their evidence, ordinary
month-to-month wobble is not, and each finding can be reviewed or clears on its own."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from ledger.anomaly import ShareRule, UnseenAsset, find_share_outliers
from ledger.costfacts import CostFactStore
from ledger.errors import InputError
from ledger.finding import FindingStatus, Severity
from ledger.reference import CostCentre
from ledger.services import reference_data
from ledger.services.anomalies import detect_anomalies, review_finding
from ledger.staging import staged

D = Decimal
TODAY = date(2026, 11, 27)
USUAL = {"1010": 20, "2010": 35, "5010": 30, "6010": 15}  # per cent of the pool
PERIODS = [f"2025-{m:02d}" for m in range(12, 13)] + [f"2026-{m:02d}" for m in range(1, 12)]


def pool_history(*, plant: dict[str, int] | None = None, seed: int = 11
                 ) -> dict[str, dict[str, Decimal]]:
    """Twelve months of a 100,000 pool split roughly by ``USUAL`` (head counts move a little
    every month); ``plant`` overrides the last month's percentages."""
    rng = random.Random(seed)
    history = {}
    for period in PERIODS:
        weights = {cc: D(p) * (1 + D(rng.randint(-500, 500)) / 10000)
                   for cc, p in USUAL.items()}
        if period == PERIODS[-1] and plant:
            weights = {cc: D(p) for cc, p in plant.items()}
        total = sum(weights.values())
        history[period] = {cc: (D(100000) * w / total).quantize(D("0.01"))
                           for cc, w in weights.items() if w}
    return history


def test_ordinary_month_to_month_wobble_raises_no_allocation_outlier() -> None:
    for seed in range(20):
        history = pool_history(seed=seed)
        for period in PERIODS[3:]:
            assert find_share_outliers("it-services", history, period) == [], (seed, period)


def test_a_cost_centre_whose_share_jumps_is_an_outlier_with_its_evidence() -> None:
    history = pool_history(plant={"1010": 45, "2010": 25, "5010": 20, "6010": 10})
    outliers = find_share_outliers("it-services", history, PERIODS[-1])
    by_centre = {o.cost_centre: o for o in outliers}
    assert set(by_centre) >= {"1010"}
    jump = by_centre["1010"]
    assert jump.share == D("0.45") and D("0.19") < jump.baseline < D("0.21")
    assert jump.severity is Severity.CRITICAL and jump.score > 4
    finding = jump.finding(owner_email="ops@meridian.example")
    assert finding.key == f"anomaly:allocation-share:it-services:1010:{PERIODS[-1]}"
    assert finding.evidence["compared_periods"] == PERIODS[:-1]
    assert finding.evidence["amount"] == "45000.00" and finding.cost_centre == "1010"
    assert "rose to 45.0%" in finding.title


def test_a_cost_centre_that_vanishes_from_a_pool_is_an_outlier_too() -> None:
    history = pool_history(plant={"1010": 0, "2010": 40, "5010": 40, "6010": 20})
    vanished = [o for o in find_share_outliers("it-services", history, PERIODS[-1])
                if o.cost_centre == "1010"]
    assert len(vanished) == 1 and vanished[0].share == 0 and "fell" in vanished[0].finding().title


def test_too_little_history_gives_no_judgement() -> None:
    history = {p: v for p, v in pool_history(plant={"1010": 90, "6010": 10}).items()
               if p >= PERIODS[-3]}
    assert find_share_outliers("it-services", history, PERIODS[-1]) == []
    assert find_share_outliers("it-services", history, PERIODS[-1],
                               ShareRule(min_history=2)) != []


@pytest.fixture
def company(app):
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing", owner="plant.manager@meridian.example"),
            CostCentre("2010", "Field Sales EMEA"), CostCentre("5010", "Engineering"),
            CostCentre("6010", "IT Infrastructure")]))
        uow.commit()
    return app


def detect(app, tmp_path, **kwargs):
    with app.uow() as uow:
        report = detect_anomalies(uow=uow, store=CostFactStore(tmp_path / "facts"),
                                  today=TODAY, **kwargs)
        uow.commit()
    with app.uow(read_only=True) as uow:
        return report, uow.findings.list(statuses=[FindingStatus.OPEN])


def test_allocation_outliers_are_recorded_once_and_reviewed_with_a_reason(company,
                                                                         tmp_path) -> None:
    shares = {"it-services": pool_history(plant={"1010": 45, "2010": 25, "5010": 20,
                                                 "6010": 10})}
    report, findings = detect(company, tmp_path, allocation_history=shares)
    outliers = [f for f in findings if f.kind == "allocation_outlier"]
    jump = next(f for f in outliers if f.finding.cost_centre == "1010")
    assert jump.finding.owner_email == "plant.manager@meridian.example"
    again, _ = detect(company, tmp_path, allocation_history=shares)
    assert again.new == [] and sorted(again.updated) == sorted(report.new)
    with company.uow() as uow:
        login = uow.actor.login
        reviewed = review_finding(uow=uow, finding_id=jump.id,
                                  status=FindingStatus.ACKNOWLEDGED,
                                  reason="new production line moved 40 people into 1010")
        uow.commit()
    assert reviewed.status is FindingStatus.ACKNOWLEDGED and reviewed.reviewed_by == login
    assert reviewed.reason == "new production line moved 40 people into 1010"
    with company.uow() as uow, pytest.raises(InputError, match="reason"):
        review_finding(uow=uow, finding_id=jump.id, status=FindingStatus.DISMISSED, reason=" ")


def laptop(tag: str, last_seen: date | None, centre: str = "1010") -> UnseenAsset:
    return UnseenAsset(tag, f"laptop {tag}", last_seen, ("intune", "jamf"), centre)


def test_assets_unseen_too_long_are_found_and_clear_when_seen_again(company,
                                                                    tmp_path) -> None:
    assets = [laptop("A-100", TODAY - timedelta(days=3)),
              laptop("A-200", TODAY - timedelta(days=45)),
              laptop("A-300", TODAY - timedelta(days=200), "6010"),
              laptop("A-400", None)]
    _, findings = detect(company, tmp_path, unseen_assets=assets, max_unseen_days=30)
    found = {f.finding.evidence["asset"]: f for f in findings if f.kind == "unseen_asset"}
    assert sorted(found) == ["A-200", "A-300", "A-400"]
    assert found["A-200"].finding.severity is Severity.MEDIUM
    assert found["A-300"].finding.severity is Severity.HIGH
    assert found["A-200"].finding.evidence["days_unseen"] == 45
    assert found["A-200"].finding.owner_email == "plant.manager@meridian.example"
    # A-200 turned up in the morning's Intune import: its finding clears, the others stay.
    assets[1] = laptop("A-200", TODAY)
    report, findings = detect(company, tmp_path, unseen_assets=assets, max_unseen_days=30)
    assert report.cleared == [found["A-200"].id]
    assert sorted(f.finding.evidence["asset"] for f in findings
                  if f.kind == "unseen_asset") == ["A-300", "A-400"]
    # A detection that did not look at the inventory clears nothing of it.
    report, _ = detect(company, tmp_path)
    assert report.cleared == []


def test_the_nightly_job_reads_unseen_assets_from_the_inventory(company, tmp_path) -> None:
    """The scheduler's anomaly job asks the inventory which in-service assets no discovery
    source has reported (here: never, as nothing was imported)."""
    from datetime import UTC, datetime

    from client.scheduler import Scheduler, load_config
    from ledger.asset import Asset, AssetKind
    from ledger.services.assets import register_assets

    with company.uow() as uow:
        register_assets(uow=uow, assets=staged([
            Asset("LT-0001", "Latitude 7440 - A. Berg", AssetKind.LAPTOP, "1010"),
            Asset("LT-0002", "Latitude 7440 - spare", AssetKind.LAPTOP, "6010")]))
        uow.commit()
    path = tmp_path / "scheduler.toml"
    path.write_text('[jobs.anomalies]\nkind = "anomaly_detection"\ncron = "30 5 * * *"\n'
                    "unseen_asset_days = 30\n")
    run = Scheduler(company, load_config(path)).fire(
        "anomalies", datetime(2026, 11, 27, 5, 30, tzinfo=UTC))
    assert run.counts == {"new": 2, "updated": 0, "cleared": 0}
    with company.uow(read_only=True) as uow:
        found = {f.finding.evidence["asset"]: f.finding for f in uow.findings.list()}
    assert sorted(found) == ["LT-0001", "LT-0002"]
    assert found["LT-0001"].title == ("Asset LT-0001 (Latitude 7440 - A. Berg) never seen by "
                                      "any discovery source")
    assert found["LT-0001"].owner_email == "plant.manager@meridian.example"
    assert found["LT-0001"].severity is Severity.HIGH


def test_detection_reads_share_history_from_the_stored_allocation_runs(company,
                                                                       tmp_path) -> None:
    """Without an explicit history, detection reads the current allocation runs; a superseded
    run (replaced by a re-run) does not count."""
    from datetime import UTC, datetime

    from ledger.allocation.stored import RunStatus, RunTotal, StoredLine, StoredRun

    history = pool_history(plant={"1010": 45, "2010": 25, "5010": 20, "6010": 10})
    with company.uow() as uow:
        for n, (period, amounts) in enumerate(sorted(history.items())):
            total = sum(amounts.values())
            run = StoredRun(0, period, "it-services", 1, "amortised", f"fp-{n}",
                            RunStatus.DRAFT, True, "carol", datetime(2026, 11, 1, tzinfo=UTC),
                            (RunTotal("USD", total, total, D(0)),))
            uow.allocation_runs.add(run, [
                StoredLine(cc, "6900", "it-services", "by-headcount", "share", "USD", amount,
                           True) for cc, amount in amounts.items()], [], [])
        uow.commit()
    _, findings = detect(company, tmp_path)
    keys = {f.finding.key for f in findings if f.kind == "allocation_outlier"}
    assert f"anomaly:allocation-share:it-services/USD:1010:{PERIODS[-1]}" in keys
    with company.uow() as uow:  # the outlying run is superseded by a corrected re-run
        latest = uow.allocation_runs.list(period=PERIODS[-1])[0]
        uow.allocation_runs.supersede(latest.id)
        uow.commit()
    report, findings = detect(company, tmp_path)
    assert not [f for f in findings if f.kind == "allocation_outlier"]
    assert len(report.cleared) == len(keys)
