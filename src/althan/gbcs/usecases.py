"""GBCS use-case payloads (the APDU inside the General-Signing frame), typed.

Each payload class is a frozen dataclass with ``encode() -> bytes``; ``decode_payload`` picks the
class from the message code and the CRA flag. Message codes and names follow GBCS (the use-case
codes are those of the DUIS GBCS mapping table).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from althan.gbcs.codec import (
    DLMS_BOOLEAN,
    DLMS_ENUM,
    DLMS_OCTET_STRING,
    DLMS_STRUCTURE,
    TAG_GENERALIZED_TIME,
    TAG_SEQUENCE,
    DlmsData,
    Reader,
    der,
    der_integer,
    der_null,
    der_octets,
    der_time,
    encode_length,
    read_any_tlv,
    read_dlms,
    read_integer,
    read_null,
    read_octets,
    read_time,
    read_tlv,
    read_tlv_width,
)
from althan.gbcs.errors import GbcsPayloadError
from althan.model import EUI64, FirmwareVersion


class CraFlag(enum.IntEnum):
    """GBCS CRA flag: what kind of message this is."""

    COMMAND = 1
    RESPONSE = 2
    ALERT = 3


class MessageCode(enum.IntEnum):
    """GBCS message codes of the use cases this room types."""

    CCS01 = 0x0001
    CCS02 = 0x0002
    CS02D = 0x000B
    CS03A1 = 0x000D
    CS03B = 0x000E
    CS04AC = 0x000F
    CS04B = 0x0010
    CS03A2 = 0x00AB
    CS03C = 0x00AF
    CS02B_ALERT = 0x00CB
    CS02G_ALERT = 0x0124
    CS02G = 0x0126
    CCS08 = 0x0128
    CS08 = 0x0129
    CS09 = 0x012B


ALERT_FIRMWARE_TRANSFER_SUCCESS = 0x8F8A
ALERT_FIRMWARE_TRANSFER_FAILURE = 0x8F89
ALERT_PPMID_FIRMWARE_ACTIVATION = 0x8F8B

_USE_CASE_NAMES: dict[int, str] = {
    0x0001: "CCS01",
    0x0002: "CCS02",
    0x000B: "CS02d",
    0x000D: "CS03A1",
    0x000E: "CS03B",
    0x000F: "CS04AC",
    0x0010: "CS04B",
    0x00AB: "CS03A2",
    0x00AF: "CS03C",
    0x00CB: "CS02b",
    0x0124: "CS02g",
    0x0126: "CS02g",
    0x0128: "CCS08",
    0x0129: "CS08",
    0x012B: "CS09",
}
for _code in range(0x0100, 0x010A):
    _USE_CASE_NAMES[_code] = "CS02b"


def use_case_name(message_code: int) -> str:
    """The GBCS use case of a message code ("CS08"), or "0xNNNN" when not typed here."""
    return _USE_CASE_NAMES.get(message_code, f"0x{message_code:04X}")


class Payload(Protocol):
    def encode(self) -> bytes: ...


# ---------------------------------------------------------------- generic


@dataclass(frozen=True, slots=True)
class RawPayload:
    """A payload of a use case this room does not type: its bytes, kept as they are."""

    data: bytes

    def encode(self) -> bytes:
        return self.data


# ---------------------------------------------------------------- CS08


@dataclass(frozen=True, slots=True)
class ReadFirmwareVersionCommand:
    """CS08 command (Read PPMID/HCALCS Firmware Version): an ASN.1 NULL."""

    def encode(self) -> bytes:
        return der_null()


@dataclass(frozen=True, slots=True)
class ReadFirmwareVersionResponse:
    """CS08 response: the running firmware version and a response code (0 success, 1 failure)."""

    firmware_version: FirmwareVersion
    response_code: int = 0

    def encode(self) -> bytes:
        return der(
            TAG_SEQUENCE,
            der_octets(self.firmware_version.to_bytes()) + der_integer(self.response_code),
        )


# ---------------------------------------------------------------- CS09


@dataclass(frozen=True, slots=True)
class FirmwareActivationAlert:
    """CS09 PPMID Firmware Activation Alert (alert code 0x8F8B, message code 0x012B).

    ``activation_status``: 0 success, 1 failure.
    """

    execution_time: datetime
    firmware_version: FirmwareVersion
    activation_status: int = 0
    alert_code: int = ALERT_PPMID_FIRMWARE_ACTIVATION

    def encode(self) -> bytes:
        return der(
            TAG_SEQUENCE,
            der_integer(self.alert_code)
            + der_time(self.execution_time)
            + der_octets(self.firmware_version.to_bytes())
            + der_integer(self.activation_status),
        )


# ---------------------------------------------------------------- CCS08


class FirmwareTransferResponse(enum.IntEnum):
    SUCCESS = 0
    IMAGE_DISCARDED = 1
    HARDWARE_VERSION_MISMATCH = 2
    FILE_TRANSFER_FAILURE = 3


@dataclass(frozen=True, slots=True)
class FirmwareTransferAlert:
    """CCS08 Firmware Transfer Alert from the CHF (0x8F8A success, 0x8F89 failure).

    ``entity_id`` is the device the image was for; ``response_code`` a FirmwareTransferResponse.
    """

    alert_code: int
    execution_time: datetime
    entity_id: EUI64
    firmware_version: FirmwareVersion
    response_code: int = 0

    def encode(self) -> bytes:
        return der(
            TAG_SEQUENCE,
            der_integer(self.alert_code)
            + der_time(self.execution_time)
            + der_octets(self.entity_id.to_bytes())
            + der_octets(self.firmware_version.to_bytes())
            + der_integer(self.response_code),
        )


# ---------------------------------------------------------------- CS03 / CS04


class DeviceTypeCode(enum.IntEnum):
    GSME = 0
    ESME = 1
    CHF = 2
    GPF = 3
    HCALCS = 4
    PPMID = 5
    TYPE2 = 6


@dataclass(frozen=True, slots=True)
class JoinDeviceCommand:
    """CS03 join command: join method and role (0 A-initiator, 1 A-responder, 2 B, 3 C),
    the other device's ID, its device type, and (method A/C) its KA certificate (DER)."""

    join_method_and_role: int
    entity_id: EUI64
    device_type: int
    certificate: bytes | None = None

    def encode(self) -> bytes:
        body = (
            der_integer(self.join_method_and_role)
            + der_octets(self.entity_id.to_bytes())
            + der_integer(self.device_type)
        )
        if self.certificate is not None:
            body += self.certificate
        return der(TAG_SEQUENCE, body)


