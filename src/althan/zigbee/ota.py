"""ZigBee OTA upgrade files: parse, build and verify (ZCL OTA Upgrade cluster file format).

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

Sans-IO: bytes in, values out. Every malformed input raises a subclass of :class:`OtaError`
whose message names the problem and the offset (also in the ``offset`` attribute).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from althan.model import EUI64

__all__ = [
    "FC_DEVICE_SPECIFIC_FILE",
    "FC_HARDWARE_VERSIONS",
    "FC_SECURITY_CREDENTIAL_VERSION",
    "GBCS_SIGNATURE_LENGTH_BYTE",
    "HEADER_FIXED_LENGTH",
    "OTA_MAGIC",
    "TAG_NAMES",
    "Form",
    "OtaAmbiguousError",
    "OtaBadHeaderLengthError",
    "OtaBadMagicError",
    "OtaBuildError",
    "OtaError",
    "OtaHeader",
    "OtaImage",
    "OtaSizeMismatchError",
    "OtaSubElementOverrunError",
    "OtaTruncatedHeaderError",
    "OtaTruncatedImageError",
    "OtaWrapperError",
    "SubElement",
    "aes_mmo_hash",
    "build_header",
    "build_ota",
    "build_test_image",
    "gbcs_signed_bytes",
    "integrity_code_valid",
    "new_ota_image",
    "parse_ota",
    "sign_gbcs",
    "tag_name",
    "verify_gbcs_signature",
]

OTA_MAGIC = 0x0BEEF11E
_MAGIC_BYTES = OTA_MAGIC.to_bytes(4, "little")
HEADER_FIXED_LENGTH = 56
DEFAULT_HEADER_VERSION = 0x0100
DEFAULT_STACK_VERSION = 0x0002  # ZigBee PRO

FC_SECURITY_CREDENTIAL_VERSION = 0x0001
FC_DEVICE_SPECIFIC_FILE = 0x0002
FC_HARDWARE_VERSIONS = 0x0004

GBCS_SIGNATURE_LENGTH_BYTE = 0x40
_GBCS_SIG_LEN = 64
_GBCS_TRAILER = 1 + _GBCS_SIG_LEN  # 0x40 + r||s

_WRAPPER_SCAN_LIMIT = 4096
_SUBELEMENT_HEADER = 6

_FIXED = struct.Struct("<IHHHHHIH32sI")
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


# --------------------------------------------------------------------------- errors


class OtaError(ValueError):
    """Base of every OTA format error; ``offset`` is the byte offset in the input."""

    def __init__(self, what: str, offset: int) -> None:
        super().__init__(f"{what} (at offset {offset})")
        self.what = what
        self.offset = offset


class OtaTruncatedHeaderError(OtaError):
    """The input ends inside the OTA header."""


class OtaBadMagicError(OtaError):
    """No OTA magic 0x0BEEF11E at the start nor inside a recognised wrapper."""


class OtaBadHeaderLengthError(OtaError):
    """header_length is smaller than the fields the field control announces."""


class OtaSizeMismatchError(OtaError):
    """total_image_size is inconsistent (smaller than the header, or wrong when building)."""


class OtaTruncatedImageError(OtaError):
    """The input is shorter than total_image_size."""


class OtaSubElementOverrunError(OtaError):
    """A sub-element header or value runs past the end of the image (zigbee form)."""


class OtaWrapperError(OtaError):
    """A recognised vendor wrapper is internally inconsistent."""


class OtaBuildError(OtaError):
    """Values given to a builder cannot be encoded."""


class OtaAmbiguousError(OtaBuildError):
    """The requested image would not parse back to the same value (form detection)."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class OtaHeader:
    """The OTA file header. Optional fields are ``None`` when the field control omits them.

    ``header_string`` is the 32-byte string with trailing NULs stripped, decoded as UTF-8
    with ``surrogateescape`` so that any bytes survive a parse/build round trip.
    ``header_extra`` holds header bytes beyond the known fields (header_length larger than
    they need); it is empty in every file seen so far.
    """

    manufacturer_code: int
    image_type: int
    file_version: int
    stack_version: int
    header_field_control: int
    header_string: str
    total_image_size: int
    header_version: int = DEFAULT_HEADER_VERSION
    header_length: int = HEADER_FIXED_LENGTH
    security_credential_version: int | None = None
    upgrade_file_destination: EUI64 | None = None
    minimum_hardware_version: int | None = None
    maximum_hardware_version: int | None = None
    header_extra: bytes = b""

    @property
    def header_string_bytes(self) -> bytes:
        return self.header_string.encode("utf-8", "surrogateescape")


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

    def element(self, tag: int) -> SubElement | None:
        """The first sub-element with this tag, if any."""
        for el in self.sub_elements:
            if el.tag == tag:
                return el
        return None


