"""Business requirement 9: bridges of one HAN updated in any order all end on the new firmware,
and every HAN device is reachable again. Driven only through smwan messages."""

from __future__ import annotations

import itertools

import pytest
from network_support import (
    NEW_VERSION,
    World,
    bridge_image,
    home_devices_reachable,
    pki,
    world,
)

from althan import gbcs
from althan.han import (
    Fleet,
    Home,
    NetworkConfig,
    Strategy,
    TopologyKind,
    enumerate_topologies,
)
from althan.model import EUI64, FirmwareVersion
from althan.runtime.fault_plan import DeviceReboot, FaultPlan
from althan.smwan import DeliveryOutcome
from althan.zigbee.client import ClientState

FLEET = enumerate_topologies(seed=3)
GAP = 20_000.0  # seconds between two distributions: long enough for one to finish entirely


def _cases() -> list[tuple[Home, tuple[int, ...], Strategy]]:
    out = []
    for home in FLEET.homes:
        for order in itertools.permutations(range(len(home.bridges))):
            for strategy in Strategy:
                out.append((home, order, strategy))
    return out


def _done(w: World, eui: EUI64) -> float:
    t = w.net.device(eui).completed_at
    assert t is not None, eui
    return t


def _check_home(w: World, home: Home) -> None:
    for b in home.bridges:
        v = w.net.device(b.eui)
        assert v.firmware_version == NEW_VERSION, (b.variant, hex(v.firmware_version))
        assert v.state is ClientState.IDLE
    assert home_devices_reachable(w, home)
    # one CS09 (0x8F8B) per bridge, signed by that bridge's DS key, carrying the new version
    cs09 = {a.device: m for a, m in w.dsp.cs09()}
    assert set(cs09) == {b.eui for b in home.bridges}
    for b in home.bridges:
        m = cs09[b.eui]
        assert m.payload.firmware_version == FirmwareVersion(NEW_VERSION)
        assert m.payload.alert_code == 0x8F8B
        assert gbcs.verify_signature(m, pki().public_key_for(b.eui, "ds"))
    # CCS08 0x8F8A for every bridge, no failure
    assert sorted(m.payload.alert_code for _, m in w.dsp.ccs08()) == [0x8F8A] * len(home.bridges)
    assert all(s.outcome is DeliveryOutcome.DELIVERED for s in w.dsp.statuses())
    assert not w.net.metrics().failures


def test_every_topology_is_enumerated() -> None:
    assert {h.kind for h in FLEET.homes} == set(TopologyKind)
    assert {len(h.bridges) for h in FLEET.homes} == {2, 3}
    # 4 two-bridge topologies x 2 orders + 2 three-bridge topologies x 6 orders, x 2 strategies
    assert len(_cases()) == (4 * 2 + 2 * 6) * 2


@pytest.mark.parametrize(
    ("home", "order", "strategy"),
    _cases(),
    ids=lambda x: x.kind.value if isinstance(x, Home) else str(x),
)
def test_sequential_order(home: Home, order: tuple[int, ...], strategy: Strategy) -> None:
    w = world(Fleet(0, (home,)), NetworkConfig(strategy=strategy))
    for i, bi in enumerate(order):
        b = home.bridges[bi]
        w.distribute(bridge_image(b.variant), [(home.chf, b.eui)], home.region, at=i * GAP)
    w.sim.run()
    _check_home(w, home)
    done = {b.eui: _done(w, b.eui) for b in home.bridges}
    seq = [done[home.bridges[bi].eui] for bi in order]
    assert seq == sorted(seq)  # they really were updated in that order


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("home", FLEET.homes, ids=lambda h: h.kind.value)
def test_all_at_once(home: Home, strategy: Strategy) -> None:
    w = world(Fleet(0, (home,)), NetworkConfig(strategy=strategy))
    for b in home.bridges:
        w.distribute(bridge_image(b.variant), [(home.chf, b.eui)], home.region, at=0.0)
    w.sim.run()
    _check_home(w, home)


@pytest.mark.parametrize("home", FLEET.homes, ids=lambda h: h.kind.value)
def test_b1_activates_while_remote_bridge_mid_download(home: Home) -> None:
    """Naive: B1's small image activates at once, cutting off remote downloads mid-way."""
    w = world(Fleet(0, (home,)), NetworkConfig(strategy=Strategy.NAIVE))
    # remote images (64 KiB) reach the CH after ~38 s and take > 30 s to download;
    # B1's 512-byte image is sent at 40 s and activates within a second of arriving
    for b in home.remote_bridges:
        w.distribute(bridge_image(b.variant, size=65_536), [(home.chf, b.eui)], home.region, 0.0)
    w.distribute(
        bridge_image(home.b1.variant, size=512), [(home.chf, home.b1.eui)], home.region, 40.0
    )
    w.sim.run()
    _check_home(w, home)
    for b in home.remote_bridges:
        assert w.net.device(b.eui).stalls >= 1  # really was cut off mid-download
        late, early = w.net.device(b.eui).completed_at, w.net.device(home.b1.eui).completed_at
        assert late is not None and early is not None and late > early


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("home", FLEET.homes, ids=lambda h: h.kind.value)
def test_b1_power_cycles_while_remote_bridge_mid_download(home: Home, strategy: Strategy) -> None:
    remote = home.remote_bridges[0]
    cfg = NetworkConfig(strategy=strategy)
    plan = FaultPlan(device_reboots=(DeviceReboot(home.b1.eui, 70.0),))
    w = world(Fleet(0, (home,)), cfg, faults=plan)
    # the remote 64 KiB image reaches the CH at ~38 s; B1 (naive: rebooting into its new image
    # until ~58 s) power-cycles at 70 s while the remote download is under way
    w.distribute(
        bridge_image(remote.variant, size=65_536), [(home.chf, remote.eui)], home.region, 0.0
    )
    w.distribute(bridge_image(home.b1.variant), [(home.chf, home.b1.eui)], home.region, 0.0)
    for b in home.remote_bridges[1:]:
        w.distribute(bridge_image(b.variant), [(home.chf, b.eui)], home.region, 0.0)
    w.sim.run()
    _check_home(w, home)
    assert w.net.device(remote.eui).stalls >= 1
