"""The fault plan's link faults, CHs offline and rollout faults, applied by the runtime (the
components draw nothing): every message arrives at least once, maybe late, twice or out of
order; what waits for a CH offline moves when it is back; the same seed, the same run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from network_support import bridge_image, world

from althan.csp.events import ChOffline, ChOnline
from althan.csp.region import csp_address
from althan.han import NetworkConfig, TopologyKind, enumerate_topologies
from althan.han.config import HanTiming
from althan.han.topology import Fleet
from althan.runtime.fault_plan import NAMED_PLANS, FaultPlan, FaultPlanError, LinkFault
from althan.runtime.faults import FAULT_SENDER, FaultInjector
from althan.runtime.sim import Simulator
from althan.smwan import CSPFirmwareDeliveryStatus, Effect, Send

FLEET = enumerate_topologies(seed=5)
GAS = next(h for h in FLEET.homes if h.kind is TopologyKind.GAS_REMOTE_MAINS)


@dataclass
class Talker:
    """Sends `n` numbered messages to ``listener`` when poked."""

    n: int
    address: str = "talker"

    def on_message(self, msg: object, now: float) -> Sequence[Effect]:
        return [Send("listener", i) for i in range(self.n)]

    def on_timer(self, token: object, now: float) -> Sequence[Effect]:
        return []


@dataclass
class Listener:
    address: str = "listener"
    got: list[tuple[float, Any]] = field(default_factory=list)

    def on_message(self, msg: object, now: float) -> Sequence[Effect]:
        self.got.append((now, msg))
        return []

    def on_timer(self, token: object, now: float) -> Sequence[Effect]:
        return []


def _talk(plan: FaultPlan, n: int = 200) -> list[tuple[float, Any]]:
    sim = Simulator(faults=FaultInjector(plan, Fleet(0, ()), HanTiming()))
    listener = Listener()
    sim.add(Talker(n))
    sim.add(listener)
    sim.post("talker", "go", sender=FAULT_SENDER)
    sim.run()
    return listener.got


def test_no_link_faults_one_copy_each_in_order_on_time() -> None:
    got = _talk(FaultPlan(links=(LinkFault("elsewhere", "listener", loss=0.5),)))
    assert got == [(0.0, i) for i in range(200)]


def test_loss_is_resent_by_the_transport_after_retry_s() -> None:
    got = _talk(FaultPlan(seed=3, retry_s=30.0, links=(LinkFault("talk", "listen", loss=0.3),)))
    assert sorted(m for _t, m in got) == list(range(200))  # each exactly once
    late = [t for t, _m in got if t > 0]
    assert late and all(t % 30.0 == 0 for t in late)
    assert 200 * 0.3 * 0.5 < len(late) < 200 * 0.3 * 1.5


def test_duplicates_reordering_and_spikes() -> None:
    got = _talk(FaultPlan(seed=4, links=(LinkFault("", "", duplicate=1.0),)))
    assert sorted(m for _t, m in got) == sorted([*range(200), *range(200)])
    got = _talk(FaultPlan(seed=4, links=(LinkFault("", "", reorder_s=10.0),)))
    msgs = [m for _t, m in got]
    assert sorted(msgs) == list(range(200)) and msgs != list(range(200))
    got = _talk(FaultPlan(seed=4, links=(LinkFault("", "", spike=0.5, spike_s=600.0),)))
    spiked = [m for t, m in got if t == 600.0]
    assert 60 < len(spiked) < 140 and len(got) == 200


def test_same_seed_same_link_faults() -> None:
    plan = FaultPlan(links=(LinkFault("", "", 0.2, 0.2, 5.0, 0.1, 60.0),))
    assert _talk(plan.with_seed(9)) == _talk(plan.with_seed(9))
    assert _talk(plan.with_seed(9)) != _talk(plan.with_seed(10))


def test_a_ch_offline_holds_its_image_and_what_it_says_until_it_is_back() -> None:
    home = GAS
    img = bridge_image(home.b1.variant)
    region = csp_address(home.region)

    def run(offline: bool) -> tuple[float, float]:
        w = world(Fleet(0, (home,)), NetworkConfig())
        if offline:
            w.sim.post(region, ChOffline(home.chf), at=0.0, sender=FAULT_SENDER)
            w.sim.post(region, ChOnline(home.chf), at=50_000.0, sender=FAULT_SENDER)
        w.distribute(img, [(home.chf, home.b1.eui)], home.region, 1.0)
        w.sim.run()
        (status_at,) = [t for t, m in w.dsp.got if isinstance(m, CSPFirmwareDeliveryStatus)]
        (cs09,) = w.dsp.cs09()
        assert w.net.device(home.b1.eui).firmware_version != home.b1.firmware_version
        cs09_at = next(t for t, m in w.dsp.got if m is cs09[0])
        return status_at, cs09_at

    on_time = run(False)
    held = run(True)
    assert on_time[1] < 50_000.0
    assert held[0] >= 50_000.0 and held[1] > held[0]


def test_links_inside_a_csp_region_are_faulted_too() -> None:
    """csp → ch (a command crossing the WAN) and ch → device (the last block exchange):
    duplicated, the device still activates once and each command is answered."""
    home = GAS
    plan = FaultPlan(links=(LinkFault("ch:", "device:", duplicate=1.0, spike=1.0, spike_s=100.0),))
    img = bridge_image(home.b1.variant)
    w = world(Fleet(0, (home,)), NetworkConfig(), faults=plan)
    w.distribute(img, [(home.chf, home.b1.eui)], home.region, 1.0)
    w.sim.run()
    assert len(w.dsp.cs09()) == 1
    assert w.net.han_device(home.b1.eui).activations == [w.net.device(home.b1.eui).firmware_version]


def test_rollout_faults_are_drawn_from_the_seed() -> None:
    plan = FaultPlan(
        seed=2, region_outages=2, ch_offline=1.0, reboot_during_download=1.0, window_s=600.0
    )
    home = GAS
    img = bridge_image(home.b1.variant)

    def run() -> tuple[list[tuple[float, str]], int]:
        w = world(Fleet(0, (home,)), NetworkConfig(), faults=plan)
        w.distribute(img, [(home.chf, home.b1.eui)], home.region, 1.0)
        w.sim.run()
        inj = w.sim._faults
        assert isinstance(inj, FaultInjector)
        assert (inj.counts.outages, inj.counts.ch_offline, inj.counts.reboots) == (6, 1, 1)
        assert len(w.dsp.cs09()) == 1
        got = [(t, getattr(m, "msg_id", "")) for t, m in w.dsp.got]  # signatures differ
        return got, w.net.device(home.b1.eui).firmware_version

    assert run() == run()


def test_named_plans_and_json_round_trip() -> None:
    for plan in NAMED_PLANS.values():
        assert FaultPlan.from_json(json.dumps(plan.to_json())) == plan
    assert set(NAMED_PLANS) >= {"none", "default", "harsh", "crash"}
    with pytest.raises(FaultPlanError, match="loss must be below 1"):
        FaultPlan(links=(LinkFault("", "", loss=1.0),))
    with pytest.raises(FaultPlanError, match="window_s must be >= 0"):
        FaultPlan(window_s=-1)