# --------------------------------------------------------------------------- parsing


def _required_header_length(field_control: int) -> int:
    n = HEADER_FIXED_LENGTH
    if field_control & FC_SECURITY_CREDENTIAL_VERSION:
        n += 1
    if field_control & FC_DEVICE_SPECIFIC_FILE:
        n += 8
    if field_control & FC_HARDWARE_VERSIONS:
        n += 4
    return n


def _parse_header(data: bytes, base: int) -> OtaHeader:
    """Parse the header at ``base``; sizes are checked against ``len(data) - base``."""
    avail = len(data) - base
    if avail < 4:
        if _MAGIC_BYTES.startswith(data[base:]):
            raise OtaTruncatedHeaderError(
                f"input ends inside the OTA magic ({avail} of 4 bytes)", len(data)
            )
        raise OtaBadMagicError(f"no OTA magic 0x{OTA_MAGIC:08X}", base)
    if data[base : base + 4] != _MAGIC_BYTES:
        raise OtaBadMagicError(
            f"bad OTA magic 0x{int.from_bytes(data[base : base + 4], 'little'):08X},"
            f" expected 0x{OTA_MAGIC:08X}",
            base,
        )
    if avail < HEADER_FIXED_LENGTH:
        raise OtaTruncatedHeaderError(
            f"input ends inside the OTA header ({avail} of {HEADER_FIXED_LENGTH} bytes)",
            len(data),
        )
    (_, hver, hlen, fc, mfr, itype, fver, sver, hstr, total) = _FIXED.unpack_from(data, base)
    required = _required_header_length(fc)
    if hlen < required:
        raise OtaBadHeaderLengthError(
            f"header_length {hlen} is less than the {required} bytes that field control"
            f" 0x{fc:04X} needs",
            base + 6,
        )
    if total < hlen:
        raise OtaSizeMismatchError(
            f"total_image_size {total} is smaller than header_length {hlen}", base + 52
        )
    if avail < hlen:
        raise OtaTruncatedHeaderError(
            f"input ends inside the OTA header ({avail} of {hlen} bytes)", len(data)
        )
    pos = base + HEADER_FIXED_LENGTH
    scv: int | None = None
    dest: EUI64 | None = None
    min_hw: int | None = None
    max_hw: int | None = None
    if fc & FC_SECURITY_CREDENTIAL_VERSION:
        scv = data[pos]
        pos += 1
    if fc & FC_DEVICE_SPECIFIC_FILE:
        dest = EUI64.from_bytes(data[pos : pos + 8][::-1])
        pos += 8
    if fc & FC_HARDWARE_VERSIONS:
        min_hw, max_hw = struct.unpack_from("<HH", data, pos)
        pos += 4
    extra = data[pos : base + hlen]
    return OtaHeader(
        manufacturer_code=mfr,
        image_type=itype,
        file_version=fver,
        stack_version=sver,
        header_field_control=fc,
        header_string=hstr.rstrip(b"\x00").decode("utf-8", "surrogateescape"),
        total_image_size=total,
        header_version=hver,
        header_length=hlen,
        security_credential_version=scv,
        upgrade_file_destination=dest,
        minimum_hardware_version=min_hw,
        maximum_hardware_version=max_hw,
        header_extra=bytes(extra),
    )


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
    if len(body) >= _GBCS_TRAILER and body[-_GBCS_TRAILER] == GBCS_SIGNATURE_LENGTH_BYTE:
        sig = body[-_GBCS_SIG_LEN:]
        rest = body[:-_GBCS_TRAILER]
        if rest and rest[-1] in (0, 1):
            return rest[:-1], rest[-1] == 1, sig
        return rest, None, sig
    return body, None, None


