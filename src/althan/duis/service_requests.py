"""Service Requests as a DUIS user builds them: the envelope, the body, the XMLDSig signature.

A `RequestBuilder` is one user's (its EUI, its XML-signing key and certificate, its RequestID
counter); used by the supplier's client (`althan.supplier.client`) and by the sim runtime's
scenarios, which act as a supplier does.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from althan.duis.namespaces import DSIG_NS, SR, SR_NS, XSI_NS
from althan.duis.namespaces import sr_element as _e
from althan.duis.srv import service_reference_of
from althan.duis.xmldsig import sign
from althan.model import DCC_EUI, EUI64, AltHANVariant, FirmwareVersion


@dataclass(frozen=True, slots=True)
class SignedRequest:
    request_id: str
    service: str  # "D" | "S" | "T": which DUIS web service it goes to
    xml: bytes


@dataclass(slots=True, eq=False)
class RequestBuilder:
    """Counter-keeping request builder for one DUIS user."""

    user: EUI64
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    _: KW_ONLY
    counter: int = 1_000
    schema_version: str = "5.1"
    dcc: EUI64 = DCC_EUI

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def request(
        self, srv: str, cv: int, body: etree._Element, target: EUI64 | None = None
    ) -> SignedRequest:
        counter = self._next()
        rid = f"{self.user}:{target or self.dcc}:{counter}"
        root = etree.Element(f"{SR}Request", nsmap={"sr": SR_NS, "ds": DSIG_NS, "xsi": XSI_NS})
        root.set("schemaVersion", self.schema_version)
        ref = service_reference_of(srv)
        root.append(
            _e(
                "Header",
                None,
                _e("RequestID", rid),
                _e("CommandVariant", str(cv)),
                _e("ServiceReference", ref),
                _e("ServiceReferenceVariant", srv),
            )
        )
        root.append(_e("Body", None, body))
        service = {1: "S", 3: "S", 5: "S", 7: "S", 4: "T"}.get(cv, "D")
        return SignedRequest(rid, service, sign(root, self.key, self.cert))

    # -- the Service Requests of the Alt HAN firmware flow
    def prenotify(
        self,
        device: EUI64,
        *,
        manufacturer: str,
        model: str,
        device_type: str = "PPMID",
        firmware: FirmwareVersion | None = None,
        smets: str | None = "CHTS V1.4",
        variant: AltHANVariant | str | None = None,
    ) -> SignedRequest:
        b = _e("DevicePrenotification")
        b.append(_e("DeviceID", str(device)))
        b.append(_e("DeviceManufacturer", manufacturer))
        b.append(_e("DeviceModel", model))
        b.append(_e("DeviceType", device_type))
        if smets:
            b.append(_e("SMETSCHTSVersion", smets))
        if firmware is not None:
            b.append(_e("FirmwareVersion", str(firmware)))
        if variant is not None:
            b.append(_e("AltHANDeviceVariant", str(variant)))
        return self.request("12.2", 8, b)

    def read_inventory(self, device: EUI64) -> SignedRequest:
        return self.request("8.2", 8, _e("ReadInventory", None, _e("DeviceID", str(device))))

    def _update_inventory(self, device: EUI64, detail: etree._Element) -> SignedRequest:
        """8.4 UpdateInventory of `device` with one UpdateDeviceDetails element."""
        details = _e("UpdateDeviceDetails", None, detail)
        body = _e("UpdateInventory", None, _e("DeviceID", str(device)), details)
        return self.request("8.4", 8, body)

    def update_inventory_variant(self, device: EUI64, variant: str) -> SignedRequest:
        return self._update_inventory(device, _e("AltHANDeviceVariant", variant))

    def update_inventory_firmware(self, device: EUI64, version: FirmwareVersion) -> SignedRequest:
        """8.4 UpdateDeviceDetails with a FirmwareVersion: what the SMI should hold."""
        return self._update_inventory(device, _e("FirmwareVersion", str(version)))

    def whitelist(self, chf: EUI64, device: EUI64, install_code: bytes) -> SignedRequest:
        body = _e(
            "UpdateHANDeviceLog",
            None,
            _e("DeviceID", str(device)),
            _e("RequestType", "Add"),
            _e(
                "AddDeviceToCHFWhitelist",
                None,
                _e("JoinTimePeriod", "90"),
                _e("InstallCode", install_code.hex().upper()),
            ),
        )
        return self.request("8.11", 1, body, target=chf)

    def unwhitelist(self, chf: EUI64, device: EUI64) -> SignedRequest:
        """8.11 with RequestType Remove: take `device` off the CHF's device log (CCS02)."""
        body = _e(
            "UpdateHANDeviceLog", None, _e("DeviceID", str(device)), _e("RequestType", "Remove")
        )
        return self.request("8.11", 1, body, target=chf)

    def update_ppmid_firmware(
        self, image: bytes, version: FirmwareVersion, devices: Iterable[EUI64]
    ) -> SignedRequest:
        body = _e(
            "UpdatePPMIDFirmware",
            None,
            _e("FirmwareImage", base64.b64encode(image).decode("ascii")),
            _e("FirmwareVersion", str(version)),
            _e("DeviceIDList", ",".join(str(d) for d in devices)),
        )
        return self.request("11.4", 8, body)

    def read_firmware_version(self, device: EUI64) -> SignedRequest:
        return self.request("11.2", 1, _e("ReadFirmwareVersion"), target=device)

    def _non_critical(self, srv: str, service: str, target: EUI64, other: EUI64) -> SignedRequest:
        """8.7.2 / 8.8.2: join `other` to `target` or unjoin it (non-critical)."""
        body = _e(service, None, _e("OtherDeviceID", str(other)))
        return self.request(srv, 1, body, target=target)

    def join_non_critical(self, target: EUI64, other: EUI64) -> SignedRequest:
        return self._non_critical("8.7.2", "JoinServiceNonCritical", target, other)

    def unjoin_non_critical(self, target: EUI64, other: EUI64) -> SignedRequest:
        return self._non_critical("8.8.2", "UnjoinServiceNonCritical", target, other)
