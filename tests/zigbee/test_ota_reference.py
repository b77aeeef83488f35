"""althan.zigbee.ota against the real OTA files and DUIS template images, and zigpy 2.4."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import struct
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from zigpy.ota.image import OTAImage as ZOTAImage
from zigpy.ota.image import OTAImageHeader as ZHeader
from zigpy.ota.image import parse_ota_image

from althan.zigbee.ota import (
    HEADER_FIELDS,
    OtaHeader,
    OtaImage,
    SubElement,
    aes_mmo_hash,
    build_ota,
    integrity_code_valid,
    parse_ota,
    verify_gbcs_signature,
)
from althan.zigbee.testimage import build_test_image

# From shared/reference/zigbee-ota/MANIFEST.md (independent of zigpy and of our parser).
MANIFEST: dict[str, tuple[int, int, int, str, list[tuple[int, int]], int, int]] = {
    # name: (mfr, type, version, header string, [(tag, length)], wrapper_offset, trailing)
    "128b-0102-10101-700_nodon_sin_2_fm_stm32_V10101.zigbee": (
        0x128B, 0x0102, 0x00010101, "nodon_sin_stm32_ota", [(0x0000, 27100)], 0, 0),
    "20230510105212_OTA_aqara.toilet.acn002_0.0.0_1233_20230505_35594D.ota": (
        0x115F, 0x1309, 0x00000C21, "empower mcu", [(0xF001, 86660)], 0, 0),
    "10F2-7B2A-0000-0005-02000230-m7b-r0.ota.zigbee": (
        0x10F2, 0x7B2A, 0x02000230, "ubisys R0 2.0.0#e976528",
        [(0xF7BD, 160), (0x0000, 112896), (0x0003, 16)], 0, 0),
    "ZLL_Plug01_OnOff_MK_0x01020509.ota": (
        0x110C, 0x0027, 0x01020509, "NULL",
        [(0x0000, 120572), (0xFF01, 516), (0xFF3E, 504), (0xFF46, 8)], 0, 0),
    "SWD2_0x11191514_PROD.fw": (
        0x1209, 0x3007, 0x11191514, "RBSH-SWD-ZB", [(0x0000, 158839), (0x0003, 16)], 0, 0),
    "ZR_Smartplug_SSIG_3.12.16.zigbee": (
        0x1015, 0x02E0, 0x00030C10, "",
        [(0xF000, 18), (0x0000, 181032), (0xF001, 18), (0x0003, 16)], 0, 0),
    "tradfri-signal-repeater_release_prod_v587753009_3ce8f096-bd12-4b2c-b66e-51dc9f2637dc.ota": (
        0x117C, 0x1102, 0x23086631, "GBL GBL_tradfri_zigbee_repeater",
        [(0x0000, 185744), (0xFFBF, 64), (0xFFBE, 11170)], 0, 0),
    "152F_SBDV-00202_socket_r_6_7a7d7c21_06000000.ota.zigbee": (
        0x152F, 0x0202, 0x06000000, "", [(0x0000, 235348), (0xFF01, 18), (0x0005, 80)], 0, 4),
    "1021-000f-004745ff-NLL.zigbee": (
        0x1021, 0x000F, 0x004745FF, " " * 32, [(0x0000, 255081)], 4, 17),
    "Range_Extender_Zi_V1.0.3.ota": (
        0x1310, 0x0000, 0x00000011, "EBL Z3RangeExtender", [(0x0000, 297244)], 0, 0),
}  # fmt: skip

TEMPLATES = {
    "11.1": "11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML",
    "11.4": "11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML",
}  # fmt: skip


def ota_file(reference_dir: Path, name: str) -> bytes:
    return (reference_dir / "zigbee-ota" / name).read_bytes()


def template_image(reference_dir: Path, key: str) -> bytes:
    text = (reference_dir / "duis" / "templates" / TEMPLATES[key]).read_text()
    m = re.search(r"<(?:\w+:)?FirmwareImage>([^<]+)</", text)
    assert m, "FirmwareImage not found"
    return base64.b64decode(m.group(1))


def assert_header_equals_zigpy(ours: OtaHeader, z: ZHeader) -> None:
    assert ours.manufacturer_code == z.manufacturer_id
    assert ours.image_type == z.image_type
    assert ours.file_version == z.file_version
    assert ours.stack_version == z.stack_version
    assert ours.header_version == z.header_version
    assert ours.header_length == z.header_length
    assert ours.header_field_control == int(z.field_control)
    assert ours.total_image_size == z.image_size
    assert ours.header_string_bytes.ljust(32, b"\x00") == bytes(z.header_string)
    assert ours.security_credential_version == z.security_credential_version
    zdest = z.upgrade_file_destination
    if zdest is None:
        assert ours.upgrade_file_destination is None
    else:
        assert ours.upgrade_file_destination is not None
        assert str(ours.upgrade_file_destination).replace("-", ":").lower() == str(zdest)
    for mine, theirs in (
        (ours.minimum_hardware_version, z.minimum_hardware_version),
        (ours.maximum_hardware_version, z.maximum_hardware_version),
    ):
        assert mine == (None if theirs is None else int(theirs))


def test_manifest_lists_every_file(reference_dir: Path) -> None:
    present = {p.name for p in (reference_dir / "zigbee-ota").iterdir() if p.suffix != ".md"}
    assert present == set(MANIFEST)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_reference_file_matches_manifest_and_zigpy(reference_dir: Path, name: str) -> None:
    data = ota_file(reference_dir, name)
    img = parse_ota(data)
    mfr, itype, version, hstr, elements, wrap, trailing = MANIFEST[name]
    h = img.header
    assert (h.manufacturer_code, h.image_type, h.file_version) == (mfr, itype, version)
    assert h.header_string == hstr
    assert h.stack_version == 0x0002 and h.header_version == 0x0100
    assert [(s.tag, s.length) for s in img.sub_elements] == elements
    assert img.form == "zigbee"
    assert img.wrapper_offset == wrap
    assert len(img.trailing) == trailing
    assert img.sha256 == hashlib.sha256(data).hexdigest()
    up = img.element(0x0000)
    assert img.manufacturer_image == (up.value if up else b"")
    assert img.image_hash == hashlib.sha256(img.manufacturer_image).hexdigest()

    zimg, rest = parse_ota_image(data)
    assert isinstance(zimg, ZOTAImage)
    assert_header_equals_zigpy(h, zimg.header)
    assert [(s.tag, s.value) for s in img.sub_elements] == [
        (int(z.tag_id), bytes(z.data)) for z in zimg.subelements
    ]
    # zigpy drops the Legrand suffix; elsewhere its "rest" is our trailing
    assert img.trailing == (data[-17:] if wrap else bytes(rest))


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_reference_file_round_trips(reference_dir: Path, name: str) -> None:
    data = ota_file(reference_dir, name)
    img = parse_ota(data)
    rebuilt = build_ota(img)
    start = img.wrapper_offset
    assert rebuilt == data[start : start + img.header.total_image_size]
    if not img.wrapper_offset and not img.trailing:
        assert rebuilt == data
    again = parse_ota(rebuilt)
    assert again == dataclasses.replace(
        img,
        wrapper_offset=0,
        wrapper=None,
        trailing=b"",
        sha256=hashlib.sha256(rebuilt).hexdigest(),
    )
    assert build_ota(again) == rebuilt


def test_sdevices_suite2_signature_element(reference_dir: Path) -> None:
    data = ota_file(reference_dir, "152F_SBDV-00202_socket_r_6_7a7d7c21_06000000.ota.zigbee")
    img = parse_ota(data)
    sig = img.element(0x0005)
    assert sig is not None and sig.name == "ECDSA Signature (suite 2)"
    assert sig.value[:8][::-1].hex() == "000d6f0000198b36"  # signer EUI64, per MANIFEST
    # the file has 4 bytes after total_image_size (MANIFEST); zigpy returns them as `rest`
    _, rest = ZOTAImage.deserialize(data)
    assert img.trailing == rest == bytes.fromhex("5490bcff")


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_template_image_header_matches_zigpy(reference_dir: Path, key: str) -> None:
    data = template_image(reference_dir, key)
    img = parse_ota(data)
    zhdr, _ = ZHeader.deserialize(data)
    assert_header_equals_zigpy(img.header, zhdr)
    assert img.header.manufacturer_code == 0x121D
    assert img.header.image_type == {"11.1": 0x0000, "11.4": 0x0084}[key]
    assert (
        img.header.header_string
        == {
            "11.1": "I am a GFI ESME[] firmware image",
            "11.4": "I am a GFI PPMID firmware image ",
        }[key]
    )
    assert (img.header.minimum_hardware_version, img.header.maximum_hardware_version) == (
        0x1111,
        0x1211,
    )
    assert img.form == "gbcs"
    assert img.header.total_image_size == len(data)
    # zigpy cannot parse the GBCS body (the reference README says so too)
    with pytest.raises(ValueError):
        parse_ota_image(data)
    assert build_ota(img) == data
    assert parse_ota(build_ota(img)) == img


def test_gbcs_template_layouts(reference_dir: Path) -> None:
    esme = parse_ota(template_image(reference_dir, "11.1"))
    ppmid = parse_ota(template_image(reference_dir, "11.4"))
    # 11.4: raw manufacturer image only
    assert ppmid.gbcs_signature is None and ppmid.force_replace is None
    assert ppmid.manufacturer_image.startswith(b"CriticalSoftware sample firmware image_")
    assert len(ppmid.manufacturer_image) == 295 - 60
    # 11.1: the same manufacturer image, force-replace 0x00, 0x40, 64-byte signature
    assert esme.manufacturer_image == ppmid.manufacturer_image
    assert esme.force_replace is False
    assert esme.gbcs_signature is not None and len(esme.gbcs_signature) == 64
    assert esme.gbcs_signature.hex().startswith("0eb4a9c7")
    assert esme.image_hash == ppmid.image_hash
    assert [(s.tag, s.length) for s in esme.sub_elements] == [(0x0000, 235)]


def test_gbcs_template_signature_is_the_test_suppliers_over_the_manufacturer_image(
    reference_dir: Path,
) -> None:
    """The 11.1 template's image carries the only GBCS signature of the reference set: the ZAZ1
    test supplier's DS key (its certificate in the RTDS keystore) signs the manufacturer image,
    the bytes between the OTA header and the force-replace byte. Checked first with
    `cryptography` over a span cut from the header length, then with althan's verifier."""
    data = template_image(reference_dir, "11.1")
    keystore = reference_dir / "gbcs" / "keystore"
    supplier = x509.load_pem_x509_certificate((keystore / "90b3d51f30010000-ds.pem").read_bytes())
    other = x509.load_pem_x509_certificate((keystore / "90b3d51f30020000-ds.pem").read_bytes())
    key, wrong = supplier.public_key(), other.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert isinstance(wrong, ec.EllipticCurvePublicKey)
    header_length = int.from_bytes(data[6:8], "little")
    assert (header_length, len(data), data[-66:-64]) == (60, 361, b"\x00\x40")
    signed, rs = data[header_length:-66], data[-64:]
    der = encode_dss_signature(int.from_bytes(rs[:32], "big"), int.from_bytes(rs[32:], "big"))
    key.verify(der, signed, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature otherwise
    for not_signed in (data[:-66], data[:-65], data[header_length:-65]):
        with pytest.raises(InvalidSignature):
            key.verify(der, not_signed, ec.ECDSA(hashes.SHA256()))
    img = parse_ota(data)
    assert verify_gbcs_signature(img, key)
    assert not verify_gbcs_signature(img, wrong)


# ---------------------------------------------------------------- vendor wrappers vs zigpy


def _inner() -> bytes:
    return build_test_image(0x1021, 0x000F, 7, payload_size=300, form="zigbee")


def test_legrand_wrapper_matches_zigpy() -> None:
    inner = _inner()
    wrapped = len(inner).to_bytes(4, "little") + inner + b"\x01" + bytes(range(16))
    img = parse_ota(wrapped)
    assert (img.wrapper, img.wrapper_offset, len(img.trailing)) == ("legrand", 4, 17)
    zimg, _ = parse_ota_image(wrapped)
    assert isinstance(zimg, ZOTAImage)
    assert_header_equals_zigpy(img.header, zimg.header)
    assert build_ota(img) == inner


def test_ikea_container_matches_zigpy() -> None:
    inner = _inner()
    offset = 40
    wrapped = (
        b"NGIS"
        + bytes(12)
        + struct.pack("<II", offset, len(inner))
        + bytes(offset - 24)
        + inner
        + b"signature-and-more"
    )
    img = parse_ota(wrapped)
    assert (img.wrapper, img.wrapper_offset) == ("ikea-ngis", offset)
    assert img.trailing == b"signature-and-more"
    zimg, _ = parse_ota_image(wrapped)
    assert isinstance(zimg, ZOTAImage)
    assert_header_equals_zigpy(img.header, zimg.header)
    assert build_ota(img) == inner


def test_third_reality_wrapper_matches_zigpy() -> None:
    inner = _inner()
    body = bytearray(152 - 64) + inner
    body[68 - 64 : 72 - 64] = (len(body)).to_bytes(4, "little")
    wrapped = hashlib.sha512(bytes(body)).digest() + bytes(body)
    img = parse_ota(wrapped)
    assert (img.wrapper, img.wrapper_offset) == ("third-reality", 152)
    zimg, _ = parse_ota_image(wrapped)
    assert_header_equals_zigpy(img.header, zimg.header)
    assert build_ota(img) == inner


def test_unknown_prefix_is_reported_as_wrapper() -> None:
    inner = _inner()
    img = parse_ota(b"VENDOR-PREFIX\x00" + inner)
    assert (img.wrapper, img.wrapper_offset) == ("unknown", 14)
    assert build_ota(img) == inner


def test_sub_element_value_type() -> None:
    el = SubElement.of(0xF001, b"abc")
    assert (el.tag, el.length, el.value, el.name) == (0xF001, 3, b"abc", "Manufacturer Specific")
    assert isinstance(parse_ota(_inner()), OtaImage)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("10F2-7B2A-0000-0005-02000230-m7b-r0.ota.zigbee", True),
        ("SWD2_0x11191514_PROD.fw", True),
        ("ZR_Smartplug_SSIG_3.12.16.zigbee", False),  # vendor-specific code (MANIFEST)
        ("Range_Extender_Zi_V1.0.3.ota", None),  # no 0x0003 element
    ],
)
def test_image_integrity_code(reference_dir: Path, name: str, valid: bool | None) -> None:
    data = ota_file(reference_dir, name)
    img = parse_ota(data)
    assert integrity_code_valid(img) is valid
    if valid:
        tampered = bytearray(data)
        tampered[1000] ^= 0x01
        assert integrity_code_valid(parse_ota(bytes(tampered))) is False


def test_aes_mmo_short_messages() -> None:
    # ZigBee specification test vectors for the AES-MMO hash (short padding form)
    assert aes_mmo_hash(b"\xc0").hex() == "ae3a102a28d43ee0d4a09e22788b206c"
    assert aes_mmo_hash(bytes(range(0xC0, 0xD0))).hex() == "a7977e88bc0b61e8210827109a228f2d"
    assert len({aes_mmo_hash(bytes(n)) for n in range(40)}) == 40


def test_the_header_table_declares_the_fields_zigpy_declares() -> None:
    """HEADER_FIELDS (after the magic) is zigpy's OTAImageHeader, field for field, with the
    optional fields last and each present under a field-control bit."""
    ours = {"field_control": "header_field_control", "manufacturer_id": "manufacturer_code"}
    ours["image_size"] = "total_image_size"
    zigpy_fields = [(ours.get(f.name, f.name), f.requires is not None) for f in ZHeader.fields]
    assert zigpy_fields[0] == ("upgrade_file_id", False)
    assert [(f.name, bool(f.flag)) for f in HEADER_FIELDS] == zigpy_fields[1:]