def _locate(data: bytes) -> tuple[int, str | None]:
    """Where the OTA file starts inside ``data``, and the wrapper's name."""
    if data[:4] == _MAGIC_BYTES or _MAGIC_BYTES.startswith(data[:4]):
        return 0, None
    n = len(data)
    # Legrand: u32 LE (inner size) + OTA file + 17-byte suffix.
    if n > 25 and int.from_bytes(data[0:4], "little") + 21 == n and data[4:8] == _MAGIC_BYTES:
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
        and data[152:156] == _MAGIC_BYTES
        and data.startswith(hashlib.sha512(data[64:]).digest())
    ):
        return 152, "third-reality"
    found = data.find(_MAGIC_BYTES, 1, _WRAPPER_SCAN_LIMIT + 4)
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
    header = _parse_header(buf, base)
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
    return OtaImage(
        header=header,
        form=actual,
        sub_elements=subs,
        manufacturer_image=image,
        gbcs_signature=sig,
        force_replace=force,
        wrapper_offset=base,
        trailing=buf[end:],
        sha256=hashlib.sha256(buf).hexdigest(),
        image_hash=hashlib.sha256(image).hexdigest(),
        wrapper=wrapper,
    )


# --------------------------------------------------------------------------- building


def _check_uint(name: str, value: int, bits: int, offset: int) -> None:
    if not 0 <= value < 1 << bits:
        raise OtaBuildError(f"{name} {value!r} does not fit in {bits} bits", offset)


def build_header(header: OtaHeader) -> bytes:
    """Serialise a header exactly as given (header_length must match its content)."""
    for name, value, bits, off in (
        ("header_version", header.header_version, 16, 4),
        ("header_length", header.header_length, 16, 6),
        ("header_field_control", header.header_field_control, 16, 8),
        ("manufacturer_code", header.manufacturer_code, 16, 10),
        ("image_type", header.image_type, 16, 12),
        ("file_version", header.file_version, 32, 14),
        ("stack_version", header.stack_version, 16, 18),
        ("total_image_size", header.total_image_size, 32, 52),
    ):
        _check_uint(name, value, bits, off)
    hstr = header.header_string_bytes
    if len(hstr) > 32:
        raise OtaBuildError(f"header_string is {len(hstr)} bytes, at most 32 fit", 20)
    if hstr.endswith(b"\x00"):
        raise OtaBuildError("header_string must not end with NUL (it is NUL-padded)", 20)
    fc = header.header_field_control
    out = bytearray(
        _FIXED.pack(
            OTA_MAGIC,
            header.header_version,
            header.header_length,
            fc,
            header.manufacturer_code,
            header.image_type,
            header.file_version,
            header.stack_version,
            hstr.ljust(32, b"\x00"),
            header.total_image_size,
        )
    )
    optional: tuple[tuple[int, str, object], ...] = (
        (
            FC_SECURITY_CREDENTIAL_VERSION,
            "security_credential_version",
            header.security_credential_version,
        ),
        (FC_DEVICE_SPECIFIC_FILE, "upgrade_file_destination", header.upgrade_file_destination),
        (FC_HARDWARE_VERSIONS, "minimum_hardware_version", header.minimum_hardware_version),
        (FC_HARDWARE_VERSIONS, "maximum_hardware_version", header.maximum_hardware_version),
    )
    for bit, opt_name, opt_value in optional:
        if bool(fc & bit) != (opt_value is not None):
            raise OtaBuildError(
                f"{opt_name} is {'missing' if opt_value is None else 'given'} but field control"
                f" 0x{fc:04X} says {'present' if fc & bit else 'absent'}",
                8,
            )
    if header.security_credential_version is not None:
        _check_uint("security_credential_version", header.security_credential_version, 8, 56)
        out.append(header.security_credential_version)
    if header.upgrade_file_destination is not None:
        out += header.upgrade_file_destination.to_bytes()[::-1]
    if header.minimum_hardware_version is not None and header.maximum_hardware_version is not None:
        _check_uint("minimum_hardware_version", header.minimum_hardware_version, 16, len(out))
        _check_uint("maximum_hardware_version", header.maximum_hardware_version, 16, len(out))
        out += struct.pack("<HH", header.minimum_hardware_version, header.maximum_hardware_version)
    out += header.header_extra
    if len(out) != header.header_length:
        raise OtaBuildError(
            f"header_length {header.header_length} but the header fields take {len(out)} bytes",
            6,
        )
    return bytes(out)


