"""Alt HAN homes and a deterministic fleet generator (DESIGN §1, §3).

Modelling assumption (the public documents do not define B1..B4): B1 sits by the Comms Hub;
B2 by a gas meter with mains power nearby; B4 by a gas meter with no power (battery, sleepy);
B3 by the IHD / PPMID. One remote bridge when one device is out of range, or both are out of
range but close together (then the bridge by the gas meter, which has mains from the IHD's
socket, B2, serves both); two remote bridges when both are out of range and far apart.
A remote bridge's traffic goes through B1.

Every home of a generated fleet is an Alt HAN home; the ESME is always next to the CH.
"""

from __future__ import annotations

import enum
import hashlib
import random
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from althan.model import EUI64, AltHANVariant, DeviceType, Region

__all__ = [
    "BRIDGE_MODELS",
    "DEVICE_MODELS",
    "Bridge",
    "DeviceModel",
    "Fleet",
    "HanDevice",
    "Home",
    "TopologyError",
    "TopologyKind",
    "enumerate_topologies",
    "generate_fleet",
]


class TopologyError(ValueError):
    """A fleet or home that cannot be generated as asked."""


class TopologyKind(enum.StrEnum):
    GAS_REMOTE_MAINS = "gas-remote-mains"  # B1 + B2, GSME behind B2
    GAS_REMOTE_BATTERY = "gas-remote-battery"  # B1 + B4 (sleepy), GSME behind B4
    IHD_REMOTE = "ihd-remote"  # B1 + B3, IHD (and PPMID) behind B3
    BOTH_REMOTE_CLOSE = "both-remote-close"  # B1 + B2, GSME and IHD/PPMID behind B2
    BOTH_REMOTE_FAR_MAINS = "both-remote-far-mains"  # B1 + B2 + B3
    BOTH_REMOTE_FAR_BATTERY = "both-remote-far-battery"  # B1 + B4 + B3

    @property
    def remote_variants(self) -> tuple[AltHANVariant, ...]:
        return _REMOTES[self]


_REMOTES: dict[TopologyKind, tuple[AltHANVariant, ...]] = {
    TopologyKind.GAS_REMOTE_MAINS: (AltHANVariant.B2,),
    TopologyKind.GAS_REMOTE_BATTERY: (AltHANVariant.B4,),
    TopologyKind.IHD_REMOTE: (AltHANVariant.B3,),
    TopologyKind.BOTH_REMOTE_CLOSE: (AltHANVariant.B2,),
    TopologyKind.BOTH_REMOTE_FAR_MAINS: (AltHANVariant.B2, AltHANVariant.B3),
    TopologyKind.BOTH_REMOTE_FAR_BATTERY: (AltHANVariant.B4, AltHANVariant.B3),
}

# Share of Alt HAN homes per topology (gas meters in cellars and cupboards are the usual cause).
TOPOLOGY_WEIGHTS: dict[TopologyKind, int] = {
    TopologyKind.GAS_REMOTE_MAINS: 34,
    TopologyKind.GAS_REMOTE_BATTERY: 20,
    TopologyKind.IHD_REMOTE: 14,
    TopologyKind.BOTH_REMOTE_CLOSE: 12,
    TopologyKind.BOTH_REMOTE_FAR_MAINS: 12,
    TopologyKind.BOTH_REMOTE_FAR_BATTERY: 8,
}

REGION_WEIGHTS: dict[Region, int] = {Region.NORTH: 20, Region.CENTRAL: 40, Region.SOUTH: 40}


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """A device model as the CPL knows it: manufacturer, image type, hardware versions."""

    manufacturer_code: int
    image_type: int
    hardware_versions: tuple[int, ...]
    initial_firmware: int


# Fictional AltHANCo models, one per variant (image type = model).
BRIDGE_MODELS: dict[AltHANVariant, DeviceModel] = {
    AltHANVariant.B1: DeviceModel(0x1A1C, 0x0B01, (0x0001, 0x0002), 0x01000000),
    AltHANVariant.B2: DeviceModel(0x1A1C, 0x0B02, (0x0001, 0x0002), 0x01000000),
    AltHANVariant.B3: DeviceModel(0x1A1C, 0x0B03, (0x0001,), 0x01000000),
    AltHANVariant.B4: DeviceModel(0x1A1C, 0x0B04, (0x0001, 0x0003), 0x01000000),
}

