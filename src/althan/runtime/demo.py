"""`althan demo`: one whole Alt HAN firmware rollout, end to end, in the sim runtime.

Every step crosses the real interfaces: the supplier sends signed DUIS XML to the DSP gateway;
the DSP talks to the CSPs only in SM WAN messages carrying GBCS bytes and OTA images; users
receive signed DUIS responses and alerts. Same seed, same run.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from althan.csp.network import build_network
from althan.dsp import cpl
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.duis.namespaces import SR
from althan.duis.service_requests import RequestBuilder, SignedRequest
from althan.han.config import NetworkConfig
from althan.han.topology import Bridge, Fleet, Home, generate_fleet
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.assemble import build_dsp, register_test_users
from althan.runtime.faults import FaultInjector, FaultPlan
from althan.runtime.sim import Simulator
from althan.runtime.world import EPOCH, DspNode, DuisPost, UserNode, at
from althan.store.tables import devices
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image

Progress = Callable[[str, int, int], None]
"""(stage, done, total) -> None."""

STAGES = (
    "pre-notify (12.2)",
    "install (8.11 + join)",
    "assure firmware (CPL)",
    "update firmware (11.4)",
    "read back (11.2)",
)


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
    world: DemoWorld | None = field(default=None, repr=False, compare=False)

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


class DemoWorld:
    """The DSP, a supplier, AltHANCo and the network of a generated fleet, on one sim clock."""

    def __init__(
        self,
        fleet: Fleet,
        data_dir: Path,
        *,
        seed: int,
        network: NetworkConfig | None = None,
        faults: FaultPlan | None = None,
        db_url: str | None = None,
    ) -> None:
        self.fleet = fleet
        a = build_dsp(data_dir, db_url=db_url, seed=seed)
        self.assembly = a
        self.dsp = a.dsp
        self.engine = a.dsp.engine
        self.images = a.dsp.images
        self.keys = a.keys
        self.dsp_trust = a.dsp_trust
        sup_cert, sup_key = a.zaz1[TEST_SUPPLIER_EUI]
        self.supplier = RequestBuilder(TEST_SUPPLIER_EUI, sup_key, sup_cert)
        self.update_started = 0.0
        cfg = network or NetworkConfig(preloaded_device_logs=False)
        injector = FaultInjector(faults or FaultPlan(seed=seed), fleet, cfg.han)
        self.sim = Simulator(start=EPOCH.timestamp(), faults=injector)
        self.dsp_node = DspNode(self.dsp)
        self.user = UserNode(TEST_SUPPLIER_EUI, self.dsp_trust)
        self.sim.add(self.dsp_node)
        self.sim.add(self.user)
        self.network = build_network(fleet, cfg, self.keys, self.sim)
        injector.schedule(self.sim)
        self._bootstrap()

    def _bootstrap(self) -> None:
        t = at(0)
        rows: list[InventoryDevice] = []
        for h in self.fleet.homes:
            rows.append(
                InventoryDevice(
                    h.chf, "CHF", "106C", "433100AC", "00009001", h.region.value, h.chf, None
                )
            )
            for d in (h.esme, h.gsme):
                if d is not None:
                    rows.append(
                        InventoryDevice(
                            d.eui,
                            d.device_type.value,
                            f"{d.manufacturer_code:04X}",
                            f"{d.image_type:04X}{d.hardware_version:04X}",
                            f"{d.firmware_version:08X}",
                            h.region.value,
                            h.chf,
                            TEST_SUPPLIER_EUI,
                        )
                    )
        register_test_users(self.assembly, t)
        with self.engine.begin() as conn:
            seed_inventory(conn, rows, t)

    # -- driving
    def send(self, req: SignedRequest) -> None:
        self.sim.post(
            "dsp", DuisPost(req.service, req.xml, self.user.address), sender=self.user.address
        )

    def run(self, until: float | None = None) -> None:
        self.sim.run(until=until)

    def now(self) -> float:
        return self.sim.now

    # -- the steps of a rollout, shared by `althan demo`, `althan simulate` and the tests
    def install(
        self,
        bridges: Sequence[tuple[Home, Bridge]],
        tick: Progress | None = None,
        stages: tuple[str, str] = (STAGES[0], STAGES[1]),
    ) -> None:
        """12.2 pre-notification with the variant, then 8.11 whitelisting; bridges then join."""
        tick = tick or _no_tick
        n = len(bridges)
        for i, (_h, b) in enumerate(bridges):
            self.send(
                self.supplier.prenotify(
                    b.eui,
                    manufacturer=f"{b.manufacturer_code:04X}",
                    model=f"{b.image_type:04X}{b.hardware_version:04X}",
                    firmware=FirmwareVersion(b.firmware_version),
                    variant=b.variant,
                )
            )
            self.run()
            tick(stages[0], i + 1, n)
        for i, (h, b) in enumerate(bridges):
            self.send(self.supplier.whitelist(h.chf, b.eui, install_code(b.eui)))
            tick(stages[1], i + 1, n)
        self.run()

    def assure(
        self,
        bridges: Sequence[tuple[Home, Bridge]],
        version: int,
        payload_size: int,
        tick: Progress | None = None,
        stage: str = STAGES[2],
    ) -> dict[Model, bytes]:
        """AltHANCo builds and assures (CPL) one image per bridge model, covering its hardware."""
        tick = tick or _no_tick
        models = by_model(bridges)
        images: dict[Model, bytes] = {}
        with self.engine.begin() as conn:
            for i, ((mfr, itype), bs) in enumerate(sorted(models.items())):
                hws = [b.hardware_version for b in bs]
                data = build_test_image(
                    mfr, itype, version, min_hw=min(hws), max_hw=max(hws), payload_size=payload_size
                )
                cpl.add_entry(
                    conn,
                    by=ALTHANCO_DEFAULT_EUI,
                    manufacturer=f"{mfr:04X}",
                    model=f"{itype:04X}",
                    hw_min=min(hws),
                    hw_max=max(hws),
                    firmware_version=f"{version:08X}",
                    image_sha256=self.images.put(data),
                    image_hash=parse_ota(data).image_hash,
                    now=at(self.now()),
                )
                images[(mfr, itype)] = data
                tick(stage, i + 1, len(models))
        return images

    def update_firmware(
        self,
        bridges: Sequence[tuple[Home, Bridge]],
        images: dict[Model, bytes],
        version: int,
        tick: Progress | None = None,
        stage: str = STAGES[3],
    ) -> None:
        """The supplier's 11.4s (one per model, at most 50,000 devices each); run to the end."""
        tick = tick or _no_tick
        self.update_started = self.now()
        for key, bs in sorted(by_model(bridges).items()):
            for j in range(0, len(bs), MAX_DEVICES_PER_11_4):
                self.send(
                    self.supplier.update_ppmid_firmware(
                        images[key],
                        FirmwareVersion(version),
                        [b.eui for b in bs[j : j + MAX_DEVICES_PER_11_4]],
                    )
                )
        n = len(bridges)
        while self.sim.pending:
            self.sim.run(max_events=2_000)
            tick(stage, self.user.alert_counts.get("N39", 0), n)
        tick(stage, self.user.alert_counts.get("N39", 0), n)


