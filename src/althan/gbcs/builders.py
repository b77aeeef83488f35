"""Builders of real, signed and/or MAC'd GBCS messages for the firmware flow.

Which protection each message carries (as in the DCC Reference Test Data Set):

* CS08 command (ACB → PPMID/HCALCS, on a user's behalf): 0xDD form, no signature, MAC;
  CS08 response (device → ACB): 0xDD form, no signature, MAC.
* CS09 alert (PPMID → ACB): 0xDF form, signed by the device's DS key.
* CCS08 alert (CHF → ACB): 0xDF form, signed by the CHF's DS key.
* CCS01 / CCS02 command (ACB → CHF) and response: 0xDD form, no signature, MAC.

MAC keys: ``ka_private`` is the sender's (or either end's) KA private key, ``ka_public`` the
other end's KA public key; see ``crypto`` for why either direction works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec

from althan.gbcs.codec import (
    DLMS_ENUM,
    DLMS_NULL,
    DLMS_OCTET_STRING,
    DLMS_STRUCTURE,
    TAG_SEQUENCE,
    DlmsData,
    Reader,
    der,
    der_integer,
    der_octets,
    read_any_tlv,
    read_integer,
    read_octets,
    read_tlv,
)
from althan.gbcs.crypto import apply_mac, sign_message
from althan.gbcs.errors import GbcsCryptoError, GbcsFramingError, GbcsPayloadError
from althan.gbcs.frame import (
    DEFAULT_SECURITY_HEADER,
    GbcsMessage,
    OtherInformation,
    decode,
    encode,
)
from althan.gbcs.usecases import (
    ALERT_FIRMWARE_TRANSFER_FAILURE,
    ALERT_FIRMWARE_TRANSFER_SUCCESS,
    DLMS_ACTION,
    DLMS_GET,
    DLMS_SET,
    AccessResult,
    AccessSpec,
    CraFlag,
    DeviceLogAddCommand,
    DeviceLogRemoveCommand,
    DeviceTypeCode,
    DlmsAccessRequest,
    DlmsAccessResponse,
    FirmwareActivationAlert,
    FirmwareTransferAlert,
    JoinDeviceCommand,
    MessageCode,
    Payload,
    ReadFirmwareVersionCommand,
    ReadFirmwareVersionResponse,
    UnjoinDeviceCommand,
    UpdateSecurityCredentialsCommand,
    UpdateSecurityCredentialsResponse,
)
from althan.model import ACCESS_CONTROL_BROKER_EUI, EUI64, FirmwareVersion

_U64 = (1 << 64) - 1


def dlms_datetime(when: datetime) -> bytes:
    """A 12-byte DLMS date-time (deviation and clock status 'not specified', as GBCS uses)."""
    dow = when.isoweekday()
    return (
        when.year.to_bytes(2, "big")
        + bytes([when.month, when.day, dow, when.hour, when.minute, when.second, 0])
        + b"\x80\x00\x00"
    )


def _check_counter(name: str, value: int) -> None:
    if not 0 <= value <= _U64:
        raise GbcsFramingError(f"{name} {value} does not fit 8 bytes")


def seal(
    msg: GbcsMessage,
    *,
    ds_private: ec.EllipticCurvePrivateKey | None = None,
    ka_private: ec.EllipticCurvePrivateKey | None = None,
    ka_public: ec.EllipticCurvePublicKey | None = None,
) -> bytes:
    """Sign (when ``ds_private`` is given) then MAC (when the KA pair is given) and encode."""
    _check_counter("originator counter", msg.transaction_id)
    if ds_private is not None:
        msg = sign_message(msg, ds_private)
    if (ka_private is None) != (ka_public is None):
        raise GbcsCryptoError("a MAC needs both ka_private and ka_public")
    if ka_private is not None and ka_public is not None:
        msg = apply_mac(msg, ka_private, ka_public)
    return encode(msg)


def _urp_info(
    code: int, remote_party: EUI64 | None, remote_party_counter: int | None
) -> OtherInformation:
    if remote_party is None:
        return OtherInformation(code)
    if remote_party_counter is not None:
        _check_counter("remote party counter", remote_party_counter)
    return OtherInformation(code, remote_party, remote_party_counter)


def build_cs08_command(
    *,
    target: EUI64,
    counter: int,
    ka_private: ec.EllipticCurvePrivateKey,
    ka_public: ec.EllipticCurvePublicKey,
    remote_party: EUI64 | None = None,
    remote_party_counter: int | None = None,
    originator: EUI64 = ACCESS_CONTROL_BROKER_EUI,
    when: datetime | None = None,
) -> bytes:
    """CS08 Read PPMID/HCALCS Firmware Version command (SRV 11.2), sent by the ACB for the user
    ``remote_party`` (the supplementary remote party) with that user's ``remote_party_counter``.
    ``ka_private``: the ACB's KA private key; ``ka_public``: the device's KA public key."""
    msg = GbcsMessage(
        cra_flag=CraFlag.COMMAND,
        transaction_id=counter,
        originator=originator,
        target=target,
        other_info=_urp_info(MessageCode.CS08, remote_party, remote_party_counter),
        payload=ReadFirmwareVersionCommand(),
        date_time_raw=None if when is None else dlms_datetime(when),
        security_header=DEFAULT_SECURITY_HEADER,
    )
    return seal(msg, ka_private=ka_private, ka_public=ka_public)


def build_cs08_response(
    *,
    device: EUI64,
    counter: int,
    firmware_version: FirmwareVersion,
    ka_private: ec.EllipticCurvePrivateKey,
    ka_public: ec.EllipticCurvePublicKey,
    response_code: int = 0,
    target: EUI64 = ACCESS_CONTROL_BROKER_EUI,
    remote_party: EUI64 | None = None,
    remote_party_counter: int | None = None,
) -> bytes:
    """CS08 response from ``device`` to the ACB. ``counter``, ``remote_party`` and
    ``remote_party_counter`` echo the command's (see ``build_cs08_response_to``).
    ``ka_private``/``ka_public``: the device's KA private and the ACB's KA public key (or the
    ACB's private and the device's public: same MAC)."""
    msg = GbcsMessage(
        cra_flag=CraFlag.RESPONSE,
        transaction_id=counter,
        originator=device,
        target=target,
        other_info=_urp_info(MessageCode.CS08, remote_party, remote_party_counter),
        payload=ReadFirmwareVersionResponse(firmware_version, response_code),
        security_header=DEFAULT_SECURITY_HEADER,
    )
    return seal(msg, ka_private=ka_private, ka_public=ka_public)


def build_cs08_response_to(
    command: GbcsMessage,
    *,
    firmware_version: FirmwareVersion,
    ka_private: ec.EllipticCurvePrivateKey,
    ka_public: ec.EllipticCurvePublicKey,
    response_code: int = 0,
) -> bytes:
    """The CS08 response a device sends to a decoded CS08 ``command``."""
    if command.message_code != MessageCode.CS08 or command.cra_flag != CraFlag.COMMAND:
        raise GbcsFramingError(f"not a CS08 command: {command.use_case} CRA {command.cra_flag}")
    return build_cs08_response(
        device=command.target,
        counter=command.transaction_id,
        firmware_version=firmware_version,
        ka_private=ka_private,
        ka_public=ka_public,
        response_code=response_code,
        target=command.originator,
        remote_party=command.other_info.supplementary_remote_party_id,
        remote_party_counter=command.other_info.supplementary_remote_party_counter,
    )


def build_cs09_alert(
    *,
    device: EUI64,
    firmware_version: FirmwareVersion,
    when: datetime,
    counter: int,
    device_ds_key: ec.EllipticCurvePrivateKey,
    target: EUI64 = ACCESS_CONTROL_BROKER_EUI,
    activation_status: int = 0,
) -> bytes:
    """CS09 PPMID Firmware Activation Alert (0x8F8B): the version now running after activation
    at ``when``, ``activation_status`` 0 success / 1 failure; signed by the device."""
    msg = GbcsMessage(
        cra_flag=CraFlag.ALERT,
        transaction_id=counter,
        originator=device,
        target=target,
        other_info=OtherInformation(MessageCode.CS09),
        payload=FirmwareActivationAlert(when, firmware_version, activation_status),
    )
    return seal(msg, ds_private=device_ds_key)


def build_ccs08_alert(
    *,
    chf: EUI64,
    entity_id: EUI64,
    firmware_version: FirmwareVersion,
    when: datetime,
    counter: int,
    chf_ds_key: ec.EllipticCurvePrivateKey,
    alert_code: int = ALERT_FIRMWARE_TRANSFER_SUCCESS,
    response_code: int = 0,
    target: EUI64 = ACCESS_CONTROL_BROKER_EUI,
) -> bytes:
    """CCS08 Firmware Transfer Alert from the CHF about the image for ``entity_id``:
    ``alert_code`` 0x8F8A (success) or 0x8F89 (failure, with a FirmwareTransferResponse code);
    signed by the CHF's DS key."""
    if alert_code not in (ALERT_FIRMWARE_TRANSFER_SUCCESS, ALERT_FIRMWARE_TRANSFER_FAILURE):
        raise GbcsFramingError(f"CCS08 alert code must be 0x8F8A or 0x8F89, got 0x{alert_code:X}")
    msg = GbcsMessage(
        cra_flag=CraFlag.ALERT,
        transaction_id=counter,
        originator=chf,
        target=target,
        other_info=OtherInformation(MessageCode.CCS08),
        payload=FirmwareTransferAlert(alert_code, when, entity_id, firmware_version, response_code),
    )
    return seal(msg, ds_private=chf_ds_key)


