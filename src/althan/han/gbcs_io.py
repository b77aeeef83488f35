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

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from althan import gbcs
from althan.gbcs import builders as B
from althan.han.image import TransferResult
from althan.model import ACCESS_CONTROL_BROKER_EUI, EUI64, FirmwareVersion

__all__ = [
    "CRITICAL_USE_CASES",
    "DLMS_RESULT_REFUSED",
    "CriticalRefused",
    "GbcsIoError",
    "InboundCommand",
    "KeySource",
    "TrustSource",
    "ccs01_response",
    "ccs08_alert",
    "credential_key",
    "critical_response",
    "cs08_response",
    "cs09_alert",
    "originator_counter",
    "parse_command",
]

CRITICAL_USE_CASES = frozenset({"CS02b", "CS02d", "ECS70"})
"""Critical commands (signed by a remote party, MAC'd by the ACB) the simulated devices obey."""

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
    if msg.message_code == gbcs.builders.MESSAGE_CODE_ECS70:
        return InboundCommand("ECS70", msg)
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


def _ecs70_response(cmd: gbcs.GbcsMessage, now: float) -> gbcs.DlmsAccessResponse:
    from althan.gbcs.codec import DlmsData, Reader
    from althan.gbcs.usecases import decode_access_request

    try:
        p = decode_access_request(Reader(cmd.content))
    except gbcs.GbcsError as e:
        raise GbcsIoError(f"ECS70 to {cmd.target}: not a DLMS ACCESS request: {e}") from e
    t = _when(now)
    clock = (
        t.year.to_bytes(2, "big")
        + bytes([t.month, t.day, 0xFF, t.hour, t.minute, t.second, 0])
        + b"\x80\x00\x00"
    )
    data = tuple(
        DlmsData(0x09, clock)
        if s.kind == 1 and s.member_id == 2
        else DlmsData(0x11, 0)
        if s.kind == 1
        else DlmsData(0, None)
        for s in p.specs
    )
    from althan.gbcs.usecases import AccessResult

    return gbcs.DlmsAccessResponse(
        p.invoke_id, data, tuple(AccessResult(s.kind, 0) for s in p.specs)
    )


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

    The command must carry the ACB's MAC (device KA key with the ACB's KA public key) and the
    signature of its business originator with the DS key the device trusts for that remote
    party (a supplier-replaced one under ``credentials["ds:<EUI>"]`` first); otherwise
    :class:`CriticalRefused` and nothing changes."""
    m = cmd.message
    if cmd.kind not in CRITICAL_USE_CASES:
        raise GbcsIoError(f"{cmd.kind} is not a critical command the device obeys")
    dev_ka = keys.key_for(m.target, "ka")
    if not gbcs.verify_mac(m, private_key=dev_ka, public_key=_acb_public(keys)):
        raise CriticalRefused(f"{cmd.kind} to {m.target}: ACB MAC not valid")
    replaced = credentials.get(f"ds:{m.originator}")
    ds = (
        serialization.load_der_public_key(replaced)
        if replaced is not None
        else trust.remote_party_ds_public(m.originator)
    )
    if not isinstance(ds, ec.EllipticCurvePublicKey) or not gbcs.verify_signature(m, ds):
        raise CriticalRefused(f"{cmd.kind} to {m.target}: signature of {m.originator} not valid")
    payload: gbcs.usecases.Payload
    if isinstance(m.payload, gbcs.UpdateSecurityCredentialsCommand):
        payload = _apply_cs02b(m, credentials, now, ds)
    elif isinstance(m.payload, gbcs.UpdateDeviceCertificateCommand):
        credentials["device-cert"] = m.payload.certificate
        payload = gbcs.ResponseCode(0)
    else:
        payload = _ecs70_response(m, now)
    return gbcs.builders.build_critical_response_to(
        m, payload, device_ds_key=keys.key_for(m.target, "ds")
    )


# ------------------------------------------------------------------ CS02b (6.15.1)

_X500_UNIQUE_IDENTIFIER = x509.ObjectIdentifier("2.5.4.45")
_PENDING_CS02B = "cs02b-pending"
_CANCELLATION = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def credential_key(usage: str, top_up: bool, eui: EUI64) -> str:
    """Where a device keeps a remote party's trust anchor public key (SubjectPublicKeyInfo DER)
    in ``credentials``: "ds:<EUI>", "ka:<EUI>" or "ka-topup:<EUI>"; its certificate is under
    the same key with "-cert" after the usage ("ds-cert:<EUI>")."""
    return f"{usage}{'-topup' if top_up else ''}:{eui}"


def _cert_key(usage: str, top_up: bool, eui: EUI64) -> str:
    u, _, e = credential_key(usage, top_up, eui).partition(":")
    return f"{u}-cert:{e}"


def _subject_eui(cert: x509.Certificate) -> EUI64 | None:
    attrs = cert.subject.get_attributes_for_oid(_X500_UNIQUE_IDENTIFIER)
    raw = attrs[0].value if attrs else None
    if isinstance(raw, bytes) and len(raw) == 9 and raw[0] == 0:
        return EUI64.from_bytes(raw[1:])
    return None


def _ski(cert: x509.Certificate) -> bytes:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return b""


def _usable(cert: x509.Certificate, usage: str) -> bool:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ku.digital_signature if usage == "ds" else ku.key_agreement


def _replace_one(
    rep: B.TrustAnchorReplacement,
    role: int,
    path: list[x509.Certificate],
    originator: EUI64,
    credentials: dict[str, bytes],
    current_ds: ec.EllipticCurvePublicKey,
) -> B.ReplacementOutcome:
    cell = rep.cell
    old_cert = credentials.get(_cert_key(cell.usage, cell.top_up, originator))
    if old_cert is not None:
        old = x509.load_der_x509_certificate(old_cert)
        existing = (originator.to_bytes(), _ski(old))
    else:  # the anchor installed at commissioning: the device knows its key only
        known = cell.usage == "ds" and not cell.top_up
        existing = (originator.to_bytes(), _key_id(current_ds) if known else b"")

    def outcome(status: int, new_eui: bytes = b"", new_ski: bytes = b"") -> B.ReplacementOutcome:
        return B.ReplacementOutcome(cell, status, *existing, new_eui, new_ski)

    if cell.role != role:
        return outcome(B.STATUS_TRUST_ANCHOR_NOT_FOUND)
    try:
        cert = x509.load_der_x509_certificate(rep.certificate)
    except ValueError:
        return outcome(B.STATUS_BAD_CERTIFICATE)
    eui = _subject_eui(cert)
    issued = False
    for ca in path:
        try:
            cert.verify_directly_issued_by(ca)
            issued = True
            break
        except (ValueError, TypeError, InvalidSignature):
            continue
    pub = cert.public_key()
    if eui is None or not issued or not _usable(cert, cell.usage):
        return outcome(B.STATUS_BAD_CERTIFICATE)
    if not isinstance(pub, ec.EllipticCurvePublicKey):
        return outcome(B.STATUS_BAD_CERTIFICATE)
    spki = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    credentials[credential_key(cell.usage, cell.top_up, eui)] = spki
    credentials[_cert_key(cell.usage, cell.top_up, eui)] = rep.certificate
    return outcome(B.STATUS_SUCCESS, eui.to_bytes(), _ski(cert))


def _key_id(pub: ec.EllipticCurvePublicKey) -> bytes:
    return x509.SubjectKeyIdentifier.from_public_key(pub).digest[:8]


def _apply_cs02b(
    m: gbcs.GbcsMessage,
    credentials: dict[str, bytes],
    now: float,
    current_ds: ec.EllipticCurvePublicKey,
) -> gbcs.UpdateSecurityCredentialsResponse:
    """CS02b KRP update from its (already authenticated) remote party: replace its trust
    anchors now, or hold a future-dated one (a cancellation drops what is held)."""
    assert isinstance(m.payload, gbcs.UpdateSecurityCredentialsCommand)
    try:
        update = B.CredentialsUpdate.from_payload(m.payload)
    except gbcs.GbcsError as e:
        raise GbcsIoError(f"CS02b to {m.target}: {e}") from e
    role = {mode: role for role, mode in B.KRP_MODES.items()}.get(update.mode)
    if role is None or m.message_code != update.message_code:
        raise GbcsIoError(f"CS02b to {m.target}: mode {update.mode} is not a KRP update")
    if update.execution_time is not None and update.execution_time == _CANCELLATION:
        credentials.pop(_PENDING_CS02B, None)
        return gbcs.UpdateSecurityCredentialsResponse()
    if update.execution_time is not None and update.execution_time > _when(now):
        credentials[_PENDING_CS02B] = m.payload.encode()
        return gbcs.UpdateSecurityCredentialsResponse()
    path: list[x509.Certificate] = []
    for der in update.certification_path:
        try:
            path.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    outcomes = [
        _replace_one(r, role, path, m.originator, credentials, current_ds)
        for r in update.replacements
    ]
    return B.cs02b_response(update, outcomes)