# Non-bridge HAN devices; the PPMID model is the one of the DUIS 11.4 template image.
DEVICE_MODELS: dict[DeviceType, DeviceModel] = {
    DeviceType.ESME: DeviceModel(0x1001, 0x0001, (0x0001,), 0x00010000),
    DeviceType.GSME: DeviceModel(0x1001, 0x0002, (0x0001,), 0x00010000),
    DeviceType.IHD: DeviceModel(0x1002, 0x0010, (0x0001,), 0x00010000),
    DeviceType.PPMID: DeviceModel(0x121D, 0x0084, (0x0001,), 0x00010000),
}


@dataclass(frozen=True, slots=True)
class Bridge:
    """An Alt HAN P2P device (handled as a PPMID under SECMP0170 Option 1)."""

    eui: EUI64
    variant: AltHANVariant
    manufacturer_code: int
    image_type: int
    hardware_version: int
    firmware_version: int

    @property
    def device_type(self) -> DeviceType:
        return DeviceType.PPMID

    @property
    def sleepy(self) -> bool:
        return self.variant.sleepy


@dataclass(frozen=True, slots=True)
class HanDevice:
    """A meter, IHD or real PPMID."""

    eui: EUI64
    device_type: DeviceType
    manufacturer_code: int
    image_type: int
    hardware_version: int
    firmware_version: int

    @property
    def variant(self) -> AltHANVariant | None:
        return None

    @property
    def sleepy(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Home:
    id: int
    region: Region
    chf: EUI64
    esme: HanDevice
    gsme: HanDevice | None
    ihd: HanDevice
    ppmid: HanDevice | None
    bridges: tuple[Bridge, ...]
    kind: TopologyKind

    @property
    def b1(self) -> Bridge:
        return self.bridges[0]

    @property
    def remote_bridges(self) -> tuple[Bridge, ...]:
        return self.bridges[1:]

    def bridge(self, variant: AltHANVariant) -> Bridge | None:
        return next((b for b in self.bridges if b.variant is variant), None)

    def devices(self) -> tuple[Bridge | HanDevice, ...]:
        """Every HAN device of the home (bridges first, in path order)."""
        out: list[Bridge | HanDevice] = [*self.bridges, self.esme, self.ihd]
        if self.gsme is not None:
            out.append(self.gsme)
        if self.ppmid is not None:
            out.append(self.ppmid)
        return tuple(out)

    def type1(self) -> tuple[Bridge | HanDevice, ...]:
        """The Type 1 devices in the CH device log: bridges (as PPMIDs) and a real PPMID."""
        return tuple(d for d in self.devices() if d.device_type.is_type1)

    def path(self, eui: EUI64) -> tuple[EUI64, ...]:
        """The bridges a device's traffic crosses to reach the CH, nearest the CH first."""
        b1 = self.b1.eui
        for b in self.remote_bridges:
            if b.eui == eui:
                return (b1,)
        if eui == b1 or eui == self.esme.eui:
            return ()
        gas_bridge = next(
            (b for b in self.remote_bridges if b.variant in (AltHANVariant.B2, AltHANVariant.B4)),
            None,
        )
        ihd_bridge = next((b for b in self.remote_bridges if b.variant is AltHANVariant.B3), None)
        if self.kind is TopologyKind.BOTH_REMOTE_CLOSE:
            ihd_bridge = gas_bridge
        if self.gsme is not None and eui == self.gsme.eui:
            return (b1, gas_bridge.eui) if gas_bridge is not None else ()
        if eui == self.ihd.eui or (self.ppmid is not None and eui == self.ppmid.eui):
            return (b1, ihd_bridge.eui) if ihd_bridge is not None else ()
        raise TopologyError(f"device {eui} is not in home {self.id}")


@dataclass(frozen=True, slots=True)
class Fleet:
    seed: int
    homes: tuple[Home, ...]

    def __len__(self) -> int:
        return len(self.homes)

    def by_region(self, region: Region) -> tuple[Home, ...]:
        return tuple(h for h in self.homes if h.region is region)

    def bridges(self) -> Iterator[tuple[Home, Bridge]]:
        for h in self.homes:
            for b in h.bridges:
                yield h, b


# --------------------------------------------------------------------------- generation


class _Euis:
    """Unique EUI-64s from a seed: a fixed OUI-like prefix + a keyed permutation of a counter."""

    def __init__(self, seed: int) -> None:
        key = hashlib.sha256(f"althan-fleet-euis:{seed}".encode()).digest()
        self._mul = int.from_bytes(key[:5], "big") | 1  # odd → bijection mod 2^40
        self._add = int.from_bytes(key[5:10], "big")
        self._n = 0

    def next(self, prefix: int) -> EUI64:
        v = (self._n * self._mul + self._add) % (1 << 40)
        self._n += 1
        return EUI64((prefix << 40) | v)


_PREFIX = {  # 24-bit "OUI" per device family (fictional, fixed)
    "chf": 0x00DB12,
    "esme": 0x00DB13,
    "gsme": 0x00DB14,
    "ihd": 0x00DB15,
    "ppmid": 0x00DB16,
    "bridge": 0x00DB17,
}


def _han_device(euis: _Euis, rng: random.Random, dt: DeviceType, family: str) -> HanDevice:
    m = DEVICE_MODELS[dt]
    return HanDevice(
        euis.next(_PREFIX[family]),
        dt,
        m.manufacturer_code,
        m.image_type,
        rng.choice(m.hardware_versions),
        m.initial_firmware,
    )


def _bridge(euis: _Euis, rng: random.Random, v: AltHANVariant) -> Bridge:
    m = BRIDGE_MODELS[v]
    return Bridge(
        euis.next(_PREFIX["bridge"]),
        v,
        m.manufacturer_code,
        m.image_type,
        rng.choice(m.hardware_versions),
        m.initial_firmware,
    )


def make_home(
    home_id: int,
    region: Region,
    kind: TopologyKind,
    *,
    euis: _Euis,
    rng: random.Random,
    with_gsme: bool = True,
    with_ppmid: bool = False,
) -> Home:
    if not with_gsme and kind is not TopologyKind.IHD_REMOTE:
        raise TopologyError(f"topology {kind} needs a gas meter")
    return Home(
        id=home_id,
        region=region,
        chf=euis.next(_PREFIX["chf"]),
        esme=_han_device(euis, rng, DeviceType.ESME, "esme"),
        gsme=_han_device(euis, rng, DeviceType.GSME, "gsme") if with_gsme else None,
        ihd=_han_device(euis, rng, DeviceType.IHD, "ihd"),
        ppmid=_han_device(euis, rng, DeviceType.PPMID, "ppmid") if with_ppmid else None,
        bridges=tuple(_bridge(euis, rng, v) for v in (AltHANVariant.B1, *kind.remote_variants)),
        kind=kind,
    )


def generate_fleet(homes: int, seed: int, regions: Collection[Region] | None = None) -> Fleet:
    """`homes` Alt HAN homes spread over the regions; the same seed gives the same fleet.

    `regions`: keep only the homes of these (one shard of a national fleet); every home is
    still drawn, so a kept home is the same as in the whole fleet, but only the kept ones are
    held in memory."""
    if homes < 0:
        raise TopologyError(f"homes must be >= 0, got {homes}")
    rng = random.Random(f"althan-fleet:{seed}")
    euis = _Euis(seed)
    all_regions = list(REGION_WEIGHTS)
    rweights = list(REGION_WEIGHTS.values())
    kinds = list(TOPOLOGY_WEIGHTS)
    kweights = list(TOPOLOGY_WEIGHTS.values())
    out: list[Home] = []
    for i in range(homes):
        region = rng.choices(all_regions, rweights)[0]
        kind = rng.choices(kinds, kweights)[0]
        with_gsme = kind is not TopologyKind.IHD_REMOTE or rng.random() < 0.8
        with_ppmid = rng.random() < 0.15
        home = make_home(
            i, region, kind, euis=euis, rng=rng, with_gsme=with_gsme, with_ppmid=with_ppmid
        )
        if regions is None or region in regions:
            out.append(home)
    return Fleet(seed, tuple(out))


def enumerate_topologies(seed: int = 0, region: Region = Region.CENTRAL) -> Fleet:
    """One home per topology kind (each with a GSME and a PPMID), for exhaustive tests."""
    rng = random.Random(f"althan-topologies:{seed}")
    euis = _Euis(seed ^ 0x5A5A)
    return Fleet(
        seed,
        tuple(
            make_home(i, region, k, euis=euis, rng=rng, with_ppmid=True)
            for i, k in enumerate(TopologyKind)
        ),
    )
