"""Requirement 5: after a rollout in the sim world, `althan records export` lists every firmware
version change with its source and the request that caused it — the DCC's seeded meters, each
bridge's 12.2 version and its N39 — and a device whose 11.2 read-back found another version
than the SMI held (here after an 8.4 told the SMI a wrong one) shows that too; the 11.4
deployment records carry each stage's time and the outcome."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from althan.cli import app
from althan.han.topology import generate_fleet
from althan.model import TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.scenario import Scenario
from althan.runtime.world import EPOCH, at
from althan.store.tables import firmware_deliveries

NEW = 0x00020000
WRONG = "00010005"


def _export(data: Path, *args: str) -> Any:
    r = CliRunner().invoke(app, ["records", "export", *args, "--data-dir", str(data)])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout) if "json" in args else r.stdout


def test_every_version_change_is_exported_with_its_source(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fleet = generate_fleet(4, 9)
    w = Scenario(fleet, data, seed=9)
    bridges = list(fleet.bridges())
    w.install(bridges)
    images = w.assure(bridges, NEW, 1024)
    w.update_firmware(bridges, images, NEW)
    odd = bridges[0][1]
    w.sim.call_at("dsp", w.now() + 60, "a minute later")
    w.run()
    req_84 = w.supplier.update_inventory_firmware(odd.eui, FirmwareVersion(int(WRONG, 16)))
    w.send(req_84)
    w.run()
    req_112 = w.supplier.read_firmware_version(odd.eui)
    w.send(req_112)
    w.run()
    assert [a.device for a in w.user.alerts("N42")] == [str(odd.eui)]

    since = EPOCH.isoformat()
    rows = _export(data, "--since", since, "--format", "json")
    with w.engine.connect() as conn:
        rid_of = {
            str(r.device): r.request_id
            for r in conn.execute(
                select(firmware_deliveries.c.device, firmware_deliveries.c.request_id)
            )
        }
    new = f"{NEW:08X}"
    for _h, b in bridges:
        mine = [r for r in rows if r["device"] == str(b.eui)]
        initial = f"{b.firmware_version:08X}"
        expected = [
            ("pre-notification", None, initial),
            ("N39", initial, new),
        ]
        if b.eui == odd.eui:
            expected += [("8.4", new, WRONG), ("11.2 mismatch", WRONG, new)]
        assert [
            (r["source"], r["previous_version"], r["firmware_version"]) for r in mine
        ] == expected
        assert mine[1]["request_id"] == rid_of[str(b.eui)]  # the 11.4 that delivered it
        assert mine[0]["request_id"].startswith(f"{TEST_SUPPLIER_EUI}:")  # its 12.2
    odd_rows = _export(data, "--since", since, "--device", str(odd.eui), "--format", "json")
    assert [r["request_id"] for r in odd_rows[2:]] == [req_84.request_id, req_112.request_id]
    assert [r["at"] for r in odd_rows] == sorted(r["at"] for r in odd_rows)
    # the DCC's own records (seeded before the clock starts): every hub, source "seed"
    everything = _export(data, "--since", "1970-01-01", "--format", "json")
    assert everything[-len(rows) :] == rows
    seeded = {r["device"] for r in everything if r["source"] == "seed"}
    hubs = {str(h.chf) for h in fleet.homes}
    assert hubs <= seeded
    # CSV says the same
    text = _export(data, "--since", since, "--format", "csv")
    assert list(csv.DictReader(io.StringIO(text))) == [
        {k: "" if v is None else str(v) for k, v in r.items()} for r in rows
    ]
    # --since: only what happened from then
    later = _export(data, "--since", odd_rows[2]["at"], "--format", "json")
    assert [(r["device"], r["source"]) for r in later] == [
        (str(odd.eui), "8.4"),
        (str(odd.eui), "11.2 mismatch"),
    ]

    deployments = _export(data, "--since", since, "--kind", "deployments", "--format", "json")
    assert sorted(d["device"] for d in deployments) == sorted(str(b.eui) for _h, b in bridges)
    for d in deployments:
        stages = [d[f"{s}_at"] for s in ("distributed", "delivered", "transferred", "activated")]
        assert None not in stages and stages == sorted(stages), d
        assert (d["status"], d["failed_at"], d["firmware_version"]) == ("Activated", None, new)
        assert d["requested_at"] == d["distributed_at"]
    assert at(w.now()).isoformat() > deployments[-1]["activated_at"][:19]


def test_records_export_bad_input(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for args, message in (
        (["--since", "yesterday"], "--since 'yesterday': not an ISO 8601"),
        (["--since", "2026-12-01", "--device", "00-DB"], "--device '00-DB'"),
        (["--since", "2026-12-01", "--format", "xml"], "--format 'xml': csv or json"),
        (["--since", "2026-12-01", "--kind", "alerts"], "--kind 'alerts'"),
    ):
        r = CliRunner().invoke(app, ["records", "export", *args, "--data-dir", str(data)])
        assert r.exit_code == 2 and message in r.stderr, (args, r.output)
