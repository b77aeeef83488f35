"""The gateway's refusals, before any SRV handler: signature, user, role, RequestID, command
variant, web service, target, schema, size. Each answered with its exact code, signed by the
DSP, changing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from rules_gateway import (
    UNBOUND,
    UNKNOWN,
    UNREGISTERED,
    Gateway,
    header,
    own_schema,
    resigned,
    zaz1_client,
)

from althan.model import DCC_EUI, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.assemble import build_dsp, register_test_users
from althan.supplier.client import DuisClient
from gateway_support import ESME, SR, T0, post


def test_unsigned_request_is_e1(gateway: Gateway) -> None:
    req = gateway.supplier.read_inventory(ESME)
    root = etree.fromstring(req.xml)
    sig = root.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    assert sig is not None
    root.remove(sig)
    gateway.refused_raw("D", etree.tostring(root), "E1")


def test_request_changed_after_signing_is_e1(gateway: Gateway) -> None:
    req = gateway.supplier.read_inventory(ESME)
    tampered = req.xml.replace(str(ESME).encode(), str(UNKNOWN).encode())
    assert tampered != req.xml
    gateway.refused_raw("D", tampered, "E1")


def test_certificate_the_dsp_does_not_know_is_e2(gateway: Gateway) -> None:
    """Signed with a key whose certificate (issuer, serial) is in no trust store of the DSP."""
    pki = gateway.assembly.keys.pki
    stranger = DuisClient(
        TEST_SUPPLIER_EUI, pki.key_for(TEST_SUPPLIER_EUI, "ds"), pki.cert_for(TEST_SUPPLIER_EUI)
    )
    gateway.refused(stranger.read_inventory(ESME), "E2")


def test_trusted_certificate_of_no_registered_user_is_e2(gateway: Gateway) -> None:
    gateway.refused(zaz1_client(gateway.assembly, UNREGISTERED).read_inventory(ESME), "E2")


def test_role_not_eligible_is_e3(gateway: Gateway) -> None:
    """11.4 is for IS/GS only: the network operator (ED) and the other user (OU) may not."""
    for who in (gateway.operator, gateway.other_user):
        req = who.update_ppmid_firmware(b"\x1e\xf1\xee\x0b", FirmwareVersion(1), [ESME])
        gateway.refused(req, "E3")


def test_request_id_originator_not_the_signer_is_e4(gateway: Gateway) -> None:
    """The test supplier signs a request whose RequestID names the network operator."""
    s = gateway.supplier
    forged = DuisClient(gateway.operator.user, s.key, s.cert)
    gateway.refused(forged.read_inventory(ESME), "E4")


def test_signer_the_dsp_cannot_tie_to_a_user_is_e4(gateway: Gateway) -> None:
    """A certificate the DSP trusts with no EUI-64 (the XML signature verifies, but whose it is
    is unknown) cannot vouch for the RequestID's originator."""
    pki = gateway.assembly.keys.pki
    unbound = DuisClient(TEST_SUPPLIER_EUI, pki.key_for(UNBOUND, "ds"), pki.cert_for(UNBOUND))
    gateway.refused(unbound.read_inventory(ESME), "E4")


def test_command_variant_not_allowed_for_the_srv_is_e11(gateway: Gateway) -> None:
    """8.2 is a non-device request: CommandVariant 8 only; CV 2 (also serviceD) is E11."""
    req = gateway.supplier.request("8.2", 2, _read_inventory_body(ESME))
    assert req.service == "D"
    gateway.refused(req, "E11")


def test_counter_not_greater_than_the_last_is_e12(gateway: Gateway) -> None:
    s = gateway.supplier
    low = DuisClient(s.user, s.key, s.cert, counter=0)  # the setup used counters > 1000
    gateway.refused(low.read_inventory(ESME), "E12")


def test_non_device_request_not_to_the_dcc_is_e13(gateway: Gateway) -> None:
    req = gateway.supplier.request("8.2", 8, _read_inventory_body(ESME), target=ESME)
    gateway.refused(req, "E13")


