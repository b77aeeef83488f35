"""Declarative DER layouts: a payload that is one ASN.1 SEQUENCE declares its wire layout once,
on its dataclass fields (each field names its codec and its label in errors, with
:func:`wire`), and gets ``encode`` and ``decode`` from that declaration, as zigpy's
``t.Struct`` does for ZigBee frames. See ``usecases/cs08.py`` for one.

The elements go on the wire in field order, unless the class names another order in
``WIRE_ORDER`` (a field with a default that the wire carries first).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

from althan.gbcs.codec import (
    TAG_SEQUENCE,
    Reader,
    der,
    der_integer,
    der_octets,
    der_time,
    read_any_tlv,
    read_integer,
    read_octets,
    read_time,
    read_tlv,
)
from althan.model import EUI64, FirmwareVersion

T = TypeVar("T")
_KEY = "althan.gbcs.der"


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """How one value goes on the wire: ``encode(value)`` and ``read(reader, what)``."""

    encode: Callable[[T], bytes]
    read: Callable[[Reader, str], T]


def _read_firmware_version(r: Reader, what: str) -> FirmwareVersion:
    return FirmwareVersion(int.from_bytes(read_octets(r, what, 4), "big"))


def _read_eui(r: Reader, what: str) -> EUI64:
    return EUI64.from_bytes(read_octets(r, what, 8))


def _read_optional_element(r: Reader, what: str) -> bytes | None:
    return None if r.at_end() else read_any_tlv(r, what)[1]


def _encode_firmware_version(value: FirmwareVersion) -> bytes:
    return der_octets(value.to_bytes())


def _encode_eui(value: EUI64) -> bytes:
    return der_octets(value.to_bytes())


def _encode_optional_element(value: bytes | None) -> bytes:
    return value or b""


INTEGER: Codec[int] = Codec(der_integer, read_integer)
TIME: Codec[datetime] = Codec(der_time, read_time)
"""GeneralizedTime YYYYMMDDHHMMSSZ (UTC)."""
FIRMWARE_VERSION: Codec[FirmwareVersion] = Codec(_encode_firmware_version, _read_firmware_version)
"""OCTET STRING (SIZE(4))."""
EUI: Codec[EUI64] = Codec(_encode_eui, _read_eui)
"""OCTET STRING (SIZE(8))."""
OPTIONAL_ELEMENT: Codec[bytes | None] = Codec(_encode_optional_element, _read_optional_element)
"""A trailing optional element of any type, kept as its whole DER encoding."""


def wire(codec: Codec[Any], what: str) -> Mapping[str, Any]:
    """The ``metadata`` of a dataclass field that is one element of the SEQUENCE."""
    return {_KEY: (codec, what)}


_LAYOUTS: dict[type, tuple[tuple[str, Codec[Any], str], ...]] = {}
"""Each `DerSequence` class's layout, once it has been asked for."""


class DerSequence:
    """Base of payloads that are one DER SEQUENCE of their (``wire``) fields."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]
    WHAT: ClassVar[str]
    WIRE_ORDER: ClassVar[tuple[str, ...] | None] = None

    @classmethod
    def _layout(cls) -> tuple[tuple[str, Codec[Any], str], ...]:
        """(field, codec, label) in wire order, read from the declaration once per class."""
        layout = _LAYOUTS.get(cls)
        if layout is None:
            fields = dataclasses.fields(cls)
            found = {f.name: f.metadata[_KEY] for f in fields if _KEY in f.metadata}
            layout = _LAYOUTS[cls] = tuple((name, *found[name]) for name in cls.WIRE_ORDER or found)
        return layout

    def encode(self) -> bytes:
        body = b"".join([codec.encode(getattr(self, n)) for n, codec, _ in self._layout()])
        return der(TAG_SEQUENCE, body)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        s = read_tlv(r, TAG_SEQUENCE, cls.WHAT)
        values = {name: codec.read(s, what) for name, codec, what in cls._layout()}
        s.expect_end(cls.WHAT)
        make: Callable[..., Self] = cls
        return make(**values)