def default_invoke_id(counter: int) -> int:
    """The DLMS long-invoke-id-and-priority GBCS uses: 0x20 | low 24 bits of the counter."""
    return 0x20000000 | (counter & 0xFFFFFF)


def build_ccs01_command(
    *,
    chf: EUI64,
    device_id: EUI64,
    install_code: bytes,
    counter: int,
    ka_private: ec.EllipticCurvePrivateKey,
    ka_public: ec.EllipticCurvePublicKey,
    remote_party: EUI64 | None = None,
    remote_party_counter: int | None = None,
    originator: EUI64 = ACCESS_CONTROL_BROKER_EUI,
    device_type: int = 1,
    key_type: int = 0,
    join_timeout: int = 90,
    invoke_id: int | None = None,
) -> bytes:
    """CCS01 Add Device to CHF Device Log (SRV 8.11) from the ACB to ``chf``."""
    payload = DeviceLogAddCommand(
        default_invoke_id(counter) if invoke_id is None else invoke_id,
        device_id,
        install_code,
        device_type,
        key_type,
        join_timeout,
        True,
    )
    msg = GbcsMessage(
        cra_flag=CraFlag.COMMAND,
        transaction_id=counter,
        originator=originator,
        target=chf,
        other_info=_urp_info(MessageCode.CCS01, remote_party, remote_party_counter),
        payload=payload,
        security_header=DEFAULT_SECURITY_HEADER,
    )
    return seal(msg, ka_private=ka_private, ka_public=ka_public)


