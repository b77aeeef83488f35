"""Compare the naive and han-aware OTA strategies on one seeded fleet (requirement 10).

    .venv/bin/python bench/bench_strategies.py [homes] [image_bytes] [seed]

Drives the simulated network only through smwan messages (one FirmwareDistribution per bridge
variant and region), then prints the per-home disruption figures and the wall time.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Sequence

from althan.csp import build_network, csp_address
from althan.han import BRIDGE_MODELS, NetworkConfig, Strategy, generate_fleet
from althan.model import AltHANVariant, Region
from althan.runtime.sim import Simulator
from althan.smki.device_pki import DevicePki
from althan.smwan import FirmwareDistribution, FirmwareTarget
from althan.smwan.effects import Effect
from althan.zigbee.testimage import build_test_image


class _Sink:
    address = "dsp"

    def __init__(self) -> None:
        self.count = 0

    def on_message(self, msg: object, now: float) -> Sequence[Effect]:
        self.count += 1
        return []

    def on_timer(self, token: object, now: float) -> Sequence[Effect]:
        return []


def run(homes: int, size: int, seed: int, strategy: Strategy) -> dict[str, float]:
    fleet = generate_fleet(homes, seed)
    sim = Simulator()
    sink = _Sink()
    sim.add(sink)
    net = build_network(fleet, NetworkConfig(strategy=strategy), DevicePki.generate(seed), sim)
    n = 0
    for v in AltHANVariant:
        m = BRIDGE_MODELS[v]
        img = build_test_image(
            m.manufacturer_code,
            m.image_type,
            0x01000200,
            min_hw=min(m.hardware_versions),
            max_hw=max(m.hardware_versions),
            payload_size=size,
        )
        per: dict[Region, list[FirmwareTarget]] = {}
        for h, b in fleet.bridges():
            if b.variant is v:
                per.setdefault(h.region, []).append(FirmwareTarget(h.chf, b.eui))
        for r, ts in per.items():
            n += 1
            sim.post(
                csp_address(r),
                FirmwareDistribution(
                    f"m{n}", f"d{n}", hashlib.sha256(img).hexdigest(), img, tuple(ts)
                ),
            )
    t0 = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - t0
    out = net.metrics().summary()
    out["wall_s"] = wall
    out["dsp_messages"] = float(sink.count)
    return out


def main() -> None:
    homes = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 16_384
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 2024
    keys = (
        "median_disruption_min",
        "p95_disruption_min",
        "mean_disruption_min",
        "median_lost_messages",
        "p95_lost_messages",
        "mean_outage_windows",
        "devices_completed",
        "makespan_s",
        "failures",
        "wall_s",
    )
    print(f"{homes} homes, {size}-byte payload, seed {seed}")
    for s in Strategy:
        r = run(homes, size, seed, s)
        print(f"{s.value:10s} " + "  ".join(f"{k}={r[k]:.2f}" for k in keys))


if __name__ == "__main__":
    main()
