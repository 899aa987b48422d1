"""Flow logs of a small topology assign transfer cost to the originating teams by bytes.

Three teams: web (eu-west-1a), api (eu-west-1b) and data (eu-central-1a). The bill charges
10.00 inter-zone, 1.01 egress and 3.00 inter-region in Ireland and 0.50 inter-region in
Frankfurt. By hand, from the records in tests/flow_log_support.py:

- inter-zone, Ireland: web sent 4000 bytes to api, api 1000 to web -> web 8.00, api 2.00
- egress, Ireland: web 6000, api 2000 -> exact 0.7575 / 0.2525 -> web 0.76, api 0.25
  (the odd cent to the larger remainder)
- inter-region, Ireland: only api (3000 to the database) -> api 3.00
- inter-region, Frankfurt: only the database (1000 back to api) -> data 0.50

so web 8.76, api 5.25, data 0.50: 14.51, the bill's transfer charges to the cent.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from client.cli import cli
from connectors.flow_logs import aggregate_flow_logs, detect_format, read_mapping, sha256_of
from ledger.errors import InputError, PermissionDeniedError
from ledger.services.transfer import import_flow_logs
from tests.billing_support import focus_header, focus_row, write_focus
from tests.flow_log_support import write_aws, write_azure, write_mapping
from tests.services.allocation_support import AllocationCompany, rules

EXPECTED = {"web": Decimal("8.76"), "api": Decimal("5.25"), "data": Decimal("0.50")}


def _bill(path: Path) -> Path:
    day = dt.date(2026, 10, 15)

    def transfer(description: str, cost: str, region: str = "eu-west-1") -> dict[str, str]:
        row = focus_row(day, "AWS Data Transfer", Decimal(cost), resource=None)
        row.update({"ChargeDescription": description, "RegionId": region, "ResourceId": "NULL",
                    "PricingUnit": "GB", "ConsumedUnit": "GB"})
        return row

    return write_focus(path, [
        transfer("$0.01 per GB - regional data transfer - in/out/between EC2 AZs", "10.00"),
        transfer("$0.09 per GB - first 10 TB / month data transfer out", "1.01"),
        transfer("$0.02 per GB - EU (Ireland) data transfer to EU (Frankfurt)", "3.00"),
        transfer("$0.02 per GB - EU (Frankfurt) data transfer to EU (Ireland)", "0.50",
                 "eu-central-1"),
        focus_row(day, "AmazonEC2", Decimal("50.00"), resource="i-web1"),  # not transfer
    ])


def _run(app, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["--db", app.url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_flow_logs_assign_transfer_cost_to_the_originating_teams_by_bytes(app, tmp_path) -> None:
    mapping = write_mapping(tmp_path / "mapping.csv")
    _run(app, "import", "focus", str(_bill(tmp_path / "bill.csv")), "--json")
    imported = _run(app, "import", "flow-logs", str(write_aws(tmp_path / "vpc.log.gz",
                                                              compress=True)),
                    "--mapping", str(mapping), "--json")["imports"][0]
    assert (imported["format"], imported["records"], imported["counted"]) == ("aws-v2", 13, 10)
    assert imported["periods"] == ["2026-10", "2026-11"]

    report = _run(app, "transfer", "2026-10", "--json")
    by_owner: dict[str, Decimal] = {}
    for share in report["shares"]:
        by_owner[share["owner"]] = by_owner.get(share["owner"], Decimal(0)) + Decimal(
            share["amount"])
    assert by_owner == EXPECTED
    charged = sum(Decimal(c["amount"]) for c in report["charges"])
    assert charged == sum(EXPECTED.values()) == Decimal("14.51")
    egress = [(s["owner"], s["amount"], s["bytes"]) for s in report["shares"]
              if s["kind"] == "egress"]
    assert egress == [("api", "0.25", 2000), ("web", "0.76", 6000)]

    # The same file again changes nothing.
    again = _run(app, "import", "flow-logs", str(tmp_path / "vpc.log.gz"),
                 "--mapping", str(mapping), "--json")["imports"][0]
    assert again["already_imported"] is True
    assert _run(app, "transfer", "2026-10", "--json")["shares"] == report["shares"]


def test_text_gzip_parquet_and_azure_nsg_give_the_same_bytes(tmp_path) -> None:
    endpoints = read_mapping(write_mapping(tmp_path / "mapping.csv"))
    text = write_aws(tmp_path / "vpc.log")
    parquet = tmp_path / "vpc.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT version, \"account-id\" AS account_id, \"interface-id\" AS interface_id, "
        f"srcaddr, dstaddr, TRY_CAST(bytes AS BIGINT) AS bytes, "
        f"TRY_CAST(start AS BIGINT) AS start, \"log-status\" AS log_status "
        f"FROM read_csv('{text}', delim=' ', header=true, nullstr='-', all_varchar=true)) "
        f"TO '{parquet}' (FORMAT parquet)"
    )
    con.close()
    results = {
        name: aggregate_flow_logs(path, endpoints)
        for name, path in (("text", text), ("gzip", write_aws(tmp_path / "v.gz", compress=True)),
                           ("parquet", parquet))
    }
    assert {name: r.format for name, r in results.items()} == {
        "text": "aws-v2", "gzip": "aws-v2", "parquet": "aws-parquet"}
    assert results["text"].aggregates == results["gzip"].aggregates == results[
        "parquet"].aggregates

    def by_kind(summary) -> dict[tuple[str, str | None], int]:
        totals: dict[tuple[str, str | None], int] = {}
        for a in summary.aggregates:
            if a.period == "2026-10":
                totals[(a.resource_id, a.kind)] = totals.get((a.resource_id, a.kind), 0) + a.bytes
        return totals

    assert by_kind(results["text"]) == {
        ("i-web1", "inter-zone"): 4000, ("i-web1", "intra-zone"): 500,
        ("i-web1", "egress"): 6000, ("i-web1", None): 700, ("i-api1", "inter-zone"): 1000,
        ("i-api1", "egress"): 2000, ("i-api1", "inter-region"): 3000,
        ("i-db1", "inter-region"): 1000,
    }
    azure = aggregate_flow_logs(write_azure(tmp_path / "nsg.json"), endpoints)
    assert detect_format(tmp_path / "nsg.json") == "azure-nsg"
    # web's egress: 6000 out plus 2500 served back to an internet client (an inbound tuple)
    assert by_kind(azure) == {("i-web1", "inter-zone"): 4000, ("i-web1", "egress"): 8500,
                              ("i-api1", "inter-zone"): 1000, ("i-api1", "inter-region"): 3000}


def test_a_bad_record_names_file_row_and_field(tmp_path) -> None:
    endpoints = read_mapping(write_mapping(tmp_path / "mapping.csv"))
    path = write_aws(tmp_path / "vpc.log")
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(" 4000 ", " 4k ")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        aggregate_flow_logs(path, endpoints)
    assert (caught.value.source, caught.value.row, caught.value.field) == ("vpc.log", 4, "bytes")

    lines[3] = "2 123456789012 eni-web1 10.0.1.10"  # a line cut short
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="has 4 fields, the header names 14") as caught:
        aggregate_flow_logs(path, endpoints)
    assert (caught.value.source, caught.value.row) == ("vpc.log", 4)

    (tmp_path / "bad.csv").write_text("key,resource_id\n10.0.0.1,\n")
    with pytest.raises(InputError) as caught:
        read_mapping(tmp_path / "bad.csv")
    assert (caught.value.row, caught.value.field) == (2, "resource_id")

    (tmp_path / "other.log").write_text("version account-id srcaddr\n2 1 10.0.0.1\n")
    with pytest.raises(InputError, match="interface-id"):
        aggregate_flow_logs(tmp_path / "other.log", endpoints)


def test_explain_shows_a_cost_centres_transfer_shares(app, tmp_path) -> None:
    """Owners are cost centres: web and api from the mapping, the database's from its billing
    tag ``team`` (the mapping leaves it blank)."""
    AllocationCompany(app)
    mapping = tmp_path / "mapping.csv"
    text = write_mapping(tmp_path / "m.csv").read_text()
    mapping.write_text(text.replace(",web\n", ",1010\n").replace(",api\n", ",2010\n")
                       .replace(",data\n", ",\n"))
    bill = _bill(tmp_path / "bill.csv")
    with bill.open("a", encoding="utf-8", newline="") as handle:
        row = focus_row(dt.date(2026, 10, 15), "AmazonEC2", Decimal("20.00"), resource="i-db1",
                        tags={"team": "6010", "CostCenter": "6010"})
        csv.DictWriter(handle, fieldnames=focus_header(), quoting=csv.QUOTE_NONNUMERIC
                       ).writerow({n: row.get(n, "NULL") for n in focus_header()})
    (tmp_path / "it.toml").write_text(rules())
    _run(app, "rules", "import", str(tmp_path / "it.toml"), "--reason", "v1", "--json")
    _run(app, "rules", "activate", "it@1", "--json")
    _run(app, "import", "focus", str(bill), "--json")
    _run(app, "import", "flow-logs", str(write_aws(tmp_path / "vpc.log")), "--mapping",
         str(mapping), "--json")
    run = _run(app, "allocate", "--period", "2026-10", "--json")

    def shares(cost_centre: str) -> list[tuple[str, str, int, int, str]]:
        explained = _run(app, "explain", "--run", str(run["run_id"]), "--cost-centre",
                         cost_centre, "--json")
        return [(s["kind"], s["amount"], s["bytes"], s["charge_bytes"], s["percent"])
                for s in explained["transfer_shares"]]

    assert shares("1010") == [("egress", "0.76", 6000, 8000, "75.00"),
                              ("inter-zone", "8.00", 4000, 5000, "80.00")]
    assert shares("2010") == [("egress", "0.25", 2000, 8000, "25.00"),
                              ("inter-region", "3.00", 3000, 3000, "100.00"),
                              ("inter-zone", "2.00", 1000, 5000, "20.00")]
    assert shares("6010") == [("inter-region", "0.50", 1000, 1000, "100.00")]


def test_only_cost_importers_store_flow_logs_and_each_import_is_audited(ledger, tmp_path) -> None:
    endpoints = read_mapping(write_mapping(tmp_path / "mapping.csv"))
    path = write_aws(tmp_path / "vpc.log")
    sha = sha256_of(path)

    def read():
        return aggregate_flow_logs(path, endpoints)

    with ledger.as_("bob")() as uow, pytest.raises(PermissionDeniedError):
        import_flow_logs(uow=uow, sha256=sha, read=read)
    with ledger.as_("carol")() as uow:
        result = import_flow_logs(uow=uow, sha256=sha, read=read)
        uow.commit()
    with ledger.as_("carol")() as uow:
        [event] = uow.audit.latest(1)
        assert (event.action, event.actor, event.key) == (
            "flow_logs.import", "carol", str(result.import_id))
        assert event.after["bytes"] == result.bytes == 4000 + 500 + 6000 + 700 + 1000 + 2000 \
            + 3000 + 1000 + 900
        assert [i.file for i in uow.flow_logs.imports()] == ["vpc.log"]
