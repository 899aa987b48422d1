"""Kubernetes workload usage: OpenCost allocation JSON (file or pull), Kubecost CSV, plain CSV.

Every reader gives :class:`ledger.kubernetes.UsageRecord` values in CPU-core-hours and
RAM-GiB-hours, and refuses bad input with an :class:`~ledger.errors.InputError` naming the file,
the row (a CSV row number, or the JSON path of an allocation) and the field. Numbers are read as
Decimal (JSON with ``parse_float=Decimal``): no float ever touches a quantity.

- OpenCost ``/allocation/compute`` (``aggregate``, ``window``, ``accumulate``): ``data`` is a
  list of allocation sets (one per step), each a map of name to allocation with ``properties``
  (``cluster``, ``namespace``, ``labels``, ``controller``, ``pod``), ``window.start``,
  ``minutes``, ``cpuCoreRequestAverage``, ``cpuCoreUsageAverage``, ``ramByteRequestAverage``,
  ``ramByteUsageAverage``; the ``__idle__`` allocation gives the idle ``cpuCoreHours`` and
  ``ramByteHours``.
- Kubecost allocation CSV export: one row per allocation with ``Window Start``, ``Minutes``,
  ``Cluster``, ``Namespace``, ``CPU Request Average``, ``CPU Usage Average`` (cores),
  ``RAM Request Average``, ``RAM Usage Average`` (bytes), optional ``Labels`` and cost columns
  (ignored: the cost comes from the bill).
- Plain usage CSV: ``period, cluster, namespace, cpu_core_hours_requested, cpu_core_hours_used,
  ram_gb_hours_requested, ram_gb_hours_used`` and optional ``labels`` (``key=value;key=value``
  or a JSON object), ``controller``, ``pod``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx

from connectors.http import MIB, HttpSettings, ResponseTooLargeError
from connectors.tabular import Row, read_rows
from ledger.cloud_usage import SpotRunRecord
from ledger.errors import InputError
from ledger.kubernetes import IDLE, UsageRecord

GIB = Decimal(1024 ** 3)
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class UsageFile:
    """What one file (or pull) gave: its records, the source's name and the format."""

    source: str
    kind: str
    records: tuple[UsageRecord, ...]


def _number(value: Any, *, source: str, row: int | str, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise InputError("must be a number", source=source, row=row, field=field, value=value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InputError("must be a number", source=source, row=row, field=field,
                         value=value) from None
    if not number.is_finite() or number < 0:
        raise InputError("must be a number of zero or more", source=source, row=row,
                         field=field, value=value)
    return number


def _period(value: Any, *, source: str, row: int | str, field: str) -> str:
    text = str(value or "").strip()
    if _PERIOD.match(text[:7]) and (len(text) == 7 or text[7:8] in ("-", "T", " ")):
        if len(text) > 7:
            try:
                datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise InputError("must be a date or time (ISO 8601)", source=source, row=row,
                                 field=field, value=value) from None
        return text[:7]
    raise InputError("must be a period YYYY-MM or an ISO 8601 date", source=source, row=row,
                     field=field, value=value)


def _labels(value: Any, *, source: str, row: int | str, field: str) -> tuple[tuple[str, str],
                                                                              ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError("is not a JSON object", source=source, row=row, field=field,
                             value=value) from None
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), str(v)) for k, v in value.items()))
    pairs = []
    for part in str(value).split(";"):
        if not part.strip():
            continue
        key, sep, text = part.partition("=")
        if not sep or not key.strip():
            raise InputError("labels are key=value pairs separated by ';'", source=source,
                             row=row, field=field, value=value)
        pairs.append((key.strip(), text.strip()))
    return tuple(sorted(pairs))


# -- OpenCost ------------------------------------------------------------------------------------


