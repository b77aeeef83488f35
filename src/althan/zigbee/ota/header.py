"""The OTA upgrade file header (ZCL OTA Upgrade cluster, file format), declared once.

:data:`HEADER_FIELDS` is the layout: every field after the magic, in file order, with its
little-endian ``struct`` format and, for the optional ones, the field-control bit that makes
it present. Parsing, building and the header length a field control needs all come from it
(the model is zigpy's ``OTAImageHeader``, a ``t.Struct`` whose optional fields name the bit
they require).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from althan.model import EUI64
from althan.zigbee.ota.errors import (
    OtaBadHeaderLengthError,
    OtaBadMagicError,
    OtaBuildError,
    OtaSizeMismatchError,
    OtaTruncatedHeaderError,
    check_uint,
)

OTA_MAGIC = 0x0BEEF11E
MAGIC_BYTES = OTA_MAGIC.to_bytes(4, "little")
DEFAULT_HEADER_VERSION = 0x0100
DEFAULT_STACK_VERSION = 0x0002  # ZigBee PRO

FC_SECURITY_CREDENTIAL_VERSION = 0x0001
FC_DEVICE_SPECIFIC_FILE = 0x0002
FC_HARDWARE_VERSIONS = 0x0004

HEADER_STRING_LENGTH = 32


@dataclass(frozen=True, slots=True)
class HeaderField:
    """One header field: the :class:`OtaHeader` attribute, its ``struct`` format, and the
    field-control bit that makes it present (0: always there)."""

    name: str
    fmt: str
    flag: int = 0

    @property
    def size(self) -> int:
        return struct.calcsize("<" + self.fmt)


HEADER_FIELDS: tuple[HeaderField, ...] = (
    HeaderField("header_version", "H"),
    HeaderField("header_length", "H"),
    HeaderField("header_field_control", "H"),
    HeaderField("manufacturer_code", "H"),
    HeaderField("image_type", "H"),
    HeaderField("file_version", "I"),
    HeaderField("stack_version", "H"),
    HeaderField("header_string", f"{HEADER_STRING_LENGTH}s"),
    HeaderField("total_image_size", "I"),
    HeaderField("security_credential_version", "B", FC_SECURITY_CREDENTIAL_VERSION),
    HeaderField("upgrade_file_destination", "8s", FC_DEVICE_SPECIFIC_FILE),
    HeaderField("minimum_hardware_version", "H", FC_HARDWARE_VERSIONS),
    HeaderField("maximum_hardware_version", "H", FC_HARDWARE_VERSIONS),
)
"""Every header field after the 4-byte magic, in file order."""

_FIXED = tuple(f for f in HEADER_FIELDS if not f.flag)
OPTIONAL_FIELDS = tuple(f for f in HEADER_FIELDS if f.flag)
_FIXED_STRUCT = struct.Struct("<I" + "".join(f.fmt for f in _FIXED))
HEADER_FIXED_LENGTH = _FIXED_STRUCT.size
OFFSET: Mapping[str, int] = {
    f.name: 4 + struct.calcsize("<" + "".join(g.fmt for g in _FIXED[:i]))
    for i, f in enumerate(_FIXED)
}
"""Where each field that is always there starts."""


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

    # The image's identity as the CPL and DUIS write it: upper-case hex, the field's width.
    @property
    def manufacturer_hex(self) -> str:
        """``manufacturer_code`` in 4 hex digits (the manufacturer of a CPL entry)."""
        return f"{self.manufacturer_code:04X}"

    @property
    def image_type_hex(self) -> str:
        """``image_type`` in 4 hex digits (the model of a CPL entry)."""
        return f"{self.image_type:04X}"

    @property
    def file_version_hex(self) -> str:
        """``file_version`` in 8 hex digits (an 11.4's FirmwareVersion)."""
        return f"{self.file_version:08X}"


def header_length_for(field_control: int) -> int:
    """The bytes of the fields that ``field_control`` says are there (magic included)."""
    return HEADER_FIXED_LENGTH + sum(f.size for f in OPTIONAL_FIELDS if field_control & f.flag)


def field_control_for(header: OtaHeader) -> int:
    """The field control announcing exactly the optional fields ``header`` has (not None)."""
    flags = {f.flag for f in OPTIONAL_FIELDS if getattr(header, f.name) is not None}
    return sum(flags, start=0)


def _from_wire(name: str, raw: Any) -> Any:
    if name == "header_string":
        return raw.rstrip(b"\x00").decode("utf-8", "surrogateescape")
    if name == "upgrade_file_destination":
        return EUI64.from_bytes(raw[::-1])  # little-endian on the wire
    return raw


def _to_wire(f: HeaderField, value: Any, offset: int) -> Any:
    if f.name == "header_string":
        raw = value.encode("utf-8", "surrogateescape")
        if len(raw) > HEADER_STRING_LENGTH:
            raise OtaBuildError(f"header_string is {len(raw)} bytes, at most 32 fit", offset)
        if raw.endswith(b"\x00"):
            raise OtaBuildError("header_string must not end with NUL (it is NUL-padded)", offset)
        return raw
    if f.name == "upgrade_file_destination":
        return value.to_bytes()[::-1]
    check_uint(f.name, value, 8 * f.size, offset)
    return value


def parse_header(data: bytes, base: int) -> OtaHeader:
    """Parse the header at ``base``; sizes are checked against ``len(data) - base``."""
    avail = len(data) - base
    if avail < 4:
        if MAGIC_BYTES.startswith(data[base:]):
            raise OtaTruncatedHeaderError(
                f"input ends inside the OTA magic ({avail} of 4 bytes)", len(data)
            )
        raise OtaBadMagicError(f"no OTA magic 0x{OTA_MAGIC:08X}", base)
    if data[base : base + 4] != MAGIC_BYTES:
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
    _magic, *fixed = _FIXED_STRUCT.unpack_from(data, base)
    values: dict[str, Any] = dict(zip((f.name for f in _FIXED), fixed, strict=True))
    fc, hlen = values["header_field_control"], values["header_length"]
    total = values["total_image_size"]
    required = header_length_for(fc)
    if hlen < required:
        raise OtaBadHeaderLengthError(
            f"header_length {hlen} is less than the {required} bytes that field control"
            f" 0x{fc:04X} needs",
            base + OFFSET["header_length"],
        )
    if total < hlen:
        raise OtaSizeMismatchError(
            f"total_image_size {total} is smaller than header_length {hlen}",
            base + OFFSET["total_image_size"],
        )
    if avail < hlen:
        raise OtaTruncatedHeaderError(
            f"input ends inside the OTA header ({avail} of {hlen} bytes)", len(data)
        )
    pos = base + HEADER_FIXED_LENGTH
    for f in OPTIONAL_FIELDS:
        values[f.name] = None
        if fc & f.flag:
            (values[f.name],) = struct.unpack_from("<" + f.fmt, data, pos)
            pos += f.size
    values = {name: _from_wire(name, v) if v is not None else None for name, v in values.items()}
    return OtaHeader(**values, header_extra=bytes(data[pos : base + hlen]))


def build_header(header: OtaHeader) -> bytes:
    """Serialise a header exactly as given (header_length must match its content)."""
    fixed = (_to_wire(f, getattr(header, f.name), OFFSET[f.name]) for f in _FIXED)
    out = bytearray(_FIXED_STRUCT.pack(OTA_MAGIC, *fixed))
    fc = header.header_field_control
    for f in OPTIONAL_FIELDS:
        value = getattr(header, f.name)
        if bool(fc & f.flag) != (value is not None):
            raise OtaBuildError(
                f"{f.name} is {'missing' if value is None else 'given'} but field control"
                f" 0x{fc:04X} says {'present' if fc & f.flag else 'absent'}",
                OFFSET["header_field_control"],
            )
    for f in OPTIONAL_FIELDS:
        value = getattr(header, f.name)
        if value is not None:
            out += struct.pack("<" + f.fmt, _to_wire(f, value, len(out)))
    out += header.header_extra
    if len(out) != header.header_length:
        raise OtaBuildError(
            f"header_length {header.header_length} but the header fields take {len(out)} bytes",
            OFFSET["header_length"],
        )
    return bytes(out)