@dataclass(frozen=True, slots=True)
class ResponseCode:
    """A bare INTEGER response (CS03, CS04, CS02d responses); 0 is success."""

    response_code: int

    def encode(self) -> bytes:
        return der_integer(self.response_code)


@dataclass(frozen=True, slots=True)
class UnjoinDeviceCommand:
    """CS04 unjoin command: the device to remove from the target's device log."""

    entity_id: EUI64

    def encode(self) -> bytes:
        return der_octets(self.entity_id.to_bytes())


# ---------------------------------------------------------------- CS02d


@dataclass(frozen=True, slots=True)
class UpdateDeviceCertificateCommand:
    """CS02d: the new device certificate (DER X.509)."""

    certificate: bytes

    def encode(self) -> bytes:
        return self.certificate


# ---------------------------------------------------------------- CS02b / CS02g


@dataclass(frozen=True, slots=True)
class UpdateSecurityCredentialsCommand:
    """CS02b/CS02g command. ``control`` (authorising remote party control) and ``replacements``
    are kept as DER; ``certificates`` are the certification path certificates (DER)."""

    control: bytes
    replacements: bytes
    certificates: tuple[bytes, ...]
    execution_time: datetime | None = None
    length_width: int = 0
    certificates_length_width: int = 0

    def encode(self) -> bytes:
        certs = b"".join(self.certificates)
        body = (
            self.control
            + self.replacements
            + der(TAG_SEQUENCE, certs, self.certificates_length_width)
        )
        if self.execution_time is not None:
            body += der_time(self.execution_time)
        return der(TAG_SEQUENCE, body, self.length_width)


