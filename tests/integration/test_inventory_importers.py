"""Discovery files import with the right devices and identifiers; broken and hostile files are
refused with errors naming the file, the row (or element) and the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.inventory.aws_config import read_aws_config, read_aws_config_document
from connectors.inventory.glpi import read_glpi, read_glpi_folder
from connectors.inventory.intune import read_intune
from connectors.inventory.jamf import read_jamf_page
from connectors.inventory.sccm import iter_sccm_csv, read_sccm_csv
from connectors.inventory.snipeit import read_snipeit_assets
from ledger.discovery import Software, uuid_key
from ledger.errors import InputError, InputErrors
from tests.conftest import LOCAL_FIXTURES, shared_fixture

INVENTORY = LOCAL_FIXTURES / "inventory"
GENERATED = INVENTORY / "generated"


def errors_of(raised: pytest.ExceptionInfo[BaseException]) -> list[InputError]:
    error = raised.value
    return list(error.errors) if isinstance(error, InputErrors) else [error]  # type: ignore[list-item]


def refused(read, path: Path, content: bytes) -> InputError:
    """The first error ``read`` raises for a file holding ``content``."""
    path.write_bytes(content)
    with pytest.raises((InputError, InputErrors)) as raised:
        read(path)
    return errors_of(raised)[0]


# --- GLPI / FusionInventory / OCS -----------------------------------------------------------

@pytest.mark.parametrize(("name", "hostname", "serial", "macs", "software", "owner"), [
    ("1.xml", "LF014", "9E113232I", 3, 42, "johan"),
    ("2.xml", "pc-arg-23", "CZC0479792", 4, 8, "CEDRE\\cvigneron"),
    ("3.xml", "MacBook-de-teclib", "W87051UGVUV", 3, 40, "teclib"),
    ("4.xml", "iMac de Marie", "C02NG5A5FY11", 2, 7, "mariem"),
])
def test_every_agent_xml_inventory_gives_its_computer(
        name: str, hostname: str, serial: str, macs: int, software: int, owner: str) -> None:
    [staged] = read_glpi(INVENTORY / "glpi_agent_xml" / name)
    device = staged.value
    assert (device.source, device.hostname, device.serial, device.owner) == (
        "glpi", hostname, serial, owner)
    assert len(device.macs) == macs
    assert len(device.software) == software
    assert device.hardware_uuid and device.seen_at is not None
    assert staged.source.endswith(name)


def test_the_agent_report_carries_software_with_publisher_and_version() -> None:
    [staged] = read_glpi(INVENTORY / "glpi_agent_xml" / "2.xml")
    assert Software("Piriform", "CCleaner", "5.09") in staged.value.software
    assert staged.value.fqdn == "pc-arg-23.cedre.local"
    assert staged.value.seen_at == datetime(2017, 5, 15, 18, 38, 7, tzinfo=UTC)


def test_virtual_interfaces_are_not_the_machines_macs() -> None:
    [staged] = read_glpi(INVENTORY / "glpi_agent_xml" / "1.xml")
    # lo, virbr0 and virbr0-nic are virtual; the two wired and the wireless remain
    assert staged.value.macs == ("b8:6b:23:e0:5c:91", "b8:6b:23:e0:5c:81", "ae:ed:e7:56:9d:a0")


def test_an_snmp_report_gives_the_network_switch() -> None:
    [staged] = read_glpi(INVENTORY / "glpi_agent_xml" / "6.xml")
    assert staged.value.serial == "SSI1912014B"
    assert staged.value.model == "UCS 6248UP 48-Port"
    assert staged.value.macs == ("8c:60:4f:8d:ae:fc",)
    assert staged.value.location == "paris.pa3"


@pytest.mark.parametrize(("name", "hostname", "serial", "software", "partial"), [
    ("computer_1.json", "glpixps", "640HP72", 6, False),
    ("computer_1_partial_softs.json", "glpixps", "640HP72", 6, True),
    ("computer_2.json", "COMP1", "2FAGP34", 0, False),
    ("computer_2_partial_vms.json", "COMP1", "2FAGP34", 0, True),
    ("computer_3.json", "LF014", "8C554721F", 3033, False),
    ("networkequipment_3.json", "HP-2530-48G", "CN5BFP62CP", 0, False),
    ("printer_1.json", "NPIF2BE10", "PHCVN191TG", 0, False),
])
def test_every_glpi_json_inventory_gives_its_device(
        name: str, hostname: str, serial: str, software: int, partial: bool) -> None:
    [staged] = read_glpi(INVENTORY / "glpi_json" / name)
    assert (staged.value.hostname, staged.value.serial) == (hostname, serial)
    assert len(staged.value.software) == software
    assert staged.value.partial is partial


def test_glpis_own_sample_uuid_with_a_g_in_it_is_kept_but_never_matches() -> None:
    [staged] = read_glpi(INVENTORY / "glpi_json" / "computer_2.json")
    assert staged.value.hardware_uuid == "4BDRGGFE-0046-4710-8047-B2C04F503732"
    assert uuid_key(staged.value.hardware_uuid) is None
    assert staged.value.asset_tag == "COMP1"


def test_a_folder_of_agent_reports_imports_together_or_not_at_all(tmp_path: Path) -> None:
    staged = read_glpi_folder(INVENTORY / "glpi_agent_xml")
    assert len(staged) == 5
    for name in ("1.xml", "2.xml"):
        (tmp_path / name).write_bytes((INVENTORY / "glpi_agent_xml" / name).read_bytes())
    (tmp_path / "copy-of-1.xml").write_bytes((INVENTORY / "glpi_agent_xml" / "1.xml").read_bytes())
    (tmp_path / "broken.json").write_text('{"deviceid": "x"}')
    with pytest.raises(InputErrors) as raised:
        read_glpi_folder(tmp_path)
    found = {(Path(e.source).name, e.field) for e in errors_of(raised)}
    assert found == {("broken.json", "content"), ("copy-of-1.xml", "DEVICEID")}


# --- Snipe-IT --------------------------------------------------------------------------------

def test_the_snipeit_assets_sample_imports_every_asset() -> None:
    staged = read_snipeit_assets(shared_fixture("inventory", "snipeit", "assets-sample.csv"))
    assert len(staged) == 22
    first = staged[0]
    assert (first.row, first.value.asset_tag, first.value.model) == (
        2, "ICC-2065556", 'Macbook Pro 13"')
    assert staged[1].value.owner == "gmccrackem2a"


@pytest.mark.parametrize("name", ["assets-sample-BAD.csv", "assets-sample-BLANKS.csv"])
def test_the_broken_snipeit_samples_fail_whole_with_row_level_errors(name: str) -> None:
    path = shared_fixture("inventory", "snipeit", name)
    with pytest.raises(InputErrors) as raised:
        read_snipeit_assets(path)
    errors = errors_of(raised)
    assert all(e.source == str(path) for e in errors)
    header = [e for e in errors if e.row == 1]
    assert header, "the header's blank or repeated columns are named"
    # Mac Roman bytes: counted on CR-only lines, as a spreadsheet shows them, in column Location
    assert any(e.row == 12 and e.field == "Location" and "not UTF-8" in e.message
               for e in errors)


def test_the_bad_snipeit_sample_names_both_repeated_columns() -> None:
    with pytest.raises(InputErrors) as raised:
        read_snipeit_assets(shared_fixture("inventory", "snipeit", "assets-sample-BAD.csv"))
    assert {e.field for e in errors_of(raised) if e.row == 1} == {"Category", "Company"}


def test_a_snipeit_row_without_tag_or_with_a_repeated_tag_fails_the_file(tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text("Asset Tag,Serial,Purchase Cost,Purchase Date\n"
                    "A-1,S1,100.00,1/23/23\n"
                    ",S2,100.00,1/23/23\n"
                    "a-1,S3,abc,1/23/23\n"
                    "A-4,S4,5,not a date\n")
    with pytest.raises(InputErrors) as raised:
        read_snipeit_assets(path)
    found = {(e.row, e.field) for e in errors_of(raised)}
    assert found == {(3, "Asset Tag"), (4, "Purchase Cost"), (5, "Purchase Date")}
    path.write_text("Asset Tag,Serial\nA-1,S1\na-1,S3\n")
    with pytest.raises(InputErrors) as raised:
        read_snipeit_assets(path)
    assert [(e.row, e.field) for e in errors_of(raised)] == [(3, "Asset Tag")]


# --- SCCM, Intune, Jamf pages, AWS Config ---------------------------------------------------

def test_the_sccm_report_gives_each_machine_with_the_real_serial() -> None:
    staged = read_sccm_csv(GENERATED / "sccm_hardware.csv")
    assert [s.value.hostname for s in staged] == ["LF014", "PC-ARG-23", "WS-0042", "VM-SQL-01"]
    by_name = {s.value.hostname: s.value for s in staged}
    # the enclosure says "To be filled by O.E.M."; the product's IdentifyingNumber is real
    assert by_name["WS-0042"].serial == "SGH123ABCD"
    assert by_name["PC-ARG-23"].seen_at == datetime(2026, 11, 2, 7, 40, 11, tzinfo=UTC)
    assert by_name["LF014"].owner == "AD\\johan"
    assert by_name["VM-SQL-01"].seen_at is None


def test_the_sccm_report_streams_with_progress() -> None:
    seen: list[int] = []
    staged = list(iter_sccm_csv(GENERATED / "sccm_hardware.csv", progress=seen.append, every=2))
    assert len(staged) == 4
    assert seen == [2, 4, 4]


def test_an_sccm_machine_listed_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sccm.csv"
    path.write_text("Name0,SerialNumber0,LastHWScan\nPC1,S1,2026-01-01 00:00:00\n"
                    "PC2,S2,yesterday\npc1,S3,\n")
    with pytest.raises(InputErrors) as raised:
        read_sccm_csv(path)
    assert [(e.row, e.field) for e in errors_of(raised)] == [(3, "LastHWScan"), (4, "Name0")]
    with pytest.raises(InputError) as first:
        list(iter_sccm_csv(path))
    assert (first.value.row, first.value.field) == (3, "LastHWScan")


@pytest.mark.parametrize("name", ["intune_managed_devices.json", "intune_managed_devices.csv"])
def test_intune_devices_import_from_graph_json_or_csv(name: str) -> None:
    staged = read_intune(GENERATED / name)
    assert len(staged) == 2
    laptop = staged[0].value
    assert (laptop.hostname, laptop.serial, laptop.owner) == (
        "LF014", "9e113232i", "johan@ad.example.com")
    assert laptop.macs == ("b8:6b:23:e0:5c:91", "ae:ed:e7:56:9d:a0")


def test_graphs_never_synced_date_is_no_sighting() -> None:
    staged = read_intune(GENERATED / "intune_managed_devices.json")
    assert staged[1].value.seen_at is None
    assert staged[1].value.macs == ()  # 000000000000 is no address


def test_a_jamf_page_gives_its_computers() -> None:
    staged = read_jamf_page(GENERATED / "jamf_computers_inventory_page.json")
    imac = staged[0].value
    assert (imac.record_id, imac.serial, imac.asset_tag, imac.owner, imac.cost_centre) == (
        "1", "C02NG5A5FY11", "304822", "mariem", "4100")
    assert imac.seen_at == datetime(2026, 11, 26, 9, 30, tzinfo=UTC)  # the later of the two
    assert Software(None, "Microsoft Word", "16.78") in imac.software
    assert staged[1].value.macs == ("6a:2c:4b:b7:65:b5",)  # altMacAddress "N/A" is dropped


def test_the_jamf_schemas_own_example_computer_reads() -> None:
    import json

    schema = json.loads(shared_fixture("inventory", "jamf", "jamf_pro_api_openapi.json")
                        .read_text())
    parts = schema["components"]["schemas"]

    def example(name: str) -> dict[str, object]:
        return {key: spec["example"] for key, spec in parts[name]["properties"].items()
                if "example" in spec}

    page = {"totalCount": 1, "results": [{
        "id": "1", "udid": "123", "general": example("ComputerGeneral"),
        "hardware": example("ComputerHardware"),
        "userAndLocation": example("ComputerUserAndLocation"),
        "operatingSystem": example("ComputerOperatingSystem"),
        "applications": [example("ComputerApplication")]}]}
    from connectors.inventory.jamf import computers_of_page

    [staged] = computers_of_page(page, source="schema example")
    assert staged.value.serial == "C02ZC2QYLVDL"
    assert staged.value.asset_tag == "304822"
    assert staged.value.macs == ("6a:2c:4b:b7:65:b5", "82:45:58:44:dc:01")


def test_an_aws_config_change_notification_gives_the_resource() -> None:
    [staged] = read_aws_config(INVENTORY / "aws_config" /
                               "aws_config_ConfigurationItemChangeNotification_ec2_volume.json")
    volume = staged.value
    assert (volume.cloud_resource_id, volume.model, volume.location) == (
        "vol-004bcxxxxxxx", "AWS::EC2::Volume", "us-east-1c")
    assert volume.record_id == "arn:aws:ec2:us-east-1:123456789012:volume/vol-004bcxxxxxxx"
    assert volume.seen_at == datetime(2018, 12, 16, 12, 44, 50, 26000, tzinfo=UTC)


def test_an_aws_config_snapshot_gives_instances_and_marks_deleted_ones(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_text("""{"fileVersion": "1.0", "configSnapshotId": "x", "configurationItems": [
      {"resourceType": "AWS::EC2::Instance", "resourceId": "i-0abc",
       "ARN": "arn:aws:ec2:eu-west-1:1:instance/i-0abc", "awsRegion": "eu-west-1",
       "configurationItemCaptureTime": "2026-11-26T10:00:00.000Z",
       "configurationItemStatus": "OK", "tags": {"Name": "web-1", "CostCenter": "6010",
       "Owner": "ops@example.com"},
       "configuration": {"instanceType": "m5.large", "privateDnsName":
         "ip-10-0-0-5.eu-west-1.compute.internal", "platformDetails": "Linux/UNIX",
         "networkInterfaces": [{"macAddress": "0a:1b:2c:3d:4e:5f"}]}},
      {"resourceType": "AWS::EC2::Instance", "resourceId": "i-0dead",
       "configurationItemCaptureTime": "2026-11-26T11:00:00.000Z",
       "configurationItemStatus": "ResourceDeleted"}]}""")
    read = read_aws_config_document(path)
    instance, gone = read.devices
    assert instance.value.gone_at is None
    assert (gone.value.cloud_resource_id, gone.value.seen_at, gone.value.gone_at) == (
        "i-0dead", None, datetime(2026, 11, 26, 11, 0, tzinfo=UTC))
    assert (instance.value.model, instance.value.cost_centre, instance.value.owner) == (
        "m5.large", "6010", "ops@example.com")
    assert instance.value.macs == ("0a:1b:2c:3d:4e:5f",)
    assert read.deleted == ("AWS::EC2::Instance/i-0dead",)


# --- hostile and broken files ---------------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<REQUEST><DEVICEID>&lol2;</DEVICEID><QUERY>INVENTORY</QUERY><CONTENT/></REQUEST>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<REQUEST><DEVICEID>&x;</DEVICEID><QUERY>INVENTORY</QUERY><CONTENT/></REQUEST>"""


