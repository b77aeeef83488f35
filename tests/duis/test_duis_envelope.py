from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from althan.duis import envelope as env
from althan.duis.envelope import (
    InvalidField,
    InvalidId,
    MissingElement,
    NotARequest,
    RequestId,
    ResponseId,
    parse_request,
)
from althan.duis.namespaces import sr_element
from althan.duis.schema import DuisSchema
from althan.duis.xmlsafe import parse_xml
from althan.model import DCC_EUI, EUI64

WHEN = datetime(2022, 8, 17, 15, 45, 42, 790123, tzinfo=UTC)
USER = EUI64.parse("90-B3-D5-1F-30-01-00-00")
DEVICE = EUI64.parse("88-73-84-57-00-2F-96-1E")


def test_parse_all_templates(templates_dir: Path) -> None:
    seen_bodies = set()
    for f in sorted(templates_dir.glob("*.XML")):
        e = parse_request(f.read_bytes())
        root = parse_xml(f.read_bytes())
        assert str(e.request_id) == root.findtext(".//{*}RequestID")
        assert e.schema_version == "5.4"
        assert e.body.getparent() is not None and e.body_name == etree.QName(e.body).localname
        assert e.service_reference_variant.startswith(e.service_reference)
        seen_bodies.add(e.body_name)
    assert {"UpdatePPMIDFirmware", "DevicePrenotification", "ReadInventory"} <= seen_bodies


def test_parse_key_templates(templates_dir: Path) -> None:
    e = parse_request((templates_dir / "11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML").read_bytes())
    assert (e.service_reference, e.service_reference_variant, e.command_variant) == (
        "11.4",
        "11.4",
        8,
    )
    assert e.request_id.originator == USER
    e = parse_request(
        (templates_dir / "12.2_DEVICE_PRE_NOTIFICATION_REQUEST_DUIS.XML").read_bytes()
    )
    assert e.body_name == "DevicePrenotification"
    assert e.request_id == RequestId(USER, DCC_EUI, 1000)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE::1000",
        "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE",
        "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:-1",
        "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:18446744073709551616",
        "90-B3-D5-1F-30-01-00:00-07-81-D7-00-00-36-CE:1",
        "90B3D51F30010000:0007-81-D7-00-00-36-CE:1",
        "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:01",
        "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:1²",
    ],
)
def test_request_id_errors(text: str) -> None:
    with pytest.raises(InvalidId):
        RequestId.parse(text)


def test_request_id_round_trip() -> None:
    r = RequestId.parse(" 90-b3-d5-1f-30-01-00-00:00-07-81-D7-00-00-36-CE:18446744073709551615 ")
    assert str(r) == "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:18446744073709551615"
    assert isinstance(r.reversed(), ResponseId)
    assert r.reversed().originator == r.target
    assert ResponseId.parse(str(r)) == ResponseId(r.originator, r.target, r.counter)


def _request(header: str, body: str = "<sr:ReadInventory/>", version: str = "5.1") -> bytes:
    return (
        '<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" '
        f'schemaVersion="{version}"><sr:Header>{header}</sr:Header><sr:Body>{body}</sr:Body>'
        "</sr:Request>"
    ).encode()


