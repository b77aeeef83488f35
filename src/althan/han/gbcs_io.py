"""What the simulated devices and Comms Hubs say in GBCS, and which commands they obey.

The network speaks real GBCS: it decodes the commands the DSP sends and answers with real,
signed / MAC'd messages built with :mod:`althan.gbcs.build`:

* CS09 (0x8F8B) PPMID firmware activation alert, signed with the device's DS key;
* CCS08 (0x8F8A / 0x8F89) firmware transfer alert, signed with the CHF's DS key;
* CS08 response carrying the device's running firmware version, MAC'd device ↔ ACB;
* CCS01 response from the CHF (success, or a refused device-log entry), MAC'd CHF ↔ ACB;
* the critical commands a device obeys (CS02b, CS02d, ECS70), once
  :func:`althan.gbcs.authenticate_critical` believes them, answered signed by the device.

Keys come from a :class:`KeySource` (the fleet's generated device PKI,
``althan.smki.device_pki.DevicePki``): ``key_for(eui, "ds")`` signs, ``key_for(eui, "ka")``
MACs, with ``key_for(DCC_EUI, "ka")`` as the other end of the MAC (so the
DSP verifies with the ACB's KA private key and the device's KA public key).
Times are the simulator's seconds, read as POSIX seconds (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from althan import gbcs
from althan.gbcs.codec import DLMS_OCTET_STRING, DlmsData, Reader
from althan.han.image import TransferResult
from althan.model import DCC_EUI, EUI64, FirmwareVersion

__all__ = [
    "CRITICAL_USE_CASES",
    "DLMS_RESULT_REFUSED",
    "CriticalRefused",
    "GbcsIoError",
    "InboundCommand",
    "KeySource",
    "TrustSource",
    "ccs08_alert",
    "credential_key",
    "critical_response",
    "cs08_response",
    "cs09_alert",
    "device_log_response",
    "originator_counter",
    "parse_command",
]

CRITICAL_USE_CASES = frozenset({"CS02b", "CS02d", "ECS70"})
"""Critical commands (signed by a remote party, MAC'd by the ACB) the simulated devices obey."""

DLMS_RESULT_REFUSED = 3  # DLMS "read-write-denied": device log full (7th Type 1 device)
DLMS_UNSIGNED = 0x11

credential_key = gbcs.credential_key
"""Where a device keeps a remote party's trust anchors in its ``credentials``."""

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

    kind: str  # "CS08", "CCS01", "CCS02", "ECS70", or the use case name of anything else
    message: gbcs.GbcsMessage
    log_entry: EUI64 | None = None  # CCS01 / CCS02: the device added to or removed from the log
    device_type: int | None = None  # CCS01 (ZigBee device type in the register_device call)


class TrustSource(Protocol):
    """Who a device trusts as a remote party: the DS public key it holds for ``eui``
    (installed at commissioning; `althan.runtime.keys.FleetKeys` fits)."""

    def remote_party_ds_public(self, eui: EUI64) -> ec.EllipticCurvePublicKey | None: ...


class CriticalRefused(GbcsIoError):
    """A critical command the device discards (MAC or remote party signature not valid)."""


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
    if isinstance(p, gbcs.DeviceLogRemoveCommand):
        return InboundCommand("CCS02", msg, p.device_id)
    if msg.message_code == gbcs.MessageCode.ECS70:
        return InboundCommand("ECS70", msg)
    return InboundCommand(msg.use_case, msg)


def _acb_public(keys: KeySource) -> ec.EllipticCurvePublicKey:
    return keys.key_for(DCC_EUI, "ka").public_key()


def _mac_answer(cmd: InboundCommand, payload: gbcs.Payload, keys: KeySource) -> bytes:
    """The addressee's response to ``cmd``, MAC'd with its KA key and the ACB's."""
    return gbcs.seal(
        gbcs.response_to(cmd.message, payload),
        ka_private=keys.key_for(cmd.message.target, "ka"),
        ka_public=_acb_public(keys),
    )


def cs08_response(cmd: InboundCommand, version: int, keys: KeySource) -> bytes:
    """The device's CS08 response to `cmd`: its running firmware version."""
    return _mac_answer(cmd, gbcs.ReadFirmwareVersionResponse(FirmwareVersion(version)), keys)


def device_log_response(cmd: InboundCommand, accepted: bool, keys: KeySource) -> bytes:
    """The CHF's response to a CCS01 or CCS02: all-success, or the register_device action
    refused (a CCS01 the full log turned down)."""
    p = cmd.message.payload
    assert isinstance(p, gbcs.DeviceLogAddCommand | gbcs.DeviceLogRemoveCommand)
    request = p.to_access()
    results = None if accepted else (DLMS_RESULT_REFUSED,) * len(request.specs)
    return _mac_answer(cmd, gbcs.DlmsAccessResponse.answering(request, results), keys)


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
    alert = gbcs.FirmwareTransferAlert.of(
        entity_id=device,
        firmware_version=FirmwareVersion(version),
        when=_when(now),
        alert_code=(
            gbcs.ALERT_FIRMWARE_TRANSFER_SUCCESS if ok else gbcs.ALERT_FIRMWARE_TRANSFER_FAILURE
        ),
        response_code=_TRANSFER_CODE[result],
    )
    msg = gbcs.alert(alert, chf, originator_counter(now, seq))
    return gbcs.seal(msg, ds_private=keys.key_for(chf, "ds"))


def cs09_alert(device: EUI64, version: int, now: float, keys: KeySource, seq: int) -> bytes:
    """CS09 from the device after it activated `version` (0x8F8B), signed by the device."""
    alert = gbcs.FirmwareActivationAlert(_when(now), FirmwareVersion(version))
    msg = gbcs.alert(alert, device, originator_counter(now, seq))
    return gbcs.seal(msg, ds_private=keys.key_for(device, "ds"))


def _ecs70_response(cmd: gbcs.GbcsMessage, now: float) -> gbcs.DlmsAccessResponse:
    """The ESME synchronises its clock and answers each read with its clock (time) or 0."""
    try:
        request = gbcs.DlmsAccessRequest.decode(Reader(cmd.content))
    except gbcs.GbcsError as e:
        raise GbcsIoError(f"ECS70 to {cmd.target}: not a DLMS ACCESS request: {e}") from e
    clock = gbcs.dlms_datetime(_when(now), weekday=False)
    data = tuple(
        DlmsData(DLMS_OCTET_STRING, clock)
        if s.kind == 1 and s.member_id == 2
        else DlmsData(DLMS_UNSIGNED, 0)
        if s.kind == 1
        else DlmsData(0, None)
        for s in request.specs
    )
    return gbcs.DlmsAccessResponse.answering(request, data=data)


def critical_response(
    cmd: InboundCommand,
    credentials: dict[str, bytes],
    now: float,
    keys: KeySource,
    trust: TrustSource,
) -> bytes:
    """A device obeys a critical command (CS02b: replace a remote party's trust anchors in
    ``credentials``; CS02d: store its new device certificate; ECS70: synchronise its clock)
    and answers, signed by its DS key.

    The command must carry the ACB's MAC and the signature of its business originator with the
    DS key the device trusts for that remote party (one a CS02b put in ``credentials`` first,
    else the one installed at commissioning); otherwise :class:`CriticalRefused` and nothing
    changes."""
    m = cmd.message
    if cmd.kind not in CRITICAL_USE_CASES:
        raise GbcsIoError(f"{cmd.kind} is not a critical command the device obeys")
    ds = gbcs.replaced_ds_key(credentials, m.originator) or trust.remote_party_ds_public(
        m.originator
    )
    try:
        gbcs.authenticate_critical(
            m, device_ka=keys.key_for(m.target, "ka"), acb_ka=_acb_public(keys), originator_ds=ds
        )
    except gbcs.GbcsRefusedError as e:
        raise CriticalRefused(f"{cmd.kind} to {m.target}: {e}") from e
    assert ds is not None  # authenticated: the signature verified with it
    payload: gbcs.Payload
    if isinstance(m.payload, gbcs.UpdateSecurityCredentialsCommand):
        try:
            payload = gbcs.execute_cs02b(m, credentials, _when(now), ds)
        except gbcs.GbcsError as e:
            raise GbcsIoError(f"CS02b to {m.target}: {e}") from e
    elif isinstance(m.payload, gbcs.UpdateDeviceCertificateCommand):
        credentials["device-cert"] = m.payload.certificate
        payload = gbcs.ResponseCode(0)
    else:
        payload = _ecs70_response(m, now)
    return gbcs.seal(gbcs.response_to(m, payload), ds_private=keys.key_for(m.target, "ds"))
