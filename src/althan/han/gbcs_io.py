"""Every GBCS call of the simulated network, in one place.

The network speaks real GBCS: it decodes the commands the DSP sends (CS08, CCS01) and builds
real, signed / MAC'd responses and alerts with :mod:`althan.gbcs`:

* CS09 (0x8F8B) PPMID firmware activation alert, signed with the device's DS key;
* CCS08 (0x8F8A / 0x8F89) firmware transfer alert, signed with the CHF's DS key;
* CS08 response carrying the device's running firmware version, MAC'd device ↔ ACB;
* CCS01 response from the CHF (success, or a refused device-log entry), MAC'd CHF ↔ ACB.

Keys come from a :class:`KeySource` (the fleet's generated device PKI,
``althan.smki.device_pki.DevicePki``): ``key_for(eui, "ds")`` signs alerts, ``key_for(eui, "ka")``
MACs responses, with ``key_for(ACCESS_CONTROL_BROKER_EUI, "ka")`` as the other end of the MAC
(so the DSP verifies with the ACB's KA private key and the device's KA public key).
Times are the simulator's seconds, read as POSIX seconds (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from althan import gbcs
from althan.han.hub import TransferResult
from althan.model import ACCESS_CONTROL_BROKER_EUI, EUI64, FirmwareVersion

__all__ = [
    "DLMS_RESULT_REFUSED",
    "GbcsIoError",
    "InboundCommand",
    "KeySource",
    "ccs01_response",
    "ccs08_alert",
    "cs08_response",
    "cs09_alert",
    "originator_counter",
    "parse_command",
]

DLMS_RESULT_REFUSED = 3  # DLMS "read-write-denied": device log full (7th Type 1 device)

_TRANSFER_CODE = {
    TransferResult.SUCCESS: 0,
    TransferResult.IMAGE_DISCARDED: int(gbcs.FirmwareTransferResponse.IMAGE_DISCARDED),
    TransferResult.HARDWARE_VERSION_MISMATCH: int(
        gbcs.FirmwareTransferResponse.HARDWARE_VERSION_MISMATCH
    ),
    TransferResult.FILE_TRANSFER_FAILURE: int(gbcs.FirmwareTransferResponse.FILE_TRANSFER_FAILURE),
}


class GbcsIoError(ValueError):
    """A GBCS command the network cannot act on (malformed, or not addressed to it)."""


Usage = Literal["ds", "ka"]


class KeySource(Protocol):
    """`althan.smki.device_pki.DevicePki` fits: a P-256 private key per (EUI, usage)."""

    def key_for(self, eui: EUI64, usage: Usage = ...) -> ec.EllipticCurvePrivateKey: ...


@dataclass(frozen=True, slots=True)
class InboundCommand:
    """A decoded GBCS command the network acts on."""

    kind: str  # "CS08", "CCS01", or the use case name of anything else
    message: gbcs.GbcsMessage
    device_to_add: EUI64 | None = None  # CCS01
    device_type: int | None = None  # CCS01 (ZigBee device type in the register_device call)


def originator_counter(now: float, seq: int) -> int:
    """An originator counter that grows with time: seconds << 24 | a sender's sequence."""
    return (int(max(now, 0.0)) << 24) | (seq & 0xFFFFFF)


def _when(now: float) -> datetime:
    return datetime.fromtimestamp(int(max(now, 0.0)), UTC)


def parse_command(payload: bytes) -> InboundCommand:
    try:
        msg = gbcs.decode(payload)
    except gbcs.GbcsError as e:
        raise GbcsIoError(f"undecodable GBCS command: {e}") from e
    if msg.cra_flag != gbcs.CraFlag.COMMAND:
        raise GbcsIoError(f"not a command: {msg.use_case} with CRA flag {msg.cra_flag}")
    p = msg.payload
    if isinstance(p, gbcs.DeviceLogAddCommand):
        return InboundCommand("CCS01", msg, p.device_id, p.device_type)
    return InboundCommand(msg.use_case, msg)


def _acb_public(keys: KeySource) -> ec.EllipticCurvePublicKey:
    return keys.key_for(ACCESS_CONTROL_BROKER_EUI, "ka").public_key()


def cs08_response(cmd: InboundCommand, version: int, now: float, keys: KeySource) -> bytes:
    """The device's CS08 response to `cmd`: its running firmware version."""
    return gbcs.build_cs08_response_to(
        cmd.message,
        firmware_version=FirmwareVersion(version),
        ka_private=keys.key_for(cmd.message.target, "ka"),
        ka_public=_acb_public(keys),
    )


def ccs01_response(cmd: InboundCommand, accepted: bool, now: float, keys: KeySource) -> bytes:
    """The CHF's response to a CCS01: all-success, or the register_device action refused."""
    p = cmd.message.payload
    assert isinstance(p, gbcs.DeviceLogAddCommand)
    n = len(p.to_access().specs)
    results = tuple(0 for _ in range(n)) if accepted else (DLMS_RESULT_REFUSED,) * n
    return gbcs.build_device_log_response_to(
        cmd.message,
        ka_private=keys.key_for(cmd.message.target, "ka"),
        ka_public=_acb_public(keys),
        results=results,
    )


def ccs08_alert(
    chf: EUI64,
    device: EUI64,
    result: TransferResult,
    version: int,
    now: float,
    keys: KeySource,
    seq: int,
) -> bytes:
    """CCS08 from the CHF: 0x8F8A when the image reached `device`, 0x8F89 otherwise."""
    ok = result is TransferResult.SUCCESS
    return gbcs.build_ccs08_alert(
        chf=chf,
        entity_id=device,
        firmware_version=FirmwareVersion(version),
        when=_when(now),
        counter=originator_counter(now, seq),
        chf_ds_key=keys.key_for(chf, "ds"),
        alert_code=(
            gbcs.ALERT_FIRMWARE_TRANSFER_SUCCESS if ok else gbcs.ALERT_FIRMWARE_TRANSFER_FAILURE
        ),
        response_code=_TRANSFER_CODE[result],
    )


def cs09_alert(device: EUI64, version: int, now: float, keys: KeySource, seq: int) -> bytes:
    """CS09 from the device after it activated `version` (0x8F8B), signed by the device."""
    return gbcs.build_cs09_alert(
        device=device,
        firmware_version=FirmwareVersion(version),
        when=_when(now),
        counter=originator_counter(now, seq),
        device_ds_key=keys.key_for(device, "ds"),
    )