GOOD = (
    "<sr:RequestID>90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1</sr:RequestID>"
    "<sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>8.2</sr:ServiceReference>"
    "<sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant>"
)


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (
            b"<sr:Response xmlns:sr='http://www.dccinterface.co.uk/ServiceUserGateway'/>",
            NotARequest,
            "Response",
        ),
        (
            _request(GOOD.replace("CommandVariant>8<", "CommandVariant>x<")),
            InvalidField,
            "CommandVariant",
        ),
        (_request(GOOD.replace(":1<", ":1:2<")), InvalidId, "RequestID"),
        (
            _request(GOOD.replace("<sr:ServiceReference>8.2</sr:ServiceReference>", "")),
            MissingElement,
            "ServiceReference",
        ),
        (_request(GOOD, body=""), InvalidField, "0 elements"),
        (_request(GOOD, body="<sr:A/><sr:B/>"), InvalidField, "2 elements"),
        (_request(GOOD, version="five"), InvalidField, "schemaVersion"),
        (_request(GOOD + GOOD), InvalidField, "duplicate"),
    ],
)
def test_parse_request_errors(data: bytes, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        parse_request(data)


def test_parse_request_minimal() -> None:
    e = parse_request(_request(GOOD))
    assert e.body_name == "ReadInventory" and e.first_in_sequence is None


def test_datetime_format() -> None:
    assert env.format_datetime(WHEN) == "2022-08-17T15:45:42.790Z"
    bst = timezone(timedelta(hours=1))
    assert env.format_datetime(WHEN.astimezone(bst)) == "2022-08-17T15:45:42.790Z"
    with pytest.raises(InvalidField, match="timezone"):
        env.format_datetime(datetime(2022, 1, 1))


def _shape(el: etree._Element) -> list[str]:
    return [etree.QName(e).localname for e in el.iter() if isinstance(e.tag, str)]


def test_response_matches_the_reference_shape(
    samples_dir: Path, schema51: DuisSchema, schema54: DuisSchema
) -> None:
    sample = parse_xml((samples_dir / "signing-tool/readfw-response.xml").read_bytes())
    rid = RequestId.parse(sample.findtext(".//{*}RequestID") or "")
    ours = env.build_response(
        rid,
        rid.reversed(),
        "I0",
        datetime(2022, 8, 17, 15, 45, 42, 790000, tzinfo=UTC),
        service_reference="11.2",
        service_reference_variant="11.2",
        body_children=[sr_element("GBCSPayload", sample.findtext(".//{*}GBCSPayload"))],
    )
    sig = sample[-1]
    sample.remove(sig)
    assert _shape(ours) == _shape(sample)
    assert [e.text for e in ours.iter()] == [e.text for e in sample.iter()]
    for s in (schema51, schema54):
        s.validate(ours)


def test_acknowledgement_matches_the_reference_shape(
    samples_dir: Path, schema51: DuisSchema
) -> None:
    sample = parse_xml((samples_dir / "duis-parser/acknowledgement-error.xml").read_bytes())
    rid = RequestId.parse(sample.findtext(".//{*}RequestID") or "")
    ours = env.build_acknowledgement(
        rid, WHEN, service_reference="11.2", service_reference_variant="11.2", response_code="E65"
    )
    assert _shape(ours) == _shape(sample)
    schema51.validate(ours)
    ack = env.build_acknowledgement(
        rid, WHEN, service_reference="11.4", service_reference_variant="11.4"
    )
    assert ack.findtext(".//{*}ResponseCode") == "I99"
    schema51.validate(ack)


def test_inventory_response_with_variant(schema51: DuisSchema, schema54: DuisSchema) -> None:
    rid = RequestId(USER, DCC_EUI, 5)
    device = sr_element(
        "Device",
        None,
        *[
            sr_element("DeviceID", str(DEVICE)),
            sr_element("DeviceType", "PPMID"),
            sr_element("DeviceStatus", "Commissioned"),
            sr_element("DeviceManufacturer", "121D"),
            sr_element("DeviceModel", "0084"),
            sr_element("AltHANDeviceVariant", "B3"),
        ],
    )
    doc = env.build_response(
        rid,
        None,
        "I0",
        WHEN,
        service_reference="8.2",
        service_reference_variant="8.2",
        body_children=[sr_element("DSPInventory", None, *[device])],
    )
    assert doc.find(".//{*}ResponseID") is None  # non-device response
    for s in (schema51, schema54):
        s.validate(doc)


def test_alerts(schema51: DuisSchema, schema54: DuisSchema) -> None:
    n39 = env.build_dcc_alert(
        "N39",
        WHEN,
        sr_element(
            "PPMIDAlert",
            None,
            *[sr_element("DeviceID", str(DEVICE)), sr_element("DeviceAlertCode", "8F8B")],
        ),
        recipient=USER,
        counter=42,
    )
    assert n39.findtext(".//{*}ResponseID") == f"{DCC_EUI}:{USER}:42"
    assert n39.find(".//{*}RequestID") is None
    assert _shape(n39)[-5:] == [
        "DCCAlertCode",
        "DCCAlert",
        "PPMIDAlert",
        "DeviceID",
        "DeviceAlertCode",
    ]
    dev = env.build_device_alert(
        "8f8b", WHEN, b"\xdd\x01", device=DEVICE, recipient=USER, counter=3
    )
    assert dev.findtext(".//{*}AlertCode") == "8F8B"
    assert dev.findtext(".//{*}GBCSPayload") == "3QE="
    assert dev.findtext(".//{*}ResponseID") == f"{DEVICE}:{USER}:3"
    for s in (schema51, schema54):
        n39.set("schemaVersion", s.version)
        dev.set("schemaVersion", s.version)
        s.validate(n39)
        s.validate(dev)
    with pytest.raises(InvalidField):
        env.build_dcc_alert("X1", WHEN, sr_element("PPMIDAlert"), recipient=USER, counter=1)
    with pytest.raises(InvalidField):
        env.build_device_alert("8F8", WHEN, b"x", device=DEVICE, recipient=USER, counter=1)
    with pytest.raises(InvalidField):
        env.build_response(
            None, None, "OK", WHEN, service_reference="8.2", service_reference_variant="8.2"
        )