def read_opencost(text: str | bytes, *, source: str, cluster: str | None = None) -> UsageFile:
    """An OpenCost ``/allocation/compute`` response. ``cluster`` names the cluster when the
    allocations' properties do not (a single-cluster OpenCost)."""
    try:
        document = json.loads(text, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON: {exc}", source=source) from None
    if not isinstance(document, Mapping) or not isinstance(document.get("data"), list):
        raise InputError("an OpenCost allocation response has a 'data' list of allocation sets",
                         source=source, field="data")
    if document.get("code", 200) != 200:
        raise InputError(f"OpenCost answered code {document.get('code')}: "
                         f"{document.get('message', '')}", source=source, field="code")
    records = []
    for step, allocation_set in enumerate(document["data"]):
        if allocation_set is None:
            continue
        if not isinstance(allocation_set, Mapping):
            raise InputError("must be a map of allocations", source=source,
                             row=f"data[{step}]")
        for name, allocation in allocation_set.items():
            records.append(_opencost_record(allocation, source=source,
                                            row=f"data[{step}].{name}", name=name,
                                            cluster=cluster))
    return UsageFile(source, "opencost", tuple(records))


def _opencost_record(allocation: Any, *, source: str, row: str, name: str,
                     cluster: str | None) -> UsageRecord:
    if not isinstance(allocation, Mapping):
        raise InputError("must be an allocation object", source=source, row=row)
    properties = allocation.get("properties") or {}
    where = properties.get("cluster") or cluster
    if not where:
        raise InputError("names no cluster; give --cluster", source=source, row=row,
                         field="properties.cluster")
    window = allocation.get("window") or {}
    period = _period(allocation.get("start") or window.get("start"), source=source, row=row,
                     field="start")

    def number(field: str) -> Decimal:
        return _number(allocation.get(field, 0), source=source, row=row, field=field)

    if name == IDLE or properties.get("namespace") == IDLE:
        cpu, ram = number("cpuCoreHours"), number("ramByteHours") / GIB
        return UsageRecord(str(where), period, IDLE, cpu, cpu, ram, ram)
    namespace = properties.get("namespace") or name
    hours = number("minutes") / 60
    return UsageRecord(
        str(where), period, str(namespace),
        number("cpuCoreRequestAverage") * hours, number("cpuCoreUsageAverage") * hours,
        number("ramByteRequestAverage") * hours / GIB, number("ramByteUsageAverage") * hours / GIB,
        _labels(properties.get("labels"), source=source, row=row, field="properties.labels"),
        str(properties.get("controller") or ""), str(properties.get("pod") or ""))


def read_opencost_file(path: Path, *, cluster: str | None = None) -> UsageFile:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", source=str(path)
                         ) from None
    return read_opencost(raw, source=str(path), cluster=cluster)


#: The largest OpenCost reply read; a month of pods across many clusters stays well below.
MAX_OPENCOST_REPLY = 64 * MIB


def opencost_http(timeout: float = 30.0, *,
                  max_reply_bytes: int = MAX_OPENCOST_REPLY) -> HttpSettings:
    """How an OpenCost pull connects: one ``timeout`` (seconds) for connecting and for each
    read, a cap on the reply, proxies from the environment honoured (OpenCost is often
    reached through ``kubectl proxy`` or a cluster proxy)."""
    return HttpSettings.named(
        {"connect_timeout": "timeout", "operation_timeout": "timeout",
         "max_response_bytes": "max_reply_bytes"}, source="OpenCost settings",
        connect_timeout=timeout, operation_timeout=timeout,
        max_response_bytes=max_reply_bytes, trust_env=True)


def fetch_opencost(url: str, *, window: str, aggregate: str = "namespace",
                   cluster: str | None = None, timeout: float = 30.0,
                   client: httpx.Client | None = None,
                   http: HttpSettings | None = None) -> UsageFile:
    """Pull ``/allocation/compute`` from an OpenCost at ``url`` (its base, or the full
    endpoint) for ``window`` (``2026-10-01T00:00:00Z,2026-11-01T00:00:00Z``, ``lastmonth`` ...),
    accumulated to one set per window, with the idle allocation.

    ``http`` (default: :func:`opencost_http` of ``timeout``) sets the timeouts, TLS and the
    reply cap; ``client`` replaces the connection it would open (tests)."""
    endpoint = url if url.rstrip("/").endswith("/allocation/compute") else (
        url.rstrip("/") + "/allocation/compute")
    params = {"window": window, "aggregate": aggregate, "accumulate": "true",
              "includeIdle": "true"}
    settings = http or opencost_http(timeout)
    owned = client is None
    connection = client or settings.httpx_client()
    try:
        with connection.stream("GET", endpoint, params=params) as streamed:
            # Read with the cap, kept as a plain (already decoded) reply for what follows.
            response = httpx.Response(streamed.status_code, request=streamed.request,
                                      content=settings.read_capped(streamed))
    except httpx.HTTPError as exc:
        raise InputError(f"cannot reach OpenCost: {exc}", source=endpoint) from None
    except ResponseTooLargeError as exc:
        raise InputError(f"OpenCost's reply is too large: {exc}", source=endpoint) from None
    finally:
        if owned:
            connection.close()
    if response.status_code != 200:
        # Chained to the status error, so that a scheduled pull sees a 429 or 503 as "loaded,
        # ask later" (client.scheduler.busy_reason) rather than as a fault.
        status = httpx.HTTPStatusError(f"HTTP {response.status_code}",
                                       request=response.request, response=response)
        raise InputError(f"OpenCost answered HTTP {response.status_code}", source=endpoint,
                         value=response.text[:200]) from status
    return read_opencost(response.content, source=endpoint, cluster=cluster)


