"""althan.gbcs: GBCS framing, crypto and the use cases of the firmware flow.

Public API::

    decode(data) -> GbcsMessage          encode(msg) -> bytes (byte-identical round trip)
    verify_signature(msg, ds_public_key) -> bool
    verify_mac(msg, *, private_key, public_key) -> bool   (KA keys of the two ends)
    build_cs08_command / build_cs08_response(_to) / build_cs09_alert / build_ccs08_alert /
    build_ccs01_command / build_ccs02_command / build_device_log_response_to / seal
    Keystore (folder of <eui>-ds.pem / -ka.pem / .key) with signature/MAC verdicts
"""

from althan.gbcs.builders import (
    build_ccs01_command,
    build_ccs02_command,
    build_ccs08_alert,
    build_cs08_command,
    build_cs08_response,
    build_cs08_response_to,
    build_cs09_alert,
    build_device_log_response_to,
    build_join_command,
    dlms_datetime,
    seal,
)
from althan.gbcs.codec import decode_length, encode_length
from althan.gbcs.crypto import (
    apply_mac,
    compute_mac,
    derive_key,
    sign_message,
    verify_mac,
    verify_signature,
)
from althan.gbcs.errors import (
    GbcsCryptoError,
    GbcsError,
    GbcsFramingError,
    GbcsKeyError,
    GbcsLengthError,
    GbcsPayloadError,
    GbcsTruncatedError,
)
from althan.gbcs.frame import GbcsMessage, OtherInformation, decode, encode, signed_bytes
from althan.gbcs.keystore import Keystore, Verdict
from althan.gbcs.usecases import (
    ALERT_FIRMWARE_TRANSFER_FAILURE,
    ALERT_FIRMWARE_TRANSFER_SUCCESS,
    ALERT_PPMID_FIRMWARE_ACTIVATION,
    CraFlag,
    DeviceLogAddCommand,
    DeviceLogRemoveCommand,
    DlmsAccessRequest,
    DlmsAccessResponse,
    FirmwareActivationAlert,
    FirmwareTransferAlert,
    FirmwareTransferResponse,
    JoinDeviceCommand,
    MessageCode,
    RawPayload,
    ReadFirmwareVersionCommand,
    ReadFirmwareVersionResponse,
    ResponseCode,
    UnjoinDeviceCommand,
    UpdateDeviceCertificateCommand,
    UpdateSecurityCredentialsAlert,
    UpdateSecurityCredentialsCommand,
    UpdateSecurityCredentialsResponse,
    use_case_name,
)

__all__ = [
    "ALERT_FIRMWARE_TRANSFER_FAILURE",
    "ALERT_FIRMWARE_TRANSFER_SUCCESS",
    "ALERT_PPMID_FIRMWARE_ACTIVATION",
    "CraFlag",
    "DeviceLogAddCommand",
    "DeviceLogRemoveCommand",
    "DlmsAccessRequest",
    "DlmsAccessResponse",
    "FirmwareActivationAlert",
    "FirmwareTransferAlert",
    "FirmwareTransferResponse",
    "GbcsCryptoError",
    "GbcsError",
    "GbcsFramingError",
    "GbcsKeyError",
    "GbcsLengthError",
    "GbcsMessage",
    "GbcsPayloadError",
    "GbcsTruncatedError",
    "JoinDeviceCommand",
    "Keystore",
    "MessageCode",
    "OtherInformation",
    "RawPayload",
    "ReadFirmwareVersionCommand",
    "ReadFirmwareVersionResponse",
    "ResponseCode",
    "UnjoinDeviceCommand",
    "UpdateDeviceCertificateCommand",
    "UpdateSecurityCredentialsAlert",
    "UpdateSecurityCredentialsCommand",
    "UpdateSecurityCredentialsResponse",
    "Verdict",
    "apply_mac",
    "build_ccs01_command",
    "build_ccs02_command",
    "build_ccs08_alert",
    "build_cs08_command",
    "build_cs08_response",
    "build_cs08_response_to",
    "build_cs09_alert",
    "build_device_log_response_to",
    "build_join_command",
    "compute_mac",
    "decode",
    "decode_length",
    "derive_key",
    "dlms_datetime",
    "encode",
    "encode_length",
    "seal",
    "sign_message",
    "signed_bytes",
    "use_case_name",
    "verify_mac",
    "verify_signature",
]
