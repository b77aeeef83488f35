"""The test inventory a served DCC starts with, as DCC Boxed has one: what a client can use at once.

* the devices the DCC's RTDS request templates address (`TEMPLATE_DEVICES`: the ESME, GSME,
  Comms Hub, GPF, PPMID, HCALCS and SAPC of ``00-DB-12-34-56-78-90-A0`` … ``A6``), commissioned,
  the ZAZ1 test supplier responsible; the CHF, meters and PPMID live in one home of the
  network (`template_home`), with two Alt HAN bridges of their own;
* generated Alt HAN homes (`althan.han.topology.generate_fleet`): their bridges B1–B4 installed
  and commissioned, AltHANCo's firmware for every bridge model assured in the CPL;
* in every fifth generated home, bridges physically present but not yet pre-notified
  (`ServedFleet.spare`): a supplier can do 12.2 → 8.11 → join → commissioning itself;
* a Comms Hub installed but not yet commissioned (`UNCOMMISSIONED_CHF`, in no home of the
  network), for the refusals that depend on it.

The fleet is derived from (size, seed) alone, written once into the data directory
(``network.json``) so that a restart, and `althan devices spare`, rebuild the same homes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from althan.dsp import cpl, smi
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.han.config import Installed
from althan.han.topology import (
    BRIDGE_MODELS,
    DEVICE_MODELS,
    Bridge,
    Fleet,
    HanDevice,
    Home,
    TopologyKind,
    generate_fleet,
)
from althan.model import (
    ALTHANCO_DEFAULT_EUI,
    EUI64,
    TEST_SUPPLIER_EUI,
    AltHANVariant,
    DeviceStatus,
    DeviceType,
    Region,
)
from althan.runtime.scenario import by_model, home_inventory, installed_bridges
from althan.store import ImageStore
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image

__all__ = [
    "ASSURED_VERSION",
    "TEMPLATE_DEVICES",
    "UNCOMMISSIONED_CHF",
    "FleetSpec",
    "ServedFleet",
    "seed_store",
    "served_fleet",
]


def _template(n: int) -> EUI64:
    return EUI64.parse(f"00-DB-12-34-56-78-90-A{n}")


TEMPLATE_DEVICES: tuple[tuple[EUI64, DeviceType], ...] = (
    (_template(0), DeviceType.ESME),
    (_template(1), DeviceType.GSME),
    (_template(2), DeviceType.CHF),
    (_template(3), DeviceType.GPF),
    (_template(4), DeviceType.PPMID),
    (_template(5), DeviceType.HCALCS),
    (_template(6), DeviceType.SAPC),
)
"""The devices the RTDS templates address (RequestID targets and body DeviceIDs), by type."""

UNCOMMISSIONED_CHF = EUI64.parse("00-DB-12-34-56-78-90-C9")
"""A Comms Hub the DCC knows as InstalledNotCommissioned (no home: it never answers)."""

ASSURED_VERSION = 0x01000100
"""The firmware AltHANCo has assured for every bridge model of a served fleet."""
SPARE_EVERY = 5
NETWORK_FILE = "network.json"


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """What a served fleet is made from (kept in the data directory)."""

    homes: int
    seed: int

    def save(self, data_dir: Path) -> None:
        (data_dir / NETWORK_FILE).write_text(json.dumps({"homes": self.homes, "seed": self.seed}))

    @classmethod
    def load(cls, data_dir: Path) -> FleetSpec | None:
        p = data_dir / NETWORK_FILE
        if not p.is_file():
            return None
        d = json.loads(p.read_text())
        return cls(int(d["homes"]), int(d["seed"]))


@dataclass(frozen=True)
class ServedFleet:
    fleet: Fleet
    """The generated homes, then the template home."""
    template_home: Home
    spare: frozenset[EUI64]
    """Bridges physically present, not pre-notified (not in the SMI, not in the device log)."""

    def bridges(self) -> list[tuple[Home, Bridge]]:
        return list(self.fleet.bridges())

    def spare_bridges(self) -> list[tuple[Home, Bridge]]:
        return [(h, b) for h, b in self.fleet.bridges() if b.eui in self.spare]

    def installed(self) -> list[tuple[Home, Bridge]]:
        return [(h, b) for h, b in self.fleet.bridges() if b.eui not in self.spare]


def _device(eui: EUI64, dt: DeviceType, rng: random.Random) -> HanDevice:
    m = DEVICE_MODELS[dt]
    return HanDevice(eui, dt, m.manufacturer_code, m.image_type, m.hardware_versions[0],
                     m.initial_firmware)  # fmt: skip


def template_home(home_id: int, seed: int) -> Home:
    """The home of the template devices: CHF A2, ESME A0, GSME A1 (behind a B2), PPMID A4."""
    rng = random.Random(f"althan-template-home:{seed}")
    bridges = tuple(
        Bridge(
            EUI64.parse(f"00-DB-12-34-56-78-90-B{i}"),
            v,
            BRIDGE_MODELS[v].manufacturer_code,
            BRIDGE_MODELS[v].image_type,
            BRIDGE_MODELS[v].hardware_versions[0],
            BRIDGE_MODELS[v].initial_firmware,
        )
        for i, v in enumerate((AltHANVariant.B1, *TopologyKind.GAS_REMOTE_MAINS.remote_variants))
    )
    return Home(
        id=home_id,
        region=Region.CENTRAL,
        chf=_template(2),
        esme=_device(_template(0), DeviceType.ESME, rng),
        gsme=_device(_template(1), DeviceType.GSME, rng),
        ihd=_device(EUI64.parse("00-DB-12-34-56-78-90-A7"), DeviceType.IHD, rng),
        ppmid=_device(_template(4), DeviceType.PPMID, rng),
        bridges=bridges,
        kind=TopologyKind.GAS_REMOTE_MAINS,
    )


def served_fleet(spec: FleetSpec) -> ServedFleet:
    generated = generate_fleet(spec.homes, spec.seed)
    home = template_home(spec.homes, spec.seed)
    spare = frozenset(
        b.eui for h in generated.homes if h.id % SPARE_EVERY == SPARE_EVERY - 1 for b in h.bridges
    )
    return ServedFleet(Fleet(spec.seed, (*generated.homes, home)), home, spare)


def _template_extras(home: Home) -> list[InventoryDevice]:
    """The template PPMID (in its home's device log) and the template devices the network does
    not model (GPF, HCALCS, SAPC: in the SMI only)."""
    ppmid = home.ppmid
    assert ppmid is not None
    rows = [
        InventoryDevice(
            ppmid.eui,
            DeviceType.PPMID.value,
            f"{ppmid.manufacturer_code:04X}",
            f"{ppmid.image_type:04X}{ppmid.hardware_version:04X}",
            f"{ppmid.firmware_version:08X}",
            home.region.value,
            home.chf,
            TEST_SUPPLIER_EUI,
            hardware_version=ppmid.hardware_version,
            in_device_log=True,
        )
    ]
    for eui, dt in TEMPLATE_DEVICES:
        if dt in (DeviceType.GPF, DeviceType.HCALCS, DeviceType.SAPC):
            rows.append(
                InventoryDevice(
                    eui,
                    dt.value,
                    "1001",
                    "00100001",
                    "00010000",
                    home.region.value,
                    home.chf,
                    TEST_SUPPLIER_EUI,
                    in_device_log=dt.is_type1,
                )
            )
    return rows


def seed_store(conn: Connection, images: ImageStore, served: ServedFleet, now: datetime) -> None:
    """A fresh store's inventory: every home's CHF and meters, the template devices, the
    installed (not spare) bridges, and AltHANCo's assured firmware per bridge model."""
    rows = [
        *home_inventory(served.fleet.homes),
        *_template_extras(served.template_home),
        *installed_bridges(served.installed()),
        InventoryDevice(
            UNCOMMISSIONED_CHF, DeviceType.CHF.value, "106C", "433100AC", "00009001",
            served.template_home.region.value, UNCOMMISSIONED_CHF, None,
            status=DeviceStatus.INSTALLED_NOT_COMMISSIONED.value,
        ),
    ]  # fmt: skip
    seed_inventory(conn, rows, now)
    for (mfr, itype), bs in sorted(by_model(served.bridges()).items()):
        hws = sorted({b.hardware_version for b in bs})
        data = build_test_image(
            mfr, itype, ASSURED_VERSION, min_hw=hws[0], max_hw=hws[-1], payload_size=32 * 1024
        )
        cpl.add_entry(
            conn,
            by=ALTHANCO_DEFAULT_EUI,
            manufacturer=f"{mfr:04X}",
            model=f"{itype:04X}",
            hw_min=hws[0],
            hw_max=hws[-1],
            firmware_version=f"{ASSURED_VERSION:08X}",
            image_sha256=images.put(data),
            image_hash=parse_ota(data).image_hash,
            now=now,
        )


def installed_state(conn: Connection, served: ServedFleet) -> Installed:
    """What the homes hold, as the SMI says (a network rebuilt on a restart): Type 1 devices
    not in their CHF's device log, and the firmware each device runs."""
    logged = smi.device_log_entries(conn)
    type1 = [(h.chf, d.eui) for h in served.fleet.homes for d in h.type1()]
    versions = smi.firmware_versions(conn, [d.eui for h in served.fleet.homes for d in h.devices()])
    return Installed(
        not_in_device_log=frozenset(eui for chf, eui in type1 if (chf, eui) not in logged),
        firmware={eui: int(v, 16) for eui, v in versions.items() if v},
    )


def spare_devices(conn: Connection, served: ServedFleet) -> Sequence[tuple[Home, Bridge]]:
    """The bridges physically present that the SMI does not know yet."""
    known = smi.known(conn, [b.eui for _h, b in served.spare_bridges()])
    return [(h, b) for h, b in served.spare_bridges() if b.eui not in known]
