"""A campaign's bad input (issue 15): a devices file with malformed or repeated EUIs, an image
that is not an OTA file, waves that do not add up — each refused at `create` (exit 2, every
problem named, nothing stored); an unreachable DCC — `run` retries, then says so clearly
(exit 1) with the wave recorded as about to be sent, and once the DCC is back the next `run`
sends that very request and the campaign ends with nothing lost; a document on the response
endpoint that the DSP did not sign — refused, nothing moved."""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_support import (
    B1_IMAGE_TYPE,
    B1_MANUFACTURER,
    assert_matches_smi,
    campaign,
    create,
    request_ids,
    start_dcc,
    status,
)

from althan.duis.schema import find_tool_jar
from althan.duis.xmldsig import TrustStore
from althan.model import DCC_EUI, TEST_SUPPLIER_EUI
from althan.smki.zaz1 import load_zaz1
from althan.supplier.campaign_listen import ResponseEndpoint
from althan.supplier.campaign_store import CampaignStore
from althan.zigbee.testimage import build_test_image
from live_support import Served, free_port, supplier_requests


def _image(tmp_path: Path) -> Path:
    p = tmp_path / "fw.ota"
    p.write_bytes(build_test_image(B1_MANUFACTURER, B1_IMAGE_TYPE, 0x01000200))
    return p


def _create(tmp_path: Path, devices: str, *args: str, image: Path | None = None) -> object:
    f = tmp_path / "devices.txt"
    f.write_text(devices)
    return campaign(tmp_path / "campaigns", "create", "c", "--dcc", "http://127.0.0.1:9",
                    "--image", str(image or _image(tmp_path)), "--devices", str(f), *args,
                    check=False)  # fmt: skip


def _nothing_stored(tmp_path: Path) -> None:
    r = campaign(tmp_path / "campaigns", "status", "c", check=False)
    assert r.returncode == 2 and "no campaign 'c'" in r.stderr


def test_malformed_and_repeated_euis_are_each_named_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    devices = (
        "# bridges of the north\n"
        "00-DB-12-34-56-78-90-B0\n"
        "00-DB-12-34-56-78-90-ZZ\n"
        "\n"
        "00DB1234567890B0\n"
        "00-DB-12-34-56-78-90\n"
    )
    r = _create(tmp_path, devices)
    assert r.returncode == 2  # type: ignore[attr-defined]
    err = r.stderr  # type: ignore[attr-defined]
    assert "line 3: '00-DB-12-34-56-78-90-ZZ' is not an EUI-64" in err
    assert "line 5: 00-DB-12-34-56-78-90-B0 repeats line 2" in err
    assert "line 6:" in err
    _nothing_stored(tmp_path)


@pytest.mark.parametrize(
    ("args", "devices", "want"),
    [
        (("--waves", "50,10,100"), "00-DB-12-34-56-78-90-B0\n", "strictly increasing"),
        (("--waves", "10,50"), "00-DB-12-34-56-78-90-B0\n", "the last wave is 100"),
        (("--max-failure", "120"), "00-DB-12-34-56-78-90-B0\n", "a percentage"),
        (("--window", "25:00-06:00"), "00-DB-12-34-56-78-90-B0\n", "HH:MM-HH:MM"),
        ((), "# nothing\n", "no devices"),
    ],
)
def test_a_plan_that_does_not_hold_is_refused(
    tmp_path: Path, args: tuple[str, ...], devices: str, want: str
) -> None:
    r = _create(tmp_path, devices, *args)
    assert r.returncode == 2 and want in r.stderr, r.stderr  # type: ignore[attr-defined]
    _nothing_stored(tmp_path)


def test_an_image_that_is_not_an_ota_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "fw.bin"
    bad.write_bytes(b"\x00" * 200)
    r = _create(tmp_path, "00-DB-12-34-56-78-90-B0\n", image=bad)
    assert r.returncode == 2  # type: ignore[attr-defined]
    assert "not a ZigBee OTA upgrade file" in r.stderr  # type: ignore[attr-defined]
    _nothing_stored(tmp_path)