@dataclass(frozen=True, slots=True)
class UpdateSecurityCredentialsResponse:
    """CS02b/CS02g response: command accepted, and (immediate) the execution outcome as DER."""

    execution_outcome: bytes | None = None
    length_width: int = 0

    def encode(self) -> bytes:
        return der(TAG_SEQUENCE, der_null() + (self.execution_outcome or b""), self.length_width)


@dataclass(frozen=True, slots=True)
class UpdateSecurityCredentialsAlert:
    """CS02b/CS02g future-dated alert (0x8F66 success / 0x8F67 failure)."""

    alert_code: int
    execution_time: datetime
    execution_outcome: bytes
    length_width: int = 0

    def encode(self) -> bytes:
        return der(
            TAG_SEQUENCE,
            der_integer(self.alert_code) + der_time(self.execution_time) + self.execution_outcome,
            self.length_width,
        )


# ---------------------------------------------------------------- DLMS ACCESS (CCS01/CCS02)

DLMS_GET = 1
DLMS_SET = 2
DLMS_ACTION = 3

ZIGBEE_NETWORK_CONTROL_CLASS = 0x0068
ZIGBEE_NETWORK_CONTROL_OBIS = bytes.fromhex("00001E0300FF")


@dataclass(frozen=True, slots=True)
class AccessSpec:
    """One DLMS access-request-specification: kind (1 get, 2 set, 3 action), class, OBIS, id."""

    kind: int
    class_id: int
    obis: bytes
    member_id: int

    def encode(self) -> bytes:
        return (
            bytes([self.kind])
            + self.class_id.to_bytes(2, "big")
            + self.obis
            + bytes([self.member_id])
        )


def _dlms_datetime(raw: bytes | None) -> bytes:
    return b"\x00" if raw is None else b"\x0c" + raw


@dataclass(frozen=True, slots=True)
class DlmsAccessRequest:
    """A DLMS ACCESS.request (0xD9) as GBCS uses it."""

    invoke_id: int
    specs: tuple[AccessSpec, ...]
    data: tuple[DlmsData, ...]
    date_time: bytes | None = None

    def encode(self) -> bytes:
        return (
            b"\xd9"
            + self.invoke_id.to_bytes(4, "big")
            + _dlms_datetime(self.date_time)
            + encode_length(len(self.specs))
            + b"".join(s.encode() for s in self.specs)
            + encode_length(len(self.data))
            + b"".join(d.encode() for d in self.data)
        )


@dataclass(frozen=True, slots=True)
class AccessResult:
    """One DLMS access-response-specification: kind (1 get, 2 set, 3 action) and result."""

    kind: int
    result: int

    def encode(self) -> bytes:
        return bytes([self.kind, self.result])


@dataclass(frozen=True, slots=True)
class DlmsAccessResponse:
    """A DLMS ACCESS.response (0xDA) as GBCS uses it (no echoed request specification)."""

    invoke_id: int
    data: tuple[DlmsData, ...]
    results: tuple[AccessResult, ...]
    date_time: bytes | None = None

    def encode(self) -> bytes:
        return (
            b"\xda"
            + self.invoke_id.to_bytes(4, "big")
            + _dlms_datetime(self.date_time)
            + b"\x00"
            + encode_length(len(self.data))
            + b"".join(d.encode() for d in self.data)
            + encode_length(len(self.results))
            + b"".join(x.encode() for x in self.results)
        )

    @property
    def success(self) -> bool:
        return all(x.result == 0 for x in self.results)


