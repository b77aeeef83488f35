"""What the DSP keeps of an 11.4's deliveries, and how its records end (dsp/firmware.py): in the
sim (fleet_world.World), through signed DUIS and the SM WAN.

An activated delivery is over: Activated, no longer active, no reason, and a new 11.4 for the
device proceeds (it is no OtherRequestInProgress). A delivery the Comms Hub could not make
(the bridge taken off its device log by 8.11 Remove) ends Failed with its reason. With nothing
in progress the DSP has no deadline. SM WAN messages about a device with no delivery in
progress (a late activation alert, a CSP status for a distribution the DSP never sent) change
no delivery and break nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select, update

from althan.dsp import cpl, smi
from althan.han import gbcs_io
from althan.han.topology import Bridge
from althan.model import EUI64, FirmwareVersion, Region
from althan.smwan import CSPFirmwareDeliveryStatus, DeliveryOutcome, GbcsAlert
from althan.smwan.addresses import DSP_ADDRESS, csp_address
from althan.store.tables import devices, firmware_deliveries
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image
from fleet_world import NEW_VERSION, World
from gateway_support import SR


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path / "data")


def _ours(world: World) -> tuple[list[Bridge], bytes]:
    """Bridges of one model (at least two) and an assured image for them."""
    bs, image, _entry = _assured(world)
    return bs, image


def _assured(world: World) -> tuple[list[Bridge], bytes, cpl.CplEntry]:
    bs = next(bs for _key, bs in sorted(world.models().items()) if len(bs) >= 2)
    image = world.image_for(bs)
    hws = [b.hardware_version for b in bs]
    return bs, image, world.assure(image, min(hws), max(hws))


def _records(world: World) -> list[dict[str, object]]:
    d = firmware_deliveries.c
    q = select(
        d.request_id, d.device, d.chf, d.region, d.image_sha256, d.firmware_version, d.status,
        d.active, d.reason,
    ).order_by(d.id)  # fmt: skip
    with world.w.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def _home_of(world: World, b: Bridge) -> tuple[str, EUI64]:
    home = next(h for h, x in world.bridges if x.eui == b.eui)
    return home.region.value, home.chf


def test_an_activated_delivery_is_over_and_the_device_takes_a_new_11_4(world: World) -> None:
    bs, image = _ours(world)
    b = bs[0]
    req = world.w.supplier.update_ppmid_firmware(image, FirmwareVersion(NEW_VERSION), [b.eui])
    code, _root = world.request(req)
    assert code == "I0"
    world.w.run()
    region, chf = _home_of(world, b)
    assert _records(world) == [
        {
            "request_id": str(req.request_id),
            "device": b.eui,
            "chf": chf,
            "region": region,
            "image_sha256": hashlib.sha256(image).hexdigest(),
            "firmware_version": f"{NEW_VERSION:08X}",
            "status": "Activated",
            "active": 0,
            "reason": "",
        }
    ]
    assert world.w.dsp.next_deadline() is None  # nothing in progress
    # the delivery is over: a second 11.4 for the device proceeds (I0, no warning list; the
    # bridge, running that image already, then turns it down: a delivery of its own, over too)
    again = world.w.supplier.update_ppmid_firmware(image, FirmwareVersion(NEW_VERSION), [b.eui])
    code, _root = world.request(again)
    assert code == "I0"
    world.w.run()
    second = _records(world)[1]
    assert (second["request_id"], second["active"]) == (str(again.request_id), 0)


def test_a_delivery_the_comms_hub_cannot_make_ends_failed_with_its_reason(world: World) -> None:
    bs, image = _ours(world)
    b = bs[0]
    _region, chf = _home_of(world, b)
    world.request(world.w.supplier.unwhitelist(chf, b.eui))
    req = world.w.supplier.update_ppmid_firmware(image, FirmwareVersion(NEW_VERSION), [b.eui])
    assert world.request(req)[0] == "I0"
    world.w.run()
    [rec] = _records(world)
    assert (rec["status"], rec["active"], rec["reason"]) == (
        "Failed",
        0,
        "CH firmware transfer failed",
    )
    assert world.w.dsp.next_deadline() is None


def test_sm_wan_messages_for_no_delivery_in_progress_change_no_delivery(world: World) -> None:
    """After the delivery is over: the device's CS09 again (a late duplicate under another
    message ID) updates nothing but what CS09 always does; a CSP status for a distribution the
    DSP never sent is ignored."""
    bs, image = _ours(world)
    b = bs[0]
    region, chf = _home_of(world, b)
    req = world.w.supplier.update_ppmid_firmware(image, FirmwareVersion(NEW_VERSION), [b.eui])
    assert world.request(req)[0] == "I0"
    world.w.run()
    before = _records(world)
    n39 = len(world.w.user.alerts("N39"))
    cs09 = gbcs_io.cs09_alert(b.eui, NEW_VERSION, world.w.now(), world.w.keys, 999)
    stray = CSPFirmwareDeliveryStatus(
        "stray-status", "no-such-distribution", chf, (b.eui,), DeliveryOutcome.DELIVERED
    )
    for msg in (GbcsAlert("late-cs09", chf, b.eui, cs09), stray):  # over the SM WAN, as a CSP
        world.w.sim.post(DSP_ADDRESS, msg, sender=csp_address(Region(region)))
    world.w.run()
    assert _records(world) == before
    assert len(world.w.user.alerts("N39")) == n39 + 1  # the alert is relayed, as any CS09
    with world.w.engine.connect() as conn:
        assert smi.get_device(conn, b.eui).firmware_version == f"{NEW_VERSION:08X}"


def test_8_2_reports_the_cpl_status_of_the_version_a_device_runs(world: World) -> None:
    """DSPInventory's DeviceFirmwareVersionStatus: the status of the CPL entry for the model,
    hardware and version the SMI holds (Active once activated, Withdrawn after AltHANCo
    withdraws it); a version no CPL entry names has none."""
    bs, image, entry = _assured(world)
    b = bs[0]

    def status() -> str | None:
        code, root = world.request(world.w.supplier.read_inventory(b.eui))
        assert code == "I0"
        found: str | None = root.findtext(f".//{SR}Device/{SR}DeviceFirmwareVersionStatus")
        return found

    assert status() is None  # what it runs since installation: in no CPL entry here
    req = world.w.supplier.update_ppmid_firmware(image, FirmwareVersion(NEW_VERSION), [b.eui])
    assert world.request(req)[0] == "I0"
    world.w.run()
    assert status() == "Active"
    # the entry's hardware range decides: its top is in, one above is out
    model = f"{b.image_type:04X}"
    for hw, expected in ((entry.hw_max, "Active"), (entry.hw_max + 1, None)):
        with world.w.engine.begin() as conn:
            conn.execute(
                update(devices).where(devices.c.eui == b.eui).values(model=f"{model}{hw:04X}")
            )
        assert status() == expected, hw
    with world.w.engine.begin() as conn:
        conn.execute(
            update(devices)
            .where(devices.c.eui == b.eui)
            .values(model=f"{model}{b.hardware_version:04X}")
        )
    # a version with hex letters in it, as the SMI holds it (upper case): its own entry
    lettered = build_test_image(b.manufacturer_code, b.image_type, 0x0002000A)
    world.assure(lettered, entry.hw_min, entry.hw_max)
    with world.w.engine.begin() as conn:
        conn.execute(
            update(devices).where(devices.c.eui == b.eui).values(firmware_version="0002000A")
        )
    assert status() == "Active"
    with world.w.engine.begin() as conn:
        conn.execute(
            update(devices)
            .where(devices.c.eui == b.eui)
            .values(firmware_version=f"{NEW_VERSION:08X}")
        )
    world.withdraw(entry.id)
    assert status() == "Withdrawn"
    # the entry AltHANCo made, as the DSP reads it back: the image's own hash included
    with world.w.engine.connect() as conn:
        [kept] = [e for e in cpl.entries(conn) if e.id == entry.id]
    assert kept.image_hash == parse_ota(image).image_hash and kept.image_sha256 == (
        hashlib.sha256(image).hexdigest()
    )