Model = tuple[int, int]
"""(ZigBee manufacturer code, image type): what one firmware image is built for."""
MAX_DEVICES_PER_11_4 = 50_000


def by_model(bridges: Sequence[tuple[Home, Bridge]]) -> dict[Model, list[Bridge]]:
    models: dict[Model, list[Bridge]] = {}
    for _h, b in bridges:
        models.setdefault((b.manufacturer_code, b.image_type), []).append(b)
    return models


def _no_tick(_stage: str, _done: int, _total: int) -> None:
    return None


def run_demo(
    homes: int = 300,
    seed: int = 7,
    data_dir: Path | None = None,
    progress: Progress | None = None,
    new_version: int = 0x00020000,
    db_url: str | None = None,
) -> DemoResult:
    import tempfile

    wall0 = time.perf_counter()
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="althan-demo-"))
    fleet = generate_fleet(homes, seed)
    w = DemoWorld(fleet, data_dir, seed=seed, db_url=db_url)
    bridges = list(fleet.bridges())
    n = len(bridges)
    tick = progress or (lambda _s, _d, _t: None)

    # 1-2. pre-notification (12.2 with the variant) and install (8.11, join, commissioning)
    w.install(bridges, tick)
    # 3. AltHANCo assures one image per bridge model
    images = w.assure(bridges, new_version, 32 * 1024, tick)
    # 4. 11.4 per model; the sim runs until every bridge has activated (N39) or failed
    commissioned = _count(w, "Commissioned")
    w.update_firmware(bridges, images, new_version, tick)
    # 5. read back every bridge's version with 11.2 (GBCS CS08 via the ACB)
    for i, (_h, b) in enumerate(bridges):
        w.send(w.supplier.read_firmware_version(b.eui))
        tick(STAGES[4], i + 1, n)
    w.run()

    return _result(w, fleet, bridges, commissioned, new_version, time.perf_counter() - wall0)


def install_code(eui: EUI64) -> bytes:
    """The 16-byte ZigBee install code printed on a device (deterministic per device here)."""
    return hashlib.sha256(b"install" + eui.to_bytes()).digest()[:16]


def _count(w: DemoWorld, status: str) -> int:
    from sqlalchemy import func

    with w.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(devices)
                .where(devices.c.status == status, devices.c.variant.is_not(None))
            ).scalar_one()
        )


def _result(
    w: DemoWorld, fleet: Fleet, bridges: list[Any], commissioned: int, new_version: int, wall: float
) -> DemoResult:
    want = f"{new_version:08X}"
    by_variant: Counter[str] = Counter(b.variant.value for _h, b in bridges)
    region_of = {b.eui: h.region.value for h, b in bridges}
    with w.engine.connect() as conn:
        rows = conn.execute(
            select(
                devices.c.eui,
                devices.c.variant,
                devices.c.firmware_version,
                devices.c.region,
                devices.c.status,
            ).where(devices.c.variant.is_not(None))
        ).all()
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
    sr = SR
    readback = [
        d
        for d in w.user.deliveries
        if d.alert_code is None
        and d.response_code == "I0"
        and d.root.findtext(f".//{sr}ServiceReferenceVariant") == "11.2"
        and d.root.find(f".//{sr}GBCSPayload") is not None
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
