"""Critical Service Requests through DUIS's Transform / Signed Pre-Command path, end to end.

A Scenario fleet (bridges pre-notified, whitelisted, commissioned), the ZAZ1 test supplier
signing DUIS XML and, with its GBCS DS key from the DCC Boxed keystore, the GBCS pre-command.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from sqlalchemy import func, select, update

from althan import gbcs
from althan.duis.peers import keystore_json
from althan.duis.xmldsig import sign, verify
from althan.gbcs.codec import Reader
from althan.han.device import Device
from althan.han.topology import generate_fleet
from althan.model import DCC_EUI, EUI64, TEST_SUPPLIER_EUI
from althan.runtime.scenario import Scenario
from althan.smki.boxed_keystore import remote_party_key
from althan.smwan import GbcsResponse
from althan.store.tables import device_commands, devices, outbox
from althan.supplier.client import SignedRequest

SR_NS = "http://www.dccinterface.co.uk/ServiceUserGateway"
SR = f"{{{SR_NS}}}"
RTDS = "gbcs/RTDS-4.5.0"


def _e(name: str, text: str | None = None, *kids: etree._Element) -> etree._Element:
    e = etree.Element(f"{SR}{name}")
    e.text = text
    for k in kids:
        e.append(k)
    return e


class Flow:
    """One home (B1, B4, B3 and an ESME), installed; every test gets its own."""

    def __init__(self, data_dir: Path) -> None:
        fleet = generate_fleet(1, 7)
        self.w = w = Scenario(fleet, data_dir, seed=7)
        self.homes = list(fleet.bridges())
        w.install(self.homes)
        self.ds = remote_party_key(keystore_json(), TEST_SUPPLIER_EUI, "ds").key
        assert self.ds is not None

    def request(self, srv: str, cv: int, body: etree._Element, target: EUI64) -> SignedRequest:
        return self.w.supplier.request(srv, cv, body, target)

    def with_rid(self, rid: str, srv: str, cv: int, body: etree._Element) -> SignedRequest:
        """A request reusing a RequestID (a signed pre-command carries its transform's)."""
        c = self.w.supplier
        root = etree.Element(f"{SR}Request", nsmap={"sr": SR_NS})
        root.set("schemaVersion", "5.1")
        root.append(
            _e(
                "Header",
                None,
                _e("RequestID", rid),
                _e("CommandVariant", str(cv)),
                _e("ServiceReference", ".".join(srv.split(".")[:2])),
                _e("ServiceReferenceVariant", srv),
            )
        )
        root.append(_e("Body", None, body))
        service = {5: "S", 7: "S", 6: "D"}[cv]
        return SignedRequest(rid, service, sign(root, c.key, c.cert))

    def reply(self, req: SignedRequest) -> tuple[str, etree._Element]:
        before = len(self.w.user.replies)
        self.w.send(req)
        self.w.run()
        new = self.w.user.replies[before:]
        assert len(new) == 1
        root = verify(new[0].body, self.w.dsp_trust).root
        return root.findtext(f"{SR}Header/{SR}ResponseCode") or "", root

    def smwan_rows(self) -> int:
        with self.w.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.kind == "smwan")
                ).scalar_one()
            )

    def device_state(self, eui: EUI64) -> Device:
        return self.w.network.han_device(eui)


def _cs02d_body(cert: bytes) -> etree._Element:
    return _e(
        "UpdateSecurityCredentialsDevice",
        None,
        _e("DeviceCertificate", base64.b64encode(cert).decode()),
    )


def _signed_body(gbcs_bytes: bytes) -> etree._Element:
    return _e("SignedPreCommand", None, _e("GBCSPayload", base64.b64encode(gbcs_bytes).decode()))


@pytest.fixture
def flow(tmp_path: Path) -> Flow:
    return Flow(tmp_path)


def _new_cert(flow: Flow, eui: EUI64) -> bytes:
    from cryptography.hazmat.primitives import serialization

    cert = flow.w.assembly.keys.pki.cert_for(eui, "ka")
    return cert.public_bytes(serialization.Encoding.DER)


def _transform(flow: Flow, bridge: EUI64, cert: bytes) -> tuple[SignedRequest, bytes]:
    req = flow.request("6.15.2", 4, _cs02d_body(cert), bridge)
    assert req.service == "T"
    code, root = flow.reply(req)
    assert code == "I0"
    pc = root.find(f".//{SR}ResponseMessage/{SR}PreCommand")
    assert pc is not None
    assert pc.findtext(f"{SR}GBCSVersion")
    return req, base64.b64decode(pc.findtext(f"{SR}GBCSPayload") or "")


