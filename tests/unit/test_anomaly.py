"""Spikes stand out from the same weekday's history; ordinary weekly rhythm does not."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from ledger.anomaly import find_spikes, find_untagged_growth, missing_tag_findings
from ledger.finding import Severity

D = Decimal
START = date(2026, 5, 4)  # a Monday


def seasonal_history(seed: int, days: int = 180) -> dict[date, Decimal]:
    """Office-day costs around 1,000 with weekends around 250, with 8 % noise and a gentle
    upward trend, like a shared platform's daily bill."""
    rng = random.Random(seed)
    series = {}
    for n in range(days):
        day = START + timedelta(days=n)
        level = D(1000) if day.weekday() < 5 else D(250)
        trend = 1 + D(n) / 2000
        noise = 1 + D(rng.randint(-800, 800)) / 10000
        series[day] = (level * trend * noise).quantize(D("0.01"))
    return series


def test_normal_weekly_rhythm_raises_nothing_across_many_series() -> None:
    days = [START + timedelta(days=n) for n in range(70, 180)]
    flagged = [s for seed in range(20) for s in find_spikes(f"svc{seed}",
                                                            seasonal_history(seed), days)]
    assert flagged == []


def test_planted_spikes_are_found_with_their_evidence() -> None:
    series = seasonal_history(7)
    planted = {START + timedelta(days=100): D(3), START + timedelta(days=131): D("1.8"),
               START + timedelta(days=160): D(6)}
    for day, factor in planted.items():
        series[day] = (series[day] * factor).quantize(D("0.01"))
    days = [START + timedelta(days=n) for n in range(70, 180)]
    spikes = find_spikes("service:AmazonEC2", series, days)
    assert [s.day for s in spikes] == sorted(planted)
    biggest = spikes[-1]
    assert biggest.severity is Severity.CRITICAL
    finding = biggest.finding(cost_centre="2010")
    assert finding.key == f"anomaly:cost-spike:service:AmazonEC2:{biggest.day}"
    assert finding.evidence["observed"] == format(series[biggest.day], "f")
    assert len(finding.evidence["comparable_days"]) == 8


def test_a_saturday_at_a_weekday_level_is_a_spike_for_a_saturday() -> None:
    series = seasonal_history(3)
    saturday = next(START + timedelta(days=n) for n in range(120, 127)
                    if (START + timedelta(days=n)).weekday() == 5)
    series[saturday] = D(1100)
    assert [s.day for s in find_spikes("svc", series, [saturday])] == [saturday]


def test_small_costs_do_not_raise_alarms_however_they_jump() -> None:
    series = {START + timedelta(days=n): D("0.50") for n in range(100)}
    day = START + timedelta(days=99)
    series[day] = D("12.00")
    assert find_spikes("svc", series, [day]) == []


def test_too_little_history_gives_no_judgement() -> None:
    series = {START + timedelta(days=n): D(100) for n in range(20)}
    day = START + timedelta(days=19)
    series[day] = D(10000)
    assert find_spikes("svc", series, [day]) == []


def test_a_flat_series_that_jumps_is_caught_without_a_spread() -> None:
    series = {START + timedelta(days=n): D(400) for n in range(70)}
    day = START + timedelta(days=69)
    series[day] = D(900)
    (spike,) = find_spikes("svc", series, [day])
    assert spike.score is None and spike.increase == D(500)


def test_untagged_cost_growing_is_reported_and_its_usual_share_is_not() -> None:
    total = {START + timedelta(days=n): D(1000) for n in range(40)}
    untagged = {day: D(50) for day in total}
    day = START + timedelta(days=39)
    assert find_untagged_growth("cost-centre", untagged, total, day) is None
    untagged[day] = D(400)
    growth = find_untagged_growth("cost-centre", untagged, total, day)
    assert growth is not None and growth.share == D("0.4")
    assert growth.finding().key == "anomaly:untagged-growth:cost-centre"


def test_resources_without_required_tags_each_get_one_finding() -> None:
    findings = missing_tag_findings({
        "i-0abc": {"tags": {"Cost-Centre": "2010", "owner": "x"}, "service": "EC2"},
        "i-0def": {"tags": {"owner": "y"}, "service": "EC2", "first_seen": "2026-11-02"},
    }, ["cost-centre", "owner"])
    assert [f.key for f in findings] == ["missing-tag:i-0def"]
    assert findings[0].evidence["missing"] == ["cost-centre"]
