"""CS09 PPMID Firmware Activation Alert (0x8F8B): the device reports the firmware it runs after
activating an image, signed by its DS key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from althan.gbcs.layout import FIRMWARE_VERSION, INTEGER, TIME, DerSequence, wire
from althan.gbcs.usecases.base import ALERT_PPMID_FIRMWARE_ACTIVATION, MessageCode, UseCase
from althan.model import FirmwareVersion


@dataclass(frozen=True, slots=True)
class FirmwareActivationAlert(DerSequence):
    """CS09 alert payload (message code 0x012B). ``activation_status``: 0 success, 1 failure.
    The alert code goes first on the wire, but is the last attribute (it has a default)."""

    MESSAGE_CODE: ClassVar[int] = MessageCode.CS09
    WHAT = "CS09 alert"
    WIRE_ORDER = ("alert_code", "execution_time", "firmware_version", "activation_status")

    execution_time: datetime = field(metadata=wire(TIME, "execution date-time"))
    firmware_version: FirmwareVersion = field(metadata=wire(FIRMWARE_VERSION, "firmware version"))
    activation_status: int = field(default=0, metadata=wire(INTEGER, "activation status"))
    alert_code: int = field(
        default=ALERT_PPMID_FIRMWARE_ACTIVATION, metadata=wire(INTEGER, "alert code")
    )


USE_CASES = (UseCase(MessageCode.CS09, "CS09", alert=FirmwareActivationAlert.decode),)
