"""CCS01 Add Device to CHF Device Log (SRV 8.11, whitelisting) and CCS02 Remove Device from CHF
Device Log: DLMS ACCESS requests on the ZigBee network control object (class 104), answered
with a DLMS ACCESS response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from althan.gbcs.codec import (
    DLMS_BOOLEAN,
    DLMS_ENUM,
    DLMS_OCTET_STRING,
    DLMS_STRUCTURE,
    DlmsData,
    Reader,
)
from althan.gbcs.usecases.base import MessageCode, Payload, UseCase
from althan.gbcs.usecases.dlms import (
    DLMS_ACTION,
    DLMS_SET,
    AccessSpec,
    DlmsAccessRequest,
    DlmsAccessResponse,
)
from althan.model import EUI64

ZIGBEE_NETWORK_CONTROL_CLASS = 0x0068
ZIGBEE_NETWORK_CONTROL_OBIS = bytes.fromhex("00001E0300FF")
DLMS_LONG_UNSIGNED = 0x12


def _spec(kind: int, member_id: int) -> AccessSpec:
    return AccessSpec(kind, ZIGBEE_NETWORK_CONTROL_CLASS, ZIGBEE_NETWORK_CONTROL_OBIS, member_id)


@dataclass(frozen=True, slots=True)
class DeviceLogAddCommand:
    """CCS01: ZigBee network control register_device with (device ID, device type, install
    code, key type), then join timeout and join enable. ``invoke_id``: see
    ``default_invoke_id``."""

    MESSAGE_CODE: ClassVar[int] = MessageCode.CCS01

    invoke_id: int
    device_id: EUI64
    install_code: bytes
    device_type: int = 1
    key_type: int = 0
    join_timeout: int = 90
    joining_enabled: bool = True

    def to_access(self) -> DlmsAccessRequest:
        register = DlmsData(
            DLMS_STRUCTURE,
            (
                DlmsData(DLMS_OCTET_STRING, self.device_id.to_bytes()),
                DlmsData(DLMS_ENUM, self.device_type),
                DlmsData(DLMS_OCTET_STRING, self.install_code),
                DlmsData(DLMS_ENUM, self.key_type),
            ),
        )
        return DlmsAccessRequest(
            self.invoke_id,
            (_spec(DLMS_ACTION, 1), _spec(DLMS_SET, 3), _spec(DLMS_SET, 2)),
            (
                register,
                DlmsData(DLMS_LONG_UNSIGNED, self.join_timeout),
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
    """CCS02: ZigBee network control unregister_device(device ID)."""

    MESSAGE_CODE: ClassVar[int] = MessageCode.CCS02

    invoke_id: int
    device_id: EUI64

    def to_access(self) -> DlmsAccessRequest:
        return DlmsAccessRequest(
            self.invoke_id,
            (_spec(DLMS_ACTION, 2),),
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


def _ccs01_command(r: Reader) -> Payload:
    """A CCS01 command: typed when it is the register_device request GBCS defines, else the
    DLMS request as it came."""
    req = DlmsAccessRequest.decode(r)
    return DeviceLogAddCommand.from_access(req) or req


def _ccs02_command(r: Reader) -> Payload:
    req = DlmsAccessRequest.decode(r)
    return DeviceLogRemoveCommand.from_access(req) or req


USE_CASES = (
    UseCase(MessageCode.CCS01, "CCS01", command=_ccs01_command, response=DlmsAccessResponse.decode),
    UseCase(MessageCode.CCS02, "CCS02", command=_ccs02_command, response=DlmsAccessResponse.decode),
)
