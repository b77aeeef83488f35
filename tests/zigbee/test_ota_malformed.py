"""Every malformed OTA input raises the precise OtaError subclass, with the right offset."""

from __future__ import annotations

import base64
import dataclasses
import re
import struct
from pathlib import Path

import pytest

from althan.zigbee.ota import (
    OtaAmbiguousError,
    OtaBadHeaderLengthError,
    OtaBadMagicError,
    OtaBuildError,
    OtaError,
    OtaSizeMismatchError,
    OtaSubElementOverrunError,
    OtaTruncatedHeaderError,
    OtaTruncatedImageError,
    OtaWrapperError,
    SubElement,
    build_ota,
    new_ota_image,
    parse_ota,
)
from althan.zigbee.testimage import build_test_image

NODON = "128b-0102-10101-700_nodon_sin_2_fm_stm32_V10101.zigbee"
UBISYS = "10F2-7B2A-0000-0005-02000230-m7b-r0.ota.zigbee"
DEVELCO = "ZR_Smartplug_SSIG_3.12.16.zigbee"
LEGRAND = "1021-000f-004745ff-NLL.zigbee"


def _template(reference_dir: Path, name: str) -> bytes:
    text = (reference_dir / "duis" / "templates" / name).read_text()
    m = re.search(r"FirmwareImage>([^<]+)<", text)
    assert m
    return base64.b64decode(m.group(1))


def expected_truncation_error(cut: int, header_length: int) -> type[OtaError]:
    if cut < header_length:
        return OtaTruncatedHeaderError
    return OtaTruncatedImageError


def _check_truncations(data: bytes, cuts: range | list[int]) -> int:
    hlen = struct.unpack_from("<H", data, 6)[0]
    n = 0
    for cut in cuts:
        with pytest.raises(OtaError) as ei:
            parse_ota(data[:cut])
        assert type(ei.value) is expected_truncation_error(cut, hlen), cut
        assert ei.value.offset == cut, cut  # "the input ends here"
        n += 1
    return n


def test_truncate_smallest_real_file_at_every_offset(reference_dir: Path) -> None:
    data = (reference_dir / "zigbee-ota" / NODON).read_bytes()
    assert _check_truncations(data, range(len(data))) == 27162
    parse_ota(data)  # and the whole file is fine


@pytest.mark.parametrize(
    "name",
    ["11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML", "11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML"],
)
def test_truncate_template_images_at_every_offset(reference_dir: Path, name: str) -> None:
    data = _template(reference_dir, name)
    _check_truncations(data, range(len(data)))


@pytest.mark.parametrize("name", [UBISYS, DEVELCO, "ZLL_Plug01_OnOff_MK_0x01020509.ota"])
def test_truncate_other_real_files(reference_dir: Path, name: str) -> None:
    data = (reference_dir / "zigbee-ota" / name).read_bytes()
    cuts = [*range(0, 300), *range(300, len(data), 997), len(data) - 1]
    _check_truncations(data, cuts)


def test_truncated_legrand_wrapper(reference_dir: Path) -> None:
    data = (reference_dir / "zigbee-ota" / LEGRAND).read_bytes()
    # the length prefix no longer matches; the OTA file is still found at offset 4
    with pytest.raises(OtaTruncatedImageError) as ei:
        parse_ota(data[:1000])
    assert ei.value.offset == 1000
    with pytest.raises(OtaBadMagicError):
        parse_ota(data[:7])
    with pytest.raises(OtaTruncatedHeaderError):
        parse_ota(data[:30])
    img = parse_ota(data[:-17])  # no suffix: still found, as an unknown 4-byte prefix
    assert (img.wrapper, img.wrapper_offset, img.trailing) == ("unknown", 4, b"")


def _patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


@pytest.fixture(scope="module")
def ubisys(reference_dir: Path) -> bytes:
    return (reference_dir / "zigbee-ota" / UBISYS).read_bytes()


def test_bad_magic(ubisys: bytes) -> None:
    for i in range(4):
        bad = bytearray(ubisys)
        bad[i] ^= 0x10
        with pytest.raises(OtaBadMagicError) as ei:
            parse_ota(bytes(bad))
        assert ei.value.offset == 0
        assert "0x0BEEF11E" in str(ei.value)
    with pytest.raises(OtaBadMagicError):
        parse_ota(b"\x00" * 5000)
    with pytest.raises(OtaTruncatedHeaderError):
        parse_ota(b"")
    with pytest.raises(OtaTruncatedHeaderError):
        parse_ota(b"\x1e\xf1")


