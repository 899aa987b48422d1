"""Rule history and optimistic concurrency: versions never change once saved, a save based on
an outdated version is refused with what changed, activation and rollback are new facts in the
history, and driver tables are guarded the same way."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from connectors.allocation_files import read_drivers
from ledger.allocation import parse_ruleset
from ledger.errors import ConflictError, InputErrors, PermissionDeniedError
from ledger.services import allocation
from tests.services.allocation_support import AllocationCompany, rules


@pytest.fixture
def company(app) -> AllocationCompany:
    return AllocationCompany(app)


def test_a_saved_version_never_changes_and_an_edit_is_the_next_version(company) -> None:
    first, created = company.save_rules(rules(), reason="first rules")
    assert (first.label, first.status.value, created.created) == ("it@1", "draft", 1)
    # Edited from version 1 (the file still says version = 1): saved as version 2.
    second, _ = company.save_rules(rules(share="70"), reason="sales grew")
    assert (second.version, second.parent_version, second.author) == (2, 1, "carol")
    again, unchanged = company.save_rules(rules(2, share="70"))
    assert again.label == "it@2" and unchanged.unchanged == 1 and not unchanged.changed
    with company.app.uow(read_only=True) as uow:
        assert uow.rulesets.get("it", 1) == first
        assert parse_ruleset(uow.rulesets.get("it", 2).text).shared[0].percent[0][1] == 70
        event = uow.audit.latest(1)[0]
    assert (event.action, event.key, event.reason) == ("rules.import", "it@2", "sales grew")
    assert event.before == {"version": 1, "content_hash": first.content_hash}
    assert event.after["changes"] == ["changed shared S1 (percent: [[1010, 60], [2010, 40]] -> "
                                      "[[1010, 70], [2010, 30]])"]


def test_a_save_based_on_an_outdated_version_is_refused_with_what_changed(company) -> None:
    company.save_rules(rules())
    admin = company.app.login
    company.save_rules(rules(share="70"), login=admin, reason="admin's edit")
    with pytest.raises(ConflictError) as refused:
        company.save_rules(rules(description="carol's edit"), based_on=1)
    message = str(refused.value)
    assert "you edited version 1" in message and f"saved by {admin}" in message
    assert "changed shared S1" in message and "admin's edit" in message
    with company.app.uow(read_only=True) as uow:
        assert [v.version for v in uow.rulesets.versions("it")] == [1, 2]
    # Based on the latest, the same edit is saved.
    saved, _ = company.save_rules(rules(2, share="70", description="carol's edit"))
    assert saved.version == 3


def test_activation_retires_the_previous_version_and_rollback_is_a_new_version(company) -> None:
    company.save_rules(rules())
    company.save_rules(rules(share="70"))
    with pytest.raises(PermissionDeniedError):
        company.activate(1, login="carol")  # analysts write rules; a controller activates
    company.activate(1)
    company.activate(2)
    with company.as_("dave")() as uow:
        copy, _ = allocation.rollback(uow=uow, name="it", to_version=1, reason="70 % was wrong")
        uow.commit()
    with company.app.uow(read_only=True) as uow:
        statuses = {v.version: v.status.value for v in uow.rulesets.versions("it")}
        first = uow.rulesets.get("it", 1)
    assert statuses == {1: "retired", 2: "retired", 3: "active"}
    assert (copy.version, copy.parent_version, copy.activated_by) == (3, 1, None)
    assert parse_ruleset(copy.text).shared == parse_ruleset(first.text).shared
    with company.app.uow(read_only=True) as uow:
        assert allocation.show_version(uow=uow, label="it").label == "it@3"
        assert [str(c) for c in allocation.diff_versions(uow=uow, name="it", old=2, new=3)] == [
            "changed ruleset header (version: 2 -> 3)",
            "changed shared S1 (percent: [[1010, 70], [2010, 30]] -> [[1010, 60], [2010, 40]])"]


def test_the_history_of_one_rule_lists_only_the_versions_that_touched_it(company) -> None:
    company.save_rules(rules(), reason="start")
    company.save_rules(rules(share="70"), reason="split")
    company.save_rules(rules(2, share="70", description="by tag"), reason="wording")
    with company.app.uow(read_only=True) as uow:
        shared = allocation.history(uow=uow, name="it", rule="S1")
        mapping = allocation.history(uow=uow, name="it", rule="M1")
        everything = allocation.history(uow=uow, name="it")
    assert [(e.version, e.reason, [c.kind for c in e.changes]) for e in shared] == [
        (1, "start", ["added"]), (2, "split", ["changed"])]
    assert [(e.version, [str(c) for c in e.changes]) for e in mapping] == [
        (1, ["added mapping M1"]),
        (3, ["changed mapping M1 (description: tagged resources -> by tag)"])]
    assert [e.version for e in everything] == [1, 2, 3]
    assert all(e.author == "carol" for e in everything)


def write_drivers(path: Path, rows: list[str]) -> Path:
    path.write_text("period,cost_centre,driver,value,unit\n" + "\n".join(rows) + "\n")
    return path


def import_drivers(company, path: Path, *, login: str = "carol", expected=None):
    staged, units = read_drivers(path)
    with company.as_(login)() as uow:
        changes = allocation.import_drivers(uow=uow, rows=staged, units=units,
                                            expected=expected, reason="test")
        uow.commit()
    return changes


def test_fixed_percentages_must_total_100_and_nothing_is_stored_otherwise(company, tmp_path
                                                                           ) -> None:
    bad = write_drivers(tmp_path / "split.csv", [
        "2026-10,1010,split,60,%", "2026-10,2010,split,30,%", "2026-10,1010,headcount,12,"])
    with pytest.raises(InputErrors) as refused:
        import_drivers(company, bad)
    error = refused.value.errors[0]
    assert (error.source, error.row, error.field) == (str(bad), 3, "value")
    assert "total 90 %" in error.message
    with company.app.uow(read_only=True) as uow:
        assert uow.driver_revisions.quantities() == []
    malformed = write_drivers(tmp_path / "bad.csv", ["2026-13,1010,split,x,%"])
    with pytest.raises(InputErrors) as refused:
        read_drivers(malformed)
    assert [(e.row, e.field) for e in refused.value.errors] == [(2, "period")]


def test_a_driver_table_keeps_revisions_and_refuses_a_save_based_on_an_old_one(company,
                                                                                tmp_path) -> None:
    path = write_drivers(tmp_path / "split.csv", ["2026-10,1010,split,60,%",
                                                  "2026-10,2010,split,40,%"])
    assert import_drivers(company, path, expected={"split": 0}).created == 2
    assert not import_drivers(company, path).changed  # the same file again: nothing
    changed = write_drivers(tmp_path / "split2.csv", ["2026-10,1010,split,55,%",
                                                      "2026-10,2010,split,45,%"])
    import_drivers(company, changed, login=company.app.login, expected={"split": 1})
    stale = write_drivers(tmp_path / "split3.csv", ["2026-10,1010,split,50,%",
                                                    "2026-10,2010,split,50,%"])
    with pytest.raises(ConflictError) as refused:
        import_drivers(company, stale, expected={"split": 1})
    assert f"revision 2 by {company.app.login}" in str(refused.value)
    assert "1010/2026-10: 60 -> 55" in str(refused.value)
    with company.app.uow(read_only=True) as uow:
        values = {q.cost_centre: q.quantity for q in uow.driver_revisions.quantities()}
        latest = uow.driver_revisions.latest("split")
    assert values == {"1010": Decimal(55), "2010": Decimal(45)}
    # The content hash works as the token too.
    import_drivers(company, stale, expected={"split": latest.content_hash})


def test_drivers_read_from_xlsx_like_csv(tmp_path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Period", "Cost Centre", "Driver", "Value"])
    sheet.append(["2026-10", "1010", "Headcount", 12])
    sheet.append(["2026-10", "2010", "headcount", "7.5"])
    book.save(tmp_path / "drivers.xlsx")
    staged, _ = read_drivers(tmp_path / "drivers.xlsx")
    assert [(s.row, s.value.driver, s.value.cost_centre, s.value.quantity) for s in staged] == [
        (2, "headcount", "1010", Decimal(12)), (3, "headcount", "2010", Decimal("7.5"))]