def build_ccs02_command(
    *,
    chf: EUI64,
    device_id: EUI64,
    counter: int,
    ka_private: ec.EllipticCurvePrivateKey,
    ka_public: ec.EllipticCurvePublicKey,
    remote_party: EUI64 | None = None,
    remote_party_counter: int | None = None,
    originator: EUI64 = ACCESS_CONTROL_BROKER_EUI,
    invoke_id: int | None = None,
) -> bytes:
    """CCS02 Remove Device from CHF Device Log from the ACB to ``chf``."""
    payload = DeviceLogRemoveCommand(
        default_invoke_id(counter) if invoke_id is None else invoke_id, device_id
    )
    msg = GbcsMessage(
        cra_flag=CraFlag.COMMAND,
        transaction_id=counter,
        originator=originator,
        target=chf,
        other_info=_urp_info(MessageCode.CCS02, remote_party, remote_party_counter),
        payload=payload,
        security_header=DEFAULT_SECURITY_HEADER,
    )
    return seal(msg, ka_private=ka_private, ka_public=ka_public)


def build_device_log_response_to(
    command: GbcsMessage,
    *,
    ka_private: ec.EllipticCurvePrivateKey,
    ka_public: ec.EllipticCurvePublicKey,
    results: tuple[int, ...] | None = None,
) -> bytes:
    """The CHF's response to a decoded CCS01 or CCS02 command: one null data item and one
    result per request specification (``results`` default: all 0, success)."""
    p = command.payload
    if not isinstance(p, DeviceLogAddCommand | DeviceLogRemoveCommand):
        raise GbcsFramingError(f"not a CCS01/CCS02 command: {command.use_case}")
    specs = p.to_access().specs
    codes = results if results is not None else tuple(0 for _ in specs)
    if len(codes) != len(specs):
        raise GbcsFramingError(f"need {len(specs)} results, got {len(codes)}")
    resp = DlmsAccessResponse(
        p.invoke_id,
        tuple(DlmsData(0, None) for _ in specs),
        tuple(AccessResult(s.kind, c) for s, c in zip(specs, codes, strict=True)),
    )
    msg = GbcsMessage(
        cra_flag=CraFlag.RESPONSE,
        transaction_id=command.transaction_id,
        originator=command.target,
        target=command.originator,
        other_info=command.other_info,
        payload=resp,
        security_header=DEFAULT_SECURITY_HEADER,
    )
    return seal(msg, ka_private=ka_private, ka_public=ka_public)


__all__ = [
    "CS02B_MESSAGE_CODE_BASE",
    "DLMS_ACTION",
    "DLMS_SET",
    "REMOTE_PARTY_ROLES",
    "CredentialsUpdate",
    "ReplacementOutcome",
    "TrustAnchorCell",
    "TrustAnchorReplacement",
    "build_ccs01_command",
    "build_ccs02_command",
    "build_ccs08_alert",
    "build_critical_response_to",
    "build_cs08_command",
    "build_cs08_response",
    "build_cs08_response_to",
    "build_cs09_alert",
    "build_device_log_response_to",
    "build_precommand",
    "cs02b_execution_outcome",
    "cs02b_response",
    "cs02b_update_credentials",
    "default_invoke_id",
    "dlms_datetime",
    "ecs70_set_clock",
    "mac_signed_precommand",
    "precommand_of",
    "read_cs02b_outcome",
    "seal",
    "sign_precommand",
]


