"""A small commissioned Alt HAN world in the sim runtime: the SRV 11.4 tests (the CPL's
requirement 12 in tests/cpl, the refusal rules and warning lists in tests/rules)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from althan.dsp import cpl
from althan.duis.envelope import WARNING_LISTS
from althan.duis.xmldsig import verify
from althan.han.topology import Bridge, Home, generate_fleet
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, FirmwareVersion
from althan.runtime.scenario import Scenario, by_model
from althan.runtime.world import UserNode, at
from althan.store.tables import devices, firmware_deliveries, firmware_images, outbox
from althan.supplier.client import DuisClient, SignedRequest
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image
from gateway_support import register_supplier_b

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
HOMES = 4
SEED = 3
NEW_VERSION = 0x00020000


@dataclass(frozen=True)
class Reply:
    """A synchronous 11.4 reply whose DSP signature has been checked."""

    code: str
    lists: dict[str, list[str]]


def warning_lists(root: Any) -> dict[str, list[str]]:
    """The non-empty lists of an 11.4 answer's DSPUpdatePPMIDFirmwareWarning."""
    lists = {
        name: [x for x in (root.findtext(f".//{SR}{name}") or "").split(",") if x]
        for name in WARNING_LISTS
    }
    return {k: v for k, v in lists.items() if v}


class World:
    """A Scenario over a small fleet, every bridge pre-notified, whitelisted and commissioned:
    by the ZAZ1 test supplier, except the bridges of the first `homes_of_b` homes, which
    supplier B (gateway_support.SUPPLIER_B) installs and is responsible for."""

    def __init__(self, data_dir: Path, *, homes_of_b: int = 0) -> None:
        self.data_dir = data_dir
        self.fleet = generate_fleet(HOMES, SEED)
        self.w = Scenario(self.fleet, data_dir, seed=SEED)
        self.bridges: list[tuple[Home, Bridge]] = list(self.fleet.bridges())
        self._nodes: dict[EUI64, UserNode] = {self.w.user.eui: self.w.user}
        b_homes = {h.chf for h in self.fleet.homes[:homes_of_b]}
        self.bridges_of_b = [(h, b) for h, b in self.bridges if h.chf in b_homes]
        if homes_of_b:
            self.supplier_b = register_supplier_b(self.w.assembly)
            with self.acting_as(self.supplier_b):
                self.w.install(self.bridges_of_b)
        self.w.install([(h, b) for h, b in self.bridges if h.chf not in b_homes])
        assert self.status_of_bridges() == {"Commissioned"}, "setup: bridges not commissioned"

    @contextmanager
    def acting_as(self, client: DuisClient) -> Iterator[UserNode]:
        """Within the block, the Scenario's requests are `client`'s, answered to its own endpoint
        (a UserNode in the sim that checks the DSP's signatures)."""
        node = self._nodes.get(client.user)
        if node is None:
            node = self._nodes[client.user] = UserNode(client.user, self.w.dsp_trust)
            self.w.sim.add(node)
        saved = self.w.supplier, self.w.user
        self.w.supplier, self.w.user = client, node
        try:
            yield node
        finally:
            self.w.supplier, self.w.user = saved

    # -- the fleet
    def models(self) -> dict[tuple[int, int], list[Bridge]]:
        return by_model(self.bridges)

    def image_for(
        self, bridges: list[Bridge], *, hw_in_header: bool = True, payload_size: int = 2048
    ) -> bytes:
        b = bridges[0]
        hws = [x.hardware_version for x in bridges]
        return build_test_image(
            b.manufacturer_code,
            b.image_type,
            NEW_VERSION,
            min_hw=min(hws) if hw_in_header else None,
            max_hw=max(hws) if hw_in_header else None,
            payload_size=payload_size,
        )

    # -- acting
    def assure(self, image: bytes, hw_min: int, hw_max: int) -> cpl.CplEntry:
        """AltHANCo adds an Active CPL entry for `image` (through the DSP's CPL module)."""
        h = parse_ota(image).header
        sha = self.w.images.put(image)
        with self.w.engine.begin() as conn:
            return cpl.add_entry(
                conn,
                by=ALTHANCO_DEFAULT_EUI,
                manufacturer=f"{h.manufacturer_code:04X}",
                model=f"{h.image_type:04X}",
                hw_min=hw_min,
                hw_max=hw_max,
                firmware_version=f"{h.file_version:08X}",
                image_sha256=sha,
                image_hash=parse_ota(image).image_hash,
                now=at(self.w.now()),
            )

    def withdraw(self, entry_id: int) -> None:
        with self.w.engine.begin() as conn:
            cpl.set_status(
                conn,
                entry_id,
                cpl.CplStatus.WITHDRAWN,
                ALTHANCO_DEFAULT_EUI,
                at(self.w.now()),
                note="test",
            )

    def request(self, req: SignedRequest) -> tuple[str, Any]:
        """Send a signed request, run the world to quiescence: the DSP-signed reply's code and
        root."""
        before = len(self.w.user.replies)
        self.w.send(req)
        self.w.run()
        new = self.w.user.replies[before:]
        assert len(new) == 1, f"expected one synchronous reply, got {len(new)}"
        root = verify(new[0].body, self.w.dsp_trust).root
        code = root.findtext(f"{SR}Header/{SR}ResponseCode")
        assert code is not None and code == new[0].response_code
        return code, root

    def update(self, image: bytes, euis: list[EUI64], version: int = NEW_VERSION) -> Reply:
        """Send a signed 11.4, run the world to quiescence, return the verified reply."""
        code, root = self.request(
            self.w.supplier.update_ppmid_firmware(image, FirmwareVersion(version), euis)
        )
        return Reply(code, warning_lists(root))

    # -- observing
    def status_of_bridges(self) -> set[str]:
        euis = {b.eui for _h, b in self.bridges}
        with self.w.engine.connect() as conn:
            rows = conn.execute(select(devices.c.eui, devices.c.status)).all()
        return {r.status for r in rows if r.eui in euis}

    def smi_versions(self) -> dict[EUI64, str]:
        euis = {b.eui for _h, b in self.bridges}
        with self.w.engine.connect() as conn:
            rows = conn.execute(select(devices.c.eui, devices.c.firmware_version)).all()
        return {r.eui: r.firmware_version for r in rows if r.eui in euis}

    def running_versions(self) -> dict[EUI64, int]:
        """What each bridge in the simulated network is actually running."""
        return {b.eui: self.w.network.device(b.eui).firmware_version for _h, b in self.bridges}

    def n39_devices(self) -> list[str]:
        return sorted(d.device or "" for d in self.w.user.alerts("N39"))

    def deliveries(self) -> list[tuple[EUI64, str]]:
        with self.w.engine.connect() as conn:
            return [
                (r.device, r.image_sha256)
                for r in conn.execute(
                    select(firmware_deliveries.c.device, firmware_deliveries.c.image_sha256)
                )
            ]

    def distributions_sent(self) -> int:
        """FirmwareDistribution messages the DSP put in its outbox towards the CSPs."""
        with self.w.engine.connect() as conn:
            payloads = (
                conn.execute(select(outbox.c.payload).where(outbox.c.kind == "smwan"))
                .scalars()
                .all()
            )
        return sum(1 for p in payloads if json.loads(p)["type"] == "FirmwareDistribution")

    def image_rows(self) -> int:
        with self.w.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(firmware_images)).scalar_one())

    def image_bytes_on_wan(self) -> int:
        return sum(c.counters.image_bytes for c in self.w.network.regions.values())