def test_header_length_too_small_for_field_control(ubisys: bytes) -> None:
    # ubisys has HW versions (field control 0x0004): it needs 60 header bytes
    for hlen in (0, 55, 56, 59):
        with pytest.raises(OtaBadHeaderLengthError) as ei:
            parse_ota(_patch(ubisys, 6, "<H", hlen))
        assert ei.value.offset == 6
    # field control announcing more fields than header_length allows
    for fc in (0x0001, 0x0002, 0x0007):
        with pytest.raises(OtaBadHeaderLengthError):
            parse_ota(_patch(ubisys, 8, "<H", fc | 0x0004))


def test_header_longer_than_fields_keeps_extra_bytes(ubisys: bytes) -> None:
    # header_length 66: six "future" header bytes, the body starts later
    img = parse_ota(_patch(ubisys, 6, "<H", 66))
    assert img.header.header_extra == ubisys[60:66]
    assert img.form == "gbcs"  # the sub-elements no longer line up
    with pytest.raises(OtaSubElementOverrunError):
        parse_ota(_patch(ubisys, 6, "<H", 66), form="zigbee")
    assert build_ota(img, strict_form=False) == _patch(ubisys, 6, "<H", 66)


def test_total_size_smaller_than_header(ubisys: bytes) -> None:
    with pytest.raises(OtaSizeMismatchError) as ei:
        parse_ota(_patch(ubisys, 52, "<I", 59))
    assert ei.value.offset == 52


def test_header_length_beyond_total_size(ubisys: bytes) -> None:
    with pytest.raises(OtaSizeMismatchError) as ei:
        parse_ota(_patch(_patch(ubisys, 6, "<H", 200), 52, "<I", 100))
    assert ei.value.offset == 52
    # a header_length that is consistent with total_image_size but beyond the input
    with pytest.raises(OtaTruncatedHeaderError) as cut:
        parse_ota(_patch(ubisys, 6, "<H", 0xFFFF)[:70])
    assert cut.value.offset == 70


def test_total_size_beyond_input(ubisys: bytes) -> None:
    with pytest.raises(OtaTruncatedImageError) as ei:
        parse_ota(_patch(ubisys, 52, "<I", len(ubisys) + 1))
    assert ei.value.offset == len(ubisys)


def test_total_size_shorter_moves_bytes_to_trailing(ubisys: bytes) -> None:
    img = parse_ota(_patch(ubisys, 52, "<I", len(ubisys) - 22))
    # the 0x0003 element (6 + 16 bytes) is now outside the image
    assert img.form == "zigbee" and img.trailing == ubisys[-22:]
    assert [s.tag for s in img.sub_elements] == [0xF7BD, 0x0000]


def test_sub_element_length_overrun(ubisys: bytes) -> None:
    # first element (0xF7BD) is at 60; its length at 62
    bad = _patch(ubisys, 62, "<I", 0x7FFFFFFF)
    with pytest.raises(OtaSubElementOverrunError) as ei:
        parse_ota(bad, form="zigbee")
    assert ei.value.offset == 62
    assert "0xF7BD" in str(ei.value)
    # auto mode: not sub-elements, so it is read as a gbcs body instead
    assert parse_ota(bad).form == "gbcs"
    # a last element header cut short
    short = _patch(ubisys, 52, "<I", len(ubisys) - 18)
    with pytest.raises(OtaSubElementOverrunError) as ei:
        parse_ota(short, form="zigbee")
    assert ei.value.offset == len(ubisys) - 22
    assert "header needs 6 bytes" in str(ei.value)


def test_every_sub_element_length_edit_is_caught(reference_dir: Path) -> None:
    data = (reference_dir / "zigbee-ota" / DEVELCO).read_bytes()
    img = parse_ota(data)
    pos = img.header.header_length
    for el in img.sub_elements:
        for delta in (1, -1):
            bad = _patch(data, pos + 2, "<I", el.length + delta)
            with pytest.raises(OtaSubElementOverrunError):
                parse_ota(bad, form="zigbee")
        pos += 6 + el.length


