"""ZigBee OTA upgrade files: the image (header + body) and its two forms, parsed and built.

An OTA upgrade file is a little-endian header (magic ``0x0BEEF11E``) followed by a body of
``total_image_size - header_length`` bytes. The body comes in one of two forms:

``zigbee``
    ZCL sub-elements: tag (u16) + length (u32) + value, back to back, exactly filling the
    body (0x0000 upgrade image, 0x0001/0x0002 ECDSA suite-1 signature/certificate, 0x0003
    image integrity code, 0x0004 picture data, 0x0005/0x0006 suite-2 signature/certificate,
    0xF000-0xFFFF manufacturer-specific; unknown tags are kept).
``gbcs``
    GB smart metering (GBCS) upgrade images: the raw manufacturer image, optionally followed
    by a force-replace byte (0x00/0x01), the byte 0x40 and a 64-byte raw ECDSA P-256 r||s
    signature. The signature covers the manufacturer image only (not the OTA header, not the
    force-replace byte), as in the DCC reference 11.1 template's image, which the ZAZ1 test
    supplier's DS key verifies over exactly those bytes.

Form detection (``form="auto"``): if the body parses exactly as sub-elements it is
``zigbee``, otherwise ``gbcs``. In the gbcs form a signature is recognised when the body is
at least 65 bytes long and ``body[-65] == 0x40``; a force-replace byte is then recognised
when the byte before that is 0x00 or 0x01. These rules are ambiguous for some byte patterns;
:func:`build_ota` refuses (``OtaAmbiguousError``) to write a file that would parse back
differently, so ``parse_ota(build_ota(img)) == img`` always holds for what it writes.

Vendor wrappers (Legrand length prefix + 17-byte suffix, IKEA ``NGIS`` container, Third
Reality 152-byte hash header, or any other prefix of at most 4 KiB before the magic) are
unwrapped; ``wrapper_offset`` says where the OTA file starts, bytes after
``total_image_size`` are returned as ``trailing``.

Sans-IO: bytes in, values out. Every malformed input raises a subclass of
:class:`~althan.zigbee.ota.errors.OtaError` whose message names the problem and the offset.
The header is ``header``'s; signatures and the integrity code are ``integrity``'s.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from althan.model import EUI64
from althan.zigbee.ota.errors import (
    OtaAmbiguousError,
    OtaBadMagicError,
    OtaBuildError,
    OtaSizeMismatchError,
    OtaSubElementOverrunError,
    OtaTruncatedImageError,
    OtaWrapperError,
    check_uint,
)
from althan.zigbee.ota.header import (
    DEFAULT_HEADER_VERSION,
    DEFAULT_STACK_VERSION,
    MAGIC_BYTES,
    OTA_MAGIC,
    OtaHeader,
    build_header,
    field_control_for,
    header_length_for,
    parse_header,
)

GBCS_SIGNATURE_LENGTH_BYTE = 0x40
GBCS_SIGNATURE_LENGTH = 64
GBCS_TRAILER = 1 + GBCS_SIGNATURE_LENGTH  # 0x40 + r||s

_WRAPPER_SCAN_LIMIT = 4096
_SUBELEMENT_HEADER = 6
_SUB = struct.Struct("<HI")

TAG_UPGRADE_IMAGE = 0x0000
TAG_NAMES: dict[int, str] = {
    0x0000: "Upgrade Image",
    0x0001: "ECDSA Signature (suite 1)",
    0x0002: "ECDSA Signing Certificate (suite 1)",
    0x0003: "Image Integrity Code",
    0x0004: "Picture Data",
    0x0005: "ECDSA Signature (suite 2)",
    0x0006: "ECDSA Signing Certificate (suite 2)",
}

Form = Literal["zigbee", "gbcs"]


def tag_name(tag: int) -> str:
    """Human name of a sub-element tag."""
    if tag in TAG_NAMES:
        return TAG_NAMES[tag]
    if 0xF000 <= tag <= 0xFFFF:
        return "Manufacturer Specific"
    return "Reserved/Unknown"


@dataclass(frozen=True, slots=True)
class SubElement:
    """One tag-length-value element of the zigbee form (``length == len(value)``)."""

    tag: int
    length: int
    value: bytes = field(repr=False)

    @classmethod
    def of(cls, tag: int, value: bytes) -> SubElement:
        return cls(tag, len(value), bytes(value))

    @property
    def name(self) -> str:
        return tag_name(self.tag)


@dataclass(frozen=True, slots=True)
class OtaImage:
    """A parsed OTA upgrade file.

    For the gbcs form ``sub_elements`` is a synthetic view: one 0x0000 (Upgrade Image)
    element holding the manufacturer image; the force-replace byte and the signature are
    in ``force_replace`` / ``gbcs_signature``, not in sub-elements.
    For the zigbee form ``manufacturer_image`` is the value of the first 0x0000 element
    (``b""`` when there is none, e.g. images with only manufacturer-specific elements).
    """

    header: OtaHeader
    form: Form
    sub_elements: tuple[SubElement, ...]
    manufacturer_image: bytes = field(repr=False)
    gbcs_signature: bytes | None
    force_replace: bool | None
    wrapper_offset: int
    trailing: bytes
    sha256: str
    image_hash: str
    wrapper: str | None = None

    @classmethod
    def of(
        cls,
        header: OtaHeader,
        form: Form,
        sub_elements: tuple[SubElement, ...],
        manufacturer_image: bytes,
        gbcs_signature: bytes | None = None,
        force_replace: bool | None = None,
        *,
        raw: bytes = b"",
        wrapper_offset: int = 0,
        wrapper: str | None = None,
        trailing: bytes = b"",
    ) -> OtaImage:
        """An image of these parts with its hashes: ``sha256`` of ``raw`` (the input it was
        parsed from; empty for an image not written yet), ``image_hash`` of the image."""
        return cls(
            header,
            form,
            sub_elements,
            manufacturer_image,
            gbcs_signature,
            force_replace,
            wrapper_offset,
            trailing,
            hashlib.sha256(raw).hexdigest() if raw else "",
            hashlib.sha256(manufacturer_image).hexdigest(),
            wrapper,
        )

    def element(self, tag: int) -> SubElement | None:
        """The first sub-element with this tag, if any."""
        for el in self.sub_elements:
            if el.tag == tag:
                return el
        return None


# --------------------------------------------------------------------------- parsing


def _parse_sub_elements(data: bytes, start: int, end: int) -> tuple[SubElement, ...]:
    """Sub-elements exactly filling ``data[start:end]``; raises OtaSubElementOverrunError."""
    out: list[SubElement] = []
    pos = start
    while pos < end:
        if end - pos < _SUBELEMENT_HEADER:
            raise OtaSubElementOverrunError(
                f"sub-element header needs {_SUBELEMENT_HEADER} bytes, only {end - pos}"
                f" left before total_image_size",
                pos,
            )
        tag, length = _SUB.unpack_from(data, pos)
        vstart = pos + _SUBELEMENT_HEADER
        if length > end - vstart:
            raise OtaSubElementOverrunError(
                f"sub-element 0x{tag:04X} length {length} runs past total_image_size"
                f" ({end - vstart} bytes left)",
                pos + 2,
            )
        out.append(SubElement(tag, length, data[vstart : vstart + length]))
        pos = vstart + length
    return tuple(out)


def _split_gbcs(body: bytes) -> tuple[bytes, bool | None, bytes | None]:
    """(manufacturer image, force_replace, signature) of a gbcs-form body."""
    if len(body) >= GBCS_TRAILER and body[-GBCS_TRAILER] == GBCS_SIGNATURE_LENGTH_BYTE:
        sig = body[-GBCS_SIGNATURE_LENGTH:]
        rest = body[:-GBCS_TRAILER]
        if rest and rest[-1] in (0, 1):
            return rest[:-1], rest[-1] == 1, sig
        return rest, None, sig
    return body, None, None


def _locate(data: bytes) -> tuple[int, str | None]:
    """Where the OTA file starts inside ``data``, and the wrapper's name."""
    if data[:4] == MAGIC_BYTES or MAGIC_BYTES.startswith(data[:4]):
        return 0, None
    n = len(data)
    # Legrand: u32 LE (inner size) + OTA file + 17-byte suffix.
    if n > 25 and int.from_bytes(data[0:4], "little") + 21 == n and data[4:8] == MAGIC_BYTES:
        return 4, "legrand"
    # IKEA container: "NGIS", offset (u32 @16) and size (u32 @20) of the OTA file.
    if data.startswith(b"NGIS"):
        if n < 24:
            raise OtaWrapperError(f"IKEA NGIS container header needs 24 bytes, got {n}", n)
        off = int.from_bytes(data[16:20], "little")
        size = int.from_bytes(data[20:24], "little")
        if off < 24 or off + size > n:
            raise OtaWrapperError(
                f"IKEA NGIS container points at {off}+{size} outside {n} bytes", 16
            )
        return off, "ikea-ngis"
    # Third Reality: 152-byte header with SHA-512 of data[64:] and the image length.
    if (
        n > 152
        and int.from_bytes(data[68:72], "little") + 64 == n
        and data[152:156] == MAGIC_BYTES
        and data.startswith(hashlib.sha512(data[64:]).digest())
    ):
        return 152, "third-reality"
    found = data.find(MAGIC_BYTES, 1, _WRAPPER_SCAN_LIMIT + 4)
    if found < 0:
        raise OtaBadMagicError(
            f"no OTA magic 0x{OTA_MAGIC:08X} at the start nor in the first"
            f" {_WRAPPER_SCAN_LIMIT} bytes",
            0,
        )
    return found, "unknown"