def _build_body(image: OtaImage) -> bytes:
    if image.form == "zigbee":
        parts = []
        for el in image.sub_elements:
            if el.length != len(el.value):
                raise OtaBuildError(
                    f"sub-element 0x{el.tag:04X} length {el.length} != {len(el.value)} value bytes",
                    0,
                )
            _check_uint("sub-element tag", el.tag, 16, 0)
            _check_uint("sub-element length", el.length, 32, 0)
            parts.append(_SUB.pack(el.tag, el.length) + el.value)
        return b"".join(parts)
    body = bytearray(image.manufacturer_image)
    if image.gbcs_signature is not None:
        if len(image.gbcs_signature) != _GBCS_SIG_LEN:
            raise OtaBuildError(
                f"gbcs signature must be {_GBCS_SIG_LEN} bytes, got {len(image.gbcs_signature)}",
                0,
            )
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
    fc = 0
    if security_credential_version is not None:
        fc |= FC_SECURITY_CREDENTIAL_VERSION
    if upgrade_file_destination is not None:
        fc |= FC_DEVICE_SPECIFIC_FILE
    if min_hw is not None:
        fc |= FC_HARDWARE_VERSIONS
    hlen = _required_header_length(fc)
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
        header_field_control=fc,
        header_string=header_string,
        total_image_size=0,
        header_version=header_version,
        header_length=hlen,
        security_credential_version=security_credential_version,
        upgrade_file_destination=upgrade_file_destination,
        minimum_hardware_version=min_hw,
        maximum_hardware_version=max_hw,
    )
    draft = OtaImage(
        header=header,
        form=form,
        sub_elements=subs,
        manufacturer_image=image,
        gbcs_signature=gbcs_signature,
        force_replace=force_replace,
        wrapper_offset=0,
        trailing=b"",
        sha256="",
        image_hash=hashlib.sha256(image).hexdigest(),
    )
    total = hlen + len(_build_body(draft))
    _check_uint("total_image_size", total, 32, 52)
    draft = replace(draft, header=replace(header, total_image_size=total))
    raw = build_ota(draft)
    return replace(draft, sha256=hashlib.sha256(raw).hexdigest())


# --------------------------------------------------------------------------- GBCS signatures


def gbcs_signed_bytes(image: OtaImage) -> bytes:
    """The bytes a gbcs signature covers: the manufacturer image."""
    return image.manufacturer_image


