"""``apportion import opencost|kubecost|k8s-usage`` and ``apportion k8s-usage``: one JSON
document each, the same content taken once, a pull from a fake OpenCost on loopback."""

from __future__ import annotations

import json

from click.testing import CliRunner

from client.cli import cli
from tests.integration.test_kubernetes_import import FIXTURES, opencost  # noqa: F401 (fixture)
from tests.services.allocation_support import AllocationCompany


def apportion(app, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["--db", app.url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_imports_print_json_and_take_the_same_content_once(app, opencost) -> None:  # noqa: F811
    AllocationCompany(app)
    usage = str(FIXTURES / "k8s_usage.csv")
    first = apportion(app, "import", "k8s-usage", usage, "--json")
    assert (first["records"], first["unchanged"], first["kind"]) == (4, False, "k8s-usage")
    assert apportion(app, "import", "k8s-usage", usage, "--json")["unchanged"] is True
    kubecost = apportion(app, "import", "kubecost", str(FIXTURES / "kubecost_allocation.csv"),
                         "--json")
    assert kubecost["replaced"] == 4  # the same cluster and month: the newer usage wins
    window = "2026-10-01T00:00:00Z,2026-11-01T00:00:00Z"
    pulled = apportion(app, "import", "opencost", opencost, "--window", window, "--json")
    assert (pulled["records"], pulled["replaced"]) == (3, 2)
    again = apportion(app, "import", "opencost", opencost, "--window", window, "--json")
    assert again["unchanged"] is True
    assert apportion(app, "k8s-usage", "--json") == {
        "usage": [{"cluster": "prod-eu", "period": "2026-10", "records": 3}]}


def test_a_bad_file_names_row_and_field_and_stores_nothing(app, tmp_path) -> None:
    AllocationCompany(app)
    bad = tmp_path / "usage.csv"
    bad.write_text((FIXTURES / "k8s_usage.csv").read_text().replace("2026-10,prod-eu,search",
                                                                     "2026-13,prod-eu,search"))
    result = CliRunner().invoke(cli, ["--db", app.url, "import", "k8s-usage", str(bad)])
    assert result.exit_code != 0  # the CLI's main() prints the error; the group raises it
    assert "row 3, field 'period'" in str(result.exception)
    assert apportion(app, "k8s-usage", "--json") == {"usage": []}