def test_6_15_2_transform_sign_send_and_device_applies(flow: Flow) -> None:
    _h, b = flow.homes[0]
    cert = _new_cert(flow, b.eui)
    req, pre = _transform(flow, b.eui, cert)
    msg = gbcs.decode(pre)
    # the pre-command: CS02d for that bridge, from the supplier, no signature field, no MAC
    assert msg.use_case == "CS02d" and msg.cra_flag == gbcs.CraFlag.COMMAND
    assert (msg.originator, msg.target) == (TEST_SUPPLIER_EUI, b.eui)
    assert msg.transaction_id == int(req.request_id.rsplit(":", 1)[1])
    assert not msg.signature_field and msg.mac is None and pre[0] == 0xDF
    assert msg.payload == gbcs.UpdateDeviceCertificateCommand(cert)
    assert flow.device_state(b.eui).credentials.get("device-cert") is None

    signed = gbcs.sign_precommand(pre, flow.ds)  # type: ignore[arg-type]
    before = flow.smwan_rows()
    code, _ = flow.reply(flow.with_rid(req.request_id, "6.15.2", 5, _signed_body(signed)))
    assert code == "I99"
    assert flow.smwan_rows() == before + 1
    # the device checked the ACB MAC and the supplier's signature, then applied the certificate
    assert flow.device_state(b.eui).credentials["device-cert"] == cert
    resp = flow.w.user.responses_to(req.request_id)
    assert [r.response_code for r in resp] == ["I0"]
    device_gbcs = base64.b64decode(resp[0].root.findtext(f".//{SR}GBCSPayload") or "")
    answer = gbcs.decode(device_gbcs)
    assert answer.use_case == "CS02d" and answer.cra_flag == gbcs.CraFlag.RESPONSE
    assert answer.payload == gbcs.ResponseCode(0)
    assert (answer.originator, answer.target) == (b.eui, TEST_SUPPLIER_EUI)
    dev_ds = flow.w.assembly.keys.pki.public_key_for(b.eui, "ds")
    assert gbcs.verify_signature(answer, dev_ds)
    assert resp[0].root.findtext(f"{SR}Header/{SR}ResponseID", "").startswith(str(b.eui))

    # the same signed pre-command again: already used, nothing sent
    code, _ = flow.reply(flow.with_rid(req.request_id, "6.15.2", 5, _signed_body(signed)))
    assert code == "E12"
    assert flow.smwan_rows() == before + 1


