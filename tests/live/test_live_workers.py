"""`althan serve --workers 2`: several processes on one port and one store, one network (issue 16).

Both workers answer DUIS on the same port (the kernel hands each connection to one of them);
exactly one process of all those serving the store holds the network lease and runs the CSPs,
Comms Hubs and homes. A second `althan serve` on the same store (network not switched off) does
not start a second network. The supplier's whole firmware update happens behind the port: the
bridge is pre-notified, whitelisted, joins; 11.4 brings N55, N56 and N39 once each. Then the
lease holder is killed with SIGKILL: another process takes the lease, rebuilds the network from
the SMI, and an 11.2 sent afterwards still gets the device's answer.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.scenario import install_code
from althan.zigbee.testimage import build_test_image
from live_support import Endpoint, Received, Served, althan, devices, dsp_trust, supplier_requests

NEW = 0x01000300


def _lease_holder(data: Path) -> int | None:
    try:
        text = (data / "althan.db.network-lock").read_text().strip()
    except OSError:
        return None
    return int(text) if text else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait(what: str, done: object, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(done) or not done():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.2)


@pytest.mark.slow(3)
def test_two_workers_one_network_and_the_lease_moves_when_its_holder_dies(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    endpoint = Endpoint(dsp_trust())
    with endpoint.running():
        althan(
            "users", "add", "--eui", str(TEST_SUPPLIER_EUI), "--roles", "IS,GS",
            "--endpoint", endpoint.url, "--data-dir", str(data),
        )  # fmt: skip
        with Served(data, "--workers", "2", "--speed", "600", "--fleet", "5", "--seed", "3") as dcc:
            assert dcc.proc is not None
            _wait("a network lease holder", lambda: _lease_holder(data) is not None)
            holder = _lease_holder(data)
            assert holder is not None and holder != dcc.proc.pid, "a worker holds the lease"
            with Served(data, "--speed", "600") as second:
                assert second.proc is not None
                time.sleep(3)  # longer than a waiting process's retry
                assert _lease_holder(data) == holder, "the second serve took the network"

                spare = devices(data, "spare")
                bridge = next(d for d in spare if d["variant"] == "B1")
                eui, chf = EUI64.parse(bridge["eui"]), EUI64.parse(bridge["chf"])
                model = bridge["model"]
                hw = int(model[4:], 16)
                mfr = int(bridge["manufacturer"], 16)
                image = build_test_image(mfr, int(model[:4], 16), NEW, min_hw=hw, max_hw=hw)
                (tmp_path / "fw.ota").write_bytes(image)
                rb = supplier_requests()
                prenotify = rb.prenotify(
                    eui,
                    manufacturer=bridge["manufacturer"],
                    model=model,
                    firmware=FirmwareVersion.parse(bridge["firmware_version"]),
                    variant=bridge["variant"],
                )
                assert dcc.send(prenotify)[:2] == (200, "I0")
                whitelist = rb.whitelist(chf, eui, install_code(eui))
                assert dcc.send(whitelist)[:2] == (200, "I99")
                endpoint.wait_for(lambda r: r.request_id == whitelist.request_id)
                _wait(
                    "the bridge to join",
                    lambda: (
                        bridge["eui"]
                        in {d["eui"] for d in devices(data, "list", "--status", "Commissioned")}
                    ),
                )
                althan(
                    "cpl", "add", str(tmp_path / "fw.ota"), "--as", str(ALTHANCO_DEFAULT_EUI),
                    "--data-dir", str(data),
                )  # fmt: skip
                update = rb.update_ppmid_firmware(image, FirmwareVersion(NEW), [eui])
                assert dcc.send(update)[:2] == (200, "I0")
                for code in ("N55", "N56", "N39"):

                    def for_bridge(r: Received, c: str = code) -> bool:
                        return r.alert == c and bridge["eui"] in r.xml.decode()

                    endpoint.wait_for(for_bridge)

                os.kill(holder, signal.SIGKILL)
                _wait(
                    "another process to take the network lease",
                    lambda: (h := _lease_holder(data)) not in (None, holder) and _alive(h),
                )
                read = rb.read_firmware_version(eui)
                assert dcc.send(read)[:2] == (200, "I99")
                [cs08] = endpoint.wait_for(lambda r: r.request_id == read.request_id)
                assert cs08.response_code == "I0"
                time.sleep(2)  # a duplicate would arrive now
                logs = dcc.log.read_text() + second.log.read_text()

    assert endpoint.bad == []
    # A process killed between posting a document and marking it sent leaves it to be posted
    # again by the next (the outbox's one duplicate): the same bytes, the same ResponseID, which
    # the user's endpoint recognises. Anything else arriving twice is a second document.
    first: dict[str | None, Received] = {}
    for r in endpoint.got:
        assert first.setdefault(r.response_id, r).xml == r.xml, f"two documents {r.response_id}"
    once = list(first.values())
    alerts = Counter(r.alert for r in once if r.alert and bridge["eui"] in r.xml.decode())
    assert (alerts["N55"], alerts["N56"], alerts["N39"]) == (1, 1, 1), alerts
    answers = Counter(r.request_id for r in once if r.alert is None)
    assert answers[read.request_id] == answers[whitelist.request_id] == 1, answers
    assert "Traceback" not in logs, logs[-3000:]
