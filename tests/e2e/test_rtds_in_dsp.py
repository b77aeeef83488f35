"""The DSP against the DCC's own GBCS test vectors (RTDS 4.5.0), with the RTDS device keys.

The 11.4 template names device 00-DB-12-34-56-78-90-A4; the RTDS holds that device's CS08
response and CS09 activation alert. Fed to the DSP as the network would deliver them, they
must produce the DUIS a supplier expects — and a changed byte must produce nothing.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree
from sqlalchemy import func, select

from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.dsp.outbox import OutboxItem
from althan.duis.xmldsig import verify
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly, build_dsp, register_test_users
from althan.smwan import GbcsAlert, GbcsCommand, GbcsResponse
from althan.smwan.codec import decode as decode_smwan
from althan.store.tables import alerts, devices
from althan.supplier.client import DuisClient

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
T = datetime(2026, 12, 1, tzinfo=UTC)
A4 = EUI64.parse("00-DB-12-34-56-78-90-A4")
CHF = EUI64.parse("00-DB-12-34-56-78-90-A2")


def _hex(reference_dir: Path, rel: str) -> bytes:
    return bytes.fromhex("".join((reference_dir / "gbcs/RTDS-4.5.0" / rel).read_text().split()))


def _setup(tmp_path: Path, reference_dir: Path) -> tuple[Assembly, DuisClient]:
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
            ],
            T,
        )
        c.execute(devices.update().where(devices.c.eui == A4).values(variant="B3"))
    cert, key = a.zaz1[TEST_SUPPLIER_EUI]
    return a, DuisClient(TEST_SUPPLIER_EUI, key, cert, counter=999)  # RTDS: user counter 1000


def _outbox(a: Assembly) -> list[OutboxItem]:
    items = a.dsp.outbox.take("test", T)
    return items


def test_rtds_cs08_response_answers_11_2_and_updates_smi(
    tmp_path: Path, reference_dir: Path
) -> None:
    a, client = _setup(tmp_path, reference_dir)
    req = client.read_firmware_version(A4)
    reply = a.dsp.handle_duis(req.service, req.xml, T)
    assert reply.response_code == "I99", reply.detail
    [cmd_row] = [i for i in _outbox(a) if i.kind == "smwan"]
    cmd = decode_smwan(cmd_row.payload)
    assert isinstance(cmd, GbcsCommand) and cmd.device == A4 and cmd.chf == CHF
    rtds = _hex(reference_dir, "11.2_CS08/CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX")
    a.dsp.handle_smwan(GbcsResponse("r1", cmd.msg_id, CHF, A4, rtds), T)
    out = _outbox(a)
    assert {i.kind for i in out} == {"duis"}
    docs = [verify(i.payload, a.dsp_trust).root for i in out]
    resp = [d for d in docs if d.findtext(f".//{SR}DCCAlertCode") is None]
    assert len(resp) == 1
    assert resp[0].findtext(f".//{SR}RequestID") == req.request_id
    assert base64.b64decode(resp[0].findtext(f".//{SR}GBCSPayload") or "") == rtds
    n42 = [d for d in docs if d.findtext(f".//{SR}DCCAlertCode") == "N42"]
    assert len(n42) == 1 and n42[0].findtext(f".//{SR}FirmwareVersionDevice") == "0123ABCD"
    with a.dsp.engine.connect() as c:
        v = c.execute(select(devices.c.firmware_version).where(devices.c.eui == A4)).scalar()
    assert v == "0123ABCD"


def test_rtds_cs09_alert_becomes_n39_and_a_changed_byte_does_nothing(
    tmp_path: Path, reference_dir: Path
) -> None:
    a, _client = _setup(tmp_path, reference_dir)
    rtds = _hex(reference_dir, "NA_CS09/CS09_NA_8F8B_ALERT_GBCS.HEX")

    def count() -> int:
        with a.dsp.engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(alerts)).scalar_one())

    for i in range(0, len(rtds)):
        bad = bytearray(rtds)
        bad[i] ^= 0x80
        a.dsp.handle_smwan(GbcsAlert(f"bad{i}", CHF, A4, bytes(bad)), T)
    assert count() == 0 and _outbox(a) == []
    a.dsp.handle_smwan(GbcsAlert("good", CHF, A4, rtds), T)
    [item] = _outbox(a)
    root: etree._Element = verify(item.payload, a.dsp_trust).root
    assert root.findtext(f".//{SR}DCCAlertCode") == "N39"
    assert root.findtext(f".//{SR}PPMIDAlert/{SR}DeviceID") == str(A4)
    assert root.findtext(f".//{SR}DeviceAlertCode") == "8F8B"
    assert root.findtext(f".//{SR}PPMIDFirmwareUpgradeAlert/{SR}FirmwareVersion") == "1234ABCD"
    assert item.destination == str(TEST_SUPPLIER_EUI)
    with a.dsp.engine.connect() as c:
        v = c.execute(select(devices.c.firmware_version).where(devices.c.eui == A4)).scalar()
    assert v == "1234ABCD"
