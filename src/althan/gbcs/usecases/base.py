"""What every use case module builds on: CRA flags, message codes, the ``UseCase`` entry of the
registry, and the payloads shared by several use cases (a bare response code, raw bytes)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from althan.gbcs.codec import Reader, der_integer, read_integer


class CraFlag(enum.IntEnum):
    """GBCS CRA flag: what kind of message this is."""

    COMMAND = 1
    RESPONSE = 2
    ALERT = 3


class MessageCode(enum.IntEnum):
    """GBCS message codes of the use cases this room builds or types."""

    CCS01 = 0x0001
    CCS02 = 0x0002
    CS02D = 0x000B
    CS03A1 = 0x000D
    CS03B = 0x000E
    CS04AC = 0x000F
    CS04B = 0x0010
    ECS70 = 0x0062
    CS03A2 = 0x00AB
    CS03C = 0x00AF
    CS02B_ALERT = 0x00CB
    CS02G_ALERT = 0x0124
    CS02G = 0x0126
    CCS08 = 0x0128
    CS08 = 0x0129
    CS09 = 0x012B


ALERT_FIRMWARE_TRANSFER_SUCCESS = 0x8F8A
ALERT_FIRMWARE_TRANSFER_FAILURE = 0x8F89
ALERT_PPMID_FIRMWARE_ACTIVATION = 0x8F8B


class Payload(Protocol):
    """A use-case APDU: it encodes itself (and its class decodes it, see ``UseCase``)."""

    def encode(self) -> bytes: ...


Decoder = Callable[[Reader], Payload]
"""Reads one payload from a reader over the frame's content (usually a class's ``decode``)."""


@dataclass(frozen=True, slots=True)
class UseCase:
    """One row of the registry: a message code, its GBCS use case name, and how the payload of
    its command, response and alert decodes (None: that CRA flag is not typed)."""

    code: int
    name: str
    command: Decoder | None = None
    response: Decoder | None = None
    alert: Decoder | None = None

    def decoder(self, cra_flag: int) -> Decoder | None:
        if cra_flag == CraFlag.COMMAND:
            return self.command
        if cra_flag == CraFlag.RESPONSE:
            return self.response
        return self.alert if cra_flag == CraFlag.ALERT else None


@dataclass(frozen=True, slots=True)
class RawPayload:
    """A payload of a use case this room does not type: its bytes, kept as they are."""

    data: bytes

    def encode(self) -> bytes:
        return self.data


@dataclass(frozen=True, slots=True)
class ResponseCode:
    """A bare INTEGER response (CS03, CS04, CS02d responses); 0 is success."""

    response_code: int

    def encode(self) -> bytes:
        return der_integer(self.response_code)

    @classmethod
    def decode(cls, r: Reader) -> ResponseCode:
        return cls(read_integer(r, "response code"))
