"""A DSP with the RTDS devices and keys, and the DUIS documents it sends a supplier: what the
Parse & Correlate tests check.

The DSP is built as ``tests/e2e/test_rtds_in_dsp.py`` builds it (``device_cert_dirs`` = the RTDS
keystore), so every document here is the DSP's own signed output: the 11.2 response carrying
the RTDS CS08 response, the N39 / N42 DCC alerts, the Transform answers of 6.15.1, 6.15.2 and
8.1.1. The RTDS CS09 alert is also wrapped as the DSP relays a device alert
(``build_device_alert``, DSP-signed).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from althan import gbcs
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.duis.envelope import build_device_alert
from althan.duis.namespaces import SR, SR_NS, sr_element
from althan.duis.peers import keystore_json
from althan.duis.xmldsig import sign
from althan.duis.xmlsafe import parse_xml
from althan.model import DCC_EUI, EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly, build_dsp, register_test_users
from althan.smki.boxed_keystore import remote_party_key
from althan.smwan import GbcsAlert, GbcsCommand, GbcsResponse
from althan.smwan.codec import decode as decode_smwan
from althan.store.tables import devices
from althan.supplier.client import DuisClient, SignedRequest

T = datetime(2026, 12, 1, tzinfo=UTC)
A4 = EUI64.parse("00-DB-12-34-56-78-90-A4")
ESME = EUI64.parse("00-DB-12-34-56-78-90-A0")
CHF = EUI64.parse("00-DB-12-34-56-78-90-A2")
RTDS = "gbcs/RTDS-4.5.0"
CS08_RESPONSE = "11.2_CS08/CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX"
CS09_ALERT = "NA_CS09/CS09_NA_8F8B_ALERT_GBCS.HEX"


def rtds_hex(reference_dir: Path, rel: str) -> bytes:
    return bytes.fromhex("".join((reference_dir / RTDS / rel).read_text().split()))


def template_body(reference_dir: Path, name: str) -> etree._Element:
    """The body element of a DUIS template (RTDS 4.9.1)."""
    root = parse_xml((reference_dir / "duis/templates" / name).read_bytes())
    body = root.find(f"{SR}Body")
    assert body is not None
    return next(iter(body))


def gbcs_of(xml: bytes) -> bytes:
    root = parse_xml(xml)
    el = root.find(f".//{SR}GBCSPayload")
    assert el is not None and el.text
    return base64.b64decode(el.text)


@dataclass
class RtdsDsp:
    """The DSP, the ZAZ1 test supplier's DUIS client, and the DSP's signing key."""

    a: Assembly
    client: DuisClient

    def resign(self, xml: bytes, gbcs: bytes | None = None) -> bytes:
        """``xml`` with its GBCSPayload replaced by ``gbcs`` (if given), signed by the DSP's
        key: what a DSP that relays what it got (or a compromised one) would send."""
        root = parse_xml(xml)
        if gbcs is not None:
            el = root.find(f".//{SR}GBCSPayload")
            assert el is not None
            el.text = base64.b64encode(gbcs).decode()
        cert, key = self.a.zaz1[DCC_EUI]
        return sign(root, key, cert)

    def outbox(self) -> list[bytes]:
        items = self.a.dsp.outbox.take("test", T)
        return [i.payload for i in items if i.kind == "duis"]

    def send(self, req: SignedRequest) -> bytes:
        """The DSP's synchronous, signed answer to ``req``."""
        reply = self.a.dsp.handle_duis(req.service, req.xml, T)
        assert reply.http_status == 200, reply.detail
        return reply.body

    def cs08_response(self, reference_dir: Path) -> tuple[SignedRequest, bytes, list[bytes]]:
        """11.2 to A4, answered by the RTDS CS08 response: (request, the DSP's 11.2 response,
        every other document it sent — the N42 alert)."""
        req = self.client.read_firmware_version(A4)
        ack = self.send(req)
        items = self.a.dsp.outbox.take("test", T)
        [cmd] = [decode_smwan(i.payload) for i in items if i.kind == "smwan"]
        assert isinstance(cmd, GbcsCommand)
        rtds = rtds_hex(reference_dir, CS08_RESPONSE)
        self.a.dsp.handle_smwan(GbcsResponse(f"r-{cmd.msg_id}", cmd.msg_id, CHF, A4, rtds), T)
        docs = self.outbox()
        [resp] = [d for d in docs if b"GBCSPayload" in d]
        return req, resp, [ack, *(d for d in docs if d is not resp)]

    def n39(self, reference_dir: Path) -> bytes:
        """The DSP's N39 for the RTDS CS09 alert."""
        self.a.dsp.handle_smwan(GbcsAlert("cs09", CHF, A4, rtds_hex(reference_dir, CS09_ALERT)), T)
        [doc] = self.outbox()
        return doc

    def sign_and_send(self, req: SignedRequest, answer: bytes, srv: str, cv: int) -> bytes:
        """The supplier's part of a critical SRV: sign the answer's pre-command with its ZAZ1
        DS key and send it back under the same RequestID with CommandVariant ``cv``."""
        ds = remote_party_key(keystore_json(), TEST_SUPPLIER_EUI, "ds").key
        assert ds is not None
        signed = gbcs.sign_precommand(gbcs_of(answer), ds)
        payload = sr_element("GBCSPayload", base64.b64encode(signed).decode())
        spc = sr_element("SignedPreCommand", None, payload)
        return self.send(request_with_id(self.client, req.request_id, srv, cv, spc))

    def cs02d_response(self, reference_dir: Path) -> tuple[SignedRequest, bytes, bytes]:
        """6.15.2 to the ESME A0 with the RTDS template's certificate: (the request, the DSP's
        Transform answer, the DSP's device response carrying the RTDS CS02d response — after
        the supplier signed the pre-command with its ZAZ1 DS key and sent it with CV 5)."""
        body = template_body(reference_dir, "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML")
        req = self.client.request("6.15.2", 4, body, ESME)
        answer = self.send(req)
        ack = self.sign_and_send(req, answer, "6.15.2", 5)
        assert b"I99" in ack, ack
        items = self.a.dsp.outbox.take("test", T)
        [cmd] = [decode_smwan(i.payload) for i in items if i.kind == "smwan"]
        assert isinstance(cmd, GbcsCommand)
        rtds = rtds_hex(reference_dir, "6.15.2_CS02d/CS02d_6.15.2_SUCCESS_RESPONSE_GBCS.HEX")
        self.a.dsp.handle_smwan(GbcsResponse("r-cs02d", cmd.msg_id, CHF, ESME, rtds), T)
        [resp] = [d for d in self.outbox() if b"GBCSPayload" in d]
        return req, answer, resp

    def device_alert(self, gbcs: bytes, *, counter: int = 5000) -> bytes:
        """``gbcs`` relayed as a DUIS DeviceAlertMessage 8F8B to the supplier, DSP-signed."""
        root = build_device_alert(
            "8F8B", T, gbcs, device=A4, recipient=TEST_SUPPLIER_EUI, counter=counter
        )
        cert, key = self.a.zaz1[DCC_EUI]
        return sign(root, key, cert)


