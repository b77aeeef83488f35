"""The DCC alert bodies: each builds the element it built before it was declared as data
(`DeclaredBody`), byte for byte, and a layout cannot name a field its body lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from lxml import etree

from althan.dsp.bodies import (
    AlertBody,
    CommandFailure,
    CommsHubFirmwareTransfer,
    CspDeliveryStatus,
    DeclaredBody,
    EndpointTest,
    FirmwareDistributionFailure,
    FirmwareVersionMismatch,
    Layout,
    PpmidFirmwareAlert,
    QuarantinedRequest,
    Text,
    el,
)
from althan.model import EUI64

D = EUI64.parse("00-DB-12-34-56-78-90-A1")
C = EUI64.parse("00-DB-12-34-56-78-90-A2")
WHEN = datetime(2026, 12, 1, 3, 4, 5, 123456, tzinfo=UTC)

CASES: list[tuple[AlertBody, str]] = [
    (
        PpmidFirmwareAlert(D, 0x8F8B, WHEN, "00000102", True),
        '<sr:PPMIDAlert xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:DeviceID>00-DB-12-34-56-78-90-A1</sr:DeviceID><sr:DeviceAlertCode>8F8B</sr:DeviceAlertCode><sr:Timestamp>2026-12-01T03:04:05.123Z</sr:Timestamp><sr:PPMIDFirmwareUpgradeAlert><sr:FirmwareVersion>00000102</sr:FirmwareVersion><sr:ActivateImageResultCode>ActivationSuccess</sr:ActivateImageResultCode></sr:PPMIDFirmwareUpgradeAlert></sr:PPMIDAlert>',
    ),
    (
        PpmidFirmwareAlert(D, 0x8F8B, WHEN, "00000102", False),
        '<sr:PPMIDAlert xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:DeviceID>00-DB-12-34-56-78-90-A1</sr:DeviceID><sr:DeviceAlertCode>8F8B</sr:DeviceAlertCode><sr:Timestamp>2026-12-01T03:04:05.123Z</sr:Timestamp><sr:PPMIDFirmwareUpgradeAlert><sr:FirmwareVersion>00000102</sr:FirmwareVersion><sr:ActivateImageResultCode>ActivationFailure</sr:ActivateImageResultCode></sr:PPMIDFirmwareUpgradeAlert></sr:PPMIDAlert>',
    ),
    (
        CspDeliveryStatus("R1", C, D, "00000102", WHEN, True),
        '<sr:CSPFirmwareDeliveryStatus xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:UpdateFirmwareRequestID>R1</sr:UpdateFirmwareRequestID><sr:CommsHubDeviceID>00-DB-12-34-56-78-90-A2</sr:CommsHubDeviceID><sr:TargetDeviceID>00-DB-12-34-56-78-90-A1</sr:TargetDeviceID><sr:FirmwareVersion>00000102</sr:FirmwareVersion><sr:TimeStamp>2026-12-01T03:04:05.123Z</sr:TimeStamp><sr:CommsHubTransferStatus>Success</sr:CommsHubTransferStatus></sr:CSPFirmwareDeliveryStatus>',
    ),
    (
        CspDeliveryStatus("R1", C, D, "00000102", WHEN, False),
        '<sr:CSPFirmwareDeliveryStatus xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:UpdateFirmwareRequestID>R1</sr:UpdateFirmwareRequestID><sr:CommsHubDeviceID>00-DB-12-34-56-78-90-A2</sr:CommsHubDeviceID><sr:TargetDeviceID>00-DB-12-34-56-78-90-A1</sr:TargetDeviceID><sr:FirmwareVersion>00000102</sr:FirmwareVersion><sr:TimeStamp>2026-12-01T03:04:05.123Z</sr:TimeStamp><sr:CommsHubTransferStatus>Failure</sr:CommsHubTransferStatus></sr:CSPFirmwareDeliveryStatus>',
    ),
    (
        CommsHubFirmwareTransfer(C, 0x8F8A, WHEN, "R1", D, "00000102", True),
        '<sr:CommsHubAlert xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:CommsHubDeviceID>00-DB-12-34-56-78-90-A2</sr:CommsHubDeviceID><sr:AlertCode>8F8A</sr:AlertCode><sr:TimeStamp>2026-12-01T03:04:05.123Z</sr:TimeStamp><sr:FirmwareTransferAlert><sr:UpdateFirmwareRequestID>R1</sr:UpdateFirmwareRequestID><sr:OtherDeviceID>00-DB-12-34-56-78-90-A1</sr:OtherDeviceID><sr:FirmwareVersion>00000102</sr:FirmwareVersion><sr:TransferResponseCode>FileTransferSuccess</sr:TransferResponseCode></sr:FirmwareTransferAlert></sr:CommsHubAlert>',
    ),
    (
        CommsHubFirmwareTransfer(C, 0x8F89, WHEN, None, D, "00000102", False),
        '<sr:CommsHubAlert xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:CommsHubDeviceID>00-DB-12-34-56-78-90-A2</sr:CommsHubDeviceID><sr:AlertCode>8F89</sr:AlertCode><sr:TimeStamp>2026-12-01T03:04:05.123Z</sr:TimeStamp><sr:FirmwareTransferAlert><sr:OtherDeviceID>00-DB-12-34-56-78-90-A1</sr:OtherDeviceID><sr:FirmwareVersion>00000102</sr:FirmwareVersion><sr:TransferResponseCode>FileTransferFailure</sr:TransferResponseCode></sr:FirmwareTransferAlert></sr:CommsHubAlert>',
    ),
    (
        CommsHubFirmwareTransfer(C, 0x8F89, WHEN, "", D, "00000102", False),
        '<sr:CommsHubAlert xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:CommsHubDeviceID>00-DB-12-34-56-78-90-A2</sr:CommsHubDeviceID><sr:AlertCode>8F89</sr:AlertCode><sr:TimeStamp>2026-12-01T03:04:05.123Z</sr:TimeStamp><sr:FirmwareTransferAlert><sr:OtherDeviceID>00-DB-12-34-56-78-90-A1</sr:OtherDeviceID><sr:FirmwareVersion>00000102</sr:FirmwareVersion><sr:TransferResponseCode>FileTransferFailure</sr:TransferResponseCode></sr:FirmwareTransferAlert></sr:CommsHubAlert>',
    ),
    (
        FirmwareVersionMismatch(D, "PPMID", "00000101", "00000102"),
        '<sr:FirmwareVersionMismatch xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:DeviceID>00-DB-12-34-56-78-90-A1</sr:DeviceID><sr:DeviceType>PPMID</sr:DeviceType><sr:FirmwareVersionSMI>00000101</sr:FirmwareVersionSMI><sr:FirmwareVersionDevice>00000102</sr:FirmwareVersionDevice></sr:FirmwareVersionMismatch>',
    ),
    (
        FirmwareDistributionFailure("R1", (D, C)),
        '<sr:FirmwareDistributionFailure xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:UpdateFirmwareRequestID>R1</sr:UpdateFirmwareRequestID><sr:MeterIDs>00-DB-12-34-56-78-90-A1,00-DB-12-34-56-78-90-A2</sr:MeterIDs></sr:FirmwareDistributionFailure>',
    ),
    (
        CommandFailure("R1", D),
        '<sr:CommandFailure xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:CommandRequestID>R1</sr:CommandRequestID><sr:DeviceID>00-DB-12-34-56-78-90-A1</sr:DeviceID></sr:CommandFailure>',
    ),
    (
        EndpointTest("N999", "5.1"),
        '<sr:DUISVersionMismatch xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:DCCAlertVersionMismatch><sr:DCCAlertCode>N999</sr:DCCAlertCode></sr:DCCAlertVersionMismatch><sr:ServiceUserDUISVersion>5.1</sr:ServiceUserDUISVersion></sr:DUISVersionMismatch>',
    ),
    (
        QuarantinedRequest("ADDCCThresholdBreach", "R1", 42),
        '<sr:QuarantinedRequest xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:ADDCCThresholdBreach><sr:RequestID>R1</sr:RequestID><sr:QuarantineEventRef>42</sr:QuarantineEventRef></sr:ADDCCThresholdBreach></sr:QuarantinedRequest>',
    ),
]


@pytest.mark.parametrize(("body", "xml"), CASES, ids=[type(b).__name__ for b, _ in CASES])
def test_alert_body_element_as_recorded(body: AlertBody, xml: str) -> None:
    assert etree.tostring(body.element()).decode() == xml
    # inside sr:DCCAlert the body declares no namespace of its own
    alert = el("DCCAlert", None, body.element())
    ns = ' xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"'
    assert etree.tostring(alert).decode() == f"<sr:DCCAlert{ns}>{xml.replace(ns, '')}</sr:DCCAlert>"


def test_a_layout_naming_a_missing_field_fails_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="names no field \\['nope'\\]"):

        @dataclass(frozen=True, slots=True)
        class Bad(DeclaredBody):
            ELEMENT: ClassVar[str] = "CommandFailure"
            LAYOUT: ClassVar[Layout] = (Text("CommandRequestID", "nope"),)
            request_id: str