def build_join_command(
    *,
    target: EUI64,
    other: EUI64,
    counter: int,
    ka_private: ec.EllipticCurvePrivateKey,
    ka_public: ec.EllipticCurvePublicKey,
    remote_party: EUI64 | None = None,
    remote_party_counter: int | None = None,
    when: datetime | None = None,
    unjoin: bool = False,
    originator: EUI64 = ACCESS_CONTROL_BROKER_EUI,
) -> bytes:
    """CS03A2 non-critical join of ``other`` (a PPMID) to ``target`` (SRV 8.7.2), or with
    ``unjoin`` CS04AC removing it (8.8.2); from the ACB for the user ``remote_party``.
    ``ka_private``: the ACB's KA private key; ``ka_public``: the target's KA public key."""
    payload: JoinDeviceCommand | UnjoinDeviceCommand = (
        UnjoinDeviceCommand(other)
        if unjoin
        else JoinDeviceCommand(1, other, int(DeviceTypeCode.PPMID))
    )
    msg = GbcsMessage(
        cra_flag=CraFlag.COMMAND,
        transaction_id=counter,
        originator=originator,
        target=target,
        other_info=_urp_info(
            MessageCode.CS04AC if unjoin else MessageCode.CS03A2, remote_party, remote_party_counter
        ),
        payload=payload,
        date_time_raw=None if when is None else dlms_datetime(when),
        security_header=DEFAULT_SECURITY_HEADER,
    )
    return seal(msg, ka_private=ka_private, ka_public=ka_public)


# ---------------------------------------------------------------- critical commands (DUIS CV 4/5)
#
# A critical Service Request (6.15.1 CS02b, 6.15.2 CS02d, 8.1.1 ECS70) is transformed by the DSP
# into a *pre-command*: the General-Signing APDU with the user as business originator, the
# user's RequestID counter as transaction ID, and no signature field at all. The user signs it
# with its GBCS DS key (the signed pre-command); the DCC Access Control Broker then adds the
# MAC (0xDD form, ACB KA key with the device's KA key) and sends the command. The device answers
# with a 0xDF response signed by its own DS key (as in the DCC Reference Test Data Set).

MESSAGE_CODE_ECS70 = 0x0062
CLOCK_CLASS = 0x0008
DLMS_INTEGER = 0x0F
CLOCK_OBIS = bytes.fromhex("0000010000FF")
_DLMS_DT_UNSPECIFIED = bytes.fromhex("FFFFFFFFFFFFFFFFFF8000FF")


def build_precommand(
    *,
    originator: EUI64,
    target: EUI64,
    counter: int,
    message_code: int,
    payload: Payload,
    when: datetime | None = None,
) -> bytes:
    """An unsigned GBCS pre-command (0xDF form, no signature length field, no MAC)."""
    _check_counter("originator counter", counter)
    msg = GbcsMessage(
        cra_flag=CraFlag.COMMAND,
        transaction_id=counter,
        originator=originator,
        target=target,
        other_info=OtherInformation(message_code),
        payload=payload,
        date_time_raw=None if when is None else dlms_datetime(when),
        signature_field=False,
    )
    return encode(msg)


def precommand_of(msg: GbcsMessage) -> bytes:
    """The pre-command a (signed, or signed and MAC'd) critical command was made from."""
    bare = msg.replace(signature=None, signature_field=False, mac=None, security_header=None)
    return encode(bare)


def sign_precommand(precommand: bytes, ds_private: ec.EllipticCurvePrivateKey) -> bytes:
    """What the DUIS user does with a pre-command: sign it with its GBCS DS key."""
    msg = decode(precommand)
    if msg.signature_field or msg.mac is not None or msg.cra_flag != CraFlag.COMMAND:
        raise GbcsFramingError(f"not a pre-command: {msg.use_case} CRA {int(msg.cra_flag)}")
    return encode(sign_message(msg, ds_private))


def mac_signed_precommand(
    signed: GbcsMessage,
    *,
    ka_private: ec.EllipticCurvePrivateKey,
    ka_public: ec.EllipticCurvePublicKey,
) -> bytes:
    """The critical command sent on the wire: the signed pre-command MAC'd by the ACB
    (``ka_private`` the ACB's KA private key, ``ka_public`` the target's KA public key)."""
    if signed.signature is None or signed.mac is not None:
        raise GbcsCryptoError("a signed pre-command carries a signature and no MAC")
    return seal(signed, ka_private=ka_private, ka_public=ka_public)