@pytest.mark.parametrize(("content", "row", "field", "message"), [
    (BOMB, 2, None, "DOCTYPE"),
    (XXE, 2, None, "DOCTYPE"),
    (b"<REQUEST><DEVICEID>a</DEVICEID>\n<CONTENT>\n<HARDWARE></CONTENT></REQUEST>", 3, None,
     "not well-formed"),
    (b"<REQUEST>\n<DEVICEID>a\x00</DEVICEID></REQUEST>", 2, None, "NUL byte"),
    (b"<?xml version='1.0' encoding='UTF-8'?>\n<REQUEST><DEVICEID>\xe9</DEVICEID></REQUEST>",
     2, None, "not well-formed"),
    (b"\xff\xfe<\x00R\x00", 1, None, "UTF-16"),
    (b"<REQUEST><QUERY>INVENTORY</QUERY><CONTENT><HARDWARE/></CONTENT></REQUEST>",
     "/REQUEST (line 1)", "DEVICEID", "no DEVICEID"),
    (b"<REQUEST><DEVICEID>a</DEVICEID><QUERY>INVENTORY</QUERY><CONTENT>\n<SOFTWARES>"
     b"<VERSION>1</VERSION></SOFTWARES></CONTENT></REQUEST>",
     "/REQUEST/CONTENT/SOFTWARES (line 2)", "NAME", "no name"),
    (b"<REQUEST><DEVICEID>a</DEVICEID><QUERY>PROLOG</QUERY><CONTENT/></REQUEST>",
     "/REQUEST/QUERY (line 1)", "QUERY", "not an inventory"),
    (b"<REQUEST><DEVICEID>a</DEVICEID><CONTENT><ACCESSLOG><LOGDATE>soon</LOGDATE></ACCESSLOG>"
     b"</CONTENT></REQUEST>", "/REQUEST/CONTENT/ACCESSLOG/LOGDATE (line 1)",
     "ACCESSLOG/LOGDATE", "not a date"),
])
def test_a_hostile_or_broken_agent_xml_is_refused_naming_where(
        tmp_path: Path, content: bytes, row: object, field: str | None, message: str) -> None:
    error = refused(read_glpi, tmp_path / "agent.xml", content)
    assert (error.source, error.row, error.field) == (str(tmp_path / "agent.xml"), row, field)
    assert message in error.message


