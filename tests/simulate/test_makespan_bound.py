"""The rollout's makespan against its physical lower bound (issue 16): `althan simulate --json`
reports a positive bound that no run beats under either strategy, and the ratio to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from althan.han.config import NetworkConfig
from althan.han.topology import generate_fleet
from althan.runtime.simulate import makespan_lower_bound


@pytest.mark.parametrize("strategy", ["naive", "han-aware"])
def test_no_rollout_beats_its_lower_bound(tmp_path: Path, strategy: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "althan.cli", "simulate", "--homes", "40", "--seed", "5",
         "--strategy", strategy, "--json", "--data-dir", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads(proc.stdout.strip().splitlines()[-1])
    assert s["updated"] == s["devices"] > 0
    assert 0 < s["makespan_lower_bound_s"] <= s["virtual_seconds"]
    ratio = s["virtual_seconds"] / s["makespan_lower_bound_s"]
    assert s["makespan_x_bound"] == pytest.approx(ratio, abs=1e-3)
    assert s["makespan_x_bound"] >= 1


def test_the_bound_is_at_least_the_bytes_over_the_regions_capacity() -> None:
    fleet = generate_fleet(40, 5)
    cfg = NetworkConfig()
    region = fleet.homes[0].region
    wan = cfg.wan_for(region)
    small = makespan_lower_bound(fleet, cfg, {region.value: 10_000}, 32_768)
    large = makespan_lower_bound(fleet, cfg, {region.value: 100_000_000}, 32_768)
    assert large > small
    assert large >= 100_000_000 / wan.bytes_per_s + 2 * wan.latency_s
