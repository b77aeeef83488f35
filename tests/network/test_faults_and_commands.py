"""Faults (reboot mid-download, corrupted block), the CH device log, join, CS08, the WAN."""

from __future__ import annotations

import hashlib

from network_support import NEW_VERSION, bridge_image, pki, world

from althan import gbcs
from althan.csp.region import csp_address
from althan.han import (
    MAX_TYPE1_DEVICES,
    Fleet,
    HanTiming,
    NetworkConfig,
    RegionWan,
    Strategy,
    TopologyKind,
    enumerate_topologies,
    generate_fleet,
)
from althan.model import DCC_EUI, EUI64, FirmwareVersion, Region
from althan.runtime.fault_plan import DeviceReboot, FaultPlan, Outage
from althan.smwan import (
    DeliveryOutcome,
    FirmwareDistribution,
    FirmwareTarget,
    GbcsCommand,
    GbcsResponse,
)
from althan.zigbee.client import ClientState

FLEET = enumerate_topologies(seed=5)
GAS = next(h for h in FLEET.homes if h.kind is TopologyKind.GAS_REMOTE_MAINS)
BATTERY = next(h for h in FLEET.homes if h.kind is TopologyKind.GAS_REMOTE_BATTERY)


def test_reboot_mid_download_resumes_from_offset() -> None:
    home = BATTERY  # B4 is sleepy: 1 block per second, so a 64 KiB image takes ~1,000 s
    b4 = home.remote_bridges[0]
    cfg = NetworkConfig()
    w = world(
        Fleet(0, (home,)), cfg, faults=FaultPlan(device_reboots=(DeviceReboot(b4.eui, 500.0),))
    )
    image = bridge_image(b4.variant, size=65_536)
    w.distribute(image, [(home.chf, b4.eui)], home.region, 0.0)
    hub = w.net.hub(home.chf)
    d = w.net.han_device(b4.eui)
    w.sim.run(until=499.0)
    assert d.state is ClientState.DOWNLOADING and d.running
    w.sim.run(until=501.0)
    assert not d.up and d.stalls == 1
    offset_at_reboot = d.client.offset
    assert 0 < offset_at_reboot < len(image)
    assert offset_at_reboot % cfg.han.block_size == 0
    w.sim.run()
    assert w.net.device(b4.eui).firmware_version == NEW_VERSION
    # resumed, not restarted: blocks moved over the HAN == the image's blocks, once
    blocks = -(-len(image) // cfg.han.block_size)
    assert hub.ota_blocks == blocks
    assert [m.payload.alert_code for _, m in w.dsp.ccs08()] == [0x8F8A]


def test_reboot_mid_download_restart_would_cost_more_time() -> None:
    """The resumed download ends ~(reboot + rejoin) later than an undisturbed one, not later by
    the part already transferred (which a restart from offset 0 would add)."""
    home = BATTERY
    b4 = home.remote_bridges[0]
    image = bridge_image(b4.variant, size=65_536)
    times = []
    for reboots in ((), (DeviceReboot(b4.eui, 500.0),)):
        w = world(
            Fleet(0, (home,)),
            NetworkConfig(han=HanTiming(settle_s=0.0)),
            faults=FaultPlan(device_reboots=reboots),
        )
        w.distribute(image, [(home.chf, b4.eui)], home.region, 0.0)
        w.sim.run()
        done = w.net.device(b4.eui).completed_at
        assert done is not None
        times.append(done)
    cfg = NetworkConfig()
    extra = times[1] - times[0]
    assert 0 < extra < cfg.han.reboot_s + cfg.han.sleepy_rejoin_s + 5.0


def test_corrupted_block_is_caught_by_hash_check() -> None:
    home = GAS
    b2 = home.remote_bridges[0]
    w = world(
        Fleet(0, (home,)), NetworkConfig(), faults=FaultPlan(corrupt_devices=frozenset({b2.eui}))
    )
    w.distribute(bridge_image(b2.variant), [(home.chf, b2.eui)], home.region, 0.0)
    w.sim.run()
    view = w.net.device(b2.eui)
    assert view.firmware_version == b2.firmware_version  # not activated
    assert view.state is ClientState.IDLE and view.reachable
    assert not w.dsp.cs09()
    [(alert, msg)] = w.dsp.ccs08()
    assert alert.device == b2.eui and alert.chf == home.chf
    assert msg.payload.alert_code == 0x8F89
    assert msg.payload.response_code == gbcs.FirmwareTransferResponse.IMAGE_DISCARDED
    assert msg.payload.entity_id == b2.eui
    assert gbcs.verify_signature(msg, pki().public_key_for(home.chf, "ds"))
    assert w.net.metrics().failures == ((b2.eui, "image hash check failed (corrupted block)"),)
    # the DSP may send it again: the second transfer is clean and activates
    w.distribute(bridge_image(b2.variant), [(home.chf, b2.eui)], home.region, w.sim.now + 1)
    w.sim.run()
    assert w.net.device(b2.eui).firmware_version == NEW_VERSION


def test_random_block_corruption_rate_reports_failures() -> None:
    fleet = generate_fleet(200, seed=11)
    w = world(fleet, NetworkConfig(), faults=FaultPlan(block_corruption=0.002))
    from network_support import distribute_all

    distribute_all(w, size=4096)
    w.sim.run()
    m = w.net.metrics()
    n_bridges = sum(1 for _ in fleet.bridges())
    failed = {e for e, _ in m.failures}
    assert failed and len(failed) < n_bridges  # 64+ blocks each: roughly 1 in 8 corrupted
    assert all(r.startswith("image hash check failed") for _, r in m.failures)
    for _, b in fleet.bridges():
        v = w.net.device(b.eui)
        assert v.firmware_version == (b.firmware_version if b.eui in failed else NEW_VERSION)
    bad = [m for _, m in w.dsp.ccs08() if m.payload.alert_code == 0x8F89]
    assert {m.payload.entity_id for m in bad} == failed


def test_hardware_version_outside_image_range_is_refused() -> None:
    home = GAS
    b1 = home.b1
    other_hw = b1.hardware_version + 10
    w = world(Fleet(0, (home,)), NetworkConfig())
    img = bridge_image(b1.variant, hw=(other_hw, other_hw + 1))
    w.distribute(img, [(home.chf, b1.eui)], home.region, 0.0)
    w.sim.run()
    assert w.net.device(b1.eui).firmware_version == b1.firmware_version
    [(_, msg)] = w.dsp.ccs08()
    assert msg.payload.alert_code == 0x8F89
    assert msg.payload.response_code == gbcs.FirmwareTransferResponse.HARDWARE_VERSION_MISMATCH


def _ccs01(chf: EUI64, device: EUI64, counter: int) -> bytes:
    k = pki()
    install_code = hashlib.sha256(device.to_bytes()).digest()[:16]
    return gbcs.seal(
        gbcs.command(
            gbcs.DeviceLogAddCommand(gbcs.default_invoke_id(counter), device, install_code),
            chf,
            counter,
        ),
        ka_private=k.key_for(DCC_EUI, "ka"),
        ka_public=k.public_key_for(chf, "ka"),
    )


def test_device_log_refuses_a_seventh_type1_device() -> None:
    home = next(h for h in FLEET.homes if len(h.bridges) == 3)  # 3 bridges + PPMID = 4 Type 1
    assert len(home.type1()) == 4
    w = world(Fleet(0, (home,)), NetworkConfig())
    new = [EUI64(0x00DB1800000000 + i) for i in range(3)]
    for i, eui in enumerate(new):
        w.sim.post(
            csp_address(home.region),
            GbcsCommand(f"c{i}", home.chf, home.chf, _ccs01(home.chf, eui, 1000 + i)),
            at=float(i),
        )
    w.sim.run()
    rsps = {r.command_msg_id: gbcs.decode(r.payload) for r in w.dsp.responses()}
    assert rsps["c0"].payload.success and rsps["c1"].payload.success  # 5th and 6th
    assert not rsps["c2"].payload.success  # 7th Type 1 device: refused
    assert w.net.hub(home.chf).type1_count() == MAX_TYPE1_DEVICES
    k = pki()
    for m in rsps.values():
        assert m.use_case == "CCS01" and m.originator == home.chf
        assert gbcs.verify_mac(
            m,
            private_key=k.key_for(DCC_EUI, "ka"),
            public_key=k.public_key_for(home.chf, "ka"),
        )


def test_whitelisted_device_joins_and_is_announced() -> None:
    home = GAS
    w = world(Fleet(0, (home,)), NetworkConfig(preloaded_device_logs=False))
    b2 = home.remote_bridges[0]
    assert not w.net.device(b2.eui).joined
    # not in the device log: an image for it is refused
    w.distribute(bridge_image(b2.variant), [(home.chf, b2.eui)], home.region, 0.0)
    w.sim.post(
        csp_address(home.region),
        GbcsCommand("c1", home.chf, home.chf, _ccs01(home.chf, b2.eui, 77)),
        at=100.0,
    )
    w.sim.run()
    assert [m.payload.alert_code for _, m in w.dsp.ccs08()] == [0x8F89]
    [join] = w.dsp.joins()
    assert (join.chf, join.device) == (home.chf, b2.eui)
    assert w.net.device(b2.eui).joined
    [rsp] = w.dsp.responses()
    assert gbcs.decode(rsp.payload).payload.success


def _cs08(device: EUI64, counter: int) -> bytes:
    k = pki()
    user = EUI64.parse("90-B3-D5-1F-30-01-00-00")
    return gbcs.seal(
        gbcs.command(
            gbcs.ReadFirmwareVersionCommand(),
            device,
            counter,
            remote_party=user,
            remote_party_counter=counter,
        ),
        ka_private=k.key_for(DCC_EUI, "ka"),
        ka_public=k.public_key_for(device, "ka"),
    )


def test_cs08_reads_the_running_version_before_and_after() -> None:
    home = GAS
    b1 = home.b1
    w = world(Fleet(0, (home,)), NetworkConfig())
    region = csp_address(home.region)
    w.sim.post(region, GbcsCommand("before", home.chf, b1.eui, _cs08(b1.eui, 10)), at=0.0)
    w.distribute(bridge_image(b1.variant), [(home.chf, b1.eui)], home.region, 0.0)
    w.sim.run()
    w.sim.post(region, GbcsCommand("after", home.chf, b1.eui, _cs08(b1.eui, 11)))
    w.sim.run()
    got = {r.command_msg_id: gbcs.decode(r.payload) for r in w.dsp.responses()}
    assert got["before"].payload.firmware_version == FirmwareVersion(b1.firmware_version)
    assert got["after"].payload.firmware_version == FirmwareVersion(NEW_VERSION)
    k = pki()
    for m in got.values():
        assert m.use_case == "CS08" and m.originator == b1.eui
        assert m.supplementary_remote_party == EUI64.parse("90-B3-D5-1F-30-01-00-00")
        assert gbcs.verify_mac(
            m,
            private_key=k.key_for(DCC_EUI, "ka"),
            public_key=k.public_key_for(b1.eui, "ka"),
        )


def test_cs08_to_a_cut_off_device_is_answered_when_it_is_back() -> None:
    home = GAS
    gsme_side = home.remote_bridges[0]
    cfg = NetworkConfig()
    w = world(
        Fleet(0, (home,)), cfg, faults=FaultPlan(device_reboots=(DeviceReboot(home.b1.eui, 100.0),))
    )
    w.sim.post(
        csp_address(home.region),
        GbcsCommand("c", home.chf, gsme_side.eui, _cs08(gsme_side.eui, 5)),
        at=100.0,
    )
    w.sim.run()
    [(t, rsp)] = [(t, m) for t, m in w.dsp.got if isinstance(m, GbcsResponse)]
    assert t >= 100.0 + cfg.han.reboot_s + cfg.han.rejoin_s
    assert rsp.device == gsme_side.eui


def test_duplicate_distribution_changes_nothing() -> None:
    home = GAS
    w = world(Fleet(0, (home,)), NetworkConfig())
    img = bridge_image(home.b1.variant)
    msg = FirmwareDistribution(
        "same", "d", hashlib.sha256(img).hexdigest(), img, (FirmwareTarget(home.chf, home.b1.eui),)
    )
    w.sim.post(csp_address(home.region), msg)
    w.sim.post(csp_address(home.region), msg, at=3.0)
    w.sim.run()
    assert len(w.dsp.statuses()) == 1 and len(w.dsp.cs09()) == 1
    assert w.net.metrics().image_bytes_per_region[home.region] == len(img)


def test_duplicate_gbcs_command_is_answered_once() -> None:
    """docs/network.md: a redelivered command (same msg_id) changes nothing; the same bytes
    under a new msg_id are a new command."""
    home = GAS
    new = EUI64(0x00DB1800000000)

    def run(*msg_ids: str) -> list[str]:
        w = world(Fleet(0, (home,)), NetworkConfig())
        before = w.net.hub(home.chf).type1_count()
        cmd = _ccs01(home.chf, new, 1000)
        for i, m in enumerate(msg_ids):
            w.sim.post(
                csp_address(home.region), GbcsCommand(m, home.chf, home.chf, cmd), at=5.0 * i
            )
        w.sim.run()
        assert w.net.hub(home.chf).type1_count() == before + 1
        return [r.command_msg_id for r in w.dsp.responses()]

    assert run("c1") == run("c1", "c1") == ["c1"]
    assert run("c1", "c2") == ["c1", "c2"]


def test_bad_hash_and_unknown_chf_fail_delivery() -> None:
    home = GAS
    w = world(Fleet(0, (home,)), NetworkConfig())
    img = bridge_image(home.b1.variant)
    region = csp_address(home.region)
    w.sim.post(
        region,
        FirmwareDistribution("m1", "d1", "00" * 32, img, (FirmwareTarget(home.chf, home.b1.eui),)),
    )
    w.sim.post(
        region,
        FirmwareDistribution(
            "m2",
            "d2",
            hashlib.sha256(img).hexdigest(),
            img,
            (FirmwareTarget(EUI64(1), home.b1.eui),),
        ),
    )
    w.sim.run()
    st = {s.distribution_id: s for s in w.dsp.statuses()}
    assert st["d1"].outcome is DeliveryOutcome.FAILED and "SHA-256" in st["d1"].reason
    assert st["d2"].outcome is DeliveryOutcome.FAILED
    assert "not in this CSP region" in st["d2"].reason
    assert w.net.device(home.b1.eui).firmware_version == home.b1.firmware_version


def test_wan_failure_fails_the_delivery_with_its_reason() -> None:
    """docs/network.md: a delivery fails with a reason; the WAN itself is one of them."""
    home = GAS
    w = world(Fleet(0, (home,)), NetworkConfig(), faults=FaultPlan(wan_transfer_failure=1.0))
    img = bridge_image(home.b1.variant)
    targets = [(home.chf, b.eui) for b in home.bridges]
    w.distribute(img, targets, home.region, 0.0)
    w.sim.run()
    [st] = w.dsp.statuses()
    assert (st.outcome, st.reason) == (DeliveryOutcome.FAILED, "WAN transfer failed")
    assert (st.chf, set(st.devices)) == (home.chf, {b.eui for b in home.bridges})
    assert w.dsp.alerts() == []  # nothing reached the Comms Hub, so no CCS08 nor CS09
    for b in home.bridges:
        assert w.net.device(b.eui).firmware_version == b.firmware_version


def test_wan_capacity_latency_and_outage() -> None:
    """North (slow long-range radio) takes longer than Central; an outage delays delivery."""
    homes = tuple(h for h in generate_fleet(60, seed=2).homes)
    fleet = Fleet(2, homes)
    wan = {
        Region.NORTH: RegionWan(bytes_per_s=4_000.0, concurrent=2, latency_s=30.0),
        Region.CENTRAL: RegionWan(bytes_per_s=400_000.0, concurrent=50, latency_s=5.0),
        Region.SOUTH: RegionWan(bytes_per_s=400_000.0, concurrent=50, latency_s=5.0),
    }
    img = bridge_image(homes[0].b1.variant, size=8_000)
    results = {}
    for outage in ((), ((0.0, 3_600.0),)):
        w = world(
            fleet,
            NetworkConfig(wan=wan),
            faults=FaultPlan(outages=tuple(Outage(Region.CENTRAL, a, b) for a, b in outage)),
        )
        for r in Region:
            ts = [(h.chf, h.b1.eui) for h in fleet.by_region(r)]
            w.distribute(img, ts, r, 0.0)
        w.sim.run()
        last: dict[Region, float] = {}
        for t, m in w.dsp.got:
            if m in w.dsp.statuses():
                r = next(h.region for h in homes if h.chf == m.chf)
                last[r] = max(last.get(r, 0.0), t)
        results[bool(outage)] = last
        counters = w.net.regions[Region.NORTH].counters
        assert counters.image_bytes == len(img) * len(fleet.by_region(Region.NORTH))
    n_north = len(fleet.by_region(Region.NORTH))
    # North: 2 transfers at 2,000 B/s each → ≥ (n/2) * 4 s, plus 2 x 30 s latency
    assert results[False][Region.NORTH] >= (n_north // 2) * 4.0 + 60.0
    assert results[False][Region.NORTH] > results[False][Region.CENTRAL]
    assert results[True][Region.CENTRAL] >= 3_600.0 > results[False][Region.CENTRAL]
    assert results[True][Region.SOUTH] == results[False][Region.SOUTH]


def test_naive_strategy_activates_at_once_han_aware_holds() -> None:
    home = GAS
    out = {}
    for strategy in Strategy:
        w = world(Fleet(0, (home,)), NetworkConfig(strategy=strategy))
        for b in home.bridges:
            w.distribute(bridge_image(b.variant), [(home.chf, b.eui)], home.region, 0.0)
        w.sim.run()
        out[strategy] = w.net.metrics().homes[0]
    assert out[Strategy.HAN_AWARE].outage_windows == 1
    assert out[Strategy.NAIVE].outage_windows == 2
    assert out[Strategy.HAN_AWARE].gsme_unreachable_min < out[Strategy.NAIVE].gsme_unreachable_min


def test_malformed_inputs_change_nothing() -> None:
    """Garbage GBCS is counted and dropped; bytes that are not an OTA file fail the transfer."""
    home = GAS
    w = world(Fleet(0, (home,)), NetworkConfig())
    region = csp_address(home.region)
    w.sim.post(region, GbcsCommand("junk", home.chf, home.b1.eui, b"\xdf\x09\x01"))
    junk_image = b"not an OTA file at all" * 10
    w.sim.post(
        region,
        FirmwareDistribution(
            "m",
            "d",
            hashlib.sha256(junk_image).hexdigest(),
            junk_image,
            (FirmwareTarget(home.chf, home.b1.eui),),
        ),
    )
    w.sim.run()
    assert w.net.regions[home.region].counters.unhandled_commands == 1
    assert not w.dsp.responses()
    [(_, m)] = w.dsp.ccs08()
    assert m.payload.alert_code == 0x8F89
    [(eui, reason)] = w.net.metrics().failures
    assert eui == home.b1.eui and reason.startswith("image is not an OTA file")
    assert w.net.device(home.b1.eui).firmware_version == home.b1.firmware_version
