"""Quarantine in the sim world (the real DSP, the simulated CSPs, hubs and bridges): an 11.4
over the supplier's threshold moves nothing on the network; released, its image goes out and the
bridges' N39s follow, once; a second release changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from anomaly_support import SR, cli, cli_json
from sqlalchemy import select

from althan.dsp.quarantine import QuarantineError
from althan.han.topology import generate_fleet
from althan.model import TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.scenario import Scenario, by_model
from althan.runtime.world import at
from althan.store.tables import firmware_deliveries

HOMES, SEED, NEW = 30, 11, 0x00020000


def _deliveries(w: Scenario) -> dict[str, str]:
    with w.engine.connect() as conn:
        rows = conn.execute(select(firmware_deliveries.c.device, firmware_deliveries.c.status))
        return {str(r.device): r.status for r in rows}


def test_released_11_4_runs_once_and_the_n39s_follow(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fleet = generate_fleet(HOMES, SEED)
    w = Scenario(fleet, data, seed=SEED)
    bridges = list(fleet.bridges())
    w.install(bridges)
    images = w.assure(bridges, NEW, 2048)
    model, b1s = max(by_model(bridges).items(), key=lambda kv: len(kv[1]))
    assert len(b1s) == HOMES  # every home has a B1
    cli(
        data,
        "ad",
        "set",
        "--user",
        str(TEST_SUPPLIER_EUI),
        "--srv",
        "11.4",
        "--max-devices",
        "20",
        "--window",
        "24h",
    )

    req = w.supplier.update_ppmid_firmware(
        images[model], FirmwareVersion(NEW), [b.eui for b in b1s]
    )
    w.send(req)
    w.run()
    assert [r.response_code for r in w.user.replies[-1:]] == ["I99"]
    [n48] = w.user.alerts("N48")
    ref = int(n48.root.findtext(f".//{SR}QuarantineEventRef") or 0)
    assert n48.root.findtext(f".//{SR}ADUserThresholdBreach/{SR}RequestID") == req.request_id
    assert _deliveries(w) == {}
    assert sum(c.counters.image_bytes for c in w.network.regions.values()) == 0
    assert w.user.alerts("N55") == [] and w.user.alerts("N39") == []

    d = w.dsp.release(ref, at(w.now()))
    assert (d.status.value, d.code) == ("Released", "I0")
    w.sim.call_at("dsp", w.now(), "drain")  # the DSP's outbox goes out
    w.run()
    assert [r.response_code for r in w.user.responses_to(req.request_id)] == ["I0"]
    euis = sorted(str(b.eui) for b in b1s)
    assert sorted(_deliveries(w)) == euis
    assert set(_deliveries(w).values()) == {"Activated"}
    assert sorted(a.device or "" for a in w.user.alerts("N39")) == euis
    assert {w.network.device(b.eui).firmware_version for b in b1s} == {NEW}

    # a second release is refused and changes nothing
    with pytest.raises(QuarantineError, match="is Released, not Quarantined"):
        w.dsp.release(ref, at(w.now()))
    w.sim.call_at("dsp", w.now(), "drain")
    w.run()
    assert len(w.user.alerts("N39")) == HOMES
    assert len(w.user.responses_to(req.request_id)) == 1
    [entry] = cli_json(data, "ad", "quarantine", "list")
    assert (entry["status"], entry["outcome"], entry["devices"]) == ("Released", "I0", HOMES)
