"""Test driver for the simulated network: a DSP double and helpers that post smwan messages."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from althan import gbcs
from althan.csp import Network, build_network, csp_address
from althan.han import BRIDGE_MODELS, Fleet, Home, NetworkConfig
from althan.model import EUI64, AltHANVariant, Region
from althan.runtime.faults import FaultInjector, FaultPlan
from althan.runtime.sim import Simulator
from althan.smki.device_pki import DevicePki
from althan.smwan import (
    CSPFirmwareDeliveryStatus,
    FirmwareDistribution,
    FirmwareTarget,
    GbcsAlert,
    GbcsResponse,
    HanJoinNotice,
)
from althan.smwan.effects import Effect
from althan.zigbee.testimage import build_test_image

NEW_VERSION = 0x01000200

_PKI: dict[int, DevicePki] = {}


def pki(seed: int = 7) -> DevicePki:
    if seed not in _PKI:
        _PKI[seed] = DevicePki.generate(seed)
    return _PKI[seed]


@dataclass
class DspDouble:
    """Records everything the network sends to ``dsp`` (test-only)."""

    got: list[tuple[float, object]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return "dsp"

    def on_message(self, msg: object, now: float) -> Sequence[Effect]:
        self.got.append((now, msg))
        return []

    def on_timer(self, token: object, now: float) -> Sequence[Effect]:
        return []

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [m for _, m in self.got if isinstance(m, kind)]

    def alerts(self) -> list[tuple[GbcsAlert, gbcs.GbcsMessage]]:
        return [(a, gbcs.decode(a.payload)) for a in self.of(GbcsAlert)]

    def cs09(self) -> list[tuple[GbcsAlert, gbcs.GbcsMessage]]:
        return [(a, m) for a, m in self.alerts() if m.use_case == "CS09"]

    def ccs08(self) -> list[tuple[GbcsAlert, gbcs.GbcsMessage]]:
        return [(a, m) for a, m in self.alerts() if m.use_case == "CCS08"]

    def statuses(self) -> list[CSPFirmwareDeliveryStatus]:
        return self.of(CSPFirmwareDeliveryStatus)

    def responses(self) -> list[GbcsResponse]:
        return self.of(GbcsResponse)

    def joins(self) -> list[HanJoinNotice]:
        return self.of(HanJoinNotice)


@dataclass
class World:
    sim: Simulator
    dsp: DspDouble
    net: Network
    fleet: Fleet
    seq: int = 0

    def distribute(
        self, image: bytes, targets: Iterable[tuple[EUI64, EUI64]], region: Region, at: float
    ) -> str:
        self.seq += 1
        dist = f"dist-{self.seq}"
        self.sim.post(
            csp_address(region),
            FirmwareDistribution(
                f"msg-{self.seq}",
                dist,
                hashlib.sha256(image).hexdigest(),
                image,
                tuple(FirmwareTarget(c, d) for c, d in targets),
            ),
            at=at,
        )
        return dist


def world(
    fleet: Fleet, config: NetworkConfig, seed: int = 7, faults: FaultPlan | None = None
) -> World:
    """The network of `fleet`, a DSP double, and the runtime applying the fault plan."""
    injector = FaultInjector(faults or FaultPlan(), fleet, config.han)
    sim = Simulator(faults=injector)
    dsp = DspDouble()
    sim.add(dsp)
    net = build_network(fleet, config, pki(seed), sim)
    injector.attach(list(net.regions.values()))
    injector.schedule(sim)
    return World(sim, dsp, net, fleet)


def bridge_image(
    variant: AltHANVariant,
    *,
    version: int = NEW_VERSION,
    size: int = 4096,
    hw: tuple[int, int] | None = None,
) -> bytes:
    m = BRIDGE_MODELS[variant]
    lo, hi = hw if hw is not None else (min(m.hardware_versions), max(m.hardware_versions))
    return build_test_image(
        m.manufacturer_code, m.image_type, version, min_hw=lo, max_hw=hi, payload_size=size
    )


def distribute_all(w: World, *, size: int = 4096, at: float = 0.0) -> None:
    """One distribution per (variant, region) covering every bridge of that variant."""
    for v in AltHANVariant:
        img = bridge_image(v, size=size)
        per: dict[Region, list[tuple[EUI64, EUI64]]] = {}
        for h, b in w.fleet.bridges():
            if b.variant is v:
                per.setdefault(h.region, []).append((h.chf, b.eui))
        for r, ts in sorted(per.items()):
            w.distribute(img, ts, r, at)


def home_devices_reachable(w: World, home: Home) -> bool:
    return all(w.net.device(d.eui).reachable for d in home.devices())
