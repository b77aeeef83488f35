"""The deterministic Alt HAN fleet generator."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import pytest

from althan.han import (
    MAX_TYPE1_DEVICES,
    TopologyError,
    TopologyKind,
    enumerate_topologies,
    generate_fleet,
)
from althan.model import AltHANVariant, DeviceType, Region

NETWORK_MD = Path(__file__).resolve().parents[2] / "docs" / "network.md"


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


def _close(count: int, n: int, percent: int) -> bool:
    """``count`` of ``n`` is within 4 standard deviations of ``percent`` %."""
    p = percent / 100
    return abs(count / n - p) <= 4 * math.sqrt(p * (1 - p) / n)


def test_the_shares_docs_network_md_states() -> None:
    """docs/network.md "Homes": the kind shares of its table, the region shares, the homes
    with a PPMID and the ihd-remote homes without gas, against a 10,000-home fleet."""
    text = NETWORK_MD.read_text()
    homes = text[text.index("## Homes") : text.index("## OTA")]
    table = dict(re.findall(r"^\| `([a-z-]+)` \|.*\| (\d+) % \|$", homes, re.M))
    assert set(table) == {k.value for k in TopologyKind}
    m = re.search(r"North (\d+) %, Central (\d+) %, South (\d+) %", homes)
    ppmid = re.search(r"(\d+) % of homes have a real PPMID", homes)
    no_gas = re.search(r"\((\d+) % of these homes have no gas\)", homes)
    assert m is not None and ppmid is not None and no_gas is not None
    n = 10_000
    fleet = generate_fleet(n, 1)
    kinds = Counter(h.kind.value for h in fleet.homes)
    for kind, share in table.items():
        assert _close(kinds[kind], n, int(share)), (kind, kinds[kind], share)
    regions = Counter(h.region for h in fleet.homes)
    for region, share in zip((Region.NORTH, Region.CENTRAL, Region.SOUTH), m.groups(), strict=True):
        assert _close(regions[region], n, int(share)), (region, regions[region], share)
    assert _close(sum(h.ppmid is not None for h in fleet.homes), n, int(ppmid[1]))
    ihd = [h for h in fleet.homes if h.kind is TopologyKind.IHD_REMOTE]
    assert _close(sum(h.gsme is None for h in ihd), len(ihd), int(no_gas[1]))
    assert all(h.gsme is not None for h in fleet.homes if h.kind is not TopologyKind.IHD_REMOTE)
    three = sum(1 for h in fleet.homes if len(h.bridges) == 3)  # the two "far" kinds
    assert three == kinds["both-remote-far-mains"] + kinds["both-remote-far-battery"]


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