def build_critical_response_to(
    command: GbcsMessage, payload: Payload, *, device_ds_key: ec.EllipticCurvePrivateKey
) -> bytes:
    """A device's response to a critical command: 0xDF, signed by the device's DS key."""
    if command.cra_flag != CraFlag.COMMAND:
        raise GbcsFramingError(f"not a command: {command.use_case} CRA {int(command.cra_flag)}")
    msg = GbcsMessage(
        cra_flag=CraFlag.RESPONSE,
        transaction_id=command.transaction_id,
        originator=command.target,
        target=command.originator,
        other_info=OtherInformation(command.message_code),
        payload=payload,
    )
    return seal(msg, ds_private=device_ds_key)


def _dlms_dt(when: datetime) -> bytes:
    return (
        when.year.to_bytes(2, "big")
        + bytes([when.month, when.day, 0xFF, when.hour, when.minute, when.second, 0])
        + b"\x80\x00\xff"
    )


def ecs70_set_clock(current: datetime, tolerance_s: int, counter: int) -> DlmsAccessRequest:
    """ECS70 Set Clock on ESME (SRV 8.1.1 / 6.11): synchronise the clock to ``current`` within
    ``tolerance_s`` seconds, then read back the clock status and time (as the RTDS does)."""
    from datetime import timedelta

    o = CLOCK_OBIS
    specs = (
        AccessSpec(DLMS_SET, CLOCK_CLASS, o, 9),
        AccessSpec(DLMS_ACTION, CLOCK_CLASS, o, 5),
        AccessSpec(DLMS_ACTION, CLOCK_CLASS, o, 4),
        AccessSpec(DLMS_GET, CLOCK_CLASS, o, 2),
        AccessSpec(DLMS_GET, CLOCK_CLASS, o, 4),
    )
    window = (
        DlmsData(DLMS_OCTET_STRING, _DLMS_DT_UNSPECIFIED),
        DlmsData(DLMS_OCTET_STRING, _dlms_dt(current)),
        DlmsData(DLMS_OCTET_STRING, _dlms_dt(current + timedelta(seconds=tolerance_s))),
    )
    data = (
        DlmsData(DLMS_ENUM, 5),
        DlmsData(DLMS_STRUCTURE, window),
        DlmsData(DLMS_INTEGER, 0),
        DlmsData(DLMS_NULL, None),
        DlmsData(DLMS_NULL, None),
    )
    return DlmsAccessRequest(default_invoke_id(counter), specs, data)


# ---------------------------------------------------------------- CS02b (6.15.1, KRP credentials)
#
# GBCS CS02b Update Security Credentials, the "X by X" credentials replacement modes: the message
# code is 0x0100 + the CredentialsReplacementMode (0x0102 Supplier by Supplier, 0x0103 Network
# Operator by Network Operator). The payload (GBCS ASN.1, as in the RTDS 6.15.1 vectors)::
#
#   UpdateSecurityCredentials ::= SEQUENCE {
#     authorisingRemotePartyControl SEQUENCE {
#       credentialsReplacementMode INTEGER,
#       plainTextSymmetricKey [0] OCTET STRING OPTIONAL,        -- not used by KRP modes
#       applyTimeBasedCPVChecks [1] INTEGER { apply(0), disapply(1) } DEFAULT apply,
#       authorisingRemotePartyTACellIdentifier [2] TrustAnchorCellIdentifier OPTIONAL,
#       authorisingRemotePartySeqNumber [3] INTEGER,
#       newRemotePartyFloorSeqNumber [4] INTEGER OPTIONAL,
#       newRemotePartySpecialistFloorSeqNumber [5] SEQUENCE OF SEQUENCE {
#         seqNumberUsage INTEGER { prepaymentTopUp(0) }, seqNumber INTEGER } OPTIONAL },
#     replacements SEQUENCE OF SEQUENCE { replacingCertificate Certificate,
#                                         targetTrustAnchorCell TrustAnchorCellIdentifier },
#     certificationPathCertificates SEQUENCE OF Certificate,
#     executionDateTime GeneralizedTime OPTIONAL }
#   TrustAnchorCellIdentifier ::= SEQUENCE { remotePartyRole INTEGER, keyUsage BIT STRING,
#                                            cellUsage INTEGER { management(0),
#                                                                prepaymentTopUp(1) } DEFAULT 0 }

REMOTE_PARTY_ROLES: dict[str, int] = {
    "Root": 0,
    "Recovery": 1,
    "Supplier": 2,
    "NetworkOperator": 3,
    "ACB": 4,
    "TransCoS": 5,
    "WANProvider": 6,
    "IssuingAuthority": 7,
    "Other": 127,
}
"""GBCS RemotePartyRole values by their DUIS name."""

