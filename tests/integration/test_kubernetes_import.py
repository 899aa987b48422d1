"""Kubernetes usage readers: OpenCost JSON (a file and a pull from a fake OpenCost on loopback),
Kubecost CSV and the plain usage CSV, with errors naming the file, row and field."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from connectors.kubernetes import (
    fetch_opencost,
    read_kubecost_csv,
    read_opencost,
    read_opencost_file,
    read_usage_csv,
)
from ledger.errors import InputError
from ledger.kubernetes import IDLE

FIXTURES = Path(__file__).parent.parent / "fixtures" / "kubernetes"
D = Decimal


def test_opencost_averages_become_core_hours_and_gib_hours() -> None:
    usage = read_opencost_file(FIXTURES / "opencost_allocation.json")
    by_namespace = {r.namespace: r for r in usage.records}
    payments = by_namespace["payments"]
    # 44,640 minutes = 744 hours; 4 cores requested on average = 2,976 core-hours
    assert (payments.cluster, payments.period) == ("prod-eu", "2026-10")
    assert (payments.cpu_request, payments.cpu_usage) == (D(2976), D(1860))
    assert (payments.ram_request, payments.ram_usage) == (D(5952), D(8928))  # 8 and 12 GiB
    assert payments.labels == (("app", "checkout"), ("team", "payments"))
    idle = by_namespace[IDLE]
    assert (idle.cpu_request, idle.ram_request) == (D(744), D(744))  # 798,863,917,056 byte-hours


class _FakeOpenCost(BaseHTTPRequestHandler):
    body = (FIXTURES / "opencost_allocation.json").read_bytes()
    queries: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path != "/allocation/compute":
            self.send_error(404)
            return
        self.queries.append(parse_qs(url.query))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def opencost() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenCost)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_pull_asks_opencost_for_the_window_accumulated_with_idle(opencost: str) -> None:
    _FakeOpenCost.queries.clear()
    window = "2026-10-01T00:00:00Z,2026-11-01T00:00:00Z"
    pulled = fetch_opencost(opencost, window=window)
    assert _FakeOpenCost.queries == [{"window": [window], "aggregate": ["namespace"],
                                      "accumulate": ["true"], "includeIdle": ["true"]}]
    assert pulled.records == read_opencost_file(FIXTURES / "opencost_allocation.json").records
    assert pulled.source == f"{opencost}/allocation/compute"


def test_a_pull_from_a_wrong_address_says_what_answered(opencost: str) -> None:
    with pytest.raises(InputError, match="HTTP 404"):
        fetch_opencost(opencost + "/nothing/allocation/compute", window="lastmonth")


def test_opencost_errors_name_the_allocation_and_field() -> None:
    document = json.loads((FIXTURES / "opencost_allocation.json").read_text())
    document["data"][0]["payments"]["cpuCoreUsageAverage"] = "lots"
    with pytest.raises(InputError) as caught:
        read_opencost(json.dumps(document), source="pulled.json")
    assert (caught.value.source, caught.value.row, caught.value.field) == (
        "pulled.json", "data[0].payments", "cpuCoreUsageAverage")
    del document["data"][0]["payments"]["properties"]["cluster"]
    with pytest.raises(InputError, match="give --cluster"):
        read_opencost(json.dumps(document), source="pulled.json")


def test_kubecost_csv_reads_cores_and_bytes_and_ignores_its_costs() -> None:
    usage = read_kubecost_csv(FIXTURES / "kubecost_allocation.csv")
    search, idle = usage.records
    assert (search.namespace, search.cpu_request, search.cpu_usage) == ("search", D(1488),
                                                                        D(2232))
    assert (search.ram_request, search.ram_usage) == (D(2976), D(1488))
    assert search.labels == (("app", "api"), ("team", "search"))
    assert (idle.namespace, idle.cpu_request, idle.ram_request) == (IDLE, D(744), D(744))


def test_plain_usage_csv_and_its_errors(tmp_path: Path) -> None:
    usage = read_usage_csv(FIXTURES / "k8s_usage.csv")
    assert [r.namespace for r in usage.records] == ["payments", "search", "kube-system", IDLE]
    bad = tmp_path / "usage.csv"
    text = (FIXTURES / "k8s_usage.csv").read_text().replace("10,30,100", "10,-30,100")
    bad.write_text(text)
    with pytest.raises(InputError) as caught:
        read_usage_csv(bad)
    assert (caught.value.row, caught.value.field) == (3, "cpu_core_hours_used")
