"""Low-level codecs: GBCS/DER length encoding, a bounds-checked reader, ASN.1 DER and DLMS data.

All decoders are strict: they accept only the minimal (canonical) encodings, so that decoding
and re-encoding is byte-identical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from althan.gbcs.errors import GbcsLengthError, GbcsPayloadError, GbcsTruncatedError

MAX_LENGTH = (1 << 32) - 1
U64_MAX = (1 << 64) - 1
"""The largest counter, sequence number or transaction ID GBCS carries (8 bytes)."""


def encode_length(n: int, width: int = 0) -> bytes:
    """DER definite length: one byte below 128, else 0x80|k followed by k big-endian bytes.

    ``width`` (0 = minimal) forces the long form with that many length bytes: some GBCS
    payloads (CS02b responses and alerts) use ``82 00 DE`` for 222.
    """
    if n < 0 or n > MAX_LENGTH:
        raise GbcsLengthError(f"length {n} out of range")
    if width:
        if not 1 <= width <= 4 or n >= 1 << (8 * width):
            raise GbcsLengthError(f"length {n} does not fit {width} length bytes")
        return bytes([0x80 | width]) + n.to_bytes(width, "big")
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def length_width(data: bytes, offset: int) -> int:
    """The ``width`` argument of ``encode_length`` that reproduces the length at ``offset``."""
    n, end = decode_length(data, offset, strict=False)
    return 0 if encode_length(n) == data[offset:end] else end - offset - 1


def decode_length(data: bytes, offset: int = 0, *, strict: bool = True) -> tuple[int, int]:
    """Decode a DER length at ``offset``; return (length, offset after it).

    ``strict``: accept minimal forms only (the frame's own lengths); otherwise any definite
    long form of up to 4 length bytes is accepted (ASN.1 payloads that GBCS leaves non-minimal).
    """
    if offset >= len(data):
        raise GbcsTruncatedError("missing length byte", offset)
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    k = first & 0x7F
    if k == 0:
        raise GbcsLengthError("indefinite length (0x80) not allowed", offset)
    if k > 4:
        raise GbcsLengthError(f"length of length {k} too large", offset)
    end = offset + 1 + k
    if end > len(data):
        raise GbcsTruncatedError(f"length needs {k} more bytes", offset)
    n = int.from_bytes(data[offset + 1 : end], "big")
    if strict and (n < 0x80 or data[offset + 1] == 0):
        raise GbcsLengthError(f"non-minimal length encoding of {n}", offset)
    return n, end


class Reader:
    """A cursor over bytes, with absolute offsets for error messages."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def at_end(self) -> bool:
        return self.pos >= self.end

    def peek(self, what: str) -> int:
        if self.pos >= self.end:
            raise GbcsTruncatedError(f"missing {what}", self.pos)
        return self.data[self.pos]

    def byte(self, what: str) -> int:
        b = self.peek(what)
        self.pos += 1
        return b

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise GbcsTruncatedError(
                f"{what} needs {n} bytes, {max(self.remaining, 0)} left", self.pos
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def length(self, what: str, *, strict: bool = True) -> int:
        if self.pos >= self.end:
            raise GbcsTruncatedError(f"missing {what}", self.pos)
        n, nxt = decode_length(self.data[: self.end], self.pos, strict=strict)
        self.pos = nxt
        return n

    def sub(self, n: int, what: str) -> Reader:
        """A reader over the next ``n`` bytes (which this reader skips)."""
        start = self.pos
        self.take(n, what)
        return Reader(self.data, start, start + n)

    def expect_end(self, what: str) -> None:
        if self.pos != self.end:
            raise GbcsPayloadError(
                f"{self.end - self.pos} unexpected trailing bytes in {what}", self.pos
            )


# ---------------------------------------------------------------- ASN.1 DER

TAG_INTEGER = 0x02
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_GENERALIZED_TIME = 0x18
TAG_SEQUENCE = 0x30


def der(tag: int, content: bytes, width: int = 0) -> bytes:
    return bytes([tag]) + encode_length(len(content), width) + content


def der_integer(value: int) -> bytes:
    """A minimal two's-complement INTEGER (-128 is one byte 0x80)."""
    n = max(1, ((value if value >= 0 else ~value).bit_length() + 8) // 8)
    return der(TAG_INTEGER, value.to_bytes(n, "big", signed=True))


def der_octets(value: bytes) -> bytes:
    return der(TAG_OCTET_STRING, value)


def der_null() -> bytes:
    return b"\x05\x00"


def der_time(value: datetime) -> bytes:
    return der(TAG_GENERALIZED_TIME, format_generalized_time(value).encode("ascii"))


def format_generalized_time(value: datetime) -> str:
    v = value.astimezone(UTC) if value.tzinfo is not None else value
    return f"{v.year:04d}{v.month:02d}{v.day:02d}{v.hour:02d}{v.minute:02d}{v.second:02d}Z"


_GT_RE = re.compile(rb"\d{14}Z")


def read_tlv(r: Reader, tag: int, what: str) -> Reader:
    """Read one DER element of ``tag``; return a reader over its content."""
    at = r.pos
    t = r.byte(what)
    if t != tag:
        raise GbcsPayloadError(f"{what}: expected tag 0x{tag:02X}, got 0x{t:02X}", at)
    n = r.length(f"{what} length")
    return r.sub(n, what)


def read_tlv_width(r: Reader, tag: int, what: str) -> tuple[Reader, int]:
    """Like ``read_tlv`` but accepts a non-minimal length; also returns its ``width``."""
    at = r.pos
    t = r.byte(what)
    if t != tag:
        raise GbcsPayloadError(f"{what}: expected tag 0x{tag:02X}, got 0x{t:02X}", at)
    lat = r.pos
    n = r.length(f"{what} length", strict=False)
    return r.sub(n, what), length_width(r.data, lat)


def read_any_tlv(r: Reader, what: str) -> tuple[int, bytes]:
    """Read one DER element; return (tag, whole encoding)."""
    start = r.pos
    t = r.byte(what)
    if t & 0x1F == 0x1F:
        raise GbcsPayloadError(f"{what}: multi-byte tags not supported", start)
    n = r.length(f"{what} length", strict=False)
    r.take(n, what)
    return t, r.data[start : r.pos]


def read_integer(r: Reader, what: str) -> int:
    at = r.pos
    c = read_tlv(r, TAG_INTEGER, what)
    body = c.take(c.remaining, what)
    if not body:
        raise GbcsPayloadError(f"{what}: empty INTEGER", at)
    if len(body) > 1 and (
        (body[0] == 0 and body[1] < 0x80) or (body[0] == 0xFF and body[1] >= 0x80)
    ):
        raise GbcsPayloadError(f"{what}: non-minimal INTEGER", at)
    return int.from_bytes(body, "big", signed=True)


def read_octets(r: Reader, what: str, size: int | None = None) -> bytes:
    at = r.pos
    c = read_tlv(r, TAG_OCTET_STRING, what)
    body = c.take(c.remaining, what)
    if size is not None and len(body) != size:
        raise GbcsPayloadError(f"{what}: expected {size} bytes, got {len(body)}", at)
    return body


def read_null(r: Reader, what: str) -> None:
    at = r.pos
    c = read_tlv(r, TAG_NULL, what)
    if c.remaining:
        raise GbcsPayloadError(f"{what}: NULL with content", at)


_GT_FIELDS = ((0, 4), (4, 2), (6, 2), (8, 2), (10, 2), (12, 2))  # YYYY MM DD HH MM SS


def read_time(r: Reader, what: str) -> datetime:
    at = r.pos
    c = read_tlv(r, TAG_GENERALIZED_TIME, what)
    body = c.take(c.remaining, what)
    if not _GT_RE.fullmatch(body):
        raise GbcsPayloadError(f"{what}: not a YYYYMMDDHHMMSSZ GeneralizedTime", at)
    try:
        # the pattern holds 14 digits; datetime refuses what no calendar has (as strptime did)
        y, mo, d, h, mi, sec = (int(body[i : i + n]) for i, n in _GT_FIELDS)
        return datetime(y, mo, d, h, mi, sec, tzinfo=UTC)
    except ValueError as e:
        raise GbcsPayloadError(f"{what}: invalid date/time ({e})", at) from None


# ---------------------------------------------------------------- DLMS A-XDR data

DLMS_NULL = 0x00
DLMS_ARRAY = 0x01
DLMS_STRUCTURE = 0x02
DLMS_BOOLEAN = 0x03
DLMS_BIT_STRING = 0x04
DLMS_OCTET_STRING = 0x09
DLMS_VISIBLE_STRING = 0x0A
DLMS_ENUM = 0x16

_FIXED_INT: dict[int, tuple[int, bool]] = {
    0x05: (4, True),  # double-long
    0x06: (4, False),  # double-long-unsigned
    0x0F: (1, True),  # integer
    0x10: (2, True),  # long
    0x11: (1, False),  # unsigned
    0x12: (2, False),  # long-unsigned
    0x14: (8, True),  # long64
    0x15: (8, False),  # long64-unsigned
    0x16: (1, False),  # enum
}

DlmsScalar = int | bytes | bool | None

DLMS_DATE_TIME_LENGTH = 12


def dlms_datetime(when: datetime, *, weekday: bool = True, clock_status: int = 0x00) -> bytes:
    """A 12-byte DLMS date-time: hundredths 0, deviation 0x8000 ('not specified'), the day of
    the week (ISO, or 0xFF 'not specified' without ``weekday``) and ``clock_status``."""
    return (
        when.year.to_bytes(2, "big")
        + bytes([when.month, when.day, when.isoweekday() if weekday else 0xFF])
        + bytes([when.hour, when.minute, when.second, 0, 0x80, 0x00, clock_status])
    )


@dataclass(frozen=True, slots=True)
class DlmsData:
    """One DLMS Data value: ``tag`` and a value (int, bytes, bool, None, or a tuple of DlmsData).

    A bit-string keeps its bit count in ``bits``.
    """

    tag: int
    value: int | bytes | bool | tuple[DlmsData, ...] | None
    bits: int = 0

    def encode(self) -> bytes:
        t = self.tag
        v = self.value
        if t == DLMS_NULL:
            return b"\x00"
        if t in (DLMS_ARRAY, DLMS_STRUCTURE):
            assert isinstance(v, tuple)
            return bytes([t]) + encode_length(len(v)) + b"".join(x.encode() for x in v)
        if t == DLMS_BOOLEAN:
            return bytes([t, 0xFF if v else 0x00])
        if t in (DLMS_OCTET_STRING, DLMS_VISIBLE_STRING):
            assert isinstance(v, bytes)
            return bytes([t]) + encode_length(len(v)) + v
        if t == DLMS_BIT_STRING:
            assert isinstance(v, bytes)
            return bytes([t]) + encode_length(self.bits) + v
        if t in _FIXED_INT:
            size, signed = _FIXED_INT[t]
            assert isinstance(v, int)
            return bytes([t]) + v.to_bytes(size, "big", signed=signed)
        raise GbcsPayloadError(f"cannot encode DLMS data type 0x{t:02X}")


def read_dlms(r: Reader, what: str, depth: int = 0) -> DlmsData:
    at = r.pos
    if depth > 16:
        raise GbcsPayloadError(f"{what}: DLMS data nested too deeply", at)
    t = r.byte(what)
    if t == DLMS_NULL:
        return DlmsData(t, None)
    if t in (DLMS_ARRAY, DLMS_STRUCTURE):
        n = r.length(f"{what} element count")
        if n > r.remaining:
            raise GbcsTruncatedError(f"{what}: {n} elements cannot fit", at)
        return DlmsData(t, tuple(read_dlms(r, what, depth + 1) for _ in range(n)))
    if t == DLMS_BOOLEAN:
        b = r.byte(what)
        if b not in (0x00, 0xFF):
            raise GbcsPayloadError(f"{what}: boolean must be 0x00 or 0xFF, got 0x{b:02X}", at)
        return DlmsData(t, b == 0xFF)
    if t in (DLMS_OCTET_STRING, DLMS_VISIBLE_STRING):
        n = r.length(f"{what} length")
        return DlmsData(t, r.take(n, what))
    if t == DLMS_BIT_STRING:
        nbits = r.length(f"{what} bit count")
        return DlmsData(t, r.take((nbits + 7) // 8, what), nbits)
    if t in _FIXED_INT:
        size, signed = _FIXED_INT[t]
        return DlmsData(t, int.from_bytes(r.take(size, what), "big", signed=signed))
    raise GbcsPayloadError(f"{what}: unsupported DLMS data type 0x{t:02X}", at)
