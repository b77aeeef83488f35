"""Critical Service Requests over HTTP: the refusals of the transform (CV 4) and of the signed
pre-command (CV 5/6), each with its exact code, signed by the DSP, changing nothing.

The signed pre-commands are signed with the ZAZ1 test supplier's GBCS DS key from the DCC
Boxed keystore, as the supplier would; the ESME of gateway_support.seed_meter is the target.
"""

from __future__ import annotations

import base64
import textwrap
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from lxml import etree
from rules_gateway import (
    ESME_B,
    ESME_INC,
    ESME_NO_CHF,
    PPMID_INC,
    UNKNOWN,
    Gateway,
    assert_refused,
    header,
    resigned,
)
from sqlalchemy import update

from althan import gbcs
from althan.dsp.bodies import el
from althan.duis.peers import keystore_json
from althan.model import DCC_EUI, EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly
from althan.smki.boxed_keystore import remote_party_key
from althan.store.tables import devices
from althan.supplier.client import DuisClient, SignedRequest
from gateway_support import ESME, SR, FakeClock, device_count, seed_meter, send


def _cert_body(cert_text: str) -> etree._Element:
    return el("UpdateSecurityCredentialsDevice", None, el("DeviceCertificate", cert_text))


def _cert(a: Assembly, eui: EUI64 = ESME) -> str:
    der = a.keys.pki.cert_for(eui, "ka").public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode()


def _commission_body(when: str = "2026-12-01T09:00:00Z") -> etree._Element:
    return el(
        "CommissionDeviceSynchroniseClock",
        None,
        el("CurrentDateTime", when),
        el("TolerancePeriod", "60"),
    )


def _signed_request(
    who: DuisClient, transform: SignedRequest, body: etree._Element, cv: int = 5, srv: str = ""
) -> SignedRequest:
    """A request with the transform's RequestID, CommandVariant `cv`, `body` (and optionally
    another ServiceReferenceVariant), signed by `who`."""

    def edit(root: etree._Element) -> None:
        header(root, "CommandVariant").text = str(cv)
        if srv:
            header(root, "ServiceReferenceVariant").text = srv
        b = root.find(f"{SR}Body")
        assert b is not None
        for k in list(b):
            b.remove(k)
        b.append(body)

    req = resigned(who, transform, edit)
    return SignedRequest(req.request_id, {5: "S", 7: "S", 6: "D"}[cv], req.xml)


def _signed_body(payload: bytes) -> etree._Element:
    return el("SignedPreCommand", None, el("GBCSPayload", base64.b64encode(payload).decode()))


# ------------------------------------------------------------------ transform (CV 4) refusals


def test_transform_of_an_unknown_device_is_e5(gateway: Gateway) -> None:
    req = gateway.supplier.request("6.15.2", 4, _cert_body(_cert(gateway.assembly)), UNKNOWN)
    gateway.refused(req, "E5")


def test_transform_for_another_suppliers_device_is_e17(gateway: Gateway) -> None:
    cert = _cert(gateway.assembly, ESME_B)
    gateway.refused(gateway.supplier.request("6.15.2", 4, _cert_body(cert), ESME_B), "E17")


def test_transform_for_a_device_not_commissioned_or_on_no_chf_is_e20(gateway: Gateway) -> None:
    for target in (ESME_INC, ESME_NO_CHF):
        cert = _cert(gateway.assembly, target)
        gateway.refused(gateway.supplier.request("6.15.2", 4, _cert_body(cert), target), "E20")


def test_transform_whose_body_is_not_the_srvs_is_e19(gateway: Gateway) -> None:
    s = gateway.supplier
    cert = _cert(gateway.assembly)
    for srv, body in (
        ("6.15.2", _commission_body()),
        ("6.15.1", _cert_body(cert)),
        ("8.1.1", _cert_body(cert)),
        # SynchroniseClock (6.11) has the very type of 8.1.1's CommissionDeviceSynchroniseClock
        ("8.1.1", el("SynchroniseClock", None, *_commission_body())),
    ):
        gateway.refused(s.request(srv, 4, body, ESME), "E19")


def test_transform_of_a_device_certificate_that_is_not_one_is_e19(gateway: Gateway) -> None:
    junk = base64.b64encode(b"not a certificate").decode()
    for text in (junk, ""):
        gateway.refused(gateway.supplier.request("6.15.2", 4, _cert_body(text), ESME), "E19")


def test_8_1_1_of_a_device_that_is_not_an_esme_is_e20(gateway: Gateway) -> None:
    """ECS70 is for an ESME; PPMID_INC is in a state 8.1.1 accepts (installed on a CHF)."""
    gateway.refused(gateway.supplier.request("8.1.1", 4, _commission_body(), PPMID_INC), "E20")


def test_8_1_1_with_a_time_the_dsp_cannot_read_is_e19(gateway: Gateway) -> None:
    """24:00:00 is an xs:dateTime the schema accepts (XSD 1.0) that is no datetime."""
    req = gateway.supplier.request("8.1.1", 4, _commission_body("2026-12-01T24:00:00Z"), ESME)
    gateway.refused(req, "E19")


# ------------------------------------------------------------------ signed pre-command refusals


def test_signed_precommand_request_without_a_signed_precommand_is_e19(gateway: Gateway) -> None:
    transform = gateway.supplier.request("6.15.2", 4, _cert_body(_cert(gateway.assembly)), ESME)
    req = _signed_request(gateway.supplier, transform, _cert_body(_cert(gateway.assembly)))
    gateway.refused(req, "E19")


