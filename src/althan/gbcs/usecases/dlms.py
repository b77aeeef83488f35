"""DLMS ACCESS request and response (0xD9 / 0xDA) as GBCS carries them: the APDU of the
Comms Hub use cases (CCS01, CCS02) and of the DLMS meter commands (ECS70)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from althan.gbcs.codec import (
    DLMS_DATE_TIME_LENGTH,
    DLMS_NULL,
    DlmsData,
    Reader,
    encode_length,
    read_dlms,
)
from althan.gbcs.errors import GbcsFramingError, GbcsPayloadError

DLMS_GET = 1
DLMS_SET = 2
DLMS_ACTION = 3
_KINDS = (DLMS_GET, DLMS_SET, DLMS_ACTION)


def default_invoke_id(counter: int) -> int:
    """The DLMS long-invoke-id-and-priority GBCS uses: 0x20 | low 24 bits of the counter."""
    return 0x20000000 | (counter & 0xFFFFFF)


@dataclass(frozen=True, slots=True)
class AccessSpec:
    """One DLMS access-request-specification: kind (1 get, 2 set, 3 action), class, OBIS, id."""

    kind: int
    class_id: int
    obis: bytes
    member_id: int

    def encode(self) -> bytes:
        return (
            bytes([self.kind])
            + self.class_id.to_bytes(2, "big")
            + self.obis
            + bytes([self.member_id])
        )


@dataclass(frozen=True, slots=True)
class AccessResult:
    """One DLMS access-response-specification: kind (1 get, 2 set, 3 action) and result."""

    kind: int
    result: int

    def encode(self) -> bytes:
        return bytes([self.kind, self.result])


class _Encodes(Protocol):
    def encode(self) -> bytes: ...


def _head(tag: int, invoke_id: int, date_time: bytes | None) -> bytes:
    """APDU tag, long-invoke-id-and-priority, optional date-time."""
    dt = b"\x00" if date_time is None else bytes([DLMS_DATE_TIME_LENGTH]) + date_time
    return bytes([tag]) + invoke_id.to_bytes(4, "big") + dt


def _counted(items: Sequence[_Encodes]) -> bytes:
    return encode_length(len(items)) + b"".join(i.encode() for i in items)


def _read_head(r: Reader, what: str) -> tuple[int, bytes | None]:
    r.byte(f"{what} tag")
    invoke = int.from_bytes(r.take(4, "long-invoke-id-and-priority"), "big")
    return invoke, _read_date_time(r)


def _read_date_time(r: Reader) -> bytes | None:
    at = r.pos
    n = r.byte("DLMS date-time")
    if n == 0:
        return None
    if n != DLMS_DATE_TIME_LENGTH:
        raise GbcsPayloadError(f"DLMS date-time must be absent or 12 bytes, got {n}", at)
    return r.take(DLMS_DATE_TIME_LENGTH, "DLMS date-time")


def _read_data(r: Reader, what: str) -> tuple[DlmsData, ...]:
    m = r.length(f"{what} count")
    if m > r.remaining:
        raise GbcsPayloadError(f"{m} data items cannot fit", r.pos)
    return tuple(read_dlms(r, what) for _ in range(m))


def _read_kind(r: Reader, what: str, name: str) -> int:
    at = r.pos
    kind = r.byte(what)
    if kind not in _KINDS:
        raise GbcsPayloadError(f"unsupported DLMS {name} specification 0x{kind:02X}", at)
    return kind


@dataclass(frozen=True, slots=True)
class DlmsAccessRequest:
    """A DLMS ACCESS.request (0xD9) as GBCS uses it."""

    invoke_id: int
    specs: tuple[AccessSpec, ...]
    data: tuple[DlmsData, ...]
    date_time: bytes | None = None

    def encode(self) -> bytes:
        return (
            _head(0xD9, self.invoke_id, self.date_time) + _counted(self.specs) + _counted(self.data)
        )

    @classmethod
    def decode(cls, r: Reader) -> DlmsAccessRequest:
        invoke, dt = _read_head(r, "ACCESS.request")
        specs = []
        for _ in range(r.length("request specification count")):
            kind = _read_kind(r, "request specification", "access")
            class_id = int.from_bytes(r.take(2, "class id"), "big")
            obis = r.take(6, "OBIS code")
            specs.append(AccessSpec(kind, class_id, obis, r.byte("attribute/method")))
        data = _read_data(r, "request data")
        r.expect_end("ACCESS.request")
        return cls(invoke, tuple(specs), data, dt)


@dataclass(frozen=True, slots=True)
class DlmsAccessResponse:
    """A DLMS ACCESS.response (0xDA) as GBCS uses it (no echoed request specification)."""

    invoke_id: int
    data: tuple[DlmsData, ...]
    results: tuple[AccessResult, ...]
    date_time: bytes | None = None

    def encode(self) -> bytes:
        no_specification = b"\x00"
        head = _head(0xDA, self.invoke_id, self.date_time) + no_specification
        return head + _counted(self.data) + _counted(self.results)

    @classmethod
    def decode(cls, r: Reader) -> DlmsAccessResponse:
        invoke, dt = _read_head(r, "ACCESS.response")
        at = r.pos
        if r.byte("request specification presence") != 0:
            raise GbcsPayloadError("echoed access-request-specification not supported", at)
        data = _read_data(r, "response data")
        results = []
        for _ in range(r.length("response specification count")):
            kind = _read_kind(r, "response specification", "response")
            results.append(AccessResult(kind, r.byte("data access result")))
        r.expect_end("ACCESS.response")
        return cls(invoke, data, tuple(results), dt)

    @classmethod
    def answering(
        cls,
        request: DlmsAccessRequest,
        results: Sequence[int] | None = None,
        data: Sequence[DlmsData] | None = None,
    ) -> DlmsAccessResponse:
        """The response to ``request``: one data item (default null) and one result (default
        0, success) per request specification."""
        n = len(request.specs)
        codes = tuple(results) if results is not None else (0,) * n
        items = tuple(data) if data is not None else (DlmsData(DLMS_NULL, None),) * n
        if len(codes) != n:
            raise GbcsFramingError(f"need {n} results, got {len(codes)}")
        if len(items) != n:
            raise GbcsFramingError(f"need {n} data items, got {len(items)}")
        kinds = (s.kind for s in request.specs)
        return cls(
            request.invoke_id,
            items,
            tuple(AccessResult(k, c) for k, c in zip(kinds, codes, strict=True)),
        )

    @property
    def success(self) -> bool:
        return all(x.result == 0 for x in self.results)