def pulled_sha256(usage: UsageFile) -> str:
    """The identity of a pull: what it returned (the same answer again changes nothing),
    computed as ``apportion import opencost URL`` computes it."""
    return hashlib.sha256(repr(sorted(map(repr, usage.records))).encode()).hexdigest()


def scheduled_window(window: str, at: datetime) -> str:
    """The OpenCost window a scheduled pull at ``at`` asks for.

    ``month_to_date`` (the default of the ``opencost_pull`` job): from the first of the month
    of the day before ``at`` to ``at``'s midnight, so a daily pull stores each month's usage so
    far and, on the 1st, the whole month just ended (usage is kept per cluster and month, a
    newer pull of a month replacing the earlier one: a pull of one day alone would replace the
    month with that day). ``previous_month``: the month before ``at``'s. Anything else is
    OpenCost's own window syntax (``lastmonth``, ``START,END``) and passed as it is."""
    today = datetime(at.year, at.month, at.day, tzinfo=UTC)
    if window == "month_to_date":
        yesterday = today - timedelta(days=1)
        start, end = yesterday.replace(day=1), today
    elif window == "previous_month":
        end = today.replace(day=1)
        start = (end - timedelta(days=1)).replace(day=1)
    else:
        return window
    return f"{start:%Y-%m-%dT%H:%M:%SZ},{end:%Y-%m-%dT%H:%M:%SZ}"


# -- CSV -----------------------------------------------------------------------------------------

KUBECOST_REQUIRED = ("window_start", "minutes", "namespace", "cpu_request_average",
                     "cpu_usage_average", "ram_request_average", "ram_usage_average")
KUBECOST_OPTIONAL = (
    "name", "window_end", "cluster", "controller", "controller_kind", "pod", "container", "node",
    "labels", "cpu_cores", "cpu_core_hours", "cpu_cost", "cpu_efficiency", "ram_bytes",
    "ram_byte_hours", "ram_cost", "ram_efficiency", "gpus", "gpu_cost", "pv_bytes", "pv_cost",
    "network_cost", "load_balancer_cost", "shared_cost", "external_cost", "total_cost",
    "total_efficiency")
USAGE_REQUIRED = ("period", "cluster", "namespace", "cpu_core_hours_requested",
                  "cpu_core_hours_used", "ram_gb_hours_requested", "ram_gb_hours_used")
USAGE_OPTIONAL = ("labels", "controller", "pod")


def _cell(row: Row, name: str, source: str) -> str:
    value = row.get(name)
    if value is None:
        raise InputError("is empty", source=source, row=row.number, field=name)
    return value


def read_kubecost_csv(path: Path, *, cluster: str | None = None) -> UsageFile:
    """A Kubecost allocation CSV export (one row per allocation and window)."""
    source = str(path)
    records = []
    for row in read_rows(path, required=KUBECOST_REQUIRED, optional=KUBECOST_OPTIONAL):
        def number(name: str, row: Row = row) -> Decimal:
            return _number(_cell(row, name, source), source=source, row=row.number, field=name)

        where = row.get("cluster") or cluster
        if not where:
            raise InputError("is empty; give --cluster", source=source, row=row.number,
                             field="cluster")
        period = _period(_cell(row, "window_start", source), source=source, row=row.number,
                         field="window_start")
        namespace = _cell(row, "namespace", source)
        hours = number("minutes") / 60
        if namespace == IDLE or row.get("name") == IDLE:
            cpu, ram = number("cpu_request_average") * hours, number(
                "ram_request_average") * hours / GIB
            records.append(UsageRecord(where, period, IDLE, cpu, cpu, ram, ram))
            continue
        records.append(UsageRecord(
            where, period, namespace, number("cpu_request_average") * hours,
            number("cpu_usage_average") * hours, number("ram_request_average") * hours / GIB,
            number("ram_usage_average") * hours / GIB,
            _labels(row.get("labels"), source=source, row=row.number, field="labels"),
            row.get("controller") or "", row.get("pod") or ""))
    return UsageFile(source, "kubecost", tuple(records))


