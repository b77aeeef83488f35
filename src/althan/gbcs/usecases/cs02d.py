"""CS02d Update Device Security Credentials (DUIS 6.15.2, critical): the device's new
certificate; the device answers with a bare response code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from althan.gbcs.codec import Reader, read_any_tlv
from althan.gbcs.usecases.base import MessageCode, ResponseCode, UseCase


@dataclass(frozen=True, slots=True)
class UpdateDeviceCertificateCommand:
    """CS02d command: the new device certificate (DER X.509)."""

    MESSAGE_CODE: ClassVar[int] = MessageCode.CS02D

    certificate: bytes

    def encode(self) -> bytes:
        return self.certificate

    @classmethod
    def decode(cls, r: Reader) -> UpdateDeviceCertificateCommand:
        return cls(read_any_tlv(r, "certificate")[1])


USE_CASES = (
    UseCase(
        MessageCode.CS02D,
        "CS02d",
        command=UpdateDeviceCertificateCommand.decode,
        response=ResponseCode.decode,
    ),
)