KRP_MODES: dict[int, int] = {2: 2, 3: 3}
"""Remote party role -> CredentialsReplacementMode of the KRP (6.15.1 CS02b) modes built here:
Supplier by Supplier (2), Network Operator by Network Operator (3)."""

CS02B_MESSAGE_CODE_BASE = 0x0100
STATUS_SUCCESS = 0
STATUS_BAD_CERTIFICATE = 5
STATUS_TRUST_ANCHOR_NOT_FOUND = 25
STATUS_OTHER = 127

_TAG_BIT_STRING = 0x03
_TAG_ENUMERATED = 0x0A
_KEY_USAGE_BITS = {"ds": bytes.fromhex("0780"), "ka": bytes.fromhex("0308")}
_KEY_USAGE_OF_BITS = {v: k for k, v in _KEY_USAGE_BITS.items()}


@dataclass(frozen=True, slots=True)
class TrustAnchorCell:
    """A device trust anchor cell: whose (``role``), which key (``usage`` "ds"/"ka"), and for
    KA whether the prepayment top-up cell (``top_up``)."""

    role: int
    usage: str
    top_up: bool = False

    def encode(self) -> bytes:
        if self.usage not in _KEY_USAGE_BITS:
            raise GbcsPayloadError(f"key usage must be 'ds' or 'ka', got {self.usage!r}")
        body = der_integer(self.role) + der(_TAG_BIT_STRING, _KEY_USAGE_BITS[self.usage])
        if self.top_up:
            body += der_integer(1)
        return der(TAG_SEQUENCE, body)


@dataclass(frozen=True, slots=True)
class TrustAnchorReplacement:
    """One replacing certificate (DER) and the trust anchor cell it goes into."""

    certificate: bytes
    cell: TrustAnchorCell

    def encode(self) -> bytes:
        return der(TAG_SEQUENCE, self.certificate + self.cell.encode())


@dataclass(frozen=True, slots=True)
class CredentialsUpdate:
    """A CS02b Update Security Credentials command, typed (the KRP modes)."""

    mode: int
    seq_number: int
    replacements: tuple[TrustAnchorReplacement, ...]
    certification_path: tuple[bytes, ...]
    authorising_cell: TrustAnchorCell | None = None
    apply_time_based_cpv: bool = True
    floor_seq_number: int | None = None
    top_up_floor_seq_number: int | None = None
    execution_time: datetime | None = None

    @property
    def message_code(self) -> int:
        return CS02B_MESSAGE_CODE_BASE + self.mode

    def control(self) -> bytes:
        body = der_integer(self.mode)
        if not self.apply_time_based_cpv:
            body += der(0x81, b"\x01")
        if self.authorising_cell is not None:
            body += der(0xA2, self.authorising_cell.encode()[2:])
        body += der(0x83, der_integer(self.seq_number)[2:])
        if self.floor_seq_number is not None:
            body += der(0x84, der_integer(self.floor_seq_number)[2:])
        if self.top_up_floor_seq_number is not None:
            spec = der(TAG_SEQUENCE, der_integer(0) + der_integer(self.top_up_floor_seq_number))
            body += der(0xA5, spec)
        return der(TAG_SEQUENCE, body)

    def to_payload(self) -> UpdateSecurityCredentialsCommand:
        return UpdateSecurityCredentialsCommand(
            control=self.control(),
            replacements=der(TAG_SEQUENCE, b"".join(r.encode() for r in self.replacements)),
            certificates=self.certification_path,
            execution_time=self.execution_time,
        )

    @classmethod
    def from_payload(cls, payload: UpdateSecurityCredentialsCommand) -> CredentialsUpdate:
        """Type a decoded CS02b payload. Raises GbcsPayloadError (offsets relative to the
        control / replacements element) when it is not a KRP update GBCS defines."""
        c = _read_control(payload.control)
        r = Reader(payload.replacements)
        seq = read_tlv(r, TAG_SEQUENCE, "replacements")
        r.expect_end("replacements")
        reps: list[TrustAnchorReplacement] = []
        while not seq.at_end():
            one = read_tlv(seq, TAG_SEQUENCE, "trust anchor replacement")
            _t, cert = read_any_tlv(one, "replacing certificate")
            if _t != TAG_SEQUENCE:
                raise GbcsPayloadError("replacing certificate: not a SEQUENCE", one.pos)
            cell = _read_cell(one, "target trust anchor cell")
            one.expect_end("trust anchor replacement")
            reps.append(TrustAnchorReplacement(cert, cell))
        return cls(
            mode=c[0],
            seq_number=c[3],
            replacements=tuple(reps),
            certification_path=payload.certificates,
            authorising_cell=c[2],
            apply_time_based_cpv=c[1],
            floor_seq_number=c[4],
            top_up_floor_seq_number=c[5],
            execution_time=payload.execution_time,
        )


