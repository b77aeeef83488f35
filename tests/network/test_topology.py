"""The deterministic Alt HAN fleet generator."""

from __future__ import annotations

from collections import Counter

import pytest

from althan.han import (
    MAX_TYPE1_DEVICES,
    TopologyError,
    TopologyKind,
    enumerate_topologies,
    generate_fleet,
)
from althan.model import AltHANVariant, DeviceType, Region


def test_same_seed_same_fleet_other_seed_other_fleet() -> None:
    assert generate_fleet(300, 4) == generate_fleet(300, 4)
    assert generate_fleet(300, 4) != generate_fleet(300, 5)


def test_euis_unique_and_every_home_is_alt_han() -> None:
    fleet = generate_fleet(5_000, 9)
    euis = [d.eui for h in fleet.homes for d in h.devices()] + [h.chf for h in fleet.homes]
    assert len(euis) == len(set(euis))
    for h in fleet.homes:
        assert h.b1.variant is AltHANVariant.B1
        assert 1 <= len(h.remote_bridges) <= 2
        assert tuple(b.variant for b in h.remote_bridges) == h.kind.remote_variants
        assert len(h.type1()) <= MAX_TYPE1_DEVICES
        assert all(b.device_type is DeviceType.PPMID for b in h.bridges)  # SECMP0170 Option 1


def test_proportions() -> None:
    fleet = generate_fleet(10_000, 1)
    regions = Counter(h.region for h in fleet.homes)
    kinds = Counter(h.kind for h in fleet.homes)
    assert set(regions) == set(Region) and set(kinds) == set(TopologyKind)
    assert 0.15 < regions[Region.NORTH] / 10_000 < 0.25
    assert 0.29 < kinds[TopologyKind.GAS_REMOTE_MAINS] / 10_000 < 0.39
    three = sum(1 for h in fleet.homes if len(h.bridges) == 3)
    assert 0.15 < three / 10_000 < 0.25
    assert all(h.gsme is not None for h in fleet.homes if h.kind is not TopologyKind.IHD_REMOTE)


def test_paths_follow_the_topology() -> None:
    for h in enumerate_topologies().homes:
        b1 = h.b1.eui
        assert h.path(b1) == () and h.path(h.esme.eui) == ()
        for b in h.remote_bridges:
            assert h.path(b.eui) == (b1,)
        assert h.gsme is not None and h.ppmid is not None
        gas, ihd = h.path(h.gsme.eui), h.path(h.ihd.eui)
        assert h.path(h.ppmid.eui) == ihd
        k = h.kind
        if k in (TopologyKind.GAS_REMOTE_MAINS, TopologyKind.GAS_REMOTE_BATTERY):
            assert ihd == () and gas[0] == b1 and len(gas) == 2
        elif k is TopologyKind.IHD_REMOTE:
            assert gas == () and ihd == (b1, h.remote_bridges[0].eui)
        elif k is TopologyKind.BOTH_REMOTE_CLOSE:
            assert gas == ihd == (b1, h.remote_bridges[0].eui)
        else:
            assert gas == (b1, h.remote_bridges[0].eui) and ihd == (b1, h.remote_bridges[1].eui)
        with pytest.raises(TopologyError):
            h.path(h.chf)


def test_negative_size_is_refused() -> None:
    with pytest.raises(TopologyError):
        generate_fleet(-1, 0)
