"""CS08 Read PPMID/HCALCS Firmware Version (SRV 11.2): a NULL command from the ACB, answered
with the running firmware version and a response code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from althan.gbcs.codec import Reader, der_null, read_null
from althan.gbcs.layout import FIRMWARE_VERSION, INTEGER, DerSequence, wire
from althan.gbcs.usecases.base import MessageCode, UseCase
from althan.model import FirmwareVersion


@dataclass(frozen=True, slots=True)
class ReadFirmwareVersionCommand:
    """CS08 command: an ASN.1 NULL."""

    MESSAGE_CODE: ClassVar[int] = MessageCode.CS08

    def encode(self) -> bytes:
        return der_null()

    @classmethod
    def decode(cls, r: Reader) -> ReadFirmwareVersionCommand:
        read_null(r, "CS08 command")
        return cls()


@dataclass(frozen=True, slots=True)
class ReadFirmwareVersionResponse(DerSequence):
    """CS08 response: the running firmware version and a response code (0 success, 1 failure)."""

    MESSAGE_CODE: ClassVar[int] = MessageCode.CS08
    WHAT = "CS08 response"

    firmware_version: FirmwareVersion = field(metadata=wire(FIRMWARE_VERSION, "firmware version"))
    response_code: int = field(default=0, metadata=wire(INTEGER, "response code"))


USE_CASES = (
    UseCase(
        MessageCode.CS08,
        "CS08",
        command=ReadFirmwareVersionCommand.decode,
        response=ReadFirmwareVersionResponse.decode,
    ),
)
