"""SRV 11.2 for a bridge: a real CS08 from the ACB, the device's CS08 back as GBCSPayload."""

from __future__ import annotations

import base64
from pathlib import Path

from sqlalchemy import select, update

from althan import gbcs
from althan.han.topology import generate_fleet
from althan.model import DCC_EUI, TEST_SUPPLIER_EUI
from althan.runtime.demo import run_demo
from althan.store.tables import devices

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"


def test_11_2_returns_cs08_and_a_stale_smi_raises_n42(tmp_path: Path) -> None:
    result = run_demo(homes=2, seed=8, data_dir=tmp_path)
    w = result.world
    assert w is not None and result.failed == 0
    _home, bridge = next(iter(generate_fleet(2, 8).bridges()))
    # the SMI record goes stale (e.g. a field swap the DCC was not told of)
    with w.engine.begin() as c:
        c.execute(
            update(devices).where(devices.c.eui == bridge.eui).values(firmware_version="00010000")
        )
    before = len(w.user.deliveries)
    req = w.supplier.read_firmware_version(bridge.eui)
    w.send(req)
    w.run()
    assert w.user.replies[-1].response_code == "I99"
    new = w.user.deliveries[before:]
    resp = [d for d in new if d.request_id == req.request_id and d.alert_code is None]
    assert len(resp) == 1 and resp[0].response_code == "I0"
    payload = base64.b64decode(resp[0].root.findtext(f".//{SR}GBCSPayload") or "")
    msg = gbcs.decode(payload)
    assert msg.use_case == "CS08" and msg.originator == bridge.eui
    assert msg.target == DCC_EUI
    assert msg.supplementary_remote_party == TEST_SUPPLIER_EUI
    assert str(msg.payload.firmware_version) == "00020000"
    assert gbcs.verify_mac(
        msg,
        private_key=w.keys.acb_ka,
        public_key=w.keys.pki.public_key_for(bridge.eui, "ka"),
    )
    n42 = [d for d in new if d.alert_code == "N42"]
    assert len(n42) == 1
    assert n42[0].root.findtext(f".//{SR}FirmwareVersionSMI") == "00010000"
    assert n42[0].root.findtext(f".//{SR}FirmwareVersionDevice") == "00020000"
    with w.engine.connect() as c:
        v = c.execute(
            select(devices.c.firmware_version).where(devices.c.eui == bridge.eui)
        ).scalar_one()
    assert v == "00020000"
    # asking again now that the SMI is right raises no further N42
    w.send(w.supplier.read_firmware_version(bridge.eui))
    w.run()
    assert w.user.alert_counts["N42"] == 1
