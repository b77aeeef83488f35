"""ECS70 Set Clock on ESME (DUIS 8.1.1 / 6.11, critical): a DLMS ACCESS request on the clock
object. Built here; on decode it stays a RawPayload (the registry does not type it), so the
device side reads it with ``DlmsAccessRequest.decode``."""

from __future__ import annotations

from datetime import datetime, timedelta

from althan.gbcs.codec import (
    DLMS_ENUM,
    DLMS_NULL,
    DLMS_OCTET_STRING,
    DLMS_STRUCTURE,
    DlmsData,
    dlms_datetime,
)
from althan.gbcs.usecases.dlms import (
    DLMS_ACTION,
    DLMS_GET,
    DLMS_SET,
    AccessSpec,
    DlmsAccessRequest,
    default_invoke_id,
)

CLOCK_CLASS = 0x0008
CLOCK_OBIS = bytes.fromhex("0000010000FF")
DLMS_INTEGER = 0x0F
_UNSPECIFIED = bytes.fromhex("FFFFFFFFFFFFFFFFFF8000FF")


def _clock(when: datetime) -> bytes:
    return dlms_datetime(when, weekday=False, clock_status=0xFF)


def ecs70_set_clock(current: datetime, tolerance_s: int, counter: int) -> DlmsAccessRequest:
    """ECS70 Set Clock on ESME: synchronise the clock to ``current`` within ``tolerance_s``
    seconds, then read back the clock status and time (as the RTDS does)."""
    specs = tuple(
        AccessSpec(kind, CLOCK_CLASS, CLOCK_OBIS, member)
        for kind, member in (
            (DLMS_SET, 9),
            (DLMS_ACTION, 5),
            (DLMS_ACTION, 4),
            (DLMS_GET, 2),
            (DLMS_GET, 4),
        )
    )
    window = (
        DlmsData(DLMS_OCTET_STRING, _UNSPECIFIED),
        DlmsData(DLMS_OCTET_STRING, _clock(current)),
        DlmsData(DLMS_OCTET_STRING, _clock(current + timedelta(seconds=tolerance_s))),
    )
    data = (
        DlmsData(DLMS_ENUM, 5),
        DlmsData(DLMS_STRUCTURE, window),
        DlmsData(DLMS_INTEGER, 0),
        DlmsData(DLMS_NULL, None),
        DlmsData(DLMS_NULL, None),
    )
    return DlmsAccessRequest(default_invoke_id(counter), specs, data)
