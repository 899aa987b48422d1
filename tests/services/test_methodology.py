"""The methodology document of the demo company: every pool and rule of the active rule set,
the period's audit head, and the same content as HTML and as a PDF that renders."""

from __future__ import annotations

from pathlib import Path

import pypdfium2

from client.commands.common import Options
from client.render_methodology import to_html, write
from ledger.services.audit import verify_audit
from ledger.services.methodology import build_methodology
from ledger.services.periods import close_period


def test_the_methodology_lists_every_pool_and_rule_and_carries_the_close_head(
        demo_app, tmp_path: Path) -> None:
    with demo_app.uow() as uow:
        close_period(uow=uow, period="2026-10", reason="month-end")
        uow.commit()
    with demo_app.uow(read_only=True) as uow:
        doc = build_methodology(uow=uow, period="2026-10")
        ruleset = uow.rulesets.active()[0].ruleset()
        recorded = uow.close_heads.list("2026-10")[-1][1]
        problems, _ = verify_audit(uow=uow, recorded_head=recorded)
    assert not problems
    assert doc.ruleset == "demo@1" and doc.anchor.recorded_at_close
    assert doc.anchor.head == str(recorded)

    pools = {row[0] for row in doc.section("Cost pools").tables[0].rows}
    assert pools == {p.id for p in ruleset.pools}
    mapping = [row[1] for row in doc.section("Mapping rules").tables[0].rows]
    assert mapping == [m.id for m in ruleset.mapping]  # in the order they are applied
    shared = {row[0] for row in doc.section("Shared cost rules").tables[0].rows}
    assert shared == {s.id for s in ruleset.shared}
    drivers = doc.section("Drivers").tables[0].rows
    assert [row[0] for row in drivers] == ["headcount", "invocations"] and drivers[0][3] != "0"
    assert drivers[1][1] == "S400"  # the API gateway, by the functions' invocations
    books = {row[0] for row in doc.section("Depreciation policies").tables[0].rows}
    assert books == {"IFRS", "TAX"}
    assert sum(int(row[7]) for row in doc.section("Depreciation policies").tables[0].rows
               if row[0] == "IFRS") == 224

    html = to_html(doc)
    assert f'content="{recorded}"' in html
    for rule_id in [*mapping, *shared, *pools]:
        assert f"<td>{rule_id}</td>" in html

    pdf = tmp_path / "methodology.pdf"
    assert write(doc, pdf) == "pdf"
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        assert len(document) >= 2
        image = document[0].render(scale=1).to_pil()
        text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()
    assert image.size[0] > image.size[1] > 500  # landscape A4 at 72 dpi
    low, high = image.convert("L").getextrema()
    assert low < high  # not a blank page
    assert recorded.hash[:32] in text.replace("\n", "").replace("\r", "")
    assert all(rule_id in text for rule_id in mapping)


def test_an_open_period_is_documented_with_the_current_head_and_said_so(demo_app) -> None:
    with demo_app.uow(read_only=True) as uow:
        doc = build_methodology(uow=uow, period="2026-10")
        head = uow.audit.head()
    assert not doc.anchor.recorded_at_close and doc.anchor.head == str(head)
    assert "is not closed" in doc.section("Audit trail").paragraphs[0]


def test_the_command_writes_html_and_prints_json(demo_app, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from client.cli import cli

    out = tmp_path / "m.html"
    result = CliRunner().invoke(cli, ["--db", demo_app.url, "report", "methodology", "--period",
                                      "2026-10", "--out", str(out), "--json"],
                                obj=Options(), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert '"format": "html"' in result.output and '"audit_head"' in result.output


def test_the_methodology_states_the_cloud_splits_and_the_allocation_policy(demo_app) -> None:
    """Auditors read how the clusters, spot capacity and data transfer were split before the
    mapping rules, and the policy that decided scope, ownership and charging modes."""
    with demo_app.uow(read_only=True) as uow:
        doc = build_methodology(uow=uow, period="2026-10")
    cloud = {row[1]: row for row in doc.section("Cloud-native splits").tables[0].rows}
    assert set(cloud) == {"EKS", "AKS", "SPOT", "flow-bytes"}
    assert "idle charged to 6010" in cloud["AKS"][3] and "by label:team" in cloud["AKS"][3]
    assert "kube-system, monitoring shared" in cloud["EKS"][3]
    assert "bytes" in cloud["flow-bytes"][3] and "pool cloud" in cloud["flow-bytes"][3]

    policy = doc.section("Allocation policy")
    assert policy.paragraphs[0].startswith("Policy meridian@1")
    settings = {(row[0], row[1]): row for row in policy.tables[0].rows}
    shadow = [row for (kind, _), row in settings.items() if kind == "charging"]
    assert any(row[2] == "shadow" and "chargeback from 2027-01-01" in row[3] for row in shadow)
    assert any(kind == "sensitive" for kind, _ in settings)
