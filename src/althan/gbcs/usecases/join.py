"""CS03 join and CS04 unjoin (DUIS 8.7 / 8.8): add a device to, or remove it from, the target's
device log. One payload serves the four join use cases and one the two unjoin ones: the
message code says which (CS03A2 and CS04AC are the non-critical ones the DSP sends)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from althan.gbcs.codec import Reader
from althan.gbcs.layout import EUI, INTEGER, OPTIONAL_ELEMENT, DerSequence, wire
from althan.gbcs.usecases.base import MessageCode, ResponseCode, UseCase
from althan.model import EUI64


class DeviceTypeCode(enum.IntEnum):
    """The GBCS device type of the other device of a join."""

    GSME = 0
    ESME = 1
    CHF = 2
    GPF = 3
    HCALCS = 4
    PPMID = 5
    TYPE2 = 6


@dataclass(frozen=True, slots=True)
class JoinDeviceCommand(DerSequence):
    """CS03 join command: join method and role (0 A-initiator, 1 A-responder, 2 B, 3 C),
    the other device's ID, its device type, and (method A/C) its KA certificate (DER)."""

    WHAT = "join command"

    join_method_and_role: int = field(metadata=wire(INTEGER, "join method and role"))
    entity_id: EUI64 = field(metadata=wire(EUI, "entity ID"))
    device_type: int = field(metadata=wire(INTEGER, "device type"))
    certificate: bytes | None = field(default=None, metadata=wire(OPTIONAL_ELEMENT, "certificate"))


@dataclass(frozen=True, slots=True)
class UnjoinDeviceCommand:
    """CS04 unjoin command: the device to remove from the target's device log."""

    entity_id: EUI64

    def encode(self) -> bytes:
        return EUI.encode(self.entity_id)

    @classmethod
    def decode(cls, r: Reader) -> UnjoinDeviceCommand:
        return cls(EUI.read(r, "entity ID"))


_JOINS = (
    (MessageCode.CS03A1, "CS03A1"),
    (MessageCode.CS03B, "CS03B"),
    (MessageCode.CS03A2, "CS03A2"),
    (MessageCode.CS03C, "CS03C"),
)
_UNJOINS = ((MessageCode.CS04AC, "CS04AC"), (MessageCode.CS04B, "CS04B"))

USE_CASES = tuple(
    UseCase(code, name, command=JoinDeviceCommand.decode, response=ResponseCode.decode)
    for code, name in _JOINS
) + tuple(
    UseCase(code, name, command=UnjoinDeviceCommand.decode, response=ResponseCode.decode)
    for code, name in _UNJOINS
)
