"""What anomaly detection sends a user — the N48 alert carrying QuarantinedRequest, the E48
answer to a rejected request, the I0 answer to a released one — validates with the DCC Boxed
reference `Validate` tool (stock 5.1 schema) and parses with `@smartdcc/duis-parser`."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from anomaly_support import (
    SR,
    VERSION,
    Doc,
    FakeClock,
    alerts,
    answers_to,
    seed_bridges,
    write_all,
)
from fastapi.testclient import TestClient

from althan.dsp import anomaly
from althan.model import TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.assemble import Assembly
from althan.supplier.client import DuisClient

PARSE = Path(__file__).with_name("duis_parse_bodies.js")
BoxedRunner = Callable[[str, Sequence[Path]], list[tuple[int, bytes]]]


def _quarantine_traffic(
    client: TestClient, a: Assembly, supplier: DuisClient, clock: FakeClock
) -> tuple[Doc, Doc, Doc]:
    """(N48, E48 answer, I0 answer) of two 11.4s held by a 2-device threshold."""
    image, devices = seed_bridges(a, clock(), 3)
    with a.dsp.engine.begin() as conn:
        anomaly.set_threshold(
            conn,
            a.dsp.services.srvs,
            user=TEST_SUPPLIER_EUI,
            srv="11.4",
            max_requests=None,
            max_devices=2,
            window=anomaly.parse_window("24h"),
            now=clock(),
        )
    reqs = [supplier.update_ppmid_firmware(image, FirmwareVersion(VERSION), devices) for _ in "ab"]
    for r in reqs:
        answer = client.post(
            "/api/v1/serviceD", content=r.xml, headers={"content-type": "application/xml"}
        )
        assert answer.headers["x-duis-response-code"] == "I99"
    first, second = alerts(a, "N48")
    ref = int(first.text(f".//{SR}QuarantineEventRef") or 0)
    ref2 = int(second.text(f".//{SR}QuarantineEventRef") or 0)
    assert a.dsp.release(ref, clock.advance(5)).code == "I0"
    assert a.dsp.reject(ref2, clock.advance(5)).code == "E48"
    [released] = answers_to(a, reqs[0].request_id)
    [rejected] = answers_to(a, reqs[1].request_id)
    return first, rejected, released


@pytest.mark.java
def test_n48_and_the_answers_validate_with_the_reference_tool(
    client: TestClient,
    assembly: Assembly,
    supplier: DuisClient,
    clock: FakeClock,
    tmp_path: Path,
    boxed: BoxedRunner,
) -> None:
    docs = _quarantine_traffic(client, assembly, supplier, clock)
    files = write_all(tmp_path, docs, "quarantine")
    control = tmp_path / "tampered.xml"  # the tool does refuse a changed alert
    control.write_bytes(docs[0].xml.replace(b">N48<", b">N47<"))
    *results, refused = boxed("validate", [*files, control])
    assert refused[0] != 0
    assert [rc for rc, _out in results] == [0, 0, 0], [o[-300:] for _rc, o in results]


def test_n48_and_the_answers_parse_with_duis_parser(
    client: TestClient,
    assembly: Assembly,
    supplier: DuisClient,
    clock: FakeClock,
    tmp_path: Path,
    node_modules: Path,
) -> None:
    docs = _quarantine_traffic(client, assembly, supplier, clock)
    files = write_all(tmp_path, docs, "quarantine")
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, str(PARSE), str(node_modules), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    parsed = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [p["ok"] for p in parsed] == [True, True, True], parsed
    n48, rejected, released = parsed
    alert = n48["body"]["DCCAlertMessage"]
    assert alert["DCCAlertCode"] == "N48"
    breach = alert["DCCAlert"]["QuarantinedRequest"]["ADUserThresholdBreach"]
    assert breach["RequestID"] == docs[2].request_id  # the released one was quarantined first
    assert breach["QuarantineEventRef"] == "1"
    assert (rejected["header"]["responseCode"], released["header"]["responseCode"]) == (
        "E48",
        "I0",
    )
    assert rejected["header"]["requestId"]["counter"] != released["header"]["requestId"]["counter"]