def sign_gbcs(message: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """64-byte raw r||s ECDSA P-256/SHA-256 signature of ``message``."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise OtaBuildError(f"gbcs signing key must be P-256, got {key.curve.name}", 0)
    der = key.sign(message, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_gbcs_signature(image: OtaImage, public_key: ec.EllipticCurvePublicKey) -> bool:
    """True when the image carries a gbcs signature that ``public_key`` verifies."""
    sig = image.gbcs_signature
    if image.form != "gbcs" or sig is None or len(sig) != _GBCS_SIG_LEN:
        return False
    if not isinstance(public_key.curve, ec.SECP256R1):
        return False
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    if r == 0 or s == 0:
        return False
    try:
        public_key.verify(
            encode_dss_signature(r, s), gbcs_signed_bytes(image), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        return False
    return True


# --------------------------------------------------------------------------- integrity code


def aes_mmo_hash(message: bytes) -> bytes:
    """ZigBee AES-MMO hash (Matyas-Meyer-Oseas over AES-128, ZigBee spec padding)."""
    bits = len(message) * 8
    if bits >= 1 << 32:
        raise OtaBuildError("AES-MMO input longer than 2^32 bits", 0)
    if bits < 1 << 16:
        pad = (14 - (len(message) + 1) % 16) % 16
        m = message + b"\x80" + bytes(pad) + bits.to_bytes(2, "big")
    else:
        pad = (10 - (len(message) + 1) % 16) % 16
        m = message + b"\x80" + bytes(pad) + bits.to_bytes(4, "big") + b"\x00\x00"
    h = bytes(16)
    for i in range(0, len(m), 16):
        block = m[i : i + 16]
        enc = Cipher(algorithms.AES(h), modes.ECB()).encryptor().update(block)
        h = (int.from_bytes(enc, "big") ^ int.from_bytes(block, "big")).to_bytes(16, "big")
    return h


def integrity_code_valid(image: OtaImage) -> bool | None:
    """Check the 0x0003 Image Integrity Code: AES-MMO of the file up to that element.

    ``None`` when the image has no integrity code. The code must be the last sub-element
    and 16 bytes long; some vendors use their own scheme and fail this check.
    """
    code = image.element(0x0003)
    if image.form != "zigbee" or code is None:
        return None
    if image.sub_elements[-1] is not code or code.length != 16:
        return False
    raw = build_ota(image, strict_form=False)
    return aes_mmo_hash(raw[: len(raw) - 22]) == code.value


# --------------------------------------------------------------------------- test images

_TEST_MARKER = b"ALTHAN-TEST-IMAGE\x00"


def _test_payload(seed: bytes, size: int) -> bytes:
    """Deterministic bytes: a marker (never a valid sub-element list) + SHA-256 stream."""
    out = bytearray(_TEST_MARKER[:size])
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def build_test_image(
    manufacturer_code: int,
    image_type: int,
    file_version: int,
    *,
    min_hw: int | None = None,
    max_hw: int | None = None,
    payload_size: int = 1024,
    header_string: str = "althan test image",
    form: Form = "gbcs",
    signing_key: ec.EllipticCurvePrivateKey | None = None,
    force_replace: bool | None = None,
) -> bytes:
    """A deterministic OTA test file (payload derived from the inputs only).

    gbcs form with ``signing_key``: a force-replace byte (default False) then 0x40 and a real
    ECDSA P-256/SHA-256 raw r||s signature over :func:`gbcs_signed_bytes`. ECDSA signing
    itself is randomised by ``cryptography``, so signed files differ per call; everything
    before the signature is deterministic. zigbee form: one 0x0000 upgrade-image element.
    """
    if payload_size < 0:
        raise OtaBuildError(f"payload_size must be >= 0, got {payload_size}", 0)
    if form == "zigbee" and (signing_key is not None or force_replace is not None):
        raise OtaBuildError("signing_key/force_replace apply to the gbcs form only", 0)
    seed = (
        struct.pack(
            "<HHIqqq",
            manufacturer_code & 0xFFFF,
            image_type & 0xFFFF,
            file_version & 0xFFFFFFFF,
            -1 if min_hw is None else min_hw,
            -1 if max_hw is None else max_hw,
            payload_size,
        )
        + header_string.encode("utf-8", "surrogateescape")
        + form.encode()
    )
    payload = bytearray(_test_payload(seed, payload_size))
    if (
        form == "gbcs"
        and signing_key is None
        and len(payload) >= _GBCS_TRAILER
        and payload[-_GBCS_TRAILER] == GBCS_SIGNATURE_LENGTH_BYTE
    ):
        # keep an unsigned body from looking like "... 0x40 <64 bytes>"
        payload[-_GBCS_TRAILER] ^= 0x01

    def make(f: Form, fr: bool | None = None, sig: bytes | None = None) -> OtaImage:
        return new_ota_image(
            manufacturer_code=manufacturer_code,
            image_type=image_type,
            file_version=file_version,
            form=f,
            manufacturer_image=bytes(payload),
            header_string=header_string,
            min_hw=min_hw,
            max_hw=max_hw,
            force_replace=fr,
            gbcs_signature=sig,
        )

    if form == "zigbee":
        return build_ota(make("zigbee"))
    if signing_key is None:
        return build_ota(make("gbcs", force_replace))
    unsigned = make("gbcs", False if force_replace is None else force_replace, bytes(64))
    sig = sign_gbcs(gbcs_signed_bytes(unsigned), signing_key)
    return build_ota(replace(unsigned, gbcs_signature=sig))
