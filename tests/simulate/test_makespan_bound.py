"""The rollout's makespan against its physical lower bound (issue 16): the bound is positive,
no run beats it under either strategy, and the JSON reports the ratio."""

from __future__ import annotations

from pathlib import Path

import pytest

from althan.han.config import NetworkConfig
from althan.han.topology import generate_fleet
from althan.runtime.simulate import makespan_lower_bound, run_simulation


@pytest.mark.parametrize("strategy", ["naive", "han-aware"])
def test_no_rollout_beats_its_lower_bound(tmp_path: Path, strategy: str) -> None:
    r = run_simulation(40, strategy, 5, tmp_path / "s")
    s = r.summary()
    assert r.updated == r.devices > 0
    assert 0 < r.makespan_lower_bound <= r.virtual_seconds
    assert s["makespan_lower_bound_s"] == round(r.makespan_lower_bound, 3)
    assert s["makespan_x_bound"] == round(r.virtual_seconds / r.makespan_lower_bound, 4) >= 1


def test_the_bound_is_at_least_the_bytes_over_the_regions_capacity() -> None:
    fleet = generate_fleet(40, 5)
    cfg = NetworkConfig()
    region = fleet.homes[0].region
    wan = cfg.wan_for(region)
    small = makespan_lower_bound(fleet, cfg, {region.value: 10_000}, 32_768)
    large = makespan_lower_bound(fleet, cfg, {region.value: 100_000_000}, 32_768)
    assert large > small
    assert large >= 100_000_000 / wan.bytes_per_s + 2 * wan.latency_s