def _tampered(pre: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """The pre-command with one byte of the certificate changed, then signed."""
    msg = gbcs.decode(pre)
    assert isinstance(msg.payload, gbcs.UpdateDeviceCertificateCommand)
    cert = bytearray(msg.payload.certificate)
    cert[-5] ^= 0x01
    changed = gbcs.encode(msg.replace(payload=gbcs.UpdateDeviceCertificateCommand(bytes(cert))))
    return gbcs.sign_precommand(changed, key)


def test_tampered_or_foreign_signed_precommands_are_refused_and_nothing_sent(flow: Flow) -> None:
    _h, b = flow.homes[1]
    cert = _new_cert(flow, b.eui)
    req, pre = _transform(flow, b.eui, cert)
    before = flow.smwan_rows()

    def send(payload: bytes, cv: int = 5) -> str:
        code, _ = flow.reply(flow.with_rid(req.request_id, "6.15.2", cv, _signed_body(payload)))
        return code

    assert flow.ds is not None
    # content changed after the DSP issued it (and signed by the right key): E30
    assert send(_tampered(pre, flow.ds)) == "E30"
    # a valid signature byte flipped: E31
    good = bytearray(gbcs.sign_precommand(pre, flow.ds))
    good[-3] ^= 0x40
    assert send(bytes(good)) == "E31"
    # signed by another key (the network operator's DS key): E31
    other = remote_party_key(keystore_json(), EUI64.parse("90-B3-D5-1F-30-02-00-00"), "ds").key
    assert other is not None
    assert send(gbcs.sign_precommand(pre, other)) == "E31"
    # the unsigned pre-command sent back as is: E31 (no signature)
    assert send(pre) == "E31"
    # not GBCS at all: E30
    assert send(b"\x00\x01garbage") == "E30"
    # a signed pre-command for a RequestID the DSP never transformed: E30
    other_rid = f"{TEST_SUPPLIER_EUI}:{b.eui}:{10**12}"
    code, _ = flow.reply(
        flow.with_rid(other_rid, "6.15.2", 5, _signed_body(gbcs.sign_precommand(pre, flow.ds)))
    )
    assert code == "E30"
    assert flow.smwan_rows() == before, "a refused signed pre-command sends nothing"
    assert flow.device_state(b.eui).credentials.get("device-cert") is None
    # CV 6: the signed pre-command back for local delivery, MAC'd by the ACB, nothing sent
    code, root = flow.reply(
        flow.with_rid(req.request_id, "6.15.2", 6, _signed_body(gbcs.sign_precommand(pre, flow.ds)))
    )
    assert code == "I0"
    local = base64.b64decode(root.findtext(f".//{SR}LocalCommand/{SR}GBCSPayload") or "")
    cmd = gbcs.decode(local)
    assert local[0] == 0xDD and cmd.mac is not None and cmd.signature is not None
    acb_ka = remote_party_key(keystore_json(), DCC_EUI, "ka").key
    assert acb_ka is not None
    dev_ka = flow.w.assembly.keys.pki.public_key_for(b.eui, "ka")
    assert gbcs.verify_mac(cmd, private_key=acb_ka, public_key=dev_ka)
    assert flow.smwan_rows() == before


def test_transform_refusals(flow: Flow) -> None:
    _h, b = flow.homes[0]
    cert = _new_cert(flow, b.eui)
    unknown = EUI64.parse("00-DB-12-34-56-78-FF-FF")
    assert flow.reply(flow.request("6.15.2", 4, _cs02d_body(cert), unknown))[0] == "E5"
    bad = _cs02d_body(b"not a certificate")
    assert flow.reply(flow.request("6.15.2", 4, bad, b.eui))[0] == "E19"
    # 8.1.1 Commission Device to a bridge (a PPMID): ECS70 is for an ESME
    body = _e(
        "CommissionDeviceSynchroniseClock",
        None,
        _e("CurrentDateTime", "2026-12-01T09:00:00Z"),
        _e("TolerancePeriod", "60"),
    )
    assert flow.reply(flow.request("8.1.1", 4, body, b.eui))[0] == "E20"


def _8_1_1_signed(
    flow: Flow, status: str = "InstalledNotCommissioned"
) -> tuple[EUI64, SignedRequest, bytes]:
    """An ESME in `status` (the DCC's record: installed, not yet commissioned) and 8.1.1
    transformed for it: the ESME, the transform, and the pre-command signed by the supplier."""
    home = next(h for h, _b in flow.homes if h.esme is not None)
    assert home.esme is not None
    esme = home.esme.eui
    with flow.w.engine.begin() as conn:
        conn.execute(update(devices).where(devices.c.eui == esme).values(status=status))
    body = _e(
        "CommissionDeviceSynchroniseClock",
        None,
        _e("CurrentDateTime", "2026-12-01T09:00:00Z"),
        _e("TolerancePeriod", "60"),
    )
    req = flow.request("8.1.1", 4, body, esme)
    code, root = flow.reply(req)
    assert code == "I0", code
    pre = base64.b64decode(root.findtext(f".//{SR}PreCommand/{SR}GBCSPayload") or "")
    msg = gbcs.decode(pre)
    assert (
        msg.message_code == gbcs.MessageCode.ECS70
        and msg.target == esme
        and not msg.signature_field
    )
    assert flow.ds is not None
    return esme, req, gbcs.sign_precommand(pre, flow.ds)


def _status(flow: Flow, eui: EUI64) -> str:
    with flow.w.engine.connect() as conn:
        return str(conn.execute(select(devices.c.status).where(devices.c.eui == eui)).scalar_one())


def test_8_1_1_commission_esme_transform_and_accept(flow: Flow) -> None:
    """8.1.1's ECS70, signed by the supplier, reaches the ESME; its signed success commissions
    it in the SMI."""
    esme, req, signed = _8_1_1_signed(flow)
    code, _ = flow.reply(flow.with_rid(req.request_id, "8.1.1", 5, _signed_body(signed)))
    assert code == "I99"
    resp = flow.w.user.responses_to(req.request_id)
    assert [r.response_code for r in resp] == ["I0"]
    answer = gbcs.decode(base64.b64decode(resp[0].root.findtext(f".//{SR}GBCSPayload") or ""))
    assert answer.message_code == gbcs.MessageCode.ECS70
    assert gbcs.DlmsAccessResponse.decode(Reader(answer.content)).success
    assert _status(flow, esme) == "Commissioned"


def test_8_1_1_of_an_esme_commissioned_before_keeps_its_commissioning_date(flow: Flow) -> None:
    """8.1.1 may synchronise the clock of an ESME that is commissioned already: its signed
    success leaves it as it was (status and the date it was commissioned)."""
    esme, req, signed = _8_1_1_signed(flow, "Commissioned")
    with flow.w.engine.connect() as conn:
        q = select(devices.c.status, devices.c.commissioned_at).where(devices.c.eui == esme)
        before = conn.execute(q).one()
    code, _ = flow.reply(flow.with_rid(req.request_id, "8.1.1", 5, _signed_body(signed)))
    assert code == "I99"
    assert [r.response_code for r in flow.w.user.responses_to(req.request_id)] == ["I0"]
    with flow.w.engine.connect() as conn:
        assert conn.execute(q).one() == before


def test_8_1_1_a_success_only_macd_not_signed_does_not_commission(flow: Flow) -> None:
    """A response to a critical command is believed only with the device's DS signature: an
    ECS70 success carrying a valid MAC (device and ACB KA keys) but no signature reaches the
    DSP first; it is relayed to the user, but the ESME stays not commissioned (and the
    device's own answer, arriving later for a command already answered, changes nothing)."""
    esme, req, signed = _8_1_1_signed(flow)
    flow.w.send(flow.with_rid(req.request_id, "8.1.1", 5, _signed_body(signed)))
    flow.w.run(until=flow.w.now() + 0.5)  # the DSP answered; the command is on its way
    assert flow.w.user.replies[-1].response_code == "I99"
    with flow.w.engine.connect() as conn:
        cmd = conn.execute(
            select(device_commands).where(
                device_commands.c.request_id == str(req.request_id),
                device_commands.c.detail == "critical",
            )
        ).one()
    assert cmd.done_at is None
    command = gbcs.decode(
        gbcs.mac_signed_precommand(
            gbcs.decode(signed),
            ka_private=flow.w.keys.key_for(DCC_EUI, "ka"),
            ka_public=flow.w.keys.key_for(esme, "ka").public_key(),
        )
    )
    access = gbcs.DlmsAccessRequest.decode(Reader(command.content))
    macd = gbcs.seal(
        gbcs.response_to(command, gbcs.DlmsAccessResponse.answering(access)),
        ka_private=flow.w.keys.key_for(esme, "ka"),
        ka_public=flow.w.keys.key_for(DCC_EUI, "ka").public_key(),
    )
    flow.w.dsp.handle_smwan(
        GbcsResponse("forged-1", cmd.msg_id, cmd.chf, esme, macd), flow.w.time()
    )
    flow.w.run()
    assert [r.response_code for r in flow.w.user.responses_to(req.request_id)] == ["I0"]
    assert _status(flow, esme) == "InstalledNotCommissioned"


def test_builders_reproduce_the_rtds_precommands_and_acb_mac(reference_dir: Path) -> None:
    """The DSP's pre-commands are byte-identical to the DCC RTDS ones for the template inputs,
    and MAC'ing the RTDS signed pre-command with the ACB key gives the RTDS command."""
    from datetime import UTC, datetime

    def hexfile(name: str) -> bytes:
        return bytes.fromhex("".join((reference_dir / RTDS / name).read_text().split()))

    sup = EUI64.parse("90-B3-D5-1F-30-01-00-00")
    dev = EUI64.parse("00-DB-12-34-56-78-90-A0")
    t = etree.parse(str(reference_dir / "duis/templates/CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML"))
    cert = base64.b64decode(t.findtext(f".//{SR}DeviceCertificate") or "")
    x509.load_der_x509_certificate(cert)
    ours = gbcs.precommand(
        gbcs.command(
            gbcs.UpdateDeviceCertificateCommand(cert),
            dev,
            1000,
            originator=sup,
            message_code=0x000B,
        )
    )
    assert ours == hexfile("6.15.2_CS02d/CS02d_6.15.2_SUCCESS_PRECOMMAND_GBCS.HEX")
    clock = gbcs.ecs70_set_clock(datetime(2014, 12, 31, 23, 59, 10, tzinfo=UTC), 60, 1000)
    ecs70 = gbcs.precommand(
        gbcs.command(clock, dev, 1000, originator=sup, message_code=gbcs.MessageCode.ECS70)
    )
    assert ecs70 == hexfile(
        "8.1.1_ECS70Commission/ECS70Commission_8.1.1_SUCCESS_PRECOMMAND_GBCS.HEX"
    )
    ks = gbcs.Keystore.load(reference_dir / "gbcs" / "keystore")
    for name in (
        "6.15.2_CS02d/CS02d_6.15.2_SUCCESS",
        "8.1.1_ECS70Commission/ECS70Commission_8.1.1_SUCCESS",
    ):
        command = hexfile(f"{name}_COMMAND_GBCS.HEX")
        cmd = gbcs.decode(command)
        assert gbcs.precommand_of(cmd) == hexfile(f"{name}_PRECOMMAND_GBCS.HEX")
        signed = cmd.replace(mac=None, security_header=None)
        sup_ds = ks.public_key(sup, "ds")
        assert sup_ds is not None and gbcs.verify_signature(signed, sup_ds)
        acb_ka = ks.private_key(DCC_EUI, "ka")
        dev_ka = ks.public_key(dev, "ka")
        assert acb_ka is not None and dev_ka is not None
        assert gbcs.mac_signed_precommand(signed, ka_private=acb_ka, ka_public=dev_ka) == command
