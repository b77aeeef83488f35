"""`althan demo` through its command line: the whole flow, deterministic by seed.

`demo_300_seed7.json` is the JSON `althan demo --json --homes 300 --seed 7` printed before the
redesign (issue 10), `wall_seconds` left out: same seed, same run, whatever the code's shape.
It changed once since, on purpose (issue 16): a WAN transfer used to hold its slot for its
latency as well as its bytes; the slot now frees when the bytes are through, so the rollout
ends 180 s sooner (`virtual_seconds` 1656.671 → 1476.671), every other figure as before, and
the store's alerts and deliveries carry the earlier times (same rows, same counts).
`demo_300_seed7.store.json` fingerprints the store after that run; it changed once, on purpose:
the Comms Hubs and meters the DCC knows before the rollout were recorded as commissioned at
1970-01-01 (the epoch, not the sim's start); they are now commissioned at 2026-12-01, the sim's
first instant, every other row byte for byte as before. One 300-home run serves every
assertion; other seeds (test_demo_seeds.py) use 20 homes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from althan.cli import app

GOLDEN = Path(__file__).with_name("demo_300_seed7.json")


def _run(tmp: Path, *args: str) -> dict[str, object]:
    r = CliRunner().invoke(app, ["demo", "--json", "--data-dir", str(tmp), *args])
    assert r.exit_code == 0, r.output
    last = r.stdout.strip().splitlines()[-1]
    out: dict[str, object] = json.loads(last)
    return out


@pytest.mark.slow(10)  # the longest test: handed out first under -n
def test_demo_300_homes_every_bridge_updated_and_same_json_as_recorded(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "--homes", "300", "--seed", "7")
    assert a["homes"] == 300
    assert a["commissioned"] == a["devices"]
    assert a["updated"] == a["commissioned"]
    assert a["n39_alerts"] == a["updated"]
    assert a["failed"] == 0
    by_variant = a["by_variant"]
    assert isinstance(by_variant, dict)
    assert set(by_variant) == {"B1", "B2", "B3", "B4"}
    assert by_variant["B1"] == 300  # every Alt HAN home has a B1 by its Comms Hub
    assert sum(by_variant.values()) == a["devices"]
    wall = a.pop("wall_seconds")
    assert isinstance(wall, float) and wall > 0
    assert a == json.loads(GOLDEN.read_text())
    assert store_fingerprint(tmp_path / "a") == json.loads(STORE_GOLDEN.read_text())
    # the report and the CSV land in the data dir
    html = (tmp_path / "a" / "rollout-report.html").read_text()
    assert "<svg" in html and "Deployed firmware by variant and region" in html
    rows = (tmp_path / "a" / "deployed-firmware.csv").read_text().splitlines()
    assert rows[0] == "variant,region,firmware_version,devices"
    assert sum(int(r.rsplit(",", 1)[1]) for r in rows[1:]) == a["devices"]


STORE_GOLDEN = Path(__file__).with_name("demo_300_seed7.store.json")


def store_fingerprint(data_dir: Path) -> dict[str, object]:
    """SHA-256 of what the DSP's store holds after the demo, in content order: every alert
    (code, device, user, time), every SMI record and every firmware delivery's outcome."""
    import hashlib
    import sqlite3

    queries = {
        "alerts": "SELECT code, device, user_eui, created_at FROM alerts"
        " ORDER BY created_at, code, device",
        "devices": "SELECT eui, device_type, status, firmware_version, variant, chf, region,"
        " supplier, commissioned_at FROM devices ORDER BY eui",
        "deliveries": "SELECT request_id, device, chf, status, firmware_version, updated_at"
        " FROM firmware_deliveries ORDER BY request_id, device",
    }
    out: dict[str, object] = {}
    with sqlite3.connect(data_dir / "althan.db") as db:
        for name, q in queries.items():
            rows = db.execute(q).fetchall()
            out[name] = {
                "rows": len(rows),
                "sha256": hashlib.sha256(repr(rows).encode()).hexdigest(),
            }
    return out
