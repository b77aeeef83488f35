"""Parse & Correlate on what a served DCC sends (issue 15): `althan pc parse --smki` against
serve's own SMKI port, on the 11.2 response (the device's CS08) that arrives at the supplier's
endpoint: valid; with one byte of the GBCS payload changed,
not valid (the DSP's XML signature no longer holds either); the N39, the DSP's own alert,
carries no GBCS and is said so (exit 6)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from althan.cli import app
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.zigbee.testimage import build_test_image
from live_support import Endpoint, Received, Served, althan, devices, dsp_trust, supplier_requests

NEW = 0x01000500


def parse(path: Path, smki: str) -> tuple[int, dict[str, Any]]:
    r = CliRunner().invoke(app, ["pc", "parse", str(path), "--smki", smki, "--json"])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, json.loads(r.stdout.strip().splitlines()[-1])


def flipped(doc: bytes) -> bytes:
    """`doc` with one byte of its GBCS payload (the last byte of the base64 message) changed."""
    text = doc.decode()
    for tag in ("GBCSPayload", "GBCSHexadecimalPayload"):
        start = text.find(f"{tag}>")
        if start >= 0:
            break
    assert start >= 0, text[:500]
    start += len(tag) + 1
    end = text.index("<", start)
    value = text[start:end]
    if tag == "GBCSHexadecimalPayload":
        changed = value[:-2] + f"{int(value[-2:], 16) ^ 0x01:02X}"
    else:
        raw = bytearray(base64.b64decode(value))
        raw[-1] ^= 0x01
        changed = base64.b64encode(bytes(raw)).decode()
    return (text[:start] + changed + text[end:]).encode()


def test_pc_parse_on_a_served_dccs_11_2_response_and_n39(tmp_path: Path) -> None:
    data = tmp_path / "data"
    endpoint = Endpoint(dsp_trust())
    with endpoint.running():
        althan("users", "add", "--eui", str(TEST_SUPPLIER_EUI), "--roles", "IS,GS",
               "--endpoint", endpoint.url, "--data-dir", str(data))  # fmt: skip
        with Served(data, "--speed", "600", "--fleet", "5", "--seed", "4") as dcc:
            bridge = devices(data, "list", "--type", "PPMID", "--status", "Commissioned",
                             "--variant", "B1")[0]  # fmt: skip
            eui = EUI64.parse(bridge["eui"])
            model = bridge["model"]
            hw = int(model[4:], 16)
            image = build_test_image(
                int(bridge["manufacturer"], 16), int(model[:4], 16), NEW, min_hw=hw, max_hw=hw
            )
            (tmp_path / "fw.ota").write_bytes(image)
            althan("cpl", "add", str(tmp_path / "fw.ota"), "--as", str(ALTHANCO_DEFAULT_EUI),
                   "--data-dir", str(data))  # fmt: skip
            rb = supplier_requests()
            read = rb.read_firmware_version(eui)
            assert dcc.send(read)[:2] == (200, "I99")
            [cs08] = endpoint.wait_for(lambda r: r.request_id == read.request_id)
            assert dcc.send(rb.update_ppmid_firmware(image, FirmwareVersion(NEW), [eui]))[:2] == (
                200,
                "I0",
            )

            def n39_of_bridge(r: Received) -> bool:
                return r.alert == "N39" and str(eui) in r.xml.decode()

            [n39] = endpoint.wait_for(n39_of_bridge, timeout=120)
            smki = f"http://127.0.0.1:{dcc.smki_port}"
            for name, got, use_case in (("11.2", cs08, "CS08"),):
                path = tmp_path / f"{name}.xml"
                path.write_bytes(got.xml)
                code, doc = parse(path, smki)
                assert (code, doc["outcome"]) == (0, "valid"), doc
                assert doc["gbcs"]["use_case"] == use_case
                checks = {c["name"]: c["verdict"] for c in doc["checks"]}
                assert checks["xml-signature"] == "valid"
                bad = tmp_path / f"{name}-flipped.xml"
                bad.write_bytes(flipped(got.xml))
                code, doc = parse(bad, smki)
                assert code != 0 and doc["outcome"] != "valid", doc
            # the N39 is the DSP's own alert (the device's CS09 stays with the DSP): no GBCS
            path = tmp_path / "n39.xml"
            path.write_bytes(n39.xml)
            code, doc = parse(path, smki)
            assert (code, doc["outcome"]) == (6, "no-gbcs"), doc
