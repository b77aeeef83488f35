"""Every DUIS response code and DCC alert code this implementation emits, in one place.

Each DCC alert code is bound to the type of the body it carries (`althan.dsp.bodies`): an
alert is sent by its body, and `alert_for(body)` names its code.

The DUIS alert catalogue beyond N39 is not public; the N-codes other than N39 below are our
choices (docs/duis.md lists them). The response codes are DUIS's own enumeration; which one we
answer when is our reading of DUIS, documented in docs/duis.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from althan.dsp.bodies import (
    AlertBody,
    CommandFailure,
    CommsHubFirmwareTransfer,
    CspDeliveryStatus,
    EndpointTest,
    FirmwareDistributionFailure,
    FirmwareVersionMismatch,
    PpmidFirmwareAlert,
    QuarantinedRequest,
)


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    meaning: str


# --- Response codes (sr:ResponseCode) -------------------------------------------------------
I0: Final = Code("I0", "Success (non-device Service Request processed; payload attached)")
I99: Final = Code("I99", "Acknowledgement: device Service Request accepted, response follows")
E1: Final = Code("E1", "Signature missing or not valid")
E2: Final = Code("E2", "Signer's certificate unknown, or user not registered")
E3: Final = Code("E3", "User role not eligible for this Service Request")
E4: Final = Code("E4", "RequestID originator is not the signer, or RequestID malformed")
E5: Final = Code("E5", "Target device not known to the SMI")
E11: Final = Code("E11", "CommandVariant not allowed for this Service Request")
E12: Final = Code("E12", "RequestID counter not strictly greater than the user's last (replay)")
E13: Final = Code("E13", "RequestID business target is not the DCC")
E17: Final = Code("E17", "User may not act on this device")
E19: Final = Code("E19", "Service Request not valid against the DUIS schema, or not well-formed")
E20: Final = Code("E20", "Device status does not allow this Service Request")
E21: Final = Code("E21", "Service Request not supported by this service (althan)")
E30: Final = Code(
    "E30", "Signed Pre-Command does not match a Pre-Command the DSP issued for this RequestID"
)
E31: Final = Code("E31", "Signed Pre-Command's GBCS signature not valid for the user's DS key")
E48: Final = Code(
    "E48",
    "Quarantined by anomaly detection and not released: rejected by a DCC operator, or "
    "expired unreviewed; never processed",
)
E100: Final = Code("E100", "Request too large, or sent to the wrong DUIS web service")
E080201: Final = Code("E080201", "8.2: no device matches")
E080405: Final = Code("E080405", "8.4: device not known")
E080406: Final = Code("E080406", "8.4: AltHANDeviceVariant given for a device that is not a PPMID")
E080724: Final = Code("E080724", "8.7.2: target is an Alt HAN P2P device (SECMP0170)")
E080823: Final = Code("E080823", "8.8.2: target is an Alt HAN P2P device (SECMP0170)")
E081101: Final = Code("E081101", "8.11: the CHF device log is full (six Type 1 devices)")
E081102: Final = Code("E081102", "8.11: RequestType Add without AddDeviceToCHFWhitelist")
E110401: Final = Code(
    "E110401", "11.4: the image is not a ZigBee OTA upgrade file, or not of FirmwareVersion"
)
E110402: Final = Code("E110402", "11.4: the firmware image is larger than 10,240,000 bytes")
E110403: Final = Code("E110403", "11.4: more than 50,000 device IDs")
W110401: Final = Code("W110401", "11.4: accepted; some devices listed in the warning lists")
E120201: Final = Code("E120201", "12.2: device already known to the SMI")
E120204: Final = Code("E120204", "12.2: AltHANDeviceVariant given for a device that is not a PPMID")


# --- DCC alerts (sr:DCCAlertCode) -> the DCCAlert body they carry -----------------------------
@dataclass(frozen=True, slots=True)
class DccAlert:
    code: str
    body: type[AlertBody]
    meaning: str

    @property
    def element(self) -> str:
        """The name of the sr:DCCAlert child element this code carries."""
        return self.body.ELEMENT


N39: Final = DccAlert("N39", PpmidFirmwareAlert, "PPMID (incl. Alt HAN bridge) firmware activation")
N42: Final = DccAlert(
    "N42", FirmwareVersionMismatch, "device's firmware version differs from the SMI"
)
N55: Final = DccAlert("N55", CspDeliveryStatus, "CSP delivered (or failed) to a CH")
N56: Final = DccAlert(
    "N56",
    CommsHubFirmwareTransfer,
    "CH firmware transfer to a device: 0x8F8A done / 0x8F89 failed",
)

RESPONSE_CODES: Final = (
    I0, I99, E1, E2, E3, E4, E5, E11, E12, E13, E17, E19, E20, E21, E30, E31, E48, E100,
    E080201, E080405, E080406, E080724, E080823, E081101, E081102, E110401, E110402, E110403,
    W110401, E120201, E120204,
)  # fmt: skip
N57: Final = DccAlert(
    "N57",
    FirmwareDistributionFailure,
    "an 11.4's deliveries timed out without an outcome; the devices are free again",
)
N58: Final = DccAlert(
    "N58",
    CommandFailure,
    "a device Service Request's command had no response from the device in time",
)
N48: Final = DccAlert(
    "N48",
    QuarantinedRequest,
    "the user's request breached an anomaly-detection threshold and is quarantined",
)
N999: Final = DccAlert(
    "N999", EndpointTest, "test alert a user asked for (SSI DUIS interface settings)"
)
DCC_ALERTS: Final = (N39, N42, N48, N55, N56, N57, N58, N999)

RESPONSE_BY_CODE: Final = {c.code: c for c in RESPONSE_CODES}
_ALERT_BY_BODY: Final = {a.body: a for a in DCC_ALERTS}


def alert_for(body: AlertBody) -> DccAlert:
    """The DCC alert code that carries `body` (KeyError: a body no code is bound to)."""
    return _ALERT_BY_BODY[type(body)]
