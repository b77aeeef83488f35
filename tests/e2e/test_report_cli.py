"""`althan report`: AltHANCo's view of what is deployed, read from the DSP's store."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from althan.cli import app
from althan.runtime.demo import run_demo


def test_report_counts_what_the_rollout_deployed(tmp_path: Path) -> None:
    result = run_demo(homes=8, seed=6, data_dir=tmp_path)
    r = CliRunner().invoke(app, ["report", "--data-dir", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert rep["alt_han_devices"] == result.devices
    assert rep["deliveries"] == {"Activated": result.devices}
    rows = rep["by_version"]
    assert {row["firmware_version"] for row in rows} == {"00020000"}
    assert {row["cpl_status"] for row in rows} == {"Active"}
    assert sum(row["devices"] for row in rows) == result.devices
    by_variant: dict[str, int] = {}
    for row in rows:
        by_variant[row["variant"]] = by_variant.get(row["variant"], 0) + row["devices"]
    assert by_variant == {k: v for k, v in result.by_variant.items() if v}

    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["report", "--data-dir", str(tmp_path), "--out", str(out)])
    assert r.exit_code == 0, r.output
    html = (out / "deployed-report.html").read_text()
    assert "<svg" in html and "cpl status" in html
    with (out / "deployed-firmware.csv").open() as f:
        assert sum(int(row["devices"]) for row in csv.DictReader(f)) == result.devices


def test_report_without_a_store_is_a_clear_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["report", "--data-dir", str(tmp_path / "none")])
    assert r.exit_code == 2
    assert "no althan store" in r.output
