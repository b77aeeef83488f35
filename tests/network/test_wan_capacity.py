"""A region's WAN carries images at its capacity: a transfer holds its slot while its bytes
move, and the image reaches its CH one latency later (latency is propagation, not capacity).
Seen through the CSP's delivery statuses, the way the DSP sees them."""

from __future__ import annotations

import itertools

import pytest
from network_support import bridge_image, world

from althan.han import NetworkConfig, enumerate_topologies
from althan.han.config import RegionWan
from althan.model import Region
from althan.smwan import CSPFirmwareDeliveryStatus

FLEET = enumerate_topologies(seed=5)
RATE, LATENCY = 1_000.0, 30.0


def _status_times(concurrent: int) -> tuple[int, list[float]]:
    wan = {r: RegionWan(bytes_per_s=RATE, concurrent=concurrent, latency_s=LATENCY) for r in Region}
    w = world(FLEET, NetworkConfig(wan=wan))
    region = FLEET.homes[0].region
    homes = [h for h in FLEET.homes if h.region is region][:4]
    assert len(homes) == 4
    image = bridge_image(homes[0].bridges[0].variant, size=2_000)
    for h in homes:  # one distribution per hub, all queued at once
        w.distribute(image, [(h.chf, h.bridges[0].eui)], region, 0.0)
    w.sim.run()
    times = sorted(t for t, m in w.dsp.got if isinstance(m, CSPFirmwareDeliveryStatus))
    return len(image), times


def test_one_slot_carries_back_to_back_transfers_latency_overlapping() -> None:
    size, times = _status_times(concurrent=1)
    assert len(times) == 4
    busy = size / RATE
    # the first status: its bytes, the latency to the CH, the latency back to the DSP
    assert times[0] == pytest.approx(busy + 2 * LATENCY)
    # the next transfers start as soon as the bytes before them are through
    for a, b in itertools.pairwise(times):
        assert b - a == pytest.approx(busy)


def test_slots_share_the_capacity() -> None:
    size, times = _status_times(concurrent=2)
    busy = size / (RATE / 2)  # each of 2 transfers moves at half the capacity
    assert times[0] == pytest.approx(busy + 2 * LATENCY)
    assert times[1] == pytest.approx(times[0])
    assert times[2] == pytest.approx(times[0] + busy)
