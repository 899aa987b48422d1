"""A small test topology: three teams' resources in two zones of one region and another region."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

MAPPING = """key,resource_id,zone,region,owner
10.0.1.10,i-web1,eu-west-1a,eu-west-1,web
eni-web1,i-web1,eu-west-1a,eu-west-1,web
10.0.1.11,i-web2,eu-west-1a,eu-west-1,web
10.0.2.20,i-api1,eu-west-1b,eu-west-1,api
eni-api1,i-api1,eu-west-1b,eu-west-1,api
10.1.0.30,i-db1,eu-central-1a,eu-central-1,data
eni-db1,i-db1,eu-central-1a,eu-central-1,data
"""

HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets "
          "bytes start end action log-status")
# 2026-10-15 and a record on 2026-11-02 (another period)
OCT, NOV = 1_792_022_400, 1_793_577_600

#: (interface, src, dst, bytes, start): what each record says.
RECORDS = [
    ("eni-web1", "10.0.1.10", "10.0.2.20", 3000, OCT),  # web -> api: inter-zone
    ("eni-web1", "10.0.1.10", "10.0.2.20", 1000, OCT),
    ("eni-api1", "10.0.1.10", "10.0.2.20", 4000, OCT),  # the same flow logged at api: once only
    ("eni-api1", "10.0.2.20", "10.0.1.10", 1000, OCT),  # api -> web: inter-zone
    ("eni-web1", "10.0.1.10", "10.0.1.11", 500, OCT),  # web -> web2: same zone, free
    ("eni-web1", "10.0.1.10", "8.8.8.8", 6000, OCT),  # web -> internet: egress
    ("eni-api1", "10.0.2.20", "1.1.1.1", 2000, OCT),  # api -> internet: egress
    ("eni-api1", "10.0.2.20", "10.1.0.30", 3000, OCT),  # api -> db: inter-region
    ("eni-db1", "10.1.0.30", "10.0.2.20", 1000, OCT),  # db -> api: inter-region from Frankfurt
    ("eni-web1", "203.0.113.9", "10.0.1.10", 10000, OCT),  # inbound from the internet: free
    ("eni-web1", "10.0.1.10", "10.9.9.9", 700, OCT),  # unmapped private: unknown
    ("eni-web1", "10.0.1.10", "8.8.4.4", 900, NOV),  # November
]


def write_mapping(path: Path) -> Path:
    path.write_text(MAPPING, encoding="utf-8")
    return path


def aws_lines(records=RECORDS) -> list[str]:
    lines = [HEADER]
    for interface, src, dst, size, start in records:
        lines.append(f"2 123456789012 {interface} {src} {dst} 443 49152 6 10 {size} {start} "
                     f"{start + 60} ACCEPT OK")
    lines.append(f"2 123456789012 eni-web1 - - - - - - - {OCT} {OCT + 60} - NODATA")
    return lines


def write_aws(path: Path, *, compress: bool = False) -> Path:
    text = "\n".join(aws_lines()) + "\n"
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_azure(path: Path) -> Path:
    """The same topology as NSG v2 tuples: outbound tuples carry the sender's bytes out,
    inbound tuples the receiver's bytes back."""
    tuples_web = [
        f"{OCT},10.0.1.10,10.0.2.20,49152,443,T,O,A,E,10,4000,8,1000",  # web->api 4000, back 1000
        f"{OCT},10.0.1.10,8.8.8.8,49153,443,T,O,A,E,12,6000,5,300",  # egress 6000 (300 in: free)
        f"{OCT},203.0.113.9,10.0.1.10,5000,443,T,I,A,E,9,10000,7,2500",  # web serves 2500 out
    ]
    tuples_api = [
        f"{OCT},10.0.1.10,10.0.2.20,49152,443,T,I,A,E,10,4000,8,1000",  # same flow at api
        f"{OCT},10.0.2.20,10.1.0.30,49154,5432,T,O,A,C,3,3000,2,1000",  # api->db, db->api
        f"{OCT},10.0.2.20,1.1.1.1,49155,443,U,O,A,B,,,,",  # begin: no bytes yet
    ]

    def record(mac: str, tuples: list[str]) -> dict:
        return {
            "time": "2026-10-15T00:00:00.0000000Z", "systemId": "00000000",
            "macAddress": mac, "category": "NetworkSecurityGroupFlowEvent",
            "resourceId": "/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/"
                          "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG",
            "operationName": "NetworkSecurityGroupFlowEvents",
            "properties": {"Version": 2, "flows": [
                {"rule": "DefaultRule_AllowInternetOutBound",
                 "flows": [{"mac": mac, "flowTuples": tuples}]}]},
        }

    document = {"records": [record("eni-web1", tuples_web), record("eni-api1", tuples_api)]}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
