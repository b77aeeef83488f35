"""Campaigns against a served DCC (issue 15): `althan serve` with 260 generated homes (some 209
commissioned B1 bridges, of hardware versions 1 and 2) at 30,000× DCC time; `althan campaign`
as a supplier runs it, listening on the endpoint the supplier registered.

The tests share the served DCC and go in order, each with a newer image: a four-wave campaign
over every bridge runs to the end (its outcomes submitted to AltHANCo's intake); a campaign
whose image the CPL does not know yet stops after its first wave and says why, sends no
second wave, resumes once AltHANCo has assured it and recovers the failed wave with
`retry-failed`; `kill -9` of `campaign run` mid-wave and a second run: no wave twice, no
outcome lost; a send recorded and POSTed before a crash is resent and answered E12,
harmlessly. Each ends with every device's state as the SMI (`althan devices list`) has it.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from campaign_support import (
    Dcc,
    assert_matches_smi,
    campaign,
    create,
    request_ids,
    start_dcc,
    status,
    wait_until,
)

from althan.duis.schema import find_tool_jar
from althan.duis.service_requests import SignedRequest
from althan.duis.xmldsig import TrustStore
from althan.model import DCC_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.smki.zaz1 import load_zaz1
from althan.supplier.campaign_listen import ResponseEndpoint
from althan.supplier.campaign_run import CampaignRunner
from althan.supplier.campaign_store import CampaignStore
from althan.supplier.client import DuisClient
from live_support import althan

pytestmark = pytest.mark.slow(6)


@pytest.fixture(scope="module")
def dcc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dcc]:
    tmp = tmp_path_factory.mktemp("campaign-dcc")
    served = start_dcc(
        tmp, "--fleet", "260", "--seed", "7", "--speed", "30000", "--delivery-timeout", "30d"
    )
    try:
        yield served
    finally:
        served.served.stop()


def _waves(st: dict[str, object]) -> list[dict[str, object]]:
    waves = st["waves"]
    assert isinstance(waves, list)
    return waves


def test_a_four_wave_campaign_over_every_bridge_runs_to_the_end(dcc: Dcc, tmp_path: Path) -> None:
    bridges = [d["eui"] for d in dcc.bridges()]
    assert len(bridges) >= 200
    version = 0x01000200
    store = tmp_path / "campaigns"
    create(dcc, store, "all-b1", dcc.image(version), bridges,
           "--waves", "10,25,50,100", "--max-failure", "5", "--min-sample", "5",
           "--intake")  # fmt: skip
    run = campaign(store, "run", "all-b1")
    assert "completed" in run.stdout.splitlines()[-1]

    st = status(store, "all-b1")
    assert st["state"] == "completed"
    waves = _waves(st)
    assert [w["state"] for w in waves] == ["passed"] * 4
    assert sum(int(str(w["devices"])) for w in waves) == len(bridges)
    counts = st["counts"]
    assert isinstance(counts, dict)
    assert {k: n for k, n in counts.items() if n} == {"activated": len(bridges)}
    assert st["failures"] == {}
    assert_matches_smi(st, dcc.smi_versions(), version)
    # one 11.4 per wave, each device delivered once
    sent = request_ids(store, "all-b1")
    assert len(sent) == 4 and sent <= dcc.requests_11_4()
    assert Counter(d for _r, d in dcc.deliveries(sent)) == Counter(bridges)
    # the outcomes reached AltHANCo's intake, and agree with the DSP's records
    intake = st["intake"]
    assert isinstance(intake, dict) and intake["status"] < 300, intake
    listed = json.loads(althan("intake", "list", "--json", "--data-dir", str(dcc.data))
                        .stdout.splitlines()[-1])  # fmt: skip
    [mine] = [s for s in listed if s["submission_ref"] == intake["submission"]]
    assert (mine["outcomes"], mine["discrepancies"]) == (len(bridges), 0)
    # the outcomes over time, per wave: four activated series, as many steps as devices
    drawn = campaign(store, "plot", "all-b1", "--out", str(tmp_path / "all-b1.svg"))
    sizes = [int(str(w["devices"])) for w in waves]
    assert drawn.stdout.strip().endswith(
        ", ".join(f"wave {i} activated {n}" for i, n in enumerate(sizes, start=1))
    )
    svg = (tmp_path / "all-b1.svg").read_text()
    assert svg.startswith("<?xml") and all(f"wave {i} activated" in svg for i in (1, 2, 3, 4))
    shots = Path(__file__).resolve().parents[2] / "test-output" / "campaign"
    shots.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "all-b1.svg", shots / "all-b1.svg")
    png = campaign(store, "plot", "all-b1", "--out", str(tmp_path / "all-b1.png"))
    assert png.returncode == 0 and (tmp_path / "all-b1.png").read_bytes()[:4] == b"\x89PNG"


def test_an_image_the_cpl_does_not_know_stops_the_first_wave_then_resume_and_retry(
    dcc: Dcc, tmp_path: Path
) -> None:
    bridges = [d["eui"] for d in dcc.bridges()]
    version = 0x01000300
    image = dcc.image(version, assure=False)
    store = tmp_path / "campaigns"
    create(dcc, store, "unassured", image, bridges,
           "--waves", "10,40,100", "--max-failure", "2.5", "--min-sample", "5")  # fmt: skip
    before = dcc.requests_11_4()
    run = campaign(store, "run", "unassured", check=False)
    assert run.returncode == 3, run.stderr[-2000:]
    assert "CPL does not know this image" in run.stdout
    st = status(store, "unassured")
    assert st["state"] == "paused" and "CPL does not know" in str(st["reason"])
    waves = _waves(st)
    assert [w["state"] for w in waves] == ["over-threshold", "pending", "pending"]
    first = int(str(waves[0]["devices"]))
    assert st["failures"] == {"NotApplicableFirmwareDeviceIDList": first}
    # no second wave: the DSP saw one 11.4 of this campaign
    assert len(dcc.requests_11_4() - before) == 1
    assert [len(w["requests"]) for w in waves] == [1, 0, 0]  # type: ignore[arg-type]

    dcc.assure(image)  # the fix: AltHANCo assures the image
    assert "resumed" in campaign(store, "resume", "unassured").stdout
    run = campaign(store, "run", "unassured")
    st = status(store, "unassured")
    assert st["state"] == "completed"
    assert [w["state"] for w in _waves(st)] == ["resumed", "passed", "passed"]
    counts = st["counts"]
    assert isinstance(counts, dict)
    assert (counts["activated"], counts["failed"]) == (len(bridges) - first, first)

    assert "queued" in campaign(store, "retry-failed", "unassured").stdout
    campaign(store, "run", "unassured")
    st = status(store, "unassured")
    assert st["state"] == "completed"
    waves = _waves(st)
    assert [w["kind"] for w in waves] == ["wave", "wave", "wave", "retry"]
    assert waves[3]["counts"] == {"activated": first}
    assert st["failures"] == {}
    assert_matches_smi(st, dcc.smi_versions(), version)


def test_kill_9_mid_wave_then_run_again_no_wave_twice_no_outcome_lost(
    dcc: Dcc, tmp_path: Path
) -> None:
    bridges = [d["eui"] for d in dcc.bridges()]
    version = 0x01000400
    store = tmp_path / "campaigns"
    create(dcc, store, "killed", dcc.image(version), bridges,
           "--waves", "40,100", "--max-failure", "5", "--min-sample", "80")  # fmt: skip
    first = int(str(_waves(status(store, "killed"))[0]["devices"]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "althan.cli", "campaign", "run", "killed", "--store", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    s = CampaignStore.open(store)
    try:

        def some_of_wave_1() -> bool:
            done = s.wave_counts("killed").get(1, Counter())["activated"]
            return done >= 5

        wait_until("outcomes of wave 1", some_of_wave_1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        at_kill = s.wave_counts("killed")
    finally:
        s.close()
    assert at_kill[1]["activated"] < first, "killed after wave 1 ended: not mid-wave"
    assert 2 not in at_kill or at_kill[2]["pending"] == len(bridges) - first

    campaign(store, "run", "killed")
    st = status(store, "killed")
    assert st["state"] == "completed"
    counts = st["counts"]
    assert isinstance(counts, dict) and counts["activated"] == len(bridges)
    assert_matches_smi(st, dcc.smi_versions(), version)
    sent = request_ids(store, "killed")
    assert len(sent) == 2, "one 11.4 per wave"
    assert Counter(d for _r, d in dcc.deliveries(sent)) == Counter(bridges)


def test_a_send_recorded_and_posted_before_a_crash_is_resent_harmlessly(
    dcc: Dcc, tmp_path: Path
) -> None:
    """The crash between the POST and recording its answer: the run after it POSTs the same
    signed 11.4 again, the DSP answers E12 and changes nothing, and the devices' outcomes still
    arrive. (In process, with the campaign's own endpoint up from the start: the DSP backs off
    from an endpoint that is down, up to 5 minutes.)"""
    bridges = [d["eui"] for d in dcc.bridges()][:12]
    version = 0x01000500
    store = tmp_path / "campaigns"
    image = dcc.image(version)
    create(dcc, store, "crashed", image, bridges, "--waves", "100", "--min-sample", "3")
    cert, key = load_zaz1(find_tool_jar())[TEST_SUPPLIER_EUI]
    trust = TrustStore([(DCC_EUI, load_zaz1(find_tool_jar())[DCC_EUI][0])])
    client = DuisClient(TEST_SUPPLIER_EUI, key, cert)
    s = CampaignStore.open(store)
    try:
        with ResponseEndpoint(s, trust).serving("127.0.0.1", dcc.listen_port):
            now = datetime.now(UTC)
            client.counter = s.next_counter(TEST_SUPPLIER_EUI, int(now.timestamp() * 1e6)) - 1
            euis = [EUI64.parse(e) for e in bridges]
            req = client.update_ppmid_firmware(image.read_bytes(), FirmwareVersion(version), euis)
            s.prepare_send("crashed", 1, 1, req.request_id, req.service, req.xml, euis, now)
            answer = client.post(dcc.url, req)  # the POST the crashed run made
            assert answer.http_status == 200 and b"I0" in answer.body

            def build(counter: int, devices: list[EUI64]) -> SignedRequest:
                raise AssertionError("no new 11.4: the recorded one is resent")

            runner = CampaignRunner(
                s,
                "crashed",
                post=lambda r: client.post(dcc.url, r),
                build=build,
                trust=trust,
                user=TEST_SUPPLIER_EUI,
            )
            done = runner.run()
    finally:
        s.close()
    assert done.state == "completed", done
    st = status(store, "crashed")
    assert st["state"] == "completed"
    [wave] = _waves(st)
    requests = wave["requests"]
    assert isinstance(requests, list)
    [sent] = requests
    assert (sent["request_id"], sent["code"]) == (req.request_id, "E12")
    assert "had this request before" in sent["detail"]
    assert_matches_smi(st, dcc.smi_versions(), version)
    counts = st["counts"]
    assert isinstance(counts, dict) and counts["activated"] == len(bridges)
    assert Counter(d for _r, d in dcc.deliveries({req.request_id})) == Counter(bridges)


def test_a_wave_some_of_whose_devices_reject_the_image_pauses_then_cancel(
    dcc: Dcc, tmp_path: Path
) -> None:
    """An image for hardware version 1 only: the B1 bridges of hardware version 2 are
    NotApplicable (the DSP checks the CPL entry and the header's range), so the first wave fails
    over its threshold and the campaign pauses with the rate and the reason; `cancel` then ends
    it with no second 11.4."""
    rows = dcc.bridges()
    hw2 = [d["eui"] for d in rows if d["model"].endswith("0002")]
    hw1 = [d["eui"] for d in rows if d["model"].endswith("0001")]
    assert hw1 and hw2
    euis = hw2[:4] + hw1[:16] + hw1[16:36]  # wave 1 (50 %): 4 of 20 rejected
    version = 0x01000600
    store = tmp_path / "campaigns"
    create(dcc, store, "hw1-only", dcc.image(version, max_hw=1), euis,
           "--waves", "50,100", "--max-failure", "10", "--min-sample", "10")  # fmt: skip
    before = dcc.requests_11_4()
    run = campaign(store, "run", "hw1-only", check=False)
    assert run.returncode == 3, run.stderr[-2000:]
    assert "outcomes failed (max 10%): NotApplicableFirmwareDeviceIDList 4" in run.stdout
    st = status(store, "hw1-only")
    assert st["state"] == "paused"
    assert st["failures"] == {"NotApplicableFirmwareDeviceIDList": 4}
    assert [w["state"] for w in _waves(st)] == ["over-threshold", "pending"]

    assert "cancelled" in campaign(store, "cancel", "hw1-only").stdout
    run = campaign(store, "run", "hw1-only")
    assert "cancelled" in run.stdout.splitlines()[-1]
    st = status(store, "hw1-only")
    assert st["state"] == "cancelled"
    assert [w["state"] for w in _waves(st)] == ["over-threshold", "skipped"]
    assert len(dcc.requests_11_4() - before) == 1
    smi = dcc.smi_versions()
    devices = st["devices"]
    assert isinstance(devices, dict)
    want = f"{version:08X}"
    assert {e: devices[e] for e in euis[:20]} == {
        e: "activated" if smi[e] == want else "failed:NotApplicableFirmwareDeviceIDList"
        for e in euis[:20]
    }
    assert {devices[e] for e in euis[20:]} == {"pending"}
    assert {smi[e] for e in hw2[:4]} != {want}


def test_a_wave_held_by_anomaly_detection_and_refused_then_retried(
    dcc: Dcc, tmp_path: Path
) -> None:
    """A threshold of 5 devices a day for the supplier: the wave's 11.4 is held (I99, N48) and,
    undecided, expires (48 h of DCC time: seconds here); its answer, E48, comes to the
    campaign's endpoint as a Response with the RequestID: every device of the wave fails
    (`refused E48`) and the campaign pauses, saying so. Without the threshold, `resume` and
    `retry-failed` bring every device to its new version."""
    bridges = [d["eui"] for d in dcc.bridges()][:8]
    version = 0x01000700
    store = tmp_path / "campaigns"
    create(dcc, store, "held", dcc.image(version), bridges, "--waves", "100",
           "--min-sample", "3")  # fmt: skip
    althan("ad", "set", "--srv", "11.4", "--window", "24h", "--user", str(TEST_SUPPLIER_EUI),
           "--max-devices", "5", "--data-dir", str(dcc.data))  # fmt: skip
    try:
        run = campaign(store, "run", "held", check=False)
    finally:
        althan("ad", "remove", "--srv", "11.4", "--user", str(TEST_SUPPLIER_EUI),
               "--data-dir", str(dcc.data))  # fmt: skip
    assert run.returncode == 3, run.stderr[-2000:]
    assert "the DCC refused its 11.4 (refused E48 8)" in run.stdout
    st = status(store, "held")
    assert st["failures"] == {"refused E48": len(bridges)}
    [wave] = _waves(st)
    requests = wave["requests"]
    assert isinstance(requests, list)
    [sent] = requests
    assert sent["code"] == "E48" and "held by the DCC's anomaly detection" in sent["detail"]

    campaign(store, "resume", "held")
    campaign(store, "retry-failed", "held", "--reason", "refused E48")
    campaign(store, "run", "held")
    st = status(store, "held")
    assert st["state"] == "completed"
    assert_matches_smi(st, dcc.smi_versions(), version)
    counts = st["counts"]
    assert isinstance(counts, dict) and counts["activated"] == len(bridges)