def test_signed_precommand_for_a_request_id_never_transformed_is_e30(gateway: Gateway) -> None:
    transform = gateway.supplier.request("6.15.2", 4, _cert_body(_cert(gateway.assembly)), ESME)
    req = _signed_request(gateway.supplier, transform, _signed_body(b"\xdf\x09"))
    gateway.refused(req, "E30")


class Critical:
    """One DSP (its own: a transform changes the store) with a pre-command issued."""

    def __init__(self, client: TestClient, a: Assembly, supplier: DuisClient) -> None:
        self.client, self.a, self.supplier = client, a, supplier
        ds = remote_party_key(keystore_json(), TEST_SUPPLIER_EUI, "ds").key
        assert ds is not None
        self.ds = ds
        self.transform, self.pre = self.issue()

    def issue(self, cert_text: str | None = None) -> tuple[SignedRequest, bytes]:
        req = self.supplier.request("6.15.2", 4, _cert_body(cert_text or _cert(self.a)), ESME)
        code, root = send(self.client, self.a, req)
        assert code == "I0"
        return req, base64.b64decode(root.findtext(f".//{SR}PreCommand/{SR}GBCSPayload") or "")

    def signed(self, payload: bytes, cv: int = 5, srv: str = "") -> SignedRequest:
        return _signed_request(self.supplier, self.transform, _signed_body(payload), cv, srv)

    def refused(self, req: SignedRequest, code: str) -> None:
        assert_refused(self.client, self.a, req.service, req.xml, code)


@pytest.fixture
def critical(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock
) -> Iterator[Critical]:
    seed_meter(assembly, clock())
    yield Critical(client, assembly, supplier)


def test_device_certificate_in_wrapped_base64_is_transformed(critical: Critical) -> None:
    """xs:base64Binary allows whitespace: a certificate wrapped at 64 columns (as in PEM) is
    the same certificate."""
    wrapped = "\n".join(textwrap.wrap(_cert(critical.a), 64))
    assert "\n" in wrapped
    _req, pre = critical.issue(wrapped)
    msg = gbcs.decode(pre)
    assert isinstance(msg.payload, gbcs.UpdateDeviceCertificateCommand)
    assert base64.b64encode(msg.payload.certificate).decode() == _cert(critical.a)


def test_signed_precommand_refusals(critical: Critical) -> None:
    c = critical
    good = gbcs.sign_precommand(c.pre, c.ds)
    # an empty GBCSPayload (a valid xs:base64Binary): E30
    c.refused(c.signed(b""), "E30")
    # the RequestID transformed for 6.15.2 sent as a 6.15.1 signed pre-command: E30
    c.refused(c.signed(good, srv="6.15.1"), "E30")
    # not GBCS: E30
    c.refused(c.signed(b"\x00\x01garbage"), "E30")
    # the signed pre-command already MAC'd (the 0xDD form): E30
    acb = remote_party_key(keystore_json(), DCC_EUI, "ka").key
    assert acb is not None
    macd = gbcs.mac_signed_precommand(
        gbcs.decode(good), ka_private=acb, ka_public=c.a.keys.pki.public_key_for(ESME, "ka")
    )
    c.refused(c.signed(macd), "E30")
    # the content changed after the DSP issued it, signed by the right key: E30
    msg = gbcs.decode(c.pre)
    other = gbcs.UpdateDeviceCertificateCommand(msg.payload.certificate[:-1] + b"\x00")
    c.refused(c.signed(gbcs.sign_precommand(gbcs.encode(msg.replace(payload=other)), c.ds)), "E30")
    # sent back unsigned, or signed by another party's key: E31
    c.refused(c.signed(c.pre), "E31")
    net_op = remote_party_key(keystore_json(), EUI64.parse("90-B3-D5-1F-30-02-00-00"), "ds").key
    assert net_op is not None
    c.refused(c.signed(gbcs.sign_precommand(c.pre, net_op)), "E31")


def test_signed_precommand_is_accepted_once_then_e12(critical: Critical) -> None:
    c = critical
    good = gbcs.sign_precommand(c.pre, c.ds)
    code, root = send(c.client, c.a, c.signed(good, cv=6))
    assert code == "I0"
    assert root.find(f".//{SR}LocalCommand/{SR}GBCSPayload") is not None
    c.refused(c.signed(good, cv=6), "E12")
    c.refused(c.signed(good, cv=5), "E12")
    req2, pre2 = c.issue()
    c.transform = req2
    code, _ = send(c.client, c.a, c.signed(gbcs.sign_precommand(pre2, c.ds), cv=5))
    assert code == "I99"


def test_a_transform_is_recorded_as_acting_on_its_one_device(critical: Critical) -> None:
    """The transform is the request anomaly detection counts (the signed pre-command reuses its
    RequestID and is not recorded again)."""
    assert device_count(critical.a.dsp.engine, critical.transform.request_id) == 1


def test_signed_precommand_for_a_device_no_longer_behind_a_chf_is_e20(critical: Critical) -> None:
    """Between the transform and the signed pre-command the DCC's record of the device changed:
    it is on no CHF now, so there is no way to send the command (CV 5). Refused E20, nothing
    sent, the pre-command still unused."""
    c = critical
    with c.a.dsp.engine.begin() as conn:
        conn.execute(update(devices).where(devices.c.eui == ESME).values(chf=None))
    pending = c.a.dsp.outbox.pending()
    c.refused(c.signed(gbcs.sign_precommand(c.pre, c.ds), cv=5), "E20")
    assert c.a.dsp.outbox.pending() == pending
