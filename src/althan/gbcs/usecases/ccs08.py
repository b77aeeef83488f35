"""CCS08 Firmware Transfer Alert: the Comms Hub reports whether the image it received for a
device reached it (0x8F8A) or not (0x8F89, with a FirmwareTransferResponse), signed by the
CHF's DS key."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from althan.gbcs.errors import GbcsFramingError
from althan.gbcs.layout import EUI, FIRMWARE_VERSION, INTEGER, TIME, DerSequence, wire
from althan.gbcs.usecases.base import (
    ALERT_FIRMWARE_TRANSFER_FAILURE,
    ALERT_FIRMWARE_TRANSFER_SUCCESS,
    MessageCode,
    UseCase,
)
from althan.model import EUI64, FirmwareVersion


@dataclass(frozen=True, slots=True)
class FirmwareTransferAlert(DerSequence):
    """CCS08 alert payload. ``entity_id`` is the device the image was for; ``response_code`` a
    FirmwareTransferResponse. Build one to send with :meth:`of` (it checks the alert code)."""

    MESSAGE_CODE: ClassVar[int] = MessageCode.CCS08
    WHAT = "CCS08 alert"

    alert_code: int = field(metadata=wire(INTEGER, "alert code"))
    execution_time: datetime = field(metadata=wire(TIME, "execution date-time"))
    entity_id: EUI64 = field(metadata=wire(EUI, "entity ID"))
    firmware_version: FirmwareVersion = field(metadata=wire(FIRMWARE_VERSION, "firmware version"))
    response_code: int = field(default=0, metadata=wire(INTEGER, "response code"))

    @classmethod
    def of(
        cls,
        *,
        entity_id: EUI64,
        firmware_version: FirmwareVersion,
        when: datetime,
        alert_code: int = ALERT_FIRMWARE_TRANSFER_SUCCESS,
        response_code: int = 0,
    ) -> FirmwareTransferAlert:
        """The alert a CHF sends: ``alert_code`` 0x8F8A (success) or 0x8F89 (failure)."""
        if alert_code not in (ALERT_FIRMWARE_TRANSFER_SUCCESS, ALERT_FIRMWARE_TRANSFER_FAILURE):
            raise GbcsFramingError(
                f"CCS08 alert code must be 0x8F8A or 0x8F89, got 0x{alert_code:X}"
            )
        return cls(alert_code, when, entity_id, firmware_version, response_code)


class FirmwareTransferResponse(enum.IntEnum):
    """Why the image did not reach the device (the response code of a 0x8F89 alert)."""

    SUCCESS = 0
    IMAGE_DISCARDED = 1
    HARDWARE_VERSION_MISMATCH = 2
    FILE_TRANSFER_FAILURE = 3


USE_CASES = (UseCase(MessageCode.CCS08, "CCS08", alert=FirmwareTransferAlert.decode),)
