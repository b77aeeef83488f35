"""The network side of idempotency (docs/network.md): a CSP that gets the same message twice
(same `msg_id`) does what it did once; the same content under a new `msg_id` is a new message."""

from __future__ import annotations

import hashlib

from network_support import World, bridge_image, pki, world

from althan import gbcs
from althan.csp.region import csp_address
from althan.han import Fleet, NetworkConfig, TopologyKind, enumerate_topologies
from althan.model import ACCESS_CONTROL_BROKER_EUI, EUI64
from althan.smwan import (
    CSPFirmwareDeliveryStatus,
    FirmwareDistribution,
    FirmwareTarget,
    GbcsCommand,
    GbcsResponse,
)

HOME = next(
    h for h in enumerate_topologies(seed=5).homes if h.kind is TopologyKind.GAS_REMOTE_MAINS
)


def _distribution(msg_id: str) -> FirmwareDistribution:
    b = HOME.b1
    img = bridge_image(b.variant)
    return FirmwareDistribution(
        msg_id, "d1", hashlib.sha256(img).hexdigest(), img, (FirmwareTarget(HOME.chf, b.eui),)
    )


def _ccs01(msg_id: str) -> GbcsCommand:
    k = pki()
    device = EUI64(0x00DB1800000000)
    payload = gbcs.build_ccs01_command(
        chf=HOME.chf,
        device_id=device,
        install_code=hashlib.sha256(device.to_bytes()).digest()[:16],
        counter=1000,
        ka_private=k.key_for(ACCESS_CONTROL_BROKER_EUI, "ka"),
        ka_public=k.public_key_for(HOME.chf, "ka"),
    )
    return GbcsCommand(msg_id, HOME.chf, HOME.chf, payload)


def _sent(w: World) -> list[tuple[float, str, str, bytes]]:
    """What the network sent the DSP: time, type, msg_id and bytes (an alert's ECDSA signature,
    randomised by `cryptography`, left out)."""
    out = []
    for t, m in w.dsp.got:
        raw = getattr(m, "payload", b"")
        out.append(
            (
                t,
                type(m).__name__,
                str(getattr(m, "msg_id", "")),
                raw[:-64] if raw else repr(m).encode(),
            )
        )
    return out


def _run(*posts: tuple[float, object]) -> World:
    w = world(Fleet(0, (HOME,)), NetworkConfig())
    for t, msg in posts:
        w.sim.post(csp_address(HOME.region), msg, at=t)
    w.sim.run()
    return w


def test_a_redelivered_firmware_distribution_changes_nothing() -> None:
    once = _run((0.0, _distribution("m1")))
    twice = _run((0.0, _distribution("m1")), (5.0, _distribution("m1")))
    assert len(once.dsp.of(CSPFirmwareDeliveryStatus)) == 1
    assert _sent(twice) == _sent(once)
    assert twice.net.metrics() == once.net.metrics()
    # the same content as a new message is delivered again
    again = _run((0.0, _distribution("m1")), (5.0, _distribution("m2")))
    assert len(again.dsp.of(CSPFirmwareDeliveryStatus)) == 2


def test_a_redelivered_gbcs_command_is_answered_once() -> None:
    once = _run((0.0, _ccs01("c1")))
    twice = _run((0.0, _ccs01("c1")), (5.0, _ccs01("c1")))
    [rsp] = once.dsp.of(GbcsResponse)
    assert rsp.command_msg_id == "c1"
    assert _sent(twice) == _sent(once)
    assert twice.net.hub(HOME.chf).type1_count() == once.net.hub(HOME.chf).type1_count()
    again = _run((0.0, _ccs01("c1")), (5.0, _ccs01("c2")))
    assert [r.command_msg_id for r in again.dsp.of(GbcsResponse)] == ["c1", "c2"]
