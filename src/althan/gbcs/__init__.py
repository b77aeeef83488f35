"""althan.gbcs: GBCS framing, crypto and the use cases of the firmware flow.

Public API::

    decode(data) -> GbcsMessage          encode(msg) -> bytes (byte-identical round trip)
    seal(command(payload, target, counter, ...) | alert(payload, originator, counter)
         | response_to(command, payload), ds_private= | ka_private=, ka_public=) -> bytes
                                          the one way to build a message (``message`` in general)
    precommand / sign_precommand / precommand_of / mac_signed_precommand   critical commands
    verify_signature(msg, ds_public_key) -> bool
    verify_mac(msg, *, private_key, public_key) -> bool   (KA keys of the two ends)
    authenticate_critical / execute_cs02b / replaced_ds_key           the device's side
    Keystore (folder of <eui>-ds.pem / -ka.pem / .key) with signature/MAC verdicts

Modules: ``frame`` (the framer), ``build`` (grouping headers, protection), ``crypto``, ``keystore``,
``device_security``, ``usecases`` (one module per use case, and the registry by message code),
``layout`` (declarative DER sequences), ``codec`` (lengths, DER, DLMS data).
"""

from althan.gbcs.build import (
    alert,
    command,
    mac_signed_precommand,
    message,
    precommand,
    precommand_of,
    response_to,
    seal,
    sign_precommand,
)
from althan.gbcs.codec import DlmsData, decode_length, dlms_datetime, encode_length
from althan.gbcs.crypto import (
    apply_mac,
    compute_mac,
    derive_key,
    sign_message,
    verify_mac,
    verify_signature,
)
from althan.gbcs.device_security import (
    authenticate_critical,
    credential_key,
    execute_cs02b,
    replaced_ds_key,
    subject_eui,
)
from althan.gbcs.errors import (
    GbcsCryptoError,
    GbcsError,
    GbcsFramingError,
    GbcsKeyError,
    GbcsLengthError,
    GbcsPayloadError,
    GbcsRefusedError,
    GbcsTruncatedError,
)
from althan.gbcs.frame import GbcsMessage, OtherInformation, decode, encode, signed_bytes
from althan.gbcs.keystore import Keystore, Verdict
from althan.gbcs.usecases import use_case_name
from althan.gbcs.usecases.base import (
    ALERT_FIRMWARE_TRANSFER_FAILURE,
    ALERT_FIRMWARE_TRANSFER_SUCCESS,
    ALERT_PPMID_FIRMWARE_ACTIVATION,
    CraFlag,
    MessageCode,
    Payload,
    RawPayload,
    ResponseCode,
)
from althan.gbcs.usecases.ccs08 import FirmwareTransferAlert, FirmwareTransferResponse
from althan.gbcs.usecases.cs02b import (
    CANCELLATION_TIME,
    KRP_MODES,
    REMOTE_PARTY_ROLES,
    CredentialsUpdate,
    ReplacementOutcome,
    TrustAnchorCell,
    TrustAnchorReplacement,
    UpdateSecurityCredentialsAlert,
    UpdateSecurityCredentialsCommand,
    UpdateSecurityCredentialsResponse,
    cs02b_execution_outcome,
    cs02b_update_credentials,
    read_cs02b_outcome,
)
from althan.gbcs.usecases.cs02d import UpdateDeviceCertificateCommand
from althan.gbcs.usecases.cs08 import ReadFirmwareVersionCommand, ReadFirmwareVersionResponse
from althan.gbcs.usecases.cs09 import FirmwareActivationAlert
from althan.gbcs.usecases.device_log import DeviceLogAddCommand, DeviceLogRemoveCommand
from althan.gbcs.usecases.dlms import (
    AccessResult,
    AccessSpec,
    DlmsAccessRequest,
    DlmsAccessResponse,
    default_invoke_id,
)
from althan.gbcs.usecases.ecs70 import ecs70_set_clock
from althan.gbcs.usecases.join import DeviceTypeCode, JoinDeviceCommand, UnjoinDeviceCommand

__all__ = [
    "ALERT_FIRMWARE_TRANSFER_FAILURE",
    "ALERT_FIRMWARE_TRANSFER_SUCCESS",
    "ALERT_PPMID_FIRMWARE_ACTIVATION",
    "CANCELLATION_TIME",
    "KRP_MODES",
    "REMOTE_PARTY_ROLES",
    "AccessResult",
    "AccessSpec",
    "CraFlag",
    "CredentialsUpdate",
    "DeviceLogAddCommand",
    "DeviceLogRemoveCommand",
    "DeviceTypeCode",
    "DlmsAccessRequest",
    "DlmsAccessResponse",
    "DlmsData",
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
    "GbcsRefusedError",
    "GbcsTruncatedError",
    "JoinDeviceCommand",
    "Keystore",
    "MessageCode",
    "OtherInformation",
    "Payload",
    "RawPayload",
    "ReadFirmwareVersionCommand",
    "ReadFirmwareVersionResponse",
    "ReplacementOutcome",
    "ResponseCode",
    "TrustAnchorCell",
    "TrustAnchorReplacement",
    "UnjoinDeviceCommand",
    "UpdateDeviceCertificateCommand",
    "UpdateSecurityCredentialsAlert",
    "UpdateSecurityCredentialsCommand",
    "UpdateSecurityCredentialsResponse",
    "Verdict",
    "alert",
    "apply_mac",
    "authenticate_critical",
    "command",
    "compute_mac",
    "credential_key",
    "cs02b_execution_outcome",
    "cs02b_update_credentials",
    "decode",
    "decode_length",
    "default_invoke_id",
    "derive_key",
    "dlms_datetime",
    "ecs70_set_clock",
    "encode",
    "encode_length",
    "execute_cs02b",
    "mac_signed_precommand",
    "message",
    "precommand",
    "precommand_of",
    "read_cs02b_outcome",
    "replaced_ds_key",
    "response_to",
    "seal",
    "sign_message",
    "sign_precommand",
    "signed_bytes",
    "subject_eui",
    "use_case_name",
    "verify_mac",
    "verify_signature",
]
