"""The Alt HAN firmware flow end to end, through signed DUIS XML in and out."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

from lxml import etree

from althan.duis.xmldsig import verify
from althan.han.topology import generate_fleet
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import build_dsp
from althan.runtime.demo import run_demo
from althan.runtime.world import EPOCH
from althan.supplier.client import DuisClient

BoxedRunner = Callable[[str, Sequence[Path]], list[tuple[int, bytes]]]  # tests/conftest.py

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
_COUNTER = itertools.count(10**9, 10)


def _inventory(data_dir: Path, device: EUI64, seed: int) -> tuple[bytes, etree._Element]:
    """A signed 8.2 to the DSP behind `data_dir`, as a supplier sends it; signature checked."""
    a = build_dsp(data_dir, seed=seed)
    cert, key = a.zaz1[TEST_SUPPLIER_EUI]
    req = DuisClient(TEST_SUPPLIER_EUI, key, cert, counter=next(_COUNTER)).read_inventory(device)
    reply = a.dsp.handle_duis(req.service, req.xml, EPOCH)
    assert reply.response_code == "I0", reply.detail
    return reply.body, verify(reply.body, a.dsp_trust).root


def test_inventory_after_rollout_shows_variant_and_new_version(tmp_path: Path) -> None:
    result = run_demo(homes=6, seed=3, data_dir=tmp_path)
    assert result.failed == 0 and result.updated == result.devices > 0
    for _home, bridge in generate_fleet(6, 3).bridges():
        _, root = _inventory(tmp_path, bridge.eui, seed=3)
        dev = root.find(f".//{SR}Device")
        assert dev is not None
        assert dev.findtext(f"{SR}DeviceID") == str(bridge.eui)
        assert dev.findtext(f"{SR}DeviceType") == "PPMID"
        assert dev.findtext(f"{SR}AltHANDeviceVariant") == bridge.variant.value
        assert dev.findtext(f"{SR}DeviceFirmwareVersion") == "00020000"
        assert dev.findtext(f"{SR}DeviceStatus") == "Commissioned"


def test_every_n39_names_an_updated_bridge_once(tmp_path: Path) -> None:
    result = run_demo(homes=4, seed=5, data_dir=tmp_path)
    assert result.world is not None
    n39 = result.world.user.alerts("N39")
    bridges = {str(b.eui) for _h, b in generate_fleet(4, 5).bridges()}
    assert sorted(d.device or "" for d in n39) == sorted(bridges)
    for d in n39:
        assert d.root.findtext(f".//{SR}ActivateImageResultCode") == "ActivationSuccess"
        assert d.root.findtext(f".//{SR}DeviceAlertCode") == "8F8B"
        assert d.root.findtext(f".//{SR}PPMIDFirmwareUpgradeAlert/{SR}FirmwareVersion") == (
            "00020000"
        )
    assert result.world.user.bad_signatures == 0


def test_dsp_alerts_and_responses_pass_the_reference_tool(
    tmp_path: Path, boxed: BoxedRunner
) -> None:
    result = run_demo(homes=2, seed=11, data_dir=tmp_path / "d")
    assert result.world is not None
    user = result.world.user
    picked: dict[str, bytes] = {}
    for d in user.deliveries:
        key = d.alert_code or d.root.findtext(f".//{SR}ServiceReferenceVariant") or "?"
        picked.setdefault(key, d.xml)
    assert {"N39", "N55", "N56", "11.2", "8.11"} <= set(picked)
    # an 8.2 response for a meter (no Alt HAN element, so plain DUIS 5.1 applies)
    home = generate_fleet(2, 11).homes[0]
    picked["8.2"], _ = _inventory(tmp_path / "d", home.esme.eui, seed=11)
    # and a tampered one fails
    picked["tampered"] = picked["N39"].replace(b"ActivationSuccess", b"ActivationFailure")
    files = []
    for name, xml in picked.items():
        files.append(tmp_path / f"{name}.xml")
        files[-1].write_bytes(xml)
    results = boxed("validate", files)  # the DCC Boxed Validate tool, all files in one JVM
    for name, (rc, out) in zip(picked, results, strict=True):
        if name == "tampered":
            assert rc != 0
        else:
            assert rc == 0, (name, out[-500:])
            assert b"failed" not in out, (name, out[:500])
