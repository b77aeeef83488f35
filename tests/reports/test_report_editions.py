"""The DCC's deployed-versions report to AltHANCo (requirement 4): one edition per day of the
DSP's clock, each kept, signed and POSTed to AltHANCo's registered endpoint; what AltHANCo
received is exactly what `althan report --edition N` reproduces."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from althan.cli import app
from althan.dsp import cpl
from althan.duis.xmldsig import verify
from althan.han.topology import generate_fleet
from althan.model import ALTHANCO_DEFAULT_EUI
from althan.reports import editions
from althan.runtime.dispatcher import OutboxDispatcher
from althan.runtime.scenario import Scenario
from althan.runtime.world import at

NEW = 0x00020000


class Receiver:
    """An HTTP endpoint on 127.0.0.1 (a free port) keeping every body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.types: list[str] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.bodies.append(self.rfile.read(int(self.headers["content-length"])))
                outer.types.append(self.headers.get("content-type", ""))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/althanco"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _cli(data: Path, *args: str, code: int = 0) -> bytes:
    r = CliRunner().invoke(app, [*args, "--data-dir", str(data)])
    assert r.exit_code == code, r.output
    return r.stdout_bytes


def test_daily_editions_reach_althanco_as_report_edition_reproduces_them(
    tmp_path: Path, receiver: Receiver
) -> None:
    data = tmp_path / "data"
    fleet = generate_fleet(5, 3)
    w = Scenario(fleet, data, seed=3)
    bridges = list(fleet.bridges())
    w.install(bridges)
    images = w.assure(bridges, NEW, 1024)
    w.update_firmware(bridges, images, NEW)
    _cli(
        data,
        "users",
        "add",
        "--eui",
        str(ALTHANCO_DEFAULT_EUI),
        "--roles",
        "OU",
        "--endpoint",
        receiver.url,
    )
    dsp = w.dsp
    now = at(w.now())

    first = editions.publish_due(dsp, now)
    assert first is not None and first.edition == 1
    assert first.delivered_to == (ALTHANCO_DEFAULT_EUI,)
    assert editions.publish_due(dsp, now + timedelta(hours=1)) is None  # one per day
    midnight = editions.next_due(dsp, now)
    assert midnight > now and (midnight.hour, midnight.minute) == (0, 0)
    assert editions.publish_due(dsp, midnight - timedelta(seconds=1)) is None
    # the next day, after AltHANCo withdrew one model's image: the edition says so
    with w.engine.begin() as conn:
        entry = max(cpl.entries(conn), key=lambda e: e.id)
        cpl.set_status(conn, entry.id, cpl.CplStatus.WITHDRAWN, ALTHANCO_DEFAULT_EUI, midnight)
    second = editions.publish_due(dsp, midnight + timedelta(minutes=5))
    assert second is not None and second.edition == 2

    sent = OutboxDispatcher(dsp).run_once(midnight + timedelta(minutes=6))
    assert (sent.claimed, sent.sent) == (2, 2)
    assert receiver.types == ["application/xml", "application/xml"]
    for n, body in enumerate(receiver.bodies, start=1):
        assert body == _cli(data, "report", "--edition", str(n), "--xml")
        doc = verify(body, w.dsp_trust)  # signed by the DSP
        stored = json.loads(_cli(data, "report", "--edition", str(n), "--json"))
        assert editions.read_document(doc.root) == stored
        assert stored["edition"] == n
        assert stored["alt_han_devices"] == len(bridges)
        assert sum(v["devices"] for v in stored["by_version"]) == len(bridges)
        assert {v["firmware_version"] for v in stored["by_version"]} == {f"{NEW:08X}"}
        assert stored["deliveries"] == {"Activated": len(bridges)}
    one, two = (json.loads(_cli(data, "report", "--edition", n, "--json")) for n in "12")
    assert {v["cpl_status"] for v in one["by_version"]} == {"Active"}
    assert {v["cpl_status"] for v in two["by_version"]} == {"Active", "Withdrawn"}
    listed = json.loads(_cli(data, "report", "--editions", "--json"))
    assert [(e["edition"], e["scheduled"]) for e in listed] == [(1, True), (2, True)]
    assert [e["sha256"] for e in listed] == [first.sha256, second.sha256]
    # past editions stay as they were delivered, whatever the store says now
    assert _cli(data, "report", "--edition", "1", "--xml") == receiver.bodies[0]


def test_report_edition_bad_input(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = CliRunner().invoke(app, ["report", "--edition", "1", "--data-dir", str(data)])
    assert r.exit_code == 2 and "no althan store" in r.stderr
    assert not data.exists()
    _cli(data, "users", "add", "--eui", str(ALTHANCO_DEFAULT_EUI), "--roles", "OU")
    published = json.loads(_cli(data, "report", "--publish", "--json"))
    assert (published["edition"], published["scheduled"], published["delivered_to"]) == (
        1,
        False,
        [],  # AltHANCo has no endpoint: kept for its SSI inbox only
    )
    for args, message in (
        (["--edition", "2"], "no edition 2 of the report"),
        (["--xml"], "--xml goes with --edition N"),
        (["--edition", "1", "--editions"], "give one of --edition N, --editions and --publish"),
    ):
        r = CliRunner().invoke(app, ["report", *args, "--data-dir", str(data)])
        assert r.exit_code == 2 and message in r.stderr, (args, r.output)
