"""`althan demo`: one whole Alt HAN firmware rollout, end to end, in the sim runtime.

Every step crosses the real interfaces: the supplier sends signed DUIS XML to the DSP gateway;
the DSP talks to the CSPs only in SM WAN messages carrying GBCS bytes and OTA images; users
receive signed DUIS responses and alerts. Same seed, same run.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from althan.dsp import smi
from althan.duis.namespaces import SR
from althan.han.topology import Bridge, Fleet, Home, generate_fleet
from althan.model import DeviceStatus
from althan.runtime.scenario import Progress, Scenario, Stage
from althan.runtime.world import EPOCH

STAGES = (Stage.PRENOTIFY, Stage.INSTALL, Stage.ASSURE, Stage.UPDATE, Stage.READ_BACK)


@dataclass
class DemoResult:
    homes: int
    devices: int
    by_variant: dict[str, int]
    commissioned: int
    updated: int
    failed: int
    n39_alerts: int
    virtual_seconds: float
    wall_seconds: float
    by_region_variant: dict[str, dict[str, int]] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    completion: list[tuple[float, str]] = field(default_factory=list)
    readback_ok: int = 0
    bad_signatures: int = 0
    responses: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    world: Scenario | None = field(default=None, repr=False, compare=False)

    def summary(self) -> dict[str, Any]:
        return {
            "homes": self.homes,
            "devices": self.devices,
            "by_variant": self.by_variant,
            "commissioned": self.commissioned,
            "updated": self.updated,
            "failed": self.failed,
            "n39_alerts": self.n39_alerts,
            "readback_ok": self.readback_ok,
            "alerts": self.alerts,
            "virtual_seconds": round(self.virtual_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
        }


def run_demo(
    homes: int = 300,
    seed: int = 7,
    data_dir: Path | None = None,
    progress: Progress | None = None,
    new_version: int = 0x00020000,
    db_url: str | None = None,
) -> DemoResult:
    wall0 = time.perf_counter()
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="althan-demo-"))
    fleet = generate_fleet(homes, seed)
    w = Scenario(fleet, data_dir, seed=seed, db_url=db_url)
    bridges = list(fleet.bridges())
    tick: Progress = progress or (lambda _s, _d, _t: None)

    # 1-2. pre-notification (12.2 with the variant) and install (8.11, join, commissioning)
    w.install(bridges, tick)
    # 3. AltHANCo assures one image per bridge model
    images = w.assure(bridges, new_version, 32 * 1024, tick)
    # 4. 11.4 per model; the sim runs until every bridge has activated (N39) or failed
    with w.engine.connect() as conn:
        commissioned = smi.count_althan(conn, status=DeviceStatus.COMMISSIONED.value)
    w.update_firmware(bridges, images, new_version, tick)
    # 5. read back every bridge's version with 11.2 (GBCS CS08 via the ACB)
    w.read_back([b.eui for _h, b in bridges], tick)
    return _result(w, fleet, bridges, commissioned, new_version, time.perf_counter() - wall0)


def _result(
    w: Scenario,
    fleet: Fleet,
    bridges: list[tuple[Home, Bridge]],
    commissioned: int,
    new_version: int,
    wall: float,
) -> DemoResult:
    want = f"{new_version:08X}"
    by_variant: Counter[str] = Counter(b.variant.value for _h, b in bridges)
    region_of = {b.eui: h.region.value for h, b in bridges}
    with w.engine.connect() as conn:
        rows = smi.althan_devices(conn)
    updated = sum(1 for r in rows if r.firmware_version == want)
    table: dict[str, dict[str, int]] = {}
    versions: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        region = r.region or region_of.get(r.eui, "Unknown")
        versions[(r.variant, region, r.firmware_version or "")] += 1
        if r.firmware_version == want:
            table.setdefault(region, {}).setdefault(r.variant, 0)
            table[region][r.variant] += 1
    n39 = w.user.alerts("N39")
    region_of_text = {str(k): v for k, v in region_of.items()}
    t0 = w.update_started - EPOCH.timestamp()
    readback = [
        d
        for d in w.user.deliveries
        if d.alert_code is None
        and d.response_code == "I0"
        and d.root.findtext(f".//{SR}ServiceReferenceVariant") == "11.2"
        and d.root.find(f".//{SR}GBCSPayload") is not None
    ]
    responses: Counter[str] = Counter(r.response_code for r in w.user.replies)
    return DemoResult(
        homes=len(fleet.homes),
        devices=len(bridges),
        by_variant={v: by_variant.get(v, 0) for v in ("B1", "B2", "B3", "B4")},
        commissioned=commissioned,
        updated=updated,
        failed=len(bridges) - updated,
        n39_alerts=len(n39),
        virtual_seconds=w.sim.now - EPOCH.timestamp(),
        wall_seconds=wall,
        by_region_variant={k: dict(v) for k, v in sorted(table.items())},
        versions=[
            {"variant": k[0], "region": k[1], "firmware_version": k[2], "devices": c}
            for k, c in sorted(versions.items())
        ],
        readback_ok=len(readback),
        bad_signatures=w.user.bad_signatures,
        responses=dict(sorted(responses.items())),
        alerts=dict(sorted(w.user.alert_counts.items())),
        completion=[
            (t - EPOCH.timestamp() - t0, region_of_text.get(d.device or "", "?"))
            for t, d in zip(w.user.times, w.user.deliveries, strict=True)
            if d.alert_code == "N39"
        ],
        world=w,
    )