def test_ikea_container_errors() -> None:
    inner = build_test_image(1, 2, 3, form="zigbee", payload_size=64)
    with pytest.raises(OtaWrapperError) as ei:
        parse_ota(b"NGIS" + bytes(10))
    assert ei.value.offset == 14
    with pytest.raises(OtaWrapperError) as ei:
        parse_ota(b"NGIS" + bytes(12) + struct.pack("<II", 24, len(inner) + 1) + inner)
    assert ei.value.offset == 16


def test_errors_are_value_errors_with_offsets(ubisys: bytes) -> None:
    with pytest.raises(ValueError, match=r"at offset 52"):
        parse_ota(_patch(ubisys, 52, "<I", 10))


# ---------------------------------------------------------------- builder errors


def test_build_rejects_inconsistent_values() -> None:
    img = parse_ota(build_test_image(0x1234, 1, 2, payload_size=100, form="zigbee"))
    h = img.header
    with pytest.raises(OtaSizeMismatchError):
        build_ota(dataclasses.replace(img, header=dataclasses.replace(h, total_image_size=1)))
    with pytest.raises(OtaBuildError, match="header_length"):
        build_ota(dataclasses.replace(img, header=dataclasses.replace(h, header_length=60)))
    with pytest.raises(OtaBuildError, match="field control"):
        build_ota(dataclasses.replace(img, header=dataclasses.replace(h, header_field_control=4)))
    with pytest.raises(OtaBuildError, match="32"):
        new_ota_image(manufacturer_code=1, image_type=1, file_version=1, header_string="x" * 33)
    with pytest.raises(OtaBuildError, match="16 bits"):
        new_ota_image(manufacturer_code=0x10000, image_type=1, file_version=1)
    with pytest.raises(OtaBuildError, match="together"):
        new_ota_image(manufacturer_code=1, image_type=1, file_version=1, min_hw=1)
    with pytest.raises(OtaBuildError, match="force-replace"):
        new_ota_image(
            manufacturer_code=1, image_type=1, file_version=1, form="gbcs", force_replace=True
        )
    with pytest.raises(OtaBuildError, match="64 bytes"):
        new_ota_image(
            manufacturer_code=1,
            image_type=1,
            file_version=1,
            form="gbcs",
            gbcs_signature=b"short",
        )
    bad_el = SubElement(0, 5, b"abc")
    with pytest.raises(OtaBuildError, match="length 5"):
        new_ota_image(manufacturer_code=1, image_type=1, file_version=1, sub_elements=[bad_el])


def test_build_refuses_ambiguous_gbcs_bodies() -> None:
    # an unsigned image whose 65th byte from the end is 0x40 would read as signed
    image = b"\x07" * 10 + b"\x40" + b"\x07" * 64
    with pytest.raises(OtaAmbiguousError):
        new_ota_image(
            manufacturer_code=1, image_type=1, file_version=1, form="gbcs", manufacturer_image=image
        )
    # a signed image ending in 0x01 without a force-replace byte
    with pytest.raises(OtaAmbiguousError):
        new_ota_image(
            manufacturer_code=1,
            image_type=1,
            file_version=1,
            form="gbcs",
            manufacturer_image=b"\x09" * 20 + b"\x01",
            gbcs_signature=bytes(range(64)),
        )
    # a gbcs body that is also a valid sub-element list
    with pytest.raises(OtaAmbiguousError):
        new_ota_image(
            manufacturer_code=1,
            image_type=1,
            file_version=1,
            form="gbcs",
            manufacturer_image=struct.pack("<HI", 0, 3) + b"abc",
        )
    # ... and build_ota(strict_form=False) writes it, parse_ota(form="gbcs") reads it
    img = new_ota_image(
        manufacturer_code=1, image_type=1, file_version=1, form="gbcs", manufacturer_image=b"plain"
    )
    odd = dataclasses.replace(
        img,
        manufacturer_image=struct.pack("<HI", 0, 3) + b"abc",
        sub_elements=(SubElement.of(0, struct.pack("<HI", 0, 3) + b"abc"),),
        header=dataclasses.replace(img.header, total_image_size=56 + 9),
    )
    raw = build_ota(odd, strict_form=False)
    assert parse_ota(raw).form == "zigbee"
    assert parse_ota(raw, form="gbcs").manufacturer_image == odd.manufacturer_image
