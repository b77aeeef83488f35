"""No device stays "in progress" for ever: an 11.4 delivery with no outcome by its deadline
fails with reason timeout, its requester gets N57 (FirmwareDistributionFailure) naming the
device, and the device is accepted by the next 11.4. Here no network is attached, so nothing
ever comes back from the CSP: the worst case."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from althan.dsp import cpl
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.duis.xmldsig import verify
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.assemble import Assembly
from althan.store.tables import firmware_deliveries, outbox
from althan.supplier.client import DuisClient
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image
from gateway_support import CHF, SR, FakeClock, seed_meter, send

BRIDGE = EUI64.parse("00-DB-12-34-56-78-B1-01")
VERSION = 0x00020000


def _bridge_with_assured_image(assembly: Assembly, clock: FakeClock) -> bytes:
    seed_meter(assembly, clock())
    image = build_test_image(0x1234, 0x0084, VERSION, min_hw=1, max_hw=1, payload_size=512)
    with assembly.dsp.engine.begin() as conn:
        seed_inventory(
            conn,
            [
                InventoryDevice(
                    BRIDGE,
                    "PPMID",
                    "1234",
                    "00840001",
                    "00010000",
                    "Central",
                    CHF,
                    TEST_SUPPLIER_EUI,
                )
            ],
            clock(),
        )
        cpl.add_entry(
            conn,
            by=ALTHANCO_DEFAULT_EUI,
            manufacturer="1234",
            model="0084",
            hw_min=1,
            hw_max=1,
            firmware_version=f"{VERSION:08X}",
            image_sha256=assembly.dsp.images.put(image),
            image_hash=parse_ota(image).image_hash,
            now=clock(),
        )
    return image


def _n57s(assembly: Assembly) -> list[tuple[str | None, str | None]]:
    with assembly.dsp.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.payload).where(outbox.c.kind == "duis")).all()
    out = []
    for r in rows:
        root = verify(bytes(r.payload), assembly.dsp_trust).root
        if root.findtext(f".//{SR}DCCAlertCode") == "N57":
            out.append(
                (
                    root.findtext(f".//{SR}UpdateFirmwareRequestID"),
                    root.findtext(f".//{SR}MeterIDs"),
                )
            )
    return out


def test_a_delivery_without_outcome_times_out_is_reported_and_frees_the_device(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock
) -> None:
    image = _bridge_with_assured_image(assembly, clock)
    first = supplier.update_ppmid_firmware(image, FirmwareVersion(VERSION), [BRIDGE])
    sent_at = clock()
    assert send(client, assembly, first)[0] == "I0"

    clock.advance(3600)
    busy, root = send(
        client, assembly, supplier.update_ppmid_firmware(image, FirmwareVersion(VERSION), [BRIDGE])
    )
    assert busy == "W110401"
    assert root.findtext(f".//{SR}OtherRequestInProgressList") == str(BRIDGE)

    dsp = assembly.dsp
    deadline = dsp.next_deadline()
    assert deadline == sent_at + dsp.settings.delivery_timeout
    assert dsp.expire(deadline - timedelta(seconds=1)) == 0  # not yet
    assert _n57s(assembly) == []
    assert dsp.expire(deadline) == 1
    assert dsp.expire(deadline) == 0  # once
    assert dsp.next_deadline() is None
    assert _n57s(assembly) == [(first.request_id, str(BRIDGE))]
    with dsp.engine.connect() as conn:
        row = conn.execute(select(firmware_deliveries)).one()
    assert (row.status, row.reason, row.active) == ("Failed", "timeout", 0)

    clock.t = deadline + timedelta(seconds=1)
    again = supplier.update_ppmid_firmware(image, FirmwareVersion(VERSION), [BRIDGE])
    assert send(client, assembly, again)[0] == "I0"