def test_a_document_the_dsp_did_not_sign_is_refused_and_moves_nothing(tmp_path: Path) -> None:
    cert = load_zaz1(find_tool_jar())[DCC_EUI][0]
    store = CampaignStore.open(tmp_path / "campaigns")
    try:
        endpoint = ResponseEndpoint(store, TrustStore([(DCC_EUI, cert)]))
        forged = supplier_requests().read_inventory(TEST_SUPPLIER_EUI).xml  # the supplier's
        status_code, text = endpoint.receive(forged)
        assert status_code == 400 and "not believed" in text
        assert endpoint.receive(b"<not-xml")[0] == 400
        assert store.documents() == {}
    finally:
        store.close()


@pytest.mark.slow(2)
def test_an_unreachable_dcc_is_retried_then_named_and_nothing_is_lost(tmp_path: Path) -> None:
    port = free_port()
    args = ("--fleet", "4", "--seed", "3", "--speed", "30000", "--delivery-timeout", "30d")
    dcc = start_dcc(tmp_path, *args, port=port)
    bridges = [d["eui"] for d in dcc.bridges()]
    image = dcc.image(0x01000200)
    dcc.served.stop()  # the DCC goes away

    store = tmp_path / "campaigns"
    create(dcc, store, "away", image, bridges, "--waves", "100", "--min-sample", "1")
    r = campaign(store, "run", "away", "--retries", "2", check=False)
    assert r.returncode == 1
    assert "did not answer wave 1's 11.4" in r.stderr and "after 3 attempts" in r.stderr
    assert "Nothing is lost" in r.stderr
    st = status(store, "away")
    waves = st["waves"]
    assert isinstance(waves, list)
    [wave] = waves
    [prepared] = wave["requests"]
    assert prepared["state"] == "prepared" and wave["counts"] == {"pending": len(bridges)}

    back = Served(dcc.data, *args)
    back.port = port
    with back:  # the DCC is back: the same request goes, and the campaign ends
        campaign(store, "run", "away")
        st = status(store, "away")
    assert st["state"] == "completed"
    assert request_ids(store, "away") == {prepared["request_id"]}
    assert_matches_smi(st, dcc.smi_versions(), 0x01000200)


def test_a_campaign_paused_before_it_runs_sends_nothing(tmp_path: Path) -> None:
    """`pause` before `run`: run ends at once, paused (exit 3), nothing sent (the DCC here is
    not even reachable); `resume` lets it run again; `cancel` twice is refused."""
    assert _create(tmp_path, "00-DB-12-34-56-78-90-B0\n").returncode == 0  # type: ignore[attr-defined]
    store = tmp_path / "campaigns"
    assert "paused" in campaign(store, "pause", "c").stdout
    r = campaign(store, "run", "c", "--listen", f"127.0.0.1:{free_port()}", check=False)
    assert r.returncode == 3 and "paused by its user" in r.stdout, r.stderr
    assert request_ids(store, "c") == set()
    assert campaign(store, "resume", "c").returncode == 0
    assert campaign(store, "cancel", "c").returncode == 0
    r = campaign(store, "cancel", "c", check=False)
    assert r.returncode == 1 and "cancelled already" in r.stderr


def test_a_plot_of_no_outcome_an_unknown_campaign_or_another_format_is_refused(
    tmp_path: Path,
) -> None:
    assert _create(tmp_path, "00-DB-12-34-56-78-90-B0\n").returncode == 0  # type: ignore[attr-defined]
    store = tmp_path / "campaigns"
    for args, want in (
        (("c", "--out", str(tmp_path / "p.svg")), "has no outcome yet"),
        (("nope", "--out", str(tmp_path / "p.svg")), "no campaign named 'nope'"),
        (("c", "--out", str(tmp_path / "p.gif")), "written as .svg or .png"),
    ):
        r = campaign(store, "plot", *args, check=False)
        assert r.returncode == 2 and want in r.stderr, (args, r.stderr)
    assert not list(tmp_path.glob("p.*"))