def _read_cell(r: Reader, what: str) -> TrustAnchorCell:
    s = read_tlv(r, TAG_SEQUENCE, what)
    return _read_cell_body(s, what)


def _read_cell_body(s: Reader, what: str) -> TrustAnchorCell:
    role = read_integer(s, f"{what} remote party role")
    at = s.pos
    bits = read_tlv(s, _TAG_BIT_STRING, f"{what} key usage")
    usage = _KEY_USAGE_OF_BITS.get(bits.take(bits.remaining, f"{what} key usage"))
    if usage is None:
        raise GbcsPayloadError(
            f"{what}: key usage is neither digitalSignature nor keyAgreement", at
        )
    top_up = False
    if not s.at_end():
        at = s.pos
        cell_usage = read_integer(s, f"{what} cell usage")
        if cell_usage != 1:  # DER: the DEFAULT management(0) is never encoded
            raise GbcsPayloadError(f"{what}: cell usage {cell_usage} (only 1 may be encoded)", at)
        top_up = True
    s.expect_end(what)
    return TrustAnchorCell(role, usage, top_up)


def _implicit_int(r: Reader, tag: int, what: str) -> int:
    at = r.pos
    c = read_tlv(r, tag, what)
    body = c.take(c.remaining, what)
    if not body:
        raise GbcsPayloadError(f"{what}: empty INTEGER", at)
    return int.from_bytes(body, "big", signed=True)


def _read_control(
    data: bytes,
) -> tuple[int, bool, TrustAnchorCell | None, int, int | None, int | None]:
    r = Reader(data)
    s = read_tlv(r, TAG_SEQUENCE, "authorising remote party control")
    r.expect_end("authorising remote party control")
    mode = read_integer(s, "credentials replacement mode")
    apply = True
    cell = None
    floor = top_up = None

    def at(tag: int) -> bool:
        return not s.at_end() and s.peek("control field") == tag

    if at(0x80):
        raise GbcsPayloadError("plaintext symmetric key is not used by a KRP update", s.pos)
    if at(0x81):
        pos = s.pos
        v = _implicit_int(s, 0x81, "apply time based CPV checks")
        if v not in (0, 1):
            raise GbcsPayloadError(f"apply time based CPV checks: {v} is not 0 or 1", pos)
        apply = v == 0
    if at(0xA2):
        cell = _read_cell_body(
            read_tlv(s, 0xA2, "authorising TA cell"), "authorising remote party TA cell"
        )
    seq = _implicit_int(s, 0x83, "authorising remote party seq number")
    if at(0x84):
        floor = _implicit_int(s, 0x84, "new remote party floor seq number")
    if at(0xA5):
        spec = read_tlv(s, 0xA5, "specialist floor seq numbers")
        while not spec.at_end():
            one = read_tlv(spec, TAG_SEQUENCE, "specialist seq number")
            pos = one.pos
            if read_integer(one, "seq number usage") != 0:
                raise GbcsPayloadError("specialist seq number usage is not prepaymentTopUp", pos)
            top_up = read_integer(one, "specialist seq number")
            one.expect_end("specialist seq number")
    s.expect_end("authorising remote party control")
    return mode, apply, cell, seq, floor, top_up


def cs02b_update_credentials(
    *,
    role: int,
    seq_number: int,
    certification_path: Sequence[bytes],
    ds_certificate: bytes | None = None,
    ka_certificate: bytes | None = None,
    ka_top_up_certificate: bytes | None = None,
    floor_seq_number: int | None = None,
    top_up_floor_seq_number: int | None = None,
    apply_time_based_cpv: bool = True,
    execution_time: datetime | None = None,
) -> CredentialsUpdate:
    """The CS02b replacement-credentials command of DUIS 6.15.1 (UpdateSecurityCredentialsKRP):
    ``role`` (GBCS RemotePartyRole, 2 supplier / 3 network operator) replaces its own DS / KA /
    KA top-up trust anchors with the given certificates (DER), authorised by its DS key with
    ``seq_number`` (the RequestID counter). ``.to_payload()`` and ``.message_code`` feed
    :func:`build_precommand`."""
    mode = KRP_MODES.get(role)
    if mode is None:
        raise GbcsPayloadError(f"remote party role {role} has no KRP credentials replacement mode")
    reps = tuple(
        TrustAnchorReplacement(cert, TrustAnchorCell(role, usage, top_up))
        for cert, usage, top_up in (
            (ds_certificate, "ds", False),
            (ka_certificate, "ka", False),
            (ka_top_up_certificate, "ka", True),
        )
        if cert is not None
    )
    if not reps:
        raise GbcsPayloadError("a credentials update needs at least one replacing certificate")
    if not certification_path:
        raise GbcsPayloadError("a credentials update needs its certification path certificates")
    for v, name in ((seq_number, "seq number"), (floor_seq_number, "floor seq number")):
        if v is not None and not 0 <= v <= _U64:
            raise GbcsPayloadError(f"{name} {v} out of range")
    return CredentialsUpdate(
        mode=mode,
        seq_number=seq_number,
        replacements=reps,
        certification_path=tuple(certification_path),
        authorising_cell=TrustAnchorCell(role, "ds"),
        apply_time_based_cpv=apply_time_based_cpv,
        floor_seq_number=floor_seq_number,
        top_up_floor_seq_number=top_up_floor_seq_number,
        execution_time=execution_time,
    )


