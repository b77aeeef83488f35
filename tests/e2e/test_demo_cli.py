"""`althan demo` through its command line: the whole flow, deterministic by seed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from althan.cli import app


def _run(tmp: Path, *args: str) -> dict[str, object]:
    r = CliRunner().invoke(app, ["demo", "--json", "--data-dir", str(tmp), *args])
    assert r.exit_code == 0, r.output
    last = r.stdout.strip().splitlines()[-1]
    out: dict[str, object] = json.loads(last)
    return out


def test_demo_300_homes_every_bridge_updated_and_deterministic(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "--homes", "300", "--seed", "7")
    b = _run(tmp_path / "b", "--homes", "300", "--seed", "7")
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
    a.pop("wall_seconds")
    b.pop("wall_seconds")
    assert a == b
    # the report and the CSV land in the data dir
    html = (tmp_path / "a" / "rollout-report.html").read_text()
    assert "<svg" in html and "Deployed firmware by variant and region" in html
    rows = (tmp_path / "a" / "deployed-firmware.csv").read_text().splitlines()
    assert rows[0] == "variant,region,firmware_version,devices"
    assert sum(int(r.rsplit(",", 1)[1]) for r in rows[1:]) == a["devices"]


def test_demo_other_seed_differs(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "--homes", "20", "--seed", "1")
    b = _run(tmp_path / "b", "--homes", "20", "--seed", "2")
    assert a["failed"] == b["failed"] == 0
    assert (a["devices"], a["virtual_seconds"]) != (b["devices"], b["virtual_seconds"])