def parse_ota(
    data: bytes | bytearray | memoryview,
    *,
    form: Literal["auto", "zigbee", "gbcs"] = "auto",
) -> OtaImage:
    """Parse an OTA upgrade file (optionally wrapped, optionally with trailing bytes).

    ``form="zigbee"`` insists on sub-elements (OtaSubElementOverrunError otherwise);
    ``form="gbcs"`` reads the body as a GBCS image; ``"auto"`` decides as the module says.
    """
    buf = bytes(data)
    base, wrapper = _locate(buf)
    header = parse_header(buf, base)
    end = base + header.total_image_size
    if len(buf) < end:
        raise OtaTruncatedImageError(
            f"input has {len(buf) - base} bytes of the {header.total_image_size} that"
            f" total_image_size announces",
            len(buf),
        )
    bstart = base + header.header_length
    actual: Form
    force: bool | None = None
    sig: bytes | None = None
    if form == "gbcs":
        actual = "gbcs"
    elif form == "zigbee":
        subs = _parse_sub_elements(buf, bstart, end)
        actual = "zigbee"
    else:
        try:
            subs = _parse_sub_elements(buf, bstart, end)
            actual = "zigbee"
        except OtaSubElementOverrunError:
            actual = "gbcs"
    if actual == "gbcs":
        image, force, sig = _split_gbcs(buf[bstart:end])
        subs = (SubElement(TAG_UPGRADE_IMAGE, len(image), image),)
    else:
        first = next((s for s in subs if s.tag == TAG_UPGRADE_IMAGE), None)
        image = first.value if first is not None else b""
    return OtaImage.of(
        header,
        actual,
        subs,
        image,
        sig,
        force,
        raw=buf,
        wrapper_offset=base,
        wrapper=wrapper,
        trailing=buf[end:],
    )


