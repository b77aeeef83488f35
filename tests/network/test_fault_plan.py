"""The fault plan: data the sim runtime applies from its seed (components draw nothing)."""

from __future__ import annotations

import pytest
from network_support import NEW_VERSION, bridge_image, distribute_all, world

from althan.han import Fleet, NetworkConfig, TopologyKind, enumerate_topologies, generate_fleet
from althan.model import EUI64, Region
from althan.runtime.fault_plan import (
    DeviceReboot,
    FaultPlan,
    FaultPlanError,
    LinkLoss,
    Outage,
)
from althan.smwan import DeliveryOutcome

FLEET = enumerate_topologies(seed=5)
GAS = next(h for h in FLEET.homes if h.kind is TopologyKind.GAS_REMOTE_MAINS)


def test_wan_transfer_failure_is_reported_and_nothing_is_left_waiting() -> None:
    home = GAS
    w = world(Fleet(0, (home,)), NetworkConfig(), faults=FaultPlan(wan_transfer_failure=1.0))
    for b in home.bridges:
        w.distribute(bridge_image(b.variant), [(home.chf, b.eui)], home.region, 0.0)
    w.sim.run()
    statuses = w.dsp.statuses()
    assert len(statuses) == len(home.bridges)
    assert all(s.outcome is DeliveryOutcome.FAILED for s in statuses)
    assert {s.reason for s in statuses} == {"WAN transfer failed"}
    assert not w.dsp.ccs08() and not w.dsp.cs09()
    hub = w.net.hub(home.chf)
    assert hub.incoming == 0 and not hub.jobs.pending
    # the WAN carried the bytes all the same
    assert w.net.regions[home.region].counters.deliveries == len(home.bridges)
    # the DSP may send again over a healthy WAN (another run, same home)
    w2 = world(Fleet(0, (home,)), NetworkConfig())
    w2.distribute(bridge_image(home.b1.variant), [(home.chf, home.b1.eui)], home.region, 0.0)
    w2.sim.run()
    assert w2.net.device(home.b1.eui).firmware_version == NEW_VERSION


def _corruption_run(seed: int) -> frozenset[EUI64]:
    fleet = generate_fleet(60, seed=11)
    w = world(fleet, NetworkConfig(), faults=FaultPlan(seed=seed, block_corruption=0.004))
    distribute_all(w, size=4096)
    w.sim.run()
    return frozenset(e for e, _ in w.net.metrics().failures)


def test_same_plan_and_seed_same_faults_other_seed_others() -> None:
    a, b = _corruption_run(1), _corruption_run(1)
    assert a and a == b
    assert _corruption_run(2) != a


def test_link_loss_drops_messages_on_that_link_only() -> None:
    home = GAS
    plan = FaultPlan(link_loss=(LinkLoss("csp:", "dsp", 1.0),))
    w = world(Fleet(0, (home,)), NetworkConfig(), faults=plan)
    w.distribute(bridge_image(home.b1.variant), [(home.chf, home.b1.eui)], home.region, 0.0)
    w.sim.run()
    assert not w.dsp.got and w.sim.dropped > 0
    # the network itself went on: the device activated, only its reports were lost
    assert w.net.device(home.b1.eui).firmware_version == NEW_VERSION


def test_plan_json_form_round_trips_and_refuses_what_it_does_not_know() -> None:
    plan = FaultPlan(
        seed=9,
        device_reboots=(DeviceReboot(GAS.b1.eui, 70.0),),
        corrupt_devices=frozenset({GAS.remote_bridges[0].eui}),
        block_corruption=0.001,
        wan_transfer_failure=0.05,
        outages=(Outage(Region.NORTH, 0.0, 3_600.0),),
        link_loss=(LinkLoss("dsp", "user:", 0.01),),
    )
    assert FaultPlan.from_json(plan.to_json()) == plan
    assert FaultPlan.from_json("{}") == FaultPlan()
    with pytest.raises(FaultPlanError, match="unknown fault plan keys: loss"):
        FaultPlan.from_json({"loss": 0.1})
    with pytest.raises(FaultPlanError, match="probability"):
        FaultPlan(block_corruption=1.5)
    with pytest.raises(FaultPlanError, match="not a fault plan"):
        FaultPlan.from_json({"outages": [{"region": "Nowhere", "start": 0, "end": 1}]})
    with pytest.raises(FaultPlanError, match="not in the fleet"):
        world(
            Fleet(0, (GAS,)),
            NetworkConfig(),
            faults=FaultPlan(device_reboots=(DeviceReboot(EUI64(1), 1.0),)),
        )
