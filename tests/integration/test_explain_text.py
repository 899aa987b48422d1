"""``apportion explain`` without ``--json`` reads as tables: the clusters' namespace, label and
idle shares and how each was made up, the spot workloads, and the data-transfer split by
bytes, with the same figures the JSON gives (the demo month, after its month-end)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from client.cli import cli
from client.demo import load_demo, run_month_end


@pytest.fixture(scope="module")
def month_end(tmp_path_factory: pytest.TempPathFactory):
    """The demo company after its month-end (one allocation run), built once for the module
    on SQLite (the CLI acts as APPORTION_USER there; on PostgreSQL as the database login)."""
    from client.bootstrap import open_app
    from ledger.services.users import bootstrap_administrator
    from tests.conftest import FakeClock

    folder = tmp_path_factory.mktemp("explain-text")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(folder / "xdg-data"))
        patch.setenv("APPORTION_USER", "admin")
        app = open_app(f"sqlite:///{folder / 'demo.db'}", create=True, clock=FakeClock())
        try:
            with app.uow() as uow:
                bootstrap_administrator(uow=uow)
                uow.commit()
            load_demo(app)
            run_id = run_month_end(app, "2026-10").allocation.run_id
            yield app, run_id
        finally:
            app.close()


def apportion(app, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", app.url, *args], env={
        "APPORTION_USER": "carol", "COLUMNS": "200"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def explained(app, run_id: int, cost_centre: str) -> tuple[str, dict]:
    args = ("explain", "--run", str(run_id), "--cost-centre", cost_centre)
    return apportion(app, *args), json.loads(apportion(app, *args, "--json"))


def row_of(text: str, *cells: str) -> list[str]:
    """The cells of the table row that has all of ``cells``."""
    for line in text.splitlines():
        found = [c.strip() for c in line.split("│")[1:-1]]
        if all(c in found for c in cells):
            return found
    raise AssertionError(f"no row with {cells} in:\n{text}")


def test_explain_shows_the_namespace_share_and_the_transfer_split_as_the_json_does(
        month_end) -> None:
    app, run_id = month_end
    text, data = explained(app, run_id, "2040")
    assert "k8s_cluster=" not in text and "k8s_key=" not in text  # said in words instead
    web = next(s for s in data["cluster_shares"] if s["key"] == "web-shop")
    row = row_of(text, "meridian-eks", "web-shop")
    assert row[3:7] == [f"{Decimal(web[k]):.4f} %" for k in ("percent", "own", "system", "idle")]
    assert row[3] == "26.9003 %"
    # What 2040 was charged for web-shop: its namespace's cost lines, to the cent.
    charged = sum((Decimal(s["amount"]) for item in data["items"] if item["kind"] == "direct"
                   for s in item["sources"] if s["attributes"].get("k8s_key") == "web-shop"),
                  Decimal(0))
    assert row[7] == f"{charged:,.2f}" and charged > 0
    assert row_of(text, "meridian-eks", "erp-api")[7] == ""  # another team's namespace

    share, = data["transfer_shares"]
    row = row_of(text, share["kind"], share["region"], f"{share['bytes']:,}")
    assert row[3] == f"{share['charge_bytes']:,}" and row[4] == f"{share['percent']} %"
    assert Decimal(row[5].replace(",", "")) == Decimal(share["amount"])  # to its last digit
    every = {(r["owner"], Decimal(r["amount"])) for r in data["transfer"]["split"]}
    assert ("2040", Decimal(share["amount"])) in every
    for owner, amount in every:  # every owner's part, as the JSON has it
        assert Decimal(row_of(text, "eu-west-1", owner, owner)[4].replace(",", "")) == amount


def test_explain_shows_the_idle_owner_and_the_spot_workloads_charged_here(month_end) -> None:
    app, run_id = month_end
    text, data = explained(app, run_id, "6010")
    idle = row_of(text, "meridian-aks", "idle", "6010")
    assert idle[3] == idle[6] == "25.0000 %" and Decimal(idle[7].replace(",", "")) > 0

    text, data = explained(app, run_id, "5020")
    for split in data["spot"]["split"]:
        row = row_of(text, split["resource_id"], split["workload"])
        assert row[2] == f"{Decimal(split['hours']):,}"
        assert row[3] == f"{Decimal(split['amount']):,.2f}"
        here = row[5]
        assert (here != "") == (split["resource_id"] == "i-ci-runner")  # 5020's CI runner


def test_transfer_and_cloud_demo_read_as_tables_with_the_json_figures(month_end) -> None:
    app, _run_id = month_end
    text = apportion(app, "transfer", "2026-10")
    data = json.loads(apportion(app, "transfer", "2026-10", "--json"))
    charge, = data["charges"]
    assert row_of(text, charge["kind"], charge["region"])[2] == f"{Decimal(charge['amount']):,.2f}"
    for share in data["shares"]:
        row = row_of(text, share["owner"], f"{share['bytes']:,}")
        assert row[4:7] == [f"{share['charge_bytes']:,}", f"{share['percent']} %",
                            f"{Decimal(share['amount']):,.2f}"]

    text = apportion(app, "cloud-demo")
    data = json.loads(apportion(app, "cloud-demo", "--json"))
    web = next(s for s in data["cluster_shares"] if s["key"] == "web-shop")
    row = row_of(text, "meridian-eks", "web-shop")
    assert row[3] == f"{Decimal(web['percent']):.4f} %" and row[7] == "2040"
    assert row_of(text, "cluster")[1:3] == ["10,451.35", "10,451.35"]  # billed, charged