@pytest.mark.parametrize(("content", "row", "field", "message"), [
    (b'{"deviceid": "a", "deviceid": "b", "content": {}}', None, "deviceid", "twice"),
    (b'{"deviceid": "a", "content": {"hardware": {"memory": NaN}}}', None, None, "NaN"),
    (b'{"deviceid": "a",\n "content": {"hardware": ', 2, None, "not valid JSON"),
    (b'{"content": {}}', "$", "deviceid", "required"),
    (b'{"deviceid": "a", "content": {"hardware": {"name": ["x"]}}}', "$.content.hardware",
     "name", "expected text"),
    (b'{"deviceid": "a", "content": {"softwares": [{"version": "1"}]}}',
     "$.content.softwares[0]", "name", "required"),
    (b'{"deviceid": "a", "content": {"accesslog": {"logdate": "31/31/2020"}}}',
     "$.content.accesslog", "logdate", "not a date"),
    (b'{"deviceid": "\xe9"}', 1, None, "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, None, None, "nested too deeply"),
])
def test_a_hostile_or_broken_glpi_json_is_refused_naming_where(
        tmp_path: Path, content: bytes, row: object, field: str | None, message: str) -> None:
    error = refused(read_glpi, tmp_path / "inventory.json", content)
    assert (error.row, error.field) == (row, field)
    assert message in error.message


@pytest.mark.parametrize(("content", "row", "field", "message"), [
    (b"Name0,SerialNumber0\nPC1,S\x001\n", 2, "SerialNumber0", "NUL byte"),
    (b"Name0,SerialNumber0\nPC1,S1,extra\n", 2, None, "3 cells"),
    (b"Name0,Name0\nPC1,PC2\n", 1, "Name0", "twice"),
    (b"Name0,Serial\nPC1,S1\n", 1, "Serial", "unknown column"),
    (b"SerialNumber0\nS1\n", 1, "name0", "required column"),
    (b"Name0,UserName0\r\nPC1,CORP\\\xe9ric\r\n", 2, "UserName0", "not UTF-8"),
    (b"\xff\xfeN\x00a\x00", 1, None, "UTF-16"),
    (b"Name0\n\"PC1\n", 2, None, "not valid CSV"),
])
def test_a_hostile_or_broken_sccm_csv_is_refused_naming_where(
        tmp_path: Path, content: bytes, row: int, field: str | None, message: str) -> None:
    error = refused(read_sccm_csv, tmp_path / "sccm.csv", content)
    assert (error.source, error.row, error.field) == (str(tmp_path / "sccm.csv"), row, field)
    assert message in error.message


def test_a_bad_device_in_a_jamf_page_fails_the_page(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_text('{"totalCount": 2, "results": [{"id": "1"}, {"general": {"name": "x"}}]}')
    with pytest.raises(InputErrors) as raised:
        read_jamf_page(path)
    assert [(e.row, e.field) for e in errors_of(raised)] == [("$.results[1]", "id")]


def test_a_computer_on_two_saved_jamf_pages_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pages.json"
    path.write_text('[{"totalCount": 2, "results": [{"id": "1"}]}, '
                    '{"totalCount": 2, "results": [{"id": "1"}]}]')
    with pytest.raises(InputErrors) as raised:
        read_jamf_page(path)
    assert [(e.row, e.field, e.value) for e in errors_of(raised)] == [(2, "id", "1")]


def test_an_intune_device_without_id_fails_the_file(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    path.write_text('{"value": [{"id": "a"}, {"deviceName": "b"}, '
                    '{"id": "c", "lastSyncDateTime": "sometime"}]}')
    with pytest.raises(InputErrors) as raised:
        read_intune(path)
    assert [(e.row, e.field) for e in errors_of(raised)] == [
        ("$.value[1]", "id"), ("$.value[2]", "lastSyncDateTime")]


def test_a_json_document_that_is_not_aws_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"Records": []}')
    with pytest.raises(InputError) as raised:
        read_aws_config(path)
    assert (raised.value.row, raised.value.field) == ("$", "configurationItems")