@dataclass(frozen=True, slots=True)
class DeviceLogAddCommand:
    """CCS01 Add Device to CHF Device Log: ZigBee network control (class 104) register_device
    with (device ID, device type, install code, key type), then join timeout and join enable.
    """

    invoke_id: int
    device_id: EUI64
    install_code: bytes
    device_type: int = 1
    key_type: int = 0
    join_timeout: int = 90
    joining_enabled: bool = True

    def to_access(self) -> DlmsAccessRequest:
        o = ZIGBEE_NETWORK_CONTROL_OBIS
        c = ZIGBEE_NETWORK_CONTROL_CLASS
        return DlmsAccessRequest(
            self.invoke_id,
            (
                AccessSpec(DLMS_ACTION, c, o, 1),
                AccessSpec(DLMS_SET, c, o, 3),
                AccessSpec(DLMS_SET, c, o, 2),
            ),
            (
                DlmsData(
                    DLMS_STRUCTURE,
                    (
                        DlmsData(DLMS_OCTET_STRING, self.device_id.to_bytes()),
                        DlmsData(DLMS_ENUM, self.device_type),
                        DlmsData(DLMS_OCTET_STRING, self.install_code),
                        DlmsData(DLMS_ENUM, self.key_type),
                    ),
                ),
                DlmsData(0x12, self.join_timeout),
                DlmsData(DLMS_BOOLEAN, self.joining_enabled),
            ),
        )

    def encode(self) -> bytes:
        return self.to_access().encode()

    @classmethod
    def from_access(cls, req: DlmsAccessRequest) -> DeviceLogAddCommand | None:
        if len(req.data) != 3 or not isinstance(req.data[0].value, tuple):
            return None
        st, timeout, enabled = req.data
        fields = st.value
        if not isinstance(fields, tuple) or len(fields) != 4:
            return None
        dev, dtype, code, ktype = (f.value for f in fields)
        if not (
            isinstance(dev, bytes)
            and len(dev) == 8
            and isinstance(code, bytes)
            and isinstance(dtype, int)
            and isinstance(ktype, int)
            and isinstance(timeout.value, int)
            and isinstance(enabled.value, bool)
        ):
            return None
        candidate = cls(
            req.invoke_id,
            EUI64.from_bytes(dev),
            code,
            dtype,
            ktype,
            timeout.value,
            enabled.value,
        )
        return candidate if candidate.to_access() == req else None


@dataclass(frozen=True, slots=True)
class DeviceLogRemoveCommand:
    """CCS02 Remove Device from CHF Device Log: unregister_device(device ID)."""

    invoke_id: int
    device_id: EUI64

    def to_access(self) -> DlmsAccessRequest:
        return DlmsAccessRequest(
            self.invoke_id,
            (
                AccessSpec(
                    DLMS_ACTION, ZIGBEE_NETWORK_CONTROL_CLASS, ZIGBEE_NETWORK_CONTROL_OBIS, 2
                ),
            ),
            (DlmsData(DLMS_OCTET_STRING, self.device_id.to_bytes()),),
        )

    def encode(self) -> bytes:
        return self.to_access().encode()

    @classmethod
    def from_access(cls, req: DlmsAccessRequest) -> DeviceLogRemoveCommand | None:
        if len(req.data) != 1:
            return None
        v = req.data[0].value
        if not isinstance(v, bytes) or len(v) != 8:
            return None
        candidate = cls(req.invoke_id, EUI64.from_bytes(v))
        return candidate if candidate.to_access() == req else None


def _read_dlms_datetime(r: Reader) -> bytes | None:
    at = r.pos
    n = r.byte("DLMS date-time")
    if n == 0:
        return None
    if n != 12:
        raise GbcsPayloadError(f"DLMS date-time must be absent or 12 bytes, got {n}", at)
    return r.take(12, "DLMS date-time")


def decode_access_request(r: Reader) -> DlmsAccessRequest:
    r.byte("ACCESS.request tag")
    invoke = int.from_bytes(r.take(4, "long-invoke-id-and-priority"), "big")
    dt = _read_dlms_datetime(r)
    n = r.length("request specification count")
    specs = []
    for _ in range(n):
        at = r.pos
        kind = r.byte("request specification")
        if kind not in (DLMS_GET, DLMS_SET, DLMS_ACTION):
            raise GbcsPayloadError(f"unsupported DLMS access specification 0x{kind:02X}", at)
        cls_id = int.from_bytes(r.take(2, "class id"), "big")
        specs.append(AccessSpec(kind, cls_id, r.take(6, "OBIS code"), r.byte("attribute/method")))
    m = r.length("request data count")
    if m > r.remaining:
        raise GbcsPayloadError(f"{m} data items cannot fit", r.pos)
    data = tuple(read_dlms(r, "request data") for _ in range(m))
    r.expect_end("ACCESS.request")
    return DlmsAccessRequest(invoke, tuple(specs), data, dt)