# --------------------------------------------------------------------------- building


def _build_body(image: OtaImage) -> bytes:
    if image.form == "zigbee":
        parts = []
        for el in image.sub_elements:
            if el.length != len(el.value):
                raise OtaBuildError(
                    f"sub-element 0x{el.tag:04X} length {el.length} != {len(el.value)} value bytes",
                    0,
                )
            check_uint("sub-element tag", el.tag, 16, 0)
            check_uint("sub-element length", el.length, 32, 0)
            parts.append(_SUB.pack(el.tag, el.length) + el.value)
        return b"".join(parts)
    body = bytearray(image.manufacturer_image)
    if image.gbcs_signature is not None:
        if (n := len(image.gbcs_signature)) != GBCS_SIGNATURE_LENGTH:
            raise OtaBuildError(f"gbcs signature must be {GBCS_SIGNATURE_LENGTH} bytes, got {n}", 0)
        if image.force_replace is not None:
            body.append(1 if image.force_replace else 0)
        body.append(GBCS_SIGNATURE_LENGTH_BYTE)
        body += image.gbcs_signature
    elif image.force_replace is not None:
        raise OtaBuildError("a force-replace byte needs a gbcs signature after it", 0)
    return bytes(body)


def _check_roundtrip_form(image: OtaImage, body: bytes, base: int) -> None:
    """Raise OtaAmbiguousError when ``body`` would not parse back to ``image``."""
    end = base + len(body)
    if image.form == "gbcs":
        try:
            _parse_sub_elements(body, 0, len(body))
        except OtaSubElementOverrunError:
            pass
        else:
            raise OtaAmbiguousError(
                "this gbcs body also parses as zigbee sub-elements; parse it with form='gbcs'",
                base,
            )
        got = _split_gbcs(body)
        if got != (image.manufacturer_image, image.force_replace, image.gbcs_signature):
            raise OtaAmbiguousError(
                "this gbcs body would not parse back to the same image/force-replace/"
                "signature split",
                end,
            )


