"""The scenario engine: the DSP, a supplier, AltHANCo and a fleet's network on one sim clock.

`althan demo`, `althan simulate`, the tests and the benches drive a rollout with the same
steps (`Scenario.install`, `assure`, `update_firmware`, `read_back`), each crossing the real
interfaces: the supplier sends signed DUIS to the DSP gateway; the DSP talks to the CSPs only
in SM WAN messages carrying GBCS bytes and OTA images; users receive signed DUIS responses and
alerts. Same seed, same run.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from althan.csp.network import build_network
from althan.dsp import cpl
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.dsp.service import Dsp
from althan.duis.service_requests import RequestBuilder, SignedRequest
from althan.han.config import NetworkConfig
from althan.han.topology import Bridge, Fleet, HanDevice, Home
from althan.model import (
    ALTHANCO_DEFAULT_EUI,
    EUI64,
    TEST_SUPPLIER_EUI,
    FirmwareVersion,
)
from althan.runtime.assemble import build_dsp, register_test_users
from althan.runtime.faults import FaultInjector, FaultPlan
from althan.runtime.sim import Simulator
from althan.runtime.world import EPOCH, DspNode, DuisPost, UserNode, at
from althan.smwan.addresses import DSP_ADDRESS
from althan.store import ImageStore
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image

__all__ = [
    "MAX_DEVICES_PER_11_4",
    "Model",
    "Progress",
    "Scenario",
    "Stage",
    "by_model",
    "install_code",
]


class Stage(enum.StrEnum):
    """The stages of a rollout, as the progress bars name them."""

    PRENOTIFY = "pre-notify (12.2)"
    INSTALL = "install (8.11 + join)"
    INSTALLED = "installed fleet (SMI, device logs)"
    ASSURE = "assure firmware (CPL)"
    UPDATE = "update firmware (11.4 → N39)"
    READ_BACK = "read back (11.2)"


Progress = Callable[[Stage, int, int], None]
"""(stage, done, total) -> None."""

Model = tuple[int, int]
"""(ZigBee manufacturer code, image type): what one firmware image is built for."""
MAX_DEVICES_PER_11_4 = 50_000


def by_model(bridges: Iterable[tuple[Home, Bridge]]) -> dict[Model, list[Bridge]]:
    models: dict[Model, list[Bridge]] = {}
    for _h, b in bridges:
        models.setdefault((b.manufacturer_code, b.image_type), []).append(b)
    return models


def install_code(eui: EUI64) -> bytes:
    """The 16-byte ZigBee install code printed on a device (deterministic per device here)."""
    return hashlib.sha256(b"install" + eui.to_bytes()).digest()[:16]


def _no_tick(_stage: Stage, _done: int, _total: int) -> None:
    return None


def _inventory(
    home: Home,
    device: HanDevice | Bridge,
    *,
    variant: str | None = None,
    in_device_log: bool = False,
    smets_version: str | None = None,
) -> InventoryDevice:
    return InventoryDevice(
        device.eui,
        device.device_type.value,
        f"{device.manufacturer_code:04X}",
        f"{device.image_type:04X}{device.hardware_version:04X}",
        f"{device.firmware_version:08X}",
        home.region.value,
        home.chf,
        TEST_SUPPLIER_EUI,
        variant=variant,
        hardware_version=device.hardware_version if variant else None,
        in_device_log=in_device_log,
        smets_version=smets_version,
    )


def home_inventory(homes: Iterable[Home]) -> list[InventoryDevice]:
    """What the DCC knows of each home before any Alt HAN request: its CHF and meters."""
    rows: list[InventoryDevice] = []
    for h in homes:
        rows.append(
            InventoryDevice(
                h.chf, "CHF", "106C", "433100AC", "00009001", h.region.value, h.chf, None
            )
        )
        rows.extend(_inventory(h, d) for d in (h.esme, h.gsme) if d is not None)
    return rows


def installed_bridges(bridges: Iterable[tuple[Home, Bridge]]) -> list[InventoryDevice]:
    """Bridges already installed: Commissioned PPMIDs with their variant, in the device log."""
    return [
        _inventory(h, b, variant=b.variant.value, in_device_log=True, smets_version="CHTS V1.4")
        for h, b in bridges
    ]


class Scenario:
    """The DSP, the ZAZ1 test supplier, AltHANCo and the network of `fleet`, on one sim clock."""

    def __init__(
        self,
        fleet: Fleet,
        data_dir: Path,
        *,
        seed: int,
        network: NetworkConfig | None = None,
        faults: FaultPlan | None = None,
        db_url: str | None = None,
        keep_documents: bool = True,
    ) -> None:
        self.fleet = fleet
        a = build_dsp(data_dir, db_url=db_url, seed=seed)
        self.assembly = a
        self.keys = a.keys
        self.dsp_trust = a.dsp_trust
        sup_cert, sup_key = a.zaz1[TEST_SUPPLIER_EUI]
        self.supplier = RequestBuilder(TEST_SUPPLIER_EUI, sup_key, sup_cert)
        self.update_started = 0.0
        cfg = network or NetworkConfig(preloaded_device_logs=False)
        injector = FaultInjector(faults or FaultPlan(seed=seed), fleet, cfg.han)
        self.injector = injector
        self.sim = Simulator(start=EPOCH.timestamp(), faults=injector)

        def restart() -> Dsp:  # a new DSP process on the same store (after a kill -9)
            return build_dsp(data_dir, db_url=db_url, seed=seed).dsp

        self.dsp_node = DspNode(a.dsp, restart)
        self.user = UserNode(TEST_SUPPLIER_EUI, self.dsp_trust, keep_documents=keep_documents)
        self.sim.add(self.dsp_node)
        self.sim.add(self.user)
        self.network = build_network(fleet, cfg, self.keys, self.sim)
        injector.attach(list(self.network.regions.values()))
        injector.schedule(self.sim)
        register_test_users(a, self.time())
        self.seed(home_inventory(fleet.homes))

    # -- the DSP now running (a crash in the fault plan replaces it)
    @property
    def dsp(self) -> Dsp:
        return self.dsp_node.dsp

    @property
    def engine(self) -> Engine:
        return self.dsp_node.dsp.engine

    @property
    def images(self) -> ImageStore:
        return self.dsp_node.dsp.images

    # -- the store, as the DCC's own processes fill it
    def seed(self, rows: Sequence[InventoryDevice]) -> None:
        with self.engine.begin() as conn:
            seed_inventory(conn, rows, self.time())

    # -- driving
    def send(self, req: SignedRequest) -> None:
        self.sim.post(
            DSP_ADDRESS,
            DuisPost(req.service, req.xml, self.user.address),
            sender=self.user.address,
        )

    def run(self, until: float | None = None) -> None:
        self.sim.run(until=until)

    def run_to_end(self, on_step: Callable[[], None] = lambda: None) -> None:
        """Run until nothing is left to happen, deadlines included: when the network is quiet
        with deliveries still in progress, DCC time moves to the first deadline and the DSP
        fails what is past it (nothing else could move those deliveries any more)."""
        while True:
            while self.sim.pending:
                self.sim.run(max_events=2_000)
                on_step()
            deadline = self.dsp.next_deadline()
            if deadline is None:
                return
            self.sim.call_at(DSP_ADDRESS, max(deadline.timestamp(), self.sim.now), DspNode.EXPIRE)

    def now(self) -> float:
        return self.sim.now

    def time(self) -> datetime:
        return at(self.sim.now)

    # -- the steps of a rollout
    def install(self, bridges: Sequence[tuple[Home, Bridge]], tick: Progress = _no_tick) -> None:
        """12.2 pre-notification with the variant, then 8.11 whitelisting; bridges then join."""
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
            tick(Stage.PRENOTIFY, i + 1, n)
        for i, (h, b) in enumerate(bridges):
            self.send(self.supplier.whitelist(h.chf, b.eui, install_code(b.eui)))
            tick(Stage.INSTALL, i + 1, n)
        self.run()

    def assure(
        self,
        bridges: Sequence[tuple[Home, Bridge]],
        version: int,
        payload_size: int,
        tick: Progress = _no_tick,
    ) -> dict[Model, bytes]:
        """AltHANCo builds and assures (CPL) one image per bridge model, covering its hardware."""
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
                    now=self.time(),
                )
                images[(mfr, itype)] = data
                tick(Stage.ASSURE, i + 1, len(models))
        return images

    def update_firmware(
        self,
        bridges: Sequence[tuple[Home, Bridge]],
        images: dict[Model, bytes],
        version: int,
        tick: Progress = _no_tick,
        *,
        per_region: bool = False,
    ) -> None:
        """The supplier's 11.4s (one per model, at most 50,000 devices each; with `per_region`,
        one per model and CSP region: the same deliveries, whichever regions a run holds);
        run to the end."""
        self.update_started = self.now()
        groups: dict[tuple[int, int, str], list[Bridge]] = {}
        for h, b in bridges:
            region = h.region.value if per_region else ""
            groups.setdefault((b.manufacturer_code, b.image_type, region), []).append(b)
        for key, bs in sorted(groups.items()):
            for j in range(0, len(bs), MAX_DEVICES_PER_11_4):
                self.send(
                    self.supplier.update_ppmid_firmware(
                        images[(key[0], key[1])],
                        FirmwareVersion(version),
                        [b.eui for b in bs[j : j + MAX_DEVICES_PER_11_4]],
                    )
                )
        n = len(bridges)

        def progress() -> None:
            tick(Stage.UPDATE, self.user.alert_counts.get("N39", 0), n)

        self.run_to_end(progress)
        progress()

    def read_back(self, devices: Sequence[EUI64], tick: Progress = _no_tick) -> None:
        """11.2 for every device (GBCS CS08 via the ACB); run until answered."""
        for i, eui in enumerate(devices):
            self.send(self.supplier.read_firmware_version(eui))
            tick(Stage.READ_BACK, i + 1, len(devices))
        self.run()