@dataclass(frozen=True, slots=True)
class ReplacementOutcome:
    """What the device did with one replacement: status (0 success, 5 bad certificate,
    25 trust anchor not found, 127 other) and the subject unique ID (EUI, 8 bytes) and subject
    key identifier of the anchor before and after."""

    cell: TrustAnchorCell
    status: int
    existing_subject: bytes
    existing_key_id: bytes
    replacing_subject: bytes
    replacing_key_id: bytes

    def encode(self) -> bytes:
        return der(
            TAG_SEQUENCE,
            self.cell.encode()
            + der(_TAG_ENUMERATED, der_integer(self.status)[2:])
            + der_octets(self.existing_subject)
            + der_octets(self.existing_key_id)
            + der_octets(self.replacing_subject)
            + der_octets(self.replacing_key_id),
        )


def cs02b_execution_outcome(
    update: CredentialsUpdate, outcomes: Sequence[ReplacementOutcome]
) -> bytes:
    """The DER execution outcome of a CS02b: authorising seq number, mode, the new floor seq
    numbers of the role whose credentials changed, one outcome per replacement."""
    changes = b""
    roles = sorted({o.cell.role for o in outcomes if o.status == STATUS_SUCCESS})
    for role in roles:
        body = der_integer(role) + der_integer(update.floor_seq_number or 0)
        if update.top_up_floor_seq_number is not None:
            body += der(
                TAG_SEQUENCE,
                der(TAG_SEQUENCE, der_integer(0) + der_integer(update.top_up_floor_seq_number)),
            )
        changes += der(TAG_SEQUENCE, body)
    return der(
        TAG_SEQUENCE,
        der_integer(update.seq_number)
        + der_integer(update.mode)
        + der(TAG_SEQUENCE, changes)
        + der(TAG_SEQUENCE, b"".join(o.encode() for o in outcomes)),
    )


def cs02b_response(
    update: CredentialsUpdate, outcomes: Sequence[ReplacementOutcome]
) -> UpdateSecurityCredentialsResponse:
    """The CS02b response payload of an immediate update: accepted, with its outcome."""
    return UpdateSecurityCredentialsResponse(cs02b_execution_outcome(update, outcomes))


def _lenient_tlv(r: Reader, tag: int, what: str) -> Reader:
    """read_tlv accepting non-minimal lengths (the RTDS CS02b responses use 0x82 00 C4)."""
    at = r.pos
    t = r.byte(what)
    if t != tag:
        raise GbcsPayloadError(f"{what}: expected tag 0x{tag:02X}, got 0x{t:02X}", at)
    return r.sub(r.length(f"{what} length", strict=False), what)


def read_cs02b_outcome(outcome: bytes) -> tuple[int, int, tuple[ReplacementOutcome, ...]]:
    """(authorising seq number, mode, replacement outcomes) of a CS02b execution outcome."""
    r = Reader(outcome)
    s = _lenient_tlv(r, TAG_SEQUENCE, "execution outcome")
    r.expect_end("execution outcome")
    seq = read_integer(s, "authorising remote party seq number")
    mode = read_integer(s, "credentials replacement mode")
    _lenient_tlv(s, TAG_SEQUENCE, "remote party seq number changes")
    outs = _lenient_tlv(s, TAG_SEQUENCE, "replacement outcomes")
    s.expect_end("execution outcome")
    result: list[ReplacementOutcome] = []
    while not outs.at_end():
        o = _lenient_tlv(outs, TAG_SEQUENCE, "replacement outcome")
        cell = _read_cell(o, "affected trust anchor cell")
        status = _implicit_int(o, _TAG_ENUMERATED, "status code")
        names = ("existing SUI", "existing SKI", "replacing SUI", "replacing SKI")
        vals = [read_octets(o, name) for name in names]
        o.expect_end("replacement outcome")
        result.append(ReplacementOutcome(cell, status, *vals))
    return seq, mode, tuple(result)
