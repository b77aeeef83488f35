"""`kill -9` of `althan serve` mid-rollout, then a restart on the same store (issue 11).

A rollout (one 11.4 per bridge model, every commissioned bridge of a generated fleet) runs at
60× DCC time; as soon as the first N39 reaches the supplier's endpoint, an 11.2 is sent and the
process is killed: nothing flushed, nothing said. Restarted (at 600×, so the rest takes
seconds), the DCC rebuilds the network from the SMI and carries on: every accepted request is
answered (the 11.2 by its device's response or by N58; one sent after the restart by its
device's response), every device of the rollout ends
Activated (N39, the SMI showing the new version) or Failed with a reason (a timeout: N57 names
it, the SMI keeps the old version), and no device has two outcomes. The DSP's messages may be
redelivered after a crash (at least once, byte for byte the same signed document): the
endpoint counts each document once.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import select

from althan.cli.options import store_url
from althan.duis.namespaces import SR
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.store import open_engine
from althan.store.tables import firmware_deliveries
from althan.zigbee.testimage import build_test_image
from live_support import (
    Endpoint,
    Received,
    Served,
    althan,
    devices,
    dsp_trust,
    supplier_requests,
)

NEW = 0x01000500


def _ids(text: str | None) -> list[str]:
    return [x for x in (text or "").split(",") if x]


def test_kill_9_mid_rollout_then_restart_ends_every_device_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    endpoint = Endpoint(dsp_trust())
    timeouts = ("--delivery-timeout", "1h", "--command-timeout", "1h")
    with endpoint.running():
        althan("users", "add", "--eui", str(TEST_SUPPLIER_EUI), "--roles", "IS,GS",
               "--endpoint", endpoint.url, "--data-dir", str(data))  # fmt: skip
        first = Served(data, "--speed", "60", "--fleet", "6", "--seed", "5", *timeouts).start()
        try:
            bridges = [
                d
                for d in devices(data, "list", "--type", "PPMID", "--status", "Commissioned")
                if d["variant"]
            ]
            old = {d["eui"]: d["firmware_version"] for d in bridges}
            by_model: dict[tuple[str, str], list[EUI64]] = defaultdict(list)
            for d in bridges:
                by_model[d["manufacturer"], d["model"]].append(EUI64.parse(d["eui"]))
            images = {}
            for (mfr, model), _euis in sorted(by_model.items()):
                hw = int(model[4:], 16)
                image = build_test_image(
                    int(mfr, 16), int(model[:4], 16), NEW, min_hw=hw, max_hw=hw
                )
                path = tmp_path / f"{mfr}-{model}.ota"
                path.write_bytes(image)
                althan("cpl", "add", str(path), "--as", str(ALTHANCO_DEFAULT_EUI),
                       "--data-dir", str(data))  # fmt: skip
                images[mfr, model] = image
            rb = supplier_requests()
            rollout: dict[str, list[str]] = {}
            for key, euis in sorted(by_model.items()):
                req = rb.update_ppmid_firmware(images[key], FirmwareVersion(NEW), euis)
                assert first.send(req)[:2] == (200, "I0")
                rollout[req.request_id] = [str(e) for e in euis]
            endpoint.wait_for(lambda r: r.alert == "N39", timeout=120)
            read = rb.read_firmware_version(EUI64.parse(bridges[-1]["eui"]))
            assert first.send(read)[:2] == (200, "I99")
        finally:
            first.kill()
        before_restart = len(endpoint.got)
        n39_at_kill = sum(1 for r in endpoint.got if r.alert == "N39")

        with Served(data, "--speed", "600", *timeouts) as second:
            done: dict[str, list[str]] = {}

            def outcomes() -> dict[str, list[str]]:
                seen: dict[bytes, Received] = {r.xml: r for r in endpoint.got}
                out: dict[str, list[str]] = defaultdict(list)
                for r in seen.values():
                    if r.alert == "N39":
                        out[r.text(f".//{SR}PPMIDAlert/{SR}DeviceID") or "?"].append("N39")
                    elif r.alert == "N57":
                        for eui in _ids(r.text(f".//{SR}MeterIDs")):
                            out[eui].append("N57")
                return out

            deadline = time.monotonic() + 120
            while len(done := outcomes()) < len(old):
                assert time.monotonic() < deadline, f"{len(done)} of {len(old)} ended: {done}"
                time.sleep(0.2)
            answered = endpoint.wait_for(
                lambda r: (
                    r.request_id == read.request_id
                    or r.text(f".//{SR}CommandFailure/{SR}CommandRequestID") == read.request_id
                )
            )
            # a request sent after the restart gets its device's answer (not N58): the rebuilt
            # network's messages carry IDs the DSP's inbox has not seen before
            again = rb.read_firmware_version(EUI64.parse(bridges[0]["eui"]))
            assert second.send(again)[:2] == (200, "I99")
            [fresh] = endpoint.wait_for(lambda r: r.request_id == again.request_id, timeout=60)
            time.sleep(2)  # anything owed twice would arrive now
            done = outcomes()

    assert endpoint.bad == []
    assert n39_at_kill < len(old), "killed after the rollout ended: not mid-rollout"
    assert len(endpoint.got) > before_restart
    assert set(done) == set(old)
    assert {eui: len(v) for eui, v in done.items() if len(v) != 1} == {}, "none twice"
    assert len({r.xml for r in answered}) == 1
    assert fresh.response_code == "I0" and fresh.text(f".//{SR}GBCSPayload"), fresh.xml[:400]

    after = {d["eui"]: d["firmware_version"] for d in devices(data, "list", "--type", "PPMID")}
    for eui, [outcome] in done.items():
        want = f"{NEW:08X}" if outcome == "N39" else old[eui]
        assert after[eui] == want, (eui, outcome)

    engine = open_engine(store_url(data, None, create=False))
    with engine.connect() as conn:
        rows = conn.execute(select(firmware_deliveries)).all()
    engine.dispose()
    assert sorted((r.request_id, str(r.device)) for r in rows) == sorted(
        (rid, eui) for rid, euis in rollout.items() for eui in euis
    )
    status = Counter((r.status, r.reason, r.active) for r in rows)
    print(f"\nat the kill: {n39_at_kill} N39; after the restart: {dict(status)}")
    assert set(status) <= {("Activated", "", 0), ("Failed", "timeout", 0)}, status
    assert status[("Activated", "", 0)] == sum(1 for v in done.values() if v == ["N39"])