def decode_access_response(r: Reader) -> DlmsAccessResponse:
    r.byte("ACCESS.response tag")
    invoke = int.from_bytes(r.take(4, "long-invoke-id-and-priority"), "big")
    dt = _read_dlms_datetime(r)
    at = r.pos
    if r.byte("request specification presence") != 0:
        raise GbcsPayloadError("echoed access-request-specification not supported", at)
    m = r.length("response data count")
    if m > r.remaining:
        raise GbcsPayloadError(f"{m} data items cannot fit", r.pos)
    data = tuple(read_dlms(r, "response data") for _ in range(m))
    k = r.length("response specification count")
    results = []
    for _ in range(k):
        at = r.pos
        kind = r.byte("response specification")
        if kind not in (DLMS_GET, DLMS_SET, DLMS_ACTION):
            raise GbcsPayloadError(f"unsupported DLMS response specification 0x{kind:02X}", at)
        results.append(AccessResult(kind, r.byte("data access result")))
    r.expect_end("ACCESS.response")
    return DlmsAccessResponse(invoke, data, tuple(results), dt)


# ---------------------------------------------------------------- dispatch


def _firmware_version(r: Reader, what: str) -> FirmwareVersion:
    return FirmwareVersion(int.from_bytes(read_octets(r, what, 4), "big"))


def _eui(r: Reader, what: str) -> EUI64:
    return EUI64.from_bytes(read_octets(r, what, 8))


def _seq(r: Reader, what: str) -> Reader:
    return read_tlv(r, TAG_SEQUENCE, what)


def _cs08_command(r: Reader) -> ReadFirmwareVersionCommand:
    read_null(r, "CS08 command")
    return ReadFirmwareVersionCommand()


def _cs08_response(r: Reader) -> ReadFirmwareVersionResponse:
    s = _seq(r, "CS08 response")
    fw = _firmware_version(s, "firmware version")
    code = read_integer(s, "response code")
    s.expect_end("CS08 response")
    return ReadFirmwareVersionResponse(fw, code)


def _cs09_alert(r: Reader) -> FirmwareActivationAlert:
    s = _seq(r, "CS09 alert")
    code = read_integer(s, "alert code")
    t = read_time(s, "execution date-time")
    fw = _firmware_version(s, "firmware version")
    status = read_integer(s, "activation status")
    s.expect_end("CS09 alert")
    return FirmwareActivationAlert(t, fw, status, code)


def _ccs08_alert(r: Reader) -> FirmwareTransferAlert:
    s = _seq(r, "CCS08 alert")
    code = read_integer(s, "alert code")
    t = read_time(s, "execution date-time")
    entity = _eui(s, "entity ID")
    fw = _firmware_version(s, "firmware version")
    rc = read_integer(s, "response code")
    s.expect_end("CCS08 alert")
    return FirmwareTransferAlert(code, t, entity, fw, rc)


def _join_command(r: Reader) -> JoinDeviceCommand:
    s = _seq(r, "join command")
    method = read_integer(s, "join method and role")
    entity = _eui(s, "entity ID")
    dtype = read_integer(s, "device type")
    cert = None
    if not s.at_end():
        _tag, cert = read_any_tlv(s, "certificate")
    s.expect_end("join command")
    return JoinDeviceCommand(method, entity, dtype, cert)


def _response_code(r: Reader) -> ResponseCode:
    return ResponseCode(read_integer(r, "response code"))


def _unjoin_command(r: Reader) -> UnjoinDeviceCommand:
    return UnjoinDeviceCommand(_eui(r, "entity ID"))


def _cs02d_command(r: Reader) -> UpdateDeviceCertificateCommand:
    _tag, cert = read_any_tlv(r, "certificate")
    return UpdateDeviceCertificateCommand(cert)


