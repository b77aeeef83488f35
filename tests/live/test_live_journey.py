"""The supplier journey against a live DCC, as a DCC Boxed user runs it (issue 11).

`althan serve` runs as its own process; the requests are signed by the DCC Boxed reference tool
(with the schema `althan duis schema --export` writes first on its class path, since the stock
schema refuses AltHANDeviceVariant); the test listens on its own endpoint. A spare bridge is
pre-notified with its variant (12.2), whitelisted (8.11), joins; 8.2 shows it commissioned with
its variant; AltHANCo assures a new image (`althan cpl add`); 11.4 brings N55, N56 and N39 to
the endpoint; 11.2 brings the device's CS08; 8.2 shows the new version. Every document
received is accepted by the reference `Validate` and parses with @smartdcc/duis-parser.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lxml import etree

from althan.duis.namespaces import DSIG, SR
from althan.duis.service_requests import SignedRequest
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.scenario import install_code
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

BoxedRunner = Callable[[str, Sequence[Path]], list[tuple[int, bytes]]]
NEW = 0x01000200
RUNNER = Path(__file__).resolve().parents[1] / "gateway" / "duis_parse_many.js"


def _unsigned(req: SignedRequest, path: Path) -> Path:
    root = etree.fromstring(req.xml)
    sig = root.find(f"{DSIG}Signature")
    assert sig is not None
    root.remove(sig)
    path.write_bytes(etree.tostring(root))
    return path


def _inventory(answer: bytes) -> etree._Element:
    root = etree.fromstring(answer)
    device = root.find(f".//{SR}DSPInventory/{SR}Device")
    assert device is not None, answer[:500]
    return device


def _parse_all(node_modules: Path, files: list[Path]) -> list[dict[str, object]]:
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, str(RUNNER), str(node_modules), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_the_supplier_journey_on_a_served_dcc(
    tmp_path: Path, boxed_mp170: BoxedRunner, node_modules: Path
) -> None:
    data = tmp_path / "data"
    endpoint = Endpoint(dsp_trust())
    with endpoint.running():
        althan(
            "users", "add", "--eui", str(TEST_SUPPLIER_EUI), "--roles", "IS,GS",
            "--endpoint", endpoint.url, "--data-dir", str(data),
        )  # fmt: skip
        with Served(data, "--speed", "600", "--fleet", "5", "--seed", "3") as dcc:
            spare = devices(data, "spare")
            bridge = next(d for d in spare if d["variant"] == "B1")
            eui, chf = EUI64.parse(bridge["eui"]), EUI64.parse(bridge["chf"])
            mfr, model = int(bridge["manufacturer"], 16), bridge["model"]
            hw = int(model[4:], 16)
            image = build_test_image(mfr, int(model[:4], 16), NEW, min_hw=hw, max_hw=hw)
            (tmp_path / "fw.ota").write_bytes(image)

            rb = supplier_requests()
            reqs = [
                rb.prenotify(
                    eui,
                    manufacturer=bridge["manufacturer"],
                    model=model,
                    firmware=FirmwareVersion.parse(bridge["firmware_version"]),
                    variant=bridge["variant"],
                ),
                rb.whitelist(chf, eui, install_code(eui)),
                rb.read_inventory(eui),
                rb.update_ppmid_firmware(image, FirmwareVersion(NEW), [eui]),
                rb.read_firmware_version(eui),
                rb.read_inventory(eui),
            ]
            files = [_unsigned(r, tmp_path / f"req{i}.xml") for i, r in enumerate(reqs)]
            signed = boxed_mp170("sign", files)
            assert [rc for rc, _ in signed] == [0] * len(reqs), "the reference tool signs all"
            prenotify, whitelist, read1, update, read_fw, read2 = (
                (r.service, xml) for r, (_rc, xml) in zip(reqs, signed, strict=True)
            )
            answers: list[bytes] = []

            def post(req: tuple[str, bytes], want: str) -> bytes:
                status, code, body = dcc.post(*req)
                assert (status, code) == (200, want), body[:400]
                answers.append(body)
                return body

            post(prenotify, "I0")
            post(whitelist, "I99")
            endpoint.wait_for(lambda r: r.request_id == reqs[1].request_id)
            deadline = time.monotonic() + 60
            while bridge["eui"] not in {
                d["eui"] for d in devices(data, "list", "--status", "Commissioned")
            }:
                assert time.monotonic() < deadline, "the bridge never joined"
                time.sleep(0.5)
            device = _inventory(post(read1, "I0"))
            assert device.findtext(f"{SR}DeviceStatus") == "Commissioned"
            assert device.findtext(f"{SR}AltHANDeviceVariant") == "B1"

            althan(
                "cpl", "add", str(tmp_path / "fw.ota"), "--as", str(ALTHANCO_DEFAULT_EUI),
                "--data-dir", str(data),
            )  # fmt: skip
            post(update, "I0")
            for code in ("N55", "N56", "N39"):

                def alert_for_bridge(r: Received, c: str = code) -> bool:
                    return r.alert == c and bridge["eui"] in r.xml.decode()

                [got] = endpoint.wait_for(alert_for_bridge)
            n39 = got.text(f".//{SR}PPMIDFirmwareUpgradeAlert/{SR}FirmwareVersion")
            assert n39 == f"{NEW:08X}"
            post(read_fw, "I99")
            [cs08] = endpoint.wait_for(lambda r: r.request_id == reqs[4].request_id)
            assert cs08.response_code == "I0"
            assert cs08.text(f".//{SR}GBCSPayload")
            device = _inventory(post(read2, "I0"))
            assert device.findtext(f"{SR}DeviceFirmwareVersion") == f"{NEW:08X}"

    assert endpoint.bad == []
    received: list[Received] = endpoint.got
    docs = [*answers, *(r.xml for r in received)]
    paths = []
    for i, xml in enumerate(docs):
        p = tmp_path / f"doc{i:03d}.xml"
        p.write_bytes(xml)
        paths.append(p)
    verdicts = boxed_mp170("validate", paths)
    assert [rc for rc, _ in verdicts] == [0] * len(paths), "the reference Validate accepts all"
    parsed = _parse_all(node_modules, paths)
    assert all(p["ok"] for p in parsed), [p for p in parsed if not p["ok"]][:3]