def build_ota(image: OtaImage, *, strict_form: bool = True) -> bytes:
    """Serialise ``image`` (header + body, no wrapper, no trailing bytes).

    The header is written as given: total_image_size and header_length must match the
    content (OtaSizeMismatchError / OtaBuildError otherwise). With ``strict_form`` (the
    default) a gbcs image that ``parse_ota`` would read differently in auto mode raises
    OtaAmbiguousError.
    """
    head = build_header(image.header)
    synthetic_ok = len(image.sub_elements) <= 1 and all(
        s.tag == TAG_UPGRADE_IMAGE and s.value == image.manufacturer_image
        for s in image.sub_elements
    )
    if image.form == "gbcs" and not synthetic_ok:
        raise OtaBuildError(
            "a gbcs image's sub_elements must be the synthetic upgrade-image view", 0
        )
    body = _build_body(image)
    if strict_form:
        _check_roundtrip_form(image, body, len(head))
    out = head + body
    if len(out) != image.header.total_image_size:
        raise OtaSizeMismatchError(
            f"total_image_size {image.header.total_image_size} but the image is {len(out)} bytes",
            52,
        )
    return out


def new_ota_image(
    *,
    manufacturer_code: int,
    image_type: int,
    file_version: int,
    form: Form = "zigbee",
    manufacturer_image: bytes = b"",
    sub_elements: Sequence[SubElement] | None = None,
    header_string: str = "",
    stack_version: int = DEFAULT_STACK_VERSION,
    header_version: int = DEFAULT_HEADER_VERSION,
    security_credential_version: int | None = None,
    upgrade_file_destination: EUI64 | None = None,
    min_hw: int | None = None,
    max_hw: int | None = None,
    force_replace: bool | None = None,
    gbcs_signature: bytes | None = None,
) -> OtaImage:
    """An :class:`OtaImage` with field control, header_length and sizes computed.

    zigbee form: ``sub_elements`` (default: one 0x0000 element holding
    ``manufacturer_image``). gbcs form: ``manufacturer_image`` plus optional force-replace
    byte and signature. Raises OtaBuildError for values that cannot be encoded and
    OtaAmbiguousError when the result would not parse back identically.
    """
    if (min_hw is None) != (max_hw is None):
        raise OtaBuildError("minimum and maximum hardware versions go together", 56)
    if form == "zigbee":
        if gbcs_signature is not None or force_replace is not None:
            raise OtaBuildError("gbcs signature/force-replace given for a zigbee image", 0)
        subs = (
            tuple(sub_elements)
            if sub_elements is not None
            else (SubElement.of(TAG_UPGRADE_IMAGE, manufacturer_image),)
        )
        first = next((s for s in subs if s.tag == TAG_UPGRADE_IMAGE), None)
        image = first.value if first is not None else b""
    else:
        if sub_elements is not None:
            raise OtaBuildError("sub_elements given for a gbcs image", 0)
        image = bytes(manufacturer_image)
        subs = (SubElement.of(TAG_UPGRADE_IMAGE, image),)
    header = OtaHeader(
        manufacturer_code=manufacturer_code,
        image_type=image_type,
        file_version=file_version,
        stack_version=stack_version,
        header_field_control=0,
        header_string=header_string,
        total_image_size=0,
        header_version=header_version,
        security_credential_version=security_credential_version,
        upgrade_file_destination=upgrade_file_destination,
        minimum_hardware_version=min_hw,
        maximum_hardware_version=max_hw,
    )
    fc = field_control_for(header)
    header = replace(header, header_field_control=fc, header_length=header_length_for(fc))
    draft = OtaImage.of(header, form, subs, image, gbcs_signature, force_replace)
    total = header.header_length + len(_build_body(draft))
    check_uint("total_image_size", total, 32, 52)
    draft = replace(draft, header=replace(header, total_image_size=total))
    raw = build_ota(draft)
    return replace(draft, sha256=hashlib.sha256(raw).hexdigest())