def _usc_command(r: Reader) -> UpdateSecurityCredentialsCommand:
    s, width = read_tlv_width(r, TAG_SEQUENCE, "update security credentials command")
    _t, control = read_any_tlv(s, "authorising remote party control")
    _t, replacements = read_any_tlv(s, "replacements")
    certs_r, cwidth = read_tlv_width(s, TAG_SEQUENCE, "certification path certificates")
    certs = []
    while not certs_r.at_end():
        _t, c = read_any_tlv(certs_r, "certificate")
        certs.append(c)
    when = None
    if not s.at_end() and s.peek("execution date-time") == TAG_GENERALIZED_TIME:
        when = read_time(s, "execution date-time")
    s.expect_end("update security credentials command")
    return UpdateSecurityCredentialsCommand(
        control, replacements, tuple(certs), when, width, cwidth
    )


def _usc_response(r: Reader) -> UpdateSecurityCredentialsResponse:
    s, width = read_tlv_width(r, TAG_SEQUENCE, "update security credentials response")
    read_null(s, "command accepted")
    outcome = None
    if not s.at_end():
        _t, outcome = read_any_tlv(s, "execution outcome")
    s.expect_end("update security credentials response")
    return UpdateSecurityCredentialsResponse(outcome, width)


def _usc_alert(r: Reader) -> UpdateSecurityCredentialsAlert:
    s, width = read_tlv_width(r, TAG_SEQUENCE, "update security credentials alert")
    code = read_integer(s, "alert code")
    t = read_time(s, "execution date-time")
    _t, outcome = read_any_tlv(s, "execution outcome")
    s.expect_end("update security credentials alert")
    return UpdateSecurityCredentialsAlert(code, t, outcome, width)


def _ccs01_command(r: Reader) -> Any:
    req = decode_access_request(r)
    return DeviceLogAddCommand.from_access(req) or req


def _ccs02_command(r: Reader) -> Any:
    req = decode_access_request(r)
    return DeviceLogRemoveCommand.from_access(req) or req


_Decoder = Callable[[Reader], Any]

_DECODERS: dict[tuple[int, int], _Decoder] = {
    (0x0129, 1): _cs08_command,
    (0x0129, 2): _cs08_response,
    (0x012B, 3): _cs09_alert,
    (0x0128, 3): _ccs08_alert,
    (0x0001, 1): _ccs01_command,
    (0x0001, 2): decode_access_response,
    (0x0002, 1): _ccs02_command,
    (0x0002, 2): decode_access_response,
    (0x000B, 1): _cs02d_command,
    (0x000B, 2): _response_code,
    (0x00CB, 3): _usc_alert,
    (0x0124, 3): _usc_alert,
    (0x0126, 1): _usc_command,
    (0x0126, 2): _usc_response,
}
for _code in (0x000D, 0x000E, 0x00AB, 0x00AF):
    _DECODERS[(_code, 1)] = _join_command
    _DECODERS[(_code, 2)] = _response_code
for _code in (0x000F, 0x0010):
    _DECODERS[(_code, 1)] = _unjoin_command
    _DECODERS[(_code, 2)] = _response_code
for _code in range(0x0100, 0x010A):
    _DECODERS[(_code, 1)] = _usc_command
    _DECODERS[(_code, 2)] = _usc_response


def decode_payload(
    content: bytes, message_code: int, cra_flag: int, *, frame: bytes | None = None, offset: int = 0
) -> Any:
    """Decode ``content``; when it is a slice of ``frame`` at ``offset``, errors name the
    absolute offset in the frame.

    Use cases not typed here come back as RawPayload. Raises GbcsPayloadError (or a truncation
    error) when a typed use case does not match its definition.
    """
    dec = _DECODERS.get((message_code, cra_flag))
    if dec is None:
        return RawPayload(content)
    if frame is None:
        frame, offset = content, 0
    r = Reader(frame, offset, offset + len(content))
    payload = dec(r)
    if not r.at_end():
        raise GbcsPayloadError(
            f"{r.remaining} trailing bytes after {use_case_name(message_code)} payload", r.pos
        )
    if payload.encode() != content:
        raise GbcsPayloadError(
            f"{use_case_name(message_code)} payload is not in canonical form", offset
        )
    return payload
