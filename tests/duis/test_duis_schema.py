from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from althan.duis.schema import (
    DuisSchema,
    SchemaInvalid,
    SchemaLoadError,
    SchemaSet,
    find_tool_jar,
)
from althan.duis.xmlsafe import parse_xml

ESME_VARIANT_12_2 = b"<sr:ESMEVariant>AD</sr:ESMEVariant>"


def _templates(templates_dir: Path) -> list[Path]:
    files = sorted(templates_dir.glob("*.XML"))
    assert len(files) == 297
    return files


def test_default_is_5_1_from_the_jar(tool_jar: Path, schema51: DuisSchema) -> None:
    assert DuisSchema.load() is schema51  # located via node_modules, compiled once
    assert schema51.version == "5.1"
    assert schema51.source == str(tool_jar.resolve())
    assert find_tool_jar() == tool_jar.resolve() or find_tool_jar().samefile(tool_jar)


def test_node_modules_from_env(
    node_modules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALTHAN_NODE_MODULES", str(node_modules))
    assert find_tool_jar(tmp_path).samefile(node_modules / "@smartdcc/duis-sign-wrap/dist/tool.jar")
    monkeypatch.setenv("ALTHAN_NODE_MODULES", str(tmp_path))
    with pytest.raises(SchemaLoadError, match="ALTHAN_NODE_MODULES"):
        find_tool_jar()


def test_all_templates_stay_valid_with_the_overlay(
    templates_dir: Path, schema51: DuisSchema, schema54: DuisSchema
) -> None:
    assert schema54.version == "5.4"
    failures = []
    for f in _templates(templates_dir):
        doc = parse_xml(f.read_bytes())
        for schema in (schema51, schema54):
            try:
                schema.validate(doc)
            except SchemaInvalid as exc:
                failures.append(f"{f.name} {schema.version}: {exc}")
    assert failures == []


@pytest.mark.parametrize(
    ("sample", "line"),
    [
        ("duis-sign-wrap/8.2_READ_INVENTORY_REQUEST_DUIS-invalid.XML", 4),
        ("signing-tool/ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-invalid.XML", 4),
        ("signing-tool/readfw-response-invalid.xml", 1),
    ],
)
def test_schema_invalid_samples(
    samples_dir: Path, schema51: DuisSchema, schema54: DuisSchema, sample: str, line: int
) -> None:
    doc = parse_xml((samples_dir / sample).read_bytes())
    for schema in (schema51, schema54):
        with pytest.raises(SchemaInvalid) as info:
            schema.validate(doc)
        assert info.value.line == line
        assert str(info.value).startswith(f"line {line}: Element")


def _with_variant(template: bytes, variant: bytes) -> bytes:
    assert ESME_VARIANT_12_2 in template
    return template.replace(
        ESME_VARIANT_12_2,
        ESME_VARIANT_12_2 + b"<sr:AltHANDeviceVariant>" + variant + b"</sr:AltHANDeviceVariant>",
    )


def test_12_2_alt_han_device_variant(
    templates_dir: Path, schema51: DuisSchema, schema54: DuisSchema
) -> None:
    t = (templates_dir / "12.2_DEVICE_PRE_NOTIFICATION_REQUEST_DUIS.XML").read_bytes()
    base = DuisSchema.load(find_tool_jar(), overlay=False)
    for v in (b"B1", b"B2", b"B3", b"B4"):
        doc = parse_xml(_with_variant(t, v))
        schema51.validate(doc)
        schema54.validate(doc)
        assert not base.is_valid(doc)  # the public schema has no such element
    for bad in (b"B5", b"b3", b"", b"B3 "):
        doc = parse_xml(_with_variant(t, bad))
        with pytest.raises(SchemaInvalid, match="AltHANDeviceVariant"):
            schema51.validate(doc)
        assert not schema54.is_valid(doc)
    # without the element: still valid; in place of ESMEVariant (for a PPMID): valid
    schema51.validate(parse_xml(t))
    ppmid = t.replace(
        b"<sr:DeviceType>ESME</sr:DeviceType>", b"<sr:DeviceType>PPMID</sr:DeviceType>"
    )
    ppmid = ppmid.replace(ESME_VARIANT_12_2, b"<sr:AltHANDeviceVariant>B3</sr:AltHANDeviceVariant>")
    schema51.validate(parse_xml(ppmid))
    schema54.validate(parse_xml(ppmid))
    # before ESMEVariant: not where the overlay puts it
    before = t.replace(
        ESME_VARIANT_12_2,
        b"<sr:AltHANDeviceVariant>B3</sr:AltHANDeviceVariant>" + ESME_VARIANT_12_2,
    )
    assert not schema51.is_valid(parse_xml(before))


def test_8_4_update_device_details(templates_dir: Path, schema51: DuisSchema) -> None:
    t = (templates_dir / "8.4_UPDATE_INVENTORY_REQUEST_DUIS.XML").read_bytes()
    assert b"<sr:DeleteDevice/>" in t  # the template deletes; turn it into a details update
    doc = parse_xml(
        t.replace(
            b"<sr:DeleteDevice/>",
            b"<sr:UpdateDeviceDetails><sr:DeviceModel>0A</sr:DeviceModel>"
            b"<sr:FirmwareVersion>0002012F</sr:FirmwareVersion></sr:UpdateDeviceDetails>",
        )
    )
    schema51.validate(doc)
    details = doc.find(".//{*}UpdateDeviceDetails")
    assert details is not None
    el = etree.SubElement(
        details, details.tag.replace("UpdateDeviceDetails", "AltHANDeviceVariant")
    )
    el.text = "B2"
    schema51.validate(doc)
    esme = etree.Element(details.tag.replace("UpdateDeviceDetails", "ESMEVariant"))
    esme.text = "A"
    el.addprevious(esme)
    schema51.validate(doc)
    el.text = "B9"
    assert not schema51.is_valid(doc)


def test_8_2_inventory_device(samples_dir: Path, schema54: DuisSchema) -> None:
    data = (samples_dir / "signing-tool" / "read-inventory-response-5.4.xml").read_bytes()
    doc = parse_xml(data)
    schema54.validate(doc)
    device = doc.find(".//{*}DSPInventory/{*}Device")
    assert device is not None
    csp = device.find("{*}UPRN")  # AltHANDeviceVariant goes after ESMEVariant, before UPRN
    assert csp is not None
    el = etree.Element(device.tag.replace("Device", "AltHANDeviceVariant"))
    el.text = "B4"
    csp.addprevious(el)
    schema54.validate(doc)
    device.append(etree.Element(el.tag))  # at the end: out of sequence
    assert not schema54.is_valid(doc)


@pytest.mark.parametrize("code", ["E120204", "E080724", "E080823"])
def test_mp170_response_codes(samples_dir: Path, schema51: DuisSchema, code: str) -> None:
    data = (samples_dir / "duis-parser" / "acknowledgement-error.xml").read_bytes()
    doc = parse_xml(data.replace(b">E65<", f">{code}<".encode()))
    schema51.validate(doc)
    base = DuisSchema.load(find_tool_jar(), overlay=False)
    assert base.is_valid(doc) == (code == "E120204")  # only E120204 was public already
    bad = parse_xml(data.replace(b">E65<", b">E080799<"))
    assert not schema51.is_valid(bad)


def test_schema_set_picks_by_version(
    reference_dir: Path, schema51: DuisSchema, schema54: DuisSchema
) -> None:
    s = SchemaSet.load([None, reference_dir / "duis" / "schema" / "5.4"])
    assert s.versions == ("5.1", "5.4")
    assert s.default is schema51
    assert s.for_version("5.4") is schema54
    assert s.for_version("5.4.0") is schema54
    assert s.for_version("5.1") is schema51
    assert s.for_version("5.2") is schema51  # unknown: the default
    assert s.for_version(None) is schema51
    doc = parse_xml(
        b'<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"'
        b' schemaVersion="5.4"/>'
    )
    assert s.for_document(doc) is schema54
    with pytest.raises(SchemaInvalid):
        s.validate(doc)
    with pytest.raises(SchemaLoadError):
        SchemaSet([])
    with pytest.raises(SchemaLoadError):
        SchemaSet([schema51], default="9.9")


def test_load_from_directory_equals_jar(reference_dir: Path, templates_dir: Path) -> None:
    d51 = DuisSchema.load(reference_dir / "duis" / "schema" / "5.1")
    assert d51.version == "5.1"
    d51.validate(parse_xml((templates_dir / "8.2_READ_INVENTORY_REQUEST_DUIS.XML").read_bytes()))


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(SchemaLoadError, match="no 'DUIS Schema"):
        DuisSchema.load(tmp_path)
    with pytest.raises(SchemaLoadError):
        DuisSchema.load(tmp_path / "missing")
    (tmp_path / "DUIS Schema V9.9.xsd").write_bytes(b"<not-a-schema")
    with pytest.raises(SchemaLoadError, match="not well-formed"):
        DuisSchema.load(tmp_path)