def request_with_id(
    client: DuisClient, rid: str, srv: str, cv: int, body: etree._Element
) -> SignedRequest:
    """A request under a given RequestID (a signed pre-command carries its transform's)."""
    root = etree.Element(f"{SR}Request", nsmap={"sr": SR_NS})
    root.set("schemaVersion", "5.1")
    header = etree.SubElement(root, f"{SR}Header")
    for tag, text in (
        ("RequestID", rid),
        ("CommandVariant", str(cv)),
        ("ServiceReference", ".".join(srv.split(".")[:2])),
        ("ServiceReferenceVariant", srv),
    ):
        etree.SubElement(header, f"{SR}{tag}").text = text
    etree.SubElement(root, f"{SR}Body").append(body)
    service = {5: "S", 7: "S", 6: "D"}[cv]
    return SignedRequest(rid, service, sign(root, client.key, client.cert))


def rtds_dsp(tmp_path: Path, reference_dir: Path) -> RtdsDsp:
    """The DSP with CHF A2, the PPMID A4 (a B3 bridge) and the ESME A0, all the test
    supplier's. The client's next RequestID counter is 1000, the counter the RTDS CS08
    response echoes as the supplementary remote party's."""
    a = build_dsp(tmp_path, device_cert_dirs=[reference_dir / "gbcs/keystore"])
    register_test_users(a, T)
    with a.dsp.engine.begin() as c:
        seed_inventory(
            c,
            [
                InventoryDevice(CHF, "CHF", "106C", "433100AC", "00009001", "North", CHF, None),
                InventoryDevice(
                    A4, "PPMID", "121D", "00840001", "00000001", "North", CHF, TEST_SUPPLIER_EUI
                ),
                InventoryDevice(
                    ESME, "ESME", "121D", "00010001", "00000001", "North", CHF, TEST_SUPPLIER_EUI
                ),
            ],
            T,
        )
        c.execute(devices.update().where(devices.c.eui == A4).values(variant="B3"))
    cert, key = a.zaz1[TEST_SUPPLIER_EUI]
    return RtdsDsp(a, DuisClient(TEST_SUPPLIER_EUI, key, cert, counter=999))