def test_non_device_request_to_the_dcc_is_answered(gateway: Gateway) -> None:
    """The E13 rule's other side: the same request to the DCC is processed (8.2 of an unknown
    device is E080201, which changes nothing either)."""
    req = gateway.supplier.request("8.2", 8, _read_inventory_body(UNKNOWN), target=DCC_EUI)
    gateway.refused(req, "E080201")


def test_schema_invalid_request_is_e19(gateway: Gateway) -> None:
    req = resigned(
        gateway.supplier,
        gateway.supplier.read_inventory(ESME),
        lambda r: header(r, "CommandVariant").set("unexpected", "attribute"),
    )
    gateway.refused(req, "E19")


def test_not_well_formed_request_is_e19_with_http_400(gateway: Gateway) -> None:
    req = gateway.supplier.read_inventory(ESME)
    gateway.refused_raw("D", req.xml[: len(req.xml) // 2], "E19", status=400)


def test_service_reference_not_of_the_variant_is_e19(gateway: Gateway) -> None:
    """ServiceReference 8.4 with ServiceReferenceVariant 8.2: both schema-valid values."""
    req = resigned(
        gateway.supplier,
        gateway.supplier.read_inventory(ESME),
        lambda r: setattr(header(r, "ServiceReference"), "text", "8.4"),
    )
    gateway.refused(req, "E19")


def test_srv_althan_does_not_implement_is_e21(gateway: Gateway) -> None:
    """12.1 Request WAN Matrix: in the SRV matrix, no handler."""
    body = etree.Element(f"{SR}RequestWANMatrix")
    address = etree.SubElement(body, f"{SR}PartialAddress")
    etree.SubElement(address, f"{SR}PostCode").text = "M22 0RR"
    etree.SubElement(address, f"{SR}AddressIdentifier").text = "Threapwood Road"
    gateway.refused(gateway.supplier.request("12.1", 8, body), "E21")


def test_variant_the_srv_matrix_does_not_know_is_e21(tmp_path: Path, reference_dir: Path) -> None:
    """A DUIS schema of the user's own (`althan serve --schema-dir`) that allows a Service
    Reference Variant the SRV matrix lacks: schema-valid, not supported."""
    anchor = b'<xs:simpleType name="ServiceReferenceVariant">'

    def allow_8_2_99(xsd: bytes) -> bytes:
        i = xsd.index(b"<xs:enumeration", xsd.index(anchor))
        return xsd[:i] + b'<xs:enumeration value="8.2.99"/>' + xsd[i:]

    schema = own_schema(tmp_path / "schema", reference_dir, allow_8_2_99)
    a = build_dsp(tmp_path / "data", schema_dirs=(schema,))
    register_test_users(a, T0)
    req = zaz1_client(a, TEST_SUPPLIER_EUI).request("8.2.99", 8, _read_inventory_body(ESME))
    reply = a.dsp.handle_duis("D", req.xml, T0)
    assert reply.response_code == "E21", reply.detail
    assert "8.2.99" in reply.detail


def test_request_to_the_wrong_web_service_is_e100(gateway: Gateway) -> None:
    req = gateway.supplier.read_inventory(ESME)
    assert req.service == "D"
    gateway.refused(req, "E100", service="S")


def test_request_too_large_is_e100(gateway: Gateway) -> None:
    req = gateway.supplier.read_inventory(ESME)
    huge = req.xml.replace(b"</sr:Request>", b"<!--" + b" " * 14_000_000 + b"--></sr:Request>")
    gateway.refused_raw("D", huge, "E100", status=413)


@pytest.mark.parametrize("service", ["D", "S", "T"])
def test_a_body_naming_no_srv_is_e19_http_400_on_every_service(
    gateway: Gateway, service: str
) -> None:
    """Whatever the web service, XML that names no DUIS SRV cannot be answered by a
    schema-valid DUIS response: HTTP 400, text/plain, E19 (docs/duis.md), nothing stored."""
    gateway.refused_raw(service, b"<not-duis/>", "E19", status=400)
    status, code, root = post(gateway.client, gateway.assembly, service, b"<not-duis/>")
    assert (status, code, root) == (400, "E19", None)


def _read_inventory_body(device: object) -> etree._Element:
    body = etree.Element(f"{SR}ReadInventory")
    etree.SubElement(body, f"{SR}DeviceID").text = str(device)
    return body
