"""The DSP believes a CS09 activation alert only when its device signature verifies."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from althan import gbcs
from althan.han.topology import generate_fleet
from althan.model import FirmwareVersion
from althan.runtime.demo import run_demo
from althan.runtime.world import EPOCH
from althan.smwan import GbcsAlert
from althan.store.tables import alerts, devices


def test_tampered_cs09_changes_nothing_and_genuine_one_raises_n39(tmp_path: Path) -> None:
    result = run_demo(homes=2, seed=4, data_dir=tmp_path)
    w = result.world
    assert w is not None
    home, bridge = next(iter(generate_fleet(2, 4).bridges()))
    good = gbcs.seal(
        gbcs.alert(
            gbcs.FirmwareActivationAlert(EPOCH, FirmwareVersion(0x00030000)),
            bridge.eui,
            (1 << 40) + 1,
        ),
        ds_private=w.keys.pki.key_for(bridge.eui, "ds"),
    )

    def state() -> tuple[int, str | None]:
        with w.engine.connect() as c:
            n = c.execute(select(func.count()).select_from(alerts)).scalar_one()
            v = c.execute(
                select(devices.c.firmware_version).where(devices.c.eui == bridge.eui)
            ).scalar_one()
        return int(n), v

    before = state()
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        w.dsp.handle_smwan(GbcsAlert(f"bad-{i}", home.chf, bridge.eui, bytes(bad)), EPOCH)
        assert state() == before, f"byte {i} changed: {state()} vs {before}"
    w.dsp.handle_smwan(GbcsAlert("good", home.chf, bridge.eui, good), EPOCH)
    n, version = state()
    assert (n, version) == (before[0] + 1, "00030000")
    # redelivered: nothing more
    w.dsp.handle_smwan(GbcsAlert("good", home.chf, bridge.eui, good), EPOCH)
    assert state() == (n, version)
