"""GBCS the DSP receives: alerts are believed only when their signature verifies."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from althan import gbcs
from althan.dsp.gbcs_out import DspGbcsKeys
from althan.model import EUI64


@dataclass(frozen=True, slots=True)
class DecodedAlert:
    kind: str  # "CS09" | "CCS08"
    device: EUI64  # the alert's subject: the activated device, or the CCS08 entity
    alert_code: int
    success: bool
    firmware_version: str
    when: datetime | None


@dataclass(frozen=True, slots=True)
class DecodedResponse:
    success: bool
    firmware_version: str | None


def decode_alert(data: bytes, keys: DspGbcsKeys) -> DecodedAlert | None:
    """None when the bytes do not decode, are not a firmware alert, or fail their signature."""
    try:
        msg = gbcs.decode(data)
    except gbcs.GbcsError:
        return None
    p = msg.payload
    key = keys.device_ds_public(msg.originator)
    if key is None or msg.signature is None or not gbcs.verify_signature(msg, key):
        return None
    if isinstance(p, gbcs.FirmwareActivationAlert):
        return DecodedAlert(
            "CS09",
            msg.originator,
            p.alert_code,
            p.activation_status == 0,
            str(p.firmware_version),
            p.execution_time,
        )
    if isinstance(p, gbcs.FirmwareTransferAlert):
        return DecodedAlert(
            "CCS08",
            p.entity_id,
            p.alert_code,
            p.alert_code == gbcs.ALERT_FIRMWARE_TRANSFER_SUCCESS,
            str(p.firmware_version),
            p.execution_time,
        )
    return None


def decode_response(
    data: bytes, keys: DspGbcsKeys, *, responders: Collection[EUI64], counter: int
) -> DecodedResponse | None:
    """A device's response to a command the ACB sent for a user, or None when it is not
    believed: it must come from one of `responders` (the device or its CHF), answer the user's
    request (`counter`: the supplementary remote party counter it echoes, or its transaction
    ID when it echoes none), and carry a MAC that verifies with the ACB's KA key and the
    responder's, or (a response to a critical command) the responder's DS signature."""
    try:
        msg = gbcs.decode(data)
    except gbcs.GbcsError:
        return None
    echoed = msg.other_info.supplementary_remote_party_counter
    if (
        msg.originator not in responders
        or (echoed if echoed is not None else msg.transaction_id) != counter
    ):
        return None
    if msg.mac is not None:
        dev_ka = keys.device_ka_public(msg.originator)
        if dev_ka is None or not gbcs.verify_mac(
            msg, private_key=keys.acb_ka_private, public_key=dev_ka
        ):
            return None
    elif not signed_by(data, msg.originator, keys):
        return None
    p = msg.payload
    if isinstance(p, gbcs.ReadFirmwareVersionResponse):
        return DecodedResponse(p.response_code == 0, str(p.firmware_version))
    if isinstance(p, gbcs.ResponseCode):
        return DecodedResponse(p.response_code == 0, None)
    return DecodedResponse(True, None)  # a DLMS response (CCS01/CCS02), or not typed here


def signed_by(data: bytes, device: EUI64, keys: DspGbcsKeys) -> bool:
    """True when ``data`` is a GBCS message from ``device`` that its DS key verifies (the
    device's response to a critical command)."""
    try:
        m = gbcs.decode(data)
    except gbcs.GbcsError:
        return False
    key = keys.device_ds_public(device)
    return (
        m.originator == device
        and key is not None
        and m.signature is not None
        and gbcs.verify_signature(m, key)
    )
