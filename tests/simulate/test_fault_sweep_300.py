"""The issue's sweep through the command line: `althan simulate --faults default --seeds 1..20
--homes 300 --json`, every seed passes. A file of its own, so that `pytest -n 2` runs the
rest beside it."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "althan.cli", "simulate", *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow(50)  # 7-9 min of one core (20-26 s a seed): handed out first
def test_default_plan_20_seeds_300_homes_every_seed_passes() -> None:
    """The issue's sweep, through the command line: 20 seeds of the default plan (link faults
    on every link, an outage per region, CHs offline, reboots mid-download, corrupted blocks,
    WAN transfer failures, a DSP crash and restart) on 300 homes."""
    r = _cli("--faults", "default", "--seeds", "1..20", "--homes", "300", "--json")
    doc: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    assert [s["seed"] for s in doc["seeds"]] == list(range(1, 21))
    assert [s for s in doc["seeds"] if not s["ok"]] == [], r.stderr
    assert doc["ok"] is True
    assert all(s["broken"] is None for s in doc["seeds"])
    assert r.returncode == 0, r.stderr
    assert "20 of 20 seeds passed" in r.stderr