def read_usage_csv(path: Path) -> UsageFile:
    """A plain usage CSV: CPU-core-hours and RAM-GB-hours requested and used per namespace."""
    source = str(path)
    records = []
    for row in read_rows(path, required=USAGE_REQUIRED, optional=USAGE_OPTIONAL):
        def number(name: str, row: Row = row) -> Decimal:
            return _number(_cell(row, name, source), source=source, row=row.number, field=name)

        records.append(UsageRecord(
            _cell(row, "cluster", source),
            _period(_cell(row, "period", source), source=source, row=row.number, field="period"),
            _cell(row, "namespace", source), number("cpu_core_hours_requested"),
            number("cpu_core_hours_used"), number("ram_gb_hours_requested"),
            number("ram_gb_hours_used"),
            _labels(row.get("labels"), source=source, row=row.number, field="labels"),
            row.get("controller") or "", row.get("pod") or ""))
    return UsageFile(source, "k8s-usage", tuple(records))


def records_of(files: Iterable[UsageFile]) -> Iterator[UsageRecord]:
    for usage in files:
        yield from usage.records


# -- spot and burstable runs ---------------------------------------------------------------------

SPOT_REQUIRED = ("resource_id", "started_at")
SPOT_OPTIONAL = ("workload", "cost_centre", "tag", "ended_at", "interrupted", "cpu_credits")
_TRUE, _FALSE = ("true", "yes", "y", "1", "t"), ("false", "no", "n", "0", "f", "")


@dataclass(frozen=True, slots=True)
class SpotRunsFile:
    source: str
    records: tuple[SpotRunRecord, ...]


def _instant(value: str, *, source: str, row: int, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError("must be a date and time (ISO 8601)", source=source, row=row,
                         field=field, value=value) from None
    if moment.tzinfo is None:
        raise InputError("must give its time zone (e.g. Z or +00:00)", source=source, row=row,
                         field=field, value=value)
    return moment.astimezone(UTC)


def _spot_run(row: Row, source: str) -> SpotRunRecord:
    workload = row.get("workload") or row.get("cost_centre") or row.get("tag")
    if not workload:
        raise InputError("is empty (give workload, cost_centre or tag)", source=source,
                         row=row.number, field="workload")
    started = _instant(_cell(row, "started_at", source), source=source, row=row.number,
                       field="started_at")
    ended_text = row.get("ended_at")
    ended = None if ended_text is None else _instant(ended_text, source=source, row=row.number,
                                                     field="ended_at")
    if ended is not None and ended < started:
        raise InputError("is before started_at", source=source, row=row.number,
                         field="ended_at", value=ended_text)
    flag = (row.get("interrupted") or "").strip().casefold()
    if flag not in _TRUE + _FALSE:
        raise InputError("must be true or false", source=source, row=row.number,
                         field="interrupted", value=row.get("interrupted"))
    credits = _number(row.get("cpu_credits") or "0", source=source, row=row.number,
                      field="cpu_credits")
    return SpotRunRecord(_cell(row, "resource_id", source).strip(), workload.strip(), started,
                         ended, flag in _TRUE, credits)


def read_spot_runs_csv(path: Path) -> SpotRunsFile:
    """A spot-runs CSV: ``resource_id, workload (or cost_centre / tag), started_at, ended_at``
    (empty: still running at the period's end), ``interrupted`` and optional ``cpu_credits``.
    Every row is checked before any is returned: one bad row refuses the file."""
    source = str(path)
    records = [_spot_run(row, source)
               for row in read_rows(path, required=SPOT_REQUIRED, optional=SPOT_OPTIONAL)]
    return SpotRunsFile(source, tuple(records))
